#include "common/rfc3339.h"

#include <catch2/catch.hpp>

namespace dbconnd {
namespace {

using std::chrono::seconds;

SystemTime At(std::int64_t unix_seconds) { return SystemTime(seconds(unix_seconds)); }

TEST_CASE("RFC 3339: spellings of one instant parse to the same time", "[rfc3339]") {
  auto z = ParseRfc3339("2025-12-31T23:59:59Z");
  REQUIRE(z);
  CHECK(*z == At(1767225599));
  CHECK(ParseRfc3339("2025-12-31T18:59:59-05:00") == z);
  CHECK(ParseRfc3339("2026-01-01T00:59:59+01:00") == z);
  CHECK(ParseRfc3339("2025-12-31t23:59:59z") == z);
  CHECK(ParseRfc3339("2025-12-31T23:59:59.000Z") == z);
  auto frac = ParseRfc3339("2025-12-31T23:59:59.5Z");
  REQUIRE(frac);
  CHECK(*frac - *z == std::chrono::milliseconds(500));
  CHECK(ParseRfc3339("1970-01-01T00:00:00Z") == At(0));
  CHECK(ParseRfc3339("2024-02-29T12:00:00Z") == At(1709208000));
  CHECK(ParseRfc3339("2016-12-31T23:59:60Z") == At(1483228800));  // leap second
  // Beyond what system_clock holds: the far future stays in the future.
  CHECK(ParseRfc3339("2999-01-01T00:00:00Z") == SystemTime::max());
  CHECK(ParseRfc3339("9999-12-31T23:59:59Z") > *z);
  CHECK(ParseRfc3339("0001-01-01T00:00:00Z") == SystemTime::min());
}

TEST_CASE("RFC 3339: what is not a full date-time is refused", "[rfc3339]") {
  for (const char* bad :
       {"", "2025-12-31", "2025-12-31T23:59:59", "2025-12-31 23:59:59Z", "2025-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z", "2025-04-31T00:00:00Z", "2025-12-31T24:00:00Z",
        "2025-12-31T23:60:00Z", "2025-12-31T23:59:59.Z", "2025-12-31T23:59:59.1234567890Z",
        "2025-12-31T23:59:59+0500", "2025-12-31T23:59:59Zjunk", "+2025-12-31T23:59:59Z",
        "2025-12-31T23:59:59+24:00"}) {
    INFO(bad);
    CHECK_FALSE(ParseRfc3339(bad));
  }
  // Long hostile input is scanned once and refused.
  CHECK_FALSE(ParseRfc3339(std::string(1 << 20, '9')));
}

TEST_CASE("RFC 3339: formatting round-trips in UTC", "[rfc3339]") {
  CHECK(FormatRfc3339(At(1767225599)) == "2025-12-31T23:59:59Z");
  CHECK(FormatRfc3339(At(0)) == "1970-01-01T00:00:00Z");
  CHECK(FormatRfc3339(At(-1)) == "1969-12-31T23:59:59Z");
  auto t = ParseRfc3339("2031-07-04T05:06:07Z");
  REQUIRE(t);
  CHECK(FormatRfc3339(*t) == "2031-07-04T05:06:07Z");
  CHECK(UnixSeconds(At(1767225599)) == 1767225599.0);
}

TEST_CASE("RFC 3339: fractions of a second, truncated, as logs and Leases write them",
          "[rfc3339]") {
  const SystemTime t = At(1767225599) + std::chrono::microseconds(123456) + std::chrono::nanoseconds(789);
  CHECK(FormatRfc3339(t) == "2025-12-31T23:59:59Z");
  CHECK(FormatRfc3339(t, 3) == "2025-12-31T23:59:59.123Z");
  CHECK(FormatRfc3339(t, 6) == "2025-12-31T23:59:59.123456Z");
  CHECK(FormatRfc3339(t, 9) == "2025-12-31T23:59:59.123456789Z");
  CHECK(FormatRfc3339(At(5), 3) == "1970-01-01T00:00:05.000Z");
  // Before the epoch the fraction still counts up from the whole second below.
  CHECK(FormatRfc3339(At(0) - std::chrono::milliseconds(250), 3) == "1969-12-31T23:59:59.750Z");
  auto back = ParseRfc3339(FormatRfc3339(t, 9));
  REQUIRE(back);
  CHECK(*back == t);
}

}  // namespace
}  // namespace dbconnd
