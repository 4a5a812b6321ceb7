#include "emulator/emulator.h"

#include <algorithm>
#include <cstdio>

#include "emulator/auth.h"
#include "emulator/handlers.h"

namespace dbconnd::emulator {

namespace {

int64_t ToMs(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// One method of a collection: `rest` counts the path segments after the
// collection (0: the collection itself, 1: one of its resources).
struct CollectionMethod {
  size_t rest;
  std::string_view http;
  const char* id;
};

// The id of the method `m` with `rest` segments, "" when there is none.
std::string MethodOf(std::initializer_list<CollectionMethod> methods, size_t rest,
                     std::string_view m) {
  for (const auto& x : methods) {
    if (x.rest == rest && x.http == m) return x.id;
  }
  return "";
}

// Route ids follow the discovery method ids; the admin and auth endpoints get
// ids of their own so the request log can count them too.
std::string RouteId(std::string_view m, const std::vector<std::string>& s) {
  auto n = s.size();
  auto is = [&](size_t i, std::string_view v) { return i < n && s[i] == v; };
  if (n == 0) return "";
  if (s[0] == "emulator") return "emulator.admin";
  if (n == 1 && s[0] == "token") return m == "POST" ? "oauth2.token" : "";
  if (is(0, "computeMetadata")) return "metadata.get";
  if (auto id = SecretsRouteId(m, s); !id.empty()) return id;
  if (auto id = ResourceManagerRouteId(m, s); !id.empty()) return id;
  // Cloud SQL v1 (and v1beta4 under /sql/).
  size_t b = is(0, "sql") && is(1, "v1beta4") ? 1 : 0;
  if (is(b, "v1beta4") || (b == 0 && is(0, "v1"))) {
    if (is(b + 1, "projects") && n >= b + 4) {
      const auto& coll = s[b + 3];
      size_t rest = n - (b + 4);
      if (coll == "instances") {
        return MethodOf({{0, "GET", "sqladmin.instances.list"},
                         {1, "GET", "sqladmin.instances.get"},
                         {1, "PATCH", "sqladmin.instances.patch"},
                         {1, "PUT", "sqladmin.instances.update"}},
                        rest, m);
      } else if (coll == "operations") {
        return MethodOf(
            {{0, "GET", "sqladmin.operations.list"}, {1, "GET", "sqladmin.operations.get"}}, rest,
            m);
      } else if (coll == "locations" && b == 0 && n >= 6) {
        rest = n - 6;
        if (s[5] == "connectors") {
          return MethodOf({{0, "GET", "vpcaccess.connectors.list"},
                           {0, "POST", "vpcaccess.connectors.create"},
                           {1, "GET", "vpcaccess.connectors.get"},
                           {1, "PATCH", "vpcaccess.connectors.patch"},
                           {1, "DELETE", "vpcaccess.connectors.delete"}},
                          rest, m);
        } else if (s[5] == "operations") {
          return MethodOf(
              {{0, "GET", "vpcaccess.operations.list"}, {1, "GET", "vpcaccess.operations.get"}},
              rest, m);
        }
      }
    }
    if (b == 0 && is(1, "services") && n >= 4 && s[3] == "connections") {
      if (n == 4 && m == "GET") return "servicenetworking.connections.list";
      if (n == 4 && m == "POST") return "servicenetworking.connections.create";
      if (n == 5 && m == "PATCH") return "servicenetworking.connections.patch";
    }
    if (b == 0 && is(1, "operations") && n == 3 && m == "GET") return "servicenetworking.operations.get";
    return "";
  }
  if (s[0] == "v2" && is(1, "projects") && is(3, "locations") && n >= 6) {
    const auto& coll = s[5];
    size_t rest = n - 6;
    if (coll == "jobs") {
      if (rest == 1 && m == "POST" && s[6].ends_with(":run")) return "run.jobs.run";
      if (rest >= 2 && s[7] != "executions") return "";
      return MethodOf({{0, "GET", "run.jobs.list"},
                       {1, "GET", "run.jobs.get"},
                       {1, "PATCH", "run.jobs.patch"},
                       {2, "GET", "run.jobs.executions.list"},
                       {3, "GET", "run.jobs.executions.get"}},
                      rest, m);
    } else if (coll == "services") {
      return MethodOf({{0, "GET", "run.services.list"},
                       {1, "GET", "run.services.get"},
                       {1, "PATCH", "run.services.patch"}},
                      rest, m);
    } else if (coll == "operations") {
      if (rest == 1 && m == "GET") return "run.operations.get";
    }
    return "";
  }
  if (s[0] == "compute" && is(1, "v1") && is(2, "projects") && is(4, "regions") && n >= 7 &&
      (s[6] == "addresses" || s[6] == "forwardingRules" || s[6] == "operations")) {
    const std::string coll = s[6] == "addresses" ? "compute.addresses" : s[6] == "forwardingRules"
                                                                           ? "compute.forwardingRules"
                                                                           : "compute.regionOperations";
    if (coll == "compute.regionOperations") {
      if (n == 8 && m == "GET") return coll + ".get";
      if (n == 9 && m == "POST" && s[8] == "wait") return coll + ".wait";
      return "";
    }
    if (n == 7 && m == "GET") return coll + ".list";
    if (n == 7 && m == "POST") return coll + ".insert";
    if (n == 8 && m == "GET") return coll + ".get";
    return "";
  }
  if (s[0] == "compute" && is(1, "v1") && is(2, "projects") && is(4, "regions") && is(6, "subnetworks")) {
    if (n == 7 && m == "GET") return "compute.subnetworks.list";
    if (n == 8 && m == "GET") return "compute.subnetworks.get";
    return "";
  }
  if (s[0] == "compute" && is(1, "v1") && is(2, "projects") && is(4, "global") && n >= 6) {
    size_t rest = n - 6;
    if (s[5] == "addresses") {
      return MethodOf({{0, "GET", "compute.globalAddresses.list"},
                       {0, "POST", "compute.globalAddresses.insert"},
                       {1, "GET", "compute.globalAddresses.get"},
                       {1, "DELETE", "compute.globalAddresses.delete"}},
                      rest, m);
    } else if (s[5] == "operations") {
      if (rest == 1 && m == "GET") return "compute.globalOperations.get";
      if (rest == 2 && m == "POST" && s[7] == "wait") return "compute.globalOperations.wait";
    }
  }
  return "";
}

}  // namespace

json::array Page(const json::array& all, const std::string& page_size, const std::string& token,
                 std::string* next) {
  size_t start = 0, size = 500;
  if (!token.empty()) start = std::strtoul(token.c_str(), nullptr, 10);
  if (!page_size.empty()) size = std::max<size_t>(1, std::strtoul(page_size.c_str(), nullptr, 10));
  json::array out;
  for (size_t i = start; i < all.size() && out.size() < size; ++i) out.push_back(all[i]);
  if (start + out.size() < all.size()) *next = std::to_string(start + out.size());
  return out;
}

Emulator::Emulator(ModelOptions options, SchemaSet schemas)
    : options_(std::move(options)), schemas_(std::move(schemas)), rng_(options_.random_seed) {
  if (options_.connect_timeout.count() == 0) options_.connect_timeout = options_.op_delay * 3;
}

StatusOr<std::unique_ptr<Emulator>> Emulator::Create(ModelOptions options) {
  auto schemas = SchemaSet::LoadEmbedded();
  if (!schemas.ok()) return schemas.status();
  std::unique_ptr<Emulator> e(new Emulator(std::move(options), std::move(*schemas)));
  Status s = e->Seed(e->options_.seed);
  if (!s.ok()) return s;
  return e;
}

Status Emulator::Seed(std::string_view seed) {
  return Handlers::ApplySeed(*this, seed, ToMs(Clock::now() + clock_offset_));
}

Status Emulator::LoadState(std::string_view json_text) {
  boost::system::error_code ec;
  json::value v = json::parse(json_text, ec);
  if (ec) return DataLossError("state is not valid JSON: " + ec.message());
  if (!v.is_object() || !v.as_object().contains("projects")) {
    return DataLossError("state is not an emulator state document (no \"projects\")");
  }
  state_ = std::move(v.as_object());
  ++generation_;
  return OkStatus();
}

std::string Emulator::DumpState() const { return json::serialize(state_); }

std::string Emulator::RouteKey(std::string_view method, std::string_view target) {
  Target t = ParseTarget(target);
  std::string id = RouteId(method, t.segs);
  return id.empty() ? std::string() : std::string(method) + " " + id;
}

Status Emulator::RegisterServiceAccount(std::string client_email, std::string public_key_pem) {
  DBCONND_RETURN_IF_ERROR(CheckPublicKey(public_key_pem));
  auto* auth = ObjAt(state_, "auth");
  (*ObjAt(*auth, "serviceAccounts"))[client_email] = public_key_pem;
  ++generation_;
  return OkStatus();
}

void Emulator::RegisterOAuthClient(std::string client_id, std::string client_secret,
                                   std::string refresh_token) {
  auto* auth = ObjAt(state_, "auth");
  // Secrets are stored hashed: the state file is not a credential store.
  (*ObjAt(*auth, "clients"))[client_id] =
      json::object{{"secretSha256", Sha256Hex(client_secret)},
                   {"refreshTokenSha256", Sha256Hex(refresh_token)}};
  ++generation_;
}

void Emulator::Tick(TimePoint now_tp) {
  int64_t now = ToMs(now_tp + clock_offset_);
  auto* pending_v = state_.if_contains("pending");
  if (!pending_v || !pending_v->is_array()) return;
  auto& pending = pending_v->as_array();
  // Oldest first, so effects on one resource apply in request order.
  for (;;) {
    size_t best = pending.size();
    int64_t best_due = 0;
    for (size_t i = 0; i < pending.size(); ++i) {
      auto& p = pending[i].as_object();
      int64_t due = p["doneAt"].to_number<int64_t>();
      if (!p.contains("running") && p["runningAt"].to_number<int64_t>() <= now) {
        p["running"] = true;
        Handlers::MarkRunning(*this, p, p["runningAt"].to_number<int64_t>());
        ++generation_;
      }
      if (due <= now && (best == pending.size() || due < best_due)) {
        best = i;
        best_due = due;
      }
    }
    if (best == pending.size()) break;
    json::object effect = pending[best].as_object();
    pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(best));
    Handlers::Complete(*this, effect, best_due);
    ++generation_;
  }
}

FaultDecision Emulator::DecideFaults(const net::HttpRequest& request) {
  FaultDecision d;
  Target t = ParseTarget(request.url);
  std::string id = RouteId(request.method, t.segs);
  if (id.empty() || id == "emulator.admin") return d;
  d.route = request.method + " " + id;
  ++counts_[d.route];
  // A Compute requestId is part of the entry: the log shows whether a
  // resend carried the same one. So is an updateMask: the log shows which fields a PATCH named.
  std::string request_id = t.Query("requestId");
  std::string update_mask = t.Query("updateMask");
  recent_.push_back(d.route + " " + t.path +
                    (update_mask.empty() ? "" : " updateMask=" + update_mask.substr(0, 256)) +
                    (request_id.empty() ? "" : " requestId=" + request_id.substr(0, 64)));
  if (recent_.size() > 200) recent_.erase(recent_.begin());
  for (auto& fv : faults_) {
    auto& f = fv.as_object();
    std::string route = Str(f, "route");
    bool match = route.empty() || route == "*" || route == d.route || route == id;
    if (!match) continue;
    if (auto* c = f.if_contains("count"); c && c->to_number<int64_t>() <= 0) continue;
    bool fired = false;
    if (auto* l = f.if_contains("latencyMs")) {
      d.latency += std::chrono::milliseconds(l->to_number<int64_t>());
      fired = true;
    }
    if (auto* s = f.if_contains("status")) {
      double rate = 1.0;
      if (auto* r = f.if_contains("rate")) rate = r->to_number<double>();
      if (std::uniform_real_distribution<double>(0, 1)(rng_) < rate) {
        // A number is an HTTP error; "drop" closes the connection before the
        // request is processed, "apply-drop" after it was applied.
        if (s->is_string() && s->as_string() == "drop") {
          d.reset = true;
        } else if (s->is_string() && s->as_string() == "apply-drop") {
          d.apply_then_drop = true;
        } else if (s->is_number()) {
          d.status = static_cast<int>(s->to_number<int64_t>());
        }
        fired = true;
      }
    }
    if (auto* r = f.if_contains("reset"); r && r->is_bool() && r->as_bool()) {
      d.reset = true;
      fired = true;
    }
    if (auto* sb = f.if_contains("slowBodyMs")) {
      d.slow_body += std::chrono::milliseconds(sb->to_number<int64_t>());
      fired = true;
    }
    if (f.contains("operationError")) {
      state_["nextOpError"] = f["operationError"];
      fired = true;
    }
    if (auto* c = f.if_contains("count"); c && fired) f["count"] = c->to_number<int64_t>() - 1;
  }
  return d;
}

net::HttpResponse Emulator::Handle(const net::HttpRequest& request, TimePoint now_tp) {
  Tick(now_tp);
  Handlers h{*this, ToMs(now_tp + clock_offset_), request, ParseTarget(request.url)};
  std::string id = RouteId(request.method, h.t.segs);
  h.route = request.method + " " + id;
  try {
    auto resp = h.Dispatch(id);
    state_.erase("nextOpError");
    return resp;
  } catch (const std::exception& ex) {
    state_.erase("nextOpError");
    // A malformed state edit must not take the emulator down.
    return ErrorResponse(500, "INTERNAL", std::string("emulator error: ") + ex.what(), "backendError");
  }
}

// ---------------------------------------------------------------------------
// Shared helpers

json::object& Handlers::Map(std::string_view api, std::string_view kind) {
  return *ObjAt(*ObjAt(e.state_, api), kind);
}

std::string Handlers::NextId() {
  auto* counters = ObjAt(e.state_, "counters");
  int64_t seq = 1;
  if (auto* s = counters->if_contains("seq")) seq = s->to_number<int64_t>() + 1;
  (*counters)["seq"] = seq;
  return std::to_string(seq);
}

std::string Handlers::Uuid() {
  int64_t seq = std::stoll(NextId());
  char buf[48];
  std::snprintf(buf, sizeof buf, "%08llx-e3a1-4c2b-9d7f-%012llx",
                static_cast<unsigned long long>(now / 1000) & 0xffffffffULL,
                static_cast<unsigned long long>(seq));
  return buf;
}

std::string Handlers::ProjectNumber(const std::string& p) {
  auto& projects = e.state_["projects"].as_object();
  if (auto* pr = projects.if_contains(p)) return Str(pr->as_object(), "projectNumber");
  for (const auto& [id, pr] : projects) {
    if (Str(pr.as_object(), "projectNumber") == p) return p;
  }
  return "";
}

std::string Handlers::ProjectId(const std::string& p) {
  auto& projects = e.state_["projects"].as_object();
  if (projects.contains(p)) return p;
  for (const auto& [id, pr] : projects) {
    if (Str(pr.as_object(), "projectNumber") == p) return std::string(id);
  }
  return "";
}

StatusOr<json::value> Handlers::RawBody() {
  if (req.body.empty()) return json::value(json::object{});
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec) {
    return InvalidArgumentError("Invalid JSON payload received. " + ec.message()).WithHttpStatus(400).WithReason("parseError");
  }
  if (!v.is_object()) {
    return InvalidArgumentError("Invalid JSON payload received. Expected an object.").WithHttpStatus(400).WithReason("parseError");
  }
  return v;
}

StatusOr<json::value> Handlers::Body(std::string_view api, std::string_view schema) {
  auto raw = RawBody();
  if (!raw.ok()) return raw.status();
  return e.schemas_.CheckRequest(api, schema, *raw);
}

void Handlers::Schedule(json::object effect, std::chrono::milliseconds delay) {
  effect["runningAt"] = now + delay.count() / 2;
  effect["doneAt"] = now + delay.count();
  std::string err = TakeOpError();
  if (!err.empty()) effect["fail"] = err;
  auto& pending = e.state_["pending"];
  if (!pending.is_array()) pending = json::array{};
  pending.as_array().push_back(std::move(effect));
}

bool Handlers::HasPendingFor(std::string_view target_key) {
  auto* p = e.state_.if_contains("pending");
  if (!p || !p->is_array()) return false;
  for (const auto& v : p->as_array()) {
    if (Str(v.as_object(), "target") == target_key) return true;
  }
  return false;
}

std::string Handlers::TakeOpError() {
  auto* v = e.state_.if_contains("nextOpError");
  if (!v) return "";
  std::string s = v->is_string() ? std::string(v->as_string()) : std::string("operation failed");
  e.state_.erase("nextOpError");
  return s;
}

json::object Handlers::LroOperation(const std::string& name, std::string_view metadata_type,
                                    json::value metadata) {
  if (metadata.is_object()) metadata.as_object()["@type"] = metadata_type;
  return json::object{{"name", name}, {"metadata", std::move(metadata)}, {"done", false}};
}

void Handlers::MarkRunning(Emulator& e, json::object& effect, int64_t at) {
  std::string kind = Str(effect, "kind");
  if (kind.starts_with("sql.")) {
    auto& ops = (*ObjAt(*ObjAt(e.state_, "sql"), "operations"));
    if (auto* op = ops.if_contains(Str(effect, "op"))) {
      op->as_object()["status"] = "RUNNING";
      op->as_object()["startTime"] = Rfc3339(at);
    }
  } else if (kind.starts_with("compute.")) {
    auto& ops = (*ObjAt(*ObjAt(e.state_, "compute"), "operations"));
    if (auto* op = ops.if_contains(Str(effect, "op"))) {
      op->as_object()["status"] = "RUNNING";
      op->as_object()["progress"] = 50;
      op->as_object()["startTime"] = Rfc3339(at);
    }
  }
}

void Handlers::Complete(Emulator& e, json::object& effect, int64_t at) {
  std::string kind = Str(effect, "kind");
  if (kind.starts_with("sql.")) return CompleteSql(e, effect, at);
  if (kind.starts_with("run.")) return CompleteRun(e, effect, at);
  CompleteNetwork(e, effect, at);
}

// ---------------------------------------------------------------------------
// Routing

net::HttpResponse Handlers::Dispatch(const std::string& id) {
  if (id == "emulator.admin") return Admin();
  if (id == "oauth2.token") return Token();
  if (id == "metadata.get") return Metadata();
  if (id.empty()) {
    return ErrorResponse(404, "NOT_FOUND", "The requested URL " + t.path + " was not found on this server.",
                         "notFound");
  }
  if (auto denied = CheckAuth()) return *denied;
  if (id == "sqladmin.instances.list") return SqlInstancesList();
  if (id == "sqladmin.instances.get") return SqlInstancesGet();
  if (id == "sqladmin.instances.patch") return SqlInstancesPatch();
  if (id == "sqladmin.operations.get") return SqlOperationsGet();
  if (id == "sqladmin.operations.list") return SqlOperationsList();
  if (id == "run.jobs.list") return RunList("jobs");
  if (id == "run.jobs.get") return RunGet("jobs");
  if (id == "run.jobs.patch") return RunPatch("jobs");
  if (id == "run.jobs.run") return RunJobRun();
  if (id == "run.jobs.executions.get") return RunGet("executions");
  if (id == "run.jobs.executions.list") return RunExecutionsList();
  if (id == "run.services.list") return RunList("services");
  if (id == "run.services.get") return RunGet("services");
  if (id == "run.services.patch") return RunPatch("services");
  if (id == "run.operations.get") return RunOperationsGet();
  if (id == "vpcaccess.connectors.list") return VpcList();
  if (id == "vpcaccess.connectors.get") return VpcGet();
  if (id == "vpcaccess.connectors.create") return VpcCreate();
  if (id == "vpcaccess.connectors.patch") return VpcPatch();
  if (id == "vpcaccess.connectors.delete") return VpcDelete();
  if (id == "vpcaccess.operations.get") return VpcOperationsGet();
  if (id == "vpcaccess.operations.list") return VpcOperationsList();
  if (id == "servicenetworking.connections.list") return SnList();
  if (id == "servicenetworking.connections.create") return SnCreate();
  if (id == "servicenetworking.connections.patch") return SnPatch();
  if (id == "servicenetworking.operations.get") return SnOperationsGet();
  if (id == "compute.globalAddresses.list") return ComputeList();
  if (id == "compute.globalAddresses.get") return ComputeGet();
  if (id == "compute.globalAddresses.insert") return ComputeInsert();
  if (id == "compute.globalAddresses.delete") return ComputeDelete();
  if (id == "compute.addresses.list") return RegionAddressesList();
  if (id == "compute.addresses.get") return RegionAddressesGet();
  if (id == "compute.addresses.insert") return RegionAddressesInsert();
  if (id == "compute.forwardingRules.list") return ForwardingRulesList();
  if (id == "compute.forwardingRules.get") return ForwardingRulesGet();
  if (id == "compute.forwardingRules.insert") return ForwardingRulesInsert();
  if (id == "compute.regionOperations.get" || id == "compute.regionOperations.wait") return RegionOperationsGet();
  if (id == "compute.subnetworks.get") return SubnetworksGet();
  if (id == "compute.subnetworks.list") return SubnetworksList();
  if (id == "compute.globalOperations.get" || id == "compute.globalOperations.wait") {
    return ComputeOperationsGet();
  }
  if (auto r = DispatchSecrets(id)) return *r;
  return ErrorResponse(501, "UNIMPLEMENTED", "Method " + id + " is not implemented by the emulator.",
                       "notImplemented");
}

// ---------------------------------------------------------------------------
// Auth

std::optional<net::HttpResponse> Handlers::CheckAuth() {
  if (e.options_.no_auth) return std::nullopt;
  const std::string* h = req.FindHeader("Authorization");
  std::string token;
  if (h && h->size() > 7 && (h->starts_with("Bearer ") || h->starts_with("bearer "))) token = h->substr(7);
  if (!token.empty()) {
    if (!e.options_.accept_token.empty() && token == e.options_.accept_token) return std::nullopt;
    auto* tokens = Find(e.state_, {"auth", "tokens"});
    if (tokens && tokens->is_object()) {
      if (auto* rec = tokens->as_object().if_contains(Sha256Hex(token))) {
        if (rec->as_object().at("expiresAt").to_number<int64_t>() > now) return std::nullopt;
      }
    }
  }
  auto r = ErrorResponse(401, "UNAUTHENTICATED",
                         "Request had invalid authentication credentials. Expected OAuth 2 access "
                         "token, login cookie or other valid authentication credential. See "
                         "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                         "authError", "global", "Authorization", "header");
  r.SetHeader("WWW-Authenticate", "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"");
  return r;
}

namespace {
net::HttpResponse OAuthError(int http, std::string_view error, std::string_view description) {
  return JsonResponse(http, json::object{{"error", error}, {"error_description", description}});
}
}  // namespace

net::HttpResponse Handlers::Token() {
  auto form = ParseForm(req.body);
  std::string grant = form["grant_type"];
  std::string subject;
  if (grant == "urn:ietf:params:oauth:grant-type:jwt-bearer") {
    const std::string& assertion = form["assertion"];
    auto peek = PeekClaims(assertion);
    if (!peek.ok()) return OAuthError(400, "invalid_grant", "Invalid JWT: " + peek.status().message());
    std::string iss = Str(*peek, "iss");
    auto* key = Find(e.state_, {"auth", "serviceAccounts", iss});
    if (!key) return OAuthError(400, "invalid_grant", "Invalid JWT Signature.");
    auto claims = VerifyRs256(assertion, Str(key));
    if (!claims.ok()) return OAuthError(400, "invalid_grant", claims.status().message());
    std::vector<std::string> audiences = e.audiences_;
    if (const std::string* host = req.FindHeader("Host")) {
      audiences.push_back("http://" + *host + "/token");
      audiences.push_back("https://" + *host + "/token");
    }
    std::string aud = Str(*claims, "aud");
    if (std::find(audiences.begin(), audiences.end(), aud) == audiences.end()) {
      return OAuthError(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim. (aud mismatch)");
    }
    const auto* iat_v = claims->if_contains("iat");
    const auto* exp_v = claims->if_contains("exp");
    if (!iat_v || !exp_v || !iat_v->is_number() || !exp_v->is_number()) {
      return OAuthError(400, "invalid_grant", "Invalid JWT: iat and exp are required.");
    }
    int64_t iat = iat_v->to_number<int64_t>(), exp = exp_v->to_number<int64_t>();
    int64_t now_s = now / 1000;
    if (exp - iat > 3600 || exp <= now_s || iat > now_s + 60 || exp < iat) {
      return OAuthError(400, "invalid_grant",
                        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                        "reasonable timeframe. Check your iat and exp values in the JWT claim.");
    }
    subject = iss;
  } else if (grant == "refresh_token") {
    auto* client = Find(e.state_, {"auth", "clients", form["client_id"]});
    if (!client || Str(Find(*client, {"secretSha256"})) != Sha256Hex(form["client_secret"])) {
      return OAuthError(401, "invalid_client", "The OAuth client was not found.");
    }
    if (Str(Find(*client, {"refreshTokenSha256"})) != Sha256Hex(form["refresh_token"])) {
      return OAuthError(400, "invalid_grant", "Bad Request");
    }
    subject = form["client_id"];
  } else {
    return OAuthError(400, "unsupported_grant_type", "Invalid grant_type: " + grant);
  }
  std::string token = MintToken();
  auto* tokens = ObjAt(*ObjAt(e.state_, "auth"), "tokens");
  // Forget expired tokens so the state does not grow without bound.
  for (auto it = tokens->begin(); it != tokens->end();) {
    if (it->value().as_object()["expiresAt"].to_number<int64_t>() <= now) {
      it = tokens->erase(it);
    } else {
      ++it;
    }
  }
  (*tokens)[Sha256Hex(token)] = json::object{{"subject", subject}, {"expiresAt", now + 3600 * 1000}};
  Touch();
  json::object out{{"access_token", token}, {"expires_in", 3599}, {"token_type", "Bearer"}};
  if (grant == "refresh_token") out["scope"] = "https://www.googleapis.com/auth/cloud-platform";
  return JsonResponse(200, out);
}

net::HttpResponse Handlers::Metadata() {
  const std::string* flavor = req.FindHeader("Metadata-Flavor");
  if (!flavor || *flavor != "Google") {
    net::HttpResponse r;
    r.status = 403;
    r.SetHeader("Content-Type", "text/html; charset=UTF-8");
    r.body = "Missing required header: Metadata-Flavor\n";
    return r;
  }
  net::HttpResponse r;
  r.SetHeader("Metadata-Flavor", "Google");
  r.SetHeader("Content-Type", "application/text");
  std::string rest = t.path.substr(std::string("/computeMetadata/v1/").size() < t.path.size()
                                       ? std::string("/computeMetadata/v1/").size()
                                       : t.path.size());
  std::string first_project;
  for (const auto& [id, p] : e.state_["projects"].as_object()) {
    first_project = std::string(id);
    break;
  }
  if (rest == "instance/service-accounts/default/token") {
    std::string token = MintToken();
    (*ObjAt(*ObjAt(e.state_, "auth"), "tokens"))[Sha256Hex(token)] =
        json::object{{"subject", "default"}, {"expiresAt", now + 3600 * 1000}};
    Touch();
    return JsonResponse(200, json::object{{"access_token", token}, {"expires_in", 3599}, {"token_type", "Bearer"}});
  }
  if (rest == "project/project-id") {
    r.body = first_project;
    return r;
  }
  if (rest == "instance/region") {
    r.body = "projects/" + ProjectNumber(first_project) + "/regions/us-central1";
    return r;
  }
  if (rest == "instance/service-accounts/default/email") {
    r.body = ProjectNumber(first_project) + "-compute@developer.gserviceaccount.com";
    return r;
  }
  r.status = 404;
  r.body = "Not Found\n";
  return r;
}

// ---------------------------------------------------------------------------
// Admin API (/emulator/...): no auth, local use only.

net::HttpResponse Handlers::Admin() {
  std::string sub = t.segs.size() > 1 ? t.segs[1] : "";
  if (t.segs.size() > 2) sub += "/" + t.segs[2];
  const std::string& m = req.method;
  auto body = RawBody();
  if (!body.ok()) return ErrorFromStatus(body.status());
  json::object& b = body->as_object();
  if (sub == "state" && m == "GET") {
    net::HttpResponse r = JsonResponse(200, e.state_);
    return r;
  }
  if (sub == "reset" && m == "POST") {
    std::string seed = Str(b, "seed");
    Status s = ApplySeed(e, seed.empty() ? e.options_.seed : seed, now);
    if (!s.ok()) return ErrorFromStatus(s);
    e.faults_.clear();
    e.counts_.clear();
    e.recent_.clear();
    e.mutations_.clear();
    return JsonResponse(200, json::object{{"seed", seed.empty() ? e.options_.seed : seed}});
  }
  if (sub == "requests" && m == "GET") {
    json::object counts;
    for (const auto& [k, v] : e.counts_) counts[k] = v;
    json::array recent;
    for (const auto& r : e.recent_) recent.push_back(json::string(r));
    json::object mutations;
    for (const auto& [k, v] : e.mutations_) mutations[k] = v;
    // Executions that exist, per job (full name): what a test checks for
    // "ran once". Not cleared with the log: it is state.
    json::object executions;
    for (const auto& [name, ex] : Map("run", "executions")) {
      std::string_view n = name;
      auto cut = n.find("/executions/");
      if (cut == std::string_view::npos) continue;
      std::string job(n.substr(0, cut));
      executions[job] = (executions.contains(job) ? executions[job].to_number<int64_t>() : 0) + 1;
    }
    return JsonResponse(200, json::object{{"counts", counts},
                                          {"mutations", mutations},
                                          {"executions", executions},
                                          {"recent", recent}});
  }
  if (sub == "requests" && m == "DELETE") {
    e.counts_.clear();
    e.recent_.clear();
    e.mutations_.clear();
    return JsonResponse(200, json::object{});
  }
  if (sub == "faults") {
    if (m == "GET") return JsonResponse(200, json::object{{"faults", e.faults_}});
    if (m == "DELETE") {
      e.faults_.clear();
      return JsonResponse(200, json::object{{"faults", e.faults_}});
    }
    if (m == "POST") {
      // {"faults":[...]} replaces the plan; a single rule object is appended.
      if (auto* list = b.if_contains("faults"); list && list->is_array()) {
        e.faults_ = list->as_array();
      } else {
        e.faults_.push_back(b);
      }
      return JsonResponse(200, json::object{{"faults", e.faults_}});
    }
  }
  if (sub == "clock/advance" && m == "POST") {
    int64_t ms = 0;
    if (auto* v = b.if_contains("seconds")) ms += static_cast<int64_t>(v->to_number<double>() * 1000);
    if (auto* v = b.if_contains("ms")) ms += v->to_number<int64_t>();
    if (ms < 0) return ErrorResponse(400, "INVALID_ARGUMENT", "the clock only moves forward", "invalid");
    e.clock_offset_ += std::chrono::milliseconds(ms);
    e.Tick(TimePoint(std::chrono::milliseconds(now - e.clock_offset_.count() + ms)));
    return JsonResponse(200, json::object{{"now", Rfc3339(now + ms)},
                                          {"offsetMs", e.clock_offset_.count()}});
  }
  if (sub == "service-accounts" && m == "POST") {
    Status s = e.RegisterServiceAccount(Str(b, "client_email"), Str(b, "public_key_pem"));
    if (Str(b, "client_email").empty()) s = InvalidArgumentError("client_email is required");
    if (!s.ok()) return ErrorFromStatus(s);
    return JsonResponse(200, json::object{{"client_email", Str(b, "client_email")}});
  }
  if (sub == "oauth-clients" && m == "POST") {
    if (Str(b, "client_id").empty() || Str(b, "refresh_token").empty()) {
      return ErrorResponse(400, "INVALID_ARGUMENT", "client_id and refresh_token are required", "invalid");
    }
    e.RegisterOAuthClient(Str(b, "client_id"), Str(b, "client_secret"), Str(b, "refresh_token"));
    return JsonResponse(200, json::object{{"client_id", Str(b, "client_id")}});
  }
  if (sub == "edit" && m == "POST") {
    // Out-of-band changes, as a person with gcloud would make them.
    if (b.contains("instance")) {
      std::string project = Str(b, "project");
      if (project.empty()) {
        for (const auto& [id, p] : e.state_["projects"].as_object()) {
          project = std::string(id);
          break;
        }
      }
      auto& insts = Map("sql", "instances");
      auto* inst = insts.if_contains(project + "/" + Str(b, "instance"));
      if (!inst) return ErrorResponse(404, "NOT_FOUND", "no such instance", "notFound");
      json::object patch;
      if (auto* add = b.if_contains("addAuthorizedNetwork"); add && add->is_object()) {
        json::array nets;
        if (auto* cur = Find(*inst, {"settings", "ipConfiguration", "authorizedNetworks"}); cur && cur->is_array()) {
          nets = cur->as_array();
        }
        json::object entry = add->as_object();
        entry["kind"] = "sql#aclEntry";
        nets.push_back(entry);
        patch = json::object{{"settings", json::object{{"ipConfiguration", json::object{{"authorizedNetworks", nets}}}}}};
      }
      if (auto* mg = b.if_contains("merge"); mg && mg->is_object()) MergePatch(patch, mg->as_object());
      ApplySqlPatch(e, inst->as_object(), patch);
      Touch();
      return JsonResponse(200, *inst);
    }
    if (auto* add = b.if_contains("addSubnetwork"); add && add->is_object()) {
      // A subnetwork made by the network's owner (a Shared VPC host project):
      // {project, region, name, network, ipCidrRange}.
      const json::object& a = add->as_object();
      const std::string project = Str(a, "project"), region = Str(a, "region"), name = Str(a, "name");
      if (project.empty() || region.empty() || name.empty() || !ParseCidr(Str(a, "ipCidrRange"))) {
        return ErrorResponse(400, "INVALID_ARGUMENT", "addSubnetwork needs project, region, name, ipCidrRange",
                             "badRequest");
      }
      const std::string base = "https://www.googleapis.com/compute/v1/projects/" + project;
      std::string network = Str(a, "network").empty() ? "default" : Str(a, "network");
      json::object sn{{"kind", "compute#subnetwork"},
                      {"name", name},
                      {"network", base + "/global/networks/" + network},
                      {"ipCidrRange", Str(a, "ipCidrRange")},
                      {"region", base + "/regions/" + region},
                      {"selfLink", base + "/regions/" + region + "/subnetworks/" + name}};
      Map("compute", "subnetworks")[project + "/" + region + "/" + name] = sn;
      Touch();
      return JsonResponse(200, sn);
    }
    for (const char* kind : {"job", "service", "connector", "execution"}) {
      if (!b.contains(kind)) continue;
      std::string name = Str(b, kind);
      std::string api = std::string(kind) == "connector" ? "vpc" : "run";
      std::string coll = std::string(kind) + "s";
      auto& map = Map(api, coll);
      auto* res = map.if_contains(name);
      if (!res) return ErrorResponse(404, "NOT_FOUND", "no such " + std::string(kind) + " " + name, "notFound");
      if (auto* mg = b.if_contains("merge"); mg && mg->is_object()) MergePatch(res->as_object(), mg->as_object());
      if (api == "run" && coll != "executions") {
        auto& o = res->as_object();
        int64_t gen = std::stoll(Str(o, "generation").empty() ? "1" : Str(o, "generation")) + 1;
        o["generation"] = std::to_string(gen);
        o["observedGeneration"] = std::to_string(gen);
        o["etag"] = "\"" + Sha256Hex(name + std::to_string(gen) + std::to_string(now)).substr(0, 16) + "\"";
        o["updateTime"] = Rfc3339(now);
      }
      Touch();
      return JsonResponse(200, *res);
    }
    if (auto* path = b.if_contains("path"); path && path->is_array()) {
      // Generic: {"path":["vpc","connectors","projects/..."], "merge":{...}}.
      json::value* cur = &e.state_["projects"];
      cur = nullptr;
      json::object* obj = &e.state_;
      for (const auto& k : path->as_array()) {
        if (!k.is_string()) return ErrorResponse(400, "INVALID_ARGUMENT", "path elements are strings", "invalid");
        cur = obj->if_contains(k.as_string());
        if (!cur || !cur->is_object()) return ErrorResponse(404, "NOT_FOUND", "path not found", "notFound");
        obj = &cur->as_object();
      }
      if (auto* mg = b.if_contains("merge"); mg && mg->is_object()) MergePatch(*obj, mg->as_object());
      Touch();
      return JsonResponse(200, *obj);
    }
    return ErrorResponse(400, "INVALID_ARGUMENT", "edit needs instance, job, service, connector or path", "invalid");
  }
  return ErrorResponse(404, "NOT_FOUND", "unknown admin endpoint " + m + " " + t.path, "notFound");
}

}  // namespace dbconnd::emulator
