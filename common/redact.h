#pragma once
// Secrets out of text, and outside values cut to a displayable size.
//
// Everything here is a hand-written scanner that looks at each input byte a
// bounded number of times: the input may be a 40 kB (or 1 MiB) value that a
// colleague or Google put into an env var, and a backtracking regex on it
// can take exponential time or blow the stack.

#include <cstddef>
#include <string>
#include <string_view>

namespace dbconnd {

// Replaces secret-shaped substrings with "***":
//  - the password of URL userinfo, whatever characters it holds
//    (scheme://user:p?a/s%40s@host -> scheme://user:***@host);
//  - values of secret-named keys in `key=value` and `key: value` form:
//    query strings (?password=, &pwd=), libpq DSNs (password=x,
//    password='a b\'c'), JDBC/ODBC (;password=x;), env assignments
//    (PGPASSWORD=x, MYSQL_PWD=x), JSON ("client_secret": "x", also when the
//    JSON is itself escaped into a string) and YAML-ish text. A key is
//    secret-named when it looks like a password (see IsPasswordName) or
//    names a token, key or secret (access_token, private_key, api_key, ...);
//  - Authorization bearer tokens ("Bearer <token>");
//  - PEM private key blocks, also when the END marker was cut off.
// Over-masks rather than under-masks. Linear in the size of `text`.
std::string Redact(std::string_view text);

// True when `value` carries a password written out in clear: URL userinfo
// with a non-empty password, or a password-named key (password=, pwd=,
// passwd=, ...) with a non-empty value in a query string, libpq DSN or
// JDBC/ODBC string. Placeholders ($VAR, $(VAR), ${VAR}) and empty values
// ('' too) do not count.
bool HasLiteralPassword(std::string_view value);

// True for names that say their value is a password: containing PASSWORD or
// PASSWD, ending in PWD, PASS alone or ending in _PASS (PGPASSWORD,
// DB_PASSWORD, MYSQL_PWD, DB_PASS), case-insensitive, '_', '-' and '.'
// ignored except in _PASS ("mid-pass" and "bypass" are not passwords). The dbconnd settings
// passwordSecret and passwordEnv name a reference, not a password: false.
bool IsPasswordName(std::string_view name);

// `value` when it has at most `max_chars` characters (UTF-8 code points),
// else its first `max_chars` characters followed by "… (N bytes)", N being
// the full size. Never cuts inside a UTF-8 sequence. Linear in max_chars.
std::string CapForDisplay(std::string_view value, std::size_t max_chars = 200);

// Redact, then CapForDisplay: how a value from outside is shown.
std::string RedactForDisplay(std::string_view value, std::size_t max_chars = 200);

}  // namespace dbconnd
