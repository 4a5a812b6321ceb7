#include <catch2/catch.hpp>

#include "controller/work_queue.h"

namespace dbconnd::controller {
namespace {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;

struct ManualClock {
  WorkQueue::TimePoint now{std::chrono::hours(1)};
  void Advance(Ms d) { now += d; }
};

WorkQueue MakeQueue(ManualClock& clock, double rng_value = 0.5, size_t concurrency = 8) {
  WorkQueue::Options o;
  o.concurrency = concurrency;
  o.clock = [&clock] { return clock.now; };
  o.rng = [rng_value] { return rng_value; };
  return WorkQueue(o);
}

TEST_CASE("Adds are deduplicated and handed out in order") {
  ManualClock clock;
  auto q = MakeQueue(clock);
  q.Add("a");
  q.Add("b");
  q.Add("a");
  CHECK(q.depth() == 2);
  CHECK(q.TryGet() == "a");
  CHECK(q.TryGet() == "b");
  CHECK_FALSE(q.TryGet().has_value());
}

TEST_CASE("A key added while processing is dirty and comes back once after Done") {
  ManualClock clock;
  auto q = MakeQueue(clock);
  q.Add("a");
  REQUIRE(q.TryGet() == "a");
  q.Add("a");
  q.Add("a");
  CHECK_FALSE(q.TryGet().has_value());  // never handed out twice at once
  q.Done("a");
  CHECK(q.depth() == 1);
  CHECK(q.TryGet() == "a");
  q.Done("a");
  CHECK_FALSE(q.TryGet().has_value());
}

TEST_CASE("Concurrency bounds the keys handed out") {
  ManualClock clock;
  auto q = MakeQueue(clock, 0.5, 2);
  for (auto k : {"a", "b", "c"}) q.Add(k);
  CHECK(q.TryGet() == "a");
  CHECK(q.TryGet() == "b");
  CHECK_FALSE(q.TryGet().has_value());
  CHECK(q.processing() == 2);
  q.Done("a");
  CHECK(q.TryGet() == "c");
}

TEST_CASE("Delayed adds become ready at their time and keep the earliest") {
  ManualClock clock;
  auto q = MakeQueue(clock);
  q.AddAfter("a", 10s);
  q.AddAfter("a", 5s);
  q.AddAfter("a", 20s);
  CHECK(q.NextWakeup() == clock.now + 5s);
  CHECK_FALSE(q.TryGet().has_value());
  clock.Advance(4s);
  CHECK_FALSE(q.TryGet().has_value());
  clock.Advance(1s);
  CHECK(q.TryGet() == "a");
  CHECK_FALSE(q.NextWakeup().has_value());
}

TEST_CASE("An immediate add beats a pending delayed one") {
  ManualClock clock;
  auto q = MakeQueue(clock);
  q.AddAfter("a", 60s);
  q.Add("a");
  CHECK(q.delayed() == 0);
  CHECK(q.TryGet() == "a");
  q.Done("a");
  clock.Advance(61s);
  CHECK_FALSE(q.TryGet().has_value());  // no stale resync left behind
}

TEST_CASE("Backoff doubles from 1 s, is capped at 5 min, and Forget resets it") {
  ManualClock clock;
  auto q = MakeQueue(clock, 0.5);  // jitter factor exactly 1.0
  CHECK(q.AddRateLimited("a") == 1s);
  CHECK(q.AddRateLimited("a") == 2s);
  CHECK(q.AddRateLimited("a") == 4s);
  for (int i = 0; i < 20; ++i) q.AddRateLimited("a");
  CHECK(q.AddRateLimited("a") == std::chrono::minutes(5));
  CHECK(q.Failures("a") == 24);
  q.Forget("a");
  CHECK(q.Failures("a") == 0);
  CHECK(q.BaseBackoff(1) == 1s);
}

TEST_CASE("Backoff jitter spreads within +-20% and never exceeds the cap") {
  ManualClock clock;
  auto low = MakeQueue(clock, 0.0);
  auto high = MakeQueue(clock, 0.999999);
  CHECK(low.AddRateLimited("a") == 800ms);
  auto h = high.AddRateLimited("a");
  CHECK(h > 1190ms);
  CHECK(h <= 1200ms);
  for (int i = 0; i < 30; ++i) high.AddRateLimited("a");
  CHECK(high.AddRateLimited("a") == std::chrono::minutes(5));
}

TEST_CASE("Resync jitter stays within +-10%") {
  CHECK(Jittered(60s, 0.1, 0.0) == 54s);
  CHECK(Jittered(60s, 0.1, 1.0) == 66s);
  CHECK(Jittered(60s, 0.1, 0.5) == 60s);
}

TEST_CASE("Depth and oldest age report waiting work") {
  ManualClock clock;
  auto q = MakeQueue(clock);
  CHECK(q.OldestAgeSeconds() == 0.0);
  q.Add("a");
  clock.Advance(3s);
  q.Add("b");
  clock.Advance(1s);
  CHECK(q.OldestAgeSeconds() == Approx(4.0));
  CHECK(q.depth() == 2);
  q.TryGet();
  CHECK(q.OldestAgeSeconds() == Approx(1.0));
}

TEST_CASE("Remove drops a key everywhere: shutdown stops handing out") {
  ManualClock clock;
  auto q = MakeQueue(clock);
  q.Add("a");
  q.AddAfter("b", 1s);
  q.Remove("a");
  q.Remove("b");
  clock.Advance(2s);
  CHECK_FALSE(q.TryGet().has_value());
  q.Add("c");
  q.ShutDown();
  CHECK_FALSE(q.TryGet().has_value());
  q.Add("d");
  CHECK(q.depth() <= 1);
}

}  // namespace
}  // namespace dbconnd::controller
