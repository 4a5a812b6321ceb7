#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "../reconcilers/fakes.h"
#include "controller/controller.h"
#include "controller/endpoints.h"
#include "controller/journal.h"
#include "controller/metrics.h"
#include "test_util.h"

namespace dbconnd::controller {
namespace {

using namespace std::chrono_literals;
using reconcilers::testing::FakeCloud;
using reconcilers::testing::SeedIntent;
using reconcilers::testing::SeedLive;

std::shared_ptr<const config::DesiredState> StateOf(std::vector<config::Intent> intents) {
  return config::DesiredState::Of(std::move(intents));
}

int CountPrefix(const std::vector<std::string>& v, const std::string& prefix) {
  int n = 0;
  for (const auto& s : v) n += s.rfind(prefix, 0) == 0;
  return n;
}

const IntentStatus& StatusOf(const Controller& c, const std::string& name) {
  static IntentStatus copy;
  for (const auto& s : c.Statuses()) {
    if (s.name == name) copy = s;
  }
  return copy;
}

// n copies of the seed intent, named intent-0 .. intent-(n-1).
std::vector<config::Intent> NumberedIntents(int n) {
  std::vector<config::Intent> intents;
  for (int i = 0; i < n; ++i) {
    config::Intent in = SeedIntent();
    in.name = "intent-" + std::to_string(i);
    intents.push_back(std::move(in));
  }
  return intents;
}

// Something else waiting on the loop, as /healthz would: counts the turns
// it gets until *finished.
void SpawnTurnCounter(boost::asio::io_context& io, const bool* finished, int* turns) {
  boost::asio::co_spawn(
      io,
      [](const bool* done, int* n) -> boost::asio::awaitable<void> {
        auto ex = co_await boost::asio::this_coro::executor;
        while (!*done) {
          ++*n;
          co_await boost::asio::post(ex, boost::asio::use_awaitable);
        }
      }(finished, turns),
      boost::asio::detached);
}

struct Harness {
  boost::asio::io_context io;
  FakeCloud cloud{SeedLive()};
  Metrics metrics;
  testutil::TempDir dir;
  std::unique_ptr<Journal> journal;
  std::shared_ptr<Controller> controller;

  explicit Harness(ControllerOptions options = {}, bool with_journal = true) {
    if (with_journal) journal = std::move(*Journal::Open(dir.path()));
    options.apply.max_idle_polls = 0;
    options.apply.wait.initial_poll = 1ms;
    options.settle_recheck = 10ms;
    controller = Controller::Create(io.get_executor(), cloud.clients(), options, &metrics,
                                    journal.get());
  }
  ~Harness() {
    boost::asio::co_spawn(io, controller->Shutdown(1s), boost::asio::detached);
    io.restart();
    io.run_for(50ms);
  }
  // One more pass of every intent; returns once each intent has reconciled again.
  bool Pass() {
    int64_t passes = Reconciles();
    controller->EnqueueAll();
    return testutil::RunUntil(io, [&] { return Reconciles() > passes; });
  }
  int64_t Reconciles() {
    // The reconciles counter over every kind and result, from the exposition.
    reconciles_ = testutil::SumSeries(metrics.Serialize(), "dbconnd_reconciles_total{kind=\"instance\"");
    return reconciles_;
  }
  int64_t reconciles_ = 0;
};

TEST_CASE("Controller converges the incident, then makes zero writes") {
  Harness h;
  h.controller->SetDesiredState(StateOf({SeedIntent()}), 1);
  h.controller->Start();
  REQUIRE(testutil::RunUntil(h.io, [&] { return StatusOf(*h.controller, "saleor").ready.status == "True"; }));
  const IntentStatus& s = StatusOf(*h.controller, "saleor");
  CHECK(s.ready.reason == "UpToDate");
  CHECK(s.synced.status == "True");
  CHECK(s.observed_generation == 1);
  CHECK(!h.cloud.writes.empty());
  CHECK(CountPrefix(h.cloud.writes, "sql.PatchInstance") >= 1);
  CHECK(h.controller->Ready());
  // Every write is journaled and finished.
  REQUIRE(!h.journal->entries().empty());
  CHECK(h.journal->entries().size() == h.cloud.writes.size());
  CHECK(h.journal->Unfinished().empty());
  for (const auto& e : h.journal->entries()) CHECK(e.outcome_code == "OK");

  size_t writes = h.cloud.writes.size();
  REQUIRE(h.Pass());
  REQUIRE(h.Pass());
  CHECK(h.cloud.writes.size() == writes);  // converged: zero writes
  std::string exposition = h.metrics.Serialize();
  INFO(exposition);
  CHECK(testutil::SumSeries(exposition, "dbconnd_reconciles_total{kind=\"instance\",result=\"in_sync\"}") == 2);
  // The state gauges count each resource once, however many passes ran.
  CHECK(testutil::SumSeries(exposition, "dbconnd_resources{kind=\"instance\",state=\"in_sync\"}") == 1);
  CHECK(testutil::SumSeries(exposition, "dbconnd_resources{kind=\"job\",state=\"in_sync\"}") == 1);
  CHECK(testutil::SumSeries(exposition, "dbconnd_resources{kind=\"instance\"") == 1);
}

const ResourceStatus* FindResource(const IntentStatus& s, const std::string& kind,
                                   const std::string& name) {
  for (const auto& r : s.resources) {
    if (r.kind == kind && r.name == name) return &r;
  }
  return nullptr;
}

TEST_CASE("Status lists declared resources from the start and follows an edit of them") {
  Harness h;
  config::Intent intent = SeedIntent();
  REQUIRE(intent.connector);
  const std::string old_connector = intent.connector->name;
  h.controller->SetDesiredState(StateOf({intent}), 1);
  {
    // Before any pass: every declared resource, Unknown.
    const IntentStatus& s = StatusOf(*h.controller, "saleor");
    const ResourceStatus* instance = FindResource(s, "instance", intent.instance.name);
    REQUIRE(instance != nullptr);
    CHECK(instance->ready.status == "Unknown");
    CHECK(FindResource(s, "connector", old_connector) != nullptr);
  }
  h.controller->Start();
  REQUIRE(testutil::RunUntil(h.io, [&] { return StatusOf(*h.controller, "saleor").ready.status == "True"; }));
  const ResourceStatus before = *FindResource(StatusOf(*h.controller, "saleor"), "instance",
                                              intent.instance.name);
  CHECK(before.ready.status == "True");

  // The edit renames the connector: the new name is listed (Unknown until
  // the next pass), the old one is gone, the instance keeps its condition.
  config::Intent edited = intent;
  edited.connector->name = old_connector + "-2";
  h.controller->SetDesiredState(StateOf({edited}), 2);
  const IntentStatus& s = StatusOf(*h.controller, "saleor");
  CHECK(FindResource(s, "connector", old_connector) == nullptr);
  const ResourceStatus* renamed = FindResource(s, "connector", old_connector + "-2");
  REQUIRE(renamed != nullptr);
  CHECK(renamed->ready.status == "Unknown");
  const ResourceStatus* instance = FindResource(s, "instance", intent.instance.name);
  REQUIRE(instance != nullptr);
  CHECK(instance->ready.status == before.ready.status);
  CHECK(instance->ready.last_transition == before.ready.last_transition);
}

TEST_CASE("flag --observe reports drift and writes nothing") {
  ControllerOptions o;
  o.observe = true;
  Harness h(o);
  h.controller->SetDesiredState(StateOf({SeedIntent()}), 1);
  h.controller->Start();
  REQUIRE(testutil::RunUntil(h.io, [&] { return !StatusOf(*h.controller, "saleor").last_reconcile.empty(); }));
  const IntentStatus& s = StatusOf(*h.controller, "saleor");
  CHECK(s.ready.status == "False");
  CHECK(s.synced.reason == "Observing");
  CHECK(h.cloud.writes.empty());
  CHECK(h.journal->entries().empty());
  CHECK(testutil::SumSeries(h.metrics.Serialize(), "dbconnd_drift_detected_total{") > 0);
}

TEST_CASE("policy.paused reports Paused and writes nothing") {
  Harness h;
  auto intent = SeedIntent();
  intent.policy.paused = true;
  h.controller->SetDesiredState(StateOf({intent}), 1);
  h.controller->Start();
  REQUIRE(testutil::RunUntil(h.io, [&] { return !StatusOf(*h.controller, "saleor").last_reconcile.empty(); }));
  CHECK(StatusOf(*h.controller, "saleor").synced.reason == "Paused");
  CHECK(h.cloud.writes.empty());
}

TEST_CASE("A standby (cannot write) only observes") {
  ControllerOptions o;
  o.can_write = [] { return false; };
  Harness h(o);
  h.controller->SetDesiredState(StateOf({SeedIntent()}), 1);
  h.controller->Start();
  REQUIRE(testutil::RunUntil(h.io, [&] { return !StatusOf(*h.controller, "saleor").last_reconcile.empty(); }));
  CHECK(h.cloud.writes.empty());
}

TEST_CASE("Out-of-band drift is corrected on the next pass: the fight breaker trips after 3") {
  Harness h;
  h.controller->SetDesiredState(StateOf({SeedIntent()}), 1);
  h.controller->Start();
  REQUIRE(testutil::RunUntil(h.io, [&] { return StatusOf(*h.controller, "saleor").ready.status == "True"; }));
  auto open_world = [&] {
    h.cloud.world().instance->authorized_networks.push_back({"0.0.0.0/0", "anyone", ""});
    h.cloud.world().instance->ipv4_enabled = true;
  };
  for (int round = 1; round <= 3; ++round) {
    size_t before = h.cloud.writes.size();
    open_world();
    REQUIRE(h.Pass());
    INFO("round " << round);
    CHECK(h.cloud.writes.size() > before);  // corrected
    CHECK(h.cloud.world().instance->authorized_networks.empty());
    CHECK(StatusOf(*h.controller, "saleor").synced.reason == "UpToDate");
  }
  open_world();
  REQUIRE(h.Pass());  // 4th correction: more than 3 in the window -> trips
  CHECK(StatusOf(*h.controller, "saleor").synced.reason == "DriftFight");
  CHECK(testutil::SumSeries(h.metrics.Serialize(), "dbconnd_drift_fights_total{") == 1);
  size_t writes = h.cloud.writes.size();
  open_world();
  REQUIRE(h.Pass());
  CHECK(h.cloud.writes.size() == writes);  // stopped writing
  const IntentStatus& s = StatusOf(*h.controller, "saleor");
  CHECK(s.synced.reason == "DriftFight");
  CHECK(s.ready.status == "False");
  CHECK(!s.last_plan_steps.empty());  // still reporting

  // A configuration change resets the breaker.
  auto changed = SeedIntent();
  changed.policy.verify = false;
  changed.connector->max_instances = 4;
  h.controller->SetDesiredState(StateOf({changed}), 2);
  REQUIRE(testutil::RunUntil(h.io, [&] { return StatusOf(*h.controller, "saleor").observed_generation == 2 &&
                                            StatusOf(*h.controller, "saleor").synced.reason != "DriftFight"; }));
}

TEST_CASE("A failed pass backs off and is reported as UpdateFailed") {
  Harness h;
  // A permanent error: transient ones (429, 5xx, resets) are ridden out
  // within the pass (see the next test).
  h.cloud.fail_next["sql.ListInstances"].push_back(
      PermissionDeniedError("backend down").WithHttpStatus(403));
  h.controller->SetDesiredState(StateOf({SeedIntent()}), 1);
  h.controller->Start();
  REQUIRE(testutil::RunUntil(h.io, [&] { return !StatusOf(*h.controller, "saleor").last_reconcile.empty(); }));
  const IntentStatus& s = StatusOf(*h.controller, "saleor");
  CHECK(s.synced.reason == "UpdateFailed");
  CHECK(s.last_error.find("backend down") != std::string::npos);
  CHECK(h.controller->queue().Failures("saleor") == 1);
  CHECK_FALSE(h.controller->Ready());
  CHECK(testutil::SumSeries(h.metrics.Serialize(), "dbconnd_workqueue_retries_total") == 1);
}

TEST_CASE("A 503 on a read is ridden out within the pass: re-read after a backoff, no failure") {
  Harness h;
  h.cloud.fail_next["sql.ListInstances"].push_back(UnavailableError("backend down").WithHttpStatus(503));
  h.controller->SetDesiredState(StateOf({SeedIntent()}), 1);
  h.controller->Start();
  REQUIRE(testutil::RunUntil(h.io, [&] { return !StatusOf(*h.controller, "saleor").last_reconcile.empty(); }));
  const IntentStatus& s = StatusOf(*h.controller, "saleor");
  CHECK(s.synced.reason != "UpdateFailed");
  CHECK(h.controller->queue().Failures("saleor") == 0);
}

TEST_CASE("An interrupted write is resumed by the Apply path: the running operation is waited for "
          "under the instance gate, and the entry is settled from what the pass saw") {
  testutil::TempDir dir;
  std::string interrupted;
  {
    auto j = std::move(*Journal::Open(dir.path()));
    auto id = j->Begin(1, "saleor", "instance/saleor-db-demo", "instance", "saleor-db-demo",
                       "update", "{}", {{"settings.sslMode", "ALLOW", "ENCRYPTED_ONLY"}});
    REQUIRE(id.ok());
    interrupted = *id;
    gcp::Operation op;
    op.api = gcp::Api::kSqlAdmin;
    op.project = reconcilers::testing::kProject;
    op.name = "op-interrupted";
    REQUIRE(j->RecordOperation(*id, op).ok());
  }
  boost::asio::io_context io;
  FakeCloud cloud{SeedLive()};
  // Google still runs the interrupted PATCH; it shows in operations.list.
  gcp::Operation running;
  running.api = gcp::Api::kSqlAdmin;
  running.project = reconcilers::testing::kProject;
  running.name = "op-interrupted";
  running.done = false;
  cloud.running_sql_ops = {running};
  auto journal = std::move(*Journal::Open(dir.path()));
  REQUIRE(journal->Unfinished().size() == 1);
  ControllerOptions o;
  o.apply.max_idle_polls = 0;
  o.apply.wait.initial_poll = 1ms;
  auto c = Controller::Create(io.get_executor(), cloud.clients(), o, nullptr, journal.get());
  c->SetDesiredState(StateOf({SeedIntent()}), 1);
  c->Start();
  REQUIRE(testutil::RunUntil(io, [&] { return !StatusOf(*c, "saleor").last_reconcile.empty(); }));
  auto at = [&](const std::string& call) {
    return std::find(cloud.calls.begin(), cloud.calls.end(), call) - cloud.calls.begin();
  };
  auto first_patch = at("sql.PatchInstance saleor-db-demo");
  // Nothing is asked about the journaled operation before the pass observes
  // and reaches the instance: then it waits for it under the instance gate,
  // and only then patches (once).
  auto first_insert = std::find_if(cloud.calls.begin(), cloud.calls.end(), [](const auto& call) {
                        return call.starts_with("compute.InsertGlobalAddress");
                      }) - cloud.calls.begin();
  CHECK(std::min(at("sql.ListInstances melodic-now-463704-k1"), at("sql.GetInstance saleor-db-demo")) <
        at("sql.GetOperation op-interrupted"));
  // Waited for when the instance step came up in the pass, after the steps
  // before it, not beside the pass.
  CHECK(first_insert < at("sql.GetOperation op-interrupted"));
  CHECK(at("sql.GetOperation op-interrupted") < first_patch);
  CHECK(first_patch < static_cast<long>(cloud.calls.size()));
  // The pass wrote the step again (the fake's operation changed nothing), so
  // the interrupted write did not take effect: settled as ABORTED, and
  // rollback never uses it.
  CHECK(journal->Unfinished().empty());
  for (const auto& e : journal->entries()) {
    if (e.id == interrupted) CHECK(e.outcome_code == "ABORTED");
  }
  boost::asio::co_spawn(io, c->Shutdown(1s), boost::asio::detached);
  io.restart();
  io.run_for(20ms);
}

TEST_CASE("Removed intents leave status and the queue: new generations enqueue changes only") {
  Harness h;
  auto a = SeedIntent();
  h.controller->SetDesiredState(StateOf({a}), 1);
  h.controller->Start();
  REQUIRE(testutil::RunUntil(h.io, [&] { return StatusOf(*h.controller, "saleor").ready.status == "True"; }));
  size_t calls = h.cloud.calls.size();
  h.controller->SetDesiredState(StateOf({a}), 2);  // same content
  h.io.run_for(50ms);
  CHECK(h.cloud.calls.size() == calls);  // nothing enqueued
  h.controller->SetDesiredState(StateOf({}), 3);
  CHECK(h.controller->Statuses().empty());
  CHECK(h.controller->queue().delayed() == 0);
}

TEST_CASE("Endpoints serve metrics, health, readiness and status") {
  Harness h;
  net::HttpRequest req;
  req.url = "/readyz";
  CHECK(ServeEndpoint(req, *h.controller, h.metrics).status == 503);  // nothing loaded
  h.controller->SetDesiredState(StateOf({SeedIntent()}), 1);
  h.controller->SetConfigErrors({"bad.yaml:3:1: error: spec: boom"});
  h.controller->Start();
  REQUIRE(testutil::RunUntil(h.io, [&] { return h.controller->Ready(); }));
  CHECK(ServeEndpoint(req, *h.controller, h.metrics).status == 200);
  req.url = "/healthz";
  CHECK(ServeEndpoint(req, *h.controller, h.metrics).status == 200);
  req.url = "/metrics";
  auto m = ServeEndpoint(req, *h.controller, h.metrics);
  CHECK(m.status == 200);
  REQUIRE(m.FindHeader("Content-Type"));
  CHECK(m.FindHeader("Content-Type")->find("version=0.0.4") != std::string::npos);
  CHECK(m.body.find("dbconnd_reconciles_total") != std::string::npos);
  req.url = "/status";
  auto s = ServeEndpoint(req, *h.controller, h.metrics);
  auto doc = boost::json::parse(s.body).as_object();
  CHECK(doc.at("generation").as_int64() == 1);
  CHECK(doc.at("conditions").as_array()[0].as_object().at("reason") == "ConfigInvalid");
  auto& intent = doc.at("intents").as_array()[0].as_object();
  CHECK(intent.at("name") == "saleor");
  CHECK(intent.at("conditions").as_array()[0].as_object().at("status") == "True");
  CHECK(intent.at("resources").as_array().size() == 5);  // range, peering, connector, instance, job
  CHECK(s.body.find(reconcilers::testing::kPassword) == std::string::npos);
  req.url = "/nope";
  CHECK(ServeEndpoint(req, *h.controller, h.metrics).status == 404);
}

}  // namespace
}  // namespace dbconnd::controller

namespace dbconnd::controller {
namespace {

TEST_CASE("A resync of many intents whose passes need no I/O yields to the loop between "
          "passes") {
  // In observe mode against the in-process fake every answer is ready at
  // once: a pass runs to its end inside the dispatcher's co_spawn. Another
  // coroutine on the loop (as /healthz would be) must get turns meanwhile,
  // and asio's posted release of each finished pass's frames with them.
  ControllerOptions o;
  o.observe = true;
  o.concurrency = 4;
  Harness h(o);
  constexpr int kIntents = 300;
  h.controller->SetDesiredState(StateOf(NumberedIntents(kIntents)), 1);
  auto all_reported = [&] {
    int n = 0;
    for (const auto& s : h.controller->Statuses()) n += !s.last_reconcile.empty();
    return n == kIntents;
  };
  bool done = false;
  int turns = 0;
  SpawnTurnCounter(h.io, &done, &turns);
  h.controller->Start();
  REQUIRE(testutil::RunUntil(h.io, [&] { return all_reported(); }, 30s));
  done = true;
  // One turn or more per pass; without the yield the whole wave ran in
  // a handful of the dispatcher's steps.
  CHECK(turns >= kIntents / 2);
  CHECK(h.cloud.writes.empty());
}

TEST_CASE("/status at thousands of intents is rendered in slices: the loop serves others "
          "meanwhile, and the document is the same") {
  Harness h;
  h.controller->SetDesiredState(StateOf(NumberedIntents(2'000)), 1);  // not started: no pass runs
  bool done = false;
  std::string sliced;
  int probe_turns = 0;
  boost::asio::co_spawn(
      h.io,
      [](std::shared_ptr<Controller> c, std::string* out, bool* finished)
          -> boost::asio::awaitable<void> {
        *out = co_await c->StatusJsonSliced(std::chrono::microseconds(0));
        *finished = true;
      }(h.controller, &sliced, &done),
      boost::asio::detached);
  SpawnTurnCounter(h.io, &done, &probe_turns);
  REQUIRE(testutil::RunUntil(h.io, [&] { return done; }, 20s));
  // 2,000 intents, one per slice with no time budget: the probe ran
  // between the slices.
  CHECK(probe_turns >= 1'999);
  // The same intents as the one-piece render (the queue's age moves on).
  auto doc = boost::json::parse(sliced).as_object();
  auto whole = boost::json::parse(h.controller->StatusJson()).as_object();
  CHECK(doc.at("intents").as_array().size() == 2'000);
  CHECK(doc.at("intents") == whole.at("intents"));
}

}  // namespace
}  // namespace dbconnd::controller
