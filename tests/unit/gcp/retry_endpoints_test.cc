#include <catch2/catch.hpp>

#include <map>

#include "gcp/endpoints.h"
#include "gcp/rate_limiter.h"
#include "gcp/retry.h"
#include "test_util.h"

namespace dbconnd::gcp {
namespace {

using std::chrono::milliseconds;
using testing::FakeTime;
using testing::RunSync;

Status Http(int code, std::string reason = "") {
  return Status(CodeForHttpStatus(code), "x").WithHttpStatus(code).WithReason(reason);
}

TEST_CASE("retry classification", "[retry]") {
  for (int code : {429, 500, 502, 503, 504}) {
    CHECK(RetryPolicy::IsRetryable(CallKind::kRead, Api::kSqlAdmin, Http(code)));
    CHECK_FALSE(RetryPolicy::IsRetryable(CallKind::kMutation, Api::kSqlAdmin, Http(code)));
  }
  for (int code : {400, 401, 403, 404, 409, 412}) {
    CHECK_FALSE(RetryPolicy::IsRetryable(CallKind::kRead, Api::kSqlAdmin, Http(code)));
  }
  CHECK(RetryPolicy::IsRetryable(CallKind::kRead, Api::kCompute, Http(403, "rateLimitExceeded")));
  CHECK_FALSE(
      RetryPolicy::IsRetryable(CallKind::kRead, Api::kSqlAdmin, Http(403, "forbidden")));
  CHECK(RetryPolicy::IsRetryable(CallKind::kRead, Api::kRun, UnavailableError("connect refused")));
  CHECK_FALSE(RetryPolicy::IsRetryable(CallKind::kRead, Api::kRun, DeadlineExceededError("t")));
  CHECK_FALSE(RetryPolicy::IsRetryable(CallKind::kMutation, Api::kRun, UnavailableError("x")));
}

TEST_CASE("backoff is truncated exponential with full jitter", "[retry]") {
  RetryOptions o;
  o.initial_backoff = milliseconds(100);
  o.max_backoff = milliseconds(1000);
  double draw = 1.0;
  RetryPolicy p(o, [&] { return draw; });
  CHECK(p.Backoff(0) == milliseconds(100));
  CHECK(p.Backoff(1) == milliseconds(200));
  CHECK(p.Backoff(3) == milliseconds(800));
  CHECK(p.Backoff(4) == milliseconds(1000));  // truncated
  CHECK(p.Backoff(30) == milliseconds(1000));
  draw = 0.5;
  CHECK(p.Backoff(2) == milliseconds(200));
  draw = 0.0;
  CHECK(p.Backoff(2) == milliseconds(0));
  CHECK(p.Backoff(2, milliseconds(3500)) == milliseconds(3500));  // RetryInfo wins

  o.max_attempts = 3;
  o.max_elapsed = milliseconds(5000);
  RetryPolicy q(o, [] { return 0.5; });
  CHECK(q.CanRetry(1, milliseconds(0), milliseconds(100)));
  CHECK_FALSE(q.CanRetry(3, milliseconds(0), milliseconds(100)));
  CHECK_FALSE(q.CanRetry(1, milliseconds(4950), milliseconds(100)));
}

TEST_CASE("endpoint overrides parse and validate", "[endpoints]") {
  Endpoints e;
  CHECK(e.sqladmin == "https://sqladmin.googleapis.com");
  CHECK(e.TokenUri() == "https://oauth2.googleapis.com/token");
  REQUIRE(e.Override("sqladmin=http://127.0.0.1:8080").ok());
  CHECK(e.sqladmin == "http://127.0.0.1:8080");
  REQUIRE(e.Override("RUN=HTTP://LocalHost:9090/").ok());
  CHECK(e.run == "http://localhost:9090");
  REQUIRE(e.Override("compute=https://[::1]:8443").ok());
  CHECK(e.compute == "https://[::1]:8443");

  Status bad_name = e.Override("sqladmn=http://127.0.0.1:1");
  CHECK(bad_name.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(bad_name.message(), Catch::Contains("sqladmin, run, vpcaccess, servicenetworking, "
                                                 "compute, secretmanager, cloudresourcemanager, "
                                                 "oauth2, metadata"));
  CHECK_FALSE(e.Override("run=ftp://x").ok());
  CHECK_FALSE(e.Override("run=http://").ok());
  CHECK_FALSE(e.Override("run=http://h:0").ok());
  CHECK_FALSE(e.Override("run=http://h:70000").ok());
  CHECK_FALSE(e.Override("run=http://h:").ok());
  CHECK_FALSE(e.Override("run=http://h/v2").ok());
  CHECK_FALSE(e.Override("run=http://h?x=1").ok());
  CHECK_FALSE(e.Override("run=http://user:pw@h").ok());
  CHECK_FALSE(e.Override("run").ok());
  CHECK(e.run == "http://localhost:9090");  // failed overrides change nothing
}

TEST_CASE("oauth2 override keeps the token path", "[endpoints]") {
  Endpoints e;
  CHECK(e.ResolveTokenUri("https://oauth2.googleapis.com/token") ==
        "https://oauth2.googleapis.com/token");
  CHECK(e.ResolveTokenUri("https://example.test/custom/token") ==
        "https://example.test/custom/token");
  REQUIRE(e.Override("oauth2=http://127.0.0.1:4000").ok());
  CHECK(e.ResolveTokenUri("https://oauth2.googleapis.com/token") == "http://127.0.0.1:4000/token");
  CHECK(e.ResolveTokenUri("") == "http://127.0.0.1:4000/token");
}

TEST_CASE("endpoint environment variables", "[endpoints]") {
  std::map<std::string, std::string> env = {
      {"DBCONND_ENDPOINT_SQLADMIN", "http://127.0.0.1:8080"},
      {"DBCONND_ENDPOINT_VPCACCESS", ""},
      {"GCE_METADATA_HOST", "127.0.0.1:9999"},
  };
  auto getenv_fn = [&](const char* n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  Endpoints e;
  REQUIRE(e.ApplyEnvironment(getenv_fn).ok());
  CHECK(e.sqladmin == "http://127.0.0.1:8080");
  CHECK(e.vpcaccess == "https://vpcaccess.googleapis.com");
  CHECK(e.metadata == "http://127.0.0.1:9999");
  // The dbconnd variable wins over GCE_METADATA_HOST.
  env["DBCONND_ENDPOINT_METADATA"] = "http://127.0.0.1:7777";
  Endpoints e2;
  REQUIRE(e2.ApplyEnvironment(getenv_fn).ok());
  CHECK(e2.metadata == "http://127.0.0.1:7777");
  env["DBCONND_ENDPOINT_RUN"] = "nope";
  Endpoints e3;
  Status s = e3.ApplyEnvironment(getenv_fn);
  CHECK_FALSE(s.ok());
  CHECK_THAT(s.message(), Catch::Contains("DBCONND_ENDPOINT_RUN"));
}

TEST_CASE("rate limiter defaults and parsing", "[rate_limiter]") {
  RateLimits d = RateLimits::Defaults();
  CHECK(d.limits.at({Api::kSqlAdmin, Bucket::kGet}).per_minute == 500);
  CHECK(d.limits.at({Api::kSqlAdmin, Bucket::kList}).per_minute == 500);
  CHECK(d.limits.at({Api::kSqlAdmin, Bucket::kMutate}).per_minute == 180);
  CHECK(d.limits.at({Api::kRun, Bucket::kMutate}).per_minute == 60);
  REQUIRE(d.Set("run.get=120/min").ok());
  CHECK(d.limits.at({Api::kRun, Bucket::kGet}).per_minute == 120);
  REQUIRE(d.Set("sqladmin.get=0").ok());
  CHECK(d.limits.count({Api::kSqlAdmin, Bucket::kGet}) == 0);
  CHECK_FALSE(d.Set("sql.get=1").ok());
  CHECK_FALSE(d.Set("run.read=1").ok());
  CHECK_FALSE(d.Set("run.get=fast").ok());
}

boost::asio::awaitable<std::vector<Status>> AcquireN(RateLimiter* rl, int n, SteadyTime deadline) {
  std::vector<Status> out;
  for (int i = 0; i < n; ++i) out.push_back(co_await rl->Acquire(Api::kRun, Bucket::kMutate, deadline));
  co_return out;
}

TEST_CASE("rate limiter waits for tokens and honours the deadline", "[rate_limiter]") {
  FakeTime t;
  RateLimits limits;
  limits.limits[{Api::kRun, Bucket::kMutate}] = {60, 2};  // one per second, burst 2
  RateLimiter rl(limits, t.clock(), t.sleeper());
  CHECK(rl.tokens_left(Api::kRun, Bucket::kMutate) == 2.0);
  CHECK_FALSE(rl.tokens_left(Api::kRun, Bucket::kGet).has_value());

  auto results = RunSync(AcquireN(&rl, 4, t.now + std::chrono::seconds(10)));
  for (const auto& s : results) CHECK(s.ok());
  // Two from the burst, then one per second.
  REQUIRE(t.sleeps.size() == 2);
  CHECK(t.sleeps[0] == milliseconds(1000));
  CHECK(t.sleeps[1] == milliseconds(1000));

  // Empty bucket and a deadline sooner than the next token: refused at once.
  auto refused = RunSync(AcquireN(&rl, 1, t.now + milliseconds(10)));
  CHECK(refused[0].code() == StatusCode::kResourceExhausted);
  CHECK(refused[0].reason() == "clientRateLimited");
  CHECK(t.sleeps.size() == 2);
  // Unlimited pairs never wait.
  auto free_run = RunSync(rl.Acquire(Api::kCompute, Bucket::kGet, t.now));
  CHECK(free_run.ok());
}

}  // namespace
}  // namespace dbconnd::gcp
