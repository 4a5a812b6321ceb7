// Private Service Connect as a connection path: the instance publishes a
// service attachment, allow-lists the workload's project, an endpoint
// (address + forwarding rule) is created in the workload's VPC, the workload
// moves to the endpoint's IP, and only then is the public IP turned off.

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "reconcilers/plan.h"
#include "reconcilers/planner.h"
#include "reconcilers/psc.h"
#include "fixtures.h"

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures

constexpr char kAttachment[] = "projects/a1b2c3-tp/regions/us-central1/serviceAttachments/a-psc-service-attachment";
constexpr char kEndpointIp[] = "10.128.0.2";
const std::string kJobStep = std::string("job/") + kJob;

// The seed incident moved to PSC: no private services access at all.
config::Intent PscIntent() {
  config::Intent in = SeedIntent();
  in.instance.iam_authentication.reset();  // a password user: the URL is wired
  in.instance.private_ip.reset();
  in.connector.reset();
  in.instance.psc = config::Psc{true, {kProject}};
  auto& w = in.workloads[0];
  w.method = config::ConnectionMethod::kPsc;
  w.direct_vpc = config::DirectVpc{"default", "default", {}};
  w.psc = config::PscEndpoint{"saleor-db-psc", "saleor-db-psc-ip", "default", "default"};
  return in;
}

gcp::Subnetwork DefaultSubnet(const std::string& region = kRegion, const std::string& network = "default") {
  gcp::Subnetwork s;
  s.project = kProject;
  s.name = "default";
  s.region = "https://www.googleapis.com/compute/v1/projects/melodic-now-463704-k1/regions/" + region;
  s.network = "https://www.googleapis.com/compute/v1/projects/melodic-now-463704-k1/global/networks/" + network;
  s.ip_cidr_range = "10.128.0.0/20";
  return s;
}

LiveState PscLive() {
  LiveState live = SeedLive();
  live.subnetworks.emplace("default", DefaultSubnet());
  live.psc_addresses.emplace("saleor-db-psc-ip", NotFoundError("no address"));
  live.psc_endpoints.emplace("saleor-db-psc", NotFoundError("no rule"));
  return live;
}

// Google's side of each step, for the PSC payloads; the rest as fixtures.h.
bool SimulatePsc(const config::Intent& in, const Step& step, LiveState& live) {
  if (auto* patch = std::get_if<gcp::SqlInstancePatch>(&step.payload);
      patch && (patch->psc_enabled || patch->allowed_consumer_projects)) {
    auto& i = *live.instance;
    if (patch->settings_version != i.settings_version) return false;
    if (patch->psc_enabled) {
      i.psc_enabled = *patch->psc_enabled;
      i.psc_service_attachment_link = i.psc_enabled ? kAttachment : "";
      i.dns_name = i.psc_enabled ? "abc.def.us-central1.sql.goog." : "";
    }
    if (patch->allowed_consumer_projects) i.allowed_consumer_projects = *patch->allowed_consumer_projects;
    i.settings_version = std::to_string(std::stoi(i.settings_version) + 1);
    // The rule's status follows the allow-list.
    if (auto it = live.psc_endpoints.find("saleor-db-psc"); it != live.psc_endpoints.end() && it->second.ok()) {
      const auto& l = i.allowed_consumer_projects;
      it->second->psc_connection_status =
          std::find(l.begin(), l.end(), in.project) != l.end() ? "ACCEPTED" : "PENDING";
    }
    return true;
  }
  if (auto* a = std::get_if<gcp::RegionAddress>(&step.payload)) {
    gcp::RegionAddress got = *a;
    got.address = kEndpointIp;
    got.status = "RESERVED";
    got.network = "https://www.googleapis.com/compute/v1/projects/melodic-now-463704-k1/global/networks/default";
    got.region_url = "https://www.googleapis.com/compute/v1/projects/melodic-now-463704-k1/regions/us-central1";
    live.psc_addresses.insert_or_assign(a->name, got);
    return true;
  }
  if (auto* r = std::get_if<gcp::ForwardingRule>(&step.payload)) {
    if (r->target.empty()) return false;  // Compute refuses a rule without target
    gcp::ForwardingRule got = *r;
    got.ip_address = kEndpointIp;
    const auto& l = live.instance->allowed_consumer_projects;
    got.psc_connection_status = std::find(l.begin(), l.end(), in.project) != l.end() ? "ACCEPTED" : "PENDING";
    live.psc_endpoints.insert_or_assign(r->name, got);
    return true;
  }
  return Simulate(step, live);
}

std::vector<std::string> ConvergePsc(const config::Intent& in, LiveState& live) {
  std::vector<std::string> done;
  for (int i = 0; i < 20; ++i) {
    Plan plan = ComputePlan(in, live);
    const Step* step = FirstReadyStep(plan);
    if (!step) break;
    if (!SimulatePsc(in, *step, live)) break;
    done.push_back(step->id);
  }
  return done;
}

const Diagnosis* FindDiag(const std::vector<Diagnosis>& list, const std::string& code) {
  for (const auto& d : list) {
    if (d.code == code) return &d;
  }
  return nullptr;
}

std::string Url(const LiveState& live) {
  const gcp::EnvVar* e = Env(live.jobs.at(kJob).containers[0], "DATABASE_URL");
  return e ? e->value : "";
}

}  // namespace

TEST_CASE("psc: the seed incident converges in order, the URL on the endpoint's IP", "[planner][psc]") {
  const config::Intent in = PscIntent();
  LiveState live = PscLive();
  const auto executed = ConvergePsc(in, live);
  CHECK(executed == std::vector<std::string>{"instance/saleor-db-demo",  // sslMode
                                             PscStepId(kInstance), PscConsumersStepId(kInstance),
                                             "pscAddress/saleor-db-psc-ip", "pscEndpoint/saleor-db-psc", kJobStep,
                                             "instance/saleor-db-demo/public-path"});
  CHECK(Url(live) == std::string("postgresql://saleor@") + kEndpointIp + ":5432/saleor?sslmode=require");
  REQUIRE(live.jobs[kJob].vpc_access);
  CHECK(live.jobs[kJob].vpc_access->connector.empty());
  CHECK(live.psc_endpoints.at("saleor-db-psc")->target == kAttachment);
  CHECK_FALSE(live.instance->ipv4_enabled);

  // Converged: nothing to do, and the plan says why the URL holds an IP.
  Plan again = ComputePlan(in, live);
  CHECK(again.steps.empty());
  const Diagnosis* note = FindDiag(again.notes, "psc-url-uses-ip");
  REQUIRE(note);
  CHECK_THAT(note->problem, Catch::Contains(kEndpointIp));
  CHECK_THAT(note->problem, Catch::Contains("abc.def.us-central1.sql.goog."));
}

TEST_CASE("psc: the forwarding rule waits for the service attachment, the workload for the endpoint",
          "[planner][psc]") {
  const config::Intent in = PscIntent();
  Plan plan = ComputePlan(in, PscLive());
  const Step* rule = plan.Find("pscEndpoint/saleor-db-psc");
  REQUIRE(rule);
  CHECK_THAT(rule->waiting_for, Catch::Contains("service attachment"));
  CHECK(std::find(rule->depends_on.begin(), rule->depends_on.end(), "pscAddress/saleor-db-psc-ip") !=
        rule->depends_on.end());
  CHECK(std::find(rule->depends_on.begin(), rule->depends_on.end(), PscConsumersStepId(kInstance)) !=
        rule->depends_on.end());
  const Step* job = plan.Find(kJobStep);
  REQUIRE(job);
  CHECK_FALSE(job->waiting_for.empty());
  CHECK(std::find(job->depends_on.begin(), job->depends_on.end(), "pscEndpoint/saleor-db-psc") !=
        job->depends_on.end());
  const Step* pub = plan.Find("instance/saleor-db-demo/public-path");
  REQUIRE(pub);
  CHECK(std::find(pub->depends_on.begin(), pub->depends_on.end(), kJobStep) != pub->depends_on.end());
}

TEST_CASE("psc: a consumer project the instance does not allow blocks the endpoint and the workload",
          "[planner][psc]") {
  config::Intent in = PscIntent();
  in.instance.psc->allowed_consumer_projects = {"some-other-project"};
  LiveState live = PscLive();
  Plan plan = ComputePlan(in, live);
  REQUIRE(FindDiag(plan.diagnoses, "psc-consumer-not-allowed"));
  REQUIRE(plan.Find("pscEndpoint/saleor-db-psc"));
  CHECK_FALSE(plan.Find("pscEndpoint/saleor-db-psc")->blocked.empty());
  REQUIRE(plan.Find(kJobStep));
  CHECK_FALSE(plan.Find(kJobStep)->blocked.empty());
  // The public path is never broken for a workload that cannot move.
  const auto executed = ConvergePsc(in, live);
  CHECK(std::find(executed.begin(), executed.end(), "pscEndpoint/saleor-db-psc") == executed.end());
  CHECK(std::find(executed.begin(), executed.end(), "instance/saleor-db-demo/public-path") == executed.end());
  CHECK(live.instance->ipv4_enabled);
}

TEST_CASE("psc: an existing endpoint the instance left PENDING is diagnosed when the live list lacks the project",
          "[planner][psc]") {
  config::Intent in = PscIntent();
  LiveState live = PscLive();
  live.instance->psc_enabled = true;
  live.instance->psc_service_attachment_link = kAttachment;
  live.instance->allowed_consumer_projects = {kProject};
  gcp::RegionAddress a;
  a.name = "saleor-db-psc-ip";
  a.address = kEndpointIp;
  a.network = "projects/melodic-now-463704-k1/global/networks/default";
  live.psc_addresses.insert_or_assign(a.name, a);
  gcp::ForwardingRule r;
  r.name = "saleor-db-psc";
  r.ip_address = kEndpointIp;
  r.network = "projects/melodic-now-463704-k1/global/networks/default";
  r.target = kAttachment;
  r.psc_connection_status = "PENDING";
  live.psc_endpoints.insert_or_assign(r.name, r);
  // Allowed live: the workload only waits for the acceptance.
  Plan waiting = ComputePlan(in, live);
  REQUIRE(waiting.Find(kJobStep));
  CHECK_THAT(waiting.Find(kJobStep)->waiting_for, Catch::Contains("PENDING"));
  CHECK_FALSE(FindDiag(waiting.diagnoses, "psc-consumer-not-allowed"));
  // Declared and live without it: the diagnosis names the fix.
  in.instance.psc->allowed_consumer_projects = {"123456"};
  live.instance->allowed_consumer_projects = {"123456"};
  Plan blocked = ComputePlan(in, live);
  const Diagnosis* d = FindDiag(blocked.diagnoses, "psc-consumer-not-allowed");
  REQUIRE(d);
  CHECK_THAT(d->fix, Catch::Contains(kProject));
  CHECK_FALSE(blocked.Find(kJobStep)->blocked.empty());
}

TEST_CASE("psc: an endpoint in another network or region blocks the move with the fix", "[planner][psc]") {
  SECTION("the live forwarding rule is in another network") {
    config::Intent in = PscIntent();
    LiveState live = PscLive();
    live.instance->psc_enabled = true;
    live.instance->psc_service_attachment_link = kAttachment;
    live.instance->allowed_consumer_projects = {kProject};
    gcp::RegionAddress a;
    a.name = "saleor-db-psc-ip";
    a.address = "10.9.0.5";
    a.network = "https://www.googleapis.com/compute/v1/projects/melodic-now-463704-k1/global/networks/other";
    live.psc_addresses.insert_or_assign(a.name, a);
    Plan plan = ComputePlan(in, live);
    const Diagnosis* d = FindDiag(plan.diagnoses, "psc-endpoint-wrong-network");
    REQUIRE(d);
    CHECK_THAT(d->problem, Catch::Contains("other"));
    REQUIRE(plan.Find(kJobStep));
    CHECK_FALSE(plan.Find(kJobStep)->blocked.empty());
    REQUIRE(plan.Find("pscEndpoint/saleor-db-psc"));
    CHECK_FALSE(plan.Find("pscEndpoint/saleor-db-psc")->blocked.empty());
  }
  SECTION("the subnetwork is in another region") {
    config::Intent in = PscIntent();
    LiveState live = PscLive();
    live.subnetworks.insert_or_assign("default", DefaultSubnet("europe-west1"));
    Plan plan = ComputePlan(in, live);
    REQUIRE(FindDiag(plan.diagnoses, "psc-endpoint-wrong-region"));
    REQUIRE(plan.Find("pscAddress/saleor-db-psc-ip"));
    CHECK_FALSE(plan.Find("pscAddress/saleor-db-psc-ip")->blocked.empty());
  }
  SECTION("the instance is in another region than the workloads") {
    config::Intent in = PscIntent();
    LiveState live = PscLive();
    live.instance->region = "europe-west1";
    Plan plan = ComputePlan(in, live);
    const Diagnosis* d = FindDiag(plan.diagnoses, "psc-endpoint-wrong-region");
    REQUIRE(d);
    CHECK_THAT(d->problem, Catch::Contains("europe-west1"));
    const Step* first = FirstReadyStep(plan);
    CHECK((first == nullptr || first->resource.kind == ResourceKind::kInstance));
  }
}

TEST_CASE("psc: moves from private IP and from the socket keep make-before-break", "[planner][psc]") {
  SECTION("from private IP through a connector") {
    config::Intent in = PscIntent();
    in.workloads[0].direct_vpc.reset();
    config::Connector c;
    c.name = "saleor-connector";
    c.network = "default";
    c.ip_cidr_range = "10.8.0.0/28";
    in.connector = c;
    LiveState live = PscLive();
    live.instance->private_network = "projects/melodic-now-463704-k1/global/networks/default";
    live.instance->ip_addresses.push_back({"PRIVATE", kPrivateIp});
    gcp::Connector lc;
    lc.project = kProject;
    lc.region = kRegion;
    lc.name = "saleor-connector";
    lc.network = "default";
    lc.ip_cidr_range = "10.8.0.0/28";
    lc.state = "READY";
    lc.min_instances = 2;
    lc.max_instances = 3;
    lc.machine_type = "e2-micro";
    live.connector = lc;
    auto& env = live.jobs[kJob].containers[0].env;
    for (auto& e : env) {
      if (e.name == "DATABASE_URL") e.value = std::string("postgresql://saleor@") + kPrivateIp + ":5432/saleor";
    }
    live.jobs[kJob].vpc_access = gcp::RunVpcAccess{
        "projects/melodic-now-463704-k1/locations/us-central1/connectors/saleor-connector", "PRIVATE_RANGES_ONLY"};
    const auto executed = ConvergePsc(in, live);
    const auto pos = [&](const std::string& id) { return std::find(executed.begin(), executed.end(), id) - executed.begin(); };
    REQUIRE(pos("pscEndpoint/saleor-db-psc") < static_cast<long>(executed.size()));
    CHECK(pos("pscEndpoint/saleor-db-psc") < pos(kJobStep));
    CHECK(pos(kJobStep) < pos("instance/saleor-db-demo/public-path"));
    CHECK(Url(live) == std::string("postgresql://saleor@") + kEndpointIp + ":5432/saleor?sslmode=require");
    CHECK(live.jobs[kJob].vpc_access->connector.ends_with("/connectors/saleor-connector"));
  }
  SECTION("from the Cloud SQL socket") {
    config::Intent in = PscIntent();
    LiveState live = PscLive();
    for (auto& e : live.jobs[kJob].containers[0].env) {
      if (e.name == "DATABASE_URL") e.value = std::string("postgresql://saleor@/saleor?host=/cloudsql/") + kConnection;
    }
    live.jobs[kJob].cloud_sql_volumes.push_back({"cloudsql", {kConnection}});
    const auto executed = ConvergePsc(in, live);
    CHECK(std::find(executed.begin(), executed.end(), kJobStep) != executed.end());
    CHECK(Url(live).find(kEndpointIp) != std::string::npos);
    CHECK(ComputePlan(in, live).steps.empty());
  }
}
}  // namespace dbconnd::reconcilers
