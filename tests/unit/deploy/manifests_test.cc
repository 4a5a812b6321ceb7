// The deployment artifacts in deploy/ carry the settings docs/DEPLOY.md
// promises: parsed with yaml-cpp and checked field by field.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = DBCONND_SOURCE_DIR;
const fs::path kBase = kRoot / "deploy/kubernetes/base";
const fs::path kOverlay = kRoot / "deploy/kubernetes/overlays/example";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  INFO(p.string());
  REQUIRE(in.good());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

YAML::Node Load(const fs::path& p) {
  INFO("parsing " << p.string());
  YAML::Node n;
  REQUIRE_NOTHROW(n = YAML::LoadFile(p.string()));
  REQUIRE(n.IsMap());
  return n;
}

std::vector<std::string> Strings(const YAML::Node& n) {
  std::vector<std::string> out;
  if (!n || !n.IsSequence()) return out;
  for (const auto& item : n) out.push_back(item.as<std::string>());
  return out;
}

std::map<std::string, std::string> StringMap(const YAML::Node& n) {
  std::map<std::string, std::string> out;
  if (!n || !n.IsMap()) return out;
  for (const auto& kv : n) out[kv.first.as<std::string>()] = kv.second.as<std::string>();
  return out;
}

// The base's resources by kind.
std::map<std::string, YAML::Node> BaseByKind() {
  std::map<std::string, YAML::Node> out;
  for (const auto& f : Strings(Load(kBase / "kustomization.yaml")["resources"])) {
    YAML::Node n = Load(kBase / f);
    out[n["kind"].as<std::string>()] = n;
  }
  return out;
}

bool Matches(const std::map<std::string, std::string>& selector,
             const std::map<std::string, std::string>& labels) {
  if (selector.empty()) return false;
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

std::string RunCommand(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = ::pclose(p);
  return out;
}

}  // namespace

TEST_CASE("base kustomization lists exactly the manifests in the folder", "[deploy]") {
  YAML::Node k = Load(kBase / "kustomization.yaml");
  CHECK(k["kind"].as<std::string>() == "Kustomization");
  CHECK(k["namespace"].as<std::string>() == "dbconnd");
  std::set<std::string> listed;
  for (const auto& f : Strings(k["resources"])) {
    CHECK(listed.insert(f).second);
    CHECK(fs::exists(kBase / f));
  }
  std::set<std::string> present;
  for (const auto& e : fs::directory_iterator(kBase)) {
    std::string name = e.path().filename().string();
    if (e.path().extension() == ".yaml" && name != "kustomization.yaml") present.insert(name);
  }
  CHECK(listed == present);
  std::set<std::string> kinds;
  for (const auto& f : listed) {
    YAML::Node n = Load(kBase / f);
    INFO(f);
    CHECK(n["apiVersion"]);
    CHECK(n["metadata"]["name"]);
    kinds.insert(n["kind"].as<std::string>());
    if (n["kind"].as<std::string>() != "Namespace") {
      CHECK(n["metadata"]["namespace"].as<std::string>() == "dbconnd");
    }
  }
  CHECK(kinds == std::set<std::string>{"Namespace", "ServiceAccount", "Role", "RoleBinding",
                                       "ConfigMap", "Deployment", "Service", "ServiceMonitor",
                                       "PodDisruptionBudget", "PrometheusRule"});
}

TEST_CASE("deployment: two leader-elected replicas, probes, resources, hardening", "[deploy]") {
  auto by_kind = BaseByKind();
  YAML::Node d = by_kind.at("Deployment");
  CHECK(d["apiVersion"].as<std::string>() == "apps/v1");
  CHECK(d["spec"]["replicas"].as<int>() == 2);
  YAML::Node pod = d["spec"]["template"]["spec"];
  auto pod_labels = StringMap(d["spec"]["template"]["metadata"]["labels"]);
  CHECK(Matches(StringMap(d["spec"]["selector"]["matchLabels"]), pod_labels));
  CHECK(pod["serviceAccountName"].as<std::string>() ==
        by_kind.at("ServiceAccount")["metadata"]["name"].as<std::string>());

  YAML::Node psc = pod["securityContext"];
  CHECK(psc["runAsNonRoot"].as<bool>());
  CHECK(psc["runAsUser"].as<int>() != 0);
  CHECK(psc["seccompProfile"]["type"].as<std::string>() == "RuntimeDefault");
  bool spread = false;
  for (const auto& t : pod["topologySpreadConstraints"]) {
    spread |= Matches(StringMap(t["labelSelector"]["matchLabels"]), pod_labels);
  }
  CHECK((spread || pod["affinity"]["podAntiAffinity"]));

  REQUIRE(pod["containers"].size() == 1);
  YAML::Node c = pod["containers"][0];
  CHECK(Strings(c["args"]) ==
        std::vector<std::string>{"run", "--config", "/etc/dbconnd", "--listen", "0.0.0.0:9090",
                                 "--state-dir", "/var/lib/dbconnd", "--leader-elect",
                                 "--leader-elect-namespace", "$(POD_NAMESPACE)"});
  std::map<std::string, std::string> env_fields;
  for (const auto& e : c["env"]) {
    env_fields[e["name"].as<std::string>()] = e["valueFrom"]["fieldRef"]["fieldPath"].as<std::string>();
  }
  CHECK(env_fields["POD_NAME"] == "metadata.name");
  CHECK(env_fields["POD_NAMESPACE"] == "metadata.namespace");

  std::map<std::string, int> ports;
  for (const auto& p : c["ports"]) ports[p["name"].as<std::string>()] = p["containerPort"].as<int>();
  CHECK(ports["metrics"] == 9090);
  CHECK(c["livenessProbe"]["httpGet"]["path"].as<std::string>() == "/healthz");
  CHECK(c["readinessProbe"]["httpGet"]["path"].as<std::string>() == "/readyz");
  CHECK(c["livenessProbe"]["httpGet"]["port"].as<std::string>() == "metrics");
  CHECK(c["readinessProbe"]["httpGet"]["port"].as<std::string>() == "metrics");

  CHECK(c["resources"]["requests"]["cpu"].as<std::string>() == "10m");
  CHECK(c["resources"]["requests"]["memory"].as<std::string>() == "32Mi");
  CHECK(c["resources"]["limits"]["memory"].as<std::string>() == "128Mi");
  CHECK_FALSE(c["resources"]["limits"]["cpu"]);  // no CPU throttling of renewals

  YAML::Node sc = c["securityContext"];
  CHECK(sc["readOnlyRootFilesystem"].as<bool>());
  CHECK_FALSE(sc["allowPrivilegeEscalation"].as<bool>());
  CHECK(sc["runAsNonRoot"].as<bool>());
  CHECK(Strings(sc["capabilities"]["drop"]) == std::vector<std::string>{"ALL"});
  CHECK_FALSE(sc["capabilities"]["add"]);
  CHECK(sc["seccompProfile"]["type"].as<std::string>() == "RuntimeDefault");

  // Mounts: config from the ConfigMap (read-only), state on an emptyDir.
  std::map<std::string, YAML::Node> volumes;
  for (const auto& v : pod["volumes"]) volumes[v["name"].as<std::string>()] = YAML::Node(v);
  std::map<std::string, std::string> mounts;
  for (const auto& m : c["volumeMounts"]) mounts[m["mountPath"].as<std::string>()] = m["name"].as<std::string>();
  REQUIRE(mounts.count("/etc/dbconnd") == 1);
  REQUIRE(mounts.count("/var/lib/dbconnd") == 1);
  CHECK(volumes.at(mounts["/etc/dbconnd"])["configMap"]["name"].as<std::string>() ==
        by_kind.at("ConfigMap")["metadata"]["name"].as<std::string>());
  CHECK(volumes.at(mounts["/var/lib/dbconnd"])["emptyDir"]);
}

TEST_CASE("RBAC is limited to the dbconnd Lease", "[deploy]") {
  auto by_kind = BaseByKind();
  YAML::Node role = by_kind.at("Role");
  bool lease_rule = false, create_rule = false;
  for (const auto& r : role["rules"]) {
    CHECK(Strings(r["apiGroups"]) == std::vector<std::string>{"coordination.k8s.io"});
    CHECK(Strings(r["resources"]) == std::vector<std::string>{"leases"});
    auto verbs = Strings(r["verbs"]);
    CHECK(std::find(verbs.begin(), verbs.end(), "*") == verbs.end());
    CHECK(std::find(verbs.begin(), verbs.end(), "delete") == verbs.end());
    CHECK(std::find(verbs.begin(), verbs.end(), "list") == verbs.end());
    if (r["resourceNames"]) {
      CHECK(Strings(r["resourceNames"]) == std::vector<std::string>{"dbconnd"});
      CHECK(verbs == std::vector<std::string>{"get", "update", "patch"});
      lease_rule = true;
    } else {
      // create cannot be scoped by name; it must be the only unscoped verb.
      CHECK(verbs == std::vector<std::string>{"create"});
      create_rule = true;
    }
  }
  CHECK(lease_rule);
  CHECK(create_rule);
  CHECK(ReadFile(kBase / "role.yaml").find("cannot be limited by resourceNames") != std::string::npos);

  YAML::Node rb = by_kind.at("RoleBinding");
  CHECK(rb["roleRef"]["kind"].as<std::string>() == "Role");
  CHECK(rb["roleRef"]["name"].as<std::string>() == role["metadata"]["name"].as<std::string>());
  REQUIRE(rb["subjects"].size() == 1);
  CHECK(rb["subjects"][0]["kind"].as<std::string>() == "ServiceAccount");
  CHECK(rb["subjects"][0]["name"].as<std::string>() ==
        by_kind.at("ServiceAccount")["metadata"]["name"].as<std::string>());

  std::string gsa = by_kind.at("ServiceAccount")["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]
                        .as<std::string>();
  CHECK(gsa.size() > std::string(".iam.gserviceaccount.com").size());
  CHECK(gsa.find(".iam.gserviceaccount.com") == gsa.size() - std::string(".iam.gserviceaccount.com").size());
}

TEST_CASE("service, ServiceMonitor and PDB select the pods", "[deploy]") {
  auto by_kind = BaseByKind();
  auto pod_labels = StringMap(by_kind.at("Deployment")["spec"]["template"]["metadata"]["labels"]);
  YAML::Node svc = by_kind.at("Service");
  CHECK(Matches(StringMap(svc["spec"]["selector"]), pod_labels));
  std::set<std::string> svc_ports;
  for (const auto& p : svc["spec"]["ports"]) {
    svc_ports.insert(p["name"].as<std::string>());
    if (p["name"].as<std::string>() == "metrics") {
      CHECK(p["port"].as<int>() == 9090);
      CHECK(p["targetPort"].as<std::string>() == "metrics");
    }
  }
  CHECK(svc_ports.count("metrics") == 1);
  // The alerts expect job="dbconnd": the ServiceMonitor's job is the Service name.
  CHECK(svc["metadata"]["name"].as<std::string>() == "dbconnd");

  YAML::Node sm = by_kind.at("ServiceMonitor");
  CHECK(sm["apiVersion"].as<std::string>() == "monitoring.coreos.com/v1");
  CHECK(Matches(StringMap(sm["spec"]["selector"]["matchLabels"]), StringMap(svc["metadata"]["labels"])));
  REQUIRE(sm["spec"]["endpoints"].size() >= 1);
  for (const auto& e : sm["spec"]["endpoints"]) {
    CHECK(svc_ports.count(e["port"].as<std::string>()) == 1);
    CHECK(e["path"].as<std::string>() == "/metrics");
  }

  YAML::Node pdb = by_kind.at("PodDisruptionBudget");
  CHECK(pdb["apiVersion"].as<std::string>() == "policy/v1");
  CHECK(pdb["spec"]["minAvailable"].as<int>() == 1);
  CHECK(Matches(StringMap(pdb["spec"]["selector"]["matchLabels"]), pod_labels));
}

TEST_CASE("ConfigMap carries the example desired state", "[deploy]") {
  auto by_kind = BaseByKind();
  auto data = StringMap(by_kind.at("ConfigMap")["data"]);
  REQUIRE(data.count("saleor.yaml") == 1);
  CHECK(data["saleor.yaml"] == ReadFile(kRoot / "examples/saleor.yaml"));
  YAML::Node intent = YAML::Load(data["saleor.yaml"]);
  CHECK(intent["kind"].as<std::string>() == "DatabaseConnectivity");
}

TEST_CASE("PrometheusRule is generated from deploy/prometheus/alerts.yaml and current", "[deploy]") {
  YAML::Node rule = Load(kBase / "prometheusrule.yaml");
  CHECK(rule["apiVersion"].as<std::string>() == "monitoring.coreos.com/v1");
  CHECK(rule["kind"].as<std::string>() == "PrometheusRule");
  YAML::Node alerts = Load(kRoot / "deploy/prometheus/alerts.yaml");
  CHECK(YAML::Dump(rule["spec"]["groups"]) == YAML::Dump(alerts["groups"]));
  int status = 0;
  std::string generated =
      RunCommand("bash '" + (kRoot / "deploy/gen-prometheusrule.sh").string() + "' --stdout", &status);
  REQUIRE(status == 0);
  INFO("run deploy/gen-prometheusrule.sh to regenerate");
  CHECK(generated == ReadFile(kBase / "prometheusrule.yaml"));
}

TEST_CASE("example overlay builds on the base", "[deploy]") {
  YAML::Node k = Load(kOverlay / "kustomization.yaml");
  CHECK(Strings(k["resources"]) == std::vector<std::string>{"../../base"});
  CHECK(k["namespace"]);
  // The image it sets is the one the base Deployment uses.
  auto by_kind = BaseByKind();
  std::string base_image =
      by_kind.at("Deployment")["spec"]["template"]["spec"]["containers"][0]["image"].as<std::string>();
  REQUIRE(k["images"].size() == 1);
  CHECK(k["images"][0]["name"].as<std::string>() == base_image);
  CHECK(k["images"][0]["newTag"]);
  // Every file it references exists, and every file in it is referenced.
  std::set<std::string> referenced;
  for (const auto& p : k["patches"]) referenced.insert(p["path"].as<std::string>());
  bool replaces_config = false;
  for (const auto& g : k["configMapGenerator"]) {
    if (g["name"].as<std::string>() == by_kind.at("ConfigMap")["metadata"]["name"].as<std::string>() &&
        g["behavior"].as<std::string>() == "replace") {
      replaces_config = true;
    }
    for (const auto& f : Strings(g["files"])) {
      referenced.insert(f);
      YAML::Node intent = Load(kOverlay / f);
      CHECK(intent["kind"].as<std::string>() == "DatabaseConnectivity");
    }
  }
  CHECK(replaces_config);
  std::set<std::string> present;
  for (const auto& e : fs::recursive_directory_iterator(kOverlay)) {
    if (!e.is_regular_file()) continue;
    std::string rel = fs::relative(e.path(), kOverlay).string();
    if (rel != "kustomization.yaml") present.insert(rel);
  }
  CHECK(referenced == present);
  YAML::Node sa = Load(kOverlay / "serviceaccount-gsa.yaml");
  CHECK(sa["kind"].as<std::string>() == "ServiceAccount");
  CHECK(sa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"]);
}
