#include <catch2/catch.hpp>

#include "config/cidr.h"
#include "config/names.h"

namespace dbconnd::config {
namespace {

Ipv4Cidr C(const char* s) {
  auto c = ParseIpv4Cidr(s);
  REQUIRE(c.ok());
  return *c;
}

TEST_CASE("ParseIpv4Cidr is strict and canonical", "[cidr]") {
  CHECK(C("10.8.0.0/28").ToString() == "10.8.0.0/28");
  CHECK(C("0.0.0.0/0").prefix == 0);
  CHECK(C("203.0.113.7/32").address == 0xCB007107u);
  auto host_bits = ParseIpv4Cidr("10.0.0.1/8");
  REQUIRE_FALSE(host_bits.ok());
  CHECK(host_bits.status().message() == "10.0.0.1/8 has host bits set; write 10.0.0.0/8");
  for (const char* bad : {"10.0.0.0", "10.0.0/8", "10.0.0.0.0/8", "256.0.0.0/8", "10.0.0.0/33",
                          "10.0.0.0/", "01.0.0.0/8", "10.0.0.0/08", " 10.0.0.0/8", "10.0.0.0/8 ",
                          "a.b.c.d/8", "", "/8", "10..0.0/8", "-1.0.0.0/8"}) {
    INFO(bad);
    CHECK_FALSE(ParseIpv4Cidr(bad).ok());
  }
  CHECK(ParseIpv4Cidr("198.51.100.7").status().message().find("write 198.51.100.7/32") != std::string::npos);
}

TEST_CASE("ParseIpv4CidrLenient clears host bits", "[cidr]") {
  auto c = ParseIpv4CidrLenient("10.0.0.1/8");
  REQUIRE(c.ok());
  CHECK(c->ToString() == "10.0.0.0/8");
}

TEST_CASE("Overlaps, Contains, IsRfc1918", "[cidr]") {
  CHECK(Overlaps(C("10.8.0.0/28"), C("10.8.0.0/16")));
  CHECK(Overlaps(C("10.8.0.0/16"), C("10.8.0.0/28")));
  CHECK_FALSE(Overlaps(C("10.8.0.0/28"), C("10.8.0.16/28")));
  CHECK(Overlaps(C("0.0.0.0/0"), C("192.168.1.0/24")));
  CHECK(Contains(C("10.0.0.0/8"), C("10.8.0.0/28")));
  CHECK_FALSE(Contains(C("10.8.0.0/28"), C("10.0.0.0/8")));
  CHECK(Contains(C("10.8.0.0/28"), 0x0A08000Fu));
  CHECK_FALSE(Contains(C("10.8.0.0/28"), 0x0A080010u));
  CHECK(IsRfc1918(C("10.8.0.0/28")));
  CHECK(IsRfc1918(C("172.31.255.240/28")));
  CHECK(IsRfc1918(C("192.168.0.0/16")));
  CHECK_FALSE(IsRfc1918(C("172.32.0.0/28")));
  CHECK_FALSE(IsRfc1918(C("8.0.0.0/7")));
  CHECK_FALSE(IsRfc1918(C("10.0.0.0/7")));
  CHECK(C("255.255.255.255/32").Last() == 0xFFFFFFFFu);
}

TEST_CASE("name rules", "[names]") {
  CHECK(CheckProjectId("melodic-now-463704-k1").ok());
  CHECK_FALSE(CheckProjectId("abc").ok());
  CHECK_FALSE(CheckProjectId("1project").ok());
  CHECK_FALSE(CheckProjectId("project-").ok());
  CHECK_FALSE(CheckProjectId("a234567890123456789012345678901").ok());
  CHECK(CheckRegion("us-central1").ok());
  CHECK(CheckRegion("northamerica-northeast2").ok());
  CHECK_FALSE(CheckRegion("us-central").ok());
  CHECK_FALSE(CheckRegion("us-central1-a").ok());
  CHECK(CheckConnectorId("saleor-connector").ok());
  CHECK(CheckConnectorId("abcdefghijklmnopq-r").ok());         // 19 chars + 1 for the hyphen = 20
  CHECK_FALSE(CheckConnectorId("abcdefghijklmnopqr-s").ok());  // 20 + 1 = 21
  CHECK(CheckConnectorId("abcdefghijklmnopqrst").ok());            // 20 chars, no hyphen
  CHECK_FALSE(CheckConnectorId("abcdefghijklmnopqrstu").ok());     // 21
  CHECK(CheckCloudRunServiceName(std::string(49, 'a')).ok());
  CHECK_FALSE(CheckCloudRunServiceName(std::string(50, 'a')).ok());
  CHECK(CheckCloudRunJobName(std::string(63, 'a')).ok());
  CHECK_FALSE(CheckCloudRunJobName(std::string(64, 'a')).ok());
  CHECK(CheckSecretVersionRef("projects/p/secrets/s/versions/latest").ok());
  CHECK(CheckSecretVersionRef("projects/493827161123/secrets/db_pw/versions/3").ok());
  CHECK_FALSE(CheckSecretVersionRef("projects/p/secrets/s").ok());
  CHECK_FALSE(CheckSecretVersionRef("projects/p/secrets/s/versions/1/extra").ok());
  CHECK_FALSE(CheckSecretVersionRef("hunter2").ok());
  CHECK(CheckSecretVersionRef("hunter2").message().find("hunter2") == std::string::npos);
  CHECK(CheckInstanceId("saleor-db-demo", "melodic-now-463704-k1").ok());
  CHECK_FALSE(CheckInstanceId(std::string(80, 'a'), "melodic-now-463704-k1").ok());
}

}  // namespace
}  // namespace dbconnd::config
