#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "reconcilers/diff.h"
#include "reconcilers/executor.h"
#include "reconcilers/rollback.h"
#include "reconcilers/instance_gate.h"
#include "fakes.h"
#include "fixtures.h"

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures
using namespace std::chrono_literals;

gcp::Task<Status> NoSleep(std::chrono::milliseconds) { co_return OkStatus(); }

ApplyOptions Fast() {
  ApplyOptions o;
  o.sleeper = &NoSleep;
  o.wait.sleeper = &NoSleep;
  o.wait.initial_poll = 1ms;
  o.idle_poll = 1ms;
  return o;
}

gcp::Task<void> RunApply(gcp::Clients clients, config::Intent intent, ApplyOptions options,
                         ApplyResult* out) {
  *out = co_await Apply(clients, std::move(intent), std::move(options));
}

ApplyResult ApplyOnce(FakeCloud& cloud, const config::Intent& intent, ApplyOptions options) {
  boost::asio::io_context io;
  ApplyResult result;
  boost::asio::co_spawn(io, RunApply(cloud.clients(), intent, std::move(options), &result),
                        boost::asio::detached);
  io.run();
  return result;
}

// Holds the instance for `hold`, logging when it got and released it.
gcp::Task<void> Holder(std::shared_ptr<InstanceOperationGate> gate, std::string instance,
                       std::string who, std::chrono::milliseconds hold,
                       std::vector<std::string>* log, Status* status) {
  auto h = co_await gate->Acquire("p", instance, std::chrono::steady_clock::now() + 2s);
  if (!h.ok()) {
    *status = h.status();
    log->push_back(who + " gave up");
    co_return;
  }
  log->push_back(who + " got " + instance);
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
  t.expires_after(hold);
  co_await t.async_wait(boost::asio::use_awaitable);
  log->push_back(who + " released " + instance);
}

TEST_CASE("gate: one holder per instance, first come first served", "[gate]") {
  boost::asio::io_context io;
  auto gate = InstanceOperationGate::Create();
  std::vector<std::string> log;
  Status a, b, c, d;
  boost::asio::co_spawn(io, Holder(gate, "db", "a", 20ms, &log, &a), boost::asio::detached);
  boost::asio::co_spawn(io, Holder(gate, "db", "b", 1ms, &log, &b), boost::asio::detached);
  boost::asio::co_spawn(io, Holder(gate, "db", "c", 1ms, &log, &c), boost::asio::detached);
  boost::asio::co_spawn(io, Holder(gate, "other", "d", 1ms, &log, &d), boost::asio::detached);
  io.run();
  const std::vector<std::string> expected = {"a got db",       "d got other", "d released other",
                                             "a released db",  "b got db",    "b released db",
                                             "c got db",       "c released db"};
  CHECK(log == expected);
  CHECK_FALSE(gate->IsHeld("p", "db"));
}

TEST_CASE("gate: a waiter gives up at its deadline with a clear error", "[gate]") {
  boost::asio::io_context io;
  auto gate = InstanceOperationGate::Create();
  std::optional<InstanceOperationGate::Hold> held;
  boost::asio::co_spawn(
      io,
      [](std::shared_ptr<InstanceOperationGate> g,
         std::optional<InstanceOperationGate::Hold>* out) -> gcp::Task<void> {
        auto h = co_await g->Acquire("p", "db", std::chrono::steady_clock::now() + 1s);
        out->emplace(std::move(*h));
      }(gate, &held),
      boost::asio::detached);
  io.run();
  io.restart();
  REQUIRE(held);
  Status late;
  boost::asio::co_spawn(
      io,
      [](std::shared_ptr<InstanceOperationGate> g, Status* out) -> gcp::Task<void> {
        auto h = co_await g->Acquire("p", "db", std::chrono::steady_clock::now() + 10ms);
        *out = h.status();
      }(gate, &late),
      boost::asio::detached);
  io.run();
  CHECK(late.code() == StatusCode::kDeadlineExceeded);
  CHECK_THAT(late.message(), Catch::Contains("p/db"));
  held.reset();
  CHECK_FALSE(gate->IsHeld("p", "db"));
}

struct RecordingObserver : MutationObserver {
  std::vector<std::string> events;
  void BeforeMutation(const Step& s, const std::string& prior) override {
    events.push_back("before " + s.id + " " + prior);
  }
  void OperationStarted(const Step& s, const gcp::Operation& op) override {
    events.push_back("started " + s.id + (op.name.empty() ? "" : " op"));
  }
  void Finished(const Step& s, const Status& st) override {
    events.push_back("finished " + s.id + " " + std::to_string(st.http_status()) +
                     (st.ok() ? " ok" : " " + st.reason()));
  }
};

TEST_CASE("acting: the journal hooks see every write in order, refused ones without an operation",
          "[executor][observer]") {
  FakeCloud cloud(SeedLive());
  cloud.fail_next["sql.PatchInstance"].push_back(
      FailedPreconditionError("Condition does not match.").WithHttpStatus(412).WithReason("staleData"));
  RecordingObserver obs;
  ApplyOptions o = Fast();
  o.observer = &obs;
  const ApplyResult r = ApplyOnce(cloud, SeedIntent(), o);
  REQUIRE(r.status.ok());
  REQUIRE(r.converged);
  // 6 accepted writes x 3 events + the refused PATCH (before + finished).
  CHECK(obs.events.size() == 6 * 3 + 2);
  auto first_instance = std::find_if(obs.events.begin(), obs.events.end(), [](const auto& e) {
    return e.starts_with("before instance/saleor-db-demo ");
  });
  REQUIRE(first_instance != obs.events.end());
  CHECK_THAT(*first_instance, Catch::Contains("\"settings.ipConfiguration.sslMode\":"));
  CHECK(*(first_instance + 1) == "finished instance/saleor-db-demo 412 staleData");
  CHECK(*(first_instance + 2) == *first_instance);  // re-planned: same prior values
  CHECK(*(first_instance + 3) == "started instance/saleor-db-demo op");
  for (const auto& e : obs.events) CHECK(e.find(kPassword) == std::string::npos);
}

// The journal's view of a prior-values document: string values without
// their quotes, anything else as JSON text (controller/journal.cc).
std::map<std::string, std::string> AsJournaled(const std::string& prior_json) {
  std::map<std::string, std::string> out;
  const boost::json::value doc = boost::json::parse(prior_json);
  for (const auto& [k, v] : doc.as_object()) {
    out[std::string(k)] = v.is_string() ? std::string(v.as_string()) : boost::json::serialize(v);
  }
  return out;
}

struct PriorRecorder : MutationObserver {
  std::vector<std::pair<std::string, std::string>> before;  // step id, prior json
  void BeforeMutation(const Step& s, const std::string& prior) override {
    before.emplace_back(s.id, prior);
  }
  void OperationStarted(const Step&, const gcp::Operation&) override {}
  void Finished(const Step&, const Status&) override {}
};

TEST_CASE("acting: instance prior values are exact, and their rollback plan restores them "
          "through Apply",
          "[executor][rollback]") {
  LiveState seed = SeedLive();
  seed.instance->authorized_networks = {{"203.0.113.0/24", "office", "2030-01-01T00:00:00Z"}};
  const gcp::SqlInstance before = *seed.instance;
  FakeCloud cloud(seed);
  PriorRecorder rec;
  ApplyOptions o = Fast();
  o.observer = &rec;
  REQUIRE(ApplyOnce(cloud, SeedIntent(), o).converged);
  REQUIRE_FALSE(cloud.world().instance->ipv4_enabled);
  REQUIRE(cloud.world().instance->authorized_networks.empty());

  RollbackTarget target{kProject, kInstance, {}};
  for (auto it = rec.before.rbegin(); it != rec.before.rend(); ++it) {  // oldest wins
    if (!it->first.starts_with("instance/")) continue;
    for (const auto& [path, value] : AsJournaled(it->second)) target.prior[path] = value;
  }
  // Typed, not display strings: a bool, and the whole network entry.
  CHECK(target.prior.at(std::string(kIpv4EnabledPath)) == "true");
  CHECK(target.prior.at(std::string(kSslModePath)) == "ALLOW_UNENCRYPTED_AND_ENCRYPTED");
  CHECK(target.prior.at(AuthorizedNetworkPath("203.0.113.0/24")) ==
        R"({"value":"203.0.113.0/24","name":"office","expirationTime":"2030-01-01T00:00:00Z"})");

  // The preview: the same pass, report only, writes nothing.
  cloud.writes.clear();
  ApplyOptions po = Fast();
  po.planner = [target](const config::Intent&, const LiveState& live) {
    return ComputeRollbackPlan(target, live, true);
  };
  po.observe = &ObserveInstance;
  const ApplyResult preview = ApplyOnce(cloud, RollbackIntent(target), po);
  REQUIRE(preview.status.ok());
  CHECK(preview.first_plan.steps.size() == 1);
  CHECK(cloud.writes.empty());

  ApplyOptions ro = Fast();
  ro.planner = [target](const config::Intent&, const LiveState& live) {
    return ComputeRollbackPlan(target, live, false);
  };
  ro.observe = &ObserveInstance;
  const ApplyResult r = ApplyOnce(cloud, RollbackIntent(target), ro);
  INFO(RenderText(r.first_plan));
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(r.executed == std::vector<std::string>{InstanceStepId(kInstance)});
  CHECK(cloud.writes.size() == 1);
  const gcp::SqlInstance& now = *cloud.world().instance;
  CHECK(now.ipv4_enabled);
  CHECK(now.ssl_mode == before.ssl_mode);
  CHECK(DiffInstance(before, now).size() == 2);  // only privateNetwork and its range stay
  CHECK(now.database_flags.size() == before.database_flags.size());
  REQUIRE(now.authorized_networks.size() == 1);
  CHECK(SameAclEntry(now.authorized_networks[0], before.authorized_networks[0]));
  bool kept = false;
  for (const auto& n : r.first_plan.notes) {
    kept |= n.problem.starts_with(std::string(kPrivateNetworkPath) + ": cannot be undone");
  }
  CHECK(kept);

  // Nothing left: the same rollback again plans no step and writes nothing.
  cloud.writes.clear();
  const ApplyResult again = ApplyOnce(cloud, RollbackIntent(target), ro);
  CHECK(again.first_plan.steps.empty());
  CHECK(cloud.writes.empty());
}

TEST_CASE("rollback plan: older journals' display strings are read too, unreadable ones kept",
          "[rollback]") {
  LiveState live;
  live.instance = SeedInstance();
  live.instance->ipv4_enabled = false;
  live.instance->ssl_mode = "ENCRYPTED_ONLY";
  live.instance->database_flags.push_back({"cloudsql.iam_authentication", "on"});
  RollbackTarget t{kProject, kInstance, {}};
  t.prior[std::string(kIpv4EnabledPath)] = "true";
  t.prior[std::string(kSslModePath)] = "\"ALLOW_UNENCRYPTED_AND_ENCRYPTED\"";
  t.prior[DatabaseFlagPath("cloudsql.iam_authentication")] = "";
  t.prior[AuthorizedNetworkPath("198.51.100.0/24")] = "198.51.100.0/24 (home) until 2031-01-01T00:00:00Z";
  t.prior[AuthorizedNetworkPath("192.0.2.0/24")] = "something else";
  t.prior["template.template.containers[0].env[DATABASE_URL]"] = "x";
  Plan plan = ComputeRollbackPlan(t, live, true);
  CHECK(plan.report_only);
  REQUIRE(plan.steps.size() == 1);
  CHECK(plan.steps[0].report_only);
  CHECK_FALSE(IsReady(plan, plan.steps[0]));
  const auto& patch = std::get<gcp::SqlInstancePatch>(plan.steps[0].payload);
  CHECK(patch.settings_version == live.instance->settings_version);
  CHECK(patch.ipv4_enabled == std::optional<bool>(true));
  CHECK(patch.ssl_mode == std::optional<std::string>("ALLOW_UNENCRYPTED_AND_ENCRYPTED"));
  REQUIRE(patch.authorized_networks);
  REQUIRE(patch.authorized_networks->size() == 1);
  CHECK((*patch.authorized_networks)[0].name == "home");
  CHECK((*patch.authorized_networks)[0].expiration_time == "2031-01-01T00:00:00Z");
  REQUIRE(patch.database_flags);
  CHECK(patch.database_flags->size() == SeedInstance().database_flags.size());
  CHECK(plan.notes.size() == 2);  // the unreadable network and the env var
}

TEST_CASE("acting: connectorEnforcement is journaled as its prior value and rollback restores it",
          "[executor][rollback][enforcement]") {
  config::Intent in = SeedIntent();
  in.instance.iam_authentication.reset();
  in.workloads[0].method = config::ConnectionMethod::kCloudSqlSocket;
  in.instance.connector_enforcement = config::ConnectorEnforcement::kRequired;
  LiveState seed = SeedLive();
  REQUIRE(seed.instance->connector_enforcement.empty());
  FakeCloud cloud(seed);
  PriorRecorder rec;
  ApplyOptions o = Fast();
  o.observer = &rec;
  REQUIRE(ApplyOnce(cloud, in, o).converged);
  REQUIRE(cloud.world().instance->connector_enforcement == "REQUIRED");

  RollbackTarget target{kProject, kInstance, {}};
  for (auto it = rec.before.rbegin(); it != rec.before.rend(); ++it) {  // oldest wins
    if (!it->first.starts_with("instance/")) continue;
    for (const auto& [path, value] : AsJournaled(it->second)) target.prior[path] = value;
  }
  // Unset before the write: journaled as null, not as a display string.
  REQUIRE(target.prior.count(std::string(kConnectorEnforcementPath)) == 1);
  CHECK(target.prior.at(std::string(kConnectorEnforcementPath)) == "null");

  ApplyOptions ro = Fast();
  ro.planner = [target](const config::Intent&, const LiveState& live) {
    return ComputeRollbackPlan(target, live, false);
  };
  ro.observe = &ObserveInstance;
  const ApplyResult r = ApplyOnce(cloud, RollbackIntent(target), ro);
  INFO(RenderText(r.first_plan));
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  // Unset behaved as NOT_REQUIRED: that is what comes back, and raw IP works again.
  CHECK(cloud.world().instance->connector_enforcement == "NOT_REQUIRED");
  for (const auto& n : r.first_plan.notes) {
    CHECK_FALSE(n.problem.starts_with(std::string(kConnectorEnforcementPath)));
  }
  cloud.writes.clear();
  CHECK(ApplyOnce(cloud, RollbackIntent(target), ro).first_plan.steps.empty());
  CHECK(cloud.writes.empty());

  // A journal that held REQUIRED restores REQUIRED; an unknown value is kept.
  LiveState live;
  live.instance = SeedInstance();
  RollbackTarget t{kProject, kInstance, {{std::string(kConnectorEnforcementPath), "REQUIRED"}}};
  Plan plan = ComputeRollbackPlan(t, live, false);
  REQUIRE(plan.steps.size() == 1);
  CHECK(std::get<gcp::SqlInstancePatch>(plan.steps[0].payload).connector_enforcement ==
        std::optional<std::string>("REQUIRED"));
  t.prior[std::string(kConnectorEnforcementPath)] = "SOMETIMES";
  plan = ComputeRollbackPlan(t, live, false);
  CHECK(plan.steps.empty());
  REQUIRE(plan.notes.size() == 1);
  CHECK_THAT(plan.notes[0].problem, Catch::Contains("unreadable"));
}

TEST_CASE("diff paths: every instance path DiffInstance writes is read back by ParseInstancePath",
          "[diff][rollback]") {
  gcp::SqlInstance a = SeedInstance();
  gcp::SqlInstance b = a;
  b.ipv4_enabled = false;
  b.ssl_mode = "ENCRYPTED_ONLY";
  b.private_network = "projects/p/global/networks/default";
  b.allocated_ip_range = "r";
  b.authorized_networks = {{"10.0.0.0/8", "", ""}};
  b.database_flags.push_back({"cloudsql.iam_authentication", "on"});
  b.connector_enforcement = "REQUIRED";
  auto changes = DiffInstance(b, a);
  CHECK(changes.size() == 7);
  for (const auto& c : changes) {
    INFO(c.path);
    CHECK(ParseInstancePath(c.path).has_value());
  }
  auto net = ParseInstancePath(AuthorizedNetworkPath("10.0.0.0/8"));
  REQUIRE(net);
  CHECK(net->field == InstancePath::Field::kAuthorizedNetwork);
  CHECK(net->key == "10.0.0.0/8");
  CHECK_FALSE(ParseInstancePath("settings.ipConfiguration.authorizedNetworks[]"));
  CHECK_FALSE(ParseInstancePath("settings.ipConfiguration.sslModeX"));
}

TEST_CASE("acting: an accepted change that does not show up is not sent again",
          "[executor][never-twice]") {
  FakeCloud cloud(SeedLive());
  cloud.revert_job_patches = true;
  ApplyOptions o = Fast();
  o.max_idle_polls = 3;
  const ApplyResult r = ApplyOnce(cloud, SeedIntent(), o);
  CHECK(r.status.code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(r.status.message(), Catch::Contains("not sending it again"));
  CHECK(std::count(cloud.writes.begin(), cloud.writes.end(),
                   std::string("run.PatchJob ") + kJob) == 1);
  CHECK(cloud.world().instance->ipv4_enabled);  // the public path stays until the job moved
}

TEST_CASE("acting: progress names the step and what it waits for", "[executor][progress]") {
  FakeCloud cloud(SeedLive());
  std::vector<std::string> seen;
  ApplyOptions o = Fast();
  o.progress = [&seen](const ApplyProgress& p) {
    if (p.kind == ApplyProgress::Kind::kStepStarted) seen.push_back("start " + p.step->id);
    if (p.kind == ApplyProgress::Kind::kStepFinished) {
      seen.push_back(std::string(p.status.ok() ? "done " : "failed ") + p.step->id);
    }
  };
  const ApplyResult r = ApplyOnce(cloud, SeedIntent(), o);
  REQUIRE(r.status.ok());
  REQUIRE(seen.size() == 12);
  CHECK(seen.front() == "start range/google-managed-services-default");
  CHECK(seen.back() == "done instance/saleor-db-demo/public-path");
  CHECK(r.first_plan.steps.size() == 6);
  CHECK(r.last_plan.steps.empty());
}

}  // namespace
}  // namespace dbconnd::reconcilers
