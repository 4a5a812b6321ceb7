#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <optional>

#include "reconcilers/executor.h"
#include "fakes.h"
#include "fixtures.h"

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures

gcp::Task<Status> NoSleep(std::chrono::milliseconds) { co_return OkStatus(); }

ApplyOptions FastOptions() {
  ApplyOptions o;
  o.sleeper = &NoSleep;
  o.wait.sleeper = &NoSleep;
  o.wait.initial_poll = std::chrono::milliseconds(1);
  return o;
}

gcp::Task<void> RunApply(gcp::Clients clients, config::Intent intent, ApplyOptions options,
                         std::map<std::string, JobVerification> verifications,
                         ApplyResult* out) {
  *out = co_await Apply(clients, std::move(intent), std::move(options), std::move(verifications));
}

ApplyResult ApplyOnce(FakeCloud& cloud, const config::Intent& intent,
                      std::map<std::string, JobVerification> verifications = {}) {
  boost::asio::io_context io;
  ApplyResult result;
  boost::asio::co_spawn(io, RunApply(cloud.clients(), intent, FastOptions(),
                                     std::move(verifications), &result),
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

TEST_CASE("apply: the seed converges with one write per changed resource, in order",
          "[executor][seed]") {
  FakeCloud cloud(SeedLive());
  const ApplyResult r = ApplyOnce(cloud, SeedIntent());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(cloud.writes == kSeedWrites);
  CHECK(r.executed.size() == kSeedWrites.size());
  CHECK_FALSE(cloud.world().instance->ipv4_enabled);
  const auto& job = cloud.world().jobs.at(kJob);
  CHECK(Env(job.containers[0], "DATABASE_URL")->value ==
        "postgresql://saleor@10.20.0.3:5432/saleor?sslmode=require");
  CHECK(Env(job.containers[0], "DJANGO_SETTINGS_MODULE"));  // unowned env survives
}

TEST_CASE("apply: a second pass makes zero writes", "[executor][converged]") {
  FakeCloud cloud(SeedLive());
  REQUIRE(ApplyOnce(cloud, SeedIntent()).converged);
  cloud.writes.clear();
  const ApplyResult r = ApplyOnce(cloud, SeedIntent());
  CHECK(r.status.ok());
  CHECK(r.converged);
  CHECK(r.executed.empty());
  CHECK(cloud.writes.empty());
}

TEST_CASE("apply: 409 operationInProgress waits for the running operation, no duplicate write",
          "[executor][conflict]") {
  FakeCloud cloud(SeedLive());
  cloud.fail_next["sql.PatchInstance"].push_back(
      AbortedError("Operation failed because another operation was already in progress.")
          .WithHttpStatus(409)
          .WithReason("operationInProgress"));
  gcp::Operation running;
  running.api = gcp::Api::kSqlAdmin;
  running.project = kProject;
  running.name = "backup-op";
  cloud.running_sql_ops = {running};
  const ApplyResult r = ApplyOnce(cloud, SeedIntent());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(cloud.writes == kSeedWrites);
  CHECK(std::count(cloud.calls.begin(), cloud.calls.end(), "sql.GetOperation backup-op") == 1);
}

TEST_CASE("apply: 412 staleData re-reads and re-plans, no duplicate write",
          "[executor][conflict]") {
  FakeCloud cloud(SeedLive());
  cloud.fail_next["sql.PatchInstance"].push_back(
      FailedPreconditionError("Condition does not match.").WithHttpStatus(412).WithReason("staleData"));
  const ApplyResult r = ApplyOnce(cloud, SeedIntent());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(cloud.writes == kSeedWrites);
}

TEST_CASE("apply: a non-conflict error stops the pass and names the step", "[executor][error]") {
  FakeCloud cloud(SeedLive());
  cloud.fail_next["vpc.CreateConnector"].push_back(PermissionDeniedError("vpcaccess denied"));
  const ApplyResult r = ApplyOnce(cloud, SeedIntent());
  CHECK(r.status.code() == StatusCode::kPermissionDenied);
  CHECK(r.status.message().find("connector/saleor-connector") != std::string::npos);
  CHECK(cloud.writes.size() == 2);
  CHECK(cloud.world().instance->ipv4_enabled);  // nothing broken
}

TEST_CASE("apply: observe mode writes nothing", "[executor][observe]") {
  FakeCloud cloud(SeedLive());
  config::Intent in = SeedIntent();
  in.policy.mode = config::PolicyMode::kObserve;
  const ApplyResult r = ApplyOnce(cloud, in);
  CHECK(r.status.ok());
  CHECK_FALSE(r.converged);
  CHECK(r.last_plan.steps.size() == 6);
  CHECK(cloud.writes.empty());
}

TEST_CASE("apply: verification runs the job once before the public IP goes off",
          "[executor][verify]") {
  FakeCloud cloud(SeedLive());
  config::Intent in = SeedIntent();
  in.policy.verify = true;
  const ApplyResult r = ApplyOnce(cloud, in);
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  std::vector<std::string> expected = kSeedWrites;
  expected.insert(expected.begin() + 5, std::string("run.StartExecution ") + kJob);
  CHECK(cloud.writes == expected);
  CHECK(r.verifications.at(kJob).state == JobVerification::State::kSucceeded);
}

TEST_CASE("apply: failed verification leaves the public IP on", "[executor][verify]") {
  FakeCloud cloud(SeedLive());
  cloud.run_succeeds = false;
  config::Intent in = SeedIntent();
  in.policy.verify = true;
  const ApplyResult r = ApplyOnce(cloud, in);
  CHECK(r.status.ok());
  CHECK_FALSE(r.converged);
  CHECK(cloud.world().instance->ipv4_enabled);
  CHECK(r.verifications.at(kJob).state == JobVerification::State::kFailed);
  REQUIRE(r.last_plan.steps.size() == 1);
  CHECK(r.last_plan.steps[0].blocked.find("connection timeout expired") != std::string::npos);
}

}  // namespace
}  // namespace dbconnd::reconcilers

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures

TEST_CASE("apply: a connector still CREATING after its operation is polled until READY",
          "[executor][connector]") {
  FakeCloud cloud(SeedLive());
  cloud.connector_creating_reads = 2;
  const ApplyResult r = ApplyOnce(cloud, SeedIntent());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(cloud.writes == kSeedWrites);
  CHECK(cloud.world().connector->state == "READY");
  // The two CREATING reads and the READY one come right after the create.
  auto created = std::find(cloud.calls.begin(), cloud.calls.end(),
                           "vpc.CreateConnector saleor-connector");
  REQUIRE(created != cloud.calls.end());
  std::vector<std::string> next(created + 1, std::min(created + 4, cloud.calls.end()));
  CHECK(next == std::vector<std::string>(3, "vpc.GetConnector saleor-connector"));
}

}  // namespace
}  // namespace dbconnd::reconcilers
