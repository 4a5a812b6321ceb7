#include "reconcilers/prerequisites.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <set>
#include <string>

#include "reconcilers/credentials.h"
#include "reconcilers/db_url.h"

namespace dbconnd::reconcilers {
namespace {

namespace asio = boost::asio;

// Roles that hold secretmanager.versions.access (REFERENCE.md §9).
constexpr std::string_view kSecretReaders[] = {"roles/secretmanager.secretAccessor",
                                                "roles/secretmanager.admin", "roles/owner"};
// Roles that hold cloudsql.instances.connect.
constexpr std::string_view kSqlConnectors[] = {"roles/cloudsql.client", "roles/cloudsql.editor",
                                               "roles/cloudsql.admin", "roles/owner",
                                               "roles/editor"};

// "projects/P/secrets/S/versions/V" in full, "latest" when no version is given.
std::string VersionName(const SecretVersionRef& ref) {
  return ref.secret + "/versions/" + ref.version;
}

bool NeedsSecret(const config::Workload& w) {
  return !w.database.password_secret.empty() && w.database.user.find('@') == std::string::npos;
}

enum class Grant { kYes, kNo, kUnknown };

// Whether `member` holds one of `roles` unconditionally in `policy`. A
// conditional binding counts as held: its condition is not evaluated here.
Grant Holds(const StatusOr<gcp::IamPolicy>& policy, const std::string& member,
            const std::string_view* roles, std::size_t n) {
  if (!policy.ok()) return Grant::kUnknown;
  for (const auto& b : policy->bindings) {
    if (std::find(roles, roles + n, b.role) == roles + n) continue;
    if (std::find(b.members.begin(), b.members.end(), member) != b.members.end()) return Grant::kYes;
    if (std::find(b.members.begin(), b.members.end(), "allUsers") != b.members.end() ||
        std::find(b.members.begin(), b.members.end(), "allAuthenticatedUsers") != b.members.end()) {
      return Grant::kYes;
    }
  }
  return Grant::kNo;
}

// The placeholder of an answer whose read has not come back.
Status NotRead() { return InternalError("not read"); }

// One read, its answer put in the place the caller made for it (which
// outlives the read: the caller waits for every read it started).
template <typename T, typename Api>
gcp::Task<void> ReadInto(Api* api, gcp::Task<StatusOr<T>> (Api::*get)(std::string),
                         std::string key, StatusOr<T>* answer) {
  *answer = co_await (api->*get)(key);
}

using ReadOp = decltype(asio::co_spawn(std::declval<asio::any_io_executor>(),
                                       std::declval<gcp::Task<void>>(), asio::deferred));

// Fills `answer` with what the memo kept, or queues in `reads` the read
// that fills it.
template <typename T, typename Api>
void TakeOrRead(std::optional<StatusOr<T>> kept, StatusOr<T>* answer, Api* api,
                gcp::Task<StatusOr<T>> (Api::*get)(std::string), std::string key,
                const asio::any_io_executor& ex, std::vector<ReadOp>& reads) {
  if (kept) {
    *answer = std::move(*kept);
    return;
  }
  reads.push_back(asio::co_spawn(ex, ReadInto(api, get, std::move(key), answer), asio::deferred));
}

std::string Why(const Status& s) {
  return s.code() == StatusCode::kPermissionDenied ? "dbconnd lacks the permission to look"
                                                   : "the read failed: " + s.message();
}

}  // namespace

gcp::Task<PrerequisiteFacts> GatherPrerequisites(gcp::Clients clients, const config::Intent* intent,
                                                 PrerequisiteMemo* memo) {
  PrerequisiteFacts facts;
  if (!clients.secrets || !clients.resource_manager) co_return facts;
  // What to read: each distinct version and secret once, the project when
  // a check needs it. Every answer has its place before any read starts;
  // what the memo keeps is filled now.
  auto ex = co_await asio::this_coro::executor;
  std::vector<ReadOp> reads;
  bool project_needed = false;
  for (const auto& w : intent->workloads) {
    if (w.method == config::ConnectionMethod::kCloudSqlSocket) project_needed = true;
    if (!NeedsSecret(w)) continue;
    project_needed = true;
    const SecretVersionRef ref = ParseSecretVersion(w.database.password_secret);
    const std::string version = VersionName(ref);
    if (!facts.versions.contains(version)) {
      TakeOrRead(memo ? memo->KeptVersion(version) : std::nullopt,
                 &facts.versions.emplace(version, NotRead()).first->second, clients.secrets,
                 &gcp::SecretManager::GetSecretVersion, version, ex, reads);
    }
    if (!facts.secret_policies.contains(ref.secret)) {
      TakeOrRead(memo ? memo->KeptSecretPolicy(ref.secret) : std::nullopt,
                 &facts.secret_policies.emplace(ref.secret, NotRead()).first->second,
                 clients.secrets, &gcp::SecretManager::GetSecretIamPolicy, ref.secret, ex, reads);
    }
  }
  if (project_needed) {
    TakeOrRead(memo ? memo->KeptProjectPolicy(intent->project) : std::nullopt,
               &facts.project_policy.emplace(NotRead()), clients.resource_manager,
               &gcp::ResourceManager::GetProjectIamPolicy, intent->project, ex, reads);
  }

  // The reads are independent: all in flight at once, the pass waits for
  // the slowest rather than for their sum. None when the memo kept every
  // answer (a resync's usual case).
  if (!reads.empty()) {
    auto group = asio::experimental::make_parallel_group(std::move(reads));
    auto [order, errors] =
        co_await group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (const std::exception_ptr& e : errors) {
      if (e) std::rethrow_exception(e);
    }
  }
  co_return facts;
}

std::vector<Diagnosis> DiagnosePrerequisites(const config::Intent& in, const LiveState& live) {
  std::vector<Diagnosis> out;
  if (!live.prerequisites) return out;
  const PrerequisiteFacts& facts = *live.prerequisites;
  const DbEngine engine = EngineOfVersion(live.instance ? live.instance->database_version : "");
  for (const auto& w : in.workloads) {
    const bool job = w.kind == config::WorkloadKind::kJob;
    const auto& all = job ? live.jobs : live.services;
    auto found = all.find(w.name);
    if (found == all.end()) continue;
    const ResourceRef ref{job ? ResourceKind::kJob : ResourceKind::kService, w.name};
    const std::string who = std::string(job ? "job " : "service ") + w.name;
    const std::string sa =
        !found->second.service_account.empty()
            ? found->second.service_account
            : (in.project_number.empty() ? std::string("PROJECT_NUMBER")
                                         : in.project_number) +
                  "-compute@developer.gserviceaccount.com";
    const std::string member = "serviceAccount:" + sa;
    const bool iam = IsIamUser(engine, w.database, in.instance.iam_authentication == true);

    if (!iam && !w.database.password_secret.empty()) {
      const auto ref_parts = ParseSecretVersion(w.database.password_secret);
      const std::string version = VersionName(ref_parts);
      const std::string short_secret = ref_parts.secret.substr(ref_parts.secret.rfind('/') + 1);
      if (auto v = facts.versions.find(version); v != facts.versions.end()) {
        if (!v->second.ok() && v->second.status().code() == StatusCode::kNotFound) {
          out.push_back({"secret-version-missing", ref,
                         who + ": secret version " + version +
                             " does not exist: Cloud Run refuses to start the container",
                         "create it: gcloud secrets create " + short_secret +
                             " (if needed), then gcloud secrets versions add " + short_secret +
                             " --data-file=- --project " + in.project});
        } else if (!v->second.ok()) {
          out.push_back({"secret-version-unknown", ref,
                         who + ": whether secret version " + version + " exists is unknown (" +
                             Why(v->second.status()) + ")",
                         "grant dbconnd's identity roles/secretmanager.viewer on secret " +
                             short_secret + ", or check it by hand"});
        } else if (v->second->state != "ENABLED") {
          out.push_back({"secret-version-disabled", ref,
                         who + ": secret version " + version + " is " + v->second->state +
                             ": reading it fails",
                         "enable it (gcloud secrets versions enable) or add a new version"});
        }
      }
      if (auto p = facts.secret_policies.find(ref_parts.secret); p != facts.secret_policies.end()) {
        const Grant on_secret = Holds(p->second, member, std::begin(kSecretReaders),
                                      std::size(kSecretReaders));
        Grant on_project = Grant::kUnknown;
        if (facts.project_policy) {
          on_project = Holds(*facts.project_policy, member, std::begin(kSecretReaders),
                             std::size(kSecretReaders));
        }
        if (on_secret != Grant::kYes && on_project != Grant::kYes) {
          if (on_secret == Grant::kNo && on_project == Grant::kNo) {
            out.push_back(
                {"secret-access-missing", ref,
                 who + " runs as " + sa + ", which holds no role that reads secret " +
                     short_secret + " (no secretAccessor binding on the secret or project; "
                     "custom roles are not evaluated): the container cannot start",
                 "gcloud secrets add-iam-policy-binding " + short_secret + " --project " +
                     in.project + " --member " + member +
                     " --role roles/secretmanager.secretAccessor"});
          } else {
            out.push_back({"secret-access-unknown", ref,
                           who + ": whether " + sa + " may read secret " + short_secret +
                               " is unknown (" +
                               Why(!p->second.ok() ? p->second.status()
                                   : facts.project_policy && !facts.project_policy->ok()
                                       ? facts.project_policy->status()
                                       : PermissionDeniedError("no project policy")) +
                               ")",
                           "grant dbconnd's identity roles/iam.securityReviewer, or check the "
                           "secret's and project's IAM policies by hand"});
          }
        }
      }
    }

    if (w.method == config::ConnectionMethod::kCloudSqlSocket && facts.project_policy) {
      const Grant g = Holds(*facts.project_policy, member, std::begin(kSqlConnectors),
                            std::size(kSqlConnectors));
      if (g == Grant::kNo) {
        out.push_back({"cloudsql-client-missing", ref,
                       who + " runs as " + sa + ", which holds no Cloud SQL Client role on "
                             "project " + in.project + " (custom roles are not evaluated): the "
                             "Cloud SQL socket refuses its connections",
                       "gcloud projects add-iam-policy-binding " + in.project + " --member " +
                           member + " --role roles/cloudsql.client"});
      } else if (g == Grant::kUnknown) {
        out.push_back({"cloudsql-client-unknown", ref,
                       who + ": whether " + sa + " holds roles/cloudsql.client is unknown (" +
                           Why(facts.project_policy->status()) + ")",
                       "grant dbconnd's identity roles/iam.securityReviewer on the project, or "
                       "check by hand"});
      }
    }
  }
  return out;
}

}  // namespace dbconnd::reconcilers
