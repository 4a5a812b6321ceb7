// Unknown outcomes and transient failures: observe again, plan afresh, never
// resend blindly; a permanent error still ends the pass.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "reconcilers/executor.h"
#include "fakes.h"
#include "fixtures.h"

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures

gcp::Task<Status> NoSleep(std::chrono::milliseconds) { co_return OkStatus(); }

class IdObserver : public MutationObserver {
 public:
  void BeforeMutation(const Step&, const std::string&) override {}
  void OperationStarted(const Step&, const gcp::Operation&) override {}
  void Finished(const Step&, const Status&) override {}
  void RequestIdAssigned(const Step& step, const std::string& id) override {
    ids.push_back(step.id + "=" + id);
  }
  std::vector<std::string> ids;
};

ApplyOptions Fast() {
  ApplyOptions o;
  o.sleeper = &NoSleep;
  o.wait.sleeper = &NoSleep;
  o.wait.initial_poll = std::chrono::milliseconds(1);
  o.transient.initial_backoff = std::chrono::milliseconds(1);
  return o;
}

gcp::Task<void> RunApply(gcp::Clients clients, config::Intent intent, ApplyOptions options,
                         ApplyResult* out) {
  *out = co_await Apply(clients, std::move(intent), std::move(options));
}

ApplyResult ApplyOnce(FakeCloud& cloud, const config::Intent& intent, ApplyOptions o = Fast()) {
  boost::asio::io_context io;
  ApplyResult result;
  boost::asio::co_spawn(io, RunApply(cloud.clients(), intent, std::move(o), &result),
                        boost::asio::detached);
  io.run();
  return result;
}

const std::vector<std::string> kSeedWrites = {
    "compute.InsertGlobalAddress google-managed-services-default",
    "networking.CreateConnection projects/123456789012/global/networks/default",
    "vpc.CreateConnector saleor-connector",
    "sql.PatchInstance saleor-db-demo",
    std::string("run.PatchJob ") + kJob,
    "sql.PatchInstance saleor-db-demo",
};

int CountCalls(const FakeCloud& cloud, const std::string& prefix) {
  return static_cast<int>(std::count_if(cloud.calls.begin(), cloud.calls.end(), [&](const auto& c) {
    return c.rfind(prefix, 0) == 0;
  }));
}

TEST_CASE("apply: a 503 on instances.patch re-reads and goes on", "[executor][transient]") {
  FakeCloud cloud(SeedLive());
  cloud.fail_next["sql.PatchInstance"].push_back(
      UnavailableError("The service is currently unavailable.").WithHttpStatus(503));
  const ApplyResult r = ApplyOnce(cloud, SeedIntent());
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(cloud.writes == kSeedWrites);
  // One more observation than without the fault: the plan after the 503
  // came from a fresh read.
  CHECK(CountCalls(cloud, "sql.GetInstance") >= 8);
}

TEST_CASE("apply: transient failures of reads and writes are ridden out", "[executor][transient]") {
  auto failure = GENERATE(as<std::string>{}, "429", "500", "reset", "timeout");
  Status s = failure == "429"     ? ResourceExhaustedError("quota").WithHttpStatus(429)
             : failure == "500"   ? InternalError("backend").WithHttpStatus(500)
             : failure == "reset" ? UnavailableError("connection reset by peer")
                                  : DeadlineExceededError("request timed out");
  FakeCloud cloud(SeedLive());
  cloud.fail_next["sql.GetInstance"] = {s, s};
  cloud.fail_next["run.PatchJob"] = {s};
  cloud.fail_next["vpc.CreateConnector"] = {s};
  const ApplyResult r = ApplyOnce(cloud, SeedIntent());
  INFO(failure << ": " << r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(cloud.writes == kSeedWrites);
}

TEST_CASE("apply: a permanent error ends the pass, transient ones end at their bound",
          "[executor][transient]") {
  FakeCloud cloud(SeedLive());
  SECTION("403") {
    cloud.fail_next["compute.InsertGlobalAddress"].push_back(
        PermissionDeniedError("denied").WithHttpStatus(403));
    const ApplyResult r = ApplyOnce(cloud, SeedIntent());
    CHECK(r.status.code() == StatusCode::kPermissionDenied);
    CHECK(cloud.writes.empty());
  }
  SECTION("503 forever") {
    for (int i = 0; i < 100; ++i) {
      cloud.fail_next["sql.GetInstance"].push_back(UnavailableError("down").WithHttpStatus(503));
    }
    ApplyOptions o = Fast();
    o.transient.max_attempts = 5;
    const ApplyResult r = ApplyOnce(cloud, SeedIntent(), o);
    CHECK(r.status.code() == StatusCode::kUnavailable);
    CHECK(CountCalls(cloud, "sql.GetInstance") == 5);
  }
}

TEST_CASE("apply: a Compute insert keeps its requestId across resends", "[executor][requestid]") {
  FakeCloud cloud(SeedLive());
  cloud.fail_next["compute.InsertGlobalAddress"].push_back(UnavailableError("connection reset"));
  IdObserver observer;
  ApplyOptions o = Fast();
  o.observer = &observer;
  const ApplyResult r = ApplyOnce(cloud, SeedIntent(), o);
  REQUIRE(r.status.ok());
  REQUIRE(cloud.insert_request_ids.size() == 2);
  CHECK(cloud.insert_request_ids[0].size() == 36);
  CHECK(cloud.insert_request_ids[0] == cloud.insert_request_ids[1]);
  REQUIRE(observer.ids.size() == 2);
  CHECK(observer.ids[0] == observer.ids[1]);
  CHECK(observer.ids[0].find(cloud.insert_request_ids[0]) != std::string::npos);

  SECTION("a shared map hands the same id to a later pass") {
    FakeCloud again(SeedLive());
    auto ids = std::make_shared<RequestIds>();
    ApplyOptions o1 = Fast();
    o1.request_ids = ids;
    o1.max_rounds = 1;
    again.fail_next["compute.InsertGlobalAddress"].push_back(UnavailableError("reset"));
    o1.transient.max_attempts = 1;
    (void)ApplyOnce(again, SeedIntent(), o1);
    ApplyOptions o2 = Fast();
    o2.request_ids = ids;
    REQUIRE(ApplyOnce(again, SeedIntent(), o2).status.ok());
    REQUIRE(again.insert_request_ids.size() == 2);
    CHECK(again.insert_request_ids[0] == again.insert_request_ids[1]);
  }
}

TEST_CASE("apply: a pending Cloud SQL operation is waited for before writing the instance",
          "[executor][pending]") {
  FakeCloud cloud(SeedLive());
  gcp::Operation running;
  running.api = gcp::Api::kSqlAdmin;
  running.project = kProject;
  running.name = "left-by-a-dead-leader";
  running.done = false;
  cloud.running_sql_ops = {running};
  const ApplyResult r = ApplyOnce(cloud, SeedIntent());
  REQUIRE(r.status.ok());
  CHECK(cloud.writes == kSeedWrites);
  auto waited = std::find(cloud.calls.begin(), cloud.calls.end(),
                          "sql.GetOperation left-by-a-dead-leader");
  auto patched = std::find(cloud.calls.begin(), cloud.calls.end(), "sql.PatchInstance saleor-db-demo");
  REQUIRE(waited != cloud.calls.end());
  CHECK(waited < patched);
}

TEST_CASE("apply: a verification already running is adopted, never started again",
          "[executor][verify]") {
  config::Intent in = SeedIntent();
  in.policy.verify = true;
  LiveState live = SeedLive();
  // The job was moved and its verification started by a process that died
  // (updateTime before the execution's createTime).
  FakeCloud cloud(live);
  REQUIRE(ApplyOnce(cloud, in).status.ok());  // converge once (runs the job once)
  REQUIRE(CountCalls(cloud, "run.StartExecution") == 1);

  FakeCloud fresh(SeedLive());
  in.policy.verify = true;
  // Converge everything but the verification and the public path, by hand.
  for (int i = 0; i < 5; ++i) Simulate(*FirstReadyStep(ComputePlan(in, fresh.world())), fresh.world());
  auto& job = fresh.world().jobs.at(kJob);
  job.update_time = "2026-12-06T04:00:00Z";
  job.latest_execution = "projects/p/locations/r/jobs/" + std::string(kJob) + "/executions/e-dead";
  job.latest_execution_create_time = "2026-12-06T04:00:01.5Z";
  job.latest_execution_status = "EXECUTION_RUNNING";
  gcp::Execution e;
  e.name = job.latest_execution;
  e.done = true;
  e.succeeded = true;
  fresh.AddExecution(e);
  const ApplyResult r = ApplyOnce(fresh, in);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(CountCalls(fresh, "run.StartExecution") == 0);
  CHECK(CountCalls(fresh, "run.GetExecution " + job.latest_execution) >= 1);
  CHECK(r.verifications.at(kJob).state == JobVerification::State::kSucceeded);
  CHECK_FALSE(fresh.world().instance->ipv4_enabled);

  SECTION("an execution older than the job's last change does not count") {
    FakeCloud old(fresh.world());
    auto& j = old.world().jobs.at(kJob);
    j.latest_execution_create_time = "2026-12-06T03:59:59Z";
    j.latest_execution_status = "EXECUTION_SUCCEEDED";
    old.world().instance->ipv4_enabled = true;
    const ApplyResult r2 = ApplyOnce(old, in);
    REQUIRE(r2.status.ok());
    CHECK(CountCalls(old, "run.StartExecution") == 1);
  }
}

}  // namespace
}  // namespace dbconnd::reconcilers
