// BuildExport: live state -> intent files, without I/O. Each case builds a
// snapshot by hand, exports it, and checks what a user adopting the files
// would see: the file validates, `plan` over it is empty (or observe mode
// with the reason in a comment), and no password leaks.
#include "cli/export.h"

#include <catch2/catch.hpp>

#include "config/loader.h"
#include "reconcilers/planner.h"

namespace dbconnd::cli {
namespace {

constexpr char kProject[] = "shop-prod-1234";
constexpr char kNumber[] = "123456789012";
constexpr char kRegion[] = "us-central1";

gcp::SqlInstance Instance(const std::string& name, const std::string& private_ip,
                          const std::string& public_ip) {
  gcp::SqlInstance i;
  i.project = kProject;
  i.name = name;
  i.region = kRegion;
  i.connection_name = std::string(kProject) + ":" + kRegion + ":" + name;
  i.database_version = "POSTGRES_15";
  i.state = "RUNNABLE";
  i.settings_version = "3";
  i.ssl_mode = "ENCRYPTED_ONLY";
  if (!private_ip.empty()) {
    i.private_network = std::string("projects/") + kProject + "/global/networks/default";
    i.ip_addresses.push_back({"PRIVATE", private_ip});
  }
  if (!public_ip.empty()) {
    i.ipv4_enabled = true;
    i.ip_addresses.push_back({"PRIMARY", public_ip});
  }
  return i;
}

gcp::RunWorkload Job(const std::string& name, std::vector<gcp::EnvVar> env) {
  gcp::RunWorkload w;
  w.kind = gcp::RunKind::kJob;
  w.project = kProject;
  w.region = kRegion;
  w.name = name;
  gcp::Container c;
  c.name = "main";
  c.env = std::move(env);
  w.containers.push_back(c);
  return w;
}

gcp::EnvVar SecretEnv(const std::string& name, const std::string& secret) {
  return {name, "", gcp::SecretKeyRef{secret, "latest"}};
}

ExportSnapshot PrivateFleet() {
  ExportSnapshot s;
  s.instances.push_back(Instance("orders-db", "10.70.0.3", ""));
  auto job = Job("orders-migrate",
                 {{"DATABASE_URL", "postgresql://app@10.70.0.3:5432/orders?sslmode=require", {}},
                  SecretEnv("DB_PASSWORD", "orders-db")});
  job.vpc_access = gcp::RunVpcAccess{
      std::string("projects/") + kProject + "/locations/" + kRegion + "/connectors/conn-a",
      "PRIVATE_RANGES_ONLY"};
  s.jobs[kRegion].push_back(job);
  s.services[kRegion] = {};
  gcp::Connector c;
  c.project = kProject;
  c.region = kRegion;
  c.name = "conn-a";
  c.network = "default";
  c.ip_cidr_range = "10.8.0.0/28";
  c.state = "READY";
  c.machine_type = "e2-micro";
  c.min_instances = 2;
  c.max_instances = 10;
  s.connectors[kRegion].push_back(c);
  s.peerings["default"].push_back({std::string("projects/") + kNumber + "/global/networks/default",
                                   {"google-managed-services-default"},
                                   "services/servicenetworking.googleapis.com",
                                   "servicenetworking-googleapis-com"});
  gcp::GlobalAddress a;
  a.project = kProject;
  a.name = "google-managed-services-default";
  a.address = "10.70.0.0";
  a.prefix_length = 16;
  a.network = std::string("projects/") + kProject + "/global/networks/default";
  a.purpose = "VPC_PEERING";
  a.address_type = "INTERNAL";
  s.ranges[a.name] = a;
  return s;
}

ExportOptions Options() {
  ExportOptions o;
  o.project = kProject;
  o.project_number = kNumber;
  return o;
}

// Loads the exported text as `dbconnd validate` would.
std::shared_ptr<const config::Intent> Load(const ExportedIntent& e) {
  INFO(e.error);
  REQUIRE(e.error.empty());
  config::LoadResult r = config::LoadString(e.yaml, e.name + ".yaml");
  for (const auto& d : r.diagnostics) INFO(config::FormatDiagnostic(d));
  REQUIRE(r.ok());
  REQUIRE(r.state->intents.size() == 1);
  return r.state->intents[0];
}

reconcilers::LiveState LiveOf(const ExportSnapshot& s, const std::string& instance) {
  reconcilers::LiveState live;
  for (const auto& i : s.instances) {
    if (i.name == instance) live.instance = i;
  }
  for (const auto& c : s.connectors.at(kRegion)) live.connector = c;
  for (const auto& j : s.jobs.at(kRegion)) live.jobs.emplace(j.name, j);
  if (auto p = s.peerings.find("default"); p != s.peerings.end()) {
    live.peerings = std::make_shared<const reconcilers::PeeringList>(p->second);
  }
  if (auto r = s.ranges.find("google-managed-services-default"); r != s.ranges.end()) {
    live.services_range = r->second;
  }
  return live;
}

TEST_CASE("export: a private-IP setup is declared as it is and plans no change", "[export]") {
  ExportSnapshot s = PrivateFleet();
  auto out = BuildExport(s, Options());
  REQUIRE(out.size() == 1);
  CHECK(out[0].name == "orders-db");
  CHECK_FALSE(out[0].observe);
  CHECK(out[0].notes.empty());
  auto intent = Load(out[0]);
  CHECK(intent->project_number == kNumber);
  REQUIRE(intent->instance.private_ip);
  CHECK(intent->instance.private_ip->network == "default");
  REQUIRE(intent->connector);
  CHECK(intent->connector->name == "conn-a");
  CHECK(intent->connector->max_instances == 10);
  REQUIRE(intent->workloads.size() == 1);
  const auto& w = intent->workloads[0];
  CHECK(w.name == "orders-migrate");
  CHECK(w.method == config::ConnectionMethod::kPrivateIp);
  CHECK(w.database.name == "orders");
  CHECK(w.database.user == "app");
  CHECK(w.database.password_secret ==
        std::string("projects/") + kProject + "/secrets/orders-db/versions/latest");
  CHECK(intent->policy.mode == config::PolicyMode::kEnforce);
  // The round trip, independently of the exporter's own check.
  auto plan = reconcilers::ComputePlan(*intent, LiveOf(s, "orders-db"));
  CHECK(plan.steps.empty());
  // Stable: the same state gives the same bytes.
  CHECK(BuildExport(PrivateFleet(), Options())[0].yaml == out[0].yaml);
}

TEST_CASE("export: a literal password becomes a secret to create, in observe mode", "[export]") {
  ExportSnapshot s;
  s.instances.push_back(Instance("legacy-db", "", "34.1.2.3"));
  s.jobs[kRegion].push_back(Job(
      "legacy-job", {{"DATABASE_URL", "postgresql://shop:hunter2-S3cret@34.1.2.3:5432/shop", {}},
                     {"OTHER", "x", {}}}));
  auto out = BuildExport(s, Options());
  REQUIRE(out.size() == 1);
  CHECK(out[0].observe);
  auto intent = Load(out[0]);
  CHECK(intent->policy.mode == config::PolicyMode::kObserve);
  REQUIRE(intent->workloads.size() == 1);
  CHECK(intent->workloads[0].method == config::ConnectionMethod::kPublicIp);
  CHECK(intent->workloads[0].database.password_secret == PlaceholderSecret(kProject, "legacy-job"));
  CHECK(out[0].yaml.find("CREATE-ME") != std::string::npos);
  CHECK(out[0].yaml.find("# job legacy-job: a literal password") != std::string::npos);
  CHECK(out[0].yaml.find("# policy.mode is observe") != std::string::npos);
  CHECK(out[0].yaml.find("hunter2") == std::string::npos);
  for (const auto& n : out[0].notes) CHECK(n.find("hunter2") == std::string::npos);
  CHECK_FALSE(out[0].notes.empty());
}

TEST_CASE("export: Cloud SQL socket workloads keep their volume and URL", "[export]") {
  ExportSnapshot s;
  auto inst = Instance("sock-db", "", "34.1.2.4");
  s.instances.push_back(inst);
  auto job =
      Job("sock-job",
          {{"DATABASE_URL", "postgresql://app@/app?host=/cloudsql/" + inst.connection_name, {}},
           SecretEnv("DB_PASSWORD", "projects/shop-prod-1234/secrets/sock")});
  job.cloud_sql_volumes.push_back({"cloudsql", {inst.connection_name}});
  job.containers[0].volume_mounts.push_back({"cloudsql", "/cloudsql"});
  s.jobs[kRegion].push_back(job);
  auto out = BuildExport(s, Options());
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].observe);
  auto intent = Load(out[0]);
  REQUIRE(intent->workloads.size() == 1);
  CHECK(intent->workloads[0].method == config::ConnectionMethod::kCloudSqlSocket);
  CHECK(intent->workloads[0].database.password_secret ==
        "projects/shop-prod-1234/secrets/sock/versions/latest");
}

TEST_CASE("export: what cannot be declared is left out with a comment, never guessed", "[export]") {
  ExportSnapshot s;
  auto inst = Instance("open-db", "", "34.1.2.5");
  inst.authorized_networks = {{"0.0.0.0/0", "anyone", ""},
                              {"203.0.113.0/24", "office", "2030-01-01T00:00:00Z"},
                              {"198.51.100.9", "bare", ""}};
  s.instances.push_back(inst);
  // Reaches it only by connection name, with no URL to take over.
  s.jobs[kRegion].push_back(
      Job("by-name", {{"INSTANCE_CONNECTION_NAME", inst.connection_name, {}}}));
  auto out = BuildExport(s, Options());
  REQUIRE(out.size() == 1);
  auto intent = Load(out[0]);
  REQUIRE(intent->instance.public_ip);
  REQUIRE(intent->instance.public_ip->authorized_networks.size() == 1);
  CHECK(intent->instance.public_ip->authorized_networks[0].cidr == "203.0.113.0/24");
  CHECK(intent->instance.public_ip->authorized_networks[0].expires == "2030-01-01T00:00:00Z");
  CHECK_FALSE(intent->policy.allow_world_open);
  CHECK_FALSE(intent->policy.prune_authorized_networks);
  CHECK(intent->workloads.empty());
  CHECK(out[0].yaml.find("# authorized network 0.0.0.0/0 opens the instance") != std::string::npos);
  CHECK(out[0].yaml.find("job by-name reaches this instance") != std::string::npos);
  CHECK(out[0].notes.size() == 3);
  // Nothing declared differs from live: adoption writes nothing.
  CHECK_FALSE(out[0].observe);
}

TEST_CASE("export: a workload the format would refuse is noted, and the file still validates",
          "[export]") {
  ExportSnapshot s;
  auto inst = Instance("off-db", "", "34.1.2.8");
  inst.ipv4_enabled = false;  // still reported as PRIMARY: the job is broken as it is
  s.instances.push_back(inst);
  s.jobs[kRegion].push_back(
      Job("stale", {{"DATABASE_URL", "postgresql://u@34.1.2.8:5432/d?sslmode=require", {}},
                    SecretEnv("DB_PASSWORD", "pw")}));
  auto out = BuildExport(s, Options());
  REQUIRE(out.size() == 1);
  auto intent = Load(out[0]);
  CHECK(intent->workloads.empty());
  CHECK(out[0].yaml.find("job stale connects to the public IP, which is disabled") !=
        std::string::npos);
}

TEST_CASE("export: a workload reaching two instances is declared once", "[export]") {
  ExportSnapshot s;
  s.instances.push_back(Instance("b-db", "", "34.1.2.7"));
  s.instances.push_back(Instance("a-db", "", "34.1.2.6"));
  s.jobs[kRegion].push_back(
      Job("both", {{"DATABASE_URL", "postgresql://u@34.1.2.6:5432/a?sslmode=require", {}},
                   {"REPORTS_URL", "postgresql://u@34.1.2.7:5432/b?sslmode=require", {}},
                   SecretEnv("DB_PASSWORD", "pw")}));
  auto out = BuildExport(s, Options());
  REQUIRE(out.size() == 2);
  CHECK(out[0].name == "a-db");  // sorted
  CHECK(Load(out[0])->workloads.size() == 1);
  CHECK(Load(out[1])->workloads.empty());
  CHECK(out[1].yaml.find("declared with instance a-db") != std::string::npos);
  // Both files together load as one valid desired state.
  config::LoadResult both = config::LoadString(out[0].yaml + "---\n" + out[1].yaml, "all.yaml");
  CHECK(both.ok());
}

TEST_CASE("export: a private IP without --project-number is an error, not a bad file", "[export]") {
  ExportOptions o = Options();
  o.project_number.clear();
  auto out = BuildExport(PrivateFleet(), o);
  REQUIRE(out.size() == 1);
  CHECK(out[0].yaml.empty());
  CHECK(out[0].error.find("--project-number") != std::string::npos);
}

}  // namespace
}  // namespace dbconnd::cli

namespace dbconnd::cli {
namespace {
TEST_CASE("export: a job on Direct VPC egress is declared with directVpc, no connector, and plans no change",
          "[export][direct-vpc]") {
  ExportSnapshot s = PrivateFleet();
  s.connectors[kRegion].clear();
  s.jobs[kRegion][0].vpc_access = gcp::RunVpcAccess{
      "", "PRIVATE_RANGES_ONLY",
      {{"default", std::string("projects/") + kProject + "/regions/" + kRegion + "/subnetworks/run-egress", {"db"}}}};
  auto out = BuildExport(s, Options());
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].observe);
  auto intent = Load(out[0]);
  CHECK_FALSE(intent->connector);
  REQUIRE(intent->workloads.size() == 1);
  REQUIRE(intent->workloads[0].direct_vpc);
  CHECK(intent->workloads[0].direct_vpc->network == "default");
  CHECK(intent->workloads[0].direct_vpc->subnetwork == "run-egress");
  CHECK(intent->workloads[0].direct_vpc->tags == std::vector<std::string>{"db"});
  reconcilers::LiveState live;
  live.instance = s.instances[0];
  for (const auto& j : s.jobs.at(kRegion)) live.jobs.emplace(j.name, j);
  live.peerings = std::make_shared<const reconcilers::PeeringList>(s.peerings["default"]);
  live.services_range = s.ranges["google-managed-services-default"];
  CHECK(reconcilers::ComputePlan(*intent, live).steps.empty());
}

TEST_CASE("export: a Shared VPC connector keeps its subnet and machine type, and plans no change",
          "[export][connector]") {
  ExportSnapshot s = PrivateFleet();
  gcp::Connector& c = s.connectors[kRegion][0];
  c.ip_cidr_range.clear();
  c.subnet_name = "serverless-28";
  c.subnet_project = "net-host-prod";
  c.machine_type = "e2-standard-4";
  auto out = BuildExport(s, Options());
  REQUIRE(out.size() == 1);
  INFO(out[0].yaml);
  CHECK(out[0].notes.empty());
  CHECK_FALSE(out[0].observe);
  auto intent = Load(out[0]);
  REQUIRE(intent->connector);
  REQUIRE(intent->connector->subnet);
  CHECK(intent->connector->subnet->name == "serverless-28");
  CHECK(intent->connector->subnet->project_id == "net-host-prod");
  CHECK(intent->connector->network.empty());
  CHECK(intent->connector->ip_cidr_range.empty());
  CHECK(intent->connector->machine_type == "e2-standard-4");
  REQUIRE(intent->workloads.size() == 1);
  CHECK(intent->workloads[0].method == config::ConnectionMethod::kPrivateIp);
  CHECK(reconcilers::ComputePlan(*intent, LiveOf(s, "orders-db")).steps.empty());
}

TEST_CASE("export: a connector that reports only its throughput is declared by throughput", "[export][connector]") {
  ExportSnapshot s = PrivateFleet();
  gcp::Connector& c = s.connectors[kRegion][0];
  c.min_instances = 0;
  c.max_instances = 0;
  c.min_throughput = 300;
  c.max_throughput = 700;
  auto out = BuildExport(s, Options());
  REQUIRE(out.size() == 1);
  INFO(out[0].yaml);
  CHECK_FALSE(out[0].observe);
  auto intent = Load(out[0]);
  REQUIRE(intent->connector);
  CHECK(intent->connector->by_throughput());
  CHECK(intent->connector->min_throughput == 300);
  CHECK(intent->connector->max_throughput == 700);
  CHECK(reconcilers::ComputePlan(*intent, LiveOf(s, "orders-db")).steps.empty());
}

TEST_CASE("export: Private Service Connect and connector enforcement are declared as they are", "[export][psc]") {
  ExportSnapshot s;
  s.instances.push_back(Instance("sock-db", "", "34.1.2.4"));
  gcp::SqlInstance& i = s.instances[0];
  i.psc_enabled = true;
  i.allowed_consumer_projects = {kProject, "987654321098"};
  i.psc_service_attachment_link = "projects/tp-1/regions/us-central1/serviceAttachments/a-1";
  i.connector_enforcement = "REQUIRED";
  // Under enforcement only the socket gets in.
  auto job = Job("sock-job", {{"DATABASE_URL", "postgresql://app@/app?host=/cloudsql/" + i.connection_name, {}},
                              SecretEnv("DB_PASSWORD", "projects/shop-prod-1234/secrets/sock")});
  job.cloud_sql_volumes.push_back({"cloudsql", {i.connection_name}});
  job.containers[0].volume_mounts.push_back({"cloudsql", "/cloudsql"});
  s.jobs[kRegion].push_back(job);
  s.services[kRegion] = {};
  s.connectors[kRegion] = {};
  reconcilers::LiveState live;
  live.instance = i;
  live.jobs.emplace(job.name, job);
  auto out = BuildExport(s, Options());
  REQUIRE(out.size() == 1);
  INFO(out[0].yaml);
  CHECK_FALSE(out[0].observe);
  auto intent = Load(out[0]);
  REQUIRE(intent->instance.psc);
  CHECK(intent->instance.psc->enabled);
  CHECK(intent->instance.psc->allowed_consumer_projects == std::vector<std::string>{kProject, "987654321098"});
  REQUIRE(intent->instance.connector_enforcement);
  CHECK(*intent->instance.connector_enforcement == config::ConnectorEnforcement::kRequired);
  REQUIRE(intent->workloads.size() == 1);
  CHECK(intent->workloads[0].method == config::ConnectionMethod::kCloudSqlSocket);
  CHECK(reconcilers::ComputePlan(*intent, live).steps.empty());

  // A list the file cannot hold as it is is not declared (the file's list
  // would replace the live one); the file says why.
  i.allowed_consumer_projects = {kProject, "Not A Project"};
  auto bad = BuildExport(s, Options());
  REQUIRE(bad.size() == 1);
  auto intent2 = Load(bad[0]);
  CHECK_FALSE(intent2->instance.psc);
  CHECK(bad[0].yaml.find("Private Service Connect is on") != std::string::npos);
}
}  // namespace
}  // namespace dbconnd::cli
