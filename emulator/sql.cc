// Cloud SQL Admin v1: instances get/list/patch, operations get/list.
// Rules (REFERENCE.md §1): one operation at a time per instance (409
// operationInProgress, no operation created), settingsVersion bumps on every
// change and a stale one gets 412 staleData, PATCH merges objects and
// replaces lists, at least one of public/private IP, privateNetwork never
// removed, private IP needs a Service Networking connection.

#include "emulator/handlers.h"

namespace dbconnd::emulator {

namespace {

// Accepts "projects/P/global/networks/N", with a leading "/" or a full
// compute URL; returns {P, N}.
std::pair<std::string, std::string> SplitNetwork(std::string s) {
  auto pos = s.find("projects/");
  if (pos == std::string::npos) return {"", ""};
  s = s.substr(pos + 9);
  auto slash = s.find('/');
  auto last = s.rfind('/');
  if (slash == std::string::npos || s.find("/global/networks/") != slash) return {"", ""};
  return {s.substr(0, slash), s.substr(last + 1)};
}

std::string SettingsVersion(const json::object& inst) {
  return Str(Find(inst, {"settings", "settingsVersion"}));
}

}  // namespace

net::HttpResponse Handlers::SqlInstancesList() {
  size_t b = t.segs[0] == "sql" ? 1 : 0;
  const std::string& project = t.segs[b + 2];
  json::array all;
  for (const auto& [key, inst] : Map("sql", "instances")) {
    if (Str(inst.as_object(), "project") == project) all.push_back(inst);
  }
  std::string next;
  json::object out{{"kind", "sql#instancesList"},
                   {"items", Page(all, t.Query("maxResults"), t.Query("pageToken"), &next)}};
  if (!next.empty()) out["nextPageToken"] = next;
  return JsonResponse(200, out);
}

net::HttpResponse Handlers::SqlInstancesGet() {
  size_t b = t.segs[0] == "sql" ? 1 : 0;
  return GetStored("sql", "instances", t.segs[b + 2] + "/" + t.segs[b + 4], [] {
    return ErrorResponse(404, "NOT_FOUND", "The Cloud SQL instance does not exist.", "instanceDoesNotExist");
  });
}

Status Handlers::ValidateSqlInstance(const json::object& merged, const json::object& old) {
  auto bad = [](std::string m) { return InvalidArgumentError(std::move(m)).WithHttpStatus(400).WithReason("invalid"); };
  const json::value* ipc = Find(merged, {"settings", "ipConfiguration"});
  bool ipv4 = true;
  if (auto* v = ipc ? Find(*ipc, {"ipv4Enabled"}) : nullptr; v && v->is_bool()) ipv4 = v->as_bool();
  std::string pn = ipc ? Str(Find(*ipc, {"privateNetwork"})) : "";
  std::string old_pn = Str(Find(old, {"settings", "ipConfiguration", "privateNetwork"}));
  if (!old_pn.empty() && pn.empty()) {
    return bad("The private network of an instance cannot be removed once it is set.");
  }
  const json::value* psc = ipc ? Find(*ipc, {"pscConfig", "pscEnabled"}) : nullptr;
  const bool psc_on = psc && psc->is_bool() && psc->as_bool();
  if (!ipv4 && pn.empty() && !psc_on) {
    return bad("At least one of public IP, private IP or Private Service Connect must be enabled for the instance.");
  }
  if (ipc) {
    if (auto* nets = Find(*ipc, {"authorizedNetworks"}); nets && nets->is_array()) {
      for (const auto& n : nets->as_array()) {
        std::string v = Str(Find(n, {"value"}));
        if (!ParseCidr(v)) return bad("Non-CIDR value '" + v + "' in authorized networks.");
      }
    }
    std::string mode = Str(Find(*ipc, {"sslMode"}));
    if (auto* rs = Find(*ipc, {"requireSsl"}); rs && rs->is_bool() && !mode.empty()) {
      // The only consistent pairs for PostgreSQL/MySQL (REFERENCE.md §1).
      bool want = mode == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED";
      if (rs->as_bool() != want && mode != "SSL_MODE_UNSPECIFIED") {
        return bad("The requireSsl value " + std::string(rs->as_bool() ? "true" : "false") +
                   " is inconsistent with sslMode " + mode + ".");
      }
    }
  }
  if (!pn.empty() && pn != old_pn) {
    auto [proj, net_name] = SplitNetwork(pn);
    if (proj.empty()) return bad("Invalid privateNetwork '" + pn + "'; expected projects/PROJECT/global/networks/NETWORK.");
    std::string number = ProjectNumber(proj);
    std::string wanted = "projects/" + number + "/global/networks/" + net_name;
    bool found = false;
    for (const auto& [k, c] : Map("sn", "connections")) {
      found = found || Str(c.as_object(), "network") == wanted;
    }
    if (number.empty() || !found) {
      return FailedPreconditionError(
                 "Failed to create subnetwork. Please create Service Networking connection with "
                 "service 'servicenetworking.googleapis.com' from consumer project '" +
                 (number.empty() ? proj : number) + "' network '" + net_name + "' again.")
          .WithHttpStatus(400)
          .WithReason("failedPrecondition");
    }
  }
  return OkStatus();
}

void Handlers::RecomputeIps(Emulator& e, json::object& inst) {
  const json::value* ipc = Find(inst, {"settings", "ipConfiguration"});
  bool ipv4 = true;
  if (auto* v = ipc ? Find(*ipc, {"ipv4Enabled"}) : nullptr; v && v->is_bool()) ipv4 = v->as_bool();
  std::string pn = ipc ? Str(Find(*ipc, {"privateNetwork"})) : "";
  json::array ips;
  if (auto* cur = inst.if_contains("ipAddresses"); cur && cur->is_array()) ips = cur->as_array();
  auto has = [&](std::string_view type) {
    for (const auto& ip : ips) if (Str(Find(ip, {"type"})) == type) return true;
    return false;
  };
  auto* counters = ObjAt(e.state_, "counters");
  auto next_ip = [&](const char* key, uint32_t base) {
    int64_t n = 1;
    if (auto* v = counters->if_contains(key)) n = v->to_number<int64_t>() + 1;
    (*counters)[key] = n;
    return FormatIpv4(base + static_cast<uint32_t>(n));
  };
  json::array out;
  for (auto& ip : ips) {
    std::string type = Str(Find(ip, {"type"}));
    if (type == "PRIMARY" && !ipv4) continue;
    out.push_back(ip);
  }
  if (ipv4 && !has("PRIMARY")) {
    out.push_back(json::object{{"type", "PRIMARY"}, {"ipAddress", next_ip("publicIp", *ParseIpv4("35.202.10.0"))}});
  }
  if (!pn.empty() && !has("PRIVATE")) {
    // Take the address from the reserved peering range when there is one.
    uint32_t base = *ParseIpv4("10.60.0.0");
    std::string project = Str(inst, "project");
    for (const auto& [k, a] : *ObjAt(*ObjAt(e.state_, "compute"), "addresses")) {
      if (k.starts_with(project + "/") && Str(a.as_object(), "purpose") == "VPC_PEERING") {
        if (auto ip = ParseIpv4(Str(a.as_object(), "address"))) base = *ip + 2;
        break;
      }
    }
    out.push_back(json::object{{"type", "PRIVATE"}, {"ipAddress", next_ip("privateIp", base)}});
  }
  inst["ipAddresses"] = std::move(out);
}

void Handlers::ApplySqlPatch(Emulator& e, json::object& inst, const json::object& patch) {
  MergePatch(inst, patch);
  auto* settings = ObjAt(inst, "settings");
  std::string v = Str(settings->if_contains("settingsVersion"));
  (*settings)["settingsVersion"] = std::to_string((v.empty() ? 0 : std::stoll(v)) + 1);
  if (auto* nets = Find(inst, {"settings", "ipConfiguration", "authorizedNetworks"}); nets && nets->is_array()) {
    for (auto& n : ObjAt(*settings, "ipConfiguration")->at("authorizedNetworks").as_array()) {
      if (n.is_object()) n.as_object()["kind"] = "sql#aclEntry";
    }
  }
  RecomputeIps(e, inst);
  RecomputePsc(inst);
}

net::HttpResponse Handlers::SqlInstancesPatch() {
  size_t b = t.segs[0] == "sql" ? 1 : 0;
  const std::string& project = t.segs[b + 2];
  const std::string& name = t.segs[b + 4];
  std::string key = project + "/" + name;
  auto* inst_v = Map("sql", "instances").if_contains(key);
  if (!inst_v) {
    return ErrorResponse(404, "NOT_FOUND", "The Cloud SQL instance does not exist.", "instanceDoesNotExist");
  }
  auto raw = RawBody();
  if (!raw.ok()) return ErrorFromStatus(raw.status());
  if (HasPendingFor("sql/" + key)) {
    return ErrorResponse(409, "ABORTED",
                         "Operation failed because another operation was already in progress. "
                         "Try your request after the current operation is complete.",
                         "operationInProgress");
  }
  json::object& inst = inst_v->as_object();
  std::string sent_version = Str(Find(*raw, {"settings", "settingsVersion"}));
  if (!sent_version.empty() && sent_version != SettingsVersion(inst)) {
    return ErrorResponse(412, "FAILED_PRECONDITION", "Condition does not match.", "staleData", "global",
                         "If-Match", "header");
  }
  auto body = e.schemas_.CheckRequest("sqladmin", "DatabaseInstance", *raw);
  if (!body.ok()) return ErrorFromStatus(body.status());
  json::object patch = body->as_object();
  // Identity and server-computed fields are not the caller's to change.
  for (const char* k : {"kind", "name", "project", "region", "connectionName", "ipAddresses", "state",
                        "selfLink", "serviceAccountEmailAddress", "gceZone", "backendType",
                        "serverCaCert", "etag", "createTime", "instanceType"}) {
    patch.erase(k);
  }
  if (auto* s = patch.if_contains("settings"); s && s->is_object()) {
    s->as_object().erase("settingsVersion");
    s->as_object().erase("kind");
  }
  if (auto* dv = raw->as_object().if_contains("databaseVersion");
      dv && Str(dv) != Str(inst, "databaseVersion")) {
    return ErrorResponse(400, "INVALID_ARGUMENT", "The database version cannot be changed by a patch.", "invalid");
  }
  patch.erase("databaseVersion");
  json::object merged = inst;
  MergePatch(merged, patch);
  Status valid = ValidateSqlInstance(merged, inst);
  if (!valid.ok()) return ErrorFromStatus(valid);

  std::string op_name = Uuid();
  json::object op{{"kind", "sql#operation"},
                  {"name", op_name},
                  {"selfLink", std::string(kSqlBase) + "projects/" + project + "/operations/" + op_name},
                  {"targetLink", std::string(kSqlBase) + "projects/" + project + "/instances/" + name},
                  {"targetId", name},
                  {"targetProject", project},
                  {"status", "PENDING"},
                  {"user", "dbconnd@emulator.iam.gserviceaccount.com"},
                  {"insertTime", Rfc3339(now)},
                  {"operationType", "UPDATE"}};
  Map("sql", "operations")[project + "/" + op_name] = op;
  Schedule(json::object{{"kind", "sql.patch"},
                        {"target", "sql/" + key},
                        {"instance", key},
                        {"op", project + "/" + op_name},
                        {"patch", patch}},
           e.options_.op_delay);
  Touch();
  Effective();
  return JsonResponse(200, op);
}

void Handlers::CompleteSql(Emulator& e, json::object& effect, int64_t at) {
  auto& sql = *ObjAt(e.state_, "sql");
  auto* op = ObjAt(sql, "operations")->if_contains(Str(effect, "op"));
  auto* inst = ObjAt(sql, "instances")->if_contains(Str(effect, "instance"));
  std::string fail = Str(effect, "fail");
  if (inst && fail.empty()) {
    if (auto* p = effect.if_contains("patch"); p && p->is_object()) ApplySqlPatch(e, inst->as_object(), p->as_object());
  }
  if (op) {
    auto& o = op->as_object();
    o["status"] = "DONE";
    if (!o.contains("startTime")) o["startTime"] = Rfc3339(at);
    o["endTime"] = Rfc3339(at);
    if (!fail.empty()) {
      o["error"] = json::object{
          {"kind", "sql#operationErrors"},
          {"errors", json::array{json::object{{"kind", "sql#operationError"}, {"code", "INTERNAL_ERROR"}, {"message", fail}}}}};
    }
  }
}

net::HttpResponse Handlers::SqlOperationsGet() {
  size_t b = t.segs[0] == "sql" ? 1 : 0;
  return GetStored("sql", "operations", t.segs[b + 2] + "/" + t.segs[b + 4], [] {
    return ErrorResponse(404, "NOT_FOUND", "The Cloud SQL operation does not exist.", "operationDoesNotExist");
  });
}

net::HttpResponse Handlers::SqlOperationsList() {
  size_t b = t.segs[0] == "sql" ? 1 : 0;
  const std::string& project = t.segs[b + 2];
  std::string instance = t.Query("instance");
  json::array all;
  for (const auto& [k, op] : Map("sql", "operations")) {
    const auto& o = op.as_object();
    if (Str(o, "targetProject") != project) continue;
    if (!instance.empty() && Str(o, "targetId") != instance) continue;
    all.push_back(op);
  }
  // Newest first, as Google lists them.
  std::reverse(all.begin(), all.end());
  std::string next;
  json::object out{{"kind", "sql#operationsList"},
                   {"items", Page(all, t.Query("maxResults"), t.Query("pageToken"), &next)}};
  if (!next.empty()) out["nextPageToken"] = next;
  return JsonResponse(200, out);
}

}  // namespace dbconnd::emulator
