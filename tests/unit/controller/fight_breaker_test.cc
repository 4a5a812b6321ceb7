#include <catch2/catch.hpp>

#include <chrono>

#include "controller/fight_breaker.h"

namespace dbconnd::controller {
namespace {
using namespace std::chrono_literals;

TEST_CASE("FightBreaker counts per field within the window and closes after it") {
  FightBreaker b(3, 10min);
  FightBreaker::TimePoint t0{std::chrono::hours(5)};
  CHECK_FALSE(b.RecordCorrection("authorizedNetworks", t0));
  CHECK_FALSE(b.RecordCorrection("authorizedNetworks", t0 + 1min));
  CHECK_FALSE(b.RecordCorrection("sslMode", t0 + 1min));
  CHECK_FALSE(b.RecordCorrection("authorizedNetworks", t0 + 2min));
  CHECK_FALSE(b.IsOpen(t0 + 2min));
  // The first correction has left the window: still 3, not tripped.
  CHECK_FALSE(b.RecordCorrection("authorizedNetworks", t0 + 10min + 1s));
  CHECK(b.RecordCorrection("authorizedNetworks", t0 + 10min + 2s));
  CHECK(b.tripped_field() == "authorizedNetworks");
  CHECK(b.IsOpen(t0 + 15min));
  CHECK_FALSE(b.IsOpen(t0 + 20min + 2s));  // half-open again after the window
  CHECK(b.Corrections("authorizedNetworks", t0 + 20min + 2s) == 0);
}

TEST_CASE("FightBreaker: Reset closes it and forgets every correction") {
  FightBreaker b(1, 10min);
  FightBreaker::TimePoint t0{std::chrono::hours(1)};
  CHECK_FALSE(b.RecordCorrection("sslMode", t0));
  CHECK(b.RecordCorrection("sslMode", t0 + 1s));
  CHECK(b.IsOpen(t0 + 2s));
  b.Reset();
  CHECK_FALSE(b.IsOpen(t0 + 2s));
  CHECK(b.tripped_field().empty());
  CHECK(b.Corrections("sslMode", t0 + 2s) == 0);
}

}  // namespace
}  // namespace dbconnd::controller
