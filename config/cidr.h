#pragma once
// Strict IPv4 CIDR parsing and range arithmetic, shared by the loader's
// validation and the reconcilers (authorized networks, connector ranges,
// private services access ranges).

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace dbconnd::config {

struct Ipv4Cidr {
  uint32_t address = 0;  // network address, host byte order, host bits zero
  int prefix = 0;        // 0..32

  uint32_t Mask() const { return prefix == 0 ? 0u : ~uint32_t{0} << (32 - prefix); }
  uint32_t First() const { return address; }
  uint32_t Last() const { return address | ~Mask(); }
  // "10.8.0.0/28"
  std::string ToString() const;

  friend bool operator==(const Ipv4Cidr&, const Ipv4Cidr&) = default;
};

// "a.b.c.d": four decimal octets 0..255, no leading zeros (so "010.0.0.1",
// which some libraries read as octal, is refused), no spaces.
StatusOr<uint32_t> ParseIpv4Address(std::string_view text);
std::string FormatIpv4Address(uint32_t address);

// Strict and canonical: "a.b.c.d/N" with N in 0..32 and every host bit zero.
// A bare address or set host bits are InvalidArgument errors whose message
// says what to write instead ("... has host bits set; write 10.0.0.0/8").
StatusOr<Ipv4Cidr> ParseIpv4Cidr(std::string_view text);

// Like ParseIpv4Cidr but clears host bits instead of refusing them: for
// reading live values that Google already accepted.
StatusOr<Ipv4Cidr> ParseIpv4CidrLenient(std::string_view text);

bool Overlaps(const Ipv4Cidr& a, const Ipv4Cidr& b);
// True when every address of `inner` is inside `outer`.
bool Contains(const Ipv4Cidr& outer, const Ipv4Cidr& inner);
bool Contains(const Ipv4Cidr& outer, uint32_t address);
// Wholly inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (RFC 1918).
bool IsRfc1918(const Ipv4Cidr& cidr);

}  // namespace dbconnd::config
