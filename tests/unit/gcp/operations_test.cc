#include <catch2/catch.hpp>

#include "gcp/operations.h"
#include "gcp/rest_clients.h"
#include "test_util.h"

namespace dbconnd::gcp {
namespace {

using std::chrono::milliseconds;
using testing::FakeHttpClient;
using testing::FakeTime;
using testing::RunSync;

class FixedToken : public TokenSource {
 public:
  boost::asio::awaitable<StatusOr<AccessToken>> Token() override {
    co_return AccessToken{"ya29.op", std::chrono::system_clock::now() + std::chrono::hours(1)};
  }
  std::string Describe() const override { return "fixed"; }
};

struct Fixture {
  std::shared_ptr<FakeHttpClient> http = std::make_shared<FakeHttpClient>();
  FakeTime time;
  std::unique_ptr<RestClients> owner;
  std::vector<WaitProgress> progress;
  WaitOptions wait;

  Fixture() {
    RestOptions o;
    o.clock = time.clock();
    o.sleeper = time.sleeper();
    Endpoints e;
    for (auto name : Endpoints::kNames) {
      REQUIRE(e.Set(name, "http://127.0.0.1:9").ok());
    }
    owner = MakeRestClients(boost::asio::system_executor(), http, std::make_shared<FixedToken>(),
                            e, RateLimits::Unlimited(), o);
    wait.clock = time.clock();
    wait.sleeper = time.sleeper();
    wait.rng = [] { return 0.0; };  // no stretch: exact schedules below
    wait.progress = [this](const WaitProgress& p) { progress.push_back(p); };
  }
  StatusOr<Operation> Wait(Operation op) {
    return RunSync(WaitForOperation(owner->clients(), std::move(op), wait));
  }
};

Operation SqlOp() {
  Operation op;
  op.api = Api::kSqlAdmin;
  op.project = "p";
  op.name = "op-1";
  op.target = "saleor-db-demo";
  op.type = "UPDATE";
  return op;
}

Operation ComputeOp() {
  Operation op;
  op.api = Api::kCompute;
  op.project = "p";
  op.name = "operation-1";
  return op;
}

TEST_CASE("Cloud SQL operation: polled with backoff until DONE", "[operations]") {
  Fixture f;
  f.http->Push(200, R"({"name":"op-1","status":"PENDING","operationType":"UPDATE","targetId":"saleor-db-demo"})");
  f.http->Push(200, R"({"name":"op-1","status":"RUNNING"})");
  f.http->Push(200, R"({"name":"op-1","status":"DONE"})");
  auto done = f.Wait(SqlOp());
  REQUIRE(done.ok());
  CHECK(done->done);
  CHECK(done->error.ok());
  CHECK(f.http->requests.size() == 3);
  CHECK(f.http->requests[0].url == "http://127.0.0.1:9/v1/projects/p/operations/op-1");
  CHECK(f.time.sleeps == std::vector<milliseconds>{milliseconds(1000), milliseconds(2000),
                                                     milliseconds(4000)});
  REQUIRE(f.progress.size() == 2);
  CHECK(f.progress[1].waiting_for == "sqladmin operation op-1 (UPDATE) on saleor-db-demo");
  CHECK(f.progress[1].elapsed == milliseconds(3000));
  CHECK(f.progress[1].polls == 2);
}

TEST_CASE("failed operations of each style carry their error", "[operations]") {
  Fixture f;
  SECTION("Cloud SQL DONE + error.errors[]") {
    f.http->Push(200, R"({"name":"op-1","status":"DONE","error":{"errors":[{"code":"INVALID_REQUEST","message":"Private network is required"}]}})");
    auto done = f.Wait(SqlOp());
    REQUIRE(done.ok());
    CHECK_FALSE(done->error.ok());
    CHECK(done->error.reason() == "INVALID_REQUEST");
    CHECK_THAT(done->error.message(), Catch::Contains("Private network is required"));
  }
  SECTION("Cloud SQL error with a code and no message: the code says it, aborted") {
    f.http->Push(200, R"({"name":"op-1","status":"RUNNING","targetId":"db","targetProject":"other","error":{"errors":[{"code":"INTERNAL_ERROR"}]}})");
    auto done = f.Wait(SqlOp());
    REQUIRE(done.ok());
    CHECK(done->done);
    CHECK(done->project == "other");
    CHECK(done->target == "db");
    CHECK(done->error.code() == StatusCode::kAborted);
    CHECK(done->error.message() == "INTERNAL_ERROR");
  }
  SECTION("Compute error without messages: httpErrorMessage, else 'operation failed'") {
    f.http->Push(200, R"({"name":"operation-1","status":"DONE","targetLink":"https://x/addresses/a","httpErrorMessage":"CONFLICT","error":{"errors":[{"code":"X"}]}})");
    Operation op = ComputeOp();
    auto done = f.Wait(op);
    REQUIRE(done.ok());
    CHECK(done->target == "https://x/addresses/a");
    CHECK(done->error.code() == StatusCode::kAborted);  // no httpErrorStatusCode
    CHECK(done->error.message() == "CONFLICT");
    CHECK(done->error.reason() == "X");
    f.http->Push(200, R"({"name":"operation-1","status":"DONE","error":{}})");
    done = f.Wait(op);
    REQUIRE(done.ok());
    CHECK(done->error.message() == "operation failed");
  }
  SECTION("google.longrunning done + error (Run)") {
    f.http->Push(200, R"({"name":"projects/p/locations/r/operations/o","done":true,"error":{"code":9,"message":"Revision failed","details":[]}})");
    Operation op;
    op.api = Api::kRun;
    op.name = "projects/p/locations/r/operations/o";
    auto done = f.Wait(op);
    REQUIRE(done.ok());
    CHECK(done->error.code() == StatusCode::kFailedPrecondition);
    CHECK(f.http->requests[0].url == "http://127.0.0.1:9/v2/projects/p/locations/r/operations/o");
  }
  SECTION("Compute DONE + error.errors[]") {
    f.http->Push(200, R"({"name":"operation-1","status":"DONE","httpErrorStatusCode":409,"error":{"errors":[{"code":"RESOURCE_ALREADY_EXISTS","message":"The resource already exists"}]}})");
    Operation op = ComputeOp();
    auto done = f.Wait(op);
    REQUIRE(done.ok());
    CHECK(done->error.reason() == "RESOURCE_ALREADY_EXISTS");
    CHECK(done->error.http_status() == 409);
    CHECK(f.http->requests[0].url ==
          "http://127.0.0.1:9/compute/v1/projects/p/global/operations/operation-1");
  }
  SECTION("VPC Access and Service Networking poll v1/{name}") {
    f.http->Push(200, R"({"name":"projects/p/locations/r/operations/v","done":true,"response":{}})");
    f.http->Push(200, R"({"name":"operations/pssn.123","done":true})");
    Operation vpc;
    vpc.api = Api::kVpcAccess;
    vpc.name = "projects/p/locations/r/operations/v";
    REQUIRE(f.Wait(vpc).ok());
    Operation sn;
    sn.api = Api::kServiceNetworking;
    sn.name = "operations/pssn.123";
    REQUIRE(f.Wait(sn).ok());
    CHECK(f.http->requests[0].url == "http://127.0.0.1:9/v1/projects/p/locations/r/operations/v");
    CHECK(f.http->requests[1].url == "http://127.0.0.1:9/v1/operations/pssn.123");
  }
}

TEST_CASE("polling backs off to the cap and stops at the deadline", "[operations]") {
  Fixture f;
  f.http->handler = [](const net::HttpRequest&) -> StatusOr<net::HttpResponse> {
    return testing::JsonReply(200, R"({"name":"op-1","status":"RUNNING"})");
  };
  f.wait.timeout = std::chrono::minutes(5);
  auto r = f.Wait(SqlOp());
  CHECK(r.status().code() == StatusCode::kDeadlineExceeded);
  CHECK_THAT(r.status().message(), Catch::Contains("op-1") && Catch::Contains("300.0s"));
  milliseconds total{0};
  for (auto s : f.time.sleeps) {
    CHECK(s <= milliseconds(30'000));
    total += s;
  }
  CHECK(total == std::chrono::minutes(5));
  CHECK(std::count(f.time.sleeps.begin(), f.time.sleeps.end(), milliseconds(30'000)) >= 5);
  CHECK(f.http->requests.size() < 20);
}

// Records what the waiter reports through the telemetry seam.
class WaitRecorder : public Telemetry {
 public:
  void RequestDone(const RequestReport& r) override { rpcs.emplace_back(r.rpc); }
  void OperationWaitStarted(std::uint64_t id, Api, std::string_view started_by) override {
    started.emplace_back(id, std::string(started_by));
  }
  void OperationWaitFinished(std::uint64_t id, const OperationWaitReport& r) override {
    finished.push_back({id, std::string(r.started_by), r.polls, r.wait_result, r.elapsed});
  }
  struct Done {
    std::uint64_t id;
    std::string started_by;
    int polls;
    StatusCode result;
    std::chrono::duration<double> elapsed;
  };
  std::vector<std::string> rpcs;
  std::vector<std::pair<std::uint64_t, std::string>> started;
  std::vector<Done> finished;
};

TEST_CASE("a 5-minute operation costs at most 15 polls, jitter included", "[operations]") {
  Fixture f;
  auto recorder = std::make_shared<WaitRecorder>();
  f.wait.telemetry = recorder;
  int polls_until_done = 0;
  const SteadyTime start = f.time.now;
  // DONE at the first poll at or after 300 s.
  f.http->handler = [&f, &polls_until_done, start](const net::HttpRequest&)
      -> StatusOr<net::HttpResponse> {
    ++polls_until_done;
    bool done = f.time.now - start >= std::chrono::minutes(5);
    return testing::JsonReply(200, done ? R"({"name":"op-1","status":"DONE"})"
                                        : R"({"name":"op-1","status":"RUNNING"})");
  };
  Operation op = SqlOp();
  op.started_by = "instances.patch";
  SECTION("the largest stretch") { f.wait.rng = [] { return 0.999; }; }
  SECTION("no stretch") { f.wait.rng = [] { return 0.0; }; }
  SECTION("random stretch") { f.wait.rng = DefaultRng(); }
  auto r = f.Wait(op);
  REQUIRE(r.ok());
  CHECK(polls_until_done <= 15);
  for (auto s : f.time.sleeps) CHECK(s <= milliseconds(33'000));  // ~30 s cap, 10% jitter
  REQUIRE(recorder->started.size() == 1);
  REQUIRE(recorder->finished.size() == 1);
  CHECK(recorder->started[0].second == "instances.patch");
  CHECK(recorder->finished[0].id == recorder->started[0].first);
  CHECK(recorder->finished[0].polls == polls_until_done);
  CHECK(recorder->finished[0].result == StatusCode::kOk);
  CHECK(recorder->finished[0].elapsed >= std::chrono::minutes(5));
  CHECK(r->started_by == "instances.patch");  // kept across polls that omit it
}

TEST_CASE("jitter stretches each poll interval within [1, 1.1] of the schedule", "[operations]") {
  Fixture f;
  f.http->Push(200, R"({"name":"op-1","status":"RUNNING"})");
  f.http->Push(200, R"({"name":"op-1","status":"RUNNING"})");
  f.http->Push(200, R"({"name":"op-1","status":"DONE"})");
  f.wait.rng = [] { return 0.5; };
  REQUIRE(f.Wait(SqlOp()).ok());
  CHECK(f.time.sleeps == std::vector<milliseconds>{milliseconds(1050), milliseconds(2100),
                                                     milliseconds(4200)});
}

TEST_CASE("an interrupted wait still reports its end, with its reason", "[operations]") {
  Fixture f;
  auto recorder = std::make_shared<WaitRecorder>();
  f.wait.telemetry = recorder;
  f.http->handler = [](const net::HttpRequest&) -> StatusOr<net::HttpResponse> {
    return testing::JsonReply(200, R"({"name":"op-1","status":"RUNNING"})");
  };
  f.wait.timeout = std::chrono::seconds(10);
  CHECK(f.Wait(SqlOp()).status().code() == StatusCode::kDeadlineExceeded);
  REQUIRE(recorder->finished.size() == 1);
  CHECK(recorder->finished[0].result == StatusCode::kDeadlineExceeded);
  CHECK(recorder->finished[0].started_by.empty());
  CHECK(recorder->finished[0].polls == static_cast<int>(f.http->requests.size()));
}

TEST_CASE("a stop flag cancels the wait", "[operations]") {
  Fixture f;
  f.http->handler = [](const net::HttpRequest&) -> StatusOr<net::HttpResponse> {
    return testing::JsonReply(200, R"({"name":"op-1","status":"RUNNING"})");
  };
  f.wait.stop = std::make_shared<std::atomic<bool>>(false);
  auto stop = f.wait.stop;
  f.wait.progress = [stop](const WaitProgress& p) {
    if (p.polls == 3) stop->store(true);
  };
  auto r = f.Wait(SqlOp());
  CHECK(r.status().code() == StatusCode::kCancelled);
  CHECK(f.http->requests.size() == 3);
}

TEST_CASE("an already finished operation is returned without polling", "[operations]") {
  Fixture f;
  Operation op = SqlOp();
  op.done = true;
  auto r = f.Wait(op);
  REQUIRE(r.ok());
  CHECK(f.http->requests.empty());
  Clients none;
  op.done = false;
  CHECK(RunSync(WaitForOperation(none, op, f.wait)).status().code() ==
        StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dbconnd::gcp
