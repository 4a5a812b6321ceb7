// Connector options (subnet, instances, throughput, machine type) and
// connector enforcement in plans: patch in place vs replace vs blocked,
// enforcement blocked while a workload connects by raw IP.

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "config/names.h"
#include "reconcilers/connector_options.h"
#include "reconcilers/enforcement.h"
#include "reconcilers/plan.h"
#include "reconcilers/planner.h"
#include "fixtures.h"

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures

const std::string kConnectorStep = "connector/saleor-connector";
const std::string kJobStep = std::string("job/") + kJob;
const std::string kEnforceStep = "instance/saleor-db-demo/connector-enforcement";

bool Contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

LiveState ConvergedSeedLive() {
  LiveState live = SeedLive();
  Converge(SeedIntent(), live);
  return live;
}

std::string JobConnector(const LiveState& live) {
  const auto& vpc = live.jobs.at(kJob).vpc_access;
  return vpc ? vpc->connector : "";
}

bool DependsOn(const Step& s, const std::string& id) {
  return std::find(s.depends_on.begin(), s.depends_on.end(), id) != s.depends_on.end();
}

TEST_CASE("replacement connector names are valid, stable and follow the fixed fields",
          "[planner][connector]") {
  config::Connector c = *SeedIntent().connector;
  const std::string a = ReplacementConnectorName(c);
  CHECK(config::CheckConnectorId(a).ok());
  CHECK(a != c.name);
  CHECK(ReplacementConnectorName(c) == a);
  c.machine_type = "e2-standard-4";  // patchable: same replacement
  CHECK(ReplacementConnectorName(c) == a);
  c.ip_cidr_range = "10.9.0.0/28";
  CHECK(ReplacementConnectorName(c) != a);
  c.name = "a-b-c-d-e-f-g-h-i-j";  // counts 19: must still fit once suffixed
  CHECK(config::CheckConnectorId(ReplacementConnectorName(c)).ok());
}

TEST_CASE("machine type and instances change in place with one connectors.patch", "[planner][connector]") {
  config::Intent in = SeedIntent();
  LiveState live = ConvergedSeedLive();
  const std::string before = JobConnector(live);
  in.connector->machine_type = "e2-standard-4";
  in.connector->min_instances = 3;
  in.connector->max_instances = 7;
  Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find(kConnectorStep);
  REQUIRE(s);
  CHECK(StepKind(*s) == "connector-patch");
  CHECK(s->action == Action::kUpdate);
  CHECK_FALSE(s->replace());
  CHECK(s->impact() == Impact::kOnline);
  CHECK(s->blocked.empty());
  const auto& patch = std::get<gcp::ConnectorPatch>(s->payload);
  CHECK(patch.update_mask == std::vector<std::string>{"minInstances", "maxInstances", "machineType"});
  CHECK(patch.connector.name == "saleor-connector");
  CHECK(StepIds(plan) == std::vector<std::string>{kConnectorStep});  // workloads untouched
  CHECK(Converge(in, live) == std::vector<std::string>{kConnectorStep});
  CHECK(live.connector->machine_type == "e2-standard-4");
  CHECK(JobConnector(live) == before);
  CHECK(Converge(in, live).empty());  // second pass: zero writes
}

TEST_CASE("a range change is a blocked replace without allowReplace", "[planner][connector]") {
  config::Intent in = SeedIntent();
  LiveState live = ConvergedSeedLive();
  in.connector->ip_cidr_range = "10.9.0.0/28";
  const std::string replacement = ReplacementConnectorName(*in.connector);
  Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find("connector/" + replacement);
  REQUIRE(s);
  CHECK(StepKind(*s) == "connector-replace");
  CHECK(s->action == Action::kReplace);
  CHECK(s->replace());
  CHECK(Contains(s->blocked, "allowReplace"));
  CHECK(Contains(s->blocked, "leave saleor-connector"));
  // The job would move to the replacement: it waits for the blocked step.
  const Step* job = plan.Find(kJobStep);
  REQUIRE(job);
  CHECK(DependsOn(*job, s->id));
  CHECK(FirstReadyStep(plan) == nullptr);
}

TEST_CASE("replace with allowReplace creates a new connector, moves the job, keeps the old one",
          "[planner][connector]") {
  config::Intent in = SeedIntent();
  LiveState live = ConvergedSeedLive();
  in.connector->ip_cidr_range = "10.9.0.0/28";
  in.policy.allow_replace = true;
  const std::string replacement = ReplacementConnectorName(*in.connector);
  const auto executed = Converge(in, live);
  CHECK(executed == std::vector<std::string>{"connector/" + replacement, kJobStep});
  REQUIRE(live.connector);
  CHECK(live.connector->name == "saleor-connector");  // never deleted
  CHECK(live.connector->ip_cidr_range == "10.8.0.0/28");
  REQUIRE(live.replacement_connector);
  CHECK(live.replacement_connector->ip_cidr_range == "10.9.0.0/28");
  CHECK(Contains(JobConnector(live), "/connectors/" + replacement));
  Plan after = ComputePlan(in, live);
  CHECK(after.steps.empty());
  const auto note = std::find_if(after.notes.begin(), after.notes.end(),
                                 [](const Diagnosis& d) { return d.code == "connector-replaced"; });
  REQUIRE(note != after.notes.end());
  CHECK(Contains(note->fix, "never deletes"));
  CHECK(Converge(in, live).empty());
}

TEST_CASE("a replacement whose range overlaps the old connector's is blocked", "[planner][connector]") {
  config::Intent in = SeedIntent();
  LiveState live = ConvergedSeedLive();
  in.connector->min_throughput = 300;  // throughput is fixed at creation
  in.connector->max_throughput = 700;
  in.policy.allow_replace = true;
  Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find("connector/" + ReplacementConnectorName(*in.connector));
  REQUIRE(s);
  CHECK(StepKind(*s) == "connector-replace");
  CHECK(Contains(s->blocked, "overlaps 10.8.0.0/28"));
  in.connector->ip_cidr_range = "10.9.0.0/28";
  plan = ComputePlan(in, live);
  s = plan.Find("connector/" + ReplacementConnectorName(*in.connector));
  REQUIRE(s);
  CHECK(s->blocked.empty());
  CHECK(std::get<gcp::Connector>(s->payload).max_throughput == 700);
  CHECK(std::get<gcp::Connector>(s->payload).max_instances == 0);  // throughput, not instances, is sent
}

TEST_CASE("a Shared VPC subnet connector: created with the subnet, moved to with allowReplace",
          "[planner][connector]") {
  config::Intent in = SeedIntent();
  in.connector->network.clear();
  in.connector->ip_cidr_range.clear();
  in.connector->subnet = config::ConnectorSubnet{"serverless-28", "host-project"};
  {
    LiveState fresh = SeedLive();
    Plan plan = ComputePlan(in, fresh);
    const Step* s = plan.Find(kConnectorStep);
    REQUIRE(s);
    CHECK(StepKind(*s) == "connector-create");
    const auto& c = std::get<gcp::Connector>(s->payload);
    CHECK(c.subnet_name == "serverless-28");
    CHECK(c.subnet_project == "host-project");
    CHECK(c.network.empty());
    CHECK(c.ip_cidr_range.empty());
  }
  LiveState live = ConvergedSeedLive();  // a connector on network default, 10.8.0.0/28
  Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find("connector/" + ReplacementConnectorName(*in.connector));
  REQUIRE(s);
  CHECK(Contains(s->blocked, "allowReplace"));
  in.policy.allow_replace = true;
  const auto executed = Converge(in, live);
  CHECK(executed.size() == 2);
  REQUIRE(live.replacement_connector);
  CHECK(live.replacement_connector->subnet_name == "serverless-28");
  CHECK(ComputePlan(in, live).steps.empty());
}

TEST_CASE("a connector not READY is waited for, and in ERROR it is blocked", "[planner][connector]") {
  config::Intent in = SeedIntent();
  LiveState live = ConvergedSeedLive();
  live.connector->state = "UPDATING";
  Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find(kConnectorStep);
  REQUIRE(s);
  CHECK(StepKind(*s) == "connector-wait");
  CHECK_FALSE(s->waiting_for.empty());
  live.connector->state = "ERROR";
  plan = ComputePlan(in, live);
  s = plan.Find(kConnectorStep);
  REQUIRE(s);
  CHECK(Contains(s->blocked, "ERROR"));
}

// ---- connector enforcement ------------------------------------------------------

TEST_CASE("enforcement is blocked while a declared workload connects by raw IP", "[planner][enforcement]") {
  config::Intent in = SeedIntent();
  in.instance.connector_enforcement = config::ConnectorEnforcement::kRequired;
  LiveState live = ConvergedSeedLive();
  Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find(kEnforceStep);
  REQUIRE(s);
  CHECK(StepKind(*s) == "connector-enforcement");
  CHECK(s->impact() == Impact::kConnectivityBreak);
  CHECK(Contains(s->blocked, std::string("job ") + kJob + " is declared with method privateIp"));
  CHECK(FirstReadyStep(plan) == nullptr);
  CHECK(Converge(in, live).empty());
  CHECK(live.instance->connector_enforcement.empty());
}

TEST_CASE("enforcement waits for the workloads moving to the socket, then turns on", "[planner][enforcement]") {
  config::Intent in = SeedIntent();
  LiveState live = ConvergedSeedLive();
  in.instance.connector_enforcement = config::ConnectorEnforcement::kRequired;
  in.instance.iam_authentication.reset();
  in.workloads[0].method = config::ConnectionMethod::kCloudSqlSocket;
  Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find(kEnforceStep);
  REQUIRE(s);
  CHECK(s->blocked.empty());
  CHECK(DependsOn(*s, kJobStep));
  CHECK(FirstReadyStep(plan)->id == kJobStep);
  const auto executed = Converge(in, live);
  CHECK(executed == std::vector<std::string>{kJobStep, kEnforceStep});
  CHECK(live.instance->connector_enforcement == "REQUIRED");
  CHECK(Converge(in, live).empty());
}

TEST_CASE("enforcement is blocked while a workload outside the file uses the instance's IP",
          "[planner][enforcement]") {
  config::Intent in = SeedIntent();
  LiveState live = ConvergedSeedLive();
  in.instance.connector_enforcement = config::ConnectorEnforcement::kRequired;
  in.instance.iam_authentication.reset();
  in.workloads[0].method = config::ConnectionMethod::kCloudSqlSocket;
  gcp::RunWorkload other = SeedJob();
  other.name = "reporting";
  other.containers[0].env[1].value = std::string("postgresql://r@") + kPrivateIp + "/db";
  // Undeclared: only the region index holds it.
  auto region = std::make_shared<WorkloadIndex>();
  region->emplace("reporting", other);
  live.all_jobs = region;
  Converge(in, live);
  const Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find(kEnforceStep);
  REQUIRE(s);
  CHECK(Contains(s->blocked, "job reporting (not in this file)"));
  CHECK(live.instance->connector_enforcement.empty());
}

TEST_CASE("relaxing enforcement rides in the instance's first step, before workloads move",
          "[planner][enforcement]") {
  config::Intent in = SeedIntent();
  LiveState live = ConvergedSeedLive();
  live.instance->connector_enforcement = "REQUIRED";
  in.instance.connector_enforcement = config::ConnectorEnforcement::kNotRequired;
  Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find("instance/saleor-db-demo");
  REQUIRE(s);
  CHECK(s->impact() == Impact::kOnline);
  CHECK(std::get<gcp::SqlInstancePatch>(s->payload).connector_enforcement == "NOT_REQUIRED");
  CHECK(plan.Find(kEnforceStep) == nullptr);
  Converge(in, live);
  CHECK(live.instance->connector_enforcement == "NOT_REQUIRED");
  CHECK(ComputePlan(in, live).steps.empty());
}

TEST_CASE("a move between connector and Direct VPC egress is its own step kind", "[planner][direct-vpc]") {
  config::Intent in = SeedIntent();
  LiveState live = ConvergedSeedLive();
  in.workloads[0].direct_vpc = config::DirectVpc{"default", "default", {}};
  const Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find(kJobStep);
  REQUIRE(s);
  CHECK(StepKind(*s) == "direct-vpc-switch");
  // Any other workload change keeps the generic kind.
  LiveState fresh = SeedLive();
  Converge(SeedIntent(), fresh);
  fresh.jobs[kJob].containers[0].env[1].value = "postgresql://x@1.2.3.4/db";
  const Plan other_plan = ComputePlan(SeedIntent(), fresh);
  const Step* other = other_plan.Find(kJobStep);
  REQUIRE(other);
  CHECK(StepKind(*other) == "job-update");
}

}  // namespace
}  // namespace dbconnd::reconcilers
