#include "net/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "common/ascii.h"

namespace dbconnd::net {

namespace {
std::string Lower(std::string_view s) { return common::AsciiLower(s); }
uint16_t DefaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }
}  // namespace

std::string Url::Authority() const {
  std::string h = is_ipv6() ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string Url::HostHeader() const {
  std::string h = is_ipv6() ? "[" + host + "]" : host;
  if (port == DefaultPort(scheme)) return h;
  return h + ":" + std::to_string(port);
}

StatusOr<Url> ParseUrl(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return InvalidArgumentError("malformed URL");
  const boost::urls::url_view& u = *parsed;
  Url out;
  out.scheme = Lower(u.scheme());
  if (out.scheme != "http" && out.scheme != "https") {
    return InvalidArgumentError("unsupported URL scheme \"" + out.scheme +
                                "\" (want http or https)");
  }
  if (!u.has_authority() || u.encoded_host().empty()) {
    return InvalidArgumentError("URL has no host");
  }
  out.host = Lower(u.host_address());
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0) {
      return InvalidArgumentError("URL has an invalid port");
    }
    out.port = u.port_number();
    out.has_port = true;
  } else {
    out.port = DefaultPort(out.scheme);
  }
  std::string_view path = u.encoded_path();
  out.target = path.empty() ? "/" : std::string(path);
  if (u.has_query()) out.target += "?" + std::string(u.encoded_query());
  if (u.has_userinfo()) {
    out.user = u.user();
    if (u.has_password()) out.password = u.password();
  }
  return out;
}

bool IsIpLiteral(std::string_view host) {
  std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

}  // namespace dbconnd::net
