#include "cli/export.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "common/redact.h"
#include "config/cidr.h"
#include "config/emit.h"
#include "config/loader.h"
#include "config/names.h"
#include "gcp/resource_names.h"
#include "reconcilers/db_url.h"
#include "reconcilers/diff.h"
#include "reconcilers/direct_vpc.h"
#include "reconcilers/planner.h"

namespace dbconnd::cli {
namespace {

using config::ConnectionMethod;
using config::WorkloadKind;

// Env values longer than this are not inspected (nothing legitimate is).
constexpr size_t kMaxEnvValue = 16 << 10;
constexpr char kSocketDir[] = "/cloudsql/";

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool PasswordLikeEnv(std::string_view name) {
  std::string u = Upper(name);
  return u.find("PASSWORD") != std::string::npos || u.find("PASSWD") != std::string::npos ||
         (u.size() >= 3 && u.compare(u.size() - 3, 3, "PWD") == 0);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// database.name / database.user as the loader accepts them.
bool GoodDbIdentifier(std::string_view s, bool allow_at) {
  if (s.empty() || s.size() > 63) return false;
  return std::all_of(s.begin(), s.end(), [allow_at](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == '$' || (allow_at && c == '@');
  });
}

bool LooksRfc3339(std::string_view s) {
  auto digits = [&](size_t pos, size_t n) {
    if (pos + n > s.size()) return false;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
    }
    return true;
  };
  return s.size() > 19 && s.size() <= 64 && digits(0, 4) && s[4] == '-' && digits(5, 2) &&
         s[7] == '-' && digits(8, 2) && (s[10] == 'T' || s[10] == 't') && digits(11, 2) &&
         s[13] == ':' && digits(14, 2) && s[16] == ':' && digits(17, 2);
}

struct ConnectorName {
  std::string project, region, name;
};

std::optional<ConnectorName> ParseConnectorName(std::string_view full) {
  // projects/P/locations/R/connectors/N
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (parts.size() < 7) {
    size_t slash = full.find('/', start);
    parts.push_back(
        full.substr(start, slash == std::string_view::npos ? full.npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() != 6 || parts[0] != "projects" || parts[2] != "locations" ||
      parts[4] != "connectors" || parts[1].empty() || parts[3].empty() || parts[5].empty()) {
    return std::nullopt;
  }
  return ConnectorName{std::string(parts[1]), std::string(parts[3]), std::string(parts[5])};
}

std::string KindWord(WorkloadKind k) { return k == WorkloadKind::kJob ? "job" : "service"; }

// How one live workload reaches one instance.
struct Reach {
  const gcp::RunWorkload* live = nullptr;
  WorkloadKind kind = WorkloadKind::kJob;
  bool found_url = false;
  size_t container = 0;
  std::string url_env;
  reconcilers::DbUrl url;
  ConnectionMethod method = ConnectionMethod::kPrivateIp;
  std::vector<std::string> other_ways;  // "Cloud SQL volume", "env X names the instance"
};

std::optional<Reach> FindReach(const gcp::RunWorkload& w, WorkloadKind kind,
                               const gcp::SqlInstance& inst) {
  Reach r;
  r.live = &w;
  r.kind = kind;
  const std::string priv = inst.AddressOfType("PRIVATE");
  const std::string pub = inst.AddressOfType("PRIMARY");
  const std::string& conn = inst.connection_name;
  for (const auto& v : w.cloud_sql_volumes) {
    if (!conn.empty() &&
        std::find(v.instances.begin(), v.instances.end(), conn) != v.instances.end()) {
      r.other_ways.push_back("Cloud SQL volume " + v.name);
    }
  }
  int best_rank = 0;  // 2: DATABASE_URL, 1: another env
  for (size_t ci = 0; ci < w.containers.size(); ++ci) {
    for (const auto& e : w.containers[ci].env) {
      if (e.secret || e.value.empty() || e.value.size() > kMaxEnvValue) continue;
      auto url = reconcilers::ParseDbUrl(e.value);
      std::optional<ConnectionMethod> method;
      if (url) {
        if (!priv.empty() && url->host == priv) {
          method = ConnectionMethod::kPrivateIp;
        } else if (!pub.empty() && url->host == pub) {
          method = ConnectionMethod::kPublicIp;
        } else if (url->host.empty() && !conn.empty()) {
          for (const char* key : {"host", "unix_socket", "socket"}) {
            auto q = reconcilers::QueryParam(*url, key);
            if (q && *q == kSocketDir + conn) method = ConnectionMethod::kCloudSqlSocket;
          }
        }
      }
      if (!method) {
        if (!conn.empty() && e.value.find(conn) != std::string::npos) {
          r.other_ways.push_back("env " + e.name + " names the instance");
        }
        continue;
      }
      int rank = e.name == "DATABASE_URL" ? 2 : 1;
      if (rank <= best_rank) continue;
      best_rank = rank;
      r.found_url = true;
      r.container = ci;
      r.url_env = e.name;
      r.url = *url;
      r.method = *method;
    }
  }
  if (!r.found_url && r.other_ways.empty()) return std::nullopt;
  return r;
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

class IntentBuilder {
 public:
  IntentBuilder(const ExportSnapshot& snap, const ExportOptions& opts, const gcp::SqlInstance& inst,
                std::map<std::string, std::string>* declared_workloads)
      : snap_(snap), opts_(opts), inst_(inst), declared_(declared_workloads) {}

  ExportedIntent Build() {
    out_.name = inst_.name;
    in_.name = inst_.name;
    in_.project = opts_.project;
    in_.region = inst_.region;
    in_.instance.name = inst_.name;
    BuildInstance();
    if (!out_.error.empty()) return std::move(out_);
    BuildWorkloads();
    Check();
    return std::move(out_);
  }

 private:
  void Note(std::string text, std::vector<std::string>* where) {
    where->push_back(text);
    out_.notes.push_back(std::move(text));
  }

  void BuildInstance() {
    auto& decl = in_.instance;
    if (inst_.ssl_mode == "ENCRYPTED_ONLY") {
      decl.ssl_mode = config::SslMode::kEncryptedOnly;
    } else if (inst_.ssl_mode == "ALLOW_UNENCRYPTED_AND_ENCRYPTED") {
      decl.ssl_mode = config::SslMode::kAllowUnencryptedAndEncrypted;
    } else if (inst_.ssl_mode == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED") {
      decl.ssl_mode = config::SslMode::kTrustedClientCertificateRequired;
    }
    const std::string flag(reconcilers::IamFlagName(inst_.database_version));
    if (!flag.empty()) {
      bool on = std::any_of(
          inst_.database_flags.begin(), inst_.database_flags.end(),
          [&](const gcp::DatabaseFlag& f) { return f.name == flag && f.value == "on"; });
      decl.iam_authentication = on;
    }

    config::PublicIp pub;
    pub.enabled = inst_.ipv4_enabled;
    std::set<std::string> names, cidrs;
    for (const auto& e : inst_.authorized_networks) {
      auto cidr = config::ParseIpv4Cidr(e.value);
      std::string why;
      if (!cidr.ok()) {
        why = "is not written as a canonical CIDR";
      } else if (cidr->prefix <= 7) {
        why =
            "opens the instance to the whole internet; dbconnd will not declare it for you "
            "(pruneAuthorizedNetworks stays off, so it is left as it is)";
      } else if (cidrs.count(e.value)) {
        why = "is listed twice";
      } else if (e.name.empty() || e.name.size() > 63 || names.count(e.name) ||
                 !std::all_of(e.name.begin(), e.name.end(),
                              [](char c) { return c >= 0x20 && c < 0x7f; })) {
        why = "has no label, or one that is not unique and printable (1-63 characters)";
      } else if (!e.expiration_time.empty() && !LooksRfc3339(e.expiration_time)) {
        why = "has an expiry that is not an RFC 3339 time";
      }
      // The CIDR is shown only when it parsed: an unparsable value is capped.
      std::string shown = cidr.ok() ? e.value : "(an entry)";
      if (!why.empty()) {
        Note("authorized network " + shown + " " + why + "; not declared", &comments_.instance);
        continue;
      }
      names.insert(e.name);
      cidrs.insert(e.value);
      pub.authorized_networks.push_back({e.name, e.value, e.expiration_time, {}});
    }
    decl.public_ip = std::move(pub);

    // Connector enforcement: declared when it is on, so adopting the file
    // keeps it on (left out, it is not managed, as NOT_REQUIRED would be
    // the default anyway).
    if (inst_.connector_enforcement == "REQUIRED") {
      decl.connector_enforcement = config::ConnectorEnforcement::kRequired;
    }
    // Private Service Connect: declared while it is on, with the live list of
    // consumer projects in full (the file's list replaces the live one, so a
    // list that cannot be written as it is is not declared at all).
    if (inst_.psc_enabled) {
      config::Psc psc;
      std::string why;
      for (const auto& p : inst_.allowed_consumer_projects) {
        if (!config::CheckProjectId(p).ok() && !config::CheckProjectNumber(p).ok()) {
          why = "lists a consumer project that is neither a project ID nor a number";
        } else if (std::find(psc.allowed_consumer_projects.begin(), psc.allowed_consumer_projects.end(), p) !=
                   psc.allowed_consumer_projects.end()) {
          why = "lists a consumer project twice";
        }
        if (!why.empty()) break;
        psc.allowed_consumer_projects.push_back(p);
      }
      if (why.empty()) {
        decl.psc = std::move(psc);
      } else {
        Note("Private Service Connect is on but its allowedConsumerProjects " + why +
                 "; psc is not declared (not managed)",
             &comments_.instance);
      }
    }

    if (!inst_.private_network.empty()) {
      if (opts_.project_number.empty()) {
        out_.error = "instance " + inst_.name +
                     " has a private IP; pass --project-number (Service Networking names "
                     "networks by project number: gcloud projects describe " +
                     opts_.project + " --format='value(projectNumber)')";
        return;
      }
      in_.project_number = opts_.project_number;
      config::PrivateIp pip;
      pip.network = reconcilers::NetworkShortName(inst_.private_network);
      pip.services_access.range_name = ChooseRange(pip.network);
      auto r = snap_.ranges.find(pip.services_access.range_name);
      if (r != snap_.ranges.end() && r->second.prefix_length >= 8 &&
          r->second.prefix_length <= 24) {
        pip.services_access.prefix_length = r->second.prefix_length;
      }
      decl.private_ip = std::move(pip);
    }
  }

  // The private services range to declare: one that exists on the network and
  // that the network's Service Networking connection reserves, so the plan
  // neither creates a range nor adds it to the connection.
  std::string ChooseRange(const std::string& network) const {
    std::vector<std::string> candidates;
    if (!inst_.allocated_ip_range.empty()) candidates.push_back(inst_.allocated_ip_range);
    candidates.push_back(reconcilers::DefaultRangeName(network));
    std::vector<std::string> reserved;
    auto p = snap_.peerings.find(network);
    if (p != snap_.peerings.end()) {
      for (const auto& c : p->second) {
        for (const auto& r : c.reserved_peering_ranges) reserved.push_back(r);
      }
    }
    std::sort(reserved.begin(), reserved.end());
    candidates.insert(candidates.end(), reserved.begin(), reserved.end());
    for (const auto& c : candidates) {
      auto r = snap_.ranges.find(c);
      if (r == snap_.ranges.end() || reconcilers::NetworkShortName(r->second.network) != network) {
        continue;
      }
      if (std::find(reserved.begin(), reserved.end(), c) != reserved.end()) return c;
    }
    return candidates.front();
  }

  void BuildWorkloads() {
    std::vector<Reach> reaches;
    auto scan = [&](const std::map<std::string, std::vector<gcp::RunWorkload>>& by_region,
                    WorkloadKind kind) {
      auto it = by_region.find(inst_.region);
      if (it == by_region.end()) return;
      for (const auto& w : it->second) {
        if (auto r = FindReach(w, kind, inst_)) reaches.push_back(std::move(*r));
      }
    };
    scan(snap_.jobs, WorkloadKind::kJob);
    scan(snap_.services, WorkloadKind::kService);
    std::sort(reaches.begin(), reaches.end(), [](const Reach& a, const Reach& b) {
      return std::pair(a.kind, a.live->name) < std::pair(b.kind, b.live->name);
    });
    // Workloads in other regions: an intent covers one region.
    for (const auto* by_region : {&snap_.jobs, &snap_.services}) {
      const WorkloadKind kind =
          by_region == &snap_.jobs ? WorkloadKind::kJob : WorkloadKind::kService;
      for (const auto& [region, list] : *by_region) {
        if (region == inst_.region) continue;
        for (const auto& w : list) {
          if (FindReach(w, kind, inst_)) {
            Note(KindWord(kind) + " " + w.name + " in region " + region +
                     " reaches this instance but an intent covers one region; not declared",
                 &comments_.workloads_end);
          }
        }
      }
    }

    ChooseConnector(reaches);
    for (const auto& r : reaches) AddWorkload(r);
  }

  void ChooseConnector(const std::vector<Reach>& reaches) {
    std::map<std::string, int> uses;
    for (const auto& r : reaches) {
      if (r.found_url && r.method == ConnectionMethod::kPrivateIp && r.live->vpc_access &&
          !r.live->vpc_access->connector.empty()) {
        ++uses[r.live->vpc_access->connector];
      }
    }
    std::string best;
    int most = 0;
    for (const auto& [name, n] : uses) {
      if (n > most) best = name, most = n;
    }
    if (best.empty()) return;
    auto parsed = ParseConnectorName(best);
    std::string why;
    const gcp::Connector* live = nullptr;
    if (!parsed || parsed->project != opts_.project || parsed->region != inst_.region) {
      why = "is not in project " + opts_.project + ", region " + inst_.region;
    } else {
      auto list = snap_.connectors.find(inst_.region);
      if (list != snap_.connectors.end()) {
        for (const auto& c : list->second) {
          if (c.name == parsed->name) live = &c;
        }
      }
      if (!live) why = "was not found";
    }
    if (live && !live->subnet_name.empty()) {
      // A Shared VPC subnet: the subnet decides network and range.
      if (!config::CheckRfc1035Name(live->subnet_name, "subnet").ok() ||
          (!live->subnet_project.empty() && !config::CheckProjectId(live->subnet_project).ok())) {
        why = "is in a subnet dbconnd cannot name";
      } else if (!config::CheckConnectorId(live->name).ok()) {
        why = "has a name dbconnd cannot declare";
      } else if (!in_.instance.private_ip ||
                 (!live->network.empty() &&
                  reconcilers::NetworkShortName(live->network) != in_.instance.private_ip->network)) {
        why = "is not in the instance's private network";
      }
    } else if (live) {
      auto cidr = config::ParseIpv4Cidr(live->ip_cidr_range);
      if (!cidr.ok() || cidr->prefix != 28 || !config::IsRfc1918(*cidr)) {
        why = "has neither a subnet nor a /28 ipCidrRange inside RFC 1918 space";
      } else if (!config::CheckConnectorId(live->name).ok()) {
        why = "has a name dbconnd cannot declare";
      } else if (!in_.instance.private_ip ||
                 reconcilers::NetworkShortName(live->network) != in_.instance.private_ip->network) {
        why = "is not in the instance's private network";
      }
    }
    if (!why.empty()) {
      Note("connector " + (parsed ? parsed->name : std::string("in use")) + " " + why +
               "; workloads using private IP through it are not declared",
           &comments_.connector);
      return;
    }
    config::Connector c;
    c.name = live->name;
    if (!live->subnet_name.empty()) {
      c.subnet = config::ConnectorSubnet{live->subnet_name, live->subnet_project};
    } else {
      c.network = reconcilers::NetworkShortName(live->network);
      c.ip_cidr_range = live->ip_cidr_range;
    }
    // Scaling as it is: instances (changed in place) when Serverless VPC
    // Access reports them in the file's range, else the throughput (fixed
    // at creation) when only that is reported.
    const bool instances_ok = live->min_instances >= 2 && live->min_instances <= 9 && live->max_instances >= 3 &&
                              live->max_instances <= 10 && live->max_instances > live->min_instances;
    const bool throughput_ok = live->min_throughput >= 200 && live->min_throughput <= 900 &&
                               live->max_throughput >= 300 && live->max_throughput <= 1000 &&
                               live->min_throughput % 100 == 0 && live->max_throughput % 100 == 0 &&
                               live->max_throughput > live->min_throughput;
    if (instances_ok) {
      c.min_instances = live->min_instances;
      c.max_instances = live->max_instances;
    } else if (live->min_instances == 0 && live->max_instances == 0 && throughput_ok) {
      c.min_throughput = live->min_throughput;
      c.max_throughput = live->max_throughput;
    }
    if (live->machine_type == "e2-micro" || live->machine_type == "f1-micro" ||
        live->machine_type == "e2-standard-4") {
      c.machine_type = live->machine_type;
    }
    in_.connector = std::move(c);
  }

  void AddWorkload(const Reach& r) {
    const std::string what = KindWord(r.kind) + " " + r.live->name;
    if (!r.found_url) {
      Note(what + " reaches this instance (" + Join(r.other_ways, ", ") +
               ") but carries no connection URL dbconnd could take over; not declared",
           &comments_.workloads_end);
      return;
    }
    // Direct VPC egress: declared on the workload when the file can say it
    // as it is (network of the instance, subnetwork of the region).
    std::optional<config::DirectVpc> direct;
    if (r.method == ConnectionMethod::kPrivateIp && r.live->vpc_access &&
        r.live->vpc_access->connector.empty() && !r.live->vpc_access->network_interfaces.empty()) {
      const auto& ni = r.live->vpc_access->network_interfaces[0];
      config::DirectVpc d;
      d.network = reconcilers::NetworkShortName(ni.network);
      const std::string sub = reconcilers::ShortResourceName(ni.subnetwork);
      if (!ni.subnetwork.empty() && sub != d.network) d.subnetwork = sub;
      d.tags = ni.tags;
      bool ok = !d.network.empty() && in_.instance.private_ip && d.network == in_.instance.private_ip->network &&
                (ni.subnetwork.find('/') == std::string::npos ||
                 ni.subnetwork.find("projects/" + opts_.project + "/regions/" + inst_.region + "/") !=
                     std::string::npos);
      for (const auto& t : d.tags) ok = ok && config::CheckRfc1035Name(t, "tag").ok();
      if (!ok) {
        Note(what + " leaves through Direct VPC egress in a way the file cannot declare (network " +
                 CapForDisplay(ni.network) + ", subnetwork " + CapForDisplay(ni.subnetwork) + "); not declared",
             &comments_.workloads_end);
        return;
      }
      direct = std::move(d);
    }
    if (r.method == ConnectionMethod::kPrivateIp && !in_.connector && !direct) {
      Note(what +
               " connects to the private IP but no connector can be declared for it; not "
               "declared",
           &comments_.workloads_end);
      return;
    }
    // Live state the file format refuses (the workload is broken as it is):
    // say so rather than write a file that does not validate.
    if (r.method == ConnectionMethod::kPublicIp && !inst_.ipv4_enabled) {
      Note(what + " connects to the public IP, which is disabled; not declared",
           &comments_.workloads_end);
      return;
    }
    if (r.method == ConnectionMethod::kCloudSqlSocket && !inst_.ipv4_enabled && !in_.connector) {
      Note(what +
               " uses the Cloud SQL socket without a public IP, through no connector dbconnd "
               "can declare; not declared",
           &comments_.workloads_end);
      return;
    }
    const std::string key = inst_.region + "/" + KindWord(r.kind) + "/" + r.live->name;
    if (auto it = declared_->find(key); it != declared_->end()) {
      Note(what + " also reaches this instance; it is declared with instance " + it->second +
               " (a workload is declared once)",
           &comments_.workloads_end);
      return;
    }
    config::Workload w;
    w.kind = r.kind;
    w.name = r.live->name;
    w.method = r.method;
    if (r.container != 0) w.container = r.live->containers[r.container].name;
    w.url_env = r.url_env;
    if (r.method == ConnectionMethod::kPrivateIp && r.live->vpc_access &&
        r.live->vpc_access->egress == "ALL_TRAFFIC") {
      w.egress = config::VpcEgress::kAllTraffic;
    }
    w.direct_vpc = direct;
    w.database.name = PercentDecode(r.url.database);
    w.database.user = PercentDecode(r.url.user);
    if (!GoodDbIdentifier(w.database.name, false) || !GoodDbIdentifier(w.database.user, true)) {
      Note(what + ": env " + r.url_env +
               " has no database name and user dbconnd can declare; not declared",
           &comments_.workloads_end);
      return;
    }
    std::vector<std::string> comments;
    const gcp::Container& c = r.live->containers[r.container];
    const gcp::EnvVar* secret_env = nullptr;
    const gcp::EnvVar* literal_env = nullptr;
    for (const auto& e : c.env) {
      if (e.name == r.url_env || !PasswordLikeEnv(e.name)) continue;
      if (e.secret && !secret_env) secret_env = &e;
      if (!e.secret && !e.value.empty() && !literal_env) literal_env = &e;
    }
    const bool url_password = r.url.has_password && !r.url.password.empty();
    if (secret_env) {
      w.database.password_env = secret_env->name;
      const std::string& s = secret_env->secret->secret;
      w.database.password_secret =
          (s.rfind("projects/", 0) == 0 ? s : "projects/" + opts_.project + "/secrets/" + s) +
          "/versions/" +
          (secret_env->secret->version.empty() ? "latest" : secret_env->secret->version);
      if (!config::CheckSecretVersionRef(w.database.password_secret).ok()) {
        w.database.password_secret = PlaceholderSecret(opts_.project, w.name);
        Note(what + ": env " + secret_env->name +
                 " references a secret dbconnd cannot name; passwordSecret is a placeholder",
             &comments);
        placeholder_ = true;
      }
    }
    if (url_password || literal_env) {
      const std::string where =
          url_password ? "the URL in env " + r.url_env : "env " + literal_env->name;
      if (!secret_env) {
        if (literal_env) w.database.password_env = literal_env->name;
        w.database.password_secret = PlaceholderSecret(opts_.project, w.name);
        Note(what + ": a literal password is in " + where +
                 ". passwordSecret below names a secret to CREATE (placeholder): put the "
                 "password in Secret Manager under that name (or rename it here), rotate it, "
                 "then set policy.mode: enforce",
             &comments);
        placeholder_ = true;
      } else {
        Note(what + ": a literal password is in " + where +
                 " as well as a secret reference; adopting would remove it (rotate it)",
             &comments);
      }
    } else if (!secret_env && in_.instance.iam_authentication != true) {
      w.database.password_secret = PlaceholderSecret(opts_.project, w.name);
      Note(what +
               ": no password secret reference found and IAM authentication is off; "
               "passwordSecret below is a placeholder for a secret to CREATE",
           &comments);
      placeholder_ = true;
    }
    if (w.database.password_env == w.url_env) w.database.password_env = "DB_PASSWORD";
    (*declared_)[key] = inst_.name;
    in_.workloads.push_back(std::move(w));
    comments_.workloads.push_back(std::move(comments));
  }

  reconcilers::LiveState Live() const {
    reconcilers::LiveState live;
    live.instance = inst_;
    if (in_.connector) {
      if (auto l = snap_.connectors.find(inst_.region); l != snap_.connectors.end()) {
        for (const auto& c : l->second) {
          if (c.name == in_.connector->name) live.connector = c;
        }
      }
    }
    // As reconcilers::Observe fills them: the declared workloads, and the
    // region's index.
    auto index = [this](const auto& by_region) {
      auto out = std::make_shared<reconcilers::WorkloadIndex>();
      if (auto r = by_region.find(inst_.region); r != by_region.end()) {
        for (const auto& w : r->second) out->emplace(w.name, w);
      }
      return out;
    };
    live.all_jobs = index(snap_.jobs);
    live.all_services = index(snap_.services);
    for (const auto& w : in_.workloads) {
      const bool job = w.kind == WorkloadKind::kJob;
      const auto& all = job ? *live.all_jobs : *live.all_services;
      if (auto f = all.find(w.name); f != all.end()) (job ? live.jobs : live.services).emplace(*f);
    }
    if (in_.instance.private_ip) {
      const auto& pip = *in_.instance.private_ip;
      if (auto p = snap_.peerings.find(pip.network); p != snap_.peerings.end()) {
        live.peerings = std::make_shared<const reconcilers::PeeringList>(p->second);
      }
      if (auto r = snap_.ranges.find(reconcilers::ServicesRangeName(pip));
          r != snap_.ranges.end()) {
        live.services_range = r->second;
      }
    }
    return live;
  }

  // The round trip: plan the intent against the snapshot it came from.
  void Check() {
    reconcilers::Plan plan = reconcilers::ComputePlan(in_, Live());
    if (!plan.steps.empty() || placeholder_) {
      in_.policy.mode = config::PolicyMode::kObserve;
      out_.observe = true;
      std::vector<std::string> lines = {
          "policy.mode is observe: live state cannot be declared exactly as it is, so "
          "adopting this file must not write. dbconnd plan shows what enforce would change:"};
      for (const auto& s : plan.steps) {
        std::vector<std::string> paths;
        for (const auto& c : s.changes) paths.push_back(c.path);
        std::string line = "  " + s.id + (paths.empty() ? "" : ": " + Join(paths, ", "));
        lines.push_back(line);
        out_.notes.push_back("would change " + line.substr(2));
      }
      lines.push_back("Review, then set mode: enforce (or delete the policy section).");
      comments_.policy = std::move(lines);
    }
    comments_.header = {
        "Exported by dbconnd export from project " + opts_.project + ", Cloud SQL instance " +
            inst_.name + ".",
        "Review before committing: dbconnd validate FILE; dbconnd plan FILE (no changes = "
        "adopted as is)."};
    std::string yaml = config::EmitIntentYaml(in_, comments_);
    config::LoadResult loaded = config::LoadString(yaml, inst_.name + ".yaml");
    if (!loaded.ok()) {
      std::vector<std::string> problems;
      for (const auto& d : loaded.diagnostics) {
        if (d.severity == config::Diagnostic::Severity::kError) {
          problems.push_back(d.path + ": " + d.message);
        }
      }
      out_.error = "the exported file for instance " + inst_.name +
                   " does not validate: " + Join(problems, "; ");
      return;
    }
    out_.yaml = std::move(yaml);
  }

  const ExportSnapshot& snap_;
  const ExportOptions& opts_;
  const gcp::SqlInstance& inst_;
  std::map<std::string, std::string>* declared_;
  config::Intent in_;
  config::EmitComments comments_;
  ExportedIntent out_;
  bool placeholder_ = false;
};

}  // namespace

std::string PlaceholderSecret(const std::string& project, const std::string& workload) {
  std::string id = "CREATE-ME-" + workload.substr(0, 200) + "-db-password";
  return "projects/" + project + "/secrets/" + id + "/versions/latest";
}

std::vector<ExportedIntent> BuildExport(const ExportSnapshot& snapshot,
                                        const ExportOptions& options) {
  std::vector<const gcp::SqlInstance*> order;
  for (const auto& i : snapshot.instances) order.push_back(&i);
  std::sort(order.begin(), order.end(),
            [](const gcp::SqlInstance* a, const gcp::SqlInstance* b) { return a->name < b->name; });
  std::map<std::string, std::string> declared;
  std::vector<ExportedIntent> out;
  for (const auto* inst : order) {
    out.push_back(IntentBuilder(snapshot, options, *inst, &declared).Build());
  }
  return out;
}

gcp::Task<StatusOr<ExportSnapshot>> ReadForExport(gcp::Clients clients, ExportOptions options) {
  ExportSnapshot snap;
  auto listed = co_await clients.sql->ListInstances(options.project);
  if (!listed.ok()) co_return listed.status();
  const std::set<std::string> want_regions(options.regions.begin(), options.regions.end());
  const std::set<std::string> want_names(options.instances.begin(), options.instances.end());
  std::set<std::string> seen;
  for (auto& i : *listed) {
    seen.insert(i.name);
    if (!want_regions.empty() && !want_regions.count(i.region)) continue;
    if (!want_names.empty() && !want_names.count(i.name)) continue;
    snap.instances.push_back(std::move(i));
  }
  for (const auto& n : want_names) {
    if (!seen.count(n)) {
      co_return NotFoundError("instance " + n + " not found in project " + options.project);
    }
  }
  std::sort(snap.instances.begin(), snap.instances.end(),
            [](const gcp::SqlInstance& a, const gcp::SqlInstance& b) { return a.name < b.name; });

  std::set<std::string> regions;
  std::set<std::string> networks;
  for (const auto& i : snap.instances) {
    regions.insert(i.region);
    if (!i.private_network.empty()) {
      if (options.project_number.empty()) {
        co_return FailedPreconditionError(
            "instance " + i.name +
            " has a private IP and Resource Manager did not tell the project number: pass "
            "--project-number (Service "
            "Networking names networks by project number; gcloud projects describe " +
            options.project + " --format='value(projectNumber)')");
      }
      networks.insert(reconcilers::NetworkShortName(i.private_network));
    }
  }
  for (const auto& region : regions) {
    auto jobs = co_await clients.run->ListJobs(options.project, region, gcp::RawDocuments::kDrop);
    if (!jobs.ok()) co_return jobs.status();
    snap.jobs[region] = std::move(*jobs);
    auto services =
        co_await clients.run->ListServices(options.project, region, gcp::RawDocuments::kDrop);
    if (!services.ok()) co_return services.status();
    snap.services[region] = std::move(*services);
    auto connectors = co_await clients.vpc->ListConnectors(options.project, region);
    if (!connectors.ok()) co_return connectors.status();
    snap.connectors[region] = std::move(*connectors);
  }
  std::set<std::string> range_names;
  for (const auto& network : networks) {
    auto peerings = co_await clients.networking->ListConnections(
        gcp::NetworkName(options.project_number, network));
    if (!peerings.ok()) co_return peerings.status();
    for (const auto& p : *peerings) {
      for (const auto& r : p.reserved_peering_ranges) range_names.insert(r);
    }
    snap.peerings[network] = std::move(*peerings);
    range_names.insert(reconcilers::DefaultRangeName(network));
  }
  for (const auto& i : snap.instances) {
    if (!i.allocated_ip_range.empty()) range_names.insert(i.allocated_ip_range);
  }
  for (const auto& name : range_names) {
    auto range = co_await clients.compute->GetGlobalAddress(options.project, name);
    if (range.ok()) {
      snap.ranges[name] = std::move(*range);
    } else if (range.status().code() != StatusCode::kNotFound) {
      co_return range.status();
    }
  }
  co_return snap;
}

}  // namespace dbconnd::cli
