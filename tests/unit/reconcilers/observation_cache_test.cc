#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <memory>

#include "fakes.h"
#include "fixtures.h"
#include "reconcilers/executor.h"
#include "reconcilers/observation_cache.h"

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures
namespace asio = boost::asio;

// Holds every list call until Release(), so many lookups are in flight at
// once without sleeping on the real clock; everything else goes straight to
// the fake.
class Gate {
 public:
  explicit Gate(asio::io_context& io) : timer_(std::make_shared<asio::steady_timer>(io)) {
    timer_->expires_at(asio::steady_timer::time_point::max());
  }
  gcp::Task<void> Pass() {
    if (open_) co_return;
    std::shared_ptr<asio::steady_timer> t = timer_;
    co_await t->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  void Release() {
    open_ = true;
    timer_->cancel();
  }

 private:
  std::shared_ptr<asio::steady_timer> timer_;
  bool open_ = false;
};

class GatedSql : public gcp::SqlAdmin {
 public:
  GatedSql(gcp::SqlAdmin* inner, Gate* gate) : inner_(inner), gate_(gate) {}
  gcp::Task<StatusOr<gcp::SqlInstance>> GetInstance(std::string p, std::string i) override {
    co_return co_await inner_->GetInstance(p, i);
  }
  gcp::Task<StatusOr<std::vector<gcp::SqlInstance>>> ListInstances(std::string p) override {
    ++lists_entered;
    co_await gate_->Pass();
    co_return co_await inner_->ListInstances(p);
  }
  int lists_entered = 0;
  gcp::Task<StatusOr<gcp::Operation>> PatchInstance(std::string p, std::string i,
                                                    gcp::SqlInstancePatch patch) override {
    co_return co_await inner_->PatchInstance(p, i, patch);
  }
  gcp::Task<StatusOr<gcp::Operation>> GetOperation(std::string p, std::string o) override {
    co_return co_await inner_->GetOperation(p, o);
  }
  gcp::Task<StatusOr<std::vector<gcp::Operation>>> ListOperations(std::string p,
                                                                  std::string i) override {
    co_return co_await inner_->ListOperations(p, i);
  }

 private:
  gcp::SqlAdmin* inner_;
  Gate* gate_;
};

gcp::Task<void> ObserveInto(std::shared_ptr<ObservationCache> cache, config::Intent intent,
                            std::shared_ptr<StatusOr<LiveState>> out) {
  *out = co_await cache->Observe(intent);
}

gcp::Task<void> FreshInto(std::shared_ptr<ObservationCache> cache, config::Intent intent,
                          std::shared_ptr<StatusOr<LiveState>> out) {
  *out = co_await cache->ObserveFresh(intent);
}

StatusOr<LiveState> ObserveNow(asio::io_context& io, std::shared_ptr<ObservationCache> cache,
                               const config::Intent& intent, bool fresh = false) {
  auto out = std::make_shared<StatusOr<LiveState>>(InternalError("not run"));
  if (fresh) {
    asio::co_spawn(io, FreshInto(cache, intent, out), asio::detached);
  } else {
    asio::co_spawn(io, ObserveInto(cache, intent, out), asio::detached);
  }
  io.restart();
  io.run();
  return *out;
}

// Runs the loop until pred() holds (bounded: a test failure, not a hang).
template <typename Pred>
bool RunUntil(asio::io_context& io, Pred pred) {
  for (int i = 0; i < 2000 && !pred(); ++i) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return pred();
}

int Count(const std::vector<std::string>& calls, const std::string& prefix) {
  int n = 0;
  for (const auto& c : calls) n += c.rfind(prefix, 0) == 0;
  return n;
}

// An intent of the seed's project/region with only the instance declared.
config::Intent InstanceOnly(const std::string& name) {
  config::Intent in;
  in.name = name;
  in.project = kProject;
  in.region = kRegion;
  in.instance.name = kInstance;
  in.instance.ssl_mode = config::SslMode::kEncryptedOnly;
  return in;
}

struct ManualClock {
  gcp::SteadyTime now{std::chrono::hours(1)};
  gcp::Clock fn() {
    return [this] { return now; };
  }
};

TEST_CASE("cache: N concurrent lookups of one project/region make one list call per kind",
          "[observation_cache]") {
  asio::io_context io;
  FakeCloud cloud(SeedLive());
  Gate gate(io);
  GatedSql sql(cloud.clients().sql, &gate);
  gcp::Clients clients = cloud.clients();
  clients.sql = &sql;
  auto cache = ObservationCache::Create(clients);

  constexpr int kN = 25;
  std::vector<std::shared_ptr<StatusOr<LiveState>>> results;
  for (int i = 0; i < kN; ++i) {
    results.push_back(std::make_shared<StatusOr<LiveState>>(InternalError("not run")));
    asio::co_spawn(io, ObserveInto(cache, InstanceOnly("i" + std::to_string(i)), results.back()),
                   asio::detached);
  }
  // All of them end up waiting on the one list.
  REQUIRE(RunUntil(io, [&] { return cache->stats().waits == kN - 1; }));
  CHECK(Count(cloud.calls, "sql.ListInstances") == 0);
  CHECK(cache->stats().lists == 1);
  CHECK(cache->stats().waits == kN - 1);
  gate.Release();
  io.restart();
  io.run();
  CHECK(Count(cloud.calls, "sql.ListInstances") == 1);
  CHECK(Count(cloud.calls, "sql.GetInstance") == 0);
  // No workload declared and the public IP left as it is: the region's
  // workloads cannot matter to the plan and are not read.
  CHECK(Count(cloud.calls, "run.ListJobs") == 0);
  CHECK(Count(cloud.calls, "run.ListServices") == 0);
  for (const auto& r : results) {
    REQUIRE(r->ok());
    REQUIRE((*r)->instance);
    CHECK((*r)->instance->name == kInstance);
  }
}

TEST_CASE("cache: lists of different projects are bounded by max_concurrent_lists",
          "[observation_cache]") {
  asio::io_context io;
  FakeCloud cloud(SeedLive());
  Gate gate(io);
  GatedSql sql(cloud.clients().sql, &gate);
  gcp::Clients clients = cloud.clients();
  clients.sql = &sql;
  ObservationCacheOptions o;
  o.max_concurrent_lists = 1;
  auto cache = ObservationCache::Create(clients, o);
  std::vector<std::shared_ptr<StatusOr<LiveState>>> results;
  for (int p = 0; p < 3; ++p) {
    config::Intent in = InstanceOnly("i" + std::to_string(p));
    in.project = "project-" + std::to_string(p);
    results.push_back(std::make_shared<StatusOr<LiveState>>(InternalError("not run")));
    asio::co_spawn(io, ObserveInto(cache, in, results.back()), asio::detached);
  }
  REQUIRE(RunUntil(io, [&] { return cache->stats().lists == 3; }));
  CHECK(sql.lists_entered == 1);  // the other two wait for the slot
  gate.Release();
  REQUIRE(RunUntil(io, [&] {
    return std::all_of(results.begin(), results.end(), [](const auto& r) { return r->ok(); });
  }));
  CHECK(sql.lists_entered == 3);
}

TEST_CASE("cache: a failed list reaches every waiter and is not kept", "[observation_cache]") {
  asio::io_context io;
  FakeCloud cloud(SeedLive());
  Gate gate(io);
  GatedSql sql(cloud.clients().sql, &gate);
  gcp::Clients clients = cloud.clients();
  clients.sql = &sql;
  auto cache = ObservationCache::Create(clients);
  cloud.fail_next["sql.ListInstances"].push_back(UnavailableError("backend down"));
  auto a = std::make_shared<StatusOr<LiveState>>(InternalError("not run"));
  auto b = std::make_shared<StatusOr<LiveState>>(InternalError("not run"));
  asio::co_spawn(io, ObserveInto(cache, InstanceOnly("a"), a), asio::detached);
  asio::co_spawn(io, ObserveInto(cache, InstanceOnly("b"), b), asio::detached);
  REQUIRE(RunUntil(io, [&] { return cache->stats().waits == 1; }));
  gate.Release();
  io.restart();
  io.run();
  CHECK(a->status().message().find("backend down") != std::string::npos);
  CHECK(b->status().message().find("backend down") != std::string::npos);
  CHECK(Count(cloud.calls, "sql.ListInstances") == 1);
  // The next lookup lists again and succeeds.
  auto again = ObserveNow(io, cache, InstanceOnly("c"));
  REQUIRE(again.ok());
  CHECK(again->instance.has_value());
  CHECK(Count(cloud.calls, "sql.ListInstances") == 2);
}

TEST_CASE("cache: a waiter gives up after wait_timeout", "[observation_cache]") {
  asio::io_context io;
  FakeCloud cloud(SeedLive());
  Gate gate(io);  // never released
  GatedSql sql(cloud.clients().sql, &gate);
  gcp::Clients clients = cloud.clients();
  clients.sql = &sql;
  ObservationCacheOptions o;
  o.wait_timeout = std::chrono::milliseconds(10);
  auto cache = ObservationCache::Create(clients, o);
  auto a = std::make_shared<StatusOr<LiveState>>(InternalError("not run"));
  auto b = std::make_shared<StatusOr<LiveState>>(InternalError("not run"));
  asio::co_spawn(io, ObserveInto(cache, InstanceOnly("a"), a), asio::detached);
  asio::co_spawn(io, ObserveInto(cache, InstanceOnly("b"), b), asio::detached);
  REQUIRE(RunUntil(io, [&] { return b->status().code() == StatusCode::kDeadlineExceeded; }));
  gate.Release();  // let the lister finish so the loop drains
  io.restart();
  io.run();
  CHECK(a->ok());
}

TEST_CASE("cache: snapshots are reused within max_age, listed again after it or a new epoch",
          "[observation_cache]") {
  asio::io_context io;
  FakeCloud cloud(SeedLive());
  ManualClock clock;
  ObservationCacheOptions o;
  o.max_age = std::chrono::seconds(5);
  o.clock = clock.fn();
  auto cache = ObservationCache::Create(cloud.clients(), o);
  REQUIRE(ObserveNow(io, cache, InstanceOnly("a")).ok());
  REQUIRE(ObserveNow(io, cache, InstanceOnly("b")).ok());
  CHECK(Count(cloud.calls, "sql.ListInstances") == 1);
  // Out-of-band drift inside the window is seen once the window has passed.
  cloud.world().instance->settings_version = "99";
  clock.now += std::chrono::seconds(4);
  auto stale = ObserveNow(io, cache, InstanceOnly("a"));
  REQUIRE(stale.ok());
  CHECK(stale->instance->settings_version == "7");
  CHECK(Count(cloud.calls, "sql.ListInstances") == 1);
  clock.now += std::chrono::seconds(2);
  auto young = ObserveNow(io, cache, InstanceOnly("a"));
  REQUIRE(young.ok());
  CHECK(young->instance->settings_version == "99");
  CHECK(Count(cloud.calls, "sql.ListInstances") == 2);
  cache->InvalidateAll();
  CHECK(cache->snapshot_count() == 0);
  REQUIRE(ObserveNow(io, cache, InstanceOnly("a")).ok());
  CHECK(Count(cloud.calls, "sql.ListInstances") == 3);
}

// Secret Manager and Resource Manager answers for the prerequisite checks:
// the version is missing, the secret's policy may not be read, the project's
// grants the job's account; each call counted.
class PrerequisiteAnswers final : public gcp::SecretManager, public gcp::ResourceManager {
 public:
  gcp::Task<StatusOr<gcp::SecretVersionInfo>> GetSecretVersion(std::string name) override {
    ++calls;
    co_return NotFoundError("Secret Version [" + name + "] not found.");
  }
  gcp::Task<StatusOr<gcp::IamPolicy>> GetSecretIamPolicy(std::string) override {
    ++calls;
    co_return PermissionDeniedError("Permission 'secretmanager.secrets.getIamPolicy' denied")
        .WithReason("IAM_PERMISSION_DENIED");
  }
  gcp::Task<StatusOr<gcp::IamPolicy>> GetProjectIamPolicy(std::string) override {
    ++calls;
    co_return gcp::IamPolicy{{gcp::IamBinding{"roles/cloudsql.client", {"serviceAccount:a@b"}, false}}};
  }
  int calls = 0;
};

TEST_CASE("cache: prerequisite answers, errors included, are served again as they came",
          "[observation_cache]") {
  asio::io_context io;
  FakeCloud cloud(SeedLive());
  PrerequisiteAnswers answers;
  gcp::Clients clients = cloud.clients();
  clients.secrets = &answers;
  clients.resource_manager = &answers;
  ManualClock clock;
  ObservationCacheOptions o;
  o.clock = clock.fn();
  auto cache = ObservationCache::Create(clients, o);
  auto first = ObserveNow(io, cache, SeedIntent());
  REQUIRE(first.ok());
  REQUIRE(first->prerequisites);
  CHECK(answers.calls == 3);
  auto again = ObserveNow(io, cache, SeedIntent());
  REQUIRE(again.ok());
  REQUIRE(again->prerequisites);
  CHECK(answers.calls == 3);  // nothing read again within prerequisites_max_age
  CHECK(cache->stats().prerequisite_hits == 3);
  const PrerequisiteFacts& a = *first->prerequisites;
  const PrerequisiteFacts& b = *again->prerequisites;
  REQUIRE(b.versions.size() == 1);
  REQUIRE(b.secret_policies.size() == 1);
  CHECK(b.versions.begin()->second.status() == a.versions.begin()->second.status());
  CHECK(b.versions.begin()->second.status().code() == StatusCode::kNotFound);
  CHECK(b.secret_policies.begin()->second.status() == a.secret_policies.begin()->second.status());
  CHECK(b.secret_policies.begin()->second.status().reason() == "IAM_PERMISSION_DENIED");
  REQUIRE(b.project_policy);
  REQUIRE(b.project_policy->ok());
  REQUIRE((*b.project_policy)->bindings.size() == 1);
  CHECK((*b.project_policy)->bindings[0].role == "roles/cloudsql.client");
  // After prerequisites_max_age every answer is read again.
  clock.now += o.prerequisites_max_age;
  REQUIRE(ObserveNow(io, cache, SeedIntent()).ok());
  CHECK(answers.calls == 6);
}

// Every secret grants the same role to the same account, but "odd".
class SameGrants final : public gcp::SecretManager, public gcp::ResourceManager {
 public:
  gcp::Task<StatusOr<gcp::SecretVersionInfo>> GetSecretVersion(std::string name) override {
    co_return gcp::SecretVersionInfo{name, "ENABLED"};
  }
  gcp::Task<StatusOr<gcp::IamPolicy>> GetSecretIamPolicy(std::string secret) override {
    const bool odd = secret.ends_with("/odd");
    co_return gcp::IamPolicy{{gcp::IamBinding{"roles/secretmanager.secretAccessor",
                                              {odd ? "serviceAccount:other@p" : "serviceAccount:runner@p"},
                                              false}}};
  }
  gcp::Task<StatusOr<gcp::IamPolicy>> GetProjectIamPolicy(std::string) override {
    co_return gcp::IamPolicy{{gcp::IamBinding{"roles/cloudsql.client", {"serviceAccount:a@b"}, false}}};
  }
};

TEST_CASE("cache: secrets whose IAM policies have the same bindings share one kept copy",
          "[observation_cache]") {
  asio::io_context io;
  FakeCloud cloud(SeedLive());
  SameGrants grants;
  gcp::Clients clients = cloud.clients();
  clients.secrets = &grants;
  clients.resource_manager = &grants;
  auto cache = ObservationCache::Create(clients);
  std::map<std::string, gcp::IamPolicy> seen;
  for (std::string secret : {"s1", "s2", "s3", "odd"}) {
    config::Intent in = SeedIntent();
    const std::string name = "projects/melodic-now-463704-k1/secrets/" + secret;
    in.workloads.at(0).database.password_secret = name + "/versions/latest";
    auto live = ObserveNow(io, cache, in);
    REQUIRE(live.ok());
    REQUIRE(live->prerequisites);
    REQUIRE(live->prerequisites->secret_policies.count(name) == 1);
    REQUIRE(live->prerequisites->secret_policies.at(name).ok());
    seen[secret] = *live->prerequisites->secret_policies.at(name);
  }
  // Four secret policies and the project's, three distinct: s1, s2 and s3
  // share one copy.
  CHECK(cache->distinct_prerequisite_policies() == 3);
  // Served again from the kept copies, each as it was read.
  for (const auto& [secret, policy] : seen) {
    config::Intent in = SeedIntent();
    const std::string name = "projects/melodic-now-463704-k1/secrets/" + secret;
    in.workloads.at(0).database.password_secret = name + "/versions/latest";
    auto again = ObserveNow(io, cache, in);
    REQUIRE(again.ok());
    const gcp::IamPolicy& kept = *again->prerequisites->secret_policies.at(name);
    REQUIRE(kept.bindings.size() == 1);
    CHECK(kept.bindings[0].members == policy.bindings[0].members);
    CHECK(kept.bindings[0].members.at(0) ==
          (secret == "odd" ? "serviceAccount:other@p" : "serviceAccount:runner@p"));
  }
}

TEST_CASE("cache: after a write the resource is read with a GET, not from the snapshot",
          "[observation_cache]") {
  asio::io_context io;
  FakeCloud cloud(SeedLive());
  ManualClock clock;
  ObservationCacheOptions o;
  o.clock = clock.fn();
  auto cache = ObservationCache::Create(cloud.clients(), o);
  config::Intent in = SeedIntent();
  auto before = ObserveNow(io, cache, in);
  REQUIRE(before.ok());
  // The fake hands out copies: change the world behind the snapshot's back.
  gcp::SqlInstance changed = *cloud.world().instance;
  changed.ssl_mode = "ENCRYPTED_ONLY";
  changed.settings_version = "8";
  cloud.world().instance = changed;
  auto cached = ObserveNow(io, cache, in);
  REQUIRE(cached.ok());
  CHECK(cached->instance->settings_version == "7");  // the snapshot, as intended
  CHECK(Count(cloud.calls, "sql.GetInstance") == 0);

  cache->Invalidate(in, {ResourceKind::kInstance, kInstance});
  auto after = ObserveNow(io, cache, in);
  REQUIRE(after.ok());
  CHECK(after->instance->settings_version == "8");
  CHECK(Count(cloud.calls, "sql.GetInstance") == 1);
  CHECK(Count(cloud.calls, "sql.ListInstances") == 1);  // no re-list for one write
  // Remembered until a newer list: no second GET.
  auto again = ObserveNow(io, cache, in);
  CHECK(again->instance->settings_version == "8");
  CHECK(Count(cloud.calls, "sql.GetInstance") == 1);
  // A deleted resource reads as absent.
  cache->Invalidate(in, {ResourceKind::kInstance, kInstance});
  cloud.world().instance.reset();
  auto gone = ObserveNow(io, cache, in);
  REQUIRE(gone.ok());
  CHECK_FALSE(gone->instance.has_value());
}

TEST_CASE("cache: intents share one indexed region snapshot: their own maps hold declared ones",
          "[observation_cache]") {
  asio::io_context io;
  LiveState world = SeedLive();
  // A busy region: thousands of workloads nobody declared.
  for (int i = 0; i < 5000; ++i) {
    gcp::RunWorkload w = SeedJob();
    w.name = "other-" + std::to_string(i);
    world.jobs[w.name] = w;
  }
  world.peerings = std::make_shared<const PeeringList>(PeeringList{
      {"projects/123456789012/global/networks/default", {"google-managed-services-default"},
       "services/servicenetworking.googleapis.com", "servicenetworking-googleapis-com"}});
  FakeCloud cloud(world);
  auto cache = ObservationCache::Create(cloud.clients());
  auto a = ObserveNow(io, cache, SeedIntent());
  auto b = ObserveNow(io, cache, SeedIntent());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(a->all_jobs);
  CHECK(a->all_jobs.get() == b->all_jobs.get());  // one index, not a copy per intent
  REQUIRE(a->peerings);
  CHECK(a->peerings.get() == b->peerings.get());  // one peering list per network, too
  CHECK(a->Peerings().size() == 1);
  CHECK(a->all_jobs->size() == 5001);
  CHECK(a->jobs.size() == 1);
  CHECK(a->jobs.count(kJob) == 1);
  CHECK(a->all_jobs->count("other-4999") == 1);
  CHECK(a->all_jobs->at(kJob).raw == nullptr);  // snapshots keep no raw documents
  CHECK(Count(cloud.calls, "run.ListJobs") == 1);
  // The plan on the shared snapshot equals the plan on a full observation.
  LiveState full = world;
  Plan on_snapshot = ComputePlan(SeedIntent(), *a);
  Plan on_full = ComputePlan(SeedIntent(), full);
  REQUIRE(on_snapshot.steps.size() == on_full.steps.size());
  for (size_t i = 0; i < on_full.steps.size(); ++i) {
    CHECK(on_snapshot.steps[i].id == on_full.steps[i].id);
  }
}

TEST_CASE("cache: the public-IP check sees undeclared workloads through the shared snapshot",
          "[observation_cache]") {
  asio::io_context io;
  LiveState world = SeedLive();
  gcp::RunWorkload other = SeedJob();
  other.name = "reporting-job";  // undeclared, still on the public IP
  world.jobs[other.name] = other;
  FakeCloud cloud(world);
  auto cache = ObservationCache::Create(cloud.clients());
  auto live = ObserveNow(io, cache, SeedIntent());
  REQUIRE(live.ok());
  Plan plan = ComputePlan(SeedIntent(), *live);
  const Step* public_path = nullptr;
  for (const auto& s : plan.steps) {
    if (s.id == PublicPathStepId(kInstance)) public_path = &s;
  }
  REQUIRE(public_path);
  CHECK(public_path->blocked.find("reporting-job") != std::string::npos);
  // Fresh observation of an instance whose public IP may be switched off
  // lists the region again rather than trusting the snapshot.
  int lists = Count(cloud.calls, "run.ListJobs");
  REQUIRE(ObserveNow(io, cache, SeedIntent(), /*fresh=*/true).ok());
  CHECK(Count(cloud.calls, "run.ListJobs") == lists + 1);
  CHECK(Count(cloud.calls, "sql.GetInstance") == 1);
}

gcp::Task<Status> NoSleep(std::chrono::milliseconds) { co_return OkStatus(); }

gcp::Task<void> RunApply(gcp::Clients clients, config::Intent intent, ApplyOptions options,
                         std::shared_ptr<ApplyResult> out) {
  *out = co_await Apply(clients, std::move(intent), std::move(options));
}

ApplyResult ApplyWith(asio::io_context& io, FakeCloud& cloud,
                      std::shared_ptr<ObservationCache> cache, const config::Intent& intent,
                      bool start_fresh = false) {
  ApplyOptions o;
  o.start_fresh = start_fresh;
  o.sleeper = &NoSleep;
  o.wait.sleeper = &NoSleep;
  o.wait.initial_poll = std::chrono::milliseconds(1);
  o.observations = cache;
  auto out = std::make_shared<ApplyResult>();
  asio::co_spawn(io, RunApply(cloud.clients(), intent, o, out), asio::detached);
  io.restart();
  io.run();
  return *out;
}

TEST_CASE("apply with the cache: writes only on fresh reads, then no-change passes are list-only",
          "[observation_cache][executor]") {
  asio::io_context io;
  FakeCloud cloud(SeedLive());
  auto cache = ObservationCache::Create(cloud.clients());
  ApplyResult first = ApplyWith(io, cloud, cache, SeedIntent());
  REQUIRE(first.status.ok());
  CHECK(first.converged);
  CHECK(cloud.writes.size() == 6);  // the same six writes as without the cache
  // Every write was planned on GETs made after the snapshot said "drift".
  CHECK(Count(cloud.calls, "sql.GetInstance") >= 1);
  CHECK(Count(cloud.calls, "sql.ListInstances") == 1);

  cache->InvalidateAll();
  cloud.calls.clear();
  ApplyResult second = ApplyWith(io, cloud, cache, SeedIntent());
  REQUIRE(second.status.ok());
  CHECK(second.converged);
  CHECK(second.executed.empty());
  CHECK(cloud.writes.size() == 6);
  // Converged: only the shared lists (and the range GET), no per-resource GET.
  CHECK(Count(cloud.calls, "sql.GetInstance") == 0);
  CHECK(Count(cloud.calls, "run.GetJob") == 0);
  CHECK(Count(cloud.calls, "vpc.GetConnector") == 0);
  CHECK(Count(cloud.calls, "sql.ListInstances") == 1);

  // Drift after a write: the snapshot is stale, the pass notices, reads
  // fresh and corrects it once.
  cloud.world().instance->ssl_mode = "ALLOW_UNENCRYPTED_AND_ENCRYPTED";
  cache->InvalidateAll();
  ApplyResult third = ApplyWith(io, cloud, cache, SeedIntent());
  REQUIRE(third.status.ok());
  CHECK(third.executed.size() == 1);
  CHECK(cloud.writes.size() == 7);
  CHECK(cloud.world().instance->ssl_mode == "ENCRYPTED_ONLY");
}

TEST_CASE("apply with the cache: a stale snapshot that shows drift already fixed writes nothing",
          "[observation_cache][executor]") {
  asio::io_context io;
  FakeCloud cloud(SeedLive());
  auto cache = ObservationCache::Create(cloud.clients());
  REQUIRE(ApplyWith(io, cloud, cache, SeedIntent()).converged);
  size_t writes = cloud.writes.size();
  // Snapshot taken while drifted; someone fixes it before the next pass.
  cloud.world().instance->ssl_mode = "ALLOW_UNENCRYPTED_AND_ENCRYPTED";
  cache->InvalidateAll();
  REQUIRE(ObserveNow(io, cache, SeedIntent()).ok());
  cloud.world().instance->ssl_mode = "ENCRYPTED_ONLY";
  ApplyResult r = ApplyWith(io, cloud, cache, SeedIntent());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(r.executed.empty());
  CHECK(r.first_plan.steps.empty());  // the plan that counts is the fresh one
  CHECK(cloud.writes.size() == writes);
}

TEST_CASE("apply with the cache: start_fresh reads the intent's own resources, lists nothing",
          "[observation_cache][executor]") {
  asio::io_context io;
  FakeCloud cloud(SeedLive());
  auto cache = ObservationCache::Create(cloud.clients());
  REQUIRE(ApplyWith(io, cloud, cache, SeedIntent()).converged);
  cache->InvalidateAll();
  cloud.calls.clear();
  // An edited intent (the controller sets start_fresh): no bulk list, one
  // GET per declared resource; the public IP is already off, so the region's
  // undeclared workloads are not needed.
  ApplyResult r = ApplyWith(io, cloud, cache, SeedIntent(), /*start_fresh=*/true);
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(Count(cloud.calls, "sql.ListInstances") == 0);
  CHECK(Count(cloud.calls, "run.ListJobs") == 0);
  CHECK(Count(cloud.calls, "vpc.ListConnectors") == 0);
  CHECK(Count(cloud.calls, "sql.GetInstance") == 1);
  CHECK(Count(cloud.calls, "run.GetJob") == 1);
  // The declared connector and the name a replace would give it.
  CHECK(Count(cloud.calls, "vpc.GetConnector") == 2);
}

}  // namespace
}  // namespace dbconnd::reconcilers
