#pragma once
// Proxy settings as curl reads them from the environment: HTTPS_PROXY for
// https:// requests (CONNECT tunnel), HTTP_PROXY for http:// requests
// (absolute-form), NO_PROXY for the hosts that go direct. No Beast here.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace dbconnd::net {

struct ProxyEndpoint {
  std::string host;  // IPv6 without brackets
  uint16_t port = 0;
  // "Basic <base64(user:pass)>" or empty. A credential: it goes into the
  // Proxy-Authorization header and nowhere else.
  std::string authorization;

  // "host:port" without credentials; safe for messages.
  std::string Authority() const;
};

// 169.254.169.254 / metadata.google.internal (any case, trailing dot).
bool IsMetadataServer(std::string_view host);

class ProxyConfig {
 public:
  ProxyConfig() = default;  // no proxy at all

  // Reads https_proxy/HTTPS_PROXY, http_proxy/HTTP_PROXY and no_proxy/NO_PROXY;
  // the lower-case spelling wins when both are set (as curl does). Empty
  // values count as unset.
  static ProxyConfig FromEnvironment();
  // Same, with the variable lookup injected (tests).
  static ProxyConfig FromEnvironment(const std::function<const char*(const char*)>& getenv_fn);
  // From explicit values; empty means unset.
  static ProxyConfig FromValues(std::string_view https_proxy, std::string_view http_proxy,
                                std::string_view no_proxy);

  // Not OK when a proxy URL did not parse. The client refuses such a config
  // instead of silently going direct. The message never echoes the URL.
  const Status& status() const { return status_; }

  // The proxy for a request to scheme://host:port, or nullopt for direct.
  std::optional<ProxyEndpoint> ProxyFor(std::string_view scheme, std::string_view host,
                                        uint16_t port) const;

  // NO_PROXY match: a comma (or blank) separated list; "*" matches all;
  // a name matches itself and its subdomains, with or without a leading
  // dot; "host:port" limits an entry to one port; IP entries may carry a
  // CIDR suffix. Loopback is not excluded unless listed (as curl).
  bool Bypass(std::string_view host, uint16_t port) const;

  // Requests to `host` always go direct (the metadata host named by
  // GCE_METADATA_HOST). The metadata server's own names (169.254.169.254,
  // metadata.google.internal) always go direct without being listed.
  void AlwaysDirect(std::string_view host);

  bool has_https_proxy() const { return https_.has_value(); }
  bool has_http_proxy() const { return http_.has_value(); }

 private:
  struct NoProxyEntry {
    std::string host;   // lower case, no leading dot, no brackets
    uint16_t port = 0;  // 0 = any
    int prefix_bits = -1;  // CIDR prefix for IP entries, -1 = exact
  };

  std::optional<ProxyEndpoint> https_;
  std::optional<ProxyEndpoint> http_;
  bool bypass_all_ = false;
  std::vector<NoProxyEntry> no_proxy_;
  std::vector<std::string> direct_;  // AlwaysDirect hosts, lower case
  Status status_;
};

}  // namespace dbconnd::net
