// The last-moment write fence in RestClient, and a 401's single retry with a
// fresh token.
#include <catch2/catch.hpp>

#include "gcp/rest_clients.h"
#include "gcp/write_fence.h"
#include "test_util.h"

namespace dbconnd::gcp {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeHttpClient;
using testing::FakeTime;
using testing::RunSync;

constexpr char kOperation[] =
    R"({"kind":"sql#operation","name":"op-1","status":"PENDING","operationType":"UPDATE"})";
constexpr char k401[] =
    R"({"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}})";

// Hands out "token-1", "token-2", ...; a rejected token is never handed out
// again, like a cache that refreshes.
class CountingTokens : public TokenSource {
 public:
  boost::asio::awaitable<StatusOr<AccessToken>> Token() override {
    co_return AccessToken{"token-" + std::to_string(generation),
                          std::chrono::system_clock::now() + std::chrono::hours(1)};
  }
  std::string Describe() const override { return "counting"; }
  void Invalidate(const AccessToken& rejected) override {
    invalidated.push_back(rejected.value);
    if (rejected.value == "token-" + std::to_string(generation)) ++generation;
  }
  int generation = 1;
  std::vector<std::string> invalidated;
};

// Records the deadlines each request was sent with.
class DeadlineRecordingHttp : public FakeHttpClient {
 public:
  boost::asio::awaitable<StatusOr<net::HttpResponse>> Send(net::HttpRequest request,
                                                           net::Deadlines d) override {
    deadlines.push_back(d);
    co_return co_await FakeHttpClient::Send(std::move(request), d);
  }
  std::vector<net::Deadlines> deadlines;
};

struct Fixture {
  std::shared_ptr<DeadlineRecordingHttp> http = std::make_shared<DeadlineRecordingHttp>();
  std::shared_ptr<CountingTokens> tokens = std::make_shared<CountingTokens>();
  FakeTime time;
  std::unique_ptr<RestClients> owner;
  Clients c;

  explicit Fixture(std::shared_ptr<WriteFence> fence = nullptr) {
    RestOptions o;
    o.clock = time.clock();
    o.sleeper = time.sleeper();
    o.rng = [] { return 0.5; };
    o.write_fence = std::move(fence);
    Endpoints e;
    REQUIRE(e.Override("sqladmin=http://127.0.0.1:1").ok());
    owner = MakeRestClients(boost::asio::system_executor(), http, tokens, e,
                            RateLimits::Unlimited(), o);
    c = owner->clients();
  }
};

SqlInstancePatch Patch() {
  SqlInstancePatch p;
  p.settings_version = "42";
  p.ipv4_enabled = false;
  return p;
}

TEST_CASE("a 401 drops the token and resends once with a fresh one, a write too", "[rest][auth]") {
  Fixture f;
  f.http->Push(401, k401);
  f.http->Push(200, kOperation);
  auto op = RunSync(f.c.sql->PatchInstance("p", "i", Patch()));
  REQUIRE(op.ok());
  REQUIRE(f.http->requests.size() == 2);
  CHECK(*f.http->requests[0].FindHeader("Authorization") == "Bearer token-1");
  CHECK(*f.http->requests[1].FindHeader("Authorization") == "Bearer token-2");
  CHECK(f.tokens->invalidated == std::vector<std::string>{"token-1"});
}

TEST_CASE("a second 401 is the answer: no loop", "[rest][auth]") {
  Fixture f;
  f.http->Push(401, k401);
  f.http->Push(401, k401);
  f.http->Push(200, kOperation);
  auto op = RunSync(f.c.sql->PatchInstance("p", "i", Patch()));
  CHECK(op.status().code() == StatusCode::kUnauthenticated);
  CHECK(f.http->requests.size() == 2);
  CHECK(op.status().message().find("token-") == std::string::npos);
}

TEST_CASE("write fence: a closed fence sends no write but lets reads through", "[rest][fence]") {
  auto fence = std::make_shared<WriteFence>();
  Fixture f(fence);
  fence->Close("shutting down");
  auto op = RunSync(f.c.sql->PatchInstance("p", "i", Patch()));
  CHECK(op.status().code() == StatusCode::kFailedPrecondition);
  CHECK(op.status().reason() == kWriteFencedReason);
  CHECK(op.status().message().find("shutting down") != std::string::npos);
  CHECK(f.http->requests.empty());
  CHECK(fence->refused() == 1);

  f.http->Push(200, R"({"name":"i","state":"RUNNABLE"})");
  auto got = RunSync(f.c.sql->GetInstance("p", "i"));
  CHECK(got.ok());
  CHECK(f.http->requests.size() == 1);
}

TEST_CASE("write fence: a write's deadline never outlives the lease", "[rest][fence]") {
  FakeTime* clock_owner = nullptr;
  SteadyTime valid_until{};
  auto fence = std::make_shared<WriteFence>([&valid_until] { return valid_until; },
                                            [&clock_owner] { return clock_owner->now; });
  Fixture f(fence);
  clock_owner = &f.time;
  valid_until = f.time.now + milliseconds(2'500);
  f.http->Push(200, kOperation);
  REQUIRE(RunSync(f.c.sql->PatchInstance("p", "i", Patch())).ok());
  REQUIRE(f.http->deadlines.size() == 1);
  const net::Deadlines& d = f.http->deadlines[0];
  CHECK(d.total == milliseconds(2'500));
  CHECK(d.connect <= milliseconds(2'500));
  CHECK(d.read <= milliseconds(2'500));
  CHECK(fence->in_flight() == 0);

  // Lease no longer valid: nothing is sent.
  f.time.now = valid_until;
  auto op = RunSync(f.c.sql->PatchInstance("p", "i", Patch()));
  CHECK(op.status().reason() == kWriteFencedReason);
  CHECK(f.http->requests.size() == 1);
}

// A transport whose connection takes a while: `during_connect` runs while
// it waits (the lease is lost then), and the last-moment check is asked
// after it, as net::HttpClient does. A refused request is not recorded:
// no byte of it went out.
class SlowConnectHttp : public FakeHttpClient {
 public:
  boost::asio::awaitable<StatusOr<net::HttpResponse>> SendChecked(
      net::HttpRequest request, net::Deadlines d,
      std::function<Status()> before_write) override {
    auto executor = co_await boost::asio::this_coro::executor;
    co_await boost::asio::post(executor, boost::asio::use_awaitable);  // connecting
    if (during_connect) during_connect();
    if (before_write) {
      ++checked;
      Status allowed = before_write();
      if (!allowed.ok()) co_return allowed;
    }
    co_return co_await FakeHttpClient::Send(std::move(request), d);
  }
  std::function<void()> during_connect;
  int checked = 0;
};

TEST_CASE("write fence: a lease lost while the connection is established sends nothing",
          "[rest][fence]") {
  bool leader = true;
  auto fence = std::make_shared<WriteFence>([&leader] {
    return leader ? SteadyTime::max() : SteadyTime::min();
  });
  auto http = std::make_shared<SlowConnectHttp>();
  RestOptions o;
  FakeTime time;
  o.clock = time.clock();
  o.sleeper = time.sleeper();
  o.rng = [] { return 0.5; };
  o.write_fence = fence;
  Endpoints e;
  REQUIRE(e.Override("sqladmin=http://127.0.0.1:1").ok());
  auto owner = MakeRestClients(boost::asio::system_executor(), http,
                               std::make_shared<CountingTokens>(), e, RateLimits::Unlimited(), o);
  Clients c = owner->clients();

  // Admitted (leader), then the lease goes while the transport connects.
  http->during_connect = [&leader] { leader = false; };
  auto op = RunSync(c.sql->PatchInstance("p", "i", Patch()));
  CHECK(op.status().reason() == kWriteFencedReason);
  CHECK(http->checked == 1);
  CHECK(http->requests.empty());
  CHECK(fence->refused() == 1);
  CHECK(fence->in_flight() == 0);

  // Reads are never fenced.
  http->Push(200, R"({"name":"i","state":"RUNNABLE"})");
  CHECK(RunSync(c.sql->GetInstance("p", "i")).ok());
  CHECK(http->requests.size() == 1);

  // A leader all along: checked at the last moment and sent.
  leader = true;
  http->during_connect = nullptr;
  http->Push(200, kOperation);
  CHECK(RunSync(c.sql->PatchInstance("p", "i", Patch())).ok());
  CHECK(http->checked == 2);
  CHECK(http->requests.size() == 2);
}

TEST_CASE("write fence: the gate refuses with its own status", "[rest][fence]") {
  auto fence = std::make_shared<WriteFence>();
  bool journal_ok = false;
  fence->SetGate([&journal_ok]() -> Status {
    if (journal_ok) return Status();
    return UnavailableError("journal full").WithReason("journalUnavailable");
  });
  Fixture f(fence);
  auto op = RunSync(f.c.sql->PatchInstance("p", "i", Patch()));
  CHECK(op.status().code() == StatusCode::kUnavailable);
  CHECK(op.status().reason() == "journalUnavailable");
  CHECK(f.http->requests.empty());
  journal_ok = true;
  f.http->Push(200, kOperation);
  CHECK(RunSync(f.c.sql->PatchInstance("p", "i", Patch())).ok());
  CHECK(f.http->requests.size() == 1);
}

TEST_CASE("write fence: in-flight writes are counted until they end or time out", "[fence]") {
  SteadyTime now = SteadyTime{} + std::chrono::hours(1);
  SteadyTime lease = now + seconds(10);
  WriteFence fence([&lease] { return lease; }, [&now] { return now; });
  {
    auto a = fence.Admit("a", now + seconds(120));
    REQUIRE(a.ok());
    CHECK(a->deadline() == now + seconds(10));
    auto b = fence.Admit("b", now + seconds(3));
    REQUIRE(b.ok());
    CHECK(b->deadline() == now + seconds(3));
    CHECK(fence.in_flight() == 2);
    CHECK(fence.Quiet() == now + seconds(10));
    fence.Close("stopping");
    CHECK_FALSE(fence.Admit("c", now + seconds(1)).ok());
    now += seconds(11);
    CHECK(fence.Quiet() == now);  // deadlines passed: nothing can land
  }
  CHECK(fence.in_flight() == 0);
  net::Deadlines d = CapDeadlines(net::Deadlines{}, now, now + milliseconds(1'500));
  CHECK(d.total == milliseconds(1'500));
  CHECK(d.connect == milliseconds(1'500));
  d = CapDeadlines(net::Deadlines{}, now, now - seconds(1));
  CHECK(d.total == milliseconds(1));
}

}  // namespace
}  // namespace dbconnd::gcp
