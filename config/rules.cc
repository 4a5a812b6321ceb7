// Cross-field rules on one decoded intent. Single values were already checked
// while decoding; here the questions are "does this combination work?".

#include <map>
#include <string>

#include "config/cidr.h"
#include "config/load_internal.h"

namespace dbconnd::config::internal {
namespace {

std::string Idx(std::string_view base, size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

constexpr char kNets[] = "spec.instance.publicIp.authorizedNetworks";

// Ranges declared in the file that the connector must not overlap.
struct NamedRange {
  Ipv4Cidr cidr;
  std::string what;  // "private services access range 10.20.0.0/16 (line 12)"
};

void CheckAuthorizedNetworks(Sink& sink, const Intent& intent, std::vector<NamedRange>& ranges) {
  if (!intent.instance.public_ip) return;
  const PublicIp& pub = *intent.instance.public_ip;
  std::map<std::string, int> names, cidrs;
  for (size_t i = 0; i < pub.authorized_networks.size(); ++i) {
    const AuthorizedNetwork& n = pub.authorized_networks[i];
    std::string path = Idx(kNets, i);
    int line = n.where.line;
    if (!n.name.empty()) {
      auto [it, fresh] = names.emplace(n.name, line);
      if (!fresh) {
        sink.Error(sink.At(path + ".name"), path + ".name",
                   "authorized network name \"" + n.name + "\" is already used at line " +
                       std::to_string(it->second) + "; names must be unique");
      }
    }
    auto cidr = ParseIpv4Cidr(n.cidr);
    if (!cidr.ok()) continue;  // reported while decoding
    auto [it, fresh] = cidrs.emplace(n.cidr, line);
    if (!fresh) {
      sink.Error(sink.At(path + ".cidr"), path + ".cidr",
                 "cidr " + n.cidr + " is already listed at line " + std::to_string(it->second) +
                     "; list each range once");
    }
    if (cidr->prefix < 8) {
      std::string what = cidr->prefix == 0
                             ? "0.0.0.0/0 opens the instance to every address on the internet"
                             : n.cidr + " opens the instance to a large part of the internet (prefix shorter than /8)";
      if (intent.policy.allow_world_open) {
        sink.Warning(sink.At(path + ".cidr"), path + ".cidr",
                     what + "; allowed only because spec.policy.allowWorldOpen is true");
      } else {
        sink.Error(sink.At(path + ".cidr"), path + ".cidr",
                   what + "; list the client ranges instead (e.g. your Cloud NAT address as "
                          "x.x.x.x/32), use method privateIp or cloudSqlSocket, or set "
                          "spec.policy.allowWorldOpen: true if you really mean it");
      }
      continue;  // overlaps everything; the connector check would only repeat this
    }
    if (IsRfc1918(*cidr)) {
      sink.Warning(sink.At(path + ".cidr"), path + ".cidr",
                   "authorized networks apply to the public IP only, so the private range " +
                       n.cidr + " will not reach the instance; use privateIp for private clients");
    }
    ranges.push_back({*cidr, "authorized network " + n.cidr + " (line " + std::to_string(line) + ")"});
  }
  if (!pub.enabled && !pub.authorized_networks.empty()) {
    sink.Warning(sink.At("spec.instance.publicIp.enabled"), "spec.instance.publicIp.enabled",
                 "authorized networks have no effect while publicIp.enabled is false; remove "
                 "them or enable the public IP");
  }
}

void CheckPrivateIp(Sink& sink, const Intent& intent, std::vector<NamedRange>& ranges) {
  if (!intent.instance.private_ip) return;
  // spec.projectNumber may be left out: it is looked up through Resource
  // Manager before the first observation (reconcilers/project_number.h).
  const std::string path = "spec.instance.privateIp.servicesAccess.cidr";
  const PrivateServicesAccess& psa = intent.instance.private_ip->services_access;
  if (psa.cidr.empty()) return;
  auto cidr = ParseIpv4Cidr(psa.cidr);
  if (!cidr.ok()) return;
  if (cidr->prefix > 24) {
    sink.Error(sink.At(path), path,
               "private services access range " + psa.cidr +
                   " is too small; Cloud SQL needs at least a /24 (a /16 is recommended)");
  }
  static const Ipv4Cidr kCgnat{0x64400000u, 10};  // 100.64.0.0/10, RFC 6598
  if (!IsRfc1918(*cidr) && !Contains(kCgnat, *cidr)) {
    sink.Error(sink.At(path), path,
               "private services access range " + psa.cidr +
                   " must be private address space (inside 10.0.0.0/8, 172.16.0.0/12, "
                   "192.168.0.0/16 or 100.64.0.0/10)");
  }
  ranges.push_back({*cidr, "the private services access range " + psa.cidr + " (line " +
                               std::to_string(sink.At(path).line) + ")"});
}

void CheckConnector(Sink& sink, const Intent& intent, const std::vector<NamedRange>& ranges) {
  if (!intent.connector) return;
  const Connector& c = *intent.connector;
  const std::string path = "spec.connector.ipCidrRange";
  auto cidr = c.subnet ? StatusOr<Ipv4Cidr>(InvalidArgumentError("subnet")) : ParseIpv4Cidr(c.ip_cidr_range);
  if (cidr.ok()) {
    if (cidr->prefix != 28) {
      Ipv4Cidr fixed{cidr->address, 28};
      sink.Error(sink.At(path), path,
                 "connector ipCidrRange " + c.ip_cidr_range +
                     " must be a /28 (Serverless VPC Access uses exactly 16 addresses); write e.g. " +
                     fixed.ToString());
    } else if (!IsRfc1918(*cidr)) {
      sink.Error(sink.At(path), path,
                 "connector ipCidrRange " + c.ip_cidr_range +
                     " must be inside RFC 1918 space (10.0.0.0/8, 172.16.0.0/12 or "
                     "192.168.0.0/16), e.g. 10.8.0.0/28");
    }
    for (const NamedRange& r : ranges) {
      if (Overlaps(*cidr, r.cidr)) {
        sink.Error(sink.At(path), path,
                   "connector ipCidrRange " + c.ip_cidr_range + " overlaps " + r.what +
                       "; pick an unused /28 outside it");
      }
    }
  }
  if (!c.by_throughput() && c.min_instances >= c.max_instances) {
    sink.Error(sink.At("spec.connector.maxInstances"), "spec.connector.maxInstances",
               "maxInstances (" + std::to_string(c.max_instances) +
                   ") must be greater than minInstances (" + std::to_string(c.min_instances) + ")");
  }
}

void CheckWorkloads(Sink& sink, const Intent& intent) {
  const Instance& inst = intent.instance;
  bool public_on = inst.public_ip && inst.public_ip->enabled;
  // A Shared VPC connector (subnet) names no network here: its host
  // project's network is checked against live state by the planner.
  bool private_path = inst.private_ip && intent.connector &&
                      (intent.connector->subnet ||
                       intent.connector->network == inst.private_ip->network);
  // A section that failed to decode is missing from `intent`; judging methods
  // against it would only restate that error.
  bool sections_ok = !sink.HasErrorUnder("spec.instance") && !sink.HasErrorUnder("spec.connector");
  std::map<std::string, int> seen;
  for (size_t i = 0; i < intent.workloads.size(); ++i) {
    const Workload& w = intent.workloads[i];
    const std::string base = Idx("spec.workloads", i);
    const std::string method_path = base + ".method";
    SourceLocation at = sink.At(method_path);
    if (!w.name.empty()) {
      std::string key = std::string(ToString(w.kind)) + " " + w.name;
      auto [it, fresh] = seen.emplace(key, w.where.line);
      if (!fresh) {
        sink.Error(w.where, base, key + " is already declared at line " + std::to_string(it->second) +
                                      "; declare each workload once");
      }
    }
    if (sections_ok && !sink.HasErrorUnder(method_path)) switch (w.method) {
      case ConnectionMethod::kPrivateIp:
        if (!inst.private_ip) {
          sink.Error(at, method_path,
                     "method privateIp needs spec.instance.privateIp (e.g. privateIp: {network: "
                     "default}); add it or use method cloudSqlSocket");
        }
        if (w.direct_vpc) {
          // Direct VPC egress: the interface must be in the instance's network.
          if (inst.private_ip && !sink.HasErrorUnder(base + ".directVpc") &&
              w.direct_vpc->network != inst.private_ip->network) {
            sink.Error(sink.At(base + ".directVpc.network"), base + ".directVpc.network",
                       "Direct VPC egress in network \"" + w.direct_vpc->network +
                           "\" cannot reach the instance's private IP in network \"" +
                           inst.private_ip->network + "\"; use network " + inst.private_ip->network);
          }
        } else if (!intent.connector) {
          sink.Error(at, method_path,
                     "method privateIp needs spec.connector, a Serverless VPC Access connector in "
                     "the instance's network; add connector: {name: ..., network: " +
                         (inst.private_ip ? inst.private_ip->network : std::string("default")) +
                         ", ipCidrRange: 10.8.0.0/28}, or Direct VPC egress: directVpc: {network: " +
                         (inst.private_ip ? inst.private_ip->network : std::string("default")) + "}");
        } else if (inst.private_ip && !intent.connector->subnet &&
                   intent.connector->network != inst.private_ip->network) {
          sink.Error(at, method_path,
                     "method privateIp needs the connector in the instance's network, but "
                     "spec.connector.network is \"" + intent.connector->network +
                         "\" and spec.instance.privateIp.network is \"" + inst.private_ip->network +
                         "\"; put both in the same network");
        }
        break;
      case ConnectionMethod::kPsc: {
        if (!inst.psc || !inst.psc->enabled) {
          sink.Error(at, method_path,
                     "method psc needs spec.instance.psc.enabled: true (with the workload's project "
                     "in allowedConsumerProjects); add psc: {enabled: true, allowedConsumerProjects: [" +
                         intent.project + "]} or use method privateIp");
        }
        if (!w.psc) {
          sink.Error(at, method_path,
                     "method psc needs the endpoint: psc: {endpoint: NAME, address: NAME, network: default}");
          break;
        }
        if (sink.HasErrorUnder(base + ".psc")) break;
        const std::string& net = w.psc->network;
        if (w.direct_vpc) {
          if (!sink.HasErrorUnder(base + ".directVpc") && w.direct_vpc->network != net) {
            sink.Error(sink.At(base + ".directVpc.network"), base + ".directVpc.network",
                       "Direct VPC egress in network \"" + w.direct_vpc->network +
                           "\" cannot reach the PSC endpoint in network \"" + net + "\"; use network " + net);
          }
        } else if (!intent.connector) {
          sink.Error(at, method_path,
                     "method psc reaches the endpoint from the VPC: add Direct VPC egress (directVpc: "
                     "{network: " + net + "}) or spec.connector in network " + net);
        } else if (!intent.connector->subnet && intent.connector->network != net) {
          sink.Error(at, method_path,
                     "method psc needs the connector in the endpoint's network, but spec.connector.network "
                     "is \"" + intent.connector->network + "\" and psc.network is \"" + net + "\"");
        }
        if (w.psc->subnetwork.starts_with("projects/") && !intent.region.empty() &&
            w.psc->subnetwork.find("/regions/" + intent.region + "/") == std::string::npos) {
          sink.Error(sink.At(base + ".psc.subnetwork"), base + ".psc.subnetwork",
                     "the endpoint's address must be in spec.region (" + intent.region +
                         "), where the instance's service attachment is; name a subnetwork of that region");
        }
        break;
      }
      case ConnectionMethod::kPublicIp:
        if (!public_on) {
          sink.Error(at, method_path,
                     "method publicIp needs spec.instance.publicIp.enabled: true; enable it or, "
                     "better, use method privateIp or cloudSqlSocket");
        } else if (inst.public_ip->authorized_networks.empty()) {
          std::string msg =
              "method publicIp with no authorized networks: the instance refuses Cloud Run's "
              "addresses and connections fail with \"connection timeout expired\"; add the "
              "client range (e.g. your Cloud NAT address as x.x.x.x/32) to "
              "spec.instance.publicIp.authorizedNetworks or use method cloudSqlSocket";
          if (intent.policy.prune_authorized_networks) {
            sink.Error(at, method_path, msg);
          } else {
            sink.Warning(at, method_path, msg + " (unless the live instance already lists one)");
          }
        }
        break;
      case ConnectionMethod::kCloudSqlSocket:
        if (inst.public_ip && !inst.public_ip->enabled && !private_path) {
          sink.Error(at, method_path,
                     "method cloudSqlSocket reaches the instance over its public IP, or over "
                     "private IP through a connector in the same network; this file turns the "
                     "public IP off and declares no such private path: enable publicIp (no "
                     "authorized networks are needed) or add privateIp and a connector");
        }
        break;
    }
    if (w.direct_vpc && w.method != ConnectionMethod::kPrivateIp && w.method != ConnectionMethod::kPsc &&
        !sink.HasErrorUnder(method_path)) {
      sink.Error(sink.At(base + ".directVpc"), base + ".directVpc",
                 "directVpc applies only to methods privateIp and psc; remove it or use method privateIp");
    }
    if (w.psc && w.method != ConnectionMethod::kPsc && !sink.HasErrorUnder(method_path)) {
      sink.Error(sink.At(base + ".psc"), base + ".psc", "psc applies only to method psc; remove it or use method psc");
    }
    if (w.direct_vpc && w.direct_vpc->subnetwork.starts_with("projects/") &&
        !sink.HasErrorUnder(base + ".directVpc.subnetwork") && !intent.region.empty()) {
      const std::string& sub = w.direct_vpc->subnetwork;
      const size_t r = sub.find("/regions/") + 9;
      const std::string region = sub.substr(r, sub.find('/', r) - r);
      if (region != intent.region) {
        sink.Error(sink.At(base + ".directVpc.subnetwork"), base + ".directVpc.subnetwork",
                   "subnetwork is in region " + region + " but the workload runs in " + intent.region +
                       "; Direct VPC egress needs a subnetwork in the workload's region");
      }
    }
    if (w.method != ConnectionMethod::kPrivateIp && w.method != ConnectionMethod::kPsc &&
        sink.Has(base + ".egress")) {
      sink.Warning(sink.At(base + ".egress"), base + ".egress",
                   "egress applies only to method privateIp; remove it");
    }
    if (w.database.password_secret.empty() && inst.iam_authentication != true &&
        !sink.HasErrorUnder(base + ".database") && !sink.HasErrorUnder("spec.instance.iamAuthentication")) {
      sink.Error(sink.At(base + ".database"), base + ".database.passwordSecret",
                 "missing passwordSecret; write passwordSecret: "
                 "projects/PROJECT/secrets/NAME/versions/latest, or set "
                 "spec.instance.iamAuthentication: true and use an IAM database user");
    }
    if (w.url_env == w.database.password_env && !sink.HasErrorUnder(base + ".urlEnv")) {
      sink.Error(sink.At(base + ".urlEnv"), base + ".urlEnv",
                 "urlEnv and database.passwordEnv are both " + w.url_env +
                     "; they must name two different environment variables");
    } else if (w.database.password_env.empty() &&
               (w.url_env == "PGPASSWORD" || w.url_env == "MYSQL_PWD") &&
               !sink.HasErrorUnder(base + ".urlEnv")) {
      // The planner puts the password there when passwordEnv is left out.
      sink.Error(sink.At(base + ".urlEnv"), base + ".urlEnv",
                 "urlEnv " + w.url_env +
                     " is where the database driver reads the password; use another name "
                     "(DATABASE_URL)");
    }
  }
}

}  // namespace

void CheckIntent(Sink& sink, const Intent& intent) {
  std::vector<NamedRange> ranges;
  CheckPrivateIp(sink, intent, ranges);
  CheckAuthorizedNetworks(sink, intent, ranges);
  CheckConnector(sink, intent, ranges);
  CheckWorkloads(sink, intent);
}

}  // namespace dbconnd::config::internal
