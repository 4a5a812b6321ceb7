#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <set>

#include "config/loader.h"
#include "cli/plan_output.h"
#include "reconcilers/planner.h"

// `plan -o json` shows the Private Service Connect steps with their own
// resource kinds, in order, for examples/saleor-psc.yaml against the seed.

namespace dbconnd::cli {
namespace {

namespace json = boost::json;

}  // namespace

TEST_CASE("plan output: the PSC step kinds show in JSON", "[plan_output][psc]") {
  auto r = config::LoadPaths({std::string(DBCONND_SOURCE_DIR) + "/examples/saleor-psc.yaml"});
  REQUIRE(r.ok());
  const config::Intent& in = *r.state->intents.at(0);
  reconcilers::LiveState live;
  gcp::SqlInstance inst;
  inst.project = in.project;
  inst.name = in.instance.name;
  inst.region = in.region;
  inst.database_version = "POSTGRES_15";
  inst.state = "RUNNABLE";
  inst.settings_version = "1";
  inst.ipv4_enabled = true;
  inst.ip_addresses = {{"PRIMARY", "34.41.195.120"}};
  live.instance = inst;
  gcp::RunWorkload job;
  job.kind = gcp::RunKind::kJob;
  job.project = in.project;
  job.region = in.region;
  job.name = in.workloads[0].name;
  gcp::Container c;
  c.name = "app";
  job.containers = {c};
  live.jobs[job.name] = job;
  live.psc_addresses.emplace("saleor-db-psc-ip", NotFoundError("no"));
  live.psc_endpoints.emplace("saleor-db-psc", NotFoundError("no"));

  IntentPlan ip{in.name, "examples/saleor-psc.yaml", OkStatus(), reconcilers::ComputePlan(in, live)};
  auto doc = json::parse(RenderPlansJson({ip})).as_object();
  const auto& steps = doc.at("intents").at(0).at("steps").as_array();
  std::vector<std::string> ids;
  std::set<std::string> kinds;
  for (const auto& s : steps) {
    ids.emplace_back(s.at("id").as_string());
    kinds.emplace(s.at("resource").at("kind").as_string());
  }
  CHECK(kinds.contains("pscAddress"));
  CHECK(kinds.contains("pscEndpoint"));
  auto pos = [&](const std::string& id) { return std::find(ids.begin(), ids.end(), id) - ids.begin(); };
  REQUIRE(pos("pscEndpoint/saleor-db-psc") < static_cast<long>(ids.size()));
  CHECK(pos("instance/saleor-db-demo/psc") < pos("instance/saleor-db-demo/psc-consumers"));
  CHECK(pos("instance/saleor-db-demo/psc-consumers") < pos("pscAddress/saleor-db-psc-ip"));
  CHECK(pos("pscAddress/saleor-db-psc-ip") < pos("pscEndpoint/saleor-db-psc"));
  const auto& rule = steps.at(static_cast<size_t>(pos("pscEndpoint/saleor-db-psc"))).as_object();
  CHECK(rule.at("action").as_string() == "create");
  bool noted = false;
  for (const auto& n : doc.at("intents").at(0).at("notes").as_array()) {
    noted = noted || n.at("code").as_string() == "psc-url-uses-ip";
  }
  CHECK(noted);
}

}  // namespace dbconnd::cli
