#include "reconcilers/diff.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "common/redact.h"
#include "common/rfc3339.h"
#include "reconcilers/db_url.h"

namespace dbconnd::reconcilers {
namespace {

// Values come from Google (anyone with write access to a resource sets
// them) or the intent: passwords masked, size capped, before display.
std::string Quote(std::string_view s) {
  if (s.empty()) return "";
  return "\"" + RedactForDisplay(s) + "\"";
}

std::string Bool(bool b) { return b ? "true" : "false"; }

int SslStrictness(std::string_view mode) {
  if (mode == "ENCRYPTED_ONLY") return 1;
  if (mode == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED") return 2;
  return 0;  // unspecified / ALLOW_UNENCRYPTED_AND_ENCRYPTED
}

std::string DisplayAcl(const gcp::AclEntry& e) {
  std::string out = CapForDisplay(e.value, 64);
  if (!e.name.empty()) out += " (" + RedactForDisplay(e.name, 64) + ")";
  if (!e.expiration_time.empty()) out += " until " + CapForDisplay(e.expiration_time, 64);
  return out;
}

std::map<std::string, gcp::AclEntry> AclByValue(const std::vector<gcp::AclEntry>& list) {
  std::map<std::string, gcp::AclEntry> out;
  for (const auto& e : list) out.emplace(e.value, e);
  return out;
}

std::map<std::string, std::string> FlagsByName(const std::vector<gcp::DatabaseFlag>& list) {
  std::map<std::string, std::string> out;
  for (const auto& f : list) out.emplace(f.name, f.value);
  return out;
}

bool SameAcls(const std::vector<gcp::AclEntry>& a, const std::vector<gcp::AclEntry>& b) {
  if (a.size() != b.size()) return false;
  const auto x = AclByValue(a);
  const auto y = AclByValue(b);
  if (x.size() != y.size()) return false;
  for (const auto& [value, entry] : x) {
    auto it = y.find(value);
    if (it == y.end() || !SameAclEntry(entry, it->second)) return false;
  }
  return true;
}

bool SameFlags(const std::vector<gcp::DatabaseFlag>& a, const std::vector<gcp::DatabaseFlag>& b) {
  return a.size() == b.size() && FlagsByName(a) == FlagsByName(b);
}

bool LooksSensitive(std::string_view name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (std::string_view word : {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "PWD"}) {
    if (upper.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string ContainerLabel(const gcp::Container& c, std::size_t index) {
  return c.name.empty() ? std::to_string(index) : c.name;
}

std::string DisplayVpc(const std::optional<gcp::RunVpcAccess>& v) {
  if (!v) return "";
  std::string path = v->connector;
  // Direct VPC egress: "direct network N subnetwork S tags [a, b]".
  for (const auto& ni : v->network_interfaces) {
    if (!path.empty()) path += " + ";
    path += "direct network " + (ni.network.empty() ? std::string("(from subnetwork)") : ni.network);
    if (!ni.subnetwork.empty()) path += " subnetwork " + ni.subnetwork;
    if (!ni.tags.empty()) {
      path += " tags [";
      for (std::size_t i = 0; i < ni.tags.size(); ++i) path += (i ? ", " : "") + ni.tags[i];
      path += "]";
    }
  }
  return CapForDisplay(path) + " egress " + (v->egress.empty() ? "(default)" : v->egress);
}

std::string DisplayVolume(const gcp::CloudSqlVolume& v) {
  std::string out = "cloudSqlInstance [";
  for (std::size_t i = 0; i < v.instances.size(); ++i) {
    if (i) out += ", ";
    out += v.instances[i];
  }
  return out + "]";
}

}  // namespace

std::string AuthorizedNetworkPath(std::string_view cidr) {
  return std::string(kAuthorizedNetworksPath) + "[" + std::string(cidr) + "]";
}

std::string DatabaseFlagPath(std::string_view name) {
  return std::string(kDatabaseFlagsPath) + "[" + std::string(name) + "]";
}

std::optional<InstancePath> ParseInstancePath(std::string_view path) {
  using Field = InstancePath::Field;
  if (path == kIpv4EnabledPath) return InstancePath{Field::kIpv4Enabled, ""};
  if (path == kSslModePath) return InstancePath{Field::kSslMode, ""};
  if (path == kPrivateNetworkPath) return InstancePath{Field::kPrivateNetwork, ""};
  if (path == kAllocatedIpRangePath) return InstancePath{Field::kAllocatedIpRange, ""};
  if (path == kConnectorEnforcementPath) return InstancePath{Field::kConnectorEnforcement, ""};
  // "<list>[<key>]" with a non-empty key; the key itself may hold '[' or ']'
  // only as the display cap left it, which no real CIDR or flag name does.
  auto member = [path](std::string_view list) -> std::optional<std::string> {
    if (path.size() < list.size() + 3 || path.substr(0, list.size()) != list ||
        path[list.size()] != '[' || path.back() != ']') {
      return std::nullopt;
    }
    return std::string(path.substr(list.size() + 1, path.size() - list.size() - 2));
  };
  if (auto key = member(kAuthorizedNetworksPath)) return InstancePath{Field::kAuthorizedNetwork, *key};
  if (auto key = member(kDatabaseFlagsPath)) return InstancePath{Field::kDatabaseFlag, *key};
  return std::nullopt;
}

bool SameAclEntry(const gcp::AclEntry& a, const gcp::AclEntry& b) {
  if (a.value != b.value || a.name != b.name) return false;
  if (a.expiration_time == b.expiration_time) return true;
  if (a.expiration_time.empty() || b.expiration_time.empty()) return false;
  auto x = ParseRfc3339(a.expiration_time);
  auto y = ParseRfc3339(b.expiration_time);
  return x && y && *x == *y;
}

std::string NormalizeNetwork(std::string_view network) {
  const auto pos = network.find("projects/");
  if (pos == std::string_view::npos) return std::string(network);
  return std::string(network.substr(pos));
}

std::string NetworkShortName(std::string_view network) {
  const auto pos = network.rfind('/');
  return std::string(pos == std::string_view::npos ? network : network.substr(pos + 1));
}

std::string DisplayEnvValue(const gcp::EnvVar& env) {
  if (env.secret) {
    return "secretKeyRef " + env.secret->secret + " version " +
           (env.secret->version.empty() ? "latest" : env.secret->version);
  }
  if (env.value.empty()) return "";
  if (LooksSensitive(env.name) || IsPasswordName(env.name)) return "*** (literal value)";
  return Quote(env.value);
}

std::vector<FieldChange> DiffInstance(const gcp::SqlInstance& desired,
                                      const gcp::SqlInstance& live) {
  std::vector<FieldChange> out;
  const bool network_changes =
      NormalizeNetwork(desired.private_network) != NormalizeNetwork(live.private_network);
  if (network_changes) {
    // Cloud SQL never removes a private network once set, and attaching one
    // restarts the instance; moving to another network restarts it too.
    out.push_back({std::string(kPrivateNetworkPath), Quote(live.private_network),
                   Quote(desired.private_network),
                   live.private_network.empty() ? Impact::kIrreversible : Impact::kMayRestart,
                   false});
  }
  if (desired.allocated_ip_range != live.allocated_ip_range) {
    out.push_back({std::string(kAllocatedIpRangePath), Quote(live.allocated_ip_range),
                   Quote(desired.allocated_ip_range),
                   network_changes ? Impact::kOnline : Impact::kMayRestart, false});
  }
  if (desired.ssl_mode != live.ssl_mode) {
    const bool tighter = SslStrictness(desired.ssl_mode) > SslStrictness(live.ssl_mode);
    out.push_back({std::string(kSslModePath), Quote(live.ssl_mode), Quote(desired.ssl_mode),
                   tighter ? Impact::kConnectivityBreak : Impact::kOnline, false});
  }
  if (!SameAcls(desired.authorized_networks, live.authorized_networks)) {
    const auto want = AclByValue(desired.authorized_networks);
    const auto have = AclByValue(live.authorized_networks);
    for (const auto& [value, entry] : have) {
      auto it = want.find(value);
      if (it == want.end()) {
        out.push_back({AuthorizedNetworkPath(CapForDisplay(value, 64)), DisplayAcl(entry), "",
                       Impact::kConnectivityBreak, false});
      } else if (!SameAclEntry(it->second, entry)) {
        // Same CIDR, new label or expiry: no client is affected.
        out.push_back({AuthorizedNetworkPath(CapForDisplay(value, 64)), DisplayAcl(entry),
                       DisplayAcl(it->second), Impact::kNone, false});
      }
    }
    for (const auto& [value, entry] : want) {
      if (!have.count(value)) {
        out.push_back({AuthorizedNetworkPath(CapForDisplay(value, 64)), "", DisplayAcl(entry),
                       Impact::kOnline, false});
      }
    }
  }
  if (!SameFlags(desired.database_flags, live.database_flags)) {
    const auto want = FlagsByName(desired.database_flags);
    const auto have = FlagsByName(live.database_flags);
    // The IAM authentication flags need no restart; dbconnd manages no others.
    for (const auto& [name, value] : want) {
      auto it = have.find(name);
      if (it == have.end() || it->second != value) {
        out.push_back({DatabaseFlagPath(name),
                       it == have.end() ? "" : Quote(it->second), Quote(value), Impact::kOnline,
                       false});
      }
    }
    for (const auto& [name, value] : have) {
      if (!want.count(name)) {
        out.push_back({DatabaseFlagPath(name), Quote(value), "",
                       Impact::kMayRestart, false});
      }
    }
  }
  if (desired.connector_enforcement != live.connector_enforcement) {
    // REQUIRED refuses every client that is not a Cloud SQL connector.
    out.push_back({std::string(kConnectorEnforcementPath), Quote(live.connector_enforcement),
                   Quote(desired.connector_enforcement),
                   desired.connector_enforcement == "REQUIRED" ? Impact::kConnectivityBreak : Impact::kOnline,
                   false});
  }
  if (desired.ipv4_enabled != live.ipv4_enabled) {
    out.push_back({std::string(kIpv4EnabledPath), Bool(live.ipv4_enabled), Bool(desired.ipv4_enabled),
                   desired.ipv4_enabled ? Impact::kOnline : Impact::kConnectivityBreak, false});
  }
  return out;
}

gcp::SqlInstancePatch MakeInstancePatch(const gcp::SqlInstance& desired,
                                        const gcp::SqlInstance& live) {
  gcp::SqlInstancePatch patch;
  patch.settings_version = live.settings_version;
  if (desired.ipv4_enabled != live.ipv4_enabled) patch.ipv4_enabled = desired.ipv4_enabled;
  if (NormalizeNetwork(desired.private_network) != NormalizeNetwork(live.private_network)) {
    patch.private_network = desired.private_network;
  }
  if (desired.allocated_ip_range != live.allocated_ip_range) {
    patch.allocated_ip_range = desired.allocated_ip_range;
  }
  if (!SameAcls(desired.authorized_networks, live.authorized_networks)) {
    patch.authorized_networks = desired.authorized_networks;
  }
  if (desired.ssl_mode != live.ssl_mode) patch.ssl_mode = desired.ssl_mode;
  if (!SameFlags(desired.database_flags, live.database_flags)) {
    patch.database_flags = desired.database_flags;
  }
  if (desired.connector_enforcement != live.connector_enforcement) {
    patch.connector_enforcement = desired.connector_enforcement;
  }
  return patch;
}

std::vector<FieldChange> DiffConnector(const gcp::Connector& desired, const gcp::Connector& live) {
  std::vector<FieldChange> out;
  if (NetworkShortName(desired.network) != NetworkShortName(live.network)) {
    out.push_back({"network", Quote(live.network), Quote(desired.network),
                   Impact::kConnectivityBreak, true});
  }
  if (desired.ip_cidr_range != live.ip_cidr_range) {
    out.push_back({"ipCidrRange", Quote(live.ip_cidr_range), Quote(desired.ip_cidr_range),
                   Impact::kConnectivityBreak, true});
  }
  return out;
}

std::vector<FieldChange> DiffWorkload(const gcp::RunWorkload& desired,
                                      const gcp::RunWorkload& live) {
  std::vector<FieldChange> out;
  const bool job = desired.kind == gcp::RunKind::kJob;
  const std::string prefix = job ? "template.template." : "template.";
  // A job change takes effect at its next execution; a service rolls out a
  // new revision, replacing running instances.
  const Impact impact = job ? Impact::kOnline : Impact::kMayRestart;

  const std::size_t n = std::max(desired.containers.size(), live.containers.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (i >= desired.containers.size() || i >= live.containers.size()) {
      const auto& c = i < live.containers.size() ? live.containers[i] : desired.containers[i];
      out.push_back({prefix + "containers[" + ContainerLabel(c, i) + "]",
                     i < live.containers.size() ? c.image : "",
                     i < desired.containers.size() ? c.image : "", impact, false});
      continue;
    }
    const auto& d = desired.containers[i];
    const auto& l = live.containers[i];
    const std::string cpath = prefix + "containers[" + ContainerLabel(d, i) + "].";
    for (const auto& e : d.env) {
      auto it = std::find_if(l.env.begin(), l.env.end(),
                             [&](const gcp::EnvVar& x) { return x.name == e.name; });
      if (it == l.env.end()) {
        out.push_back({cpath + "env[" + CapForDisplay(e.name, 64) + "]", "", DisplayEnvValue(e), impact, false});
      } else if (!(*it == e)) {
        out.push_back({cpath + "env[" + CapForDisplay(e.name, 64) + "]", DisplayEnvValue(*it), DisplayEnvValue(e),
                       impact, false});
      }
    }
    for (const auto& e : l.env) {
      const bool kept = std::any_of(d.env.begin(), d.env.end(),
                                    [&](const gcp::EnvVar& x) { return x.name == e.name; });
      if (!kept) {
        out.push_back({cpath + "env[" + CapForDisplay(e.name, 64) + "]", DisplayEnvValue(e), "", impact, false});
      }
    }
    for (const auto& m : d.volume_mounts) {
      auto it = std::find_if(l.volume_mounts.begin(), l.volume_mounts.end(),
                             [&](const gcp::VolumeMount& x) { return x.name == m.name; });
      if (it == l.volume_mounts.end() || it->mount_path != m.mount_path) {
        out.push_back({cpath + "volumeMounts[" + m.name + "]",
                       it == l.volume_mounts.end() ? "" : Quote(it->mount_path),
                       Quote(m.mount_path), impact, false});
      }
    }
    for (const auto& m : l.volume_mounts) {
      const bool kept =
          std::any_of(d.volume_mounts.begin(), d.volume_mounts.end(),
                      [&](const gcp::VolumeMount& x) { return x.name == m.name; });
      if (!kept) {
        out.push_back(
            {cpath + "volumeMounts[" + m.name + "]", Quote(m.mount_path), "", impact, false});
      }
    }
  }
  for (const auto& v : desired.cloud_sql_volumes) {
    auto it = std::find_if(live.cloud_sql_volumes.begin(), live.cloud_sql_volumes.end(),
                           [&](const gcp::CloudSqlVolume& x) { return x.name == v.name; });
    if (it == live.cloud_sql_volumes.end() || !(*it == v)) {
      out.push_back({prefix + "volumes[" + v.name + "]",
                     it == live.cloud_sql_volumes.end() ? "" : DisplayVolume(*it),
                     DisplayVolume(v), impact, false});
    }
  }
  for (const auto& v : live.cloud_sql_volumes) {
    const bool kept =
        std::any_of(desired.cloud_sql_volumes.begin(), desired.cloud_sql_volumes.end(),
                    [&](const gcp::CloudSqlVolume& x) { return x.name == v.name; });
    if (!kept) out.push_back({prefix + "volumes[" + v.name + "]", DisplayVolume(v), "", impact, false});
  }
  if (desired.vpc_access != live.vpc_access) {
    out.push_back({prefix + "vpcAccess", DisplayVpc(live.vpc_access),
                   DisplayVpc(desired.vpc_access), impact, false});
  }
  return out;
}

std::vector<FieldChange> DiffGlobalAddress(const gcp::GlobalAddress& desired,
                                           const gcp::GlobalAddress& live) {
  std::vector<FieldChange> out;
  if (NormalizeNetwork(desired.network) != NormalizeNetwork(live.network)) {
    out.push_back({"network", Quote(live.network), Quote(desired.network),
                   Impact::kConnectivityBreak, true});
  }
  if (!desired.address.empty() && desired.address != live.address) {
    out.push_back({"address", Quote(live.address), Quote(desired.address),
                   Impact::kConnectivityBreak, true});
  }
  if (desired.prefix_length != live.prefix_length) {
    out.push_back({"prefixLength", std::to_string(live.prefix_length),
                   std::to_string(desired.prefix_length), Impact::kConnectivityBreak, true});
  }
  return out;
}

}  // namespace dbconnd::reconcilers
