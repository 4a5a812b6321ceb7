// Serverless VPC Access v1 connectors, Service Networking v1 connections and
// Compute v1 global addresses/operations (private services access).

#include <cctype>
#include <set>

#include "emulator/auth.h"
#include "emulator/handlers.h"

namespace dbconnd::emulator {

namespace {

std::string Join(const Target& t, size_t from, size_t upto) {
  std::string out;
  for (size_t i = from; i < upto && i < t.segs.size(); ++i) {
    if (!out.empty()) out += "/";
    out += t.segs[i];
  }
  return out;
}

constexpr char kVpcMeta[] = "type.googleapis.com/google.cloud.vpcaccess.v1.OperationMetadata";
constexpr char kVpcConnector[] = "type.googleapis.com/google.cloud.vpcaccess.v1.Connector";

// "projects/P/locations/L/connectors/N", key "projects" -> "P".
std::string SegmentAfter(std::string_view name, std::string_view key) {
  std::string needle = std::string(key) + "/";
  size_t at = 0;
  while ((at = name.find(needle, at)) != std::string_view::npos) {
    if (at == 0 || name[at - 1] == '/') {
      std::string_view rest = name.substr(at + needle.size());
      return std::string(rest.substr(0, rest.find('/')));
    }
    at += needle.size();
  }
  return "";
}

bool IsRfc1035(const std::string& s) {
  if (s.empty() || s.size() > 63 || !std::islower(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c)) && c != '-') {
      return false;
    }
  }
  return s.back() != '-';
}

}  // namespace

// ---------------------------------------------------------------- VPC Access

namespace {
int64_t IntOr(const json::object& o, const char* key, int64_t fallback) {
  const json::value* v = o.if_contains(key);
  if (!v) return fallback;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (v->is_string()) {
    try {
      return std::stoll(std::string(v->as_string()));
    } catch (...) {
      return -1;
    }
  }
  return -1;
}
}  // namespace

// Google's bounds on a connector's scaling: instances 2..9 / 3..10 with
// min < max, throughput in steps of 100 Mbps 200..900 / 300..1000 with
// min < max, machine types of the documented list. `before` (a patch) gives
// the values the request leaves alone.
std::optional<net::HttpResponse> Handlers::CheckConnectorScaling(const json::object& c,
                                                                 const json::object* before) {
  auto bad = [](const std::string& msg) {
    return std::optional<net::HttpResponse>(ErrorResponse(400, "INVALID_ARGUMENT", msg, "badRequest"));
  };
  static const std::set<std::string> kMachines = {"e2-micro", "f1-micro", "e2-standard-4"};
  if (c.contains("machineType") && !kMachines.count(Str(c, "machineType"))) {
    return bad("Invalid machine type '" + Str(c, "machineType") + "': use e2-micro, f1-micro or e2-standard-4.");
  }
  const int64_t min_i = IntOr(c, "minInstances", before ? IntOr(*before, "minInstances", 2) : 2);
  const int64_t max_i = IntOr(c, "maxInstances", before ? IntOr(*before, "maxInstances", 10) : 10);
  if (min_i < 2 || min_i > 9) return bad("minInstances must be between 2 and 9.");
  if (max_i < 3 || max_i > 10) return bad("maxInstances must be between 3 and 10.");
  if (min_i >= max_i) return bad("maxInstances must be greater than minInstances.");
  if (before) return std::nullopt;
  const int64_t min_t = IntOr(c, "minThroughput", 200);
  const int64_t max_t = IntOr(c, "maxThroughput", 1000);
  if (min_t < 200 || min_t > 900 || min_t % 100 != 0) {
    return bad("minThroughput must be a multiple of 100 between 200 and 900.");
  }
  if (max_t < 300 || max_t > 1000 || max_t % 100 != 0) {
    return bad("maxThroughput must be a multiple of 100 between 300 and 1000.");
  }
  if (min_t >= max_t) return bad("maxThroughput must be greater than minThroughput.");
  return std::nullopt;
}

net::HttpResponse Handlers::VpcListPage(std::string_view kind) {
  std::string parent = Join(t, 1, 5);
  json::array all;
  for (const auto& [name, v] : Map("vpc", kind)) {
    if (std::string_view(name).starts_with(parent + "/")) all.push_back(v);
  }
  std::string next;
  json::object out{{kind, Page(all, t.Query("pageSize"), t.Query("pageToken"), &next)}};
  if (!next.empty()) out["nextPageToken"] = next;
  return JsonResponse(200, out);
}

net::HttpResponse Handlers::VpcList() { return VpcListPage("connectors"); }

net::HttpResponse Handlers::VpcGet() {
  std::string name = Join(t, 1, t.segs.size());
  return GetStored("vpc", "connectors", name, [&] {
    return ErrorResponse(404, "NOT_FOUND", "Resource '" + name + "' was not found", "notFound");
  });
}

net::HttpResponse Handlers::VpcCreate() {
  std::string parent = Join(t, 1, 5);
  std::string id = t.Query("connectorId");
  if (id.empty()) return ErrorResponse(400, "INVALID_ARGUMENT", "connectorId is required.", "badRequest");
  std::string name = parent + "/connectors/" + id;
  auto body = Body("vpcaccess", "Connector");
  if (!body.ok()) return ErrorFromStatus(body.status());
  auto& connectors = Map("vpc", "connectors");
  if (connectors.contains(name)) {
    return ErrorResponse(409, "ALREADY_EXISTS", "Resource '" + name + "' already exists", "alreadyExists");
  }
  json::object c = body->as_object();
  std::string network = Str(c, "network");
  bool has_subnet = !Str(Find(c, {"subnet", "name"})).empty();
  std::string range = Str(c, "ipCidrRange");
  if (auto bad = CheckConnectorScaling(c, nullptr)) return *bad;
  if (has_subnet) {
    // A connector takes a subnet, or a network and an unused range.
    if (!range.empty() || !network.empty()) {
      return ErrorResponse(400, "INVALID_ARGUMENT",
                           "subnet cannot be set together with network or ipCidrRange: a connector uses "
                           "either an existing subnet or a network and an unused /28 range.",
                           "badRequest");
    }
    const std::string subnet_name = Str(Find(c, {"subnet", "name"}));
    std::string host = Str(Find(c, {"subnet", "projectId"}));
    if (host.empty()) host = t.segs[2];
    const std::string region = t.segs[4];
    const std::string host_id = ProjectId(host).empty() ? host : ProjectId(host);
    const json::object* sn = FindSubnetwork(host_id, region, subnet_name);
    if (!sn) {
      return ErrorResponse(400, "INVALID_ARGUMENT",
                           "Subnet '" + subnet_name + "' was not found in project '" + host + "', region '" +
                               region + "'.",
                           "badRequest");
    }
    auto sc = ParseCidr(Str(*sn, "ipCidrRange"));
    if (!sc || sc->prefix != 28) {
      return ErrorResponse(400, "INVALID_ARGUMENT",
                           "Subnet '" + subnet_name + "' must be a /28 subnet to host a connector.", "badRequest");
    }
    for (const auto& [other_name, other] : connectors) {
      const auto& o = other.as_object();
      std::string other_host = Str(Find(o, {"subnet", "projectId"}));
      if (other_host.empty()) other_host = SegmentAfter(other_name, "projects");
      if (Str(Find(o, {"subnet", "name"})) == subnet_name && other_host == host &&
          SegmentAfter(other_name, "locations") == region) {
        return ErrorResponse(400, "INVALID_ARGUMENT",
                             "Subnet '" + subnet_name + "' is already used by connector '" + std::string(other_name) +
                                 "'; a connector needs a subnet with nothing else in it.",
                             "badRequest");
      }
    }
    // Reported as Google resolves it: the subnet's network.
    c["network"] = LastSegment(Str(*sn, "network"));
  } else {
    if (network.empty()) return ErrorResponse(400, "INVALID_ARGUMENT", "network is required.", "badRequest");
    auto cidr = ParseCidr(range);
    if (!cidr || range.find('/') == std::string::npos || cidr->prefix != 28) {
      return ErrorResponse(400, "INVALID_ARGUMENT",
                           "Invalid IP CIDR range '" + range + "': a connector needs an unused /28 range.",
                           "badRequest");
    }
    for (const auto& [other_name, other] : connectors) {
      const auto& o = other.as_object();
      if (!std::string_view(other_name).starts_with("projects/" + t.segs[2] + "/")) continue;
      if (LastSegment(Str(o, "network")) != LastSegment(network)) continue;
      auto oc = ParseCidr(Str(o, "ipCidrRange"));
      if (oc && CidrOverlap(*oc, *cidr)) {
        return ErrorResponse(400, "INVALID_ARGUMENT",
                             "IP CIDR range '" + range + "' overlaps with the range of connector '" +
                                 std::string(other_name) + "'.",
                             "badRequest");
      }
    }
    for (const auto& [k, a] : Map("compute", "addresses")) {
      if (!std::string_view(k).starts_with(t.segs[2] + "/")) continue;
      auto ac = ParseCidr(Str(a.as_object(), "address") + "/" + Str(Find(a, {"prefixLength"})));
      if (ac && CidrOverlap(*ac, *cidr)) {
        return ErrorResponse(400, "INVALID_ARGUMENT",
                             "IP CIDR range '" + range + "' overlaps with reserved range '" +
                                 Str(a.as_object(), "name") + "'.",
                             "badRequest");
      }
    }
  }
  c["name"] = name;
  c["state"] = "CREATING";
  if (!c.contains("machineType")) c["machineType"] = "e2-micro";
  // Instances and throughput describe the same scaling (100 Mbps per
  // instance); whichever was sent decides the other.
  const bool by_instances = c.contains("minInstances") || c.contains("maxInstances");
  const bool by_throughput = c.contains("minThroughput") || c.contains("maxThroughput");
  if (!by_instances && by_throughput) {
    c["minInstances"] = IntOr(c, "minThroughput", 200) / 100;
    c["maxInstances"] = IntOr(c, "maxThroughput", 1000) / 100;
  }
  if (!c.contains("minInstances")) c["minInstances"] = 2;
  if (!c.contains("maxInstances")) c["maxInstances"] = 10;
  if (!by_throughput) {
    c["minThroughput"] = IntOr(c, "minInstances", 2) * 100;
    c["maxThroughput"] = IntOr(c, "maxInstances", 10) * 100;
  }
  if (!c.contains("minThroughput")) c["minThroughput"] = 200;
  if (!c.contains("maxThroughput")) c["maxThroughput"] = 1000;
  c["connectedProjects"] = json::array{json::string(t.segs[2])};
  connectors[name] = c;
  return StartVpcOperation(parent, "CreateConnector", name, "vpc.create");
}

net::HttpResponse Handlers::StartVpcOperation(const std::string& parent, std::string_view method,
                                              const std::string& name,
                                              std::string_view effect_kind) {
  std::string op_name = parent + "/operations/" + Uuid();
  json::object op = LroOperation(
      op_name, kVpcMeta,
      json::object{{"method", "google.cloud.vpcaccess.v1.VpcAccessService." + std::string(method)},
                   {"createTime", Rfc3339(now)},
                   {"target", name}});
  Map("vpc", "operations")[op_name] = op;
  Schedule(
      json::object{
          {"kind", effect_kind}, {"target", "vpc/" + name}, {"connector", name}, {"op", op_name}},
      e.options_.op_delay);
  Touch();
  Effective();
  return JsonResponse(200, op);
}

std::optional<net::HttpResponse> Handlers::ConnectorBusy(const std::string& name) {
  if (!HasPendingFor("vpc/" + name)) return std::nullopt;
  return ErrorResponse(409, "ABORTED", "Connector '" + name + "' has an operation in progress.",
                       "aborted");
}

net::HttpResponse Handlers::VpcPatch() {
  std::string name = Join(t, 1, t.segs.size());
  auto* cv = Map("vpc", "connectors").if_contains(name);
  if (!cv) return ErrorResponse(404, "NOT_FOUND", "Resource '" + name + "' was not found", "notFound");
  auto body = Body("vpcaccess", "Connector");
  if (!body.ok()) return ErrorFromStatus(body.status());
  json::object& c = cv->as_object();
  json::object& in = body->as_object();
  std::vector<std::string> fields;
  std::string mask = t.Query("updateMask");
  if (mask.empty()) {
    for (const auto& [k, v] : in) fields.emplace_back(k);
  } else {
    size_t pos = 0;
    while (pos <= mask.size()) {
      size_t comma = mask.find(',', pos);
      if (comma == std::string::npos) comma = mask.size();
      if (comma > pos) fields.push_back(mask.substr(pos, comma - pos));
      pos = comma + 1;
    }
  }
  // machineType, minInstances and maxInstances are the only fields
  // Serverless VPC Access changes in place (gcloud ... connectors update);
  // everything else is fixed at creation.
  static const std::set<std::string> kPatchable = {"machineType", "minInstances", "maxInstances"};
  static const std::set<std::string> kKnown = {"name",          "network",       "ipCidrRange",   "subnet",
                                               "minThroughput", "maxThroughput", "state",         "connectedProjects",
                                               "machineType",   "minInstances",  "maxInstances"};
  for (const auto& f : fields) {
    if (!kKnown.count(f)) {
      return ErrorResponse(400, "INVALID_ARGUMENT", "Invalid field mask: unknown field '" + f + "'.", "badRequest");
    }
    if (kPatchable.count(f)) continue;
    const json::value* nv = in.if_contains(f);
    const json::value* ov = c.if_contains(f);
    bool same = (nv && ov && *nv == *ov) || (f == "name" && mask.empty());
    if (!same || !mask.empty()) {
      return ErrorResponse(400, "INVALID_ARGUMENT",
                           "Field '" + f + "' of a connector is immutable; delete and recreate the connector.",
                           "badRequest");
    }
  }
  {
    json::object after = c;
    for (const auto& f : fields) {
      if (auto* nv = in.if_contains(f)) after[f] = *nv;
    }
    if (auto bad = CheckConnectorScaling(after, &c)) return *bad;
  }
  if (auto busy = ConnectorBusy(name)) return *busy;
  for (const auto& f : fields) {
    if (auto* nv = in.if_contains(f)) c[f] = *nv;
  }
  c["state"] = "UPDATING";
  return StartVpcOperation(Join(t, 1, 5), "UpdateConnector", name, "vpc.update");
}

net::HttpResponse Handlers::VpcDelete() {
  std::string name = Join(t, 1, t.segs.size());
  auto* cv = Map("vpc", "connectors").if_contains(name);
  if (!cv) return ErrorResponse(404, "NOT_FOUND", "Resource '" + name + "' was not found", "notFound");
  if (auto busy = ConnectorBusy(name)) return *busy;
  cv->as_object()["state"] = "DELETING";
  return StartVpcOperation(Join(t, 1, 5), "DeleteConnector", name, "vpc.delete");
}

net::HttpResponse Handlers::VpcOperationsGet() {
  std::string name = Join(t, 1, t.segs.size());
  return GetStored("vpc", "operations", name, [&] {
    return ErrorResponse(404, "NOT_FOUND", "Operation '" + name + "' was not found", "notFound");
  });
}

net::HttpResponse Handlers::VpcOperationsList() { return VpcListPage("operations"); }

// -------------------------------------------------------- Service Networking

net::HttpResponse Handlers::SnList() {
  std::string service = t.segs[2];
  std::string network = t.Query("network");
  if (network.empty()) return ErrorResponse(400, "INVALID_ARGUMENT", "network is required.", "badRequest");
  json::array out;
  for (const auto& [k, c] : Map("sn", "connections")) {
    const auto& o = c.as_object();
    if (Str(o, "network") != network) continue;
    if (service != "-" && Str(o, "service") != "services/" + service) continue;
    out.push_back(c);
  }
  return JsonResponse(200, json::object{{"connections", out}});
}

namespace {
// "projects/NUMBER/global/networks/N" -> NUMBER, or "".
std::string NetworkProjectNumber(const std::string& network) {
  if (!network.starts_with("projects/")) return "";
  auto slash = network.find('/', 9);
  if (slash == std::string::npos || network.compare(slash, 17, "/global/networks/") != 0) return "";
  return network.substr(9, slash - 9);
}
}  // namespace

net::HttpResponse Handlers::SnCreate() {
  std::string service = t.segs[2];
  auto body = Body("servicenetworking", "Connection");
  if (!body.ok()) return ErrorFromStatus(body.status());
  json::object& in = body->as_object();
  std::string network = Str(in, "network");
  std::string number = NetworkProjectNumber(network);
  std::string project = number.empty() ? "" : ProjectId(number);
  if (number.empty() || project.empty() || ProjectNumber(project) != number) {
    return ErrorResponse(400, "INVALID_ARGUMENT",
                         "Invalid network '" + network +
                             "': expected projects/{PROJECT_NUMBER}/global/networks/{NETWORK} with a project number.",
                         "badRequest");
  }
  std::string key = service + "|" + network;
  json::array ranges;
  if (auto* r = in.if_contains("reservedPeeringRanges"); r && r->is_array()) ranges = r->as_array();
  if (HasPendingFor("sn/" + key)) {
    return ErrorResponse(409, "ALREADY_EXISTS",
                         "Connection for network '" + network + "' is being created.", "alreadyExists");
  }
  if (auto* existing = Map("sn", "connections").if_contains(key)) {
    // The same connection again exists already; other ranges need UpdateConnection.
    if (Find(*existing, {"reservedPeeringRanges"}) && *Find(*existing, {"reservedPeeringRanges"}) == json::value(ranges)) {
      return ErrorResponse(409, "ALREADY_EXISTS", "Connection for network '" + network + "' already exists.",
                           "alreadyExists");
    }
    return ErrorResponse(400, "FAILED_PRECONDITION",
                         "Cannot modify allocated ranges in CreateConnection. Please use UpdateConnection.",
                         "failedPrecondition");
  }
  for (const auto& r : ranges) {
    auto* a = Map("compute", "addresses").if_contains(project + "/" + Str(&r));
    if (!a || Str(a->as_object(), "purpose") != "VPC_PEERING") {
      return ErrorResponse(400, "FAILED_PRECONDITION",
                           "Allocated IP range '" + Str(&r) + "' not found in network.", "failedPrecondition");
    }
  }
  return StartSnOperation(number, key,
                          json::object{{"network", network},
                                       {"reservedPeeringRanges", ranges},
                                       {"peering", "servicenetworking-googleapis-com"},
                                       {"service", "services/" + service}});
}

net::HttpResponse Handlers::StartSnOperation(const std::string& number, const std::string& key,
                                             json::object conn) {
  std::string op_name = "operations/pssn.p24-" + number + "-" + Uuid();
  json::object op{{"name", op_name}, {"metadata", json::object{{"@type", "type.googleapis.com/google.protobuf.Empty"}}},
                  {"done", false}};
  Map("sn", "operations")[op_name] = op;
  Schedule(json::object{{"kind", "sn.create"}, {"target", "sn/" + key}, {"key", key}, {"connection", conn}, {"op", op_name}},
           e.options_.op_delay);
  Touch();
  Effective();
  return JsonResponse(200, op);
}

net::HttpResponse Handlers::SnPatch() {
  std::string service = t.segs[2];
  auto body = Body("servicenetworking", "Connection");
  if (!body.ok()) return ErrorFromStatus(body.status());
  std::string network = Str(body->as_object(), "network");
  std::string key = service + "|" + network;
  auto* c = Map("sn", "connections").if_contains(key);
  if (!c) return ErrorResponse(404, "NOT_FOUND", "Connection for network '" + network + "' not found.", "notFound");
  std::string project = ProjectId(NetworkProjectNumber(network));
  json::array ranges;
  if (auto* r = body->as_object().if_contains("reservedPeeringRanges"); r && r->is_array()) ranges = r->as_array();
  for (const auto& r : ranges) {
    if (!Map("compute", "addresses").contains(project + "/" + Str(&r))) {
      return ErrorResponse(400, "FAILED_PRECONDITION", "Allocated IP range '" + Str(&r) + "' not found in network.",
                           "failedPrecondition");
    }
  }
  // Dropping a range needs force=true.
  if (t.Query("force") != "true") {
    for (const auto& old : c->as_object()["reservedPeeringRanges"].as_array()) {
      if (std::find(ranges.begin(), ranges.end(), old) == ranges.end()) {
        return ErrorResponse(400, "FAILED_PRECONDITION",
                             "Removing allocated range '" + Str(&old) + "' requires force=true.",
                             "failedPrecondition");
      }
    }
  }
  json::object conn = c->as_object();
  conn["reservedPeeringRanges"] = ranges;
  return StartSnOperation(NetworkProjectNumber(network), key, std::move(conn));
}

net::HttpResponse Handlers::SnOperationsGet() {
  std::string name = "operations/" + t.segs[2];
  return GetStored("sn", "operations", name, [&] {
    return ErrorResponse(404, "NOT_FOUND", "Operation '" + name + "' not found.", "notFound");
  });
}

// ------------------------------------------------------------------- Compute

json::object Handlers::ComputeOperation(const std::string& project, const std::string& type,
                                        const std::string& target_link) {
  std::string id = NextId();
  std::string name = "operation-" + std::to_string(now) + "-" + Sha256Hex(id).substr(0, 13);
  return json::object{{"kind", "compute#operation"},
                      {"id", std::to_string(7000000000000000000LL + std::stoll(id))},
                      {"name", name},
                      {"operationType", type},
                      {"targetLink", target_link},
                      {"targetId", std::to_string(5000000000000000000LL + std::stoll(id))},
                      {"status", "PENDING"},
                      {"user", "dbconnd@emulator.iam.gserviceaccount.com"},
                      {"progress", 0},
                      {"insertTime", Rfc3339(now)},
                      {"selfLink", std::string(kComputeBase) + "projects/" + project + "/global/operations/" + name}};
}

std::string Handlers::ComputeScope::Key(std::string_view name) const {
  return project + "/" + (region.empty() ? "" : region + "/") + std::string(name);
}

std::string Handlers::ComputeScope::Path(std::string_view collection) const {
  return "projects/" + project + (region.empty() ? "/global/" : "/regions/" + region + "/") +
         std::string(collection);
}

std::string Handlers::ComputeScope::Path(std::string_view collection, std::string_view name) const {
  return Path(collection) + "/" + std::string(name);
}

net::HttpResponse ComputeNotFound(const std::string& path) {
  return ErrorResponse(404, "NOT_FOUND", "The resource '" + path + "' was not found", "notFound");
}

net::HttpResponse Handlers::ComputeListPage(std::string_view state_kind,
                                            const std::string& key_prefix,
                                            std::string_view list_kind, const std::string& path,
                                            bool self_link,
                                            json::object (Handlers::*fresh)(const json::object&)) {
  json::array all;
  for (const auto& [k, v] : Map("compute", state_kind)) {
    if (!std::string_view(k).starts_with(key_prefix)) continue;
    if (fresh) {
      all.push_back((this->*fresh)(v.as_object()));
    } else {
      all.push_back(v);
    }
  }
  std::string next;
  json::object out{{"kind", list_kind},
                   {"id", path},
                   {"items", Page(all, t.Query("maxResults"), t.Query("pageToken"), &next)}};
  if (self_link) out["selfLink"] = std::string(kComputeBase) + path;
  if (!next.empty()) out["nextPageToken"] = next;
  return JsonResponse(200, out);
}

std::optional<net::HttpResponse> Handlers::BeginComputeInsert(
    const ComputeScope& scope, std::string_view schema, std::string_view state_kind,
    std::string_view collection, bool strict_name, ComputeInsertRequest* in) {
  // requestId: Compute remembers it and answers a repeat with the operation
  // the first request started, creating nothing new.
  if (auto repeat = RepeatedRequest(scope.project, &in->request_key)) return repeat;
  auto body = Body("compute", schema);
  if (!body.ok()) return ErrorFromStatus(body.status());
  in->resource = body->as_object();
  in->name = Str(in->resource, "name");
  if (strict_name ? !IsRfc1035(in->name) : in->name.empty()) {
    return ErrorResponse(400, "INVALID_ARGUMENT",
                         "Invalid value for field 'resource.name': '" + in->name.substr(0, 64) +
                             "'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'",
                         "invalid");
  }
  in->key = scope.Key(in->name);
  if (Map("compute", state_kind).contains(in->key) || HasPendingFor("compute/" + in->key)) {
    return ErrorResponse(409, "ALREADY_EXISTS",
                         "The resource '" + scope.Path(collection, in->name) + "' already exists",
                         "alreadyExists");
  }
  return std::nullopt;
}

net::HttpResponse Handlers::StartComputeOperation(const ComputeScope& scope,
                                                  const std::string& type,
                                                  const std::string& target_link,
                                                  std::string_view effect_kind,
                                                  const std::string& key, json::object fields,
                                                  const std::string& request_key) {
  json::object op = scope.region.empty()
                        ? ComputeOperation(scope.project, type, target_link)
                        : RegionOperation(scope.project, scope.region, type, target_link);
  const std::string op_key = scope.Key(Str(op, "name"));
  Map("compute", "operations")[op_key] = op;
  json::object effect{{"kind", effect_kind}, {"target", "compute/" + key}, {"key", key}};
  for (auto& [k, v] : fields) effect[k] = std::move(v);
  effect["op"] = op_key;
  Schedule(std::move(effect), e.options_.op_delay);
  if (!request_key.empty()) Map("compute", "requestIds")[request_key] = op_key;
  Touch();
  Effective();
  return JsonResponse(200, op);
}

net::HttpResponse Handlers::ComputeList() {
  const ComputeScope scope{t.segs[3], ""};
  return ComputeListPage("addresses", scope.Key(""), "compute#addressList", scope.Path("addresses"),
                         true);
}

net::HttpResponse Handlers::ComputeGet() {
  const ComputeScope scope{t.segs[3], ""};
  return GetStored("compute", "addresses", scope.Key(t.segs[6]),
                   [&] { return ComputeNotFound(scope.Path("addresses", t.segs[6])); });
}

net::HttpResponse Handlers::ComputeInsert() {
  const ComputeScope scope{t.segs[3], ""};
  ComputeInsertRequest in;
  if (auto refused = BeginComputeInsert(scope, "Address", "addresses", "addresses", false, &in)) {
    return *refused;
  }
  json::object& a = in.resource;
  if (!a.contains("address")) {
    int64_t n = std::stoll(NextId());
    a["address"] = FormatIpv4(*ParseIpv4("10.64.0.0") + static_cast<uint32_t>((n % 60) << 16));
  }
  if (!a.contains("prefixLength")) a["prefixLength"] = 16;
  std::string self = std::string(kComputeBase) + scope.Path("addresses", in.name);
  a["kind"] = "compute#address";
  a["selfLink"] = self;
  a["status"] = "RESERVED";
  a["creationTimestamp"] = Rfc3339(now);
  a["id"] = std::to_string(4000000000000000000LL + std::stoll(NextId()));
  return StartComputeOperation(scope, "insert", self, "compute.insert", in.key, {{"address", a}},
                               in.request_key);
}

net::HttpResponse Handlers::ComputeDelete() {
  const ComputeScope scope{t.segs[3], ""};
  std::string key = scope.Key(t.segs[6]);
  if (!Map("compute", "addresses").contains(key)) {
    return ComputeNotFound(scope.Path("addresses", t.segs[6]));
  }
  return StartComputeOperation(scope, "delete", std::string(kComputeBase) + "projects/" + key,
                               "compute.delete", key, {}, "");
}

net::HttpResponse Handlers::ComputeOperationsGet() {
  const ComputeScope scope{t.segs[3], ""};
  return GetStored("compute", "operations", scope.Key(t.segs[6]),
                   [&] { return ComputeNotFound(scope.Path("operations", t.segs[6])); });
}

// ------------------------------------------------- Compute subnetworks (read)

const json::object* Handlers::FindSubnetwork(const std::string& project, const std::string& region,
                                             const std::string& ref) {
  // A bare reference is taken as the name, whatever it holds.
  RegionalRef r = ref.find("projects/") == std::string::npos
                      ? RegionalRef{"", "", ref, !ref.empty()}
                      : ParseRegionalRef(ref, "subnetworks");
  if (!r.ok || r.name.empty()) return nullptr;
  std::string p = r.project.empty() ? project : ProjectId(r.project);
  std::string reg = r.region.empty() ? region : r.region;
  auto* s = Map("compute", "subnetworks").if_contains(p + "/" + reg + "/" + r.name);
  return s && s->is_object() ? &s->as_object() : nullptr;
}

net::HttpResponse Handlers::SubnetworksGet() {
  const ComputeScope asked{t.segs[3], t.segs[5]}, stored{ProjectId(t.segs[3]), t.segs[5]};
  return GetStored("compute", "subnetworks", stored.Key(t.segs[7]),
                   [&] { return ComputeNotFound(asked.Path("subnetworks", t.segs[7])); });
}

net::HttpResponse Handlers::SubnetworksList() {
  const ComputeScope asked{t.segs[3], t.segs[5]}, stored{ProjectId(t.segs[3]), t.segs[5]};
  return ComputeListPage("subnetworks", stored.Key(""), "compute#subnetworkList",
                         asked.Path("subnetworks"), true);
}

// ------------------------------------------------------------- completion

void Handlers::CompleteNetwork(Emulator& e, json::object& effect, int64_t at) {
  std::string kind = Str(effect, "kind");
  std::string fail = Str(effect, "fail");
  if (kind.starts_with("vpc.")) {
    auto& vpc = *ObjAt(e.state_, "vpc");
    auto& connectors = *ObjAt(vpc, "connectors");
    std::string name = Str(effect, "connector");
    auto* c = connectors.if_contains(name);
    if (c) {
      if (!fail.empty()) {
        c->as_object()["state"] = "ERROR";
      } else if (kind == "vpc.delete") {
        connectors.erase(name);
        c = nullptr;
      } else {
        c->as_object()["state"] = "READY";
      }
    }
    if (auto* op = ObjAt(vpc, "operations")->if_contains(Str(effect, "op"))) {
      auto& o = op->as_object();
      o["done"] = true;
      (*ObjAt(o, "metadata"))["endTime"] = Rfc3339(at);
      if (!fail.empty()) {
        o["error"] = json::object{{"code", 13}, {"message", fail}};
      } else if (kind == "vpc.delete") {
        o["response"] = json::object{{"@type", "type.googleapis.com/google.protobuf.Empty"}};
      } else if (c) {
        json::object resp = c->as_object();
        resp["@type"] = kVpcConnector;
        o["response"] = resp;
      }
    }
    return;
  }
  if (kind == "sn.create") {
    auto& sn = *ObjAt(e.state_, "sn");
    if (fail.empty()) (*ObjAt(sn, "connections"))[Str(effect, "key")] = effect["connection"];
    if (auto* op = ObjAt(sn, "operations")->if_contains(Str(effect, "op"))) {
      auto& o = op->as_object();
      o["done"] = true;
      if (fail.empty()) {
        json::object resp = effect["connection"].as_object();
        resp["@type"] = "type.googleapis.com/google.cloud.servicenetworking.v1.Connection";
        o["response"] = resp;
      } else {
        o["error"] = json::object{{"code", 9}, {"message", fail}};
      }
    }
    return;
  }
  if (kind.starts_with("compute.")) {
    auto& compute = *ObjAt(e.state_, "compute");
    if (fail.empty()) {
      if (kind == "compute.insert") (*ObjAt(compute, "addresses"))[Str(effect, "key")] = effect["address"];
      if (kind == "compute.delete") ObjAt(compute, "addresses")->erase(Str(effect, "key"));
      CompleteRegional(e, effect);
    }
    if (auto* op = ObjAt(compute, "operations")->if_contains(Str(effect, "op"))) {
      auto& o = op->as_object();
      o["status"] = "DONE";
      o["progress"] = 100;
      if (!o.contains("startTime")) o["startTime"] = Rfc3339(at);
      o["endTime"] = Rfc3339(at);
      if (!fail.empty()) {
        o["error"] = json::object{{"errors", json::array{json::object{{"code", "INTERNAL_ERROR"}, {"message", fail}}}}};
      }
    }
  }
}

}  // namespace dbconnd::emulator
