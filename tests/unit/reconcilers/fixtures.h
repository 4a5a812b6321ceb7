#pragma once
// The seed incident as an intent and a live snapshot, plus a pure simulation
// of what each step does to live state, so the level-triggered loop
// (plan -> execute first ready step -> re-observe) can be run without I/O.

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "config/model.h"
#include "gcp/types.h"
#include "reconcilers/live_state.h"
#include "reconcilers/plan.h"
#include "reconcilers/planner.h"

namespace dbconnd::reconcilers::testing {

inline constexpr char kProject[] = "melodic-now-463704-k1";
inline constexpr char kRegion[] = "us-central1";
inline constexpr char kInstance[] = "saleor-db-demo";
inline constexpr char kJob[] = "saleor-migration-1751028053";
inline constexpr char kPublicIp[] = "34.41.195.120";
inline constexpr char kPrivateIp[] = "10.20.0.3";
inline constexpr char kPassword[] = "secure-db-password-123";
inline constexpr char kConnection[] = "melodic-now-463704-k1:us-central1:saleor-db-demo";

inline config::Intent SeedIntent() {
  config::Intent in;
  in.name = "saleor";
  in.project = kProject;
  in.project_number = "123456789012";
  in.region = kRegion;
  in.instance.name = kInstance;
  in.instance.ssl_mode = config::SslMode::kEncryptedOnly;
  in.instance.iam_authentication = true;
  in.instance.public_ip = config::PublicIp{false, {}};
  config::PrivateIp pip;
  pip.network = "default";
  pip.services_access.range_name = "google-managed-services-default";
  in.instance.private_ip = pip;
  config::Connector c;
  c.name = "saleor-connector";
  c.network = "default";
  c.ip_cidr_range = "10.8.0.0/28";
  in.connector = c;
  config::Workload w;
  w.kind = config::WorkloadKind::kJob;
  w.name = kJob;
  w.method = config::ConnectionMethod::kPrivateIp;
  w.database = {"saleor", "saleor",
                "projects/melodic-now-463704-k1/secrets/saleor-db/versions/latest", ""};
  in.workloads.push_back(w);
  in.policy.prune_authorized_networks = true;
  in.policy.allow_irreversible = true;
  return in;
}

inline gcp::RunWorkload SeedJob() {
  gcp::RunWorkload j;
  j.kind = gcp::RunKind::kJob;
  j.project = kProject;
  j.region = kRegion;
  j.name = kJob;
  j.etag = "\"abc\"";
  j.generation = "4";
  gcp::Container app;
  app.name = "saleor";
  app.image = "gcr.io/melodic/saleor:1.0";
  app.env = {{"DJANGO_SETTINGS_MODULE", "saleor.settings", std::nullopt},
             {"DATABASE_URL",
              std::string("postgresql://saleor:") + kPassword + "@" + kPublicIp + ":5432/saleor",
              std::nullopt},
             {"SENTRY_DSN", "", gcp::SecretKeyRef{"sentry-dsn", "2"}}};
  app.volume_mounts = {{"media", "/media"}};
  gcp::Container sidecar;
  sidecar.name = "metrics";
  sidecar.image = "gcr.io/melodic/exporter:2";
  sidecar.env = {{"PORT", "9100", std::nullopt}};
  j.containers = {app, sidecar};
  return j;
}

inline gcp::SqlInstance SeedInstance() {
  gcp::SqlInstance i;
  i.project = kProject;
  i.name = kInstance;
  i.region = kRegion;
  i.connection_name = kConnection;
  i.database_version = "POSTGRES_15";
  i.state = "RUNNABLE";
  i.settings_version = "7";
  i.ipv4_enabled = true;
  i.ssl_mode = "ALLOW_UNENCRYPTED_AND_ENCRYPTED";
  i.database_flags = {{"max_connections", "100"}, {"log_min_duration_statement", "500"}};
  i.ip_addresses = {{"PRIMARY", kPublicIp}, {"OUTGOING", "34.0.0.9"}};
  return i;
}

inline LiveState SeedLive() {
  LiveState live;
  live.instance = SeedInstance();
  live.jobs[kJob] = SeedJob();
  return live;
}

// What Google would do with the step's payload, reduced to the fields the
// planner reads. Returns false for steps it cannot apply.
inline bool Simulate(const Step& step, LiveState& live) {
  if (step.action == Action::kRun) {
    live.verifications[step.resource.name] = {JobVerification::State::kSucceeded, "", ""};
    return true;
  }
  if (auto* a = std::get_if<gcp::GlobalAddress>(&step.payload)) {
    live.services_range = *a;
    live.services_range->status = "RESERVED";
    if (live.services_range->address.empty()) live.services_range->address = "10.20.0.0";
    return true;
  }
  if (auto* p = std::get_if<gcp::PeeringConnection>(&step.payload)) {
    PeeringList list = live.Peerings();
    auto existing = std::find_if(list.begin(), list.end(),
                                 [&](const gcp::PeeringConnection& e) { return e.network == p->network; });
    if (existing != list.end()) {
      *existing = *p;
    } else {
      list.push_back(*p);
    }
    live.peerings = std::make_shared<const PeeringList>(std::move(list));
    return true;
  }
  if (auto* c = std::get_if<gcp::Connector>(&step.payload)) {
    // A replace creates a second connector beside the declared one.
    auto& slot = live.connector && live.connector->name != c->name ? live.replacement_connector : live.connector;
    slot = *c;
    slot->state = "READY";
    return true;
  }
  if (auto* p = std::get_if<gcp::ConnectorPatch>(&step.payload)) {
    auto& slot = live.connector && live.connector->name == p->connector.name ? live.connector
                                                                             : live.replacement_connector;
    if (!slot) return false;
    for (const auto& f : p->update_mask) {
      if (f == "machineType") slot->machine_type = p->connector.machine_type;
      if (f == "minInstances") slot->min_instances = p->connector.min_instances;
      if (f == "maxInstances") slot->max_instances = p->connector.max_instances;
    }
    return true;
  }
  if (auto* patch = std::get_if<gcp::SqlInstancePatch>(&step.payload)) {
    auto& i = *live.instance;
    if (patch->settings_version != i.settings_version) return false;  // 412
    if (patch->ipv4_enabled) {
      i.ipv4_enabled = *patch->ipv4_enabled;
      if (!i.ipv4_enabled) std::erase_if(i.ip_addresses, [](auto& m) { return m.type == "PRIMARY"; });
    }
    if (patch->private_network) {
      i.private_network = *patch->private_network;
      if (i.AddressOfType("PRIVATE").empty()) i.ip_addresses.push_back({"PRIVATE", kPrivateIp});
    }
    if (patch->allocated_ip_range) i.allocated_ip_range = *patch->allocated_ip_range;
    if (patch->authorized_networks) i.authorized_networks = *patch->authorized_networks;
    if (patch->ssl_mode) i.ssl_mode = *patch->ssl_mode;
    if (patch->database_flags) i.database_flags = *patch->database_flags;
    if (patch->connector_enforcement) i.connector_enforcement = *patch->connector_enforcement;
    i.settings_version = std::to_string(std::stoi(i.settings_version) + 1);
    return true;
  }
  if (auto* w = std::get_if<gcp::RunWorkload>(&step.payload)) {
    auto& map = w->kind == gcp::RunKind::kJob ? live.jobs : live.services;
    map[w->name] = *w;
    map[w->name].generation = std::to_string(std::stoi(w->generation.empty() ? "0" : w->generation) + 1);
    return true;
  }
  return false;
}

// The acting layer's loop without I/O: returns the ids executed, in order.
inline std::vector<std::string> Converge(const config::Intent& in, LiveState& live,
                                         int max_steps = 20) {
  std::vector<std::string> done;
  for (int i = 0; i < max_steps; ++i) {
    Plan plan = ComputePlan(in, live);
    const Step* step = FirstReadyStep(plan);
    if (!step) break;
    if (!Simulate(*step, live)) break;
    done.push_back(step->id);
  }
  return done;
}

inline const gcp::EnvVar* Env(const gcp::Container& c, const std::string& name) {
  for (const auto& e : c.env) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

inline std::vector<std::string> StepIds(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& s : p.steps) out.push_back(s.id);
  return out;
}

}  // namespace dbconnd::reconcilers::testing
