#include <catch2/catch.hpp>

#include <algorithm>

#include "emulator_fixture.h"

namespace dbconnd::integration {
namespace {

namespace json = boost::json;
using reconcilers::ApplyProgress;

const std::vector<std::string> kMakeBeforeBreak = {
    "range/google-managed-services-default", "peering/default", "connector/saleor-connector",
    "instance/saleor-db-demo", std::string("job/") + kJob,
    "instance/saleor-db-demo/public-path"};

const std::vector<std::string> kSeedWrites = {
    "POST compute.globalAddresses.insert", "POST servicenetworking.connections.create",
    "POST vpcaccess.connectors.create",    "PATCH sqladmin.instances.patch",
    "PATCH run.jobs.patch",                "PATCH sqladmin.instances.patch"};

std::vector<std::string> NetworkValues(const json::object& instance) {
  std::vector<std::string> out;
  const auto& ip = instance.at("settings").at("ipConfiguration").as_object();
  if (const auto* nets = ip.if_contains("authorizedNetworks")) {
    for (const auto& n : nets->as_array()) out.emplace_back(n.at("value").as_string());
  }
  return out;
}

std::string EnvValue(const json::object& job, const std::string& name) {
  for (const auto& c : job.at("template").at("template").at("containers").as_array()) {
    for (const auto& e : c.at("env").as_array()) {
      if (e.at("name").as_string() == name) return json::serialize(e);
    }
  }
  return "";
}

TEST_CASE("integration: the incident converges make-before-break, one write per change",
          "[integration][apply]") {
  Cloud cloud;
  auto r = cloud.Apply(SaleorIntent());
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(r.executed == kMakeBeforeBreak);
  CHECK(cloud.Writes() == kSeedWrites);

  json::object inst = cloud.Instance();
  const auto& ip = inst.at("settings").at("ipConfiguration").as_object();
  CHECK(ip.at("ipv4Enabled").as_bool() == false);
  CHECK(ip.at("sslMode").as_string() == "ENCRYPTED_ONLY");
  std::string url = EnvValue(cloud.Job(), "DATABASE_URL");
  CHECK(url.find(kPassword) == std::string::npos);
  CHECK(url.find("34.41.195.120") == std::string::npos);

  SECTION("a second apply makes zero writes") {
    cloud.ClearLog();
    auto again = cloud.Apply(SaleorIntent());
    REQUIRE(again.status.ok());
    CHECK(again.converged);
    CHECK(again.executed.empty());
    CHECK(cloud.Writes().empty());
    CHECK(cloud.Count("GET sqladmin.instances.get") == 1);  // one read of the instance, one round
  }
}

TEST_CASE("integration: unmanaged fields and unlisted authorized networks survive",
          "[integration][ownership]") {
  Cloud cloud;
  // What other people own: an extra env var, a label, a field dbconnd does not
  // model, an authorized network the file does not list.
  cloud.Call("POST", "/emulator/edit",
             json::serialize(json::object{
                 {"job", std::string("projects/") + kProject + "/locations/us-central1/jobs/" + kJob},
                 {"merge", json::object{{"labels", json::object{{"owner", "payments"}}},
                                        {"template", json::object{{"template", json::object{
                                                                      {"maxRetries", 7}}}}}}}}));
  cloud.Call("POST", "/emulator/edit",
             json::serialize(json::object{
                 {"instance", kInstance},
                 {"addAuthorizedNetwork", json::object{{"value", "203.0.113.0/24"}, {"name", "office"}}}}));
  config::Intent intent = SaleorIntent();
  intent.policy.prune_authorized_networks = false;
  auto r = cloud.Apply(intent);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  json::object job = cloud.Job();
  CHECK(job.at("labels").at("owner").as_string() == "payments");
  CHECK(job.at("template").at("template").at("maxRetries").as_int64() == 7);
  CHECK_FALSE(EnvValue(job, "DJANGO_SETTINGS_MODULE").empty());
  auto nets = NetworkValues(cloud.Instance());
  CHECK(std::find(nets.begin(), nets.end(), "203.0.113.0/24") != nets.end());
  CHECK(cloud.Instance().at("settings").at("userLabels").at("app").as_string() == "saleor");
}

TEST_CASE("integration: 409 operationInProgress mid-apply waits, no duplicate write",
          "[integration][conflict]") {
  Cloud cloud(std::chrono::milliseconds(60));
  auto options = Cloud::FastOptions();
  bool injected = false;
  Cloud* c = &cloud;
  options.progress = [c, &injected](const ApplyProgress& p) {
    if (injected || p.kind != ApplyProgress::Kind::kStepStarted ||
        p.step->id != "instance/saleor-db-demo") {
      return;
    }
    injected = true;
    // Someone else's change starts an operation just before our PATCH.
    auto inst = c->Instance();
    std::string version(inst.at("settings").at("settingsVersion").as_string());
    c->Call("PATCH", std::string("/v1/projects/") + kProject + "/instances/" + kInstance,
            json::serialize(json::object{
                {"settings", json::object{{"settingsVersion", version},
                                          {"userLabels", json::object{{"oob", "yes"}}}}}}));
  };
  auto r = cloud.Apply(SaleorIntent(), options);
  INFO(r.status.message());
  REQUIRE(injected);
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(r.executed == kMakeBeforeBreak);
  // The operation already running is found (operations.list) before our
  // PATCH, which waits for it instead of being refused with 409: one PATCH
  // per change, and Google holds exactly three UPDATEs (ours two, theirs one).
  CHECK(cloud.Count("PATCH sqladmin.instances.patch") == 2);
  CHECK(cloud.Count("GET sqladmin.operations.list") >= 1);
  auto ops = cloud.Call("GET", std::string("/v1/projects/") + kProject +
                                   "/operations?instance=" + kInstance);
  int updates = 0;
  for (const auto& op : ops.at("items").as_array()) {
    if (op.at("operationType").as_string() == "UPDATE") ++updates;
  }
  CHECK(updates == 3);
  CHECK(cloud.Instance().at("settings").at("userLabels").at("oob").as_string() == "yes");
}

TEST_CASE("integration: 412 staleData mid-apply re-reads and re-diffs, no duplicate write",
          "[integration][conflict]") {
  Cloud cloud;
  auto options = Cloud::FastOptions();
  bool injected = false;
  Cloud* c = &cloud;
  options.progress = [c, &injected](const ApplyProgress& p) {
    if (injected || p.kind != ApplyProgress::Kind::kStepStarted ||
        p.step->id != "instance/saleor-db-demo") {
      return;
    }
    injected = true;
    // A person with gcloud adds a network: settingsVersion moves on.
    c->Call("POST", "/emulator/edit",
            json::serialize(json::object{
                {"instance", kInstance},
                {"addAuthorizedNetwork", json::object{{"value", "198.51.100.0/24"}, {"name", "vpn"}}}}));
  };
  std::vector<std::string> conflicts;
  auto progress = options.progress;
  options.progress = [progress, &conflicts](const ApplyProgress& p) {
    if (p.kind == ApplyProgress::Kind::kConflict) conflicts.push_back(p.status.reason());
    progress(p);
  };
  auto r = cloud.Apply(SaleorIntent(), options);
  INFO(r.status.message());
  REQUIRE(injected);
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(conflicts == std::vector<std::string>{"staleData"});
  // One refused (412), one accepted for the instance step, one for the public path.
  CHECK(cloud.Count("PATCH sqladmin.instances.patch") == 3);
  CHECK(r.executed == kMakeBeforeBreak);
  // The re-diff saw the new network; with pruning on, the last step removed it.
  CHECK(NetworkValues(cloud.Instance()).empty());
}

TEST_CASE("integration: with policy.verify the job runs, and succeeds, before the public IP goes",
          "[integration][verify]") {
  Cloud cloud;
  config::Intent intent = SaleorIntent();
  intent.policy.verify = true;
  auto r = cloud.Apply(intent);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  std::vector<std::string> expected = kSeedWrites;
  // The verification starts its execution by jobs.patch with a
  // startExecutionToken.
  expected.insert(expected.begin() + 5, "PATCH run.jobs.patch");
  CHECK(cloud.Writes() == expected);
  REQUIRE(r.verifications.count(kJob) == 1);
  CHECK(r.verifications.at(kJob).state == reconcilers::JobVerification::State::kSucceeded);
}

TEST_CASE("integration: observe mode writes nothing", "[integration][observe]") {
  Cloud cloud;
  config::Intent intent = SaleorIntent();
  intent.policy.mode = config::PolicyMode::kObserve;
  auto r = cloud.Apply(intent);
  REQUIRE(r.status.ok());
  CHECK(r.last_plan.report_only);
  CHECK(r.last_plan.steps.size() == kMakeBeforeBreak.size());
  CHECK(r.executed.empty());
  CHECK(cloud.Writes().empty());
}

}  // namespace
}  // namespace dbconnd::integration
