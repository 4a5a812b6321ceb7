// The write fence against a real elector and the fake API server: a leader
// whose Lease is taken while a write waits in the rate limiter sends nothing
// once it has lost it.
#include <catch2/catch.hpp>

#include "../gcp/test_util.h"
#include "fake_kube_api.h"
#include "gcp/rest_clients.h"
#include "gcp/write_fence.h"
#include "k8s/leader_elector.h"
#include "test_util.h"

namespace dbconnd::k8s::testing {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::seconds;

constexpr char kOperation[] =
    R"({"kind":"sql#operation","name":"op-1","status":"PENDING","operationType":"UPDATE"})";

class FixedToken : public gcp::TokenSource {
 public:
  asio::awaitable<StatusOr<gcp::AccessToken>> Token() override {
    co_return gcp::AccessToken{"t", std::chrono::system_clock::now() + std::chrono::hours(1)};
  }
  std::string Describe() const override { return "fixed"; }
};

// Another replica takes the Lease over (e.g. after this one was paused).
void TakeLease(FakeKubeApi& api, const std::string& holder) {
  json::object& o = api.leases.at("default/dbconnd");
  o["spec"].as_object()["holderIdentity"] = holder;
  o["metadata"].as_object()["resourceVersion"] = std::to_string(++api.resource_version);
}

struct World {
  asio::io_context io;
  FakeKubeApi api;
  SteadyTime now = SteadyTime{} + std::chrono::hours(100);
  std::unique_ptr<LeaderElector> elector;
  int waits = 0;
};

// The rate limiter's sleep: while the write waits for its token, the Lease
// changes hands and this replica's elector notices.
asio::awaitable<Status> WaitWhileLeaseIsTaken(World* w, std::chrono::milliseconds d) {
  ++w->waits;
  TakeLease(w->api, "pod-b");
  co_await w->elector->TryAcquireOrRenew();
  w->now += d;
  co_return OkStatus();
}

gcp::SqlInstancePatch Patch() {
  gcp::SqlInstancePatch p;
  p.settings_version = "42";
  p.ipv4_enabled = false;
  return p;
}

TEST_CASE("a leader whose Lease is taken while a write waits in the rate limiter sends nothing",
          "[k8s][fence]") {
  World w;
  w.api.Start(w.io.get_executor());
  LeaderElectionConfig config = TestConfig("pod-a", seconds(15), seconds(10), seconds(2));
  config.steady_now = [&w] { return w.now; };
  auto e = LeaderElector::Create(MakeLeaseClient(w.io, w.api.url(), "token-a"), config);
  REQUIRE(e.ok());
  w.elector = std::move(*e);
  REQUIRE(Await(w.io, w.elector->TryAcquireOrRenew()));
  REQUIRE(w.elector->CanWrite());

  LeaderElector* elector = w.elector.get();
  auto fence = std::make_shared<gcp::WriteFence>([elector] { return elector->write_deadline(); },
                                                 [&w] { return w.now; });
  auto http = std::make_shared<gcp::testing::FakeHttpClient>();
  http->handler = [](const net::HttpRequest&) -> StatusOr<net::HttpResponse> {
    return gcp::testing::JsonReply(200, kOperation);
  };
  gcp::RestOptions o;
  o.clock = [&w] { return w.now; };
  World* wp = &w;
  o.sleeper = [wp](std::chrono::milliseconds d) { return WaitWhileLeaseIsTaken(wp, d); };
  o.write_fence = fence;
  gcp::RateLimits limits;
  limits.limits[{gcp::Api::kSqlAdmin, gcp::Bucket::kMutate}] = gcp::BucketLimit{60, 1};
  gcp::Endpoints endpoints;
  REQUIRE(endpoints.Override("sqladmin=http://127.0.0.1:1").ok());
  auto rest = gcp::MakeRestClients(w.io.get_executor(), http, std::make_shared<FixedToken>(),
                                   endpoints, limits, o);
  const gcp::Clients& clients = rest->clients();

  // The bucket holds one token: the first write goes at once.
  REQUIRE(Await(w.io, clients.sql->PatchInstance("p", "i", Patch())).ok());
  CHECK(http->requests.size() == 1);
  CHECK(w.waits == 0);

  // The second waits for its token; meanwhile the Lease is taken.
  auto second = Await(w.io, clients.sql->PatchInstance("p", "i", Patch()));
  CHECK(w.waits == 1);
  CHECK_FALSE(w.elector->is_leader());
  CHECK(w.api.Holder() == "pod-b");
  CHECK(second.status().reason() == gcp::kWriteFencedReason);
  CHECK(second.status().message().find("not the leader") != std::string::npos);
  CHECK(http->requests.size() == 1);  // nothing sent after losing the Lease
  CHECK(fence->refused() == 1);

  // Reads still go (a standby keeps observing).
  http->handler = [](const net::HttpRequest&) -> StatusOr<net::HttpResponse> {
    return gcp::testing::JsonReply(200, R"({"name":"i","state":"RUNNABLE"})");
  };
  CHECK(Await(w.io, clients.sql->GetInstance("p", "i")).ok());
  CHECK(http->requests.size() == 2);
  CHECK(http->requests.back().method == "GET");
  w.api.Stop();
}

}  // namespace
}  // namespace dbconnd::k8s::testing
