// Seeds: "incident" reproduces the broken state of the connection-timeout
// incident; "incident-direct-vpc" is the same with the job already leaving
// through Direct VPC egress (network and subnetwork "default", no
// connector); "fleet:N" is a converged fleet for benchmarks; "empty" has one
// project and nothing in it. Every project has an auto-mode "default"
// network: one "default" subnetwork per region, at Google's auto-mode ranges.

#include <charconv>

#include "emulator/handlers.h"

namespace dbconnd::emulator {

namespace {

constexpr char kIncidentProject[] = "melodic-now-463704-k1";
constexpr char kIncidentNumber[] = "493827161123";

// The runtime service account the seeds' jobs and services run as.
std::string Runner(const std::string& project) {
  return "saleor-runner@" + project + ".iam.gserviceaccount.com";
}

// Secret Manager IAM: `account` may read `secret` (secretAccessor).
void GrantSecretAccessor(json::object& state, const std::string& project_number,
                         const std::string& secret, const std::string& account) {
  (*ObjAt(*ObjAt(state, "sm"), "policies"))["projects/" + project_number + "/secrets/" + secret] =
      json::object{{"version", 1},
                   {"etag", "BwYseed"},
                   {"bindings", json::array{json::object{
                                    {"role", "roles/secretmanager.secretAccessor"},
                                    {"members", json::array{"serviceAccount:" + account}}}}}};
}

json::object Instance(const std::string& project, const std::string& number, const std::string& region,
                      const std::string& name, int64_t now) {
  return json::object{
      {"kind", "sql#instance"},
      {"name", name},
      {"project", project},
      {"region", region},
      {"databaseVersion", "POSTGRES_15"},
      {"state", "RUNNABLE"},
      {"backendType", "SECOND_GEN"},
      {"instanceType", "CLOUD_SQL_INSTANCE"},
      {"connectionName", project + ":" + region + ":" + name},
      {"gceZone", region + "-c"},
      {"createTime", Rfc3339(now - 86400000LL * 30)},
      {"selfLink", std::string(kSqlBase) + "projects/" + project + "/instances/" + name},
      {"serviceAccountEmailAddress", "p" + number + "-abcd12@gcp-sa-cloud-sql.iam.gserviceaccount.com"},
      {"ipAddresses", json::array{}},
      {"settings",
       json::object{{"kind", "sql#settings"},
                    {"settingsVersion", "7"},
                    {"tier", "db-custom-1-3840"},
                    {"edition", "ENTERPRISE"},
                    {"activationPolicy", "ALWAYS"},
                    {"availabilityType", "ZONAL"},
                    {"pricingPlan", "PER_USE"},
                    {"dataDiskSizeGb", "10"},
                    {"dataDiskType", "PD_SSD"},
                    {"storageAutoResize", true},
                    {"userLabels", json::object{{"app", "saleor"}, {"env", "demo"}}},
                    {"databaseFlags", json::array{json::object{{"name", "max_connections"}, {"value", "100"}}}},
                    {"backupConfiguration",
                     json::object{{"kind", "sql#backupConfiguration"}, {"enabled", true}, {"startTime", "03:00"}}},
                    {"ipConfiguration",
                     json::object{{"ipv4Enabled", true},
                                  {"authorizedNetworks", json::array{}},
                                  {"requireSsl", false},
                                  {"sslMode", "ALLOW_UNENCRYPTED_AND_ENCRYPTED"}}}}}};
}

json::object Job(const std::string& name, const std::string& project, int64_t now, json::array env,
                 json::object task_extra) {
  json::object container{{"name", "migrate"},
                         {"image", "us-central1-docker.pkg.dev/" + project + "/saleor/saleor:3.20.0"},
                         {"command", json::array{"python3", "manage.py", "migrate"}},
                         {"env", std::move(env)},
                         {"resources", json::object{{"limits", json::object{{"cpu", "1000m"}, {"memory", "512Mi"}}}}}};
  json::object task{{"containers", json::array{container}},
                    {"maxRetries", 0},
                    {"timeout", "600s"},
                    {"serviceAccount", Runner(project)},
                    {"executionEnvironment", "EXECUTION_ENVIRONMENT_GEN2"}};
  MergePatch(task, task_extra);
  return json::object{
      {"name", name},
      {"uid", "5f0c6a2e-" + std::to_string(now % 100000)},
      {"generation", "3"},
      {"observedGeneration", "3"},
      {"labels", json::object{{"app", "saleor"}, {"team", "commerce"}}},
      {"annotations", json::object{{"owner", "platform-team"}}},
      {"createTime", Rfc3339(now - 86400000LL)},
      {"updateTime", Rfc3339(now - 3600000LL)},
      {"creator", "deployer@" + project + ".iam.gserviceaccount.com"},
      {"lastModifier", "deployer@" + project + ".iam.gserviceaccount.com"},
      {"launchStage", "GA"},
      {"template", json::object{{"taskCount", 1}, {"parallelism", 1}, {"labels", json::object{{"component", "migrations"}}},
                                {"template", task}}},
      {"terminalCondition", json::object{{"type", "Ready"}, {"state", "CONDITION_SUCCEEDED"},
                                         {"lastTransitionTime", Rfc3339(now - 3600000LL)}}},
      {"conditions", json::array{}},
      {"executionCount", 0},
      {"reconciling", false},
      {"etag", "\"seed-" + std::to_string(name.size()) + "-3\""}};
}

json::object Service(const std::string& name, const std::string& project, int64_t now, json::object tmpl) {
  json::object t{{"containers", json::array{json::object{
                                    {"name", "api"},
                                    {"image", "us-central1-docker.pkg.dev/" + project + "/saleor/saleor:3.20.0"},
                                    {"ports", json::array{json::object{{"name", "http1"}, {"containerPort", 8000}}}}}}},
                 {"serviceAccount", Runner(project)},
                 {"maxInstanceRequestConcurrency", 80},
                 {"timeout", "300s"}};
  MergePatch(t, tmpl);
  return json::object{{"name", name},
                      {"uid", "9a1d-" + std::to_string(name.size())},
                      {"generation", "2"},
                      {"observedGeneration", "2"},
                      {"labels", json::object{{"app", "saleor"}}},
                      {"createTime", Rfc3339(now - 86400000LL)},
                      {"updateTime", Rfc3339(now - 3600000LL)},
                      {"creator", "deployer@" + project + ".iam.gserviceaccount.com"},
                      {"launchStage", "GA"},
                      {"ingress", "INGRESS_TRAFFIC_ALL"},
                      {"template", t},
                      {"traffic", json::array{json::object{{"type", "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"}, {"percent", 100}}}},
                      {"terminalCondition", json::object{{"type", "Ready"}, {"state", "CONDITION_SUCCEEDED"}}},
                      {"conditions", json::array{}},
                      {"reconciling", false},
                      {"uri", "https://" + name.substr(name.rfind('/') + 1) + "-abc123-uc.a.run.app"},
                      {"etag", "\"seed-svc-" + std::to_string(name.size()) + "\""}};
}

// Auto-mode "default" subnetworks of the regions the seeds use, at the
// primary ranges Google gives them.
void DefaultSubnetworks(json::object& subnetworks, const std::string& project, int64_t now) {
  static constexpr std::pair<const char*, const char*> kAuto[] = {
      {"us-central1", "10.128.0.0/20"}, {"europe-west1", "10.132.0.0/20"}, {"us-east1", "10.142.0.0/20"}};
  for (const auto& [region, cidr] : kAuto) {
    const std::string self = std::string(kComputeBase) + "projects/" + project + "/regions/" + region +
                             "/subnetworks/default";
    std::string base(cidr);
    base = base.substr(0, base.find('/'));
    subnetworks[project + "/" + region + "/default"] = json::object{
        {"kind", "compute#subnetwork"},
        {"id", std::to_string(3000000000000000000LL + static_cast<int64_t>(subnetworks.size()))},
        {"creationTimestamp", Rfc3339(now - 86400000LL * 90)},
        {"name", "default"},
        {"network", std::string(kComputeBase) + "projects/" + project + "/global/networks/default"},
        {"ipCidrRange", cidr},
        {"gatewayAddress", FormatIpv4(*ParseIpv4(base) + 1)},
        {"region", std::string(kComputeBase) + "projects/" + project + "/regions/" + region},
        {"selfLink", self},
        {"privateIpGoogleAccess", false},
        {"purpose", "PRIVATE"},
        {"stackType", "IPV4_ONLY"},
        {"fingerprint", "c2VlZA=="}};
  }
}

}  // namespace

Status Handlers::ApplySeed(Emulator& e, std::string_view seed, int64_t now) {
  json::object state{{"projects", json::object{}},
                     {"sql", json::object{{"instances", json::object{}}, {"operations", json::object{}}}},
                     {"run", json::object{{"jobs", json::object{}}, {"services", json::object{}},
                                          {"executions", json::object{}}, {"operations", json::object{}}}},
                     {"vpc", json::object{{"connectors", json::object{}}, {"operations", json::object{}}}},
                     {"sn", json::object{{"connections", json::object{}}, {"operations", json::object{}}}},
                     {"compute", json::object{{"addresses", json::object{}}, {"operations", json::object{}},
                                              {"subnetworks", json::object{}}}},
                     {"pending", json::array{}},
                     {"counters", json::object{{"seq", 0}}},
                     {"seed", seed}};
  // Registered keys and clients survive a reset: they are set-up, not state.
  if (auto* auth = e.state_.if_contains("auth")) {
    json::object kept = auth->as_object();
    state["auth"] = kept;
  } else {
    state["auth"] = json::object{{"serviceAccounts", json::object{}}, {"clients", json::object{}}, {"tokens", json::object{}}};
  }
  auto& projects = state["projects"].as_object();
  auto& sql = state["sql"].as_object()["instances"].as_object();
  auto& run = state["run"].as_object();
  auto& subnetworks = state["compute"].as_object()["subnetworks"].as_object();
  if (seed == "incident" || seed == "incident-direct-vpc" || seed == "empty") {
    projects[kIncidentProject] = json::object{{"projectNumber", kIncidentNumber}, {"networks", json::array{"default"}}};
    DefaultSubnetworks(subnetworks, kIncidentProject, now);
    if (seed != "empty") {
      auto inst = Instance(kIncidentProject, kIncidentNumber, "us-central1", "saleor-db-demo", now);
      inst["ipAddresses"] = json::array{json::object{{"type", "PRIMARY"}, {"ipAddress", "34.41.195.120"}},
                                        json::object{{"type", "OUTGOING"}, {"ipAddress", "34.41.195.121"}}};
      sql[std::string(kIncidentProject) + "/saleor-db-demo"] = inst;
      std::string job_name = std::string("projects/") + kIncidentProject + "/locations/us-central1/jobs/saleor-migration-1751028053";
      json::array env{json::object{{"name", "DATABASE_URL"},
                                   {"value", "postgresql://saleor:secure-db-password-123@34.41.195.120:5432/saleor"}},
                      json::object{{"name", "DJANGO_SETTINGS_MODULE"}, {"value", "saleor.settings"}},
                      json::object{{"name", "ALLOWED_HOSTS"}, {"value", "*"}},
                      json::object{{"name", "SECRET_KEY"},
                                   {"valueSource", json::object{{"secretKeyRef", json::object{{"secret", "saleor-secret-key"}, {"version", "latest"}}}}}}};
      json::object task_extra;
      if (seed == "incident-direct-vpc") {
        task_extra["vpcAccess"] = json::object{
            {"networkInterfaces", json::array{json::object{{"network", "default"}, {"subnetwork", "default"}}}},
            {"egress", "PRIVATE_RANGES_ONLY"}};
      }
      run["jobs"].as_object()[job_name] = Job(job_name, kIncidentProject, now, env, task_extra);
      // The secrets the job references, with the password the seed's URL
      // carries ("secure-db-password-123", base64).
      SeedSecrets(state, kIncidentNumber, "saleor-db", "c2VjdXJlLWRiLXBhc3N3b3JkLTEyMw==", now);
      SeedSecrets(state, kIncidentNumber, "saleor-secret-key", "ZGphbmdvLXNlY3JldC1rZXk=", now);
      // The job's runtime account may read the password secret.
      GrantSecretAccessor(state, kIncidentNumber, "saleor-db", Runner(kIncidentProject));
    }
  } else if (seed.starts_with("fleet:")) {
    int n = 0;
    auto num = seed.substr(6);
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
    if (ec != std::errc() || p != num.data() + num.size() || n < 0 || n > 100000) {
      return InvalidArgumentError("seed fleet:N needs 0 <= N <= 100000, got '" + std::string(seed) + "'");
    }
    const char* regions[] = {"us-central1", "europe-west1"};
    auto& connectors = state["vpc"].as_object()["connectors"].as_object();
    auto& conns = state["sn"].as_object()["connections"].as_object();
    auto& addresses = state["compute"].as_object()["addresses"].as_object();
    for (int pi = 0; pi < 3; ++pi) {
      std::string project = "fleet-project-" + std::to_string(pi + 1);
      std::string number = std::to_string(100000000001LL + pi);
      projects[project] = json::object{{"projectNumber", number}, {"networks", json::array{"default"}}};
      DefaultSubnetworks(subnetworks, project, now);
      addresses[project + "/google-managed-services-default"] = json::object{
          {"kind", "compute#address"}, {"name", "google-managed-services-default"}, {"address", "10.70.0.0"},
          {"prefixLength", 16}, {"addressType", "INTERNAL"}, {"purpose", "VPC_PEERING"}, {"status", "RESERVED"},
          {"network", std::string(kComputeBase) + "projects/" + project + "/global/networks/default"},
          {"selfLink", std::string(kComputeBase) + "projects/" + project + "/global/addresses/google-managed-services-default"}};
      std::string net = "projects/" + number + "/global/networks/default";
      conns["servicenetworking.googleapis.com|" + net] = json::object{
          {"network", net}, {"reservedPeeringRanges", json::array{"google-managed-services-default"}},
          {"peering", "servicenetworking-googleapis-com"}, {"service", "services/servicenetworking.googleapis.com"}};
      for (int ri = 0; ri < 2; ++ri) {
        std::string cname = "projects/" + project + "/locations/" + regions[ri] + "/connectors/conn-" + std::to_string(ri);
        connectors[cname] = json::object{{"name", cname}, {"network", "default"}, {"ipCidrRange", "10.8." + std::to_string(ri * 16) + ".0/28"},
                                         {"state", "READY"}, {"machineType", "e2-micro"}, {"minInstances", 2}, {"maxInstances", 10},
                                         {"minThroughput", 200}, {"maxThroughput", 1000}, {"connectedProjects", json::array{json::string(project)}}};
      }
    }
    for (int i = 0; i < n; ++i) {
      int pi = i % 3, ri = (i / 3) % 2;
      std::string project = "fleet-project-" + std::to_string(pi + 1);
      std::string number = std::to_string(100000000001LL + pi);
      std::string region = regions[ri];
      std::string name = "db-" + std::to_string(i);
      auto inst = Instance(project, number, region, name, now);
      auto& ipc = inst["settings"].as_object()["ipConfiguration"].as_object();
      ipc["ipv4Enabled"] = false;
      ipc["privateNetwork"] = "projects/" + project + "/global/networks/default";
      ipc["sslMode"] = "ENCRYPTED_ONLY";
      std::string ip = "10.70." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 3);
      inst["ipAddresses"] = json::array{json::object{{"type", "PRIVATE"}, {"ipAddress", ip}}};
      sql[project + "/" + name] = inst;
      std::string loc = "projects/" + project + "/locations/" + region;
      std::string connector = loc + "/connectors/conn-" + std::to_string(ri);
      json::array env{json::object{{"name", "DATABASE_URL"}, {"value", "postgresql://app@" + ip + ":5432/app?sslmode=require"}},
                      json::object{{"name", "PGPASSWORD"},
                                   {"valueSource", json::object{{"secretKeyRef", json::object{{"secret", "db-" + std::to_string(i)}, {"version", "latest"}}}}}}};
      // Converged includes the run-time prerequisites: the password secret
      // has a version, and the job's account may read it.
      SeedSecrets(state, number, "db-" + std::to_string(i), "ZmxlZXQtZGItcGFzc3dvcmQ=", now);
      GrantSecretAccessor(state, number, "db-" + std::to_string(i), Runner(project));
      json::object vpc{{"vpcAccess", json::object{{"connector", connector}, {"egress", "PRIVATE_RANGES_ONLY"}}}};
      run["jobs"].as_object()[loc + "/jobs/job-" + std::to_string(i)] = Job(loc + "/jobs/job-" + std::to_string(i), project, now, env, vpc);
      run["services"].as_object()[loc + "/services/svc-" + std::to_string(i)] = Service(loc + "/services/svc-" + std::to_string(i), project, now, vpc);
    }
  } else {
    return InvalidArgumentError("unknown seed '" + std::string(seed) + "' (want incident, incident-direct-vpc, fleet:N or empty)");
  }
  e.state_ = std::move(state);
  ++e.generation_;
  return OkStatus();
}

}  // namespace dbconnd::emulator
