#pragma once
// Small pure helpers for connection URLs, secret references and CIDRs. Kept
// here (not in config/) so the planner does not depend on work elsewhere.

#include <optional>
#include <string>
#include <string_view>

namespace dbconnd::reconcilers {

// scheme://[user[:password]@]host[:port]/database[?query]. Lenient: a raw
// password containing '/' or '@' is still recognised, because the point is to
// find (and redact) passwords people pasted by hand.
struct DbUrl {
  std::string scheme;
  std::string user;
  std::string password;
  bool has_password = false;
  std::string host;  // empty for a Unix socket URL ("postgresql://u@/db?host=...")
  std::string port;
  std::string database;
  std::string query;  // without '?'
};

std::optional<DbUrl> ParseDbUrl(std::string_view url);
// Value of `key` in the query string, or nullopt.
std::optional<std::string> QueryParam(const DbUrl& url, std::string_view key);
// The URL with any password replaced by "***"; non-URLs come back unchanged.
std::string RedactUrl(std::string_view url);
// Percent-encodes the characters that would break the userinfo part.
std::string EncodeUserInfo(std::string_view s);

// "projects/P/secrets/S/versions/V" -> {"projects/P/secrets/S", "V"};
// without "/versions/" the version is "latest".
struct SecretVersionRef {
  std::string secret;
  std::string version;
};
SecretVersionRef ParseSecretVersion(std::string_view ref);

// Prefix length of an IPv4 CIDR ("10.0.0.0/8" -> 8, bare address -> 32), or
// nullopt when malformed.
std::optional<int> CidrPrefixLength(std::string_view cidr);
// The address part of a CIDR ("10.20.0.0/16" -> "10.20.0.0").
std::string CidrAddress(std::string_view cidr);

}  // namespace dbconnd::reconcilers
