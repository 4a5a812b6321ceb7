#include "reconcilers/planner.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "common/redact.h"
#include "config/expiry.h"
#include "gcp/resource_names.h"
#include "reconcilers/connector_options.h"
#include "reconcilers/credentials.h"
#include "reconcilers/db_url.h"
#include "reconcilers/diff.h"
#include "reconcilers/enforcement.h"
#include "reconcilers/direct_vpc.h"
#include "reconcilers/psc.h"
#include "reconcilers/prerequisites.h"

namespace dbconnd::reconcilers {
namespace {

constexpr std::string_view kPeeringService = gcp::kServiceNetworkingService;
constexpr char kSocketVolume[] = "cloudsql";
constexpr char kSocketDir[] = "/cloudsql";
// Anything wider than a /8 is treated as open to the world.
constexpr int kWorldOpenMaxPrefix = 7;

struct Engine {
  std::string scheme;
  std::string port;
  std::string tls_query;     // appended to TCP URLs
  std::string socket_query;  // key naming the socket directory
};

Engine EngineFor(std::string_view database_version) {
  if (database_version.rfind("MYSQL", 0) == 0) {
    return {"mysql", "3306", "ssl-mode=REQUIRED", "unix_socket"};
  }
  if (database_version.rfind("SQLSERVER", 0) == 0) {
    return {"sqlserver", "1433", "encrypt=true", "socket"};
  }
  return {"postgresql", "5432", "sslmode=require", "host"};
}

bool WorldOpen(std::string_view cidr) {
  auto len = CidrPrefixLength(cidr);
  return len && *len <= kWorldOpenMaxPrefix;
}

void SetEnvLiteral(std::vector<gcp::EnvVar>& env, const std::string& name,
                   const std::string& value) {
  for (auto& e : env) {
    if (e.name == name) {
      e.value = value;
      e.secret.reset();
      return;
    }
  }
  env.push_back({name, value, std::nullopt});
}

void SetEnvSecret(std::vector<gcp::EnvVar>& env, const std::string& name,
                  const gcp::SecretKeyRef& ref) {
  for (auto& e : env) {
    if (e.name == name) {
      e.value.clear();
      e.secret = ref;
      return;
    }
  }
  env.push_back({name, "", ref});
}

// Cloud Run names a secret of the workload's own project either "S" or
// "projects/P/secrets/S" (run.googleapis.com/v2 SecretKeySelector.secret);
// both are the same secret.
bool SameSecret(const std::string& a, const std::string& b, const std::string& project) {
  if (a == b) return true;
  const std::string prefix = "projects/" + project + "/secrets/";
  auto shortest = [&prefix](const std::string& s) {
    return s.rfind(prefix, 0) == 0 ? s.substr(prefix.size()) : s;
  };
  return shortest(a) == shortest(b);
}

const gcp::EnvVar* FindEnv(const gcp::Container& c, std::string_view name) {
  for (const auto& e : c.env) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

// Index of the container a workload manages: the named one, else the first.
std::optional<std::size_t> ManagedContainer(const gcp::RunWorkload& w,
                                            const std::string& name) {
  if (w.containers.empty()) return std::nullopt;
  if (name.empty()) return 0;
  for (std::size_t i = 0; i < w.containers.size(); ++i) {
    if (w.containers[i].name == name) return i;
  }
  return std::nullopt;
}

bool HasSocketFor(const gcp::RunWorkload& w, const std::string& connection_name) {
  for (const auto& v : w.cloud_sql_volumes) {
    if (std::find(v.instances.begin(), v.instances.end(), connection_name) != v.instances.end()) {
      return true;
    }
  }
  return false;
}

std::string KindWord(config::WorkloadKind k) {
  return k == config::WorkloadKind::kJob ? "job" : "service";
}

class Planner {
 public:
  Planner(const config::Intent& in, const LiveState& live) : in_(in), live_(live) {
    plan_.intent = in.name;
    plan_.project = in.project;
    plan_.region = in.region;
    engine_ = EngineFor(live.instance ? live.instance->database_version : "");
    db_engine_ = EngineOfVersion(live.instance ? live.instance->database_version : "");
    connection_name_ = live.instance && !live.instance->connection_name.empty()
                           ? live.instance->connection_name
                           : gcp::SqlConnectionName(in.project, in.region, in.instance.name);
  }

  Plan Run() {
    PlanPrivateServicesAccess();
    PlanConnector();
    PlanInstance();
    PlanPscSteps();
    PreparePublicPath();
    enforcement_pending_ = EnforcementPending(in_, live_);
    PlanWorkloads();
    EmitPublicPath();
    EmitEnforcement();
    Diagnose();
    for (auto& d : DiagnosePrerequisites(in_, live_)) plan_.diagnoses.push_back(std::move(d));
    FindSecurityProblems();
    MarkReportOnly();
    return std::move(plan_);
  }

 private:
  // Adds a step and returns its id; dependencies absent from the plan are
  // dropped because they are already in sync.
  const std::string& Add(Step s) {
    std::vector<std::string> deps;
    for (auto& d : s.depends_on) {
      if (!d.empty() && plan_.Find(d) && std::find(deps.begin(), deps.end(), d) == deps.end()) {
        deps.push_back(std::move(d));
      }
    }
    s.depends_on = std::move(deps);
    plan_.steps.push_back(std::move(s));
    return plan_.steps.back().id;
  }

  std::string IdIfPresent(const std::string& id) const {
    return plan_.Find(id) ? id : std::string();
  }

  void Diag(std::string code, ResourceRef ref, std::string problem, std::string fix) {
    plan_.diagnoses.push_back({std::move(code), std::move(ref), std::move(problem), std::move(fix)});
  }
  void Finding(std::string code, ResourceRef ref, std::string problem, std::string fix) {
    plan_.findings.push_back({std::move(code), std::move(ref), std::move(problem), std::move(fix)});
  }

  std::string RangeName() const {
    return ServicesRangeName(*in_.instance.private_ip);
  }

  // ---- private services access -------------------------------------------

  void PlanPrivateServicesAccess() {
    if (!in_.instance.private_ip) return;
    const auto& pip = *in_.instance.private_ip;
    const std::string range = RangeName();

    gcp::GlobalAddress want;
    want.project = in_.project;
    want.name = range;
    want.network = gcp::NetworkName(in_.project, pip.network);
    want.purpose = "VPC_PEERING";
    want.address_type = "INTERNAL";
    if (!pip.services_access.cidr.empty()) {
      want.address = CidrAddress(pip.services_access.cidr);
      want.prefix_length = CidrPrefixLength(pip.services_access.cidr).value_or(16);
    } else {
      want.prefix_length = pip.services_access.prefix_length;
    }
    const ResourceRef ref{ResourceKind::kPrivateServicesRange, range};
    const std::string id = "range/" + range;

    if (!live_.services_range || live_.services_range->name != range) {
      Step s;
      s.id = id;
      s.resource = ref;
      s.action = Action::kCreate;
      s.changes.push_back({"network", "", want.network, Impact::kOnline, false});
      s.changes.push_back({"prefixLength", "", std::to_string(want.prefix_length),
                           Impact::kOnline, false});
      if (!want.address.empty()) {
        s.changes.push_back({"address", "", want.address, Impact::kOnline, false});
      }
      s.changes.push_back({"purpose", "", "VPC_PEERING", Impact::kOnline, false});
      s.payload = want;
      range_step_ = Add(std::move(s));
    } else {
      auto changes = DiffGlobalAddress(want, *live_.services_range);
      const bool other_network = std::any_of(changes.begin(), changes.end(),
                                             [](const FieldChange& c) { return c.path == "network"; });
      if (other_network) {
        // Addresses are immutable and dbconnd deletes nothing: a person decides.
        Step s;
        s.id = id;
        s.resource = ref;
        s.action = Action::kReplace;
        s.changes = std::move(changes);
        s.blocked = "range " + range + " already exists on network " +
                    live_.services_range->network +
                    "; dbconnd never deletes address ranges: rename privateIp.servicesAccess"
                    ".rangeName or delete the range by hand";
        s.payload = want;
        range_step_ = Add(std::move(s));
      } else if (!changes.empty()) {
        Diag("range-differs", ref,
             "private services range " + range + " exists with a different address or size than declared (" +
                 live_.services_range->address + "/" +
                 std::to_string(live_.services_range->prefix_length) + ")",
             "it still works for private services access; update the file to match, or "
             "recreate the range by hand during a maintenance window");
      }
    }

    // Service Networking connection.
    const std::string peer_id = "peering/" + pip.network;
    const ResourceRef peer_ref{ResourceKind::kServicePeering, pip.network};
    if (in_.project_number.empty()) {
      Step s;
      s.id = peer_id;
      s.resource = peer_ref;
      s.action = Action::kCreate;
      s.blocked = "project_number is required: Service Networking names networks by project "
                  "number (projects/NUMBER/global/networks/" + pip.network + ")";
      s.depends_on = {range_step_};
      peering_step_ = Add(std::move(s));
      return;
    }
    const std::string sn_network = gcp::NetworkName(in_.project_number, pip.network);
    const gcp::PeeringConnection* existing = nullptr;
    for (const auto& p : live_.Peerings()) {
      if (NetworkShortName(p.network) == pip.network &&
          (p.service.empty() || p.service == kPeeringService)) {
        existing = &p;
        break;
      }
    }
    auto join = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
      return out;
    };
    if (!existing) {
      Step s;
      s.id = peer_id;
      s.resource = peer_ref;
      s.action = Action::kCreate;
      gcp::PeeringConnection c;
      c.network = sn_network;
      c.reserved_peering_ranges = {range};
      c.service = kPeeringService;
      s.changes.push_back({"reservedPeeringRanges", "", range, Impact::kOnline, false});
      s.payload = c;
      s.depends_on = {range_step_};
      peering_step_ = Add(std::move(s));
    } else if (std::find(existing->reserved_peering_ranges.begin(),
                         existing->reserved_peering_ranges.end(),
                         range) == existing->reserved_peering_ranges.end()) {
      // Ranges other tools reserved stay: the connection is shared.
      gcp::PeeringConnection c = *existing;
      c.network = sn_network;
      c.reserved_peering_ranges.push_back(range);
      Step s;
      s.id = peer_id;
      s.resource = peer_ref;
      s.action = Action::kUpdate;
      s.changes.push_back({"reservedPeeringRanges", join(existing->reserved_peering_ranges),
                           join(c.reserved_peering_ranges), Impact::kOnline, false});
      s.payload = c;
      s.depends_on = {range_step_};
      peering_step_ = Add(std::move(s));
    }
  }

  // ---- connector --------------------------------------------------------------

  void PlanConnector() {
    if (!in_.connector) return;
    // Create, patch, replace or wait: connector_options.h.
    ConnectorStepPlan cp = PlanConnectorStep(in_, live_);
    connector_name_ = cp.connector_name;
    connector_live_ = std::move(cp.live);
    for (auto& n : cp.notes) plan_.notes.push_back(std::move(n));
    if (cp.step) connector_step_ = Add(std::move(*cp.step));
  }

  // ---- instance, first half: everything that only adds paths ------------------

  void PlanInstance() {
    const std::string id = InstanceStepId(in_.instance.name);
    const ResourceRef ref{ResourceKind::kInstance, in_.instance.name};
    if (!live_.instance) {
      Step s;
      s.id = id;
      s.resource = ref;
      s.action = Action::kUpdate;
      s.blocked = "instance " + in_.instance.name + " not found in project " + in_.project +
                  "; dbconnd configures instances but never creates them";
      instance_step_ = Add(std::move(s));
      Diag("instance-missing", ref, "Cloud SQL instance " + in_.instance.name + " not found in project " + in_.project,
           "create the instance (gcloud sql instances create " + in_.instance.name +
               ") or fix instance.name in the file");
      return;
    }
    const gcp::SqlInstance& live = *live_.instance;
    gcp::SqlInstance want = live;

    if (in_.instance.private_ip) {
      const std::string net = gcp::NetworkName(in_.project, in_.instance.private_ip->network);
      if (NormalizeNetwork(live.private_network) != net) {
        want.private_network = net;
        // The range only matters when the private network is attached; sending
        // it alone later would ask Cloud SQL to move an existing private IP.
        want.allocated_ip_range = RangeName();
      }
    }
    if (in_.instance.ssl_mode) want.ssl_mode = std::string(config::ToString(*in_.instance.ssl_mode));
    if (in_.instance.iam_authentication) {
      const std::string flag(IamFlagName(live.database_version));
      const std::string value = *in_.instance.iam_authentication ? "on" : "off";
      if (!flag.empty()) {
        auto it = std::find_if(want.database_flags.begin(), want.database_flags.end(),
                               [&](const gcp::DatabaseFlag& f) { return f.name == flag; });
        if (it != want.database_flags.end()) {
          it->value = value;
        } else if (value == "on") {
          want.database_flags.push_back({flag, value});
        }
      }
    }
    std::set<std::string> expired;  // change paths of declared networks past `expires`
    if (in_.instance.public_ip) {
      const auto& pub = *in_.instance.public_ip;
      // Declared entries win on label/expiry; live-only entries stay here.
      // Removing them (prune) is a break, so it waits for the public-path step.
      for (const auto& n : pub.authorized_networks) {
        auto it = std::find_if(want.authorized_networks.begin(), want.authorized_networks.end(),
                               [&](const gcp::AclEntry& e) { return e.value == n.cidr; });
        // An expired entry is left out: it is removed with the first write,
        // since clients of a range whose access has ended lose nothing.
        if (config::Expired(n, live_.observed_at)) {
          if (it != want.authorized_networks.end()) want.authorized_networks.erase(it);
          expired.insert(AuthorizedNetworkPath(n.cidr));
          continue;
        }
        gcp::AclEntry entry{n.cidr, n.name, n.expires};
        if (it != want.authorized_networks.end()) {
          *it = entry;
        } else {
          want.authorized_networks.push_back(entry);
        }
      }
      if (pub.enabled) want.ipv4_enabled = true;
    }
    // Relaxing connector enforcement only opens paths (enforcement.h).
    if (auto relaxed = RelaxedEnforcement(in_, live)) want.connector_enforcement = *relaxed;
    after_first_half_ = want;

    Step s;
    s.id = id;
    s.resource = ref;
    s.action = Action::kUpdate;
    s.changes = DiffInstance(want, live);
    if (s.changes.empty()) return;
    for (auto& c : s.changes) {
      // Access through an expired entry has already ended: removing it
      // breaks no client.
      if (c.after.empty() && expired.count(c.path)) c.impact = Impact::kNone;
    }
    s.payload = MakeInstancePatch(want, live);
    s.depends_on = {range_step_, peering_step_};
    BlockUnsafeInstanceChange(s, want);
    instance_step_ = Add(std::move(s));
  }

  void BlockUnsafeInstanceChange(Step& s, const gcp::SqlInstance& want) const {
    const gcp::SqlInstance& live = *live_.instance;
    for (const auto& e : want.authorized_networks) {
      if (WorldOpen(e.value) && !in_.policy.allow_world_open) {
        s.blocked = "authorized network " + e.value +
                    " opens the instance to the whole internet; set policy.allowWorldOpen: true "
                    "only if that is really meant";
        return;
      }
    }
    const bool irreversible = std::any_of(s.changes.begin(), s.changes.end(), [](const auto& c) {
      return c.impact == Impact::kIrreversible;
    });
    if (irreversible && !in_.policy.allow_irreversible) {
      s.blocked = "setting privateNetwork cannot be undone (Cloud SQL never removes a private "
                  "network) and restarts the instance; set policy.allowIrreversible: true to "
                  "proceed";
      return;
    }
    if (!live.state.empty() && live.state != "RUNNABLE") {
      s.waiting_for = "instance " + live.name + " is " + live.state + ", not RUNNABLE";
    }
  }

  // ---- instance, second half: the breaking changes, computed before the
  // workloads so verification knows whether a break is coming --------------

  void PreparePublicPath() {
    if (!after_first_half_ || !in_.instance.public_ip) return;
    const auto& pub = *in_.instance.public_ip;
    gcp::SqlInstance want = *after_first_half_;
    if (!pub.enabled) want.ipv4_enabled = false;
    if (in_.policy.prune_authorized_networks) {
      std::set<std::string> declared;
      for (const auto& n : pub.authorized_networks) declared.insert(n.cidr);
      std::erase_if(want.authorized_networks,
                    [&](const gcp::AclEntry& e) { return !declared.count(e.value); });
    }
    auto changes = DiffInstance(want, *after_first_half_);
    if (changes.empty()) return;
    Step s;
    s.id = PublicPathStepId(in_.instance.name);
    s.resource = {ResourceKind::kInstance, in_.instance.name};
    s.action = Action::kUpdate;
    s.changes = std::move(changes);
    // settings_version comes from the live read, as every payload's does.
    s.payload = MakeInstancePatch(want, *after_first_half_);
    public_path_ = std::move(s);
    public_path_want_ = std::move(want);
  }

  void EmitPublicPath() {
    if (!public_path_) return;
    Step s = std::move(*public_path_);
    const gcp::SqlInstance& live = *live_.instance;
    s.depends_on = {instance_step_};
    for (const auto& id : workload_steps_) s.depends_on.push_back(id);
    for (const auto& id : verify_steps_) s.depends_on.push_back(id);

    const bool ipv4_off = live.ipv4_enabled && !public_path_want_->ipv4_enabled;
    const std::string public_ip = live.AddressOfType("PRIMARY");
    std::string blocked;
    // Private Service Connect is a path of its own (an instance may be PSC only).
    const bool psc_on = in_.instance.psc ? in_.instance.psc->enabled : live.psc_enabled;
    if (ipv4_off && public_path_want_->private_network.empty() && !psc_on) {
      blocked = "turning the public IP off would leave instance " + live.name +
                " with no IP address; declare instance.privateIp (or instance.psc) first";
    }
    for (const auto& w : in_.workloads) {
      if (blocked.empty() && ipv4_off && w.method == config::ConnectionMethod::kPublicIp) {
        blocked = KindWord(w.kind) + " " + w.name +
                  " is declared with method publicIp but the file turns the public IP off";
      }
    }
    if (blocked.empty() && !public_ip.empty()) {
      for (const auto& other : UndeclaredUsersOf(public_ip)) {
        blocked = other + " (not in this file) still connects to public IP " + public_ip +
                  "; move it or declare it before the public IP goes off";
        break;
      }
    }
    if (blocked.empty()) blocked = failed_verification_;
    s.blocked = blocked;
    if (s.blocked.empty() && !live.state.empty() && live.state != "RUNNABLE") {
      s.waiting_for = "instance " + live.name + " is " + live.state + ", not RUNNABLE";
    }
    Add(std::move(s));
  }

  // connectorEnforcement: REQUIRED, after every workload moved (enforcement.h).
  void EmitEnforcement() {
    if (!enforcement_pending_ || !after_first_half_) return;
    EnforcementInputs inputs;
    inputs.instance_step = instance_step_;
    inputs.workload_steps = workload_steps_;
    inputs.verify_steps = verify_steps_;
    inputs.failed_verification = failed_verification_;
    for (const char* type : {"PRIVATE", "PRIMARY"}) {
      const std::string ip = live_.instance->AddressOfType(type);
      if (ip.empty()) continue;
      for (auto& other : UndeclaredUsersOf(ip)) inputs.undeclared_ip_users.push_back(std::move(other));
    }
    if (auto s = PlanEnforcement(in_, live_, *after_first_half_, inputs)) Add(std::move(*s));
  }

  static bool ConnectsTo(const gcp::RunWorkload& w, const std::string& ip) {
    for (const auto& c : w.containers) {
      for (const auto& e : c.env) {
        auto url = ParseDbUrl(e.value);
        if (e.value == ip || (url && url->host == ip)) return true;
      }
    }
    return false;
  }

  // Live workloads outside this intent whose env points at `ip`.
  std::vector<std::string> UndeclaredUsersOf(const std::string& ip) const {
    std::vector<std::string> out;
    for (const auto k : {config::WorkloadKind::kJob, config::WorkloadKind::kService}) {
      auto scan = [&](const auto& index) {
        for (const auto& [name, w] : index) {
          const bool declared =
              std::any_of(in_.workloads.begin(), in_.workloads.end(),
                          [&](const config::Workload& d) { return d.kind == k && d.name == name; });
          if (!declared && ConnectsTo(w, ip)) out.push_back(KindWord(k) + " " + name);
        }
      };
      // The region index (null or empty: not read, see LiveState).
      if (const auto& all = k == config::WorkloadKind::kJob ? live_.all_jobs : live_.all_services) {
        scan(*all);
      }
    }
    // Unordered snapshots: keep the message stable.
    std::sort(out.begin(), out.end());
    return out;
  }

  // ---- Private Service Connect (psc.h) ---------------------------------------------

  void PlanPscSteps() {
    psc_ = PlanPsc(in_, live_);
    for (auto& s : psc_.steps) Add(std::move(s));
    psc_.steps.clear();
    for (auto& d : psc_.diagnoses) plan_.diagnoses.push_back(std::move(d));
    for (auto& n : psc_.notes) plan_.notes.push_back(std::move(n));
  }

  // ---- workloads ----------------------------------------------------------------

  void PlanWorkloads() {
    for (const auto& w : in_.workloads) PlanWorkload(w);
  }

  // The ssl mode the instance will have once the plan ran.
  std::string WantedSslMode() const {
    if (in_.instance.ssl_mode) return std::string(config::ToString(*in_.instance.ssl_mode));
    return live_.instance ? live_.instance->ssl_mode : std::string();
  }

  Credentials CredentialsFor(const config::Workload& w) const {
    return ChooseCredentials(db_engine_, w, in_.instance.iam_authentication == true);
  }

  // Why the workload cannot be given a URL that logs in; "" when it can.
  // Each reason is also a diagnosis.
  std::string CannotWire(const config::Workload& w, const Credentials& cred, const ResourceRef& ref) {
    const std::string kind = KindWord(w.kind);
    if (cred.iam && w.method == config::ConnectionMethod::kCloudSqlSocket) {
      const std::string problem =
          kind + " " + w.name + " logs in as IAM user " + w.database.user +
          " over the Cloud SQL socket, but the socket Cloud Run mounts does not do automatic "
          "IAM database login: every connection would fail authentication";
      Diag("iam-user-socket", ref, problem,
           "use method privateIp (or publicIp) with a Cloud SQL language connector started "
           "with IAM authentication, or the Cloud SQL Auth Proxy with --auto-iam-authn as a "
           "sidecar");
      return problem;
    }
    if (!cred.blocked.empty()) {
      Diag("password-env-required", ref,
           kind + " " + w.name + ": instance " + in_.instance.name + " runs " +
               std::string(ToString(db_engine_)) + ", whose drivers read no password variable",
           "set database.passwordEnv to the variable the application reads");
      return cred.blocked;
    }
    if (!cred.iam && w.method != config::ConnectionMethod::kCloudSqlSocket &&
        WantedSslMode() == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED") {
      const std::string problem =
          "instance " + in_.instance.name +
          " requires trusted client certificates (sslMode TRUSTED_CLIENT_CERTIFICATE_REQUIRED) "
          "but " + kind + " " + w.name + " would connect to a raw IP with no client "
          "certificate: the server refuses the connection";
      Diag("client-certificate-required", ref, problem,
           "use method cloudSqlSocket (the socket carries the certificate), or a Cloud SQL "
           "language connector in the application, or set instance.sslMode: ENCRYPTED_ONLY");
      return problem;
    }
    return "";
  }

  // The plan's word on how the application receives its credentials.
  void NoteCredentials(const config::Workload& w, const Credentials& cred,
                       const ResourceRef& ref) {
    const std::string who = KindWord(w.kind) + " " + w.name;
    if (cred.iam) {
      const std::string how =
          w.method == config::ConnectionMethod::kPrivateIp ? " with IP type PRIVATE" : "";
      plan_.notes.push_back(
          {"credentials-iam", ref,
           who + " logs in as IAM user " + w.database.user +
               ": no password is wired, and dbconnd leaves " + w.url_env +
               " alone because no plain database URL can log an IAM user in",
           "the application must connect through a Cloud SQL language connector started with "
           "IAM authentication" + how + " (Python enable_iam_auth=True, Go "
           "cloudsqlconn.WithIAMAuthN(), Java enableIamAuth=true, Node authType IAM) or the "
           "Cloud SQL Auth Proxy with --auto-iam-authn, to instance " + connection_name_});
      if (db_engine_ == DbEngine::kPostgres &&
          w.database.user.ends_with(".gserviceaccount.com")) {
        Diag("iam-user-name", ref,
             who + ": Cloud SQL names a service account's PostgreSQL user without "
                   "\".gserviceaccount.com\" (" + w.database.user + ")",
             "write user: " +
                 w.database.user.substr(0, w.database.user.size() -
                                               std::string_view(".gserviceaccount.com").size()));
      }
      return;
    }
    if (cred.password_env.empty()) return;
    plan_.notes.push_back({"credentials", ref,
                           who + ": the password reaches the application in " +
                               cred.password_env + " (from secret " +
                               ParseSecretVersion(w.database.password_secret).secret + "), " +
                               cred.readers,
                           ""});
  }

  // Secret references to the declared secret under another name than the one
  // dbconnd now wires (DB_PASSWORD from earlier versions). dbconnd owns only
  // the variables it declares: they stay, and the plan says so.
  void NoteStalePasswordEnv(const config::Workload& w, const gcp::Container& c,
                            const Credentials& cred, const ResourceRef& ref) {
    if (cred.password_env.empty() || w.database.password_secret.empty()) return;
    const auto want = ParseSecretVersion(w.database.password_secret);
    for (const auto& e : c.env) {
      if (!e.secret || e.name == cred.password_env || e.name == w.url_env) continue;
      if (!SameSecret(e.secret->secret, want.secret, in_.project)) continue;
      plan_.notes.push_back(
          {"stale-password-env", ref,
           KindWord(w.kind) + " " + w.name + ": env " + e.name + " also references secret " +
               want.secret + "; dbconnd no longer manages it and no driver reads it by itself",
           "remove " + e.name + " once the application does not read it, or set "
           "database.passwordEnv: " + e.name + " if it does"});
    }
  }

  void PlanWorkload(const config::Workload& w) {
    const bool job = w.kind == config::WorkloadKind::kJob;
    const std::string id = KindWord(w.kind) + "/" + w.name;
    const ResourceRef ref{job ? ResourceKind::kJob : ResourceKind::kService, w.name};
    const auto& all = job ? live_.jobs : live_.services;
    auto found = all.find(w.name);
    const Credentials cred = CredentialsFor(w);
    NoteCredentials(w, cred, ref);

    Step s;
    s.id = id;
    s.resource = ref;
    s.action = Action::kUpdate;
    if (found == all.end()) {
      s.blocked = KindWord(w.kind) + " " + w.name + " not found in " + in_.project + "/" +
                  in_.region + "; dbconnd reconfigures Cloud Run workloads but never deploys them";
      Diag("workload-missing", ref, "Cloud Run " + KindWord(w.kind) + " " + w.name + " not found in region " + in_.region,
           "deploy it first, or fix the name in the file");
      workload_steps_.push_back(Add(std::move(s)));
      return;
    }
    const gcp::RunWorkload& live = found->second;
    gcp::RunWorkload want = live;
    auto index = ManagedContainer(want, w.container);
    if (!index) {
      s.blocked = "container " + (w.container.empty() ? std::string("(any)") : w.container) +
                  " not found in " + KindWord(w.kind) + " " + w.name;
      workload_steps_.push_back(Add(std::move(s)));
      return;
    }
    gcp::Container& c = want.containers[*index];
    NoteStalePasswordEnv(w, c, cred, ref);
    const std::string cannot = CannotWire(w, cred, ref);
    if (!cannot.empty()) {
      // Nothing is wired that cannot log in, and the old path is not broken
      // for it: the public-path step depends on this one.
      s.blocked = cannot;
      workload_steps_.push_back(Add(std::move(s)));
      return;
    }

    std::string url;
    std::string waiting;
    const std::string user = EncodeUserInfo(w.database.user);
    const std::string host_query =
        engine_.socket_query + "=" + EncodeQueryValue(std::string(kSocketDir) + "/" + connection_name_);
    switch (w.method) {
      case config::ConnectionMethod::kPrivateIp:
      case config::ConnectionMethod::kPublicIp: {
        const bool priv = w.method == config::ConnectionMethod::kPrivateIp;
        std::string host = live_.instance ? live_.instance->AddressOfType(priv ? "PRIVATE" : "PRIMARY")
                                          : std::string();
        if (host.empty()) {
          // Not guessed: the step waits and the next pass fills in the real IP.
          const std::string what = std::string(priv ? "private" : "public") + " IP of instance " +
                                   in_.instance.name;
          host = "<" + what + ">";
          waiting = "the " + what + (plan_.Find(instance_step_) ? " (assigned by step " +
                                                                      instance_step_ + ")"
                                                                : " (not reported yet)");
        }
        url = engine_.scheme + "://" + user + "@" + host + ":" + engine_.port + "/" +
              w.database.name + "?" + engine_.tls_query;
        if (priv && waiting.empty() && !EgressReaches(w.egress, host)) {
          s.blocked = "egress " + std::string(config::ToString(w.egress)) + " sends only RFC 1918 and "
                      "RFC 6598 destinations into the VPC, and private IP " + host +
                      " is outside them: connections would leave through the internet and time "
                      "out; set egress: ALL_TRAFFIC on this workload";
        }
        if (priv && w.direct_vpc) {
          // Direct VPC egress: one PATCH sets the interface and drops any
          // connector (Cloud Run refuses both at once).
          want.vpc_access = DesiredDirectVpcAccess(w, live.vpc_access);
          if (std::string why = DirectVpcBlocker(w, ref); !why.empty()) s.blocked = why;
        } else if (priv && in_.connector) {
          gcp::Connector conn;
          conn.project = in_.project;
          conn.region = in_.region;
          conn.name = connector_name_;
          want.vpc_access = gcp::RunVpcAccess{conn.FullName(),
                                              std::string(config::ToString(w.egress))};
        }
        break;
      }
      case config::ConnectionMethod::kPsc: {
        // The endpoint's IP: dbconnd creates no DNS record for the
        // instance's dnsName, so the URL names the address itself.
        const PscEndpointState& e = psc_.endpoints[w.psc->endpoint];
        std::string host = e.ip;
        if (host.empty()) host = "<IP of PSC endpoint " + w.psc->endpoint + ">";
        if (!e.blocked.empty()) s.blocked = e.blocked;
        if (e.ip.empty() || !e.waiting.empty()) waiting = e.waiting;
        url = engine_.scheme + "://" + user + "@" + host + ":" + engine_.port + "/" + w.database.name + "?" +
              engine_.tls_query;
        if (!e.ip.empty() && s.blocked.empty() && !EgressReaches(w.egress, e.ip)) {
          s.blocked = "egress " + std::string(config::ToString(w.egress)) + " sends only RFC 1918 and RFC 6598 "
                      "destinations into the VPC, and PSC endpoint " + e.ip + " is outside them; set egress: "
                      "ALL_TRAFFIC on this workload";
        }
        if (w.direct_vpc) {
          want.vpc_access = DesiredDirectVpcAccess(w, live.vpc_access);
          if (std::string why = DirectVpcBlocker(w, ref); !why.empty() && s.blocked.empty()) s.blocked = why;
        } else if (in_.connector) {
          gcp::Connector conn;
          conn.project = in_.project;
          conn.region = in_.region;
          conn.name = in_.connector->name;
          want.vpc_access = gcp::RunVpcAccess{conn.FullName(), std::string(config::ToString(w.egress))};
        }
        const std::string dns = live_.instance ? CapForDisplay(live_.instance->dns_name, 253) : std::string();
        plan_.notes.push_back(
            {"psc-url-uses-ip", ref,
             KindWord(w.kind) + " " + w.name + "'s " + w.url_env + " uses the IP of PSC endpoint " +
                 w.psc->endpoint + " (" + (e.ip.empty() ? std::string("not reserved yet") : e.ip) + ")" +
                 (dns.empty() ? std::string()
                              : ", not the instance's DNS name " + dns + " that PSC clients are expected to use") +
                 ": dbconnd creates no DNS record",
             "to connect by name, add an A record " + (dns.empty() ? std::string("for the instance's dnsName") : dns) +
                 " -> the endpoint's IP in a private Cloud DNS zone of network " + w.psc->network +
                 " (the Cloud SQL Auth Proxy and connectors need it for PSC)"});
        break;
      }
      case config::ConnectionMethod::kCloudSqlSocket: {
        url = engine_.scheme + "://" + user + "@/" + w.database.name + "?" + host_query;
        std::string volume = kSocketVolume;
        if (!HasSocketFor(want, connection_name_)) {
          auto it = std::find_if(want.cloud_sql_volumes.begin(), want.cloud_sql_volumes.end(),
                                 [](const gcp::CloudSqlVolume& v) { return v.name == kSocketVolume; });
          if (it != want.cloud_sql_volumes.end()) {
            it->instances.push_back(connection_name_);
          } else {
            want.cloud_sql_volumes.push_back({kSocketVolume, {connection_name_}});
          }
        } else {
          for (const auto& v : want.cloud_sql_volumes) {
            if (std::find(v.instances.begin(), v.instances.end(), connection_name_) !=
                v.instances.end()) {
              volume = v.name;
              break;
            }
          }
        }
        auto m = std::find_if(c.volume_mounts.begin(), c.volume_mounts.end(),
                              [&](const gcp::VolumeMount& x) { return x.name == volume; });
        if (m == c.volume_mounts.end()) {
          c.volume_mounts.push_back({volume, kSocketDir});
        } else {
          m->mount_path = kSocketDir;  // Cloud Run accepts only /cloudsql here
        }
        break;
      }
    }
    // An IAM user needs a connector in the application, not a URL: only the
    // network path is wired for it.
    if (!cred.iam) SetEnvLiteral(c.env, w.url_env, url);
    if (!cred.password_env.empty()) {
      const auto ref_parts = ParseSecretVersion(w.database.password_secret);
      gcp::SecretKeyRef secret_ref{ref_parts.secret, ref_parts.version};
      // Keep the live spelling when it names the same secret version, so a
      // converged workload is not rewritten on every pass.
      if (const gcp::EnvVar* have = FindEnv(c, cred.password_env);
          have && have->secret && have->secret->version == secret_ref.version &&
          SameSecret(have->secret->secret, secret_ref.secret, in_.project)) {
        secret_ref = *have->secret;
      }
      SetEnvSecret(c.env, cred.password_env, secret_ref);
    }

    s.changes = DiffWorkload(want, live);
    if (!s.changes.empty()) {
      s.payload = std::move(want);
      s.waiting_for = waiting;
      s.depends_on = {instance_step_};
      if (w.method == config::ConnectionMethod::kPrivateIp) {
        s.depends_on.push_back(range_step_);
        s.depends_on.push_back(peering_step_);
        // Make before break: a move to the connector waits until it is
        // READY; Direct VPC egress needs no connector at all.
        if (!w.direct_vpc) s.depends_on.push_back(connector_step_);
      }
      if (w.method == config::ConnectionMethod::kPsc && w.psc) {
        // Order: PSC on, consumer allow-listed, endpoint, then the workload.
        for (const auto& d : psc_.endpoints[w.psc->endpoint].steps) s.depends_on.push_back(d);
        if (!w.direct_vpc) s.depends_on.push_back(connector_step_);
      }
      if (w.method == config::ConnectionMethod::kPrivateIp && live.vpc_access &&
          (w.direct_vpc ? !live.vpc_access->connector.empty() : !live.vpc_access->network_interfaces.empty())) {
        s.kind = "direct-vpc-switch";  // one PATCH swaps connector and network interfaces
      }
      NoteVpcPathMove(w, live, ref);
      workload_steps_.push_back(Add(std::move(s)));
    }
    PlanVerification(w, IdIfPresent(id));
  }

  // Why a Direct VPC workload cannot be moved yet, from subnetworks.get; ""
  // when nothing is known against it (not read, or read and fine). Each
  // reason is also a diagnosis.
  std::string DirectVpcBlocker(const config::Workload& w, const ResourceRef& ref) {
    const config::DirectVpc& d = *w.direct_vpc;
    const std::string sub_ref = DirectVpcSubnetworkRef(d);
    auto it = live_.subnetworks.find(sub_ref);
    if (it == live_.subnetworks.end()) return "";
    const SubnetworkLocation loc = LocateSubnetwork(in_, sub_ref);
    const std::string where = loc.project + "/" + loc.region;
    const std::string who = KindWord(w.kind) + " " + w.name;
    if (!it->second.ok()) {
      if (it->second.status().code() == StatusCode::kNotFound) {
        const std::string problem = "subnetwork " + loc.name + " does not exist in " + where +
                                    ": Cloud Run refuses Direct VPC egress for " + who + " through it";
        Diag("subnetwork-missing", ref, problem,
             "create it (gcloud compute networks subnets create " + loc.name + " --network " + d.network +
                 " --region " + loc.region + " --range RANGE) or name an existing subnetwork of network " +
                 d.network + " in directVpc.subnetwork");
        return problem;
      }
      plan_.notes.push_back({"subnetwork-unknown", ref,
                             "subnetwork " + loc.name + " in " + where + " could not be read (" +
                                 RedactForDisplay(it->second.status().message()) +
                                 "); Cloud Run checks it when " + who + " is patched",
                             "grant compute.subnetworks.get (roles/compute.networkViewer) to see it in plans"});
      return "";
    }
    const gcp::Subnetwork& sn = *it->second;
    // Values from Google: capped before they are shown.
    const std::string sn_region = CapForDisplay(ShortResourceName(sn.region), 64);
    if (!sn_region.empty() && sn_region != in_.region) {
      const std::string problem = "subnetwork " + loc.name + " is in region " + sn_region + ", not " +
                                  in_.region + " where " + who + " runs: Direct VPC egress needs a subnetwork of its region";
      Diag("subnetwork-wrong-region", ref, problem,
           "name a subnetwork of network " + d.network + " in " + in_.region + " in directVpc.subnetwork");
      return problem;
    }
    const std::string sn_network = CapForDisplay(ShortResourceName(sn.network), 64);
    if (!sn_network.empty() && sn_network != d.network) {
      const std::string problem = "subnetwork " + loc.name + " belongs to network " + sn_network + ", not " +
                                  d.network + ": Cloud Run refuses the interface, and the instance's "
                                  "private IP would not be reachable from it";
      Diag("subnetwork-wrong-network", ref, problem,
           "name a subnetwork of network " + d.network + " in directVpc.subnetwork");
      return problem;
    }
    return "";
  }

  // A workload moving between a connector and Direct VPC egress: said in
  // the plan, because the old path goes away in the same PATCH and a
  // connector left without users is its owner's to delete.
  void NoteVpcPathMove(const config::Workload& w, const gcp::RunWorkload& live, const ResourceRef& ref) {
    if (w.method != config::ConnectionMethod::kPrivateIp || !live.vpc_access) return;
    const bool live_direct = !live.vpc_access->network_interfaces.empty();
    const bool live_connector = !live.vpc_access->connector.empty();
    const std::string who = KindWord(w.kind) + " " + w.name;
    if (w.direct_vpc && live_connector) {
      plan_.notes.push_back(
          {"vpc-path-move", ref,
           who + " moves from connector " + CapForDisplay(ShortResourceName(live.vpc_access->connector), 64) +
               " to Direct VPC egress (network " + w.direct_vpc->network + ", subnetwork " +
               ShortResourceName(DirectVpcSubnetworkRef(*w.direct_vpc)) +
               ") in one PATCH; Cloud Run keeps the previous configuration until the new one is ready" +
               (in_.policy.verify && w.kind == config::WorkloadKind::kJob
                    ? ", and the job is run to verify it before any old path is closed"
                    : std::string()),
           "dbconnd never deletes connectors: delete " +
               CapForDisplay(ShortResourceName(live.vpc_access->connector), 64) +
               " yourself once nothing uses it"});
    } else if (!w.direct_vpc && live_direct && in_.connector) {
      plan_.notes.push_back(
          {"vpc-path-move", ref,
           who + " moves from Direct VPC egress to connector " + connector_name_ +
               " in one PATCH, once the connector is READY" +
               (in_.policy.verify && w.kind == config::WorkloadKind::kJob
                    ? "; the job is run to verify it before any old path is closed"
                    : std::string()),
           ""});
    }
  }

  void PlanVerification(const config::Workload& w, const std::string& workload_step) {
    if (!in_.policy.verify || w.kind != config::WorkloadKind::kJob) return;
    auto rec = live_.verifications.find(w.name);
    const bool failed =
        rec != live_.verifications.end() && rec->second.state == JobVerification::State::kFailed;
    const bool succeeded = rec != live_.verifications.end() &&
                           rec->second.state == JobVerification::State::kSucceeded;
    const bool pending = rec != live_.verifications.end() &&
                         rec->second.state == JobVerification::State::kPending;
    if (failed && workload_step.empty()) {
      if (failed_verification_.empty()) {
        failed_verification_ = "verification of job " + w.name + " failed (" +
                               RedactForDisplay(rec->second.message) +
                               "); fix the job (dbconnd verifies again after it changes it), or run it yourself "
                               "(gcloud run jobs execute " + w.name + "): the next pass reads that "
                               "execution's outcome";
      }
      return;
    }
    // Verify after dbconnd changes the job, and before a break whenever the
    // job has not been verified yet. A converged system runs nothing.
    const bool needed = !workload_step.empty() || pending ||
                        ((public_path_ || enforcement_pending_) && !succeeded);
    if (!needed) return;
    Step s;
    s.id = "verify/job/" + w.name;
    s.resource = {ResourceKind::kJob, w.name};
    s.action = Action::kRun;
    s.depends_on = {workload_step};
    verify_steps_.push_back(Add(std::move(s)));
  }

  // ---- diagnosis of live state --------------------------------------------------

  void Diagnose() {
    if (!live_.instance) return;
    const gcp::SqlInstance& inst = *live_.instance;
    const ResourceRef inst_ref{ResourceKind::kInstance, inst.name};

    if (connector_live_ && !inst.private_network.empty() && !connector_live_->network.empty() &&
        NetworkShortName(connector_live_->network) != NetworkShortName(inst.private_network)) {
      Diag("connector-network-mismatch",
           {ResourceKind::kConnector, connector_live_->name},
           "connector " + connector_live_->name + " is in network " +
               NetworkShortName(connector_live_->network) + " but instance " + inst.name +
               "'s private IP is in network " + NetworkShortName(inst.private_network) +
               ": workloads using the connector cannot reach the database",
           "recreate the connector in network " + NetworkShortName(inst.private_network) +
               " (connector.network in the file, with policy.allowReplace: true)");
    }

    if (in_.instance.iam_authentication && *in_.instance.iam_authentication) {
      const std::string flag(IamFlagName(inst.database_version));
      const bool on = std::any_of(inst.database_flags.begin(), inst.database_flags.end(),
                                  [&](const auto& f) { return f.name == flag && f.value == "on"; });
      if (!flag.empty() && !on) {
        Diag("iam-flag-off", inst_ref,
             "IAM database authentication is declared but flag " + flag + " is off on instance " +
                 inst.name + ": IAM users cannot log in",
             "this plan sets " + flag + "=on (online, no restart)");
      }
    }

    const std::string public_ip = inst.AddressOfType("PRIMARY");
    const std::string private_ip = inst.AddressOfType("PRIVATE");
    for (const auto& w : in_.workloads) {
      const auto& all = w.kind == config::WorkloadKind::kJob ? live_.jobs : live_.services;
      auto found = all.find(w.name);
      if (found == all.end()) continue;
      const gcp::RunWorkload& lw = found->second;
      auto index = ManagedContainer(lw, w.container);
      if (!index) continue;
      const gcp::EnvVar* env = FindEnv(lw.containers[*index], w.url_env);
      if (!env || env->value.empty()) continue;
      auto url = ParseDbUrl(env->value);
      if (!url) continue;
      const std::string kind = KindWord(w.kind);
      const ResourceRef ref{w.kind == config::WorkloadKind::kJob ? ResourceKind::kJob
                                                                 : ResourceKind::kService,
                            w.name};
      const std::string fix_by_method = FixFor(w);

      if (const DbEngine by_scheme = EngineOfScheme(url->scheme);
          by_scheme != DbEngine::kUnknown && db_engine_ != DbEngine::kUnknown &&
          by_scheme != db_engine_) {
        Diag("url-scheme-mismatch", ref,
             kind + " " + w.name + "'s " + w.url_env + " uses scheme " + url->scheme +
                 ":// (" + std::string(ToString(by_scheme)) + ") but instance " + inst.name +
                 " runs " + inst.database_version + ": the driver speaks the wrong protocol",
             CredentialsFor(w).iam
                 ? "point the application's connector at instance " + connection_name_
                 : "this plan rewrites " + w.url_env + " with " + engine_.scheme + "://");
      }

      if (!public_ip.empty() && url->host == public_ip && !HasSocketFor(lw, connection_name_)) {
        if (!inst.ipv4_enabled) {
          Diag("public-ip-disabled", ref,
               kind + " " + w.name + " connects to public IP " + public_ip + " but instance " +
                   inst.name + " has its public IP disabled: connections time out",
               fix_by_method);
        } else if (inst.authorized_networks.empty()) {
          Diag("public-ip-unreachable", ref,
               kind + " " + w.name + " connects to public IP " + public_ip + " but instance " +
                   inst.name + " allows no authorized networks and the " + kind +
                   " has no Cloud SQL socket: connections time out ('connection timeout "
                   "expired')",
               fix_by_method);
        }
      }
      if (!private_ip.empty() && url->host == private_ip && !lw.vpc_access) {
        Diag("private-ip-no-vpc", ref,
             kind + " " + w.name + " connects to private IP " + private_ip +
                 " but has no VPC access (connector or Direct VPC egress): connections time out",
             fix_by_method);
      }
      if (!private_ip.empty() && url->host == private_ip && lw.vpc_access) {
        const bool all_traffic = lw.vpc_access->egress == "ALL_TRAFFIC";
        if (!EgressReaches(all_traffic ? config::VpcEgress::kAllTraffic : config::VpcEgress::kPrivateRangesOnly,
                           private_ip)) {
          Diag("egress-cannot-reach", ref,
               kind + " " + w.name + " connects to private IP " + private_ip +
                   " with egress PRIVATE_RANGES_ONLY, which sends only RFC 1918 and RFC 6598 "
                   "destinations into the VPC: connections leave through the internet and time out",
               "set egress: ALL_TRAFFIC on this workload");
        }
        const auto& nis = lw.vpc_access->network_interfaces;
        if (!nis.empty() && !nis[0].network.empty() && !inst.private_network.empty() &&
            ShortResourceName(nis[0].network) != NetworkShortName(inst.private_network)) {
          Diag("direct-vpc-network-mismatch", ref,
               kind + " " + w.name + " leaves through Direct VPC egress in network " +
                   CapForDisplay(ShortResourceName(nis[0].network), 64) + " but instance " + inst.name +
                   "'s private IP is in network " + NetworkShortName(inst.private_network) +
                   ": connections time out",
               "set directVpc.network: " + NetworkShortName(inst.private_network) + " on this workload");
        }
      }
      const bool tls_required = inst.ssl_mode == "ENCRYPTED_ONLY" ||
                                inst.ssl_mode == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED";
      auto pg_mode = QueryParam(*url, "sslmode");
      auto my_mode = QueryParam(*url, "ssl-mode");
      const bool disabled = (pg_mode && *pg_mode == "disable") ||
                            (my_mode && (*my_mode == "DISABLED" || *my_mode == "disabled"));
      if (tls_required && disabled && !url->host.empty()) {
        Diag("ssl-disabled", ref,
             "instance " + inst.name + " requires SSL (sslMode " + inst.ssl_mode + ") but " +
                 kind + " " + w.name + "'s " + w.url_env +
                 " disables it: connections are refused",
             "this plan rewrites " + w.url_env + " with " + engine_.tls_query);
      }
    }
  }

  std::string FixFor(const config::Workload& w) const {
    switch (w.method) {
      case config::ConnectionMethod::kPrivateIp:
        return "this plan moves it to the instance's private IP" +
               (w.direct_vpc ? " through Direct VPC egress in network " + w.direct_vpc->network
                : in_.connector ? " through connector " + connector_name_
                                : std::string()) +
               "; do not authorize 0.0.0.0/0";
      case config::ConnectionMethod::kCloudSqlSocket:
        return "this plan mounts the Cloud SQL socket at /cloudsql/" + connection_name_ +
               " and points " + w.url_env + " at it";
      case config::ConnectionMethod::kPsc:
        return "this plan moves it to PSC endpoint " + (w.psc ? w.psc->endpoint : std::string()) +
               "; do not authorize 0.0.0.0/0";
      case config::ConnectionMethod::kPublicIp:
        break;
    }
    return "authorize the workload's egress address (Cloud NAT with a static IP) or switch "
           "to method privateIp or cloudSqlSocket; never authorize 0.0.0.0/0";
  }

  // ---- security findings ----------------------------------------------------------

  void FindSecurityProblems() {
    for (const auto& w : in_.workloads) {
      const auto& all = w.kind == config::WorkloadKind::kJob ? live_.jobs : live_.services;
      auto found = all.find(w.name);
      if (found == all.end()) continue;
      const ResourceRef ref{w.kind == config::WorkloadKind::kJob ? ResourceKind::kJob
                                                                 : ResourceKind::kService,
                            w.name};
      const Credentials cred = CredentialsFor(w);
      const std::string fix =
          (cred.password_env.empty()
               ? std::string("reference the password from Secret Manager")
               : "this plan replaces it with secret " +
                     ParseSecretVersion(w.database.password_secret).secret + " in env " +
                     cred.password_env) +
          "; rotate the password: it was readable by anyone who can view the " + KindWord(w.kind);
      for (const auto& c : found->second.containers) {
        for (const auto& e : c.env) {
          if (e.secret || e.value.empty()) continue;
          // Every form: URL userinfo, password=/pwd= in a query string, a
          // libpq DSN or JDBC string, or an env var named like a password
          // (the driver's own variable, e.g. PGPASSWORD, among them).
          const bool in_value = HasLiteralPassword(e.value);
          const bool literal_password_env =
              e.name == cred.password_env || e.name == StandardPasswordEnv(db_engine_) ||
              e.name == w.database.password_env ||
              (IsPasswordName(e.name) && e.value.front() != '$');
          if (!in_value && !literal_password_env) continue;
          Finding("literal-password", ref,
                  KindWord(w.kind) + " " + w.name + ": env " + CapForDisplay(e.name, 64) +
                      (c.name.empty() ? "" : " in container " + CapForDisplay(c.name, 64)) +
                      " holds a literal password" +
                      (in_value ? " (" + RedactForDisplay(e.value) + ")" : std::string()),
                  fix);
        }
      }
    }
    if (live_.instance) {
      for (const auto& e : live_.instance->authorized_networks) {
        if (!WorldOpen(e.value)) continue;
        Finding("world-open", {ResourceKind::kInstance, live_.instance->name},
                "instance " + live_.instance->name + ": authorized network " + e.value +
                    " opens it to the whole internet",
                "use private IP or the Cloud SQL socket; with policy.pruneAuthorizedNetworks "
                "this plan removes networks the file does not list");
      }
    }
  }

  void MarkReportOnly() {
    if (in_.policy.mode == config::PolicyMode::kObserve) {
      plan_.report_only = true;
      plan_.report_only_reason = "policy.mode is observe";
    } else if (in_.policy.paused) {
      plan_.report_only = true;
      plan_.report_only_reason = "paused";
    }
    if (!plan_.report_only) return;
    for (auto& s : plan_.steps) s.report_only = true;
  }

  const config::Intent& in_;
  const LiveState& live_;
  Plan plan_;
  Engine engine_;
  DbEngine db_engine_ = DbEngine::kUnknown;
  std::string connection_name_;
  std::string range_step_, peering_step_, connector_step_, instance_step_;
  bool enforcement_pending_ = false;              // connectorEnforcement REQUIRED to turn on
  std::string connector_name_;                   // the connector workloads use
  std::optional<gcp::Connector> connector_live_;  // that connector, live
  std::vector<std::string> workload_steps_, verify_steps_;
  PscPlan psc_;  // Private Service Connect half (psc.h)
  std::optional<gcp::SqlInstance> after_first_half_;
  std::optional<Step> public_path_;
  std::optional<gcp::SqlInstance> public_path_want_;
  std::string failed_verification_;
};

}  // namespace

std::string_view IamFlagName(std::string_view database_version) {
  if (database_version.rfind("MYSQL", 0) == 0) return "cloudsql_iam_authentication";
  if (database_version.rfind("SQLSERVER", 0) == 0) return "";
  return "cloudsql.iam_authentication";  // PostgreSQL, and the default
}

std::string DefaultRangeName(std::string_view network) {
  return "google-managed-services-" + std::string(network);
}

std::string ServicesRangeName(const config::PrivateIp& private_ip) {
  return private_ip.services_access.range_name.empty() ? DefaultRangeName(private_ip.network)
                                                       : private_ip.services_access.range_name;
}

std::string InstanceStepId(std::string_view instance) {
  return "instance/" + std::string(instance);
}

std::string PublicPathStepId(std::string_view instance) {
  return "instance/" + std::string(instance) + "/public-path";
}

Plan ComputePlan(const config::Intent& intent, const LiveState& live) {
  return Planner(intent, live).Run();
}

}  // namespace dbconnd::reconcilers
