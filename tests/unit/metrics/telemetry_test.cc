// The daemon's telemetry decorator: what the REST transport and the
// operation waiter report becomes the series the alerts and dashboard read.

#include <catch2/catch.hpp>

#include "controller/api_telemetry.h"
#include "controller/metrics.h"
#include "gcp/auth.h"
#include "tests/unit/gcp/test_util.h"
#include "tests/unit/metrics/exposition.h"

namespace dbconnd::controller {
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

TEST_CASE("token requests are counted: api oauth2 or metadata, method token, no secret",
          "[metrics][telemetry][auth]") {
  auto metrics = std::make_shared<Metrics>();
  auto telemetry = std::make_shared<MetricsTelemetry>(metrics);
  auto http = std::make_shared<gcp::testing::FakeHttpClient>();
  gcp::AuthOptions opts;
  opts.http = http;
  opts.telemetry = telemetry;
  opts.getenv_fn = [](const char*) -> const char* { return nullptr; };
  opts.dmi_product_name_file = "/nonexistent/dmi";
  REQUIRE(opts.endpoints.Override("metadata=http://127.0.0.1:7070").ok());
  REQUIRE(opts.endpoints.Override("oauth2=http://127.0.0.1:4444").ok());

  // An authorized user's refresh: refused once, then granted.
  auto user = gcp::MakeCredentialsFromJson(
      R"({"type":"authorized_user","client_id":"cid","client_secret":"client-secret-123",)"
      R"("refresh_token":"refresh-token-456"})",
      "test credentials", opts);
  REQUIRE(user.ok());
  http->Push(400, R"({"error":"invalid_grant","error_description":"Bad Request"})");
  CHECK_FALSE(gcp::testing::RunSync((*user)->Token()).ok());
  http->Push(200, R"({"access_token":"ya29.user-token","expires_in":3600})");
  REQUIRE(gcp::testing::RunSync((*user)->Token()).ok());
  // The metadata server: unreachable once, then a token.
  auto meta = gcp::MakeMetadataServerSource(opts);
  http->PushError(UnavailableError("connection refused"));
  CHECK_FALSE(gcp::testing::RunSync(meta->Token()).ok());
  http->Push(200, R"({"access_token":"ya29.meta-token","expires_in":3600})");
  REQUIRE(gcp::testing::RunSync(meta->Token()).ok());
  REQUIRE(http->requests.size() == 4);

  std::string text = metrics->Serialize();
  CHECK(Value(text, R"(dbconnd_api_requests_total{api="oauth2",code="400",method="token"})") == 1);
  CHECK(Value(text, R"(dbconnd_api_requests_total{api="oauth2",code="200",method="token"})") == 1);
  CHECK(Value(text, R"(dbconnd_api_requests_total{api="metadata",code="connection_error",method="token"})") == 1);
  CHECK(Value(text, R"(dbconnd_api_requests_total{api="metadata",code="200",method="token"})") == 1);
  CHECK(Value(text, R"(dbconnd_api_request_duration_seconds_count{api="oauth2",method="token"})") == 2);
  CHECK(Value(text, R"(dbconnd_api_request_duration_seconds_count{api="metadata",method="token"})") == 2);
  for (const char* secret : {"client-secret-123", "refresh-token-456", "ya29."}) {
    CHECK(text.find(secret) == std::string::npos);
  }
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
}  // namespace dbconnd::controller
