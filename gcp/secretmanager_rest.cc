// Secret Manager v1 and Cloud Resource Manager v3 over REST, read-only: a
// secret version's metadata and IAM policies, for the run-time prerequisite
// checks. Never versions.access.
#include "common/redact.h"
#include "gcp/json_util.h"
#include "gcp/rest_client.h"

namespace dbconnd::gcp {
namespace {

namespace json = boost::json;

// Bounds on what is kept of a policy: IAM caps a policy at 1,500 members.
constexpr std::size_t kMaxBindings = 1500;
constexpr std::size_t kMaxMembers = 1500;

IamPolicy ParsePolicy(const json::value& v) {
  IamPolicy out;
  if (!v.is_object()) return out;
  const auto* bindings = wire::Arr(v.get_object(), "bindings");
  if (!bindings) return out;
  std::size_t members = 0;
  for (const auto& b : *bindings) {
    if (!b.is_object() || out.bindings.size() >= kMaxBindings) continue;
    const auto& o = b.get_object();
    IamBinding binding;
    binding.role = wire::Str(o, "role");
    binding.conditional = wire::Obj(o, "condition") != nullptr;
    if (const auto* m = wire::Arr(o, "members")) {
      for (const auto& x : *m) {
        if (x.is_string() && members < kMaxMembers) {
          binding.members.emplace_back(x.get_string());
          ++members;
        }
      }
    }
    out.bindings.push_back(std::move(binding));
  }
  return out;
}

// "projects/P/secrets/S[/versions/V]" as path segments, each encoded.
std::string EncodePath(std::string_view name) {
  std::string out;
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t slash = name.find('/', start);
    const std::string_view seg =
        name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!out.empty()) out += "/";
    out += EncodeSegment(seg);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

SecretVersionInfo ParseVersion(const json::value& v) {
  SecretVersionInfo out;
  if (v.is_object()) {
    out.name = wire::Str(v.get_object(), "name");
    out.state = wire::Str(v.get_object(), "state");
  }
  return out;
}

class SecretManagerRest final : public SecretManager, RestStub {
 public:
  using RestStub::RestStub;

  Task<StatusOr<SecretVersionInfo>> GetSecretVersion(std::string name) override {
    return rest_->CallParsed(ReadCall(Api::kSecretManager, BuildUrl(root_, "v1/" + EncodePath(name)),
                                      "secretmanager versions.get " + name, "versions.get"),
                             ParseVersion);
  }

  Task<StatusOr<IamPolicy>> GetSecretIamPolicy(std::string secret) override {
    // GET with the version as a query parameter (REFERENCE.md §8.12).
    return rest_->CallParsed(
        ReadCall(Api::kSecretManager,
                 BuildUrl(root_, "v1/" + EncodePath(secret) + ":getIamPolicy",
                          {{"options.requestedPolicyVersion", "3"}}),
                 "secretmanager secrets.getIamPolicy " + secret, "secrets.getIamPolicy"),
        ParsePolicy);
  }

};

class ResourceManagerRest final : public ResourceManager, RestStub {
 public:
  using RestStub::RestStub;

  Task<StatusOr<IamPolicy>> GetProjectIamPolicy(std::string project) override {
    RestCall c = ReadCall(Api::kResourceManager,
                          BuildUrl(root_, "v3/projects/" + EncodeSegment(project) + ":getIamPolicy"),
                          "cloudresourcemanager projects.getIamPolicy " + project,
                          "projects.getIamPolicy");
    // A POST that reads: retried like a read.
    c.method = "POST";
    c.body = json::value(json::object{{"options", json::object{{"requestedPolicyVersion", 3}}}});
    return rest_->CallParsed(std::move(c), ParsePolicy);
  }

  // v3 projects.get: name = "projects/<number>" (v1's name is the display
  // name; REFERENCE.md §10).
  Task<StatusOr<ProjectInfo>> GetProject(std::string project) override {
    RestCall c =
        ReadCall(Api::kResourceManager, BuildUrl(root_, "v3/projects/" + EncodeSegment(project)),
                 "cloudresourcemanager projects.get " + project, "projects.get");
    auto reply = co_await rest_->Call(std::move(c));
    if (!reply.ok()) co_return reply.status();
    if (!reply->is_object()) co_return InternalError("projects.get: reply is not an object");
    const auto& o = reply->get_object();
    ProjectInfo info;
    info.project_id = wire::Str(o, "projectId");
    info.state = wire::Str(o, "state");
    const std::string name = wire::Str(o, "name");
    if (name.starts_with("projects/")) info.project_number = name.substr(9);
    bool digits = !info.project_number.empty() && info.project_number.size() <= 20;
    for (char ch : info.project_number) digits = digits && ch >= '0' && ch <= '9';
    if (!digits) {
      co_return InternalError("projects.get " + project + ": name " + CapForDisplay(name) +
                              " is not projects/<number>");
    }
    co_return info;
  }

};

}  // namespace

std::unique_ptr<SecretManager> MakeSecretManagerRest(std::shared_ptr<RestClient> rest,
                                                     std::string root) {
  return std::make_unique<SecretManagerRest>(std::move(rest), std::move(root));
}

std::unique_ptr<ResourceManager> MakeResourceManagerRest(std::shared_ptr<RestClient> rest,
                                                         std::string root) {
  return std::make_unique<ResourceManagerRest>(std::move(rest), std::move(root));
}

}  // namespace dbconnd::gcp
