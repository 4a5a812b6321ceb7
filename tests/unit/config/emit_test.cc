// config::EmitIntentYaml: what `dbconnd export` writes must load back as the
// same intent, byte-stable, and comments must not be able to inject YAML.
#include "config/emit.h"

#include <catch2/catch.hpp>

#include "config/fingerprint.h"
#include "config/loader.h"

namespace dbconnd::config {
namespace {

Intent Rich() {
  Intent in;
  in.name = "orders";
  in.project = "shop-prod-1234";
  in.project_number = "123456789012";
  in.region = "europe-west1";
  in.instance.name = "orders-db";
  in.instance.ssl_mode = SslMode::kTrustedClientCertificateRequired;
  in.instance.iam_authentication = true;
  PublicIp pub;
  pub.enabled = true;
  pub.authorized_networks = {{"office: HQ # main", "203.0.113.0/24", "2026-12-31T23:59:59Z", {}},
                             {"true", "198.51.100.7/32", "", {}}};
  in.instance.public_ip = pub;
  PrivateIp pip;
  pip.network = "shared";
  pip.services_access.range_name = "psa-range";
  pip.services_access.prefix_length = 20;
  in.instance.private_ip = pip;
  Connector c;
  c.name = "orders-conn";
  c.network = "shared";
  c.ip_cidr_range = "10.9.0.16/28";
  c.min_instances = 3;
  c.max_instances = 7;
  c.machine_type = "f1-micro";
  in.connector = c;
  Workload w;
  w.kind = WorkloadKind::kService;
  w.name = "api";
  w.method = ConnectionMethod::kPrivateIp;
  w.container = "app";
  w.url_env = "ORDERS_DB_URL";
  w.egress = VpcEgress::kAllTraffic;
  w.database = {"orders", "sa@shop-prod-1234.iam", "", "ORDERS_DB_PASSWORD"};
  in.workloads.push_back(w);
  Workload j;
  j.kind = WorkloadKind::kJob;
  j.name = "migrate";
  j.method = ConnectionMethod::kCloudSqlSocket;
  j.database = {"orders", "migrator", "projects/shop-prod-1234/secrets/orders-db/versions/3",
                "DB_PASSWORD"};
  in.workloads.push_back(j);
  in.policy.mode = PolicyMode::kObserve;
  in.policy.prune_authorized_networks = true;
  in.policy.verify = true;
  in.policy.resync_interval = std::chrono::seconds(300);
  return in;
}

void CheckSame(const Intent& a, const Intent& b) {
  // Every field of the model, whatever the checks below list by hand.
  CHECK(Fingerprint(a) == Fingerprint(b));
  CHECK(a.name == b.name);
  CHECK(a.project == b.project);
  CHECK(a.project_number == b.project_number);
  CHECK(a.region == b.region);
  CHECK(a.instance.name == b.instance.name);
  CHECK(a.instance.ssl_mode == b.instance.ssl_mode);
  CHECK(a.instance.iam_authentication == b.instance.iam_authentication);
  REQUIRE(a.instance.public_ip.has_value() == b.instance.public_ip.has_value());
  if (a.instance.public_ip) {
    CHECK(a.instance.public_ip->enabled == b.instance.public_ip->enabled);
    REQUIRE(a.instance.public_ip->authorized_networks.size() ==
            b.instance.public_ip->authorized_networks.size());
    for (size_t i = 0; i < a.instance.public_ip->authorized_networks.size(); ++i) {
      const auto& x = a.instance.public_ip->authorized_networks[i];
      const auto& y = b.instance.public_ip->authorized_networks[i];
      CHECK(x.name == y.name);
      CHECK(x.cidr == y.cidr);
      CHECK(x.expires == y.expires);
    }
  }
  REQUIRE(a.instance.private_ip.has_value() == b.instance.private_ip.has_value());
  if (a.instance.private_ip) {
    CHECK(a.instance.private_ip->network == b.instance.private_ip->network);
    CHECK(a.instance.private_ip->services_access.range_name ==
          b.instance.private_ip->services_access.range_name);
    CHECK(a.instance.private_ip->services_access.prefix_length ==
          b.instance.private_ip->services_access.prefix_length);
  }
  REQUIRE(a.connector.has_value() == b.connector.has_value());
  if (a.connector) {
    CHECK(a.connector->name == b.connector->name);
    CHECK(a.connector->network == b.connector->network);
    CHECK(a.connector->ip_cidr_range == b.connector->ip_cidr_range);
    CHECK(a.connector->min_instances == b.connector->min_instances);
    CHECK(a.connector->max_instances == b.connector->max_instances);
    CHECK(a.connector->machine_type == b.connector->machine_type);
  }
  REQUIRE(a.workloads.size() == b.workloads.size());
  for (size_t i = 0; i < a.workloads.size(); ++i) {
    const auto& x = a.workloads[i];
    const auto& y = b.workloads[i];
    CHECK(x.kind == y.kind);
    CHECK(x.name == y.name);
    CHECK(x.method == y.method);
    CHECK(x.container == y.container);
    CHECK(x.url_env == y.url_env);
    CHECK(x.egress == y.egress);
    CHECK(x.direct_vpc == y.direct_vpc);
    CHECK(x.database.name == y.database.name);
    CHECK(x.database.user == y.database.user);
    CHECK(x.database.password_secret == y.database.password_secret);
    CHECK(x.database.password_env == y.database.password_env);
  }
  CHECK(a.policy.mode == b.policy.mode);
  CHECK(a.policy.prune_authorized_networks == b.policy.prune_authorized_networks);
  CHECK(a.policy.verify == b.policy.verify);
  CHECK(a.policy.resync_interval == b.policy.resync_interval);
}

TEST_CASE("emit: an intent loads back equal, every non-default field included", "[emit]") {
  const Intent in = Rich();
  std::string yaml = EmitIntentYaml(in);
  LoadResult r = LoadString(yaml, "rich.yaml");
  INFO(yaml);
  for (const auto& d : r.diagnostics) INFO(FormatDiagnostic(d));
  REQUIRE(r.ok());
  REQUIRE(r.state->intents.size() == 1);
  CheckSame(in, *r.state->intents[0]);
  // Deterministic: the same intent, the same bytes.
  CHECK(EmitIntentYaml(Rich()) == yaml);
}

TEST_CASE("emit: defaults are left out, so files stay short", "[emit]") {
  Intent in = Rich();
  in.instance.private_ip->services_access.prefix_length = 16;
  in.connector->min_instances = 2;
  in.connector->max_instances = 3;
  in.connector->machine_type = "e2-micro";
  in.policy = Policy{};
  std::string yaml = EmitIntentYaml(in);
  CHECK(yaml.find("prefixLength") == std::string::npos);
  CHECK(yaml.find("minInstances") == std::string::npos);
  CHECK(yaml.find("machineType") == std::string::npos);
  CHECK(yaml.find("policy") == std::string::npos);
  REQUIRE(LoadString(yaml, "short.yaml").ok());
}

TEST_CASE("emit: scalars YAML would read as something else are quoted", "[emit]") {
  CHECK(EmitYamlScalar("db-1") == "db-1");
  CHECK(EmitYamlScalar("10.8.0.0/28") == "10.8.0.0/28");
  CHECK(EmitYamlScalar("true") == "\"true\"");
  CHECK(EmitYamlScalar("No") == "\"No\"");
  CHECK(EmitYamlScalar("null") == "\"null\"");
  CHECK(EmitYamlScalar("123456789012") == "\"123456789012\"");
  CHECK(EmitYamlScalar("1e3") == "\"1e3\"");
  CHECK(EmitYamlScalar("2026-12-31T23:59:59Z") == "\"2026-12-31T23:59:59Z\"");
  CHECK(EmitYamlScalar("") == "\"\"");
  CHECK(EmitYamlScalar("a: b # c") == "\"a: b # c\"");
}

TEST_CASE("emit: comments wrap and cannot break out into YAML", "[emit]") {
  Intent in = Rich();
  EmitComments c;
  c.header = {"line one\nkind: Evil\r\n- x"};
  c.workloads = {{std::string(300, 'w') + " tail"}, {}};
  c.policy = {"observe: " + std::string(40, 'a') + " " + std::string(40, 'b') + " " +
              std::string(40, 'c')};
  std::string yaml = EmitIntentYaml(in, c);
  INFO(yaml);
  for (size_t pos = 0; pos < yaml.size();) {
    size_t end = yaml.find('\n', pos);
    std::string line = yaml.substr(pos, end - pos);
    size_t hash = line.find_first_not_of(' ');
    if (hash != std::string::npos && line[hash] == '#') CHECK(line.size() <= 100 + 300);
    pos = end + 1;
  }
  CHECK(yaml.find("\nkind: Evil") == std::string::npos);
  LoadResult r = LoadString(yaml, "commented.yaml");
  REQUIRE(r.ok());
  CheckSame(in, *r.state->intents[0]);
}

}  // namespace
}  // namespace dbconnd::config

namespace dbconnd::config {
TEST_CASE("emit: a Direct VPC workload loads back equal", "[emit][direct-vpc]") {
  auto r0 = LoadPaths({std::string(DBCONND_SOURCE_DIR) + "/examples/saleor-direct-vpc.yaml"});
  REQUIRE(r0.ok());
  Intent in = *r0.state->intents[0];
  in.workloads[0].direct_vpc->tags = {"db-client"};
  std::string yaml = EmitIntentYaml(in);
  INFO(yaml);
  CHECK(yaml.find("directVpc:") != std::string::npos);
  LoadResult r = LoadString(yaml, "direct.yaml");
  for (const auto& d : r.diagnostics) INFO(FormatDiagnostic(d));
  REQUIRE(r.ok());
  CheckSame(in, *r.state->intents[0]);
}
}  // namespace dbconnd::config
