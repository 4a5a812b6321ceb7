// Direct VPC egress (Cloud Run vpcAccess.networkInterfaces) as a path of its
// own: the planner never sends a connector with network interfaces, moves
// between the two in one PATCH, and blocks on what subnetworks.get and the
// egress setting say cannot work.

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "gcp/run_wire.h"
#include "reconcilers/direct_vpc.h"
#include "reconcilers/plan.h"
#include "reconcilers/planner.h"
#include "fixtures.h"

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures

const std::string kJobStep = std::string("job/") + kJob;
const std::string kConnectorFull = "projects/melodic-now-463704-k1/locations/us-central1/connectors/saleor-connector";

config::Intent DirectIntent() {
  config::Intent in = SeedIntent();
  in.connector.reset();
  in.workloads[0].direct_vpc = config::DirectVpc{"default", "default", {}};
  return in;
}

gcp::Subnetwork DefaultSubnet() {
  gcp::Subnetwork s;
  s.project = "melodic-now-463704-k1";
  s.name = "default";
  s.region = "https://www.googleapis.com/compute/v1/projects/melodic-now-463704-k1/regions/us-central1";
  s.network = "https://www.googleapis.com/compute/v1/projects/melodic-now-463704-k1/global/networks/default";
  s.ip_cidr_range = "10.128.0.0/20";
  return s;
}

const Diagnosis* Find(const std::vector<Diagnosis>& list, const std::string& code) {
  for (const auto& d : list) {
    if (d.code == code) return &d;
  }
  return nullptr;
}

bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Every workload payload of a converging run, checked against Cloud Run's
// rule: never a connector together with network interfaces.
void CheckNeverBoth(const config::Intent& in, LiveState live) {
  for (int i = 0; i < 20; ++i) {
    Plan plan = ComputePlan(in, live);
    const Step* step = FirstReadyStep(plan);
    if (!step) break;
    if (auto* w = std::get_if<gcp::RunWorkload>(&step->payload); w && w->vpc_access) {
      CHECK_FALSE((!w->vpc_access->connector.empty() && !w->vpc_access->network_interfaces.empty()));
    }
    if (!Simulate(*step, live)) break;
  }
}

}  // namespace

TEST_CASE("direct VPC: the seed incident converges with no connector, in make-before-break order",
          "[planner][direct-vpc]") {
  LiveState live = SeedLive();
  live.subnetworks.emplace("default", DefaultSubnet());
  const auto executed = Converge(DirectIntent(), live);
  CHECK(executed == std::vector<std::string>{"range/google-managed-services-default", "peering/default",
                                             "instance/saleor-db-demo", kJobStep,
                                             "instance/saleor-db-demo/public-path"});
  REQUIRE(live.jobs[kJob].vpc_access);
  const auto& vpc = *live.jobs[kJob].vpc_access;
  CHECK(vpc.connector.empty());
  REQUIRE(vpc.network_interfaces.size() == 1);
  CHECK(vpc.network_interfaces[0].network == "default");
  CHECK(vpc.network_interfaces[0].subnetwork == "default");
  CHECK(vpc.egress == "PRIVATE_RANGES_ONLY");
  CHECK_FALSE(live.connector);
  CHECK(Converge(DirectIntent(), live).empty());  // converged: zero writes
}

TEST_CASE("direct VPC: a Direct-VPC job under a connector intent gets the connector instead, in one PATCH",
          "[planner][direct-vpc]") {
  LiveState live = SeedLive();
  live.jobs[kJob].vpc_access = gcp::RunVpcAccess{"", "PRIVATE_RANGES_ONLY", {{"default", "default", {}}}};
  const Plan plan = ComputePlan(SeedIntent(), live);
  const Step* s = plan.Find(kJobStep);
  REQUIRE(s);
  CHECK(Has(s->depends_on, "connector/saleor-connector"));  // made before the move
  const auto& w = std::get<gcp::RunWorkload>(s->payload);
  REQUIRE(w.vpc_access);
  CHECK(w.vpc_access->connector == kConnectorFull);
  CHECK(w.vpc_access->network_interfaces.empty());  // replaced, not added to
  CHECK(Find(plan.notes, "vpc-path-move"));
  // The interfaces count as VPC access: no "no VPC access" diagnosis.
  CHECK_FALSE(Find(plan.diagnoses, "private-ip-no-vpc"));
  CheckNeverBoth(SeedIntent(), live);
  Converge(SeedIntent(), live);
  REQUIRE(live.jobs[kJob].vpc_access);
  CHECK(live.jobs[kJob].vpc_access->connector == kConnectorFull);
  CHECK(live.jobs[kJob].vpc_access->network_interfaces.empty());
}

TEST_CASE("direct VPC: moving from a connector replaces it with the interface in one PATCH, verified first",
          "[planner][direct-vpc]") {
  config::Intent connector_intent = SeedIntent();
  LiveState live = SeedLive();
  Converge(connector_intent, live);
  REQUIRE(live.jobs[kJob].vpc_access->connector == kConnectorFull);

  config::Intent in = DirectIntent();
  in.connector = connector_intent.connector;  // still declared: never deleted
  in.policy.verify = true;
  in.instance.public_ip->enabled = true;  // an old path that a verification gates
  live.instance->ipv4_enabled = true;
  live.verifications.clear();
  const Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find(kJobStep);
  REQUIRE(s);
  CHECK(s->changes.size() == 1);
  CHECK(s->changes[0].path.find("vpcAccess") != std::string::npos);
  CHECK_FALSE(Has(s->depends_on, "connector/saleor-connector"));
  const auto& w = std::get<gcp::RunWorkload>(s->payload);
  CHECK(w.vpc_access->connector.empty());
  REQUIRE(w.vpc_access->network_interfaces.size() == 1);
  const Step* verify = plan.Find("verify/job/" + std::string(kJob));
  REQUIRE(verify);
  CHECK(Has(verify->depends_on, kJobStep));
  const Diagnosis* note = Find(plan.notes, "vpc-path-move");
  REQUIRE(note);
  CHECK(note->problem.find("from connector saleor-connector to Direct VPC egress") != std::string::npos);
  CHECK(note->fix.find("never deletes") != std::string::npos);
  // Nothing in the plan deletes or changes the connector.
  for (const auto& step : plan.steps) CHECK(step.resource.kind != ResourceKind::kConnector);
  CheckNeverBoth(in, live);
}

TEST_CASE("direct VPC: the wire PATCH drops the path not desired", "[planner][direct-vpc][wire]") {
  boost::json::value doc = boost::json::parse(
      R"({"name":"projects/p/locations/us-central1/jobs/j","template":{"template":{"containers":[{"image":"x"}],)"
      R"("vpcAccess":{"connector":"projects/p/locations/us-central1/connectors/c","egress":"ALL_TRAFFIC"}}}})");
  gcp::RunWorkload w = gcp::ParseRunWorkload(doc, gcp::RunKind::kJob);
  w.vpc_access = gcp::RunVpcAccess{"", "PRIVATE_RANGES_ONLY", {{"default", "default", {"db"}}}};
  auto body = gcp::ApplyRunWorkload(w);
  REQUIRE(body.ok());
  const auto& vpc = body->at("template").at("template").at("vpcAccess").as_object();
  CHECK_FALSE(vpc.contains("connector"));
  CHECK(boost::json::serialize(vpc.at("networkInterfaces")) == R"([{"network":"default","subnetwork":"default","tags":["db"]}])");
  // And back.
  gcp::RunWorkload back = gcp::ParseRunWorkload(*body, gcp::RunKind::kJob);
  REQUIRE(back.vpc_access);
  CHECK(back.vpc_access->network_interfaces.size() == 1);
  back.vpc_access = gcp::RunVpcAccess{"projects/p/locations/us-central1/connectors/c", "PRIVATE_RANGES_ONLY", {}};
  auto body2 = gcp::ApplyRunWorkload(back);
  REQUIRE(body2.ok());
  const auto& vpc2 = body2->at("template").at("template").at("vpcAccess").as_object();
  CHECK_FALSE(vpc2.contains("networkInterfaces"));
  CHECK(vpc2.at("connector").as_string() == "projects/p/locations/us-central1/connectors/c");
}

TEST_CASE("direct VPC: a live interface spelled as paths, tags reordered, is no drift", "[planner][direct-vpc]") {
  config::Intent in = DirectIntent();
  in.workloads[0].direct_vpc->tags = {"a", "b"};
  LiveState live = SeedLive();
  live.subnetworks.emplace("default", DefaultSubnet());
  Converge(in, live);
  live.jobs[kJob].vpc_access->network_interfaces[0] = {
      "projects/melodic-now-463704-k1/global/networks/default",
      "projects/melodic-now-463704-k1/regions/us-central1/subnetworks/default", {"b", "a"}};
  CHECK(ComputePlan(in, live).steps.empty());
  // A different tag is drift.
  in.workloads[0].direct_vpc->tags = {"a", "c"};
  CHECK(ComputePlan(in, live).Find(kJobStep));
}

TEST_CASE("direct VPC: a missing subnetwork, or one of another network or region, blocks the move",
          "[planner][direct-vpc]") {
  LiveState live = SeedLive();
  Converge(DirectIntent(), live);  // subnetworks not read: not blocked
  LiveState fresh = SeedLive();
  SECTION("missing") {
    fresh.subnetworks.emplace("default", NotFoundError("The resource was not found"));
    const Plan plan = ComputePlan(DirectIntent(), fresh);
    const Step* s = plan.Find(kJobStep);
    REQUIRE(s);
    CHECK(s->blocked.find("does not exist") != std::string::npos);
    const Diagnosis* d = Find(plan.diagnoses, "subnetwork-missing");
    REQUIRE(d);
    CHECK(d->fix.find("gcloud compute networks subnets create default") != std::string::npos);
    // The public path stays open: it depends on the blocked move.
    const Step* pub = plan.Find("instance/saleor-db-demo/public-path");
    REQUIRE(pub);
    CHECK(Has(pub->depends_on, kJobStep));
  }
  SECTION("another network") {
    gcp::Subnetwork sn = DefaultSubnet();
    sn.network = "https://www.googleapis.com/compute/v1/projects/melodic-now-463704-k1/global/networks/other";
    fresh.subnetworks.emplace("default", sn);
    const Plan plan = ComputePlan(DirectIntent(), fresh);
    CHECK_FALSE(plan.Find(kJobStep)->blocked.empty());
    CHECK(Find(plan.diagnoses, "subnetwork-wrong-network"));
  }
  SECTION("another region") {
    gcp::Subnetwork sn = DefaultSubnet();
    sn.region = "https://www.googleapis.com/compute/v1/projects/melodic-now-463704-k1/regions/europe-west1";
    fresh.subnetworks.emplace("default", sn);
    const Plan plan = ComputePlan(DirectIntent(), fresh);
    CHECK_FALSE(plan.Find(kJobStep)->blocked.empty());
    CHECK(Find(plan.diagnoses, "subnetwork-wrong-region"));
  }
  SECTION("unknown (no permission) is a note, not a block") {
    fresh.subnetworks.emplace("default", PermissionDeniedError("Required 'compute.subnetworks.get' permission"));
    const Plan plan = ComputePlan(DirectIntent(), fresh);
    CHECK(plan.Find(kJobStep)->blocked.empty());
    CHECK(Find(plan.notes, "subnetwork-unknown"));
  }
}

TEST_CASE("direct VPC: PRIVATE_RANGES_ONLY cannot reach a private IP outside RFC 1918/6598", "[planner][direct-vpc]") {
  CHECK(EgressReaches(config::VpcEgress::kPrivateRangesOnly, "10.20.0.3"));
  CHECK(EgressReaches(config::VpcEgress::kPrivateRangesOnly, "100.64.1.2"));
  CHECK(EgressReaches(config::VpcEgress::kPrivateRangesOnly, "172.31.255.1"));
  CHECK_FALSE(EgressReaches(config::VpcEgress::kPrivateRangesOnly, "11.4.0.3"));
  CHECK_FALSE(EgressReaches(config::VpcEgress::kPrivateRangesOnly, "172.32.0.1"));
  CHECK(EgressReaches(config::VpcEgress::kAllTraffic, "11.4.0.3"));

  LiveState live = SeedLive();
  live.instance->private_network = "projects/melodic-now-463704-k1/global/networks/default";
  live.instance->ip_addresses.push_back({"PRIVATE", "11.4.0.3"});
  config::Intent in = DirectIntent();
  Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find(kJobStep);
  REQUIRE(s);
  CHECK(s->blocked.find("set egress: ALL_TRAFFIC") != std::string::npos);
  in.workloads[0].egress = config::VpcEgress::kAllTraffic;
  plan = ComputePlan(in, live);
  CHECK(plan.Find(kJobStep)->blocked.empty());
  // A live workload already on that path is diagnosed.
  LiveState wired = live;
  Converge(DirectIntent(), wired);  // blocked: nothing moved
  wired.jobs[kJob].vpc_access = gcp::RunVpcAccess{"", "PRIVATE_RANGES_ONLY", {{"default", "default", {}}}};
  wired.jobs[kJob].containers[0].env[1].value = "postgresql://saleor@11.4.0.3:5432/saleor?sslmode=require";
  CHECK(Find(ComputePlan(DirectIntent(), wired).diagnoses, "egress-cannot-reach"));
}

TEST_CASE("direct VPC: an interface in another network than the instance's is diagnosed", "[planner][direct-vpc]") {
  LiveState live = SeedLive();
  live.instance->private_network = "projects/melodic-now-463704-k1/global/networks/default";
  live.instance->ip_addresses.push_back({"PRIVATE", kPrivateIp});
  live.jobs[kJob].vpc_access = gcp::RunVpcAccess{"", "", {{"other", "", {}}}};
  live.jobs[kJob].containers[0].env[1].value = std::string("postgresql://saleor@") + kPrivateIp + ":5432/saleor";
  const Plan plan = ComputePlan(DirectIntent(), live);
  CHECK(Find(plan.diagnoses, "direct-vpc-network-mismatch"));
}

}  // namespace dbconnd::reconcilers

namespace dbconnd::reconcilers {
TEST_CASE("direct VPC: hostile names from Google are capped in diagnoses", "[planner][direct-vpc]") {
  LiveState live = SeedLive();
  gcp::Subnetwork sn = DefaultSubnet();
  sn.network = "projects/p/global/networks/" + std::string(100000, 'x');
  live.subnetworks.emplace("default", sn);
  const Plan plan = ComputePlan(DirectIntent(), live);
  const Diagnosis* d = Find(plan.diagnoses, "subnetwork-wrong-network");
  REQUIRE(d);
  CHECK(d->problem.size() < 1000);
}
}  // namespace dbconnd::reconcilers
