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

bool IsRfc1035(const std::string& s) {
  if (s.empty() || s.size() > 63 || !std::islower(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) && c != '-') {
      return false;
    }
  }
  return s.back() != '-';
}

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

// "…/projects/P/regions/R/KIND/N" (full URL or partial) or a bare "N".
struct RegionalRef {
  std::string project, region, name;
  bool ok = false;
};
RegionalRef ParseRegionalRef(const std::string& ref, std::string_view kind) {
  auto at = ref.find("projects/");
  if (at == std::string::npos) {
    RegionalRef r{"", "", ref, !ref.empty() && ref.find('/') == std::string::npos};
    return r;
  }
  std::vector<std::string> parts;
  size_t pos = at;
  while (pos <= ref.size()) {
    size_t slash = ref.find('/', pos);
    if (slash == std::string::npos) slash = ref.size();
    parts.push_back(ref.substr(pos, slash - pos));
    pos = slash + 1;
  }
  if (parts.size() != 6 || parts[2] != "regions" || parts[4] != kind) return {};
  return {parts[1], parts[3], parts[5], true};
}

std::string LastSegment(const std::string& s) {
  auto slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

std::string RegionalSelf(const std::string& project, const std::string& region, std::string_view kind,
                         const std::string& name) {
  return std::string(kComputeBase) + "projects/" + project + "/regions/" + region + "/" + std::string(kind) +
         "/" + name;
}

net::HttpResponse NotFound(const std::string& what) {
  return ErrorResponse(404, "NOT_FOUND", "The resource '" + what + "' was not found", "notFound");
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
  op["selfLink"] = RegionalSelf(project, region, "operations", Str(op, "name"));
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
  const std::string prefix = ProjectId(t.segs[3]) + "/" + t.segs[5] + "/";
  json::array all;
  for (const auto& [k, a] : Map("compute", "regionAddresses")) {
    if (std::string_view(k).starts_with(prefix)) all.push_back(a);
  }
  std::string next;
  json::object out{{"kind", "compute#addressList"},
                   {"id", "projects/" + t.segs[3] + "/regions/" + t.segs[5] + "/addresses"},
                   {"items", Page(all, t.Query("maxResults"), t.Query("pageToken"), &next)},
                   {"selfLink", std::string(kComputeBase) + "projects/" + t.segs[3] + "/regions/" + t.segs[5] + "/addresses"}};
  if (!next.empty()) out["nextPageToken"] = next;
  return JsonResponse(200, out);
}

net::HttpResponse Handlers::RegionAddressesGet() {
  auto* a = Map("compute", "regionAddresses").if_contains(ProjectId(t.segs[3]) + "/" + t.segs[5] + "/" + t.segs[7]);
  if (!a) return NotFound("projects/" + t.segs[3] + "/regions/" + t.segs[5] + "/addresses/" + t.segs[7]);
  return JsonResponse(200, *a);
}

net::HttpResponse Handlers::RegionAddressesInsert() {
  const std::string project = ProjectId(t.segs[3]);
  const std::string& region = t.segs[5];
  std::string request_key;
  if (auto repeat = RepeatedRequest(project, &request_key)) return *repeat;
  auto body = Body("compute", "Address");
  if (!body.ok()) return ErrorFromStatus(body.status());
  json::object a = body->as_object();
  const std::string name = Str(a, "name");
  if (!IsRfc1035(name)) {
    return Invalid("Invalid value for field 'resource.name': '" + name.substr(0, 64) +
                   "'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'");
  }
  const std::string key = project + "/" + region + "/" + name;
  if (Map("compute", "regionAddresses").contains(key) || HasPendingFor("compute/" + key)) {
    return ErrorResponse(409, "ALREADY_EXISTS",
                         "The resource 'projects/" + project + "/regions/" + region + "/addresses/" + name +
                             "' already exists",
                         "alreadyExists");
  }
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
      return NotFound(r.project.empty() ? "projects/" + project + "/regions/" + region + "/subnetworks/" + r.name
                                        : "projects/" + r.project + "/regions/" + region + "/subnetworks/" + r.name);
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
  const std::string self = RegionalSelf(project, region, "addresses", name);
  a["kind"] = "compute#address";
  a["selfLink"] = self;
  a["region"] = std::string(kComputeBase) + "projects/" + project + "/regions/" + region;
  a["status"] = "RESERVED";
  a["creationTimestamp"] = Rfc3339(now);
  a["id"] = std::to_string(4100000000000000000LL + std::stoll(NextId()));
  json::object op = RegionOperation(project, region, "insert", self);
  const std::string op_key = project + "/" + region + "/" + Str(op, "name");
  Map("compute", "operations")[op_key] = op;
  Schedule(json::object{{"kind", "compute.regionAddress.insert"},
                        {"target", "compute/" + key},
                        {"key", key},
                        {"address", a},
                        {"op", op_key}},
           e.options_.op_delay);
  if (!request_key.empty()) Map("compute", "requestIds")[request_key] = op_key;
  Touch();
  Effective();
  return JsonResponse(200, op);
}

// ----------------------------------------------------------- forwarding rules

net::HttpResponse Handlers::ForwardingRulesList() {
  const std::string prefix = ProjectId(t.segs[3]) + "/" + t.segs[5] + "/";
  json::array all;
  for (const auto& [k, r] : Map("compute", "forwardingRules")) {
    if (std::string_view(k).starts_with(prefix)) all.push_back(FreshForwardingRule(r.as_object()));
  }
  std::string next;
  json::object out{{"kind", "compute#forwardingRuleList"},
                   {"id", "projects/" + t.segs[3] + "/regions/" + t.segs[5] + "/forwardingRules"},
                   {"items", Page(all, t.Query("maxResults"), t.Query("pageToken"), &next)}};
  if (!next.empty()) out["nextPageToken"] = next;
  return JsonResponse(200, out);
}

net::HttpResponse Handlers::ForwardingRulesGet() {
  auto* r = Map("compute", "forwardingRules").if_contains(ProjectId(t.segs[3]) + "/" + t.segs[5] + "/" + t.segs[7]);
  if (!r) return NotFound("projects/" + t.segs[3] + "/regions/" + t.segs[5] + "/forwardingRules/" + t.segs[7]);
  return JsonResponse(200, FreshForwardingRule(r->as_object()));
}

net::HttpResponse Handlers::ForwardingRulesInsert() {
  const std::string project = ProjectId(t.segs[3]);
  const std::string& region = t.segs[5];
  std::string request_key;
  if (auto repeat = RepeatedRequest(project, &request_key)) return *repeat;
  auto body = Body("compute", "ForwardingRule");
  if (!body.ok()) return ErrorFromStatus(body.status());
  json::object r = body->as_object();
  const std::string name = Str(r, "name");
  if (!IsRfc1035(name)) {
    return Invalid("Invalid value for field 'resource.name': '" + name.substr(0, 64) +
                   "'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'");
  }
  const std::string key = project + "/" + region + "/" + name;
  if (Map("compute", "forwardingRules").contains(key) || HasPendingFor("compute/" + key)) {
    return ErrorResponse(409, "ALREADY_EXISTS",
                         "The resource 'projects/" + project + "/regions/" + region + "/forwardingRules/" + name +
                             "' already exists",
                         "alreadyExists");
  }
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
  if (!PscInstanceFor(target)) return NotFound(AttachmentKey(target).substr(0, 300));
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
    if (!addr) return NotFound("projects/" + addr_key.substr(0, addr_key.find('/')) + "/regions/" + region + "/addresses/" + ar.name);
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
  const std::string self = RegionalSelf(project, region, "forwardingRules", name);
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
  json::object op = RegionOperation(project, region, "insert", self);
  const std::string op_key = project + "/" + region + "/" + Str(op, "name");
  Map("compute", "operations")[op_key] = op;
  Schedule(json::object{{"kind", "compute.forwardingRule.insert"},
                        {"target", "compute/" + key},
                        {"key", key},
                        {"rule", r},
                        {"addressKey", addr_key},
                        {"op", op_key}},
           e.options_.op_delay);
  if (!request_key.empty()) Map("compute", "requestIds")[request_key] = op_key;
  Touch();
  Effective();
  return JsonResponse(200, op);
}

net::HttpResponse Handlers::RegionOperationsGet() {
  auto* op = Map("compute", "operations").if_contains(ProjectId(t.segs[3]) + "/" + t.segs[5] + "/" + t.segs[7]);
  if (!op) return NotFound("projects/" + t.segs[3] + "/regions/" + t.segs[5] + "/operations/" + t.segs[7]);
  return JsonResponse(200, *op);
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
