#include "common/db_url.h"

#include <cctype>

#include "common/redact.h"

namespace dbconnd {

std::optional<DbUrl> ParseDbUrl(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return std::nullopt;
  for (char c : url.substr(0, scheme_end)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return std::nullopt;
    }
  }
  DbUrl out;
  out.scheme = std::string(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);

  // The query may hold '/' and '@' (host=/cloudsql/...), so cut it first;
  // unless the '?' belongs to a pasted password: "user:pa?ss@host", i.e. no
  // '@' before it, a ':' before it, and an '@' after it before any '=' or '&'.
  auto q = rest.find('?');
  if (q != std::string_view::npos && rest.substr(0, q).find('@') == std::string_view::npos &&
      rest.substr(0, q).find(':') != std::string_view::npos) {
    const auto stop = rest.find_first_of("@=&", q);
    if (stop != std::string_view::npos && rest[stop] == '@') q = rest.find('?', stop);
  }
  if (q != std::string_view::npos) {
    out.query = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  // The last '@' ends the userinfo even when a pasted password holds '/'.
  const auto at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    if (colon != std::string_view::npos) {
      out.user = std::string(userinfo.substr(0, colon));
      out.password = std::string(userinfo.substr(colon + 1));
      out.has_password = true;
    } else {
      out.user = std::string(userinfo);
    }
  }
  const auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) out.database = std::string(rest.substr(slash + 1));
  if (!hostport.empty() && hostport.front() == '[') {  // [IPv6]:port
    const auto close = hostport.find(']');
    out.host = std::string(hostport.substr(0, close == std::string_view::npos ? hostport.size()
                                                                              : close + 1));
    if (close != std::string_view::npos && close + 1 < hostport.size() &&
        hostport[close + 1] == ':') {
      out.port = std::string(hostport.substr(close + 2));
    }
  } else {
    const auto colon = hostport.rfind(':');
    out.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) out.port = std::string(hostport.substr(colon + 1));
  }
  return out;
}

std::optional<std::string> QueryParam(const DbUrl& url, std::string_view key) {
  std::string_view q = url.query;
  while (!q.empty()) {
    const auto amp = q.find('&');
    std::string_view kv = q.substr(0, amp);
    const auto eq = kv.find('=');
    if (kv.substr(0, eq) == key) {
      return eq == std::string_view::npos ? std::string() : std::string(kv.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    q = q.substr(amp + 1);
  }
  return std::nullopt;
}

std::string RedactUrl(std::string_view url) { return Redact(url); }

std::string EncodeUserInfo(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '@': out += "%40"; break;
      case ':': out += "%3A"; break;
      case '/': out += "%2F"; break;
      case '?': out += "%3F"; break;
      case '#': out += "%23"; break;
      case '%': out += "%25"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace dbconnd
