// Unknown outcomes never turn into duplicate writes: every mutating call
// dbconnd makes is hit by a dropped connection, before ("drop") or after
// ("apply-drop") Google applied it, and one apply still converges with
// exactly one effective mutation per change and one job execution per
// verification, counted by the emulator.
#include <catch2/catch.hpp>

#include <map>

#include "emulator_fixture.h"

namespace dbconnd::integration {
namespace {

namespace json = boost::json;

constexpr char kService[] = "saleor-web";
const std::string kServiceName =
    std::string("projects/") + kProject + "/locations/us-central1/services/" + kService;

// A Cloud Run service on the incident's public IP, as someone deployed it.
void AddService(Cloud& cloud) {
  json::object svc{
      {"name", kServiceName},
      {"uid", "9a1d-web"},
      {"generation", "2"},
      {"observedGeneration", "2"},
      {"createTime", "2026-01-01T00:00:00Z"},
      {"updateTime", "2026-01-01T01:00:00Z"},
      {"launchStage", "GA"},
      {"ingress", "INGRESS_TRAFFIC_ALL"},
      {"template",
       json::object{{"containers",
                     json::array{json::object{
                         {"name", "api"},
                         {"image", "us-central1-docker.pkg.dev/p/saleor/saleor:3.20.0"},
                         {"env", json::array{json::object{
                                     {"name", "DATABASE_URL"},
                                     {"value", std::string("postgresql://saleor:") + kPassword +
                                                   "@34.41.195.120:5432/saleor"}}}}}}}}},
      {"terminalCondition", json::object{{"type", "Ready"}, {"state", "CONDITION_SUCCEEDED"}}},
      {"reconciling", false},
      {"etag", "\"seed-web\""}};
  cloud.Call("POST", "/emulator/edit",
             json::serialize(json::object{
                 {"path", json::array{"run"}},
                 {"merge", json::object{{"services", json::object{{kServiceName, svc}}}}}}));
}

config::Intent IntentWithService() {
  config::Intent intent = SaleorIntent();
  intent.policy.verify = true;
  config::Workload svc = intent.workloads.at(0);
  svc.kind = config::WorkloadKind::kService;
  svc.name = kService;
  intent.workloads.push_back(svc);
  return intent;
}

reconcilers::ApplyOptions Options() {
  auto o = Cloud::FastOptions();
  o.transient.initial_backoff = std::chrono::milliseconds(10);
  o.transient.max_backoff = std::chrono::milliseconds(100);
  return o;
}

std::map<std::string, int64_t> Mutations(Cloud& cloud) {
  std::map<std::string, int64_t> out;
  auto v = cloud.Call("GET", "/emulator/requests");
  for (const auto& [k, n] : v.at("mutations").as_object()) out[std::string(k)] = n.to_number<int64_t>();
  return out;
}

int64_t Executions(Cloud& cloud) {
  auto v = cloud.Call("GET", "/emulator/requests");
  const auto* n = v.at("executions").as_object().if_contains(
      std::string("projects/") + kProject + "/locations/us-central1/jobs/" + kJob);
  return n ? n->to_number<int64_t>() : 0;
}

// What the incident fixed with a service and verification takes, once each.
const std::map<std::string, int64_t> kOnce = {
    {"POST compute.globalAddresses.insert", 1},
    {"POST servicenetworking.connections.create", 1},
    {"POST vpcaccess.connectors.create", 1},
    {"PATCH sqladmin.instances.patch", 2},  // private IP + TLS, then the public path
    {"PATCH run.jobs.patch", 2},  // the configuration, then the execution's token
    {"PATCH run.services.patch", 1},
};

}  // namespace

TEST_CASE("integration: without faults the baseline is one mutation per change",
          "[integration][unknown-outcome]") {
  Cloud cloud;
  AddService(cloud);
  auto r = cloud.Apply(IntentWithService(), Options());
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(Mutations(cloud) == kOnce);
  CHECK(Executions(cloud) == 1);
}

TEST_CASE("integration: a lost answer on any write converges in one apply without a duplicate",
          "[integration][unknown-outcome]") {
  auto route = GENERATE(as<std::string>{}, "PATCH sqladmin.instances.patch",
                        "POST vpcaccess.connectors.create",
                        "POST servicenetworking.connections.create",
                        "POST compute.globalAddresses.insert", "PATCH run.jobs.patch",
                        "PATCH run.services.patch");
  auto fault = GENERATE(as<std::string>{}, "drop", "apply-drop");
  Cloud cloud;
  AddService(cloud);
  cloud.Call("POST", "/emulator/faults",
             json::serialize(json::object{{"route", route}, {"status", fault}, {"count", 1}}));
  auto r = cloud.Apply(IntentWithService(), Options());
  INFO(route << " " << fault << ": " << r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  // The fault fired (the request was received) ...
  CHECK(cloud.Count(route) >= 1);
  auto faults = cloud.Call("GET", "/emulator/faults");
  CHECK(faults.at("faults").as_array().at(0).at("count").to_number<int64_t>() == 0);
  // ... and still every change took effect exactly once.
  CHECK(Mutations(cloud) == kOnce);
  CHECK(Executions(cloud) == 1);
  REQUIRE(r.verifications.count(kJob) == 1);
  CHECK(r.verifications.at(kJob).state == reconcilers::JobVerification::State::kSucceeded);
}

TEST_CASE("integration: a 503 on instances.patch is re-read and the apply goes on",
          "[integration][unknown-outcome]") {
  Cloud cloud;
  cloud.Call("POST", "/emulator/faults",
             R"({"route":"PATCH sqladmin.instances.patch","status":503,"count":1})");
  auto r = cloud.Apply(SaleorIntent(), Options());
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(cloud.Count("PATCH sqladmin.instances.patch") == 3);  // the refused one, then two
  CHECK(Mutations(cloud).at("PATCH sqladmin.instances.patch") == 2);
}

TEST_CASE("integration: 429 and 5xx on reads and writes are ridden out with backoff",
          "[integration][unknown-outcome]") {
  Cloud cloud;
  cloud.Call("POST", "/emulator/faults",
             R"({"faults":[{"route":"GET sqladmin.instances.get","status":503,"count":3},)"
             R"({"route":"PATCH run.jobs.patch","status":429,"count":2},)"
             R"({"route":"POST vpcaccess.connectors.create","status":500,"count":1}]})");
  auto r = cloud.Apply(SaleorIntent(), Options());
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  auto m = Mutations(cloud);
  CHECK(m.at("PATCH run.jobs.patch") == 1);
  CHECK(m.at("POST vpcaccess.connectors.create") == 1);
}

TEST_CASE("integration: a permanent error still ends the apply", "[integration][unknown-outcome]") {
  Cloud cloud;
  cloud.Call("POST", "/emulator/faults",
             R"({"route":"POST compute.globalAddresses.insert","status":403,"count":1})");
  auto r = cloud.Apply(SaleorIntent(), Options());
  CHECK_FALSE(r.status.ok());
  CHECK(Mutations(cloud).empty());
}

gcp::Task<Status> Killed(std::chrono::milliseconds) { co_return CancelledError("process killed"); }

TEST_CASE("integration: a verification already running is adopted, not started again",
          "[integration][verify]") {
  Cloud cloud(std::chrono::milliseconds(100));
  config::Intent intent = SaleorIntent();
  intent.policy.verify = true;
  // First apply: "killed" while the job's execution runs.
  auto options = Options();
  auto ran = std::make_shared<bool>(false);
  auto real = gcp::AsioSleeper();
  options.wait.sleeper = [ran, real](std::chrono::milliseconds d) {
    return *ran ? Killed(d) : real(d);
  };
  options.progress = [ran](const reconcilers::ApplyProgress& p) {
    if (p.kind == reconcilers::ApplyProgress::Kind::kWaiting && p.step &&
        p.step->action == reconcilers::Action::kRun) {
      *ran = true;
    }
  };
  auto first = cloud.Apply(intent, options);
  REQUIRE_FALSE(first.status.ok());
  REQUIRE(*ran);
  REQUIRE(Executions(cloud) == 1);
  // A new process, no memory of it: it waits for that execution instead of
  // starting another, and only then switches the public IP off.
  auto second = cloud.Apply(intent, Options());
  INFO(second.status.message());
  REQUIRE(second.status.ok());
  CHECK(second.converged);
  CHECK(Executions(cloud) == 1);
  CHECK(cloud.Count("POST run.jobs.run") == 0);
  REQUIRE(second.verifications.count(kJob) == 1);
  CHECK(second.verifications.at(kJob).state == reconcilers::JobVerification::State::kSucceeded);
  CHECK(cloud.Instance().at("settings").at("ipConfiguration").at("ipv4Enabled").as_bool() == false);
}

TEST_CASE("integration: a lost answer on a verification's start, then a fresh process: the same "
          "startExecutionToken, one execution",
          "[integration][verify][unknown-outcome]") {
  Cloud cloud;
  config::Intent intent = SaleorIntent();
  intent.policy.verify = true;
  // First process: the execution's start is applied, its answer lost, and
  // the process ends there (it is "killed" by its first transient failure).
  auto options = Options();
  options.transient.max_attempts = 1;
  bool armed = false;
  Cloud* c = &cloud;
  options.on_step = [c, &armed](const reconcilers::Step& s) {
    if (s.action == reconcilers::Action::kRun && !armed) {
      armed = true;
      c->Call("POST", "/emulator/faults",
              json::serialize(json::object{
                  {"route", "PATCH run.jobs.patch"}, {"status", "apply-drop"}, {"count", 1}}));
    }
  };
  auto first = cloud.Apply(intent, options);
  REQUIRE(armed);
  REQUIRE_FALSE(first.status.ok());
  REQUIRE(Executions(cloud) == 1);
  auto job = cloud.Job();
  REQUIRE(job.contains("startExecutionToken"));
  const std::string token(job.at("startExecutionToken").as_string());
  REQUIRE(std::string(job.at("latestCreatedExecution").at("name").as_string()).ends_with(
      std::string(kJob) + "-" + token));

  // Meanwhile a colleague labels the job: its updateTime now follows the
  // execution's createTime, so the execution no longer reads as this
  // configuration's verification and the next process starts one again.
  cloud.Call("POST", "/emulator/clock/advance", R"({"ms":1000})");
  cloud.Call("POST", "/emulator/edit",
             json::serialize(json::object{
                 {"job", std::string("projects/") + kProject + "/locations/us-central1/jobs/" + kJob},
                 {"merge", json::object{{"labels", json::object{{"team", "payments"}}}}}}));
  const int64_t patches = cloud.Count("PATCH run.jobs.patch");

  // A fresh process, no memory: the same configuration gives the same token,
  // and Cloud Run starts nothing new.
  auto second = cloud.Apply(intent, Options());
  INFO(second.status.message());
  REQUIRE(second.status.ok());
  CHECK(second.converged);
  CHECK(cloud.Count("PATCH run.jobs.patch") == patches + 1);  // the start, sent again
  CHECK(std::string(cloud.Job().at("startExecutionToken").as_string()) == token);
  CHECK(Executions(cloud) == 1);  // one execution all along
  CHECK(cloud.Count("POST run.jobs.run") == 0);
  REQUIRE(second.verifications.count(kJob) == 1);
  CHECK(second.verifications.at(kJob).state == reconcilers::JobVerification::State::kSucceeded);
  CHECK(cloud.Instance().at("settings").at("ipConfiguration").at("ipv4Enabled").as_bool() == false);
}

}  // namespace dbconnd::integration
