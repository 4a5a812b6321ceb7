#include <catch2/catch.hpp>

#include <algorithm>

#include "emulator_fixture.h"

// Direct VPC egress against the emulator, which refuses (400) a Cloud Run
// PATCH carrying a connector and network interfaces together, as Google does.

namespace dbconnd::integration {
namespace {

namespace json = boost::json;

config::Intent Example(const std::string& file) {
  auto r = config::LoadPaths({kSrc + "/examples/" + file});
  REQUIRE(r.ok());
  return *r.state->intents.at(0);
}

// Every write the emulator answered was one it carried out: no 4xx/5xx.
void CheckNothingRefused(Cloud& cloud) {
  auto v = cloud.Call("GET", "/emulator/requests");
  const auto& counts = v.at("counts").as_object();
  const auto& done = v.at("mutations").as_object();
  for (const auto& [route, n] : counts) {
    std::string r(route);
    if (r.starts_with("GET ") || r.ends_with(".getIamPolicy") || r.find("emulator") != std::string::npos) continue;
    INFO(r);
    const auto* m = done.if_contains(route);
    CHECK(n.as_int64() == (m ? m->as_int64() : 0));
  }
}

const json::object& VpcAccess(const json::object& job) {
  return job.at("template").at("template").at("vpcAccess").as_object();
}

}  // namespace

TEST_CASE("integration: a Direct-VPC job under a connector intent converges with no refused request",
          "[integration][direct-vpc]") {
  Cloud cloud;
  cloud.Call("POST", "/emulator/reset", R"({"seed":"incident-direct-vpc"})");
  REQUIRE(VpcAccess(cloud.Job()).contains("networkInterfaces"));
  auto r = cloud.Apply(SaleorIntent());
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CheckNothingRefused(cloud);
  CHECK(cloud.Count("PATCH run.jobs.patch") == 1);  // one PATCH replaced the interface
  const json::object job = cloud.Job();
  const auto& vpc = VpcAccess(job);
  CHECK(vpc.at("connector").as_string() ==
        std::string("projects/") + kProject + "/locations/us-central1/connectors/saleor-connector");
  CHECK_FALSE(vpc.contains("networkInterfaces"));
}

TEST_CASE("integration: examples/saleor-direct-vpc.yaml fixes the incident with no connector and a verified run",
          "[integration][direct-vpc]") {
  Cloud cloud;
  auto r = cloud.Apply(Example("saleor-direct-vpc.yaml"));
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CHECK(r.executed == std::vector<std::string>{"range/google-managed-services-default", "peering/default",
                                               "instance/saleor-db-demo", std::string("job/") + kJob,
                                               std::string("verify/job/") + kJob,
                                               "instance/saleor-db-demo/public-path"});
  CheckNothingRefused(cloud);
  CHECK(cloud.Count("POST vpcaccess.connectors.create") == 0);
  auto connectors = cloud.Call("GET", std::string("/v1/projects/") + kProject + "/locations/us-central1/connectors");
  CHECK((!connectors.as_object().contains("connectors") || connectors.at("connectors").as_array().empty()));
  // The subnetwork was checked before the job was moved.
  CHECK(cloud.Count("GET compute.subnetworks.get") >= 1);
  json::object job = cloud.Job();
  const auto& vpc = VpcAccess(job);
  CHECK_FALSE(vpc.contains("connector"));
  CHECK(json::serialize(vpc.at("networkInterfaces")) == R"([{"network":"default","subnetwork":"default"}])");
  CHECK(job.at("latestCreatedExecution").at("completionStatus").as_string() == "EXECUTION_SUCCEEDED");
  CHECK(cloud.Instance().at("settings").at("ipConfiguration").at("ipv4Enabled").as_bool() == false);

  SECTION("a second apply makes zero writes") {
    cloud.ClearLog();
    auto again = cloud.Apply(Example("saleor-direct-vpc.yaml"));
    REQUIRE(again.status.ok());
    CHECK(again.converged);
    CHECK(cloud.Writes().empty());
  }
  SECTION("moving back to a connector is one PATCH, after the connector is READY") {
    cloud.ClearLog();
    auto back = cloud.Apply(SaleorIntent());
    INFO(back.status.message());
    REQUIRE(back.status.ok());
    CHECK(back.converged);
    CheckNothingRefused(cloud);
    // The connector first, then one job PATCH (saleor.yaml also turns IAM
    // authentication on: an instance PATCH of its own).
    const auto writes = cloud.Writes();
    auto create = std::find(writes.begin(), writes.end(), "POST vpcaccess.connectors.create");
    auto patch = std::find(writes.begin(), writes.end(), "PATCH run.jobs.patch");
    CHECK(create < patch);
    CHECK(patch != writes.end());
    CHECK(std::count(writes.begin(), writes.end(), "PATCH run.jobs.patch") == 1);
    CHECK_FALSE(VpcAccess(cloud.Job()).contains("networkInterfaces"));
  }
}

TEST_CASE("integration: a Direct VPC subnetwork that does not exist blocks the move and nothing is sent",
          "[integration][direct-vpc]") {
  Cloud cloud;
  config::Intent intent = Example("saleor-direct-vpc.yaml");
  intent.workloads[0].direct_vpc->subnetwork = "no-such-subnet";
  auto r = cloud.Apply(intent);
  CHECK_FALSE(r.converged);
  CHECK(cloud.Count("PATCH run.jobs.patch") == 0);
  CheckNothingRefused(cloud);
  const auto& d = r.last_plan.diagnoses;
  CHECK(std::any_of(d.begin(), d.end(), [](const auto& x) { return x.code == "subnetwork-missing"; }));
  // The public path is still open: the job never moved.
  CHECK(cloud.Instance().at("settings").at("ipConfiguration").at("ipv4Enabled").as_bool() == true);
}

}  // namespace dbconnd::integration
