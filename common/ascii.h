#pragma once
// ASCII-only case folding for protocol tokens (schemes, hosts, env names,
// endpoint keys): locale-independent, so "I" never becomes a dotless i.

#include <string>
#include <string_view>

namespace dbconnd::common {

inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace dbconnd::common
