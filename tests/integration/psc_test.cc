#include <catch2/catch.hpp>

#include <algorithm>

#include "emulator_fixture.h"

// Private Service Connect against the emulator, which gives a PSC instance a
// service attachment, refuses endpoints Compute refuses, and leaves an
// endpoint of a project the instance has not allow-listed PENDING.

namespace dbconnd::integration {
namespace {

namespace json = boost::json;

config::Intent PscExample() {
  auto r = config::LoadPaths({kSrc + "/examples/saleor-psc.yaml"});
  REQUIRE(r.ok());
  return *r.state->intents.at(0);
}

bool HasDiagnosis(const reconcilers::Plan& p, const std::string& code) {
  return std::any_of(p.diagnoses.begin(), p.diagnoses.end(), [&](const auto& d) { return d.code == code; });
}

}  // namespace

TEST_CASE("integration: the PSC path converges in order", "[integration][psc]") {
  Cloud cloud;
  auto r = cloud.Apply(PscExample());
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  const std::string job_step = std::string("job/") + kJob;
  CHECK(r.executed == std::vector<std::string>{"instance/saleor-db-demo", "instance/saleor-db-demo/psc",
                                               "instance/saleor-db-demo/psc-consumers",
                                               "pscAddress/saleor-db-psc-ip", "pscEndpoint/saleor-db-psc",
                                               job_step, std::string("verify/job/") + kJob,
                                               "instance/saleor-db-demo/public-path"});
  // What Google received, in that order.
  const auto writes = cloud.Writes();
  auto at = [&](const std::string& route, size_t from = 0) {
    return std::find(writes.begin() + static_cast<long>(std::min(from, writes.size())), writes.end(), route) -
           writes.begin();
  };
  const auto address = at("POST compute.addresses.insert");
  const auto rule = at("POST compute.forwardingRules.insert");
  const auto job = at("PATCH run.jobs.patch");
  REQUIRE(rule < static_cast<long>(writes.size()));
  CHECK(std::count(writes.begin(), writes.begin() + address, "PATCH sqladmin.instances.patch") == 3);
  CHECK(address < rule);
  CHECK(rule < job);
  CHECK(at("PATCH sqladmin.instances.patch", static_cast<size_t>(job)) < static_cast<long>(writes.size()));

  const json::object inst = cloud.Instance();
  const auto& ipc = inst.at("settings").at("ipConfiguration");
  CHECK(ipc.at("pscConfig").at("pscEnabled").as_bool());
  CHECK(ipc.at("ipv4Enabled").as_bool() == false);
  auto fr = cloud.Call("GET", std::string("/compute/v1/projects/") + kProject +
                                  "/regions/us-central1/forwardingRules/saleor-db-psc");
  CHECK(fr.at("pscConnectionStatus").as_string() == "ACCEPTED");
  CHECK(fr.at("target").as_string() == inst.at("pscServiceAttachmentLink").as_string());
  const std::string ip(fr.at("IPAddress").as_string());
  // The job's URL names the endpoint's IP, and the verification run reached it.
  const json::object j = cloud.Job();
  CHECK(json::serialize(j).find("@" + ip + ":5432/saleor") != std::string::npos);
  CHECK(j.at("latestCreatedExecution").at("completionStatus").as_string() == "EXECUTION_SUCCEEDED");
  // The plan says why the URL is an IP.
  CHECK(std::any_of(r.last_plan.notes.begin(), r.last_plan.notes.end(),
                    [](const auto& n) { return n.code == "psc-url-uses-ip"; }));

  SECTION("a second apply makes zero writes") {
    cloud.ClearLog();
    auto again = cloud.Apply(PscExample());
    REQUIRE(again.status.ok());
    CHECK(again.converged);
    CHECK(cloud.Writes().empty());
  }
}

TEST_CASE("integration: a consumer project the instance does not allow blocks the endpoint, and nothing is sent for it",
          "[integration][psc]") {
  Cloud cloud;
  config::Intent intent = PscExample();
  intent.instance.psc->allowed_consumer_projects = {"another-project-1"};
  auto r = cloud.Apply(intent);
  CHECK_FALSE(r.converged);
  CHECK(HasDiagnosis(r.last_plan, "psc-consumer-not-allowed"));
  CHECK(cloud.Count("POST compute.forwardingRules.insert") == 0);
  CHECK(cloud.Count("PATCH run.jobs.patch") == 0);
  CHECK(cloud.Instance().at("settings").at("ipConfiguration").at("ipv4Enabled").as_bool() == true);
}

TEST_CASE("integration: an endpoint subnetwork in another region blocks the endpoint with nothing sent",
          "[integration][psc]") {
  Cloud cloud;
  config::Intent intent = PscExample();
  intent.workloads[0].psc->subnetwork = std::string("projects/") + kProject + "/regions/europe-west1/subnetworks/default";
  auto r = cloud.Apply(intent);
  CHECK_FALSE(r.converged);
  CHECK(HasDiagnosis(r.last_plan, "psc-endpoint-wrong-region"));
  CHECK(cloud.Count("POST compute.addresses.insert") == 0);
  CHECK(cloud.Count("POST compute.forwardingRules.insert") == 0);
  CHECK(cloud.Count("PATCH run.jobs.patch") == 0);
}

TEST_CASE("integration: Compute refuses an endpoint address of another region than its rule", "[integration][psc]") {
  Cloud cloud;
  auto r = cloud.Apply(PscExample());
  REQUIRE(r.status.ok());
  const std::string base = std::string("/compute/v1/projects/") + kProject;
  auto inst = cloud.Instance();
  const std::string attachment(inst.at("pscServiceAttachmentLink").as_string());
  // An address in europe-west1 for a rule in us-central1: 400.
  auto res = cloud.Call("POST", base + "/regions/us-central1/forwardingRules",
                       json::serialize(json::object{{"name", "cross-region"},
                                                    {"IPAddress", std::string("projects/") + kProject +
                                                                      "/regions/europe-west1/addresses/x"},
                                                    {"target", attachment}}));
  REQUIRE(res.is_object());
  CHECK(res.at("error").at("code").as_int64() == 400);
  CHECK(res.at("error").at("status").as_string() == "INVALID_ARGUMENT");
  // The same name again: 409.
  auto dup = cloud.Call("POST", base + "/regions/us-central1/forwardingRules",
                       json::serialize(json::object{{"name", "saleor-db-psc"},
                                                    {"IPAddress", "saleor-db-psc-ip"},
                                                    {"target", attachment}}));
  REQUIRE(dup.is_object());
  CHECK(dup.at("error").at("code").as_int64() == 409);
}

}  // namespace dbconnd::integration
