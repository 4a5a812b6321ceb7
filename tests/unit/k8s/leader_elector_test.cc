// Leader election against the fake API server. Timing-sensitive outcomes are
// asserted through the lease record and the callbacks, and through
// orderings that hold by construction (fencing), not through tight bounds.
#include <catch2/catch.hpp>

#include "fake_kube_api.h"
#include "k8s/leader_elector.h"
#include "test_util.h"

using dbconnd::StatusCode;
using dbconnd::k8s::LeaderElectionConfig;
using dbconnd::k8s::LeaderElector;
using dbconnd::k8s::SteadyTime;
using dbconnd::k8s::ValidateLeaderElectionConfig;
using namespace dbconnd::k8s::testing;
namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("elector config is validated like client-go", "[k8s][elector]") {
  LeaderElectionConfig c = TestConfig("pod-a", seconds(15), seconds(10), seconds(2));
  CHECK(ValidateLeaderElectionConfig(c).ok());
  LeaderElectionConfig defaults;
  CHECK(defaults.lease_duration == seconds(15));
  CHECK(defaults.renew_deadline == seconds(10));
  CHECK(defaults.retry_period == seconds(2));

  auto bad = c;
  bad.renew_deadline = seconds(15);
  CHECK(ValidateLeaderElectionConfig(bad).message().find("leaseDuration must be greater than renewDeadline") !=
        std::string::npos);
  bad = c;
  bad.retry_period = milliseconds(8'400);  // 10 s <= 1.2 * 8.4 s
  CHECK(ValidateLeaderElectionConfig(bad).message().find("retryPeriod*1.2") != std::string::npos);
  bad = c;
  bad.identity.clear();
  CHECK(ValidateLeaderElectionConfig(bad).code() == StatusCode::kInvalidArgument);
  bad = c;
  bad.lease_namespace.clear();
  CHECK_FALSE(ValidateLeaderElectionConfig(bad).ok());
  bad = c;
  bad.retry_period = milliseconds(0);
  CHECK_FALSE(ValidateLeaderElectionConfig(bad).ok());
  CHECK_FALSE(LeaderElector::Create(nullptr, c).ok());
}

TEST_CASE("identity defaults to POD_NAME", "[k8s][elector]") {
  auto env = [](std::string_view n) -> std::optional<std::string> {
    if (n == "POD_NAME") return std::string("dbconnd-7f9c-abcde");
    return std::nullopt;
  };
  CHECK(dbconnd::k8s::DefaultIdentity(env) == "dbconnd-7f9c-abcde");
  auto none = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  CHECK_FALSE(dbconnd::k8s::DefaultIdentity(none).empty());  // the host name
}

namespace {

// A lease held by "ghost" whose renewTime is decades old: only the local
// observation decides expiry.
void PutGhostLease(FakeKubeApi& api, const std::string& renew_time) {
  json::object o{{"apiVersion", "coordination.k8s.io/v1"},
                 {"kind", "Lease"},
                 {"metadata", json::object{{"name", "dbconnd"},
                                           {"namespace", "default"},
                                           {"resourceVersion", std::to_string(++api.resource_version)}}},
                 {"spec", json::object{{"holderIdentity", "ghost"},
                                       {"leaseDurationSeconds", 15},
                                       {"acquireTime", "2001-01-01T00:00:00.000000Z"},
                                       {"renewTime", renew_time},
                                       {"leaseTransitions", 4}}}};
  api.leases["default/dbconnd"] = o;
}

}  // namespace

TEST_CASE("expiry is judged on the local clock from when the record last changed",
          "[k8s][elector]") {
  asio::io_context io;
  FakeKubeApi api;
  api.Start(io.get_executor());
  PutGhostLease(api, "2001-01-01T00:00:00.000000Z");

  SteadyTime now = SteadyTime{} + std::chrono::hours(100);
  LeaderElectionConfig config = TestConfig("pod-b", seconds(15), seconds(10), seconds(2));
  config.steady_now = [&now] { return now; };
  std::vector<std::string> leaders;
  config.callbacks.on_new_leader = [&leaders](const std::string& l) { leaders.push_back(l); };
  auto e = LeaderElector::Create(MakeLeaseClient(io, api.url(), "token-b"), config);
  REQUIRE(e.ok());
  LeaderElector& b = **e;

  // A renewTime in 2001 does not make the lease free: b has only just seen it.
  CHECK_FALSE(Await(io, b.TryAcquireOrRenew()));
  CHECK(leaders == std::vector<std::string>{"ghost"});
  now += seconds(14);
  CHECK_FALSE(Await(io, b.TryAcquireOrRenew()));

  // The ghost renews: the 15 s start again from now.
  PutGhostLease(api, "2001-01-01T00:00:01.000000Z");
  CHECK_FALSE(Await(io, b.TryAcquireOrRenew()));
  now += seconds(14);
  CHECK_FALSE(Await(io, b.TryAcquireOrRenew()));
  CHECK(api.Holder() == "ghost");
  CHECK_FALSE(b.is_leader());

  now += seconds(1) + milliseconds(1);
  CHECK(Await(io, b.TryAcquireOrRenew()));
  CHECK(b.is_leader());
  CHECK(api.Holder() == "pod-b");
  CHECK(api.Transitions() == 5);
  CHECK(leaders == std::vector<std::string>{"ghost", "pod-b"});
  const auto* spec = api.Spec("default", "dbconnd");
  CHECK(spec->at("leaseDurationSeconds").as_int64() == 15);
  api.Stop();
}

TEST_CASE("CanWrite holds strictly less than RenewDeadline after the last renew was sent",
          "[k8s][elector]") {
  asio::io_context io;
  FakeKubeApi api;
  api.Start(io.get_executor());
  SteadyTime now = SteadyTime{} + std::chrono::hours(1);
  LeaderElectionConfig config = TestConfig("pod-a", seconds(15), seconds(10), seconds(2));
  config.steady_now = [&now] { return now; };
  auto e = LeaderElector::Create(MakeLeaseClient(io, api.url(), "token-a"), config);
  REQUIRE(e.ok());
  LeaderElector& a = **e;
  CHECK_FALSE(a.CanWrite(now));

  const SteadyTime t0 = now;
  REQUIRE(Await(io, a.TryAcquireOrRenew()));  // 404 -> create
  CHECK(api.writes.size() == 1);
  CHECK(api.writes[0].method == "POST");
  CHECK(a.write_deadline() == t0 + seconds(10));
  CHECK(a.CanWrite(t0 + seconds(10) - std::chrono::nanoseconds(1)));
  CHECK_FALSE(a.CanWrite(t0 + seconds(10)));
  CHECK(a.write_deadline() < t0 + config.lease_duration);

  now += seconds(2);
  REQUIRE(Await(io, a.TryAcquireOrRenew()));  // fast-path renew
  CHECK(api.writes.size() == 2);
  CHECK(api.writes[1].method == "PUT");
  CHECK(api.Transitions() == 0);  // renewals are not transitions
  CHECK(a.CanWrite(t0 + seconds(11)));
  CHECK_FALSE(a.CanWrite(t0 + seconds(12)));
  api.Stop();
}

TEST_CASE("two electors: exactly one leader", "[k8s][elector]") {
  asio::io_context io;
  FakeKubeApi api;
  api.Start(io.get_executor());
  auto a = MakeReplica(io, api.url(), "pod-a", "token-a", TestConfig("pod-a"));
  auto b = MakeReplica(io, api.url(), "pod-b", "token-b", TestConfig("pod-b"));
  a->Start(io);
  b->Start(io);
  REQUIRE(RunUntil(io, [&] { return a->started + b->started > 0; }, milliseconds(5'000)));
  // Let several renew periods pass: still one leader, never two at once.
  RunFor(io, milliseconds(400));
  CHECK(a->elector->is_leader() != b->elector->is_leader());
  CHECK(a->started + b->started == 1);
  CHECK(a->stopped + b->stopped == 0);
  Replica& leader = a->elector->is_leader() ? *a : *b;
  Replica& standby = a->elector->is_leader() ? *b : *a;
  CHECK(api.Holder() == leader.id);
  CHECK(api.Transitions() == 0);
  CHECK_FALSE(standby.elector->CanWrite());
  CHECK(leader.elector->CanWrite());
  REQUIRE_FALSE(standby.leaders.empty());
  CHECK(standby.leaders.back() == leader.id);
  CHECK(standby.elector->leader_identity() == leader.id);
  // Every write to the lease came from the leader (renewals), after the
  // standby's failed create, if any.
  for (const auto& w : api.writes) CHECK(w.holder == leader.id);
  CHECK(api.writes.size() >= 3);

  a->elector->Stop();
  b->elector->Stop();
  REQUIRE(RunUntil(io, [&] { return a->run_done && b->run_done; }, milliseconds(5'000)));
  api.Stop();
}

TEST_CASE("a killed leader is replaced after the lease expires", "[k8s][elector]") {
  asio::io_context io;
  FakeKubeApi api;
  api.Start(io.get_executor());
  auto a = MakeReplica(io, api.url(), "pod-a", "token-a", TestConfig("pod-a"));
  a->Start(io);
  REQUIRE(RunUntil(io, [&] { return a->started == 1; }, milliseconds(5'000)));
  auto b = MakeReplica(io, api.url(), "pod-b", "token-b", TestConfig("pod-b"));
  b->Start(io);
  RunFor(io, milliseconds(150));
  REQUIRE(b->started == 0);

  // Killed: no release, the lease is left to expire.
  a->elector->Stop(/*release=*/false);
  REQUIRE(RunUntil(io, [&] { return a->run_done; }, milliseconds(5'000)));
  const SteadyClock::time_point killed = SteadyClock::now();
  const auto a_last_write = api.writes.back();
  REQUIRE(a_last_write.holder == "pod-a");

  REQUIRE(RunUntil(io, [&] { return b->started == 1; }, milliseconds(5'000)));
  CHECK(api.Holder() == "pod-b");
  CHECK(api.Transitions() == 1);
  // Never before a full LeaseDuration after a's last renewal reached the
  // server (b measures from when it saw it, which is later).
  CHECK(b->started_at - a_last_write.at >= milliseconds(300));
  // And well within a few lease durations of the kill (generous bound).
  CHECK(b->started_at - killed < milliseconds(3'000));
  CHECK(b->leaders.back() == "pod-b");

  b->elector->Stop();
  REQUIRE(RunUntil(io, [&] { return b->run_done; }, milliseconds(5'000)));
  api.Stop();
}

TEST_CASE("a clean shutdown releases the lease for a fast takeover", "[k8s][elector]") {
  asio::io_context io;
  FakeKubeApi api;
  api.Start(io.get_executor());
  // Long lease, short retry: a takeover well before expiry can only come
  // from the release.
  auto a = MakeReplica(io, api.url(), "pod-a", "token-a",
                       TestConfig("pod-a", milliseconds(2'000), milliseconds(1'000), milliseconds(50)));
  a->Start(io);
  REQUIRE(RunUntil(io, [&] { return a->started == 1; }, milliseconds(5'000)));
  auto b = MakeReplica(io, api.url(), "pod-b", "token-b",
                       TestConfig("pod-b", milliseconds(2'000), milliseconds(1'000), milliseconds(50)));
  b->Start(io);
  RunFor(io, milliseconds(100));

  a->elector->Stop(/*release=*/true);
  REQUIRE(RunUntil(io, [&] { return a->run_done; }, milliseconds(5'000)));
  const SteadyClock::time_point released = SteadyClock::now();
  CHECK(a->stopped == 1);
  CHECK_FALSE(a->elector->CanWrite());
  // The release as client-go writes it: no holder, 1 s, transitions kept.
  bool saw_release = false;
  for (const auto& w : api.writes) saw_release |= (w.token == "token-a" && w.holder.empty());
  CHECK(saw_release);

  REQUIRE(RunUntil(io, [&] { return b->started == 1; }, milliseconds(5'000)));
  CHECK(b->started_at - released < milliseconds(2'000));
  CHECK(api.Holder() == "pod-b");
  CHECK(api.Transitions() == 1);
  // a stopped leading before it released, hence before b could start.
  CHECK(a->stopped_at <= b->started_at);

  b->elector->Stop();
  REQUIRE(RunUntil(io, [&] { return b->run_done; }, milliseconds(5'000)));
  api.Stop();
}

TEST_CASE("a partitioned leader stops writing before anyone else can lead", "[k8s][elector]") {
  const auto hang = GENERATE(milliseconds(0), milliseconds(1'000));
  CAPTURE(hang.count());
  asio::io_context io;
  FakeKubeApi api;
  api.hang = hang;
  api.Start(io.get_executor());
  auto a = MakeReplica(io, api.url(), "pod-a", "token-a", TestConfig("pod-a"));
  a->Start(io);
  REQUIRE(RunUntil(io, [&] { return a->started == 1; }, milliseconds(5'000)));
  auto b = MakeReplica(io, api.url(), "pod-b", "token-b", TestConfig("pod-b"));
  bool a_could_write_when_b_started = true;
  SteadyTime a_deadline_when_b_started{};
  LeaderElector* a_elector = a->elector.get();
  b->on_started = [&, a_elector] {
    a_could_write_when_b_started = a_elector->CanWrite(std::chrono::steady_clock::now());
    a_deadline_when_b_started = a_elector->write_deadline();
  };
  b->Start(io);
  RunFor(io, milliseconds(100));
  REQUIRE(b->started == 0);

  // On a loaded machine a's loop can stall past its renew deadline (200 ms)
  // before the partition: a then stops leading, as it must, and takes its
  // own still-held Lease back on the next round. That is a correct history,
  // so count from the moment a leads and is cut off.
  REQUIRE(RunUntil(io, [&] { return a->elector->is_leader(); }, milliseconds(5'000)));
  const int a_started_before = a->started;
  const int a_stopped_before = a->stopped;
  REQUIRE(a_started_before == a_stopped_before + 1);

  // Cut a off from the API server: its renewals fail (or hang).
  api.partitioned.insert("token-a");
  const SteadyTime a_fence = a->elector->write_deadline();
  REQUIRE(RunUntil(io, [&] { return b->started == 1; }, milliseconds(5'000)));

  CHECK_FALSE(a_could_write_when_b_started);
  CHECK(a_deadline_when_b_started == SteadyTime::min());  // a no longer leads
  CHECK(a->started == a_started_before);  // never led again while cut off
  CHECK(a->stopped == a_stopped_before + 1);
  CHECK(a->stopped_at < b->started_at);
  // a's write deadline (from its last successful renew) passed before b led,
  // and b waited a full LeaseDuration after a's last write reached the server.
  CHECK(a_fence < b->started_at);
  SteadyClock::time_point a_last_write{};
  for (const auto& w : api.writes) {
    if (w.token == "token-a") a_last_write = w.at;
  }
  CHECK(b->started_at - a_last_write >= milliseconds(300));
  CHECK_FALSE(a->elector->is_leader());
  CHECK(a->elector->last_error().code() != StatusCode::kOk);
  CHECK(api.Holder() == "pod-b");
  CHECK(api.Transitions() == 1);

  // Healed: a sees b as leader and stays a standby.
  api.partitioned.clear();
  RunFor(io, milliseconds(300));
  CHECK_FALSE(a->elector->is_leader());
  CHECK(b->elector->is_leader());
  CHECK(a->elector->leader_identity() == "pod-b");

  a->elector->Stop();
  b->elector->Stop();
  REQUIRE(RunUntil(io, [&] { return a->run_done && b->run_done; }, milliseconds(5'000)));
  api.Stop();
}

TEST_CASE("a conflicting write by someone else does not cost the leadership", "[k8s][elector]") {
  asio::io_context io;
  FakeKubeApi api;
  api.Start(io.get_executor());
  auto a = MakeReplica(io, api.url(), "pod-a", "token-a", TestConfig("pod-a"));
  a->Start(io);
  REQUIRE(RunUntil(io, [&] { return a->started == 1; }, milliseconds(5'000)));
  const size_t conflicts_before = std::count_if(api.calls.begin(), api.calls.end(),
                                                [](const auto& c) { return c.status == 409; });
  api.TouchAnnotation("default", "dbconnd");
  const size_t writes_before = api.writes.size();
  REQUIRE(RunUntil(io, [&] { return api.writes.size() >= writes_before + 3; }, milliseconds(5'000)));
  const size_t conflicts = std::count_if(api.calls.begin(), api.calls.end(),
                                         [](const auto& c) { return c.status == 409; });
  CHECK(conflicts == conflicts_before + 1);  // the fast-path renew
  CHECK(a->elector->is_leader());
  CHECK(a->stopped == 0);
  CHECK(api.Holder() == "pod-a");
  CHECK(api.Transitions() == 0);
  // The annotation survived the renewals (the whole object is updated).
  CHECK(api.leases.at("default/dbconnd").at("metadata").as_object().contains("annotations"));

  a->elector->Stop();
  REQUIRE(RunUntil(io, [&] { return a->run_done; }, milliseconds(5'000)));
  api.Stop();
}

TEST_CASE("cancelling Run releases the lease", "[k8s][elector]") {
  asio::io_context io;
  FakeKubeApi api;
  api.Start(io.get_executor());
  auto a = MakeReplica(io, api.url(), "pod-a", "token-a", TestConfig("pod-a"));
  a->Start(io);
  REQUIRE(RunUntil(io, [&] { return a->started == 1; }, milliseconds(5'000)));
  a->cancel.emit(asio::cancellation_type::terminal);
  REQUIRE(RunUntil(io, [&] { return a->run_done; }, milliseconds(5'000)));
  CHECK(a->stopped == 1);
  CHECK(api.Holder().empty());
  CHECK(api.Spec("default", "dbconnd")->at("leaseDurationSeconds").as_int64() == 1);
  CHECK(a->leaders.back().empty());
  api.Stop();
}
