// The daemon's telemetry decorator: what the REST transport and the
// operation waiter report becomes the series the alerts and dashboard read.

#include <catch2/catch.hpp>

#include "daemon/api_telemetry.h"
#include "daemon/metrics.h"
#include "tests/unit/metrics/exposition.h"

namespace dbconnd::daemon {
namespace {

using testing::Value;

struct ManualClock {
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::time_point{} +
                                              std::chrono::hours(1);
  MetricsTelemetry::Clock clock() {
    return [this] { return now; };
  }
};

TEST_CASE("requests become api_requests_total, durations and retries", "[metrics][telemetry]") {
  auto metrics = std::make_shared<Metrics>();
  MetricsTelemetry t(metrics);
  gcp::RequestReport r;
  r.api = gcp::Api::kSqlAdmin;
  r.rpc = "instances.patch";
  r.http_status = 503;
  r.elapsed = std::chrono::milliseconds(40);
  t.RequestDone(r);
  r.rpc = "instances.get";
  r.http_status = 429;
  t.RequestDone(r);
  r.http_status = 200;
  r.attempt = 2;
  t.RequestDone(r);
  r.http_status = 0;
  r.failure = "timeout";
  r.attempt = 1;
  r.rpc = "";
  t.RequestDone(r);
  std::string text = metrics->Serialize();
  CHECK(Value(text, R"(dbconnd_api_requests_total{api="sqladmin",code="503",method="instances.patch"})") == 1);
  CHECK(Value(text, R"(dbconnd_api_requests_total{api="sqladmin",code="429",method="instances.get"})") == 1);
  CHECK(Value(text, R"(dbconnd_api_requests_total{api="sqladmin",code="200",method="instances.get"})") == 1);
  CHECK(Value(text, R"(dbconnd_api_requests_total{api="sqladmin",code="timeout",method="other"})") == 1);
  CHECK(Value(text, R"(dbconnd_api_request_retries_total{api="sqladmin",method="instances.get"})") == 1);
  CHECK(Value(text, R"(dbconnd_api_request_duration_seconds_count{api="sqladmin",method="instances.get"})") == 2);
}

TEST_CASE("running waits drive the oldest-operation gauge, finished ones the histograms",
          "[metrics][telemetry]") {
  auto metrics = std::make_shared<Metrics>();
  ManualClock clock;
  MetricsTelemetry t(metrics, clock.clock());
  t.OperationWaitStarted(1, gcp::Api::kSqlAdmin, "instances.patch");
  clock.now += std::chrono::seconds(100);
  t.OperationWaitStarted(2, gcp::Api::kSqlAdmin, "instances.patch");
  t.OperationWaitStarted(3, gcp::Api::kVpcAccess, "connectors.create");
  clock.now += std::chrono::seconds(20);
  t.Refresh(nullptr);
  std::string text = metrics->Serialize();
  CHECK(Value(text, R"(dbconnd_operation_oldest_running_seconds{type="instances.patch"})") == 120);
  CHECK(Value(text, R"(dbconnd_operation_oldest_running_seconds{type="connectors.create"})") == 20);
  CHECK(Value(text, R"(dbconnd_operation_oldest_running_seconds{type="jobs.run"})") == 0);

  gcp::OperationWaitReport done;
  done.api = gcp::Api::kSqlAdmin;
  done.started_by = "instances.patch";
  done.elapsed = std::chrono::seconds(120);
  done.polls = 9;
  t.OperationWaitFinished(1, done);
  done.wait_result = StatusCode::kCancelled;  // shutdown: polls count, time does not
  done.polls = 2;
  t.OperationWaitFinished(2, done);
  t.Refresh(nullptr);
  text = metrics->Serialize();
  CHECK(Value(text, R"(dbconnd_operation_oldest_running_seconds{type="instances.patch"})") == 0);
  CHECK(Value(text, R"(dbconnd_operation_oldest_running_seconds{type="connectors.create"})") == 20);
  CHECK(Value(text, R"(dbconnd_operation_wait_duration_seconds_count{type="instances.patch"})") == 1);
  CHECK(Value(text, R"(dbconnd_operation_polls_count{type="instances.patch"})") == 2);
  CHECK(Value(text, R"(dbconnd_operation_polls_sum{type="instances.patch"})") == 11);
  CHECK(t.running() == 1);
}

TEST_CASE("rate-limit tokens are read from the limiter at refresh", "[metrics][telemetry]") {
  auto metrics = std::make_shared<Metrics>();
  MetricsTelemetry t(metrics);
  gcp::RateLimits limits;
  limits.limits[{gcp::Api::kSqlAdmin, gcp::Bucket::kMutate}] = gcp::BucketLimit{180, 30};
  gcp::RateLimiter limiter(limits);
  t.Refresh(&limiter);
  std::string text = metrics->Serialize();
  CHECK(Value(text, R"(dbconnd_rate_limit_tokens{api="sqladmin",bucket="mutate"})") == Approx(30));
  CHECK(std::isnan(Value(text, R"(dbconnd_rate_limit_tokens{api="run",bucket="mutate"})")));
}

}  // namespace
}  // namespace dbconnd::daemon
