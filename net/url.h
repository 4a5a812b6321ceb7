#pragma once
// Absolute http(s) URLs as the client needs them. No Beast here.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace dbconnd::net {

struct Url {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // lower case; IPv6 without brackets
  uint16_t port = 0;   // explicit or the scheme's default
  bool has_port = false;
  std::string target;  // origin-form "/path?query", never empty
  // Decoded userinfo. Only proxy URLs use it; it is a credential, so it must
  // never be copied into a message.
  std::string user;
  std::string password;

  bool tls() const { return scheme == "https"; }
  bool is_ipv6() const { return host.find(':') != std::string::npos; }
  // "host:port", IPv6 in brackets. Safe for error messages.
  std::string Authority() const;
  // Value for the Host header: the port is left out when it is the default.
  std::string HostHeader() const;
};

// Parses "http[s]://[user[:pass]@]host[:port][/path][?query]". The fragment
// is dropped. Errors name what is wrong but never echo the input, which may
// hold credentials.
StatusOr<Url> ParseUrl(std::string_view text);

// True when `host` is an IPv4 or IPv6 literal (no brackets).
bool IsIpLiteral(std::string_view host);

}  // namespace dbconnd::net
