#include "common/duration.h"

#include <catch2/catch.hpp>

namespace dbconnd {
namespace {

using std::chrono::milliseconds;

milliseconds Ok(std::string_view text, DurationBounds b = {}) {
  auto d = ParseDuration(text, "--x", b);
  INFO(text << ": " << d.status().message());
  REQUIRE(d.ok());
  return *d;
}

std::string Err(std::string_view text, DurationBounds b = {}) {
  auto d = ParseDuration(text, "--x", b);
  INFO(text);
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().code() == StatusCode::kInvalidArgument);
  return d.status().message();
}

TEST_CASE("one grammar: single units and combinations", "[duration]") {
  CHECK(Ok("500ms") == milliseconds(500));
  CHECK(Ok("90s") == milliseconds(90'000));
  CHECK(Ok("5m") == milliseconds(300'000));
  CHECK(Ok("1h") == milliseconds(3'600'000));
  CHECK(Ok("1h30m") == milliseconds(5'400'000));
  CHECK(Ok("1h30m10s") == milliseconds(5'410'000));
  CHECK(Ok("2s500ms") == milliseconds(2'500));
  CHECK(Ok("1h0m1ms") == milliseconds(3'600'001));
}

TEST_CASE("malformed durations are refused with a message that shows the forms",
          "[duration]") {
  CHECK_THAT(Err(""), Catch::Contains("empty"));
  CHECK_THAT(Err("30"), Catch::Contains("needs a unit"));
  CHECK_THAT(Err("30"), Catch::Contains("1h30m"));
  CHECK_THAT(Err("1.5s"), Catch::Contains("needs a unit"));
  CHECK_THAT(Err("-5s"), Catch::Contains("numbers with units"));
  CHECK_THAT(Err("5 s"), Catch::Contains("needs a unit"));
  CHECK_THAT(Err("5d"), Catch::Contains("unknown unit \"d\""));
  CHECK_THAT(Err("30m1h"), Catch::Contains("largest first"));
  CHECK_THAT(Err("1s1s"), Catch::Contains("largest first"));
  CHECK_THAT(Err("1h30"), Catch::Contains("needs a unit"));
  CHECK_THAT(Err("--x"), Catch::StartsWith("--x: "));
}

TEST_CASE("bounds: minima and overflow-safe maxima", "[duration]") {
  DurationBounds resync{std::chrono::seconds(1), std::chrono::hours(24)};
  CHECK_THAT(Err("999ms", resync), Catch::Contains("shorter than the minimum 1s"));
  CHECK(Ok("1s", resync) == milliseconds(1000));
  CHECK_THAT(Err("24h1ms", resync), Catch::Contains("longer than the maximum 24h"));
  CHECK(Ok("24h", resync) == std::chrono::hours(24));
  // Values that would overflow int64 milliseconds are refused, not wrapped.
  CHECK_THAT(Err("9223372036854775807h"), Catch::Contains("longer than the maximum"));
  CHECK_THAT(Err("99999999999999999999999ms"), Catch::Contains("longer than the maximum"));
  CHECK_THAT(Err("2562047788015h"), Catch::Contains("longer than the maximum"));
  CHECK_THAT(Err("0s"), Catch::Contains("shorter than the minimum"));
  CHECK(Ok("0s", {milliseconds(0), std::chrono::hours(1)}) == milliseconds(0));
  CHECK_THAT(Err(std::string(1000, '9') + "s"), Catch::Contains("too long"));
}

TEST_CASE("FormatDuration writes the grammar back", "[duration]") {
  CHECK(FormatDuration(milliseconds(5'410'000)) == "1h30m10s");
  CHECK(FormatDuration(milliseconds(500)) == "500ms");
  CHECK(FormatDuration(milliseconds(0)) == "0s");
  for (int64_t ms : {1LL, 999LL, 61'001LL, 90'061'001LL}) {
    CHECK(Ok(FormatDuration(milliseconds(ms))) == milliseconds(ms));
  }
}

}  // namespace
}  // namespace dbconnd
