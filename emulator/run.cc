// Cloud Run Admin v2: jobs/services get/list/patch, jobs.run, executions,
// operations. PATCH replaces the whole resource (jobs have no updateMask),
// bumps generation and etag; a body etag that is not current is refused.
// An execution's outcome follows the connectivity the job really has.

#include "emulator/auth.h"
#include "emulator/handlers.h"

namespace dbconnd::emulator {

namespace {

std::string FullName(const Target& t, size_t upto) {
  std::string out;
  for (size_t i = 1; i < upto && i < t.segs.size(); ++i) {
    if (!out.empty()) out += "/";
    out += t.segs[i];
  }
  return out;
}

struct DbUrl {
  std::string host;
  std::string sslmode;
  bool ok = false;
};

// postgresql://user:pass@host:port/db?sslmode=..&host=/cloudsql/CONN
DbUrl ParseDbUrl(const std::string& url) {
  DbUrl out;
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return out;
  std::string rest = url.substr(scheme + 3);
  std::string query;
  if (auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string authority = rest.substr(0, rest.find('/'));
  if (auto at = authority.rfind('@'); at != std::string::npos) authority = authority.substr(at + 1);
  std::string host = authority;
  if (!host.empty() && host[0] == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else if (auto colon = host.rfind(':'); colon != std::string::npos) {
    host = host.substr(0, colon);
  }
  out.host = PercentDecode(host, false);
  auto params = ParseForm(query);
  if (!params["host"].empty()) out.host = params["host"];
  out.sslmode = params["sslmode"];
  out.ok = true;
  return out;
}

// RFC 1918 and RFC 6598 (100.64.0.0/10): what vpcAccess egress
// PRIVATE_RANGES_ONLY routes into the VPC.
bool IsPrivateRangesOnlyDestination(uint32_t ip) {
  for (const char* range : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"}) {
    if (CidrContains(*ParseCidr(range), ip)) return true;
  }
  return false;
}

}  // namespace

Handlers::Outcome Handlers::EvaluateConnectivity(const json::object& job) {
  const auto fast = e.options_.op_delay;
  const auto slow = e.options_.connect_timeout;
  const json::value* task = Find(job, {"template", "template"});
  if (!task) return {true, "Execution completed successfully.", fast};
  const json::value* url_env = nullptr;
  if (auto* cs = Find(*task, {"containers"}); cs && cs->is_array()) {
    for (const auto& c : cs->as_array()) {
      if (auto* env = Find(c, {"env"}); env && env->is_array()) {
        for (const auto& ev : env->as_array()) {
          if (Str(Find(ev, {"name"})) == "DATABASE_URL") url_env = &ev;
        }
      }
    }
  }
  if (!url_env) return {true, "Execution completed successfully.", fast};

  std::vector<std::string> socket_conns;
  if (auto* vols = Find(*task, {"volumes"}); vols && vols->is_array()) {
    for (const auto& v : vols->as_array()) {
      if (auto* list = Find(v, {"cloudSqlInstance", "instances"}); list && list->is_array()) {
        for (const auto& c : list->as_array()) socket_conns.push_back(Str(&c));
      }
    }
  }
  std::string connector = Str(Find(*task, {"vpcAccess", "connector"}));
  std::string direct_network;
  if (auto* nis = Find(*task, {"vpcAccess", "networkInterfaces"}); nis && nis->is_array() && !nis->as_array().empty()) {
    const json::value& ni = nis->as_array()[0];
    direct_network = LastSegment(Str(Find(ni, {"network"})));
    if (direct_network.empty()) {
      // Subnetwork alone: Cloud Run looks its network up.
      if (auto* sub = FindSubnetwork(ProjectId(t.segs[2]), t.segs[4], Str(Find(ni, {"subnetwork"})))) {
        direct_network = LastSegment(Str(*sub, "network"));
      }
    }
  }
  // PRIVATE_RANGES_ONLY (the default) sends only RFC 1918 and RFC 6598
  // destinations into the VPC; anything else leaves through the internet.
  const bool all_traffic = Str(Find(*task, {"vpcAccess", "egress"})) == "ALL_TRAFFIC";
  auto connector_reaches = [&](const std::string& network) {
    if (!direct_network.empty() && direct_network == network) return true;
    if (connector.empty()) return false;
    auto* c = Map("vpc", "connectors").if_contains(connector);
    return c && Str(c->as_object(), "state") == "READY" &&
           LastSegment(Str(c->as_object(), "network")) == network;
  };

  auto& instances = Map("sql", "instances");
  // settings.connectorEnforcement REQUIRED: only the Cloud SQL connectors
  // (Cloud Run's /cloudsql socket among them) get in; raw-IP clients are
  // refused, whatever network path they have.
  auto enforced = [](const json::value& inst) {
    return Str(Find(inst, {"settings", "connectorEnforcement"})) == "REQUIRED";
  };
  std::string url = Str(Find(*url_env, {"value"}));
  if (url.empty()) {
    // The whole URL comes from Secret Manager, which the emulator does not
    // model: judge by the paths the job has to any instance.
    for (const auto& [k, inst] : instances) {
      const auto& o = inst.as_object();
      std::string conn = Str(o, "connectionName");
      if (std::find(socket_conns.begin(), socket_conns.end(), conn) != socket_conns.end()) {
        return {true, "Execution completed successfully.", fast};
      }
      std::string pn = Str(Find(o, {"settings", "ipConfiguration", "privateNetwork"}));
      if (!pn.empty() && !enforced(inst) && connector_reaches(LastSegment(pn))) {
        return {true, "Execution completed successfully.", fast};
      }
    }
    return {false, "django.db.utils.OperationalError: connection timeout expired", slow};
  }
  DbUrl db = ParseDbUrl(url);
  if (!db.ok) return {false, "django.db.utils.OperationalError: invalid DATABASE_URL", fast};

  const json::object* target = nullptr;
  std::string path;  // "socket" | "PRIMARY" | "PRIVATE"
  if (db.host.starts_with("/cloudsql/")) {
    std::string conn = db.host.substr(10);
    while (!conn.empty() && conn.back() == '/') conn.pop_back();
    for (const auto& [k, inst] : instances) {
      if (Str(inst.as_object(), "connectionName") == conn) target = &inst.as_object();
    }
    if (!target || std::find(socket_conns.begin(), socket_conns.end(), conn) == socket_conns.end()) {
      return {false,
              "django.db.utils.OperationalError: connection to server on socket \"" + db.host +
                  "/.s.PGSQL.5432\" failed: No such file or directory",
              fast};
    }
    path = "socket";
  } else {
    for (const auto& [k, inst] : instances) {
      if (auto* ips = Find(inst, {"ipAddresses"}); ips && ips->is_array()) {
        for (const auto& ip : ips->as_array()) {
          if (Str(Find(ip, {"ipAddress"})) == db.host) {
            target = &inst.as_object();
            path = Str(Find(ip, {"type"}));
          }
        }
      }
    }
  }
  if (!target) {
    // A Private Service Connect endpoint: a forwarding rule of the job's
    // project whose IP is the host, in a network the job reaches, accepted
    // by the instance behind the service attachment.
    for (const auto& [k, r] : Map("compute", "forwardingRules")) {
      const json::object& ro = r.as_object();
      if (Str(ro, "IPAddress") != db.host || !std::string_view(k).starts_with(ProjectId(t.segs[2]) + "/")) continue;
      if (PscConnectionStatus(Str(ro, "_project"), Str(ro, "target")) != "ACCEPTED") continue;
      if (!connector_reaches(LastSegment(Str(ro, "network")))) continue;
      auto ip = ParseIpv4(db.host);
      if (!all_traffic && !(ip && IsPrivateRangesOnlyDestination(*ip))) continue;
      target = PscInstanceFor(Str(ro, "target"));
      path = "PSC";
    }
  }
  const std::string timeout = "django.db.utils.OperationalError: connection timeout expired (connecting to " +
                              db.host + ":5432)";
  if (!target) return {false, timeout, slow};
  const json::value* ipc = Find(*target, {"settings", "ipConfiguration"});
  if (Str(Find(*target, {"settings", "activationPolicy"})) == "NEVER") return {false, timeout, slow};
  if (path != "socket" && Str(Find(*target, {"settings", "connectorEnforcement"})) == "REQUIRED") {
    // The server closes the connection: it did not come through a connector.
    return {false,
            "django.db.utils.OperationalError: connection to server at \"" + db.host +
                "\", port 5432 failed: server closed the connection unexpectedly (instance requires "
                "the Cloud SQL connectors: connectorEnforcement is REQUIRED)",
            fast};
  }
  if (path == "PRIMARY") {
    bool covered = false;
    auto egress = ParseIpv4(kCloudRunEgressIp);
    if (auto* nets = ipc ? Find(*ipc, {"authorizedNetworks"}) : nullptr; nets && nets->is_array()) {
      for (const auto& n : nets->as_array()) {
        auto cidr = ParseCidr(Str(Find(n, {"value"})));
        covered = covered || (cidr && CidrContains(*cidr, *egress));
      }
    }
    if (!covered) return {false, timeout, slow};
  } else if (path == "PRIVATE") {
    std::string pn = ipc ? Str(Find(*ipc, {"privateNetwork"})) : "";
    if (!connector_reaches(LastSegment(pn))) return {false, timeout, slow};
    auto ip = ParseIpv4(db.host);
    if (!all_traffic && !(ip && IsPrivateRangesOnlyDestination(*ip))) return {false, timeout, slow};
  } else if (path != "socket" && path != "PSC") {
    return {false, timeout, slow};
  }
  if (path != "socket") {
    // The Cloud SQL socket path is encrypted by the connector; TCP is not
    // unless the client asks for TLS.
    std::string mode = ipc ? Str(Find(*ipc, {"sslMode"})) : "";
    bool require_ssl = false;
    if (auto* rs = ipc ? Find(*ipc, {"requireSsl"}) : nullptr; rs && rs->is_bool()) require_ssl = rs->as_bool();
    if (mode == "TRUSTED_CLIENT_CERTIFICATE_REQUIRED") {
      return {false, "django.db.utils.OperationalError: SSL error: connection requires a valid client certificate", fast};
    }
    if ((mode == "ENCRYPTED_ONLY" || require_ssl) && db.sslmode == "disable") {
      return {false,
              "django.db.utils.OperationalError: FATAL: pg_hba.conf rejects connection for host \"" +
                  std::string(kCloudRunEgressIp) + "\", no encryption (SSL connection is required)",
              fast};
    }
  }
  return {true, "Execution completed successfully.", fast};
}

std::optional<net::HttpResponse> Handlers::CheckVpcAccess(const json::object& resource, bool is_job) {
  const json::value* vpc = is_job ? Find(resource, {"template", "template", "vpcAccess"})
                                  : Find(resource, {"template", "vpcAccess"});
  if (!vpc || !vpc->is_object()) return std::nullopt;
  const std::string where = is_job ? "template.template.vpcAccess" : "template.vpcAccess";
  auto bad = [&](const std::string& msg) {
    return std::optional<net::HttpResponse>(ErrorResponse(400, "INVALID_ARGUMENT", where + ": " + msg, "badRequest"));
  };
  const json::value* nis = Find(*vpc, {"networkInterfaces"});
  const bool direct = nis && nis->is_array() && !nis->as_array().empty();
  // Cloud Run: a connector and Direct VPC egress are alternatives.
  if (direct && !Str(Find(*vpc, {"connector"})).empty()) {
    return bad("connector and networkInterfaces cannot both be set; use either a Serverless VPC Access "
               "connector or Direct VPC egress.");
  }
  if (!direct) return std::nullopt;
  if (nis->as_array().size() > 1) return bad("at most one network interface is supported.");
  const json::value& ni = nis->as_array()[0];
  std::string network = Str(Find(ni, {"network"}));
  std::string subnetwork = Str(Find(ni, {"subnetwork"}));
  if (network.empty() && subnetwork.empty()) {
    return bad("networkInterfaces[0]: at least one of network or subnetwork must be set.");
  }
  const std::string project = ProjectId(t.segs[2]);
  const std::string& region = t.segs[4];
  // network alone: the subnet named like the network, in the region.
  const std::string subnet_ref = subnetwork.empty() ? LastSegment(network) : subnetwork;
  const json::object* subnet = FindSubnetwork(project, region, subnet_ref);
  if (!subnet) {
    return bad("networkInterfaces[0]: subnetwork '" + subnet_ref + "' was not found in region " + region + ".");
  }
  if (!network.empty() && LastSegment(Str(*subnet, "network")) != LastSegment(network)) {
    return bad("networkInterfaces[0]: subnetwork '" + subnet_ref + "' does not belong to network '" + network + "'.");
  }
  return std::nullopt;
}

net::HttpResponse Handlers::RunList(std::string_view kind) {
  std::string parent = FullName(t, 5);  // projects/P/locations/L
  json::array all;
  for (const auto& [name, r] : Map("run", kind)) {
    if (std::string_view(name).starts_with(parent + "/")) all.push_back(r);
  }
  std::string next;
  json::object out{{std::string(kind), Page(all, t.Query("pageSize"), t.Query("pageToken"), &next)}};
  if (!next.empty()) out["nextPageToken"] = next;
  return JsonResponse(200, out);
}

net::HttpResponse Handlers::RunExecutionsList() {
  std::string parent = FullName(t, 7);  // .../jobs/J
  json::array all;
  for (const auto& [name, r] : Map("run", "executions")) {
    if (std::string_view(name).starts_with(parent + "/executions/")) all.push_back(r);
  }
  std::reverse(all.begin(), all.end());
  std::string next;
  json::object out{{"executions", Page(all, t.Query("pageSize"), t.Query("pageToken"), &next)}};
  if (!next.empty()) out["nextPageToken"] = next;
  return JsonResponse(200, out);
}

net::HttpResponse Handlers::RunGet(std::string_view kind) {
  std::string name = FullName(t, t.segs.size());
  auto* r = Map("run", kind).if_contains(name);
  if (!r) {
    std::string what = kind == "jobs" ? "Job" : kind == "services" ? "Service" : "Execution";
    return ErrorResponse(404, "NOT_FOUND", what + " [" + name + "] not found.", "notFound");
  }
  return JsonResponse(200, *r);
}

net::HttpResponse Handlers::RunPatch(std::string_view kind) {
  std::string name = FullName(t, t.segs.size());
  const bool is_job = kind == "jobs";
  auto* r_v = Map("run", kind).if_contains(name);
  if (!r_v) {
    return ErrorResponse(404, "NOT_FOUND", std::string(is_job ? "Job" : "Service") + " [" + name + "] not found.",
                         "notFound");
  }
  auto raw = RawBody();
  if (!raw.ok()) return ErrorFromStatus(raw.status());
  json::object& cur = r_v->as_object();
  std::string sent_etag = Str(Find(*raw, {"etag"}));
  if (!sent_etag.empty() && sent_etag != Str(cur, "etag")) {
    return ErrorResponse(409, "ABORTED",
                         "The request etag does not match the current etag of the resource; re-read it and try again.",
                         "aborted");
  }
  auto body = e.schemas_.CheckRequest("run", is_job ? "GoogleCloudRunV2Job" : "GoogleCloudRunV2Service", *raw);
  if (!body.ok()) return ErrorFromStatus(body.status());
  json::object in = body->as_object();
  if (auto n = Str(in, "name"); !n.empty() && n != name) {
    return ErrorResponse(400, "INVALID_ARGUMENT", "name in the body (" + n + ") does not match the URL.", "badRequest");
  }
  for (const char* map_key : {"labels", "annotations"}) {
    if (auto* m = in.if_contains(map_key); m && m->is_object()) {
      for (const auto& [k, v] : m->as_object()) {
        std::string_view key = k;
        for (const char* reserved : {"run.googleapis.com", "cloud.googleapis.com", "serving.knative.dev", "autoscaling.knative.dev"}) {
          if (key.starts_with(reserved)) {
            return ErrorResponse(400, "INVALID_ARGUMENT",
                                 "Unknown or system " + std::string(map_key) + " key: " + std::string(key), "badRequest");
          }
        }
      }
    }
  }
  if (!in.contains("template")) {
    return ErrorResponse(400, "INVALID_ARGUMENT", "template: field is required", "badRequest");
  }
  // startExecutionToken / runExecutionToken (jobs): an execution named
  // <job>-<token> is created once; the same token again creates nothing.
  std::string exec_token;
  if (is_job) {
    exec_token = Str(in, "startExecutionToken");
    if (exec_token.empty()) exec_token = Str(in, "runExecutionToken");
    std::string job_id = name.substr(name.rfind('/') + 1);
    if (!exec_token.empty() && job_id.size() + exec_token.size() >= 63) {
      return ErrorResponse(400, "INVALID_ARGUMENT",
                           "The job name and execution token together must be shorter than 63 characters.",
                           "badRequest");
    }
  }
  bool validate_only = t.Query("validateOnly") == "true";
  // Output-only fields survive; everything the caller owns is replaced, or
  // with an updateMask (services only) just the named fields are.
  json::object next;
  std::string mask = t.Query("updateMask");
  if (!is_job && !mask.empty()) {
    next = cur;
    size_t pos = 0;
    while (pos <= mask.size()) {
      size_t comma = mask.find(',', pos);
      if (comma == std::string::npos) comma = mask.size();
      std::string path = mask.substr(pos, comma - pos);
      pos = comma + 1;
      if (path.empty()) continue;
      // Walk the dotted path in both objects.
      json::object* dst = &next;
      const json::object* src = &in;
      size_t p2 = 0;
      for (;;) {
        size_t dot = path.find('.', p2);
        std::string key = path.substr(p2, dot == std::string::npos ? std::string::npos : dot - p2);
        if (dot == std::string::npos) {
          if (auto* v = src->if_contains(key)) (*dst)[key] = *v; else dst->erase(key);
          break;
        }
        auto* sv = src->if_contains(key);
        if (!sv || !sv->is_object()) { dst->erase(key); break; }
        src = &sv->as_object();
        dst = ObjAt(*dst, key);
        p2 = dot + 1;
      }
    }
  } else {
    next = in;
    for (const char* out_only : {"uid", "generation", "observedGeneration", "createTime", "updateTime", "deleteTime",
                                 "expireTime", "creator", "lastModifier", "etag", "reconciling", "conditions",
                                 "terminalCondition", "latestCreatedExecution", "executionCount", "satisfiesPzs",
                                 "latestReadyRevision", "latestCreatedRevision", "trafficStatuses", "uri", "urls"}) {
      if (auto* v = cur.if_contains(out_only)) next[out_only] = *v;
    }
  }
  next["name"] = name;
  if (auto refused = CheckVpcAccess(next, is_job)) return *refused;
  int64_t gen = std::stoll(Str(cur, "generation").empty() ? "0" : Str(cur, "generation")) + 1;
  next["generation"] = std::to_string(gen);
  next["etag"] = "\"" + Sha256Hex(name + std::to_string(gen) + std::to_string(now) + NextId()).substr(0, 20) + "\"";
  next["updateTime"] = Rfc3339(now);
  next["reconciling"] = true;
  next["lastModifier"] = "dbconnd@emulator.iam.gserviceaccount.com";
  next["terminalCondition"] = json::object{{"type", "Ready"}, {"state", "CONDITION_RECONCILING"},
                                           {"lastTransitionTime", Rfc3339(now)}};

  const std::string type = is_job ? "type.googleapis.com/google.cloud.run.v2.Job"
                                  : "type.googleapis.com/google.cloud.run.v2.Service";
  auto segs_project = t.segs[2], segs_loc = t.segs[4];
  std::string op_name = "projects/" + segs_project + "/locations/" + segs_loc + "/operations/" + Uuid();
  json::object op = LroOperation(op_name, type, next);
  if (validate_only) {
    op["done"] = true;
    json::object resp = next;
    resp["@type"] = type;
    op["response"] = resp;
    return JsonResponse(200, op);
  }
  cur = next;
  Map("run", "operations")[op_name] = op;
  if (!exec_token.empty()) {
    std::string job_id = name.substr(name.rfind('/') + 1);
    std::string exec_id = job_id + "-" + exec_token;
    if (!Map("run", "executions").contains(name + "/executions/" + exec_id)) {
      StartExecution(name, exec_id, nullptr);
    }
  }
  Schedule(json::object{{"kind", "run.update"}, {"target", "run/" + name}, {"coll", kind}, {"resource", name}, {"op", op_name}},
           e.options_.op_delay);
  Touch();
  Effective();
  return JsonResponse(200, op);
}

json::object Handlers::StartExecution(const std::string& job_name, const std::string& exec_id,
                                      const json::value* overrides) {
  json::object& job = Map("run", "jobs")[job_name].as_object();
  std::string job_id = job_name.substr(job_name.rfind('/') + 1);
  const std::string& project = t.segs[2];
  const std::string& location = t.segs[4];
  // Overrides: env merged into the container, args replaced (P-RUN).
  json::object effective = job;
  if (overrides && overrides->is_array()) {
    auto* cs = Find(effective, {"template", "template", "containers"});
    for (const auto& o : overrides->as_array()) {
      if (!cs || !cs->is_array()) break;
      for (auto& c : const_cast<json::value*>(cs)->as_array()) {
        std::string oname = Str(Find(o, {"name"}));
        if (!oname.empty() && oname != Str(Find(c, {"name"}))) continue;
        if (auto* env = Find(o, {"env"}); env && env->is_array()) {
          auto& cenv = c.as_object()["env"];
          if (!cenv.is_array()) cenv = json::array{};
          for (const auto& ev : env->as_array()) {
            bool replaced = false;
            for (auto& existing : cenv.as_array()) {
              if (Str(Find(existing, {"name"})) == Str(Find(ev, {"name"}))) {
                existing = ev;
                replaced = true;
              }
            }
            if (!replaced) cenv.as_array().push_back(ev);
          }
        }
      }
    }
  }
  Outcome outcome = EvaluateConnectivity(effective);
  std::string exec_name = job_name + "/executions/" + exec_id;
  std::string suffix = Sha256Hex(exec_name).substr(0, 5);
  int64_t task_count = 1;
  if (auto* tc = Find(job, {"template", "taskCount"}); tc && tc->is_number()) task_count = tc->to_number<int64_t>();
  json::object exec{{"name", exec_name},
                    {"uid", Uuid()},
                    {"generation", "1"},
                    {"createTime", Rfc3339(now)},
                    {"startTime", Rfc3339(now)},
                    {"job", job_id},
                    {"launchStage", "GA"},
                    {"taskCount", task_count},
                    {"parallelism", task_count},
                    {"runningCount", task_count},
                    {"succeededCount", 0},
                    {"failedCount", 0},
                    {"reconciling", true},
                    {"etag", "\"" + suffix + "\""},
                    {"logUri", "https://console.cloud.google.com/logs/viewer?project=" + project},
                    {"conditions", json::array{json::object{{"type", "Completed"},
                                                            {"state", "CONDITION_PENDING"},
                                                            {"lastTransitionTime", Rfc3339(now)}}}}};
  if (auto* tmpl = Find(job, {"template", "template"})) exec["template"] = *tmpl;
  Map("run", "executions")[exec_name] = exec;
  job["latestCreatedExecution"] = json::object{{"name", exec_name}, {"createTime", Rfc3339(now)},
                                               {"completionStatus", "EXECUTION_RUNNING"}};
  job["executionCount"] = (job.contains("executionCount") ? job["executionCount"].to_number<int64_t>() : 0) + 1;
  std::string op_name = "projects/" + project + "/locations/" + location + "/operations/" + Uuid();
  json::object op = LroOperation(op_name, "type.googleapis.com/google.cloud.run.v2.Execution", exec);
  Map("run", "operations")[op_name] = op;
  Schedule(json::object{{"kind", "run.execute"},
                        {"target", "exec/" + exec_name},
                        {"execution", exec_name},
                        {"job", job_name},
                        {"op", op_name},
                        {"ok", outcome.ok},
                        {"message", outcome.message}},
           outcome.after);
  return op;
}

net::HttpResponse Handlers::RunJobRun() {
  std::string last = t.segs[6];
  std::string job_id = last.substr(0, last.size() - 4);
  std::string job_name = "projects/" + t.segs[2] + "/locations/" + t.segs[4] + "/jobs/" + job_id;
  auto* job_v = Map("run", "jobs").if_contains(job_name);
  if (!job_v) return ErrorResponse(404, "NOT_FOUND", "Job [" + job_name + "] not found.", "notFound");
  auto body = Body("run", "GoogleCloudRunV2RunJobRequest");
  if (!body.ok()) return ErrorFromStatus(body.status());
  json::object& job = job_v->as_object();
  std::string sent_etag = Str(Find(*body, {"etag"}));
  if (!sent_etag.empty() && sent_etag != Str(job, "etag")) {
    return ErrorResponse(409, "ABORTED", "The request etag does not match the current etag of the job.", "aborted");
  }
  std::string suffix = Sha256Hex(job_name + NextId()).substr(0, 5);
  json::object op = StartExecution(job_name, job_id + "-" + suffix, Find(*body, {"overrides", "containerOverrides"}));
  Touch();
  Effective();
  return JsonResponse(200, op);
}

void Handlers::CompleteRun(Emulator& e, json::object& effect, int64_t at) {
  auto& run = *ObjAt(e.state_, "run");
  std::string kind = Str(effect, "kind");
  auto* op_v = ObjAt(run, "operations")->if_contains(Str(effect, "op"));
  std::string fail = Str(effect, "fail");
  if (kind == "run.update") {
    auto* r = ObjAt(run, Str(effect, "coll"))->if_contains(Str(effect, "resource"));
    std::string type = Str(effect, "coll") == "jobs" ? "type.googleapis.com/google.cloud.run.v2.Job"
                                                     : "type.googleapis.com/google.cloud.run.v2.Service";
    if (r) {
      auto& o = r->as_object();
      o["reconciling"] = false;
      if (fail.empty()) {
        o["observedGeneration"] = o["generation"];
        o["terminalCondition"] = json::object{{"type", "Ready"}, {"state", "CONDITION_SUCCEEDED"},
                                              {"lastTransitionTime", Rfc3339(at)}};
      } else {
        o["terminalCondition"] = json::object{{"type", "Ready"}, {"state", "CONDITION_FAILED"},
                                              {"message", fail}, {"lastTransitionTime", Rfc3339(at)}};
      }
    }
    if (op_v) {
      auto& op = op_v->as_object();
      op["done"] = true;
      if (fail.empty() && r) {
        json::object resp = r->as_object();
        resp["@type"] = type;
        op["response"] = resp;
      } else {
        op["error"] = json::object{{"code", 13}, {"message", fail.empty() ? "resource vanished" : fail}};
      }
    }
    return;
  }
  // run.execute
  bool ok = fail.empty() && effect["ok"].as_bool();
  std::string message = fail.empty() ? Str(effect, "message") : fail;
  auto* exec_v = ObjAt(run, "executions")->if_contains(Str(effect, "execution"));
  if (exec_v) {
    auto& ex = exec_v->as_object();
    int64_t tasks = ex["taskCount"].to_number<int64_t>();
    ex["completionTime"] = Rfc3339(at);
    ex["runningCount"] = 0;
    ex["succeededCount"] = ok ? tasks : 0;
    ex["failedCount"] = ok ? 0 : tasks;
    ex["reconciling"] = false;
    ex["observedGeneration"] = "1";
    ex["conditions"] = json::array{
        json::object{{"type", "Completed"}, {"state", ok ? "CONDITION_SUCCEEDED" : "CONDITION_FAILED"},
                     {"message", ok ? std::string("Execution completed successfully.")
                                    : "Task " + Str(effect, "execution").substr(Str(effect, "execution").rfind('/') + 1) +
                                          "-task0 failed: " + message},
                     {"lastTransitionTime", Rfc3339(at)}},
        json::object{{"type", "ResourcesAvailable"}, {"state", "CONDITION_SUCCEEDED"}, {"lastTransitionTime", Rfc3339(at)}},
        json::object{{"type", "Started"}, {"state", "CONDITION_SUCCEEDED"}, {"lastTransitionTime", Rfc3339(at)}}};
    if (!ok) ex["conditions"].as_array()[0].as_object()["executionReason"] = "NON_ZERO_EXIT_CODE";
  }
  if (auto* job_v = ObjAt(run, "jobs")->if_contains(Str(effect, "job"))) {
    auto& lce = (*ObjAt(job_v->as_object(), "latestCreatedExecution"));
    if (Str(lce, "name") == Str(effect, "execution")) {
      lce["completionTime"] = Rfc3339(at);
      lce["completionStatus"] = ok ? "EXECUTION_SUCCEEDED" : "EXECUTION_FAILED";
    }
  }
  if (op_v) {
    auto& op = op_v->as_object();
    op["done"] = true;
    if (exec_v) {
      json::object meta = exec_v->as_object();
      meta["@type"] = "type.googleapis.com/google.cloud.run.v2.Execution";
      op["metadata"] = meta;
      if (ok) op["response"] = meta;
    }
    if (!ok) op["error"] = json::object{{"code", 9}, {"message", message}};
  }
}

net::HttpResponse Handlers::RunOperationsGet() {
  std::string name = FullName(t, t.segs.size());
  auto* op = Map("run", "operations").if_contains(name);
  if (!op) return ErrorResponse(404, "NOT_FOUND", "Operation " + name + " not found.", "notFound");
  return JsonResponse(200, *op);
}

}  // namespace dbconnd::emulator
