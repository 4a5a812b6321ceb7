#pragma once
// Parsing of database connection URLs, kept free of other dependencies so
// the fuzz build (common/ and config/ only) covers it.

#include <optional>
#include <string>
#include <string_view>

namespace dbconnd {

// scheme://[user[:password]@]host[:port]/database[?query]. Lenient: a raw
// password holding '/', '@' or '?' is still recognised, because the point is
// to find (and redact) passwords people pasted by hand. Linear in the size
// of `url`.
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
// The URL with any password replaced by "***" (userinfo and password=/pwd=
// query parameters alike); text without a password comes back unchanged.
std::string RedactUrl(std::string_view url);
// Percent-encodes the characters that would break the userinfo part.
std::string EncodeUserInfo(std::string_view s);

}  // namespace dbconnd
