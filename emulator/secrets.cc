// Secret Manager v1 (secrets, versions, the secret's IAM policy) and Cloud
// Resource Manager v3 (a project's IAM policy), as far as dbconnd reads them,
// plus the writes a test or seed needs to set them up. Google's shapes:
// names carry the project number in answers and take ID or number in
// requests; `latest` is the newest version whatever its state; a missing
// secret is 404; a project the caller cannot see is 403.
//
// State: sm.secrets[name] = Secret, sm.versions[secretName] = [SecretVersion],
// sm.payloads[versionName] = base64 data, sm.policies[secretName] = Policy,
// crm.policies[projectNumber] = Policy.

#include <algorithm>

#include "common/base64.h"
#include "emulator/handlers.h"

namespace dbconnd::emulator {
namespace {

constexpr size_t kMaxPayloadBase64 = 87384;  // 64 KiB of data, base64
constexpr size_t kMaxBindings = 1500;        // IAM's own cap on members per policy

bool ValidSecretId(std::string_view id) {
  if (id.empty() || id.size() > 255) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

net::HttpResponse NotFound(const std::string& what) {
  return ErrorResponse(404, "NOT_FOUND", what + " not found or has no versions.", "notFound");
}

net::HttpResponse ProjectDenied(const std::string& project) {
  return ErrorResponse(403, "PERMISSION_DENIED",
                       "Permission denied on resource project " + project + ".", "forbidden");
}

// Strips ":verb" from the last segment.
std::string WithoutVerb(const std::string& seg) { return seg.substr(0, seg.find(':')); }

Status CheckPolicy(const json::value& v) {
  if (!v.is_object()) return InvalidArgumentError("policy must be an object").WithHttpStatus(400);
  size_t members = 0;
  if (const auto* b = v.as_object().if_contains("bindings")) {
    if (!b->is_array()) return InvalidArgumentError("policy.bindings must be a list").WithHttpStatus(400);
    for (const auto& x : b->as_array()) {
      if (!x.is_object() || Str(x.as_object(), "role").rfind("roles/", 0) != 0) {
        return InvalidArgumentError("each binding needs a role \"roles/...\"").WithHttpStatus(400);
      }
      const auto* m = x.as_object().if_contains("members");
      if (!m || !m->is_array() || m->as_array().empty()) {
        return InvalidArgumentError("each binding needs members").WithHttpStatus(400);
      }
      members += m->as_array().size();
    }
  }
  if (members > kMaxBindings) {
    return InvalidArgumentError("The number of members in the policy exceeds the limit.").WithHttpStatus(400);
  }
  return OkStatus();
}

}  // namespace

// projects/{p}/secrets/{s}: the canonical name (project number), or "" when
// the project is unknown.
std::string Handlers::SecretName(const std::string& project, const std::string& secret) {
  const std::string number = ProjectNumber(project);
  if (number.empty()) return "";
  return "projects/" + number + "/secrets/" + secret;
}

net::HttpResponse Handlers::SmSecretCreate() {
  const std::string project = t.segs[2];
  const std::string id = t.Query("secretId");
  if (!ValidSecretId(id)) {
    return ErrorResponse(400, "INVALID_ARGUMENT",
                         "Secret ID must be 1-255 characters of letters, digits, '-' and '_'.",
                         "badRequest");
  }
  const std::string name = SecretName(project, id);
  if (name.empty()) return ProjectDenied(project);
  auto body = RawBody();
  if (!body.ok()) return ErrorFromStatus(body.status());
  const json::object& in = body->as_object();
  if (!in.contains("replication")) {
    return ErrorResponse(400, "INVALID_ARGUMENT", "Secret.replication is required.", "badRequest");
  }
  auto& secrets = Map("sm", "secrets");
  if (secrets.contains(name)) {
    return ErrorResponse(409, "ALREADY_EXISTS", "Secret [" + name + "] already exists.", "alreadyExists");
  }
  json::object s{{"name", name},
                 {"replication", in.at("replication")},
                 {"createTime", Rfc3339(now)},
                 {"etag", "\"" + NextId() + "\""}};
  if (const auto* labels = in.if_contains("labels")) s["labels"] = *labels;
  secrets[name] = s;
  Map("sm", "versions")[name] = json::array{};
  Touch();
  return JsonResponse(200, s);
}

net::HttpResponse Handlers::SmSecretGet() {
  const std::string name = SecretName(t.segs[2], WithoutVerb(t.segs[4]));
  if (name.empty()) return ProjectDenied(t.segs[2]);
  auto* s = Map("sm", "secrets").if_contains(name);
  if (!s) return NotFound("Secret [" + name + "]");
  return JsonResponse(200, *s);
}

net::HttpResponse Handlers::SmSecretAddVersion() {
  const std::string name = SecretName(t.segs[2], WithoutVerb(t.segs[4]));
  if (name.empty()) return ProjectDenied(t.segs[2]);
  if (!Map("sm", "secrets").contains(name)) return NotFound("Secret [" + name + "]");
  auto body = RawBody();
  if (!body.ok()) return ErrorFromStatus(body.status());
  const std::string data = Str(Find(*body, {"payload", "data"}));
  if (data.size() > kMaxPayloadBase64 || !Base64Decode(data)) {
    return ErrorResponse(400, "INVALID_ARGUMENT",
                         "SecretPayload.data must be base64 and at most 64 KiB.", "badRequest");
  }
  auto& list = Map("sm", "versions")[name];
  if (!list.is_array()) list = json::array{};
  const std::string vname = name + "/versions/" + std::to_string(list.as_array().size() + 1);
  json::object v{{"name", vname},
                 {"createTime", Rfc3339(now)},
                 {"state", "ENABLED"},
                 {"etag", "\"" + NextId() + "\""},
                 {"replicationStatus", json::object{{"automatic", json::object{}}}}};
  list.as_array().push_back(v);
  Map("sm", "payloads")[vname] = data;
  Touch();
  return JsonResponse(200, v);
}

json::object* Handlers::SmFindVersion(const std::string& secret_name, const std::string& version) {
  auto* list = Map("sm", "versions").if_contains(secret_name);
  if (!list || !list->is_array() || list->as_array().empty()) return nullptr;
  auto& arr = list->as_array();
  if (version == "latest") return &arr.back().as_object();
  for (auto& v : arr) {
    if (Str(v.as_object(), "name") == secret_name + "/versions/" + version) return &v.as_object();
  }
  return nullptr;
}

json::object* Handlers::SmRequestedVersion(net::HttpResponse* refusal) {
  const std::string name = SecretName(t.segs[2], t.segs[4]);
  if (name.empty()) {
    *refusal = ProjectDenied(t.segs[2]);
    return nullptr;
  }
  const std::string version = WithoutVerb(t.segs[6]);
  auto* v = SmFindVersion(name, version);
  if (!v) *refusal = NotFound("Secret Version [" + name + "/versions/" + version + "]");
  return v;
}

net::HttpResponse Handlers::SmVersionGet() {
  net::HttpResponse refusal;
  auto* v = SmRequestedVersion(&refusal);
  if (!v) return refusal;
  return JsonResponse(200, *v);
}

net::HttpResponse Handlers::SmVersionAccess() {
  net::HttpResponse refusal;
  auto* v = SmRequestedVersion(&refusal);
  if (!v) return refusal;
  const std::string vname = Str(*v, "name");
  const std::string state = Str(*v, "state");
  if (state != "ENABLED") {
    return ErrorResponse(400, "FAILED_PRECONDITION",
                         "Secret Version [" + vname + "] is in " + state + " state.",
                         "failedPrecondition");
  }
  const json::value* data = Map("sm", "payloads").if_contains(vname);
  return JsonResponse(200, json::object{{"name", vname},
                                        {"payload", json::object{{"data", Str(data)}}}});
}

net::HttpResponse Handlers::SmVersionDisable() {
  net::HttpResponse refusal;
  auto* v = SmRequestedVersion(&refusal);
  if (!v) return refusal;
  if (Str(*v, "state") == "DESTROYED") {
    return ErrorResponse(400, "FAILED_PRECONDITION", "Secret Version is in DESTROYED state.",
                         "failedPrecondition");
  }
  (*v)["state"] = "DISABLED";
  Touch();
  return JsonResponse(200, *v);
}

net::HttpResponse Handlers::SmGetIamPolicy() {
  const std::string name = SecretName(t.segs[2], WithoutVerb(t.segs[4]));
  if (name.empty()) return ProjectDenied(t.segs[2]);
  if (!Map("sm", "secrets").contains(name)) return NotFound("Secret [" + name + "]");
  const std::string requested = t.Query("options.requestedPolicyVersion");
  if (!requested.empty() && requested != "0" && requested != "1" && requested != "3") {
    return ErrorResponse(400, "INVALID_ARGUMENT", "Invalid requested policy version.", "badRequest");
  }
  auto* p = Map("sm", "policies").if_contains(name);
  // A secret without a policy answers with an empty Policy.
  return JsonResponse(200, p ? *p : json::value(json::object{{"etag", "ACAB"}}));
}

// setIamPolicy for Secret Manager ("sm") and Resource Manager ("crm"): the
// request's policy, checked, stored under `key` with a fresh etag.
net::HttpResponse Handlers::StorePolicy(const char* api, const std::string& key) {
  auto body = RawBody();
  if (!body.ok()) return ErrorFromStatus(body.status());
  const auto* policy = body->as_object().if_contains("policy");
  if (!policy) return ErrorResponse(400, "INVALID_ARGUMENT", "policy is required.", "badRequest");
  if (Status s = CheckPolicy(*policy); !s.ok()) return ErrorFromStatus(s);
  json::object p = policy->as_object();
  p["etag"] = "BwY" + NextId();
  if (!p.contains("version")) p["version"] = 1;
  Map(api, "policies")[key] = p;
  Touch();
  return JsonResponse(200, p);
}

net::HttpResponse Handlers::SmSetIamPolicy() {
  const std::string name = SecretName(t.segs[2], WithoutVerb(t.segs[4]));
  if (name.empty()) return ProjectDenied(t.segs[2]);
  if (!Map("sm", "secrets").contains(name)) return NotFound("Secret [" + name + "]");
  return StorePolicy("sm", name);
}

net::HttpResponse Handlers::CrmGetIamPolicy() {
  const std::string project = WithoutVerb(t.segs[2]);
  const std::string number = ProjectNumber(project);
  if (number.empty()) return ProjectDenied(project);
  auto body = RawBody();
  if (!body.ok()) return ErrorFromStatus(body.status());
  auto* p = Map("crm", "policies").if_contains(number);
  return JsonResponse(200, p ? *p : json::value(json::object{{"version", 1}, {"etag", "BwY="}}));
}

net::HttpResponse Handlers::CrmSetIamPolicy() {
  const std::string project = WithoutVerb(t.segs[2]);
  const std::string number = ProjectNumber(project);
  if (number.empty()) return ProjectDenied(project);
  return StorePolicy("crm", number);
}

// projects.get (v3): name = "projects/<number>", the number Service
// Networking and Secret Manager names use. Unknown projects are 403, as for
// getIamPolicy: Google does not say whether a project it won't show exists.
net::HttpResponse Handlers::CrmProjectGet() {
  const std::string project = t.segs[2];
  const std::string number = ProjectNumber(project);
  if (number.empty()) return ProjectDenied(project);
  const std::string id = ProjectId(number);
  return JsonResponse(200, json::object{{"name", "projects/" + number},
                                        {"projectId", id},
                                        {"displayName", id},
                                        {"state", "ACTIVE"},
                                        {"etag", "W/\"" + number + "\""},
                                        {"createTime", "2024-01-15T09:30:00.000Z"},
                                        {"updateTime", "2024-01-15T09:30:00.000Z"}});
}

std::string SecretsRouteId(std::string_view m, const std::vector<std::string>& s) {
  const size_t n = s.size();
  if (n < 4 || s[0] != "v1" || s[1] != "projects" || s[3] != "secrets") return "";
  if (n == 4) return m == "POST" ? "secretmanager.projects.secrets.create" : "";
  if (n == 5) {
    const std::string& last = s[4];
    if (last.ends_with(":addVersion")) return m == "POST" ? "secretmanager.projects.secrets.addVersion" : "";
    if (last.ends_with(":getIamPolicy")) return m == "GET" ? "secretmanager.projects.secrets.getIamPolicy" : "";
    if (last.ends_with(":setIamPolicy")) return m == "POST" ? "secretmanager.projects.secrets.setIamPolicy" : "";
    if (last.find(':') == std::string::npos && m == "GET") return "secretmanager.projects.secrets.get";
    return "";
  }
  if (n == 7 && s[5] == "versions") {
    const std::string& last = s[6];
    if (last.ends_with(":access")) return m == "GET" ? "secretmanager.projects.secrets.versions.access" : "";
    if (last.ends_with(":disable")) return m == "POST" ? "secretmanager.projects.secrets.versions.disable" : "";
    if (last.find(':') == std::string::npos && m == "GET") return "secretmanager.projects.secrets.versions.get";
  }
  return "";
}

std::string ResourceManagerRouteId(std::string_view m, const std::vector<std::string>& s) {
  if (s.size() != 3 || s[0] != "v3" || s[1] != "projects") return "";
  if (m == "GET" && s[2].find(':') == std::string::npos) return "cloudresourcemanager.projects.get";
  if (m != "POST") return "";
  if (s[2].ends_with(":getIamPolicy")) return "cloudresourcemanager.projects.getIamPolicy";
  if (s[2].ends_with(":setIamPolicy")) return "cloudresourcemanager.projects.setIamPolicy";
  return "";
}

std::optional<net::HttpResponse> Handlers::DispatchSecrets(const std::string& id) {
  if (id == "secretmanager.projects.secrets.create") return SmSecretCreate();
  if (id == "secretmanager.projects.secrets.get") return SmSecretGet();
  if (id == "secretmanager.projects.secrets.addVersion") return SmSecretAddVersion();
  if (id == "secretmanager.projects.secrets.getIamPolicy") return SmGetIamPolicy();
  if (id == "secretmanager.projects.secrets.setIamPolicy") return SmSetIamPolicy();
  if (id == "secretmanager.projects.secrets.versions.get") return SmVersionGet();
  if (id == "secretmanager.projects.secrets.versions.access") return SmVersionAccess();
  if (id == "secretmanager.projects.secrets.versions.disable") return SmVersionDisable();
  if (id == "cloudresourcemanager.projects.get") return CrmProjectGet();
  if (id == "cloudresourcemanager.projects.getIamPolicy") return CrmGetIamPolicy();
  if (id == "cloudresourcemanager.projects.setIamPolicy") return CrmSetIamPolicy();
  return std::nullopt;
}

void Handlers::SeedSecrets(json::object& state, const std::string& project_number,
                           const std::string& secret, const std::string& data_base64,
                           int64_t now) {
  const std::string name = "projects/" + project_number + "/secrets/" + secret;
  auto& sm = *ObjAt(state, "sm");
  (*ObjAt(sm, "secrets"))[name] = json::object{
      {"name", name},
      {"replication", json::object{{"automatic", json::object{}}}},
      {"createTime", Rfc3339(now - 86400000LL)},
      {"etag", "\"seed-1\""}};
  (*ObjAt(sm, "versions"))[name] = json::array{json::object{
      {"name", name + "/versions/1"},
      {"createTime", Rfc3339(now - 86400000LL)},
      {"state", "ENABLED"},
      {"etag", "\"seed-1\""},
      {"replicationStatus", json::object{{"automatic", json::object{}}}}}};
  (*ObjAt(sm, "payloads"))[name + "/versions/1"] = data_base64;
}

}  // namespace dbconnd::emulator
