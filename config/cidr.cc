#include "config/cidr.h"

#include <array>

namespace dbconnd::config {
namespace {

// Parses a decimal number without sign or leading zeros; -1 when malformed.
int ParseSmallDecimal(std::string_view s, int max) {
  if (s.empty() || s.size() > 3) return -1;
  if (s.size() > 1 && s[0] == '0') return -1;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v <= max ? v : -1;
}

// Prints at most a prefix of untrusted text so error messages stay short.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = "\"";
  out += s.substr(0, kMax);
  if (s.size() > kMax) out += "...";
  out += "\"";
  return out;
}

StatusOr<Ipv4Cidr> Parse(std::string_view text, bool strict) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    auto addr = ParseIpv4Address(text);
    if (addr.ok()) {
      return InvalidArgumentError(Quote(text) + " has no prefix length; write " +
                                  FormatIpv4Address(*addr) + "/32 for a single address");
    }
    return InvalidArgumentError(Quote(text) +
                                " is not an IPv4 CIDR; write it as a.b.c.d/N, e.g. 203.0.113.0/24");
  }
  auto addr = ParseIpv4Address(text.substr(0, slash));
  if (!addr.ok()) {
    return InvalidArgumentError(Quote(text) + " is not an IPv4 CIDR: " + addr.status().message());
  }
  int prefix = ParseSmallDecimal(text.substr(slash + 1), 32);
  if (prefix < 0) {
    return InvalidArgumentError(Quote(text) +
                                " has an invalid prefix length; write a number from 0 to 32 "
                                "after the slash");
  }
  Ipv4Cidr c;
  c.prefix = prefix;
  c.address = *addr & c.Mask();
  if (strict && c.address != *addr) {
    return InvalidArgumentError(std::string(text) + " has host bits set; write " + c.ToString());
  }
  return c;
}

}  // namespace

std::string Ipv4Cidr::ToString() const {
  return FormatIpv4Address(address) + "/" + std::to_string(prefix);
}

StatusOr<uint32_t> ParseIpv4Address(std::string_view text) {
  uint32_t v = 0;
  int octets = 0;
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    std::string_view part = text.substr(start, dot == std::string_view::npos ? text.npos : dot - start);
    int o = ParseSmallDecimal(part, 255);
    if (o < 0 || octets == 4) {
      return InvalidArgumentError(
          Quote(text) + " is not an IPv4 address (four numbers 0-255 without leading zeros, "
                        "separated by dots)");
    }
    v = (v << 8) | static_cast<uint32_t>(o);
    ++octets;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (octets != 4) {
    return InvalidArgumentError(
        Quote(text) + " is not an IPv4 address (four numbers 0-255 separated by dots)");
  }
  return v;
}

std::string FormatIpv4Address(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xff) + "." +
         std::to_string((a >> 8) & 0xff) + "." + std::to_string(a & 0xff);
}

StatusOr<Ipv4Cidr> ParseIpv4Cidr(std::string_view text) { return Parse(text, true); }
StatusOr<Ipv4Cidr> ParseIpv4CidrLenient(std::string_view text) { return Parse(text, false); }

bool Overlaps(const Ipv4Cidr& a, const Ipv4Cidr& b) {
  return a.First() <= b.Last() && b.First() <= a.Last();
}

bool Contains(const Ipv4Cidr& outer, const Ipv4Cidr& inner) {
  return outer.prefix <= inner.prefix && (inner.address & outer.Mask()) == outer.address;
}

bool Contains(const Ipv4Cidr& outer, uint32_t address) {
  return (address & outer.Mask()) == outer.address;
}

bool IsRfc1918(const Ipv4Cidr& cidr) {
  static constexpr std::array<Ipv4Cidr, 3> kPrivate = {
      Ipv4Cidr{0x0A000000u, 8}, Ipv4Cidr{0xAC100000u, 12}, Ipv4Cidr{0xC0A80000u, 16}};
  for (const auto& p : kPrivate) {
    if (Contains(p, cidr)) return true;
  }
  return false;
}

}  // namespace dbconnd::config
