#pragma once
// Percent-encoding (RFC 3986 §2.1), the one encoder for URL path segments,
// query values and application/x-www-form-urlencoded bodies.

#include <cctype>
#include <string>
#include <string_view>

namespace dbconnd::common {

// Every byte of `s` but the unreserved characters (ALPHA, DIGIT, "-", ".",
// "_", "~") and those in `keep` becomes "%XX" (upper-case hex).
inline std::string PercentEncode(std::string_view s, std::string_view keep = {}) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' ||
        keep.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

}  // namespace dbconnd::common
