#include "net/proxy_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include "common/ascii.h"
#include "common/base64.h"
#include "net/url.h"

namespace dbconnd::net {

namespace {

std::string Lower(std::string_view s) { return common::AsciiLower(s); }

// curl's default proxy port when the URL names none.
constexpr uint16_t kDefaultProxyPort = 1080;

StatusOr<ProxyEndpoint> ParseProxy(std::string_view text, std::string_view variable) {
  std::string with_scheme(text);
  if (with_scheme.find("://") == std::string::npos) with_scheme = "http://" + with_scheme;
  auto url = ParseUrl(with_scheme);
  if (!url.ok()) {
    return InvalidArgumentError(std::string(variable) +
                                " is not a valid proxy URL: " + url.status().message());
  }
  if (url->scheme != "http") {
    return InvalidArgumentError(std::string(variable) +
                                ": only http:// proxies are supported");
  }
  ProxyEndpoint ep;
  ep.host = url->host;
  ep.port = url->has_port ? url->port : kDefaultProxyPort;
  if (!url->user.empty() || !url->password.empty()) {
    ep.authorization = "Basic " + Base64Encode(url->user + ":" + url->password);
  }
  return ep;
}

struct IpAddress {
  int family = 0;  // AF_INET or AF_INET6
  unsigned char bytes[16] = {};
};

std::optional<IpAddress> ParseIp(std::string_view text) {
  std::string s(text);
  IpAddress ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes) == 1) {
    ip.family = AF_INET;
    return ip;
  }
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes) == 1) {
    ip.family = AF_INET6;
    return ip;
  }
  return std::nullopt;
}

bool PrefixMatch(const IpAddress& a, const IpAddress& b, int bits) {
  if (a.family != b.family) return false;
  int max_bits = a.family == AF_INET ? 32 : 128;
  if (bits < 0 || bits > max_bits) bits = max_bits;
  int full = bits / 8;
  if (std::memcmp(a.bytes, b.bytes, full) != 0) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (a.bytes[full] & mask) == (b.bytes[full] & mask);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool ParsePort(std::string_view s, uint16_t* port) {
  if (s.empty() || s.size() > 5) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + unsigned(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

std::string ProxyEndpoint::Authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

ProxyConfig ProxyConfig::FromEnvironment() {
  return FromEnvironment([](const char* name) -> const char* { return std::getenv(name); });
}

ProxyConfig ProxyConfig::FromEnvironment(
    const std::function<const char*(const char*)>& getenv_fn) {
  auto get = [&getenv_fn](const char* lower, const char* upper) -> std::string_view {
    const char* v = getenv_fn(lower);
    if (v != nullptr && *v != '\0') return v;
    v = getenv_fn(upper);
    if (v != nullptr && *v != '\0') return v;
    return {};
  };
  return FromValues(get("https_proxy", "HTTPS_PROXY"), get("http_proxy", "HTTP_PROXY"),
                    get("no_proxy", "NO_PROXY"));
}

ProxyConfig ProxyConfig::FromValues(std::string_view https_proxy, std::string_view http_proxy,
                                    std::string_view no_proxy) {
  ProxyConfig cfg;
  https_proxy = Trim(https_proxy);
  http_proxy = Trim(http_proxy);
  if (!https_proxy.empty()) {
    auto ep = ParseProxy(https_proxy, "HTTPS_PROXY");
    if (ep.ok()) {
      cfg.https_ = *std::move(ep);
    } else {
      cfg.status_ = ep.status();
    }
  }
  if (!http_proxy.empty()) {
    auto ep = ParseProxy(http_proxy, "HTTP_PROXY");
    if (ep.ok()) {
      cfg.http_ = *std::move(ep);
    } else if (cfg.status_.ok()) {
      cfg.status_ = ep.status();
    }
  }

  size_t pos = 0;
  while (pos <= no_proxy.size()) {
    size_t end = no_proxy.find_first_of(", \t", pos);
    if (end == std::string_view::npos) end = no_proxy.size();
    std::string entry = Lower(Trim(no_proxy.substr(pos, end - pos)));
    pos = end + 1;
    if (entry.empty()) continue;
    if (entry == "*") {
      cfg.bypass_all_ = true;
      continue;
    }
    NoProxyEntry e;
    // "[v6]:port", "[v6]", "v4:port", "name:port", bare v6 (several colons).
    if (entry.front() == '[') {
      size_t close = entry.find(']');
      if (close == std::string::npos) continue;
      std::string rest = entry.substr(close + 1);
      entry = entry.substr(1, close - 1);
      if (!rest.empty() && (rest.front() != ':' || !ParsePort(rest.substr(1), &e.port))) continue;
    } else if (std::count(entry.begin(), entry.end(), ':') == 1) {
      size_t colon = entry.find(':');
      if (!ParsePort(std::string_view(entry).substr(colon + 1), &e.port)) continue;
      entry.resize(colon);
    }
    size_t slash = entry.find('/');
    if (slash != std::string::npos) {
      int bits = 0;
      std::string_view b = std::string_view(entry).substr(slash + 1);
      if (b.empty() || b.size() > 3 ||
          !std::all_of(b.begin(), b.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        continue;
      }
      for (char c : b) bits = bits * 10 + (c - '0');
      entry.resize(slash);
      if (!ParseIp(entry)) continue;
      e.prefix_bits = bits;
    }
    while (!entry.empty() && entry.front() == '.') entry.erase(0, 1);
    while (!entry.empty() && entry.back() == '.') entry.pop_back();
    if (entry.empty()) continue;
    e.host = std::move(entry);
    cfg.no_proxy_.push_back(std::move(e));
  }
  return cfg;
}

bool ProxyConfig::Bypass(std::string_view host_in, uint16_t port) const {
  if (bypass_all_) return true;
  std::string host = Lower(host_in);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  while (!host.empty() && host.back() == '.') host.pop_back();
  auto host_ip = ParseIp(host);
  for (const auto& e : no_proxy_) {
    if (e.port != 0 && e.port != port) continue;
    if (host_ip) {
      auto entry_ip = ParseIp(e.host);
      if (entry_ip && PrefixMatch(*host_ip, *entry_ip, e.prefix_bits)) return true;
      continue;
    }
    if (host == e.host) return true;
    if (host.size() > e.host.size() &&
        host.compare(host.size() - e.host.size(), e.host.size(), e.host) == 0 &&
        host[host.size() - e.host.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

bool IsMetadataServer(std::string_view host_in) {
  std::string host = Lower(host_in);
  while (!host.empty() && host.back() == '.') host.pop_back();
  return host == "169.254.169.254" || host == "metadata.google.internal" ||
         host == "metadata";
}

void ProxyConfig::AlwaysDirect(std::string_view host) {
  std::string h = Lower(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  while (!h.empty() && h.back() == '.') h.pop_back();
  if (!h.empty()) direct_.push_back(std::move(h));
}

std::optional<ProxyEndpoint> ProxyConfig::ProxyFor(std::string_view scheme, std::string_view host,
                                                   uint16_t port) const {
  const std::optional<ProxyEndpoint>& p = scheme == "https" ? https_ : http_;
  if (!p || Bypass(host, port)) return std::nullopt;
  // The metadata server hands out access tokens: never through a proxy,
  // whatever NO_PROXY says (a proxy would see the token in the clear).
  if (IsMetadataServer(host)) return std::nullopt;
  std::string h = Lower(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  while (!h.empty() && h.back() == '.') h.pop_back();
  for (const auto& d : direct_) {
    if (d == h) return std::nullopt;
  }
  return p;
}

}  // namespace dbconnd::net
