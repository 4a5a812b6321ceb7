// GCC 12 at -O1 flags asio's awaitable frame allocator as a mismatched
// new/delete once a coroutine here is inlined; asio pairs them correctly.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include "reconcilers/executor.h"
#include "reconcilers/instance_gate.h"
#include "fakes.h"
#include "fixtures.h"

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures
using namespace std::chrono_literals;

gcp::Task<Status> NoSleep(std::chrono::milliseconds) { co_return OkStatus(); }

ApplyOptions Fast() {
  ApplyOptions o;
  o.sleeper = &NoSleep;
  o.wait.sleeper = &NoSleep;
  o.wait.initial_poll = 1ms;
  o.idle_poll = 1ms;
  return o;
}

gcp::Task<void> RunApply(gcp::Clients clients, config::Intent intent, ApplyOptions options,
                         ApplyResult* out) {
  *out = co_await Apply(clients, std::move(intent), std::move(options));
}

ApplyResult ApplyOnce(FakeCloud& cloud, const config::Intent& intent, ApplyOptions options) {
  boost::asio::io_context io;
  ApplyResult result;
  boost::asio::co_spawn(io, RunApply(cloud.clients(), intent, std::move(options), &result),
                        boost::asio::detached);
  io.run();
  return result;
}

// Holds the instance for `hold`, logging when it got and released it.
gcp::Task<void> Holder(std::shared_ptr<InstanceOperationGate> gate, std::string instance,
                       std::string who, std::chrono::milliseconds hold,
                       std::vector<std::string>* log, Status* status) {
  auto h = co_await gate->Acquire("p", instance, std::chrono::steady_clock::now() + 2s);
  if (!h.ok()) {
    *status = h.status();
    log->push_back(who + " gave up");
    co_return;
  }
  log->push_back(who + " got " + instance);
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
  t.expires_after(hold);
  co_await t.async_wait(boost::asio::use_awaitable);
  log->push_back(who + " released " + instance);
}

TEST_CASE("gate: one holder per instance, first come first served", "[gate]") {
  boost::asio::io_context io;
  auto gate = InstanceOperationGate::Create();
  std::vector<std::string> log;
  Status a, b, c, d;
  boost::asio::co_spawn(io, Holder(gate, "db", "a", 20ms, &log, &a), boost::asio::detached);
  boost::asio::co_spawn(io, Holder(gate, "db", "b", 1ms, &log, &b), boost::asio::detached);
  boost::asio::co_spawn(io, Holder(gate, "db", "c", 1ms, &log, &c), boost::asio::detached);
  boost::asio::co_spawn(io, Holder(gate, "other", "d", 1ms, &log, &d), boost::asio::detached);
  io.run();
  const std::vector<std::string> expected = {"a got db",       "d got other", "d released other",
                                             "a released db",  "b got db",    "b released db",
                                             "c got db",       "c released db"};
  CHECK(log == expected);
  CHECK_FALSE(gate->IsHeld("p", "db"));
}

TEST_CASE("gate: a waiter gives up at its deadline with a clear error", "[gate]") {
  boost::asio::io_context io;
  auto gate = InstanceOperationGate::Create();
  std::optional<InstanceOperationGate::Hold> held;
  boost::asio::co_spawn(
      io,
      [](std::shared_ptr<InstanceOperationGate> g,
         std::optional<InstanceOperationGate::Hold>* out) -> gcp::Task<void> {
        auto h = co_await g->Acquire("p", "db", std::chrono::steady_clock::now() + 1s);
        out->emplace(std::move(*h));
      }(gate, &held),
      boost::asio::detached);
  io.run();
  io.restart();
  REQUIRE(held);
  Status late;
  boost::asio::co_spawn(
      io,
      [](std::shared_ptr<InstanceOperationGate> g, Status* out) -> gcp::Task<void> {
        auto h = co_await g->Acquire("p", "db", std::chrono::steady_clock::now() + 10ms);
        *out = h.status();
      }(gate, &late),
      boost::asio::detached);
  io.run();
  CHECK(late.code() == StatusCode::kDeadlineExceeded);
  CHECK_THAT(late.message(), Catch::Contains("p/db"));
  held.reset();
  CHECK_FALSE(gate->IsHeld("p", "db"));
}

struct RecordingObserver : MutationObserver {
  std::vector<std::string> events;
  void BeforeMutation(const Step& s, const std::string& prior) override {
    events.push_back("before " + s.id + " " + prior);
  }
  void OperationStarted(const Step& s, const gcp::Operation& op) override {
    events.push_back("started " + s.id + (op.name.empty() ? "" : " op"));
  }
  void Finished(const Step& s, const Status& st) override {
    events.push_back("finished " + s.id + " " + std::to_string(st.http_status()) +
                     (st.ok() ? " ok" : " " + st.reason()));
  }
};

TEST_CASE("acting: the journal hooks see every write in order, refused ones without an operation",
          "[executor][observer]") {
  FakeCloud cloud(SeedLive());
  cloud.fail_next["sql.PatchInstance"].push_back(
      FailedPreconditionError("Condition does not match.").WithHttpStatus(412).WithReason("staleData"));
  RecordingObserver obs;
  ApplyOptions o = Fast();
  o.observer = &obs;
  const ApplyResult r = ApplyOnce(cloud, SeedIntent(), o);
  REQUIRE(r.status.ok());
  REQUIRE(r.converged);
  // 6 accepted writes x 3 events + the refused PATCH (before + finished).
  CHECK(obs.events.size() == 6 * 3 + 2);
  auto first_instance = std::find_if(obs.events.begin(), obs.events.end(), [](const auto& e) {
    return e.starts_with("before instance/saleor-db-demo ");
  });
  REQUIRE(first_instance != obs.events.end());
  CHECK_THAT(*first_instance, Catch::Contains("\"settings.ipConfiguration.sslMode\":"));
  CHECK(*(first_instance + 1) == "finished instance/saleor-db-demo 412 staleData");
  CHECK(*(first_instance + 2) == *first_instance);  // re-planned: same prior values
  CHECK(*(first_instance + 3) == "started instance/saleor-db-demo op");
  for (const auto& e : obs.events) CHECK(e.find(kPassword) == std::string::npos);
}

TEST_CASE("acting: an accepted change that does not show up is not sent again",
          "[executor][never-twice]") {
  FakeCloud cloud(SeedLive());
  cloud.revert_job_patches = true;
  ApplyOptions o = Fast();
  o.max_idle_polls = 3;
  const ApplyResult r = ApplyOnce(cloud, SeedIntent(), o);
  CHECK(r.status.code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(r.status.message(), Catch::Contains("not sending it again"));
  CHECK(std::count(cloud.writes.begin(), cloud.writes.end(),
                   std::string("run.PatchJob ") + kJob) == 1);
  CHECK(cloud.world().instance->ipv4_enabled);  // the public path stays until the job moved
}

TEST_CASE("acting: progress names the step and what it waits for", "[executor][progress]") {
  FakeCloud cloud(SeedLive());
  std::vector<std::string> seen;
  ApplyOptions o = Fast();
  o.progress = [&seen](const ApplyProgress& p) {
    if (p.kind == ApplyProgress::Kind::kStepStarted) seen.push_back("start " + p.step->id);
    if (p.kind == ApplyProgress::Kind::kStepFinished) {
      seen.push_back(std::string(p.status.ok() ? "done " : "failed ") + p.step->id);
    }
  };
  const ApplyResult r = ApplyOnce(cloud, SeedIntent(), o);
  REQUIRE(r.status.ok());
  REQUIRE(seen.size() == 12);
  CHECK(seen.front() == "start range/google-managed-services-default");
  CHECK(seen.back() == "done instance/saleor-db-demo/public-path");
  CHECK(r.first_plan.steps.size() == 6);
  CHECK(r.last_plan.steps.empty());
}

}  // namespace
}  // namespace dbconnd::reconcilers
