// config::Fingerprint: derived from every field of the model, so an edit to
// any of them is seen by the controller's reload; where a value was written
// is not part of it.
#include "config/fingerprint.h"

#include <boost/pfr/core.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace dbconnd::config {
namespace {

Intent Rich() {
  Intent in;
  in.name = "orders";
  in.project = "shop-prod-1234";
  in.project_number = "123456789012";
  in.region = "europe-west1";
  in.instance.name = "orders-db";
  in.instance.ssl_mode = SslMode::kEncryptedOnly;
  in.instance.iam_authentication = false;
  PublicIp pub;
  pub.enabled = true;
  pub.authorized_networks = {{"office", "203.0.113.0/24", "2026-12-31T23:59:59Z", {}}};
  in.instance.public_ip = pub;
  PrivateIp pip;
  pip.network = "shared";
  pip.services_access.range_name = "psa-range";
  in.instance.private_ip = pip;
  Connector c;
  c.name = "orders-conn";
  c.network = "shared";
  c.ip_cidr_range = "10.9.0.16/28";
  in.connector = c;
  Workload w;
  w.name = "migrate";
  w.database = {"orders", "migrator", "projects/p/secrets/s/versions/3", ""};
  in.workloads.push_back(w);
  Workload direct = w;
  direct.name = "api";
  direct.direct_vpc = DirectVpc{"default", "", {}};
  in.workloads.push_back(direct);
  return in;
}

TEST_CASE("fingerprint: every edit a user can make changes it", "[config][fingerprint]") {
  using Edit = std::pair<const char*, std::function<void(Intent&)>>;
  const std::vector<Edit> edits = {
      {"name", [](Intent& i) { i.name = "orders2"; }},
      {"project", [](Intent& i) { i.project = "other"; }},
      {"project number", [](Intent& i) { i.project_number = "1"; }},
      {"region", [](Intent& i) { i.region = "us-east1"; }},
      {"instance name", [](Intent& i) { i.instance.name = "x"; }},
      {"ssl mode", [](Intent& i) { i.instance.ssl_mode = SslMode::kAllowUnencryptedAndEncrypted; }},
      {"ssl mode unmanaged", [](Intent& i) { i.instance.ssl_mode.reset(); }},
      {"iam auth", [](Intent& i) { i.instance.iam_authentication = true; }},
      {"public ip off", [](Intent& i) { i.instance.public_ip->enabled = false; }},
      {"public ip unmanaged", [](Intent& i) { i.instance.public_ip.reset(); }},
      {"network name", [](Intent& i) { i.instance.public_ip->authorized_networks[0].name = "hq"; }},
      {"network cidr",
       [](Intent& i) { i.instance.public_ip->authorized_networks[0].cidr = "203.0.113.0/25"; }},
      {"network expiry",
       [](Intent& i) { i.instance.public_ip->authorized_networks[0].expires = ""; }},
      {"second network",
       [](Intent& i) {
         i.instance.public_ip->authorized_networks.push_back({"b", "198.51.100.1/32", "", {}});
       }},
      {"private network", [](Intent& i) { i.instance.private_ip->network = "default"; }},
      {"range name", [](Intent& i) { i.instance.private_ip->services_access.range_name = "r"; }},
      {"range cidr",
       [](Intent& i) { i.instance.private_ip->services_access.cidr = "10.20.0.0/16"; }},
      {"range prefix", [](Intent& i) { i.instance.private_ip->services_access.prefix_length = 20; }},
      {"no connector", [](Intent& i) { i.connector.reset(); }},
      {"connector name", [](Intent& i) { i.connector->name = "c2"; }},
      {"connector network", [](Intent& i) { i.connector->network = "default"; }},
      {"connector range", [](Intent& i) { i.connector->ip_cidr_range = "10.8.0.0/28"; }},
      {"connector min", [](Intent& i) { i.connector->min_instances = 3; }},
      {"connector max", [](Intent& i) { i.connector->max_instances = 9; }},
      {"connector machine", [](Intent& i) { i.connector->machine_type = "f1-micro"; }},
      {"connector subnet", [](Intent& i) { i.connector->subnet = ConnectorSubnet{"s28", ""}; }},
      {"connector subnet host", [](Intent& i) { i.connector->subnet = ConnectorSubnet{"s28", "host"}; }},
      {"connector min throughput", [](Intent& i) { i.connector->min_throughput = 300; }},
      {"connector max throughput", [](Intent& i) { i.connector->max_throughput = 900; }},
      {"connector enforcement",
       [](Intent& i) { i.instance.connector_enforcement = ConnectorEnforcement::kRequired; }},
      {"workload kind", [](Intent& i) { i.workloads[0].kind = WorkloadKind::kService; }},
      {"workload name", [](Intent& i) { i.workloads[0].name = "m2"; }},
      {"method", [](Intent& i) { i.workloads[0].method = ConnectionMethod::kCloudSqlSocket; }},
      {"container", [](Intent& i) { i.workloads[0].container = "app"; }},
      {"url env", [](Intent& i) { i.workloads[0].url_env = "DB_URL"; }},
      {"egress", [](Intent& i) { i.workloads[0].egress = VpcEgress::kAllTraffic; }},
      {"direct vpc", [](Intent& i) { i.workloads[1].direct_vpc.reset(); }},
      {"direct vpc network", [](Intent& i) { i.workloads[1].direct_vpc->network = "shared"; }},
      {"direct vpc subnetwork", [](Intent& i) { i.workloads[1].direct_vpc->subnetwork = "sub-a"; }},
      {"direct vpc tags", [](Intent& i) { i.workloads[1].direct_vpc->tags.push_back("db"); }},
      {"instance psc", [](Intent& i) { i.instance.psc = Psc{true, {"consumer-1"}}; }},
      {"instance psc off", [](Intent& i) { i.instance.psc = Psc{false, {}}; }},
      {"workload psc", [](Intent& i) { i.workloads[1].psc = PscEndpoint{"ep", "ep-ip", "default", ""}; }},
      {"workload psc subnetwork", [](Intent& i) { i.workloads[1].psc = PscEndpoint{"ep", "ep-ip", "default", "sub-a"}; }},
      {"database", [](Intent& i) { i.workloads[0].database.name = "other"; }},
      {"user", [](Intent& i) { i.workloads[0].database.user = "u"; }},
      {"secret", [](Intent& i) { i.workloads[0].database.password_secret = "projects/p/secrets/t/versions/1"; }},
      {"password env", [](Intent& i) { i.workloads[0].database.password_env = "PGPASSWORD"; }},
      {"second workload", [](Intent& i) { i.workloads.push_back(i.workloads[0]); }},
      {"mode", [](Intent& i) { i.policy.mode = PolicyMode::kObserve; }},
      {"prune", [](Intent& i) { i.policy.prune_authorized_networks = true; }},
      {"world open", [](Intent& i) { i.policy.allow_world_open = true; }},
      {"paused", [](Intent& i) { i.policy.paused = true; }},
      {"irreversible", [](Intent& i) { i.policy.allow_irreversible = true; }},
      {"replace", [](Intent& i) { i.policy.allow_replace = true; }},
      {"verify", [](Intent& i) { i.policy.verify = true; }},
      {"resync", [](Intent& i) { i.policy.resync_interval = std::chrono::seconds(61); }},
  };
  const std::string base = Fingerprint(Rich());
  std::set<std::string> seen = {base};
  for (const auto& [what, edit] : edits) {
    Intent changed = Rich();
    edit(changed);
    const std::string fp = Fingerprint(changed);
    INFO(what);
    CHECK(fp != base);
    CHECK(seen.insert(fp).second);  // no two edits spell the same model
  }
}

TEST_CASE("fingerprint: the model's shape is covered by the edits above",
          "[config][fingerprint]") {
  // When a field is added to one of these structs, the edits table above
  // gains a row for it and this count moves with it. The fingerprint itself
  // picks the field up without a change.
  CHECK(boost::pfr::tuple_size_v<Intent> == 9);
  CHECK(boost::pfr::tuple_size_v<Instance> == 8);
  CHECK(boost::pfr::tuple_size_v<AuthorizedNetwork> == 4);
  CHECK(boost::pfr::tuple_size_v<PublicIp> == 2);
  CHECK(boost::pfr::tuple_size_v<PrivateIp> == 2);
  CHECK(boost::pfr::tuple_size_v<PrivateServicesAccess> == 3);
  CHECK(boost::pfr::tuple_size_v<Connector> == 10);
  CHECK(boost::pfr::tuple_size_v<ConnectorSubnet> == 2);
  CHECK(boost::pfr::tuple_size_v<Workload> == 10);
  CHECK(boost::pfr::tuple_size_v<Psc> == 2);
  CHECK(boost::pfr::tuple_size_v<PscEndpoint> == 4);
  CHECK(boost::pfr::tuple_size_v<DirectVpc> == 3);
  CHECK(boost::pfr::tuple_size_v<DatabaseIdentity> == 4);
  CHECK(boost::pfr::tuple_size_v<Policy> == 8);
}

TEST_CASE("fingerprint: where a value is written is not part of it", "[config][fingerprint]") {
  Intent moved = Rich();
  moved.where.line = 40;
  moved.instance.where.line = 41;
  moved.instance.public_ip->authorized_networks[0].where.line = 42;
  moved.workloads[0].where.column = 7;
  CHECK(Fingerprint(moved) == Fingerprint(Rich()));
}

TEST_CASE("fingerprint: values cannot run into each other", "[config][fingerprint]") {
  Intent a = Rich();
  Intent b = Rich();
  a.project = "ab";
  a.region = "c";
  b.project = "a";
  b.region = "bc";
  CHECK(Fingerprint(a) != Fingerprint(b));
  Intent c = Rich();
  Intent d = Rich();
  c.instance.public_ip->authorized_networks.clear();
  d.instance.public_ip->authorized_networks.clear();
  c.instance.public_ip->authorized_networks.push_back({"x;1", "", "", {}});
  d.instance.public_ip->authorized_networks.push_back({"x", "1", "", {}});
  CHECK(Fingerprint(c) != Fingerprint(d));
}

}  // namespace
}  // namespace dbconnd::config
