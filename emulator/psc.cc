// Private Service Connect, consumer side: Compute v1 regional addresses,
// forwardingRules and regionOperations (compute.v1.regional.json), and the
// producer side Cloud SQL derives from settings.ipConfiguration.pscConfig
// (pscServiceAttachmentLink, dnsName; sql.cc calls RecomputePsc).
//
// Rules (REFERENCE.md §11): names are RFC 1035 and unique per region (409
// alreadyExists); an INTERNAL address takes a subnetwork of its own region
// and an IP inside that subnetwork; `network` only with VPC_PEERING; a PSC
// forwarding rule names a reserved address of its own region and network,
// targets a service attachment of its own region, and has no
// loadBalancingScheme. The rule is accepted by Compute whatever the
// producer thinks of the consumer; pscConnectionStatus then says it: ACCEPTED
// while the consumer project is in the instance's allowedConsumerProjects,
// PENDING while it is not, CLOSED once the attachment is gone.

#include <cctype>

#include "emulator/auth.h"
#include "emulator/handlers.h"

namespace dbconnd::emulator {

namespace {

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  bool nonzero = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
      continue;
    }
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    nonzero = nonzero || c != '0';
  }
  return nonzero;
}

net::HttpResponse Invalid(const std::string& message) {
  return ErrorResponse(400, "INVALID_ARGUMENT", message, "invalid");
}

// The part of a service attachment link after "projects/".
std::string AttachmentKey(const std::string& link) {
  auto at = link.find("projects/");
  return at == std::string::npos ? link : link.substr(at);
}

}  // namespace

void Handlers::RecomputePsc(json::object& inst) {
  const json::value* psc = Find(inst, {"settings", "ipConfiguration", "pscConfig", "pscEnabled"});
  const bool on = psc && psc->is_bool() && psc->as_bool();
  if (!on) {
    inst.erase("pscServiceAttachmentLink");
    inst.erase("dnsName");
    return;
  }
  const std::string key = Str(inst, "project") + "/" + Str(inst, "name");
  const std::string h = Sha256Hex(key);
  const std::string region = Str(inst, "region");
  inst["pscServiceAttachmentLink"] = "projects/" + h.substr(0, 6) + "-tp/regions/" + region +
                                     "/serviceAttachments/a-" + h.substr(6, 12) + "-psc-service-attachment-" +
                                     h.substr(18, 16);
  inst["dnsName"] = h.substr(34, 12) + "." + h.substr(46, 12) + "." + region + ".sql.goog.";
}

const json::object* Handlers::PscInstanceFor(const std::string& attachment) {
  const std::string want = AttachmentKey(attachment);
  for (const auto& [k, inst] : Map("sql", "instances")) {
    const auto& o = inst.as_object();
    if (!want.empty() && AttachmentKey(Str(o, "pscServiceAttachmentLink")) == want) return &o;
  }
  return nullptr;
}

std::string Handlers::PscConnectionStatus(const std::string& consumer_project, const std::string& attachment) {
  const json::object* inst = PscInstanceFor(attachment);
  if (!inst) return "CLOSED";
  const json::value* allowed = Find(*inst, {"settings", "ipConfiguration", "pscConfig", "allowedConsumerProjects"});
  if (allowed && allowed->is_array()) {
    const std::string number = ProjectNumber(consumer_project);
    const std::string id = ProjectId(consumer_project);
    for (const auto& p : allowed->as_array()) {
      const std::string s = Str(&p);
      if (!s.empty() && (s == consumer_project || s == number || s == id)) return "ACCEPTED";
    }
  }
  return "PENDING";
}

json::object Handlers::FreshForwardingRule(const json::object& stored) {
  json::object r = stored;
  if (!Str(r, "target").empty() && Str(r, "target").find("/serviceAttachments/") != std::string::npos) {
    r["pscConnectionStatus"] = PscConnectionStatus(Str(r, "_project"), Str(r, "target"));
  }
  r.erase("_project");
  return r;
}

json::object Handlers::RegionOperation(const std::string& project, const std::string& region,
                                       const std::string& type, const std::string& target_link) {
  json::object op = ComputeOperation(project, type, target_link);
  op["region"] = std::string(kComputeBase) + "projects/" + project + "/regions/" + region;
  op["selfLink"] =
      std::string(kComputeBase) + ComputeScope{project, region}.Path("operations", Str(op, "name"));
  return op;
}

// requestId on Compute's inserts (global and regional): a canonical non-zero
// UUID; the first request's operation answers a repeat of it.
std::optional<net::HttpResponse> Handlers::RepeatedRequest(const std::string& project, std::string* key) {
  std::string id = t.Query("requestId");
  if (id.empty()) return std::nullopt;
  if (!IsUuid(id)) {
    return Invalid("Invalid value for field 'requestId': '" + id.substr(0, 64) +
                   "'. The request ID must be a valid UUID with the exception that zero UUID is not "
                   "supported (00000000-0000-0000-0000-000000000000).");
  }
  *key = project + "/" + id;
  if (auto* op_key = Map("compute", "requestIds").if_contains(*key)) {
    if (auto* op = Map("compute", "operations").if_contains(Str(op_key))) return JsonResponse(200, *op);
  }
  return std::nullopt;
}

// ----------------------------------------------------------- addresses

net::HttpResponse Handlers::RegionAddressesList() {
  const ComputeScope asked{t.segs[3], t.segs[5]}, stored{ProjectId(t.segs[3]), t.segs[5]};
  return ComputeListPage("regionAddresses", stored.Key(""), "compute#addressList",
                         asked.Path("addresses"), true);
}

net::HttpResponse Handlers::RegionAddressesGet() {
  const ComputeScope asked{t.segs[3], t.segs[5]}, stored{ProjectId(t.segs[3]), t.segs[5]};
  return GetStored("compute", "regionAddresses", stored.Key(t.segs[7]),
                   [&] { return ComputeNotFound(asked.Path("addresses", t.segs[7])); });
}

net::HttpResponse Handlers::RegionAddressesInsert() {
  const std::string project = ProjectId(t.segs[3]);
  const std::string& region = t.segs[5];
  const ComputeScope scope{project, region};
  ComputeInsertRequest in;
  if (auto refused =
          BeginComputeInsert(scope, "Address", "regionAddresses", "addresses", true, &in)) {
    return *refused;
  }
  json::object& a = in.resource;
  std::string type = Str(a, "addressType");
  if (type.empty()) type = "EXTERNAL";
  const std::string purpose = Str(a, "purpose");
  const std::string subnet_ref = Str(a, "subnetwork");
  if (!subnet_ref.empty() && type != "INTERNAL") {
    return Invalid("Invalid value for field 'resource.subnetwork': '" + subnet_ref.substr(0, 200) +
                   "'. A subnetwork can only be specified for INTERNAL addresses.");
  }
  if (!Str(a, "network").empty() && !(type == "INTERNAL" && purpose == "VPC_PEERING")) {
    return Invalid("Invalid value for field 'resource.network': '" + Str(a, "network").substr(0, 200) +
                   "'. A network can only be specified for INTERNAL addresses with purpose VPC_PEERING.");
  }
  if (type == "INTERNAL" && purpose != "VPC_PEERING") {
    RegionalRef r = subnet_ref.empty() ? RegionalRef{"", "", "default", true}
                                       : ParseRegionalRef(subnet_ref, "subnetworks");
    if (!r.ok) return Invalid("Invalid value for field 'resource.subnetwork': '" + subnet_ref.substr(0, 200) + "'.");
    if (!r.region.empty() && r.region != region) {
      return Invalid("Invalid value for field 'resource.subnetwork': '" + subnet_ref.substr(0, 200) +
                     "'. Subnetwork must be in the same region as the address (" + region + ").");
    }
    const json::object* sn = FindSubnetwork(project, region, subnet_ref.empty() ? "default" : subnet_ref);
    if (!sn) {
      return ComputeNotFound(ComputeScope{r.project.empty() ? project : r.project, region}.Path(
          "subnetworks", r.name));
    }
    auto cidr = ParseCidr(Str(*sn, "ipCidrRange"));
    if (!cidr) return Invalid("Subnetwork has no usable IPv4 range.");
    if (a.contains("address")) {
      auto ip = ParseIpv4(Str(a, "address"));
      if (!ip || !CidrContains(*cidr, *ip)) {
        return Invalid("Invalid value for field 'resource.address': '" + Str(a, "address").substr(0, 64) +
                       "'. Requested internal IP is outside the subnetwork's range " + Str(*sn, "ipCidrRange") + ".");
      }
      for (const auto& [k, other] : Map("compute", "regionAddresses")) {
        if (Str(other.as_object(), "address") == Str(a, "address") &&
            Str(other.as_object(), "subnetwork") == Str(*sn, "selfLink")) {
          return Invalid("IP '" + Str(a, "address") + "' is already being used by another resource.");
        }
      }
    } else {
      // The next free address after the gateway (.1) of the subnetwork.
      uint32_t ip = cidr->base + 2;
      auto used = [&](uint32_t candidate) {
        for (const auto& [k, other] : Map("compute", "regionAddresses")) {
          if (Str(other.as_object(), "address") == FormatIpv4(candidate)) return true;
        }
        if (auto* p = e.state_.if_contains("pending"); p && p->is_array()) {
          for (const auto& eff : p->as_array()) {
            const json::value* pa = Find(eff, {"address", "address"});
            if (pa && Str(pa) == FormatIpv4(candidate)) return true;
          }
        }
        return false;
      };
      while (used(ip)) ++ip;
      a["address"] = FormatIpv4(ip);
    }
    a["subnetwork"] = Str(*sn, "selfLink");
    a["network"] = Str(*sn, "network");
    a["purpose"] = purpose.empty() ? "GCE_ENDPOINT" : purpose;
  }
  a["addressType"] = type;
  const std::string self = std::string(kComputeBase) + scope.Path("addresses", in.name);
  a["kind"] = "compute#address";
  a["selfLink"] = self;
  a["region"] = std::string(kComputeBase) + "projects/" + project + "/regions/" + region;
  a["status"] = "RESERVED";
  a["creationTimestamp"] = Rfc3339(now);
  a["id"] = std::to_string(4100000000000000000LL + std::stoll(NextId()));
  return StartComputeOperation(scope, "insert", self, "compute.regionAddress.insert", in.key,
                               {{"address", a}}, in.request_key);
}

// ----------------------------------------------------------- forwarding rules

net::HttpResponse Handlers::ForwardingRulesList() {
  const ComputeScope asked{t.segs[3], t.segs[5]}, stored{ProjectId(t.segs[3]), t.segs[5]};
  return ComputeListPage("forwardingRules", stored.Key(""), "compute#forwardingRuleList",
                         asked.Path("forwardingRules"), false, &Handlers::FreshForwardingRule);
}

net::HttpResponse Handlers::ForwardingRulesGet() {
  const ComputeScope asked{t.segs[3], t.segs[5]}, stored{ProjectId(t.segs[3]), t.segs[5]};
  auto* r = Map("compute", "forwardingRules").if_contains(stored.Key(t.segs[7]));
  if (!r) return ComputeNotFound(asked.Path("forwardingRules", t.segs[7]));
  return JsonResponse(200, FreshForwardingRule(r->as_object()));
}

net::HttpResponse Handlers::ForwardingRulesInsert() {
  const std::string project = ProjectId(t.segs[3]);
  const std::string& region = t.segs[5];
  const ComputeScope scope{project, region};
  ComputeInsertRequest in;
  if (auto refused = BeginComputeInsert(scope, "ForwardingRule", "forwardingRules",
                                        "forwardingRules", true, &in)) {
    return *refused;
  }
  json::object& r = in.resource;
  const std::string target = Str(r, "target");
  if (target.find("/serviceAttachments/") == std::string::npos) {
    // Load-balancer rules are not modelled: only PSC endpoints.
    return ErrorResponse(501, "UNIMPLEMENTED",
                         "The emulator models forwarding rules that target a service attachment only.",
                         "notImplemented");
  }
  if (!Str(r, "loadBalancingScheme").empty()) {
    return Invalid("Invalid value for field 'resource.loadBalancingScheme': '" +
                   Str(r, "loadBalancingScheme").substr(0, 64) +
                   "'. loadBalancingScheme must be empty for a forwarding rule targeting a service attachment.");
  }
  RegionalRef tr = ParseRegionalRef(AttachmentKey(target), "serviceAttachments");
  if (!tr.ok || tr.project.empty()) return Invalid("Invalid value for field 'resource.target': '" + target.substr(0, 300) + "'.");
  if (tr.region != region) {
    return Invalid("Invalid value for field 'resource.target': '" + target.substr(0, 300) +
                   "'. The target must be in the same region as the forwarding rule (" + region + ").");
  }
  if (!PscInstanceFor(target)) return ComputeNotFound(AttachmentKey(target).substr(0, 300));
  // IPAddress: a reserved internal address of this region (name, URL or IP).
  const std::string ip_ref = Str(r, "IPAddress");
  if (ip_ref.empty()) {
    return Invalid("Invalid value for field 'resource.IPAddress': ''. A forwarding rule targeting a service "
                   "attachment needs a reserved internal address.");
  }
  json::value* addr = nullptr;
  std::string addr_key;
  if (ParseIpv4(ip_ref)) {
    for (auto& [k, a] : Map("compute", "regionAddresses")) {
      if (std::string_view(k).starts_with(project + "/" + region + "/") && Str(a.as_object(), "address") == ip_ref) {
        addr = &a;
        addr_key = std::string(k);
      }
    }
    if (!addr) return Invalid("Invalid value for field 'resource.IPAddress': '" + ip_ref + "'. No reserved address has this IP in " + region + ".");
  } else {
    RegionalRef ar = ParseRegionalRef(ip_ref, "addresses");
    if (!ar.ok) return Invalid("Invalid value for field 'resource.IPAddress': '" + ip_ref.substr(0, 300) + "'.");
    if (!ar.region.empty() && ar.region != region) {
      return Invalid("Invalid value for field 'resource.IPAddress': '" + ip_ref.substr(0, 300) +
                     "'. The address must be in the same region as the forwarding rule (" + region + ").");
    }
    addr_key = (ar.project.empty() ? project : ProjectId(ar.project)) + "/" + region + "/" + ar.name;
    addr = Map("compute", "regionAddresses").if_contains(addr_key);
    if (!addr) {
      return ComputeNotFound("projects/" + addr_key.substr(0, addr_key.find('/')) + "/regions/" +
                             region + "/addresses/" + ar.name);
    }
  }
  const json::object& ao = addr->as_object();
  if (Str(ao, "addressType") != "INTERNAL") {
    return Invalid("Invalid value for field 'resource.IPAddress': '" + ip_ref.substr(0, 300) +
                   "'. A Private Service Connect endpoint needs an INTERNAL address.");
  }
  if (const json::value* users = ao.if_contains("users"); users && users->is_array() && !users->as_array().empty()) {
    return Invalid("IP '" + Str(ao, "address") + "' is already being used by another resource.");
  }
  const std::string network = Str(r, "network");
  const std::string addr_network = Str(ao, "network");
  if (!network.empty() && LastSegment(network) != LastSegment(addr_network)) {
    return Invalid("Invalid value for field 'resource.network': '" + network.substr(0, 300) +
                   "'. The address '" + Str(ao, "name") + "' belongs to network '" + LastSegment(addr_network) + "'.");
  }
  const std::string self = std::string(kComputeBase) + scope.Path("forwardingRules", in.name);
  r["IPAddress"] = Str(ao, "address");
  r["network"] = addr_network;
  r["kind"] = "compute#forwardingRule";
  r["selfLink"] = self;
  r["region"] = std::string(kComputeBase) + "projects/" + project + "/regions/" + region;
  r["creationTimestamp"] = Rfc3339(now);
  r["id"] = std::to_string(4200000000000000000LL + std::stoll(NextId()));
  r["pscConnectionId"] = std::to_string(81000000000000000LL + std::stoll(NextId()));
  r["fingerprint"] = Sha256Hex(self).substr(0, 12);
  r["_project"] = project;  // the consumer, for pscConnectionStatus
  return StartComputeOperation(scope, "insert", self, "compute.forwardingRule.insert", in.key,
                               {{"rule", r}, {"addressKey", addr_key}}, in.request_key);
}

net::HttpResponse Handlers::RegionOperationsGet() {
  const ComputeScope asked{t.segs[3], t.segs[5]}, stored{ProjectId(t.segs[3]), t.segs[5]};
  return GetStored("compute", "operations", stored.Key(t.segs[7]),
                   [&] { return ComputeNotFound(asked.Path("operations", t.segs[7])); });
}

void Handlers::CompleteRegional(Emulator& e, json::object& effect) {
  auto& compute = *ObjAt(e.state_, "compute");
  const std::string kind = Str(effect, "kind");
  if (kind == "compute.regionAddress.insert") {
    (*ObjAt(compute, "regionAddresses"))[Str(effect, "key")] = effect["address"];
  } else if (kind == "compute.forwardingRule.insert") {
    json::object rule = effect["rule"].as_object();
    (*ObjAt(compute, "forwardingRules"))[Str(effect, "key")] = rule;
    if (auto* a = ObjAt(compute, "regionAddresses")->if_contains(Str(effect, "addressKey"))) {
      a->as_object()["status"] = "IN_USE";
      a->as_object()["users"] = json::array{json::string(Str(rule, "selfLink"))};
    }
  }
}

}  // namespace dbconnd::emulator
