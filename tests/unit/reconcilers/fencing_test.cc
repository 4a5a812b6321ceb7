// Write fencing inside a pass (ApplyOptions::may_write): a replica that loses
// its lease while a pass runs must not send the pass's remaining writes.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <memory>

#include "reconcilers/executor.h"
#include "fakes.h"
#include "fixtures.h"

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures

gcp::Task<Status> NoSleep(std::chrono::milliseconds) { co_return OkStatus(); }

gcp::Task<void> RunApply(gcp::Clients clients, config::Intent intent, ApplyOptions options,
                         ApplyResult* out) {
  *out = co_await Apply(clients, std::move(intent), std::move(options));
}

// Records what the journal would see.
class RecordingObserver : public MutationObserver {
 public:
  void BeforeMutation(const Step& step, const std::string&) override {
    events.push_back("before " + step.id);
  }
  void OperationStarted(const Step& step, const gcp::Operation&) override {
    events.push_back("started " + step.id);
  }
  void Finished(const Step& step, const Status& status) override {
    events.push_back("finished " + step.id + (status.ok() ? "" : " " + status.message()));
  }
  std::vector<std::string> events;
  int Count(const std::string& prefix) const {
    return static_cast<int>(std::count_if(events.begin(), events.end(), [&](const std::string& e) {
      return e.rfind(prefix, 0) == 0;
    }));
  }
};

const std::string kRefusal = "not the leader: write refused";

// The lease is lost once `allowed` writes have landed: every later ask says no.
ApplyResult ApplyWithLeaseLostAfter(FakeCloud& cloud, config::Intent intent, size_t allowed,
                                    RecordingObserver& observer, int* asked) {
  ApplyOptions o;
  o.sleeper = &NoSleep;
  o.wait.sleeper = &NoSleep;
  o.wait.initial_poll = std::chrono::milliseconds(1);
  o.observer = &observer;
  FakeCloud* c = &cloud;
  o.may_write = [c, allowed, asked]() -> Status {
    ++*asked;
    if (c->writes.size() >= allowed) return FailedPreconditionError(kRefusal);
    return OkStatus();
  };
  boost::asio::io_context io;
  ApplyResult result;
  boost::asio::co_spawn(io, RunApply(cloud.clients(), std::move(intent), std::move(o), &result),
                        boost::asio::detached);
  io.run();
  return result;
}

bool IsMutation(const std::string& call) {
  for (const char* m : {"sql.PatchInstance", "run.PatchJob", "run.PatchService", "run.RunJob",
                        "run.StartExecution",
                        "vpc.CreateConnector", "vpc.DeleteConnector",
                        "networking.CreateConnection", "compute.InsertGlobalAddress"}) {
    if (call.rfind(std::string(m) + " ", 0) == 0) return true;
  }
  return false;
}

TEST_CASE("fencing: losing the lease mid-pass stops at the next write, at every point",
          "[executor][fencing]") {
  // With verification on the seed takes 7 writes, the execution's start among them.
  FakeCloud reference(SeedLive());
  config::Intent intent = SeedIntent();
  intent.policy.verify = true;
  RecordingObserver unused;
  int asked_reference = 0;
  const ApplyResult full =
      ApplyWithLeaseLostAfter(reference, intent, 1000, unused, &asked_reference);
  REQUIRE(full.status.ok());
  REQUIRE(full.converged);
  const std::vector<std::string> all_writes = reference.writes;
  REQUIRE(all_writes.size() == 7);
  CHECK(asked_reference == 7);  // asked once per write, no more

  for (size_t allowed = 0; allowed < all_writes.size(); ++allowed) {
    DYNAMIC_SECTION("lease lost after " << allowed << " write(s)") {
      FakeCloud cloud(SeedLive());
      RecordingObserver observer;
      int asked = 0;
      const ApplyResult r = ApplyWithLeaseLostAfter(cloud, intent, allowed, observer, &asked);
      // Exactly the writes made while leading, then nothing.
      CHECK(cloud.writes ==
            std::vector<std::string>(all_writes.begin(),
                                     all_writes.begin() + static_cast<std::ptrdiff_t>(allowed)));
      CHECK(std::count_if(cloud.calls.begin(), cloud.calls.end(), IsMutation) ==
            static_cast<std::ptrdiff_t>(allowed));
      CHECK(asked == static_cast<int>(allowed) + 1);
      // The pass ends, saying why, and does not claim convergence.
      CHECK_FALSE(r.status.ok());
      CHECK(r.status.code() == StatusCode::kFailedPrecondition);
      CHECK(r.status.message().find(kRefusal) != std::string::npos);
      CHECK(r.status.message().find("step ") != std::string::npos);
      CHECK_FALSE(r.converged);
      CHECK(r.executed.size() == allowed);
      // Nothing is journaled for the refused write.
      CHECK(observer.Count("before ") == static_cast<int>(allowed));
      CHECK(observer.Count("finished ") == static_cast<int>(allowed));
      // The public IP is never switched off by a replica that lost the lease.
      if (allowed < all_writes.size() - 1) CHECK(cloud.world().instance->ipv4_enabled);
    }
  }
}

TEST_CASE("fencing: a connector replace is not started after the lease is lost",
          "[executor][fencing]") {
  // The live connector has another range; the policy allows replacing it.
  LiveState live = SeedLive();
  config::Intent intent = SeedIntent();
  intent.policy.allow_replace = true;
  {
    // Converge once so only the connector differs afterwards.
    FakeCloud cloud(live);
    RecordingObserver obs;
    int asked = 0;
    REQUIRE(ApplyWithLeaseLostAfter(cloud, intent, 1000, obs, &asked).converged);
    live = cloud.world();
  }
  REQUIRE(live.connector);
  live.connector->ip_cidr_range = "10.9.0.0/28";
  FakeCloud cloud(live);
  RecordingObserver observer;
  int asked = 0;
  // No write allowed: the replacement's create is refused, and nothing is
  // ever deleted.
  const ApplyResult r = ApplyWithLeaseLostAfter(cloud, intent, 0, observer, &asked);
  CHECK(cloud.writes.empty());
  CHECK(std::count_if(cloud.calls.begin(), cloud.calls.end(),
                      [](const std::string& c) { return c.rfind("vpc.DeleteConnector", 0) == 0; }) == 0);
  INFO(r.status.ToString());
  CHECK(r.status.message().find(kRefusal) != std::string::npos);
}

TEST_CASE("fencing: a pass that may write behaves as without the gate", "[executor][fencing]") {
  FakeCloud cloud(SeedLive());
  RecordingObserver observer;
  int asked = 0;
  const ApplyResult r = ApplyWithLeaseLostAfter(cloud, SeedIntent(), 1000, observer, &asked);
  CHECK(r.status.ok());
  CHECK(r.converged);
  CHECK(cloud.writes.size() == 6);
  CHECK(asked == 6);
}

}  // namespace
}  // namespace dbconnd::reconcilers
