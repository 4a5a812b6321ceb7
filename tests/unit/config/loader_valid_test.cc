#include <catch2/catch.hpp>

#include "config/loader.h"
#include "test_util.h"

namespace dbconnd::config {
namespace {

using testing::Doc;
using testing::Dump;

std::string Example(const char* name) { return std::string(DBCONND_SOURCE_DIR) + "/examples/" + name; }

TEST_CASE("examples/saleor.yaml is the seed incident, fixed", "[config][examples]") {
  LoadResult r = LoadPaths({Example("saleor.yaml")});
  INFO(Dump(r));
  REQUIRE(r.ok());
  REQUIRE(r.diagnostics.empty());
  REQUIRE(r.state->intents.size() == 1);
  const Intent& in = *r.state->intents[0];
  CHECK(in.name == "saleor");
  CHECK(in.project == "melodic-now-463704-k1");
  CHECK(in.project_number == "493827161123");
  CHECK(in.region == "us-central1");
  CHECK(in.instance.name == "saleor-db-demo");
  CHECK(in.instance.ssl_mode == SslMode::kEncryptedOnly);
  CHECK(in.instance.iam_authentication == true);
  REQUIRE(in.instance.public_ip.has_value());
  CHECK_FALSE(in.instance.public_ip->enabled);
  REQUIRE(in.instance.private_ip.has_value());
  CHECK(in.instance.private_ip->network == "default");
  CHECK(in.instance.private_ip->services_access.range_name == "google-managed-services-default");
  CHECK(in.instance.private_ip->services_access.prefix_length == 16);
  REQUIRE(in.connector.has_value());
  CHECK(in.connector->name == "saleor-connector");
  CHECK(in.connector->network == "default");
  CHECK(in.connector->ip_cidr_range == "10.8.0.0/28");
  CHECK(in.connector->min_instances == 2);
  CHECK(in.connector->max_instances == 3);
  CHECK(in.connector->machine_type == "e2-micro");
  REQUIRE(in.workloads.size() == 1);
  const Workload& w = in.workloads[0];
  CHECK(w.kind == WorkloadKind::kJob);
  CHECK(w.name == "saleor-migration-1751028053");
  CHECK(w.method == ConnectionMethod::kPrivateIp);
  CHECK(w.url_env == "DATABASE_URL");
  CHECK(w.egress == VpcEgress::kPrivateRangesOnly);
  CHECK(w.database.name == "saleor");
  CHECK(w.database.user == "saleor");
  CHECK(w.database.password_secret ==
        "projects/melodic-now-463704-k1/secrets/saleor-db/versions/latest");
  // Left out: the planner picks the engine's variable (PGPASSWORD for PostgreSQL).
  CHECK(w.database.password_env.empty());
  CHECK(w.where.line == 30);
  CHECK(in.policy.mode == PolicyMode::kEnforce);
  CHECK(in.policy.prune_authorized_networks);
  CHECK(in.policy.allow_irreversible);
  CHECK_FALSE(in.policy.allow_world_open);
  CHECK(in.policy.resync_interval == std::chrono::seconds(60));
}

TEST_CASE("every example validates, the alternatives to saleor.yaml on their own", "[config][examples]") {
  // saleor-direct-vpc.yaml fixes the same incident as saleor.yaml another
  // way: the two are alternatives, and loading both is refused (two files
  // managing one instance differently). It is checked on its own below.
  LoadResult alone = LoadPaths({Example("saleor-direct-vpc.yaml")});
  INFO(Dump(alone));
  REQUIRE(alone.ok());
  CHECK(alone.diagnostics.empty());
  REQUIRE(alone.state->intents.size() == 1);
  REQUIRE(alone.state->intents[0]->workloads.size() == 1);
  const auto& direct = alone.state->intents[0]->workloads[0].direct_vpc;
  REQUIRE(direct);
  CHECK(direct->network == "default");
  CHECK(direct->subnetwork == "default");
  CHECK_FALSE(alone.state->intents[0]->connector);
  CHECK_FALSE(LoadPaths({Example("saleor.yaml"), Example("saleor-direct-vpc.yaml")}).ok());

  // saleor-psc.yaml: the same incident through Private Service Connect.
  LoadResult psc = LoadPaths({Example("saleor-psc.yaml")});
  INFO(Dump(psc));
  REQUIRE(psc.ok());
  CHECK(psc.diagnostics.empty());
  REQUIRE(psc.state->intents.size() == 1);
  const auto& psc_intent = *psc.state->intents[0];
  REQUIRE(psc_intent.instance.psc);
  CHECK(psc_intent.instance.psc->enabled);
  CHECK(psc_intent.instance.psc->allowed_consumer_projects == std::vector<std::string>{"melodic-now-463704-k1"});
  REQUIRE(psc_intent.workloads.size() == 1);
  CHECK(psc_intent.workloads[0].method == ConnectionMethod::kPsc);
  REQUIRE(psc_intent.workloads[0].psc);
  CHECK(psc_intent.workloads[0].psc->endpoint == "saleor-db-psc");
  CHECK(psc_intent.workloads[0].psc->address == "saleor-db-psc-ip");
  CHECK(psc_intent.workloads[0].direct_vpc);
  CHECK_FALSE(psc_intent.connector);
  CHECK_FALSE(psc_intent.instance.private_ip);

  LoadResult r = LoadPaths({Example("saleor.yaml"), Example("public-ip.yaml"), Example("cloudsql-socket.yaml")});
  INFO(Dump(r));
  REQUIRE(r.ok());
  CHECK(r.diagnostics.empty());
  CHECK(r.files.size() == 3);
  REQUIRE(r.state->intents.size() == 4);
  // Sorted by name.
  CHECK(r.state->intents[0]->name == "ledger");
  CHECK(r.state->intents[1]->name == "ledger-reports");
  CHECK(r.state->intents[2]->name == "saleor");
  CHECK(r.state->intents[3]->name == "storefront");
}

TEST_CASE("public-ip example keeps authorized networks, expiry and durations", "[config][examples]") {
  LoadResult r = LoadPaths({Example("public-ip.yaml")});
  INFO(Dump(r));
  REQUIRE(r.ok());
  const Intent& in = *r.state->intents[0];
  REQUIRE(in.instance.public_ip);
  const auto& nets = in.instance.public_ip->authorized_networks;
  REQUIRE(nets.size() == 3);
  CHECK(nets[0].name == "cloud-nat");
  CHECK(nets[0].cidr == "198.51.100.7/32");
  CHECK(nets[2].expires == "2027-12-31T23:59:59Z");
  CHECK(nets[1].where.line == 20);
  CHECK(in.policy.resync_interval == std::chrono::minutes(5));
  CHECK(in.workloads[0].kind == WorkloadKind::kService);
  CHECK(in.workloads[0].container == "api");
  CHECK(in.workloads[0].database.password_env == "PGPASSWORD");
}

TEST_CASE("a Shared VPC connector serves psc and socket workloads (its network is the host's)",
          "[config][valid]") {
  LoadResult r = LoadString(Doc("    psc: {enabled: true, allowedConsumerProjects: [my-project-123]}\n"
                                "    privateIp: {network: default}\n"
                                "    publicIp: {enabled: false}\n"
                                "  connector:\n"
                                "    name: shared-conn\n"
                                "    subnet: {name: serverless-28, projectId: host-project}\n"
                                "  workloads:\n"
                                "    - job: migrate\n"
                                "      method: psc\n"
                                "      psc: {endpoint: db1-psc, address: db1-psc-ip, network: default}\n"
                                "      database: {name: shop, user: shop, passwordSecret: projects/my-project-123/secrets/db/versions/1}\n"
                                "    - job: worker\n"
                                "      method: cloudSqlSocket\n"
                                "      database: {name: shop, user: shop, passwordSecret: projects/my-project-123/secrets/db/versions/1}\n"),
                            "shared.yaml");
  INFO(Dump(r));
  REQUIRE(r.ok());
  REQUIRE(r.state->intents[0]->connector->subnet);
}

TEST_CASE("minimal document: only the instance, nothing else managed", "[config][valid]") {
  LoadResult r = LoadString(Doc(""), "min.yaml");
  INFO(Dump(r));
  REQUIRE(r.ok());
  const Intent& in = *r.state->intents[0];
  CHECK_FALSE(in.instance.ssl_mode.has_value());
  CHECK_FALSE(in.instance.iam_authentication.has_value());
  CHECK_FALSE(in.instance.public_ip.has_value());
  CHECK_FALSE(in.instance.private_ip.has_value());
  CHECK_FALSE(in.connector.has_value());
  CHECK(in.workloads.empty());
  CHECK(in.where.line == 1);
  CHECK(in.instance.where.line == 9);
}

TEST_CASE("multi-document file: empty documents are skipped", "[config][valid]") {
  std::string two = "---\n" + Doc("") + "---\n# only a comment\n---\n" +
                    testing::DocWith("{name: app}", "{name: app2}");
  // Two intents on the same instance with identical settings are allowed.
  LoadResult r = LoadString(two, "multi.yaml");
  INFO(Dump(r));
  REQUIRE(r.ok());
  REQUIRE(r.state->intents.size() == 2);
  CHECK(r.state->intents[1]->name == "app2");
  CHECK(r.state->intents[1]->where.line == 14);
}

TEST_CASE("services access: cidr sets prefixLength, default range name follows network", "[config][valid]") {
  LoadResult r = LoadString(Doc("    privateIp:\n"
                                "      network: vpc-a\n"
                                "      servicesAccess: {cidr: 10.20.0.0/20}\n"),
                            "psa.yaml");
  INFO(Dump(r));
  REQUIRE(r.ok());
  const auto& psa = r.state->intents[0]->instance.private_ip->services_access;
  CHECK(psa.cidr == "10.20.0.0/20");
  CHECK(psa.prefix_length == 20);
  CHECK(psa.range_name == "google-managed-services-vpc-a");
}

TEST_CASE("IAM authentication makes passwordSecret optional", "[config][valid]") {
  LoadResult r = LoadString(Doc("    iamAuthentication: true\n"
                                "    publicIp: {enabled: true}\n"
                                "  workloads:\n"
                                "    - job: migrate\n"
                                "      method: cloudSqlSocket\n"
                                "      database: {name: app, user: sa@my-project-123.iam}\n"),
                            "iam.yaml");
  INFO(Dump(r));
  REQUIRE(r.ok());
  CHECK(r.state->intents[0]->workloads[0].database.password_secret.empty());
}

TEST_CASE("env placeholders in a URL are not literal passwords", "[config][valid]") {
  // $(DB_PASSWORD) is Cloud Run's interpolation of another env var.
  LoadResult r = LoadString(Doc("  # postgresql://u:$(DB_PASSWORD)@host/db in a comment is ignored\n"
                                "  workloads: []\n"
                                "metadata2: postgresql://u:$(DB_PASSWORD)@host/db\n"),
                            "p.yaml");
  INFO(Dump(r));
  CHECK(testing::FindError(r, "metadata2", "literal password") == nullptr);
  CHECK(testing::FindError(r, "metadata2", "unknown key") != nullptr);
}

TEST_CASE("policy fields decode", "[config][valid]") {
  LoadResult r = LoadString(Doc("  policy:\n"
                                "    mode: observe\n"
                                "    paused: true\n"
                                "    allowReplace: true\n"
                                "    verify: true\n"
                                "    allowWorldOpen: false\n"
                                "    resyncInterval: 1h30m\n"),
                            "pol.yaml");
  INFO(Dump(r));
  REQUIRE(r.ok());
  const Policy& p = r.state->intents[0]->policy;
  CHECK(p.mode == PolicyMode::kObserve);
  CHECK(p.paused);
  CHECK(p.allow_replace);
  CHECK(p.verify);
  CHECK(p.resync_interval == std::chrono::seconds(5400));
}

TEST_CASE("allowWorldOpen turns 0.0.0.0/0 into a warning", "[config][valid]") {
  LoadResult r = LoadString(Doc("    publicIp:\n"
                                "      enabled: true\n"
                                "      authorizedNetworks:\n"
                                "        - {name: world, cidr: 0.0.0.0/0}\n"
                                "  policy: {allowWorldOpen: true}\n"),
                            "w.yaml");
  INFO(Dump(r));
  REQUIRE(r.ok());
  const Diagnostic* d = testing::FindWarning(r, "spec.instance.publicIp.authorizedNetworks[0].cidr",
                                             "every address on the internet");
  REQUIRE(d != nullptr);
  CHECK(d->where.line == 13);
}

TEST_CASE("FormatDiagnostic is compiler style", "[config]") {
  Diagnostic d;
  d.where = {"a.yaml", 3, 7};
  d.path = "spec.region";
  d.message = "bad";
  CHECK(FormatDiagnostic(d) == "a.yaml:3:7: error: spec.region: bad");
  d.where = {"a.yaml", 0, 0};
  d.path.clear();
  d.severity = Diagnostic::Severity::kWarning;
  CHECK(FormatDiagnostic(d) == "a.yaml: warning: bad");
}


TEST_CASE("privateIp through Direct VPC egress needs no connector", "[config][direct-vpc]") {
  LoadResult r = LoadString(
      "apiVersion: dbconnd.dev/v1alpha1\nkind: DatabaseConnectivity\nmetadata: {name: app}\nspec:\n"
      "  project: my-project-123\n  projectNumber: \"123456789012\"\n  region: us-central1\n"
      "  instance:\n    name: db1\n    privateIp: {network: default}\n"
      "  workloads:\n    - job: migrate\n      method: privateIp\n      egress: ALL_TRAFFIC\n"
      "      directVpc:\n        network: default\n"
      "        subnetwork: projects/host-project-1/regions/us-central1/subnetworks/shared\n"
      "        tags: [db-client, migrate]\n"
      "      database: {name: app, user: app, passwordSecret: projects/p/secrets/s/versions/1}\n",
      "direct.yaml");
  INFO(Dump(r));
  REQUIRE(r.ok());
  CHECK(r.diagnostics.empty());
  const Workload& w = r.state->intents[0]->workloads[0];
  REQUIRE(w.direct_vpc);
  CHECK(w.direct_vpc->network == "default");
  CHECK(w.direct_vpc->subnetwork == "projects/host-project-1/regions/us-central1/subnetworks/shared");
  CHECK(w.direct_vpc->tags == std::vector<std::string>{"db-client", "migrate"});
  CHECK(w.egress == VpcEgress::kAllTraffic);
  // Without directVpc the same file needs a connector.
  LoadResult without = LoadString(
      "apiVersion: dbconnd.dev/v1alpha1\nkind: DatabaseConnectivity\nmetadata: {name: app}\nspec:\n"
      "  project: my-project-123\n  projectNumber: \"123456789012\"\n  region: us-central1\n"
      "  instance:\n    name: db1\n    privateIp: {network: default}\n"
      "  workloads:\n    - job: migrate\n      method: privateIp\n"
      "      database: {name: app, user: app, passwordSecret: projects/p/secrets/s/versions/1}\n",
      "connector.yaml");
  CHECK(testing::FindError(without, "spec.workloads[0].method", "directVpc: {network: default}"));
}

TEST_CASE("privateIp without projectNumber loads: the number is looked up", "[config][project-number]") {
  LoadResult r = LoadString(
      "apiVersion: dbconnd.dev/v1alpha1\nkind: DatabaseConnectivity\nmetadata: {name: app}\nspec:\n"
      "  project: my-project-123\n  region: us-central1\n"
      "  instance:\n    name: db1\n    privateIp: {network: default}\n",
      "no-number.yaml");
  INFO(Dump(r));
  REQUIRE(r.ok());
  CHECK(r.diagnostics.empty());
  CHECK(r.state->intents[0]->project_number.empty());
}

}  // namespace
}  // namespace dbconnd::config
