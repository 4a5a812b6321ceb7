// Run-time prerequisites become diagnoses with their fix, or "unknown" when
// dbconnd may not look.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "reconcilers/plan.h"
#include "reconcilers/planner.h"
#include "reconcilers/prerequisites.h"
#include "fixtures.h"

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures

constexpr char kSa[] = "saleor-runner@melodic-now-463704-k1.iam.gserviceaccount.com";
constexpr char kVersion[] = "projects/melodic-now-463704-k1/secrets/saleor-db/versions/latest";
constexpr char kSecret[] = "projects/melodic-now-463704-k1/secrets/saleor-db";

const Diagnosis* Find(const std::vector<Diagnosis>& list, const std::string& code) {
  for (const auto& d : list) {
    if (d.code == code) return &d;
  }
  return nullptr;
}

gcp::IamPolicy Granting(const std::string& role) {
  return gcp::IamPolicy{{gcp::IamBinding{role, {std::string("serviceAccount:") + kSa}, false}}};
}

// Everything in place: the version is ENABLED, the job's account reads it.
LiveState Healthy() {
  LiveState live = SeedLive();
  live.jobs[kJob].service_account = kSa;
  PrerequisiteFacts f;
  f.versions.emplace(kVersion, gcp::SecretVersionInfo{"projects/1/secrets/saleor-db/versions/1", "ENABLED"});
  f.secret_policies.emplace(kSecret, Granting("roles/secretmanager.secretAccessor"));
  f.project_policy = StatusOr<gcp::IamPolicy>(gcp::IamPolicy{});
  live.prerequisites = f;
  return live;
}

TEST_CASE("prerequisites in place: no diagnosis", "[prerequisites]") {
  CHECK(DiagnosePrerequisites(SeedIntent(), Healthy()).empty());
}

TEST_CASE("a missing or disabled secret version is a diagnosis with its fix", "[prerequisites]") {
  LiveState live = Healthy();
  live.prerequisites->versions.erase(kVersion);
  live.prerequisites->versions.emplace(kVersion, NotFoundError("Secret Version not found"));
  auto d = DiagnosePrerequisites(SeedIntent(), live);
  REQUIRE(Find(d, "secret-version-missing"));
  CHECK(Find(d, "secret-version-missing")->fix.find("gcloud secrets versions add saleor-db") !=
        std::string::npos);
  // It reaches the plan.
  CHECK(Find(ComputePlan(SeedIntent(), live).diagnoses, "secret-version-missing"));

  live.prerequisites->versions.erase(kVersion);
  live.prerequisites->versions.emplace(kVersion, gcp::SecretVersionInfo{"v", "DISABLED"});
  CHECK(Find(DiagnosePrerequisites(SeedIntent(), live), "secret-version-disabled"));
}

TEST_CASE("the service account must read the secret, on the secret or the project",
          "[prerequisites]") {
  LiveState live = Healthy();
  live.prerequisites->secret_policies.erase(kSecret);
  live.prerequisites->secret_policies.emplace(kSecret, gcp::IamPolicy{});
  auto d = DiagnosePrerequisites(SeedIntent(), live);
  const Diagnosis* missing = Find(d, "secret-access-missing");
  REQUIRE(missing);
  CHECK(missing->problem.find(kSa) != std::string::npos);
  CHECK(missing->fix.find("--role roles/secretmanager.secretAccessor") != std::string::npos);

  // Granted on the project instead: fine.
  live.prerequisites->project_policy = Granting("roles/secretmanager.secretAccessor");
  CHECK(DiagnosePrerequisites(SeedIntent(), live).empty());

  // Another account holds it: still missing for the job's own account.
  live.prerequisites->project_policy = StatusOr<gcp::IamPolicy>(gcp::IamPolicy{
      {gcp::IamBinding{"roles/secretmanager.secretAccessor", {"serviceAccount:other@x.iam.gserviceaccount.com"}, false}}});
  CHECK(Find(DiagnosePrerequisites(SeedIntent(), live), "secret-access-missing"));
}

TEST_CASE("without permission to look, the answer is unknown, not failed", "[prerequisites]") {
  LiveState live = Healthy();
  live.prerequisites->versions.erase(kVersion);
  live.prerequisites->versions.emplace(kVersion, PermissionDeniedError("denied"));
  live.prerequisites->secret_policies.erase(kSecret);
  live.prerequisites->secret_policies.emplace(kSecret, PermissionDeniedError("denied"));
  live.prerequisites->project_policy = StatusOr<gcp::IamPolicy>(PermissionDeniedError("denied"));
  auto d = DiagnosePrerequisites(SeedIntent(), live);
  CHECK(Find(d, "secret-version-unknown"));
  CHECK(Find(d, "secret-access-unknown"));
  CHECK_FALSE(Find(d, "secret-access-missing"));
  CHECK_FALSE(Find(d, "secret-version-missing"));
}

TEST_CASE("the socket path needs roles/cloudsql.client on the project", "[prerequisites]") {
  config::Intent in = SeedIntent();
  in.workloads[0].method = config::ConnectionMethod::kCloudSqlSocket;
  LiveState live = Healthy();
  auto d = DiagnosePrerequisites(in, live);
  const Diagnosis* missing = Find(d, "cloudsql-client-missing");
  REQUIRE(missing);
  CHECK(missing->fix.find("--role roles/cloudsql.client") != std::string::npos);
  live.prerequisites->project_policy = Granting("roles/cloudsql.client");
  CHECK(DiagnosePrerequisites(in, live).empty());
  // Not asked for the private IP path.
  live.prerequisites->project_policy = StatusOr<gcp::IamPolicy>(gcp::IamPolicy{});
  CHECK_FALSE(Find(DiagnosePrerequisites(SeedIntent(), live), "cloudsql-client-missing"));
}

TEST_CASE("a job with no service account runs as the default compute account",
          "[prerequisites]") {
  LiveState live = Healthy();
  live.jobs[kJob].service_account.clear();
  auto d = DiagnosePrerequisites(SeedIntent(), live);
  REQUIRE(Find(d, "secret-access-missing"));
  CHECK(Find(d, "secret-access-missing")->problem.find("123456789012-compute@developer.gserviceaccount.com") !=
        std::string::npos);
}

// Reads that each take 20 ms of timer and note how many are in flight.
class SlowReads final : public gcp::SecretManager, public gcp::ResourceManager {
 public:
  gcp::Task<StatusOr<gcp::SecretVersionInfo>> GetSecretVersion(std::string name) override {
    co_await Hold();
    names.push_back(name);
    co_return gcp::SecretVersionInfo{name, "ENABLED"};
  }
  gcp::Task<StatusOr<gcp::IamPolicy>> GetSecretIamPolicy(std::string secret) override {
    co_await Hold();
    names.push_back(secret);
    co_return Granting("roles/secretmanager.secretAccessor");
  }
  gcp::Task<StatusOr<gcp::IamPolicy>> GetProjectIamPolicy(std::string project) override {
    co_await Hold();
    names.push_back(project);
    co_return NotFoundError("project " + project);
  }
  int in_flight = 0;
  int most_in_flight = 0;
  std::vector<std::string> names;

 private:
  gcp::Task<void> Hold() {
    ++in_flight;
    most_in_flight = std::max(most_in_flight, in_flight);
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor,
                                std::chrono::milliseconds(20));
    co_await t.async_wait(boost::asio::use_awaitable);
    --in_flight;
  }
};

// GatherPrerequisites over `reads`, with `memo` (may be null), run to the end.
PrerequisiteFacts GatherWith(SlowReads& reads, PrerequisiteMemo* memo, const config::Intent& in) {
  gcp::Clients clients;
  clients.secrets = &reads;
  clients.resource_manager = &reads;
  boost::asio::io_context io;
  std::optional<PrerequisiteFacts> facts;
  boost::asio::co_spawn(
      io,
      [](gcp::Clients c, config::Intent i, PrerequisiteMemo* m,
         std::optional<PrerequisiteFacts>* out) -> boost::asio::awaitable<void> {
        *out = co_await GatherPrerequisites(c, &i, m);
      }(clients, in, memo, &facts),
      boost::asio::detached);
  io.run_for(std::chrono::seconds(5));
  REQUIRE(facts);
  return *facts;
}

TEST_CASE("the reads of one intent are in flight together, each distinct one once",
          "[prerequisites]") {
  config::Intent in = SeedIntent();
  // A second job on the same secret: its version and policy are not read twice.
  config::Workload second = in.workloads.at(0);
  second.name = "second-job";
  in.workloads.push_back(second);
  SlowReads reads;
  const PrerequisiteFacts facts = GatherWith(reads, nullptr, in);
  // The version, the secret's policy and the project's: three reads at once.
  CHECK(reads.most_in_flight == 3);
  CHECK(reads.names.size() == 3);
  REQUIRE(facts.versions.count(kVersion) == 1);
  CHECK(facts.versions.at(kVersion).ok());
  REQUIRE(facts.secret_policies.count(kSecret) == 1);
  CHECK(facts.secret_policies.at(kSecret).ok());
  REQUIRE(facts.project_policy);
  CHECK(facts.project_policy->status().code() == StatusCode::kNotFound);
}

// Keeps the answers it is given; counts what it was asked.
class Memo final : public PrerequisiteMemo {
 public:
  std::optional<StatusOr<gcp::SecretVersionInfo>> KeptVersion(const std::string& n) override {
    ++asked;
    return versions.count(n) ? std::optional(versions.at(n)) : std::nullopt;
  }
  std::optional<StatusOr<gcp::IamPolicy>> KeptSecretPolicy(const std::string& n) override {
    ++asked;
    return policies.count(n) ? std::optional(policies.at(n)) : std::nullopt;
  }
  std::optional<StatusOr<gcp::IamPolicy>> KeptProjectPolicy(const std::string& n) override {
    ++asked;
    return projects.count(n) ? std::optional(projects.at(n)) : std::nullopt;
  }
  std::map<std::string, StatusOr<gcp::SecretVersionInfo>> versions;
  std::map<std::string, StatusOr<gcp::IamPolicy>> policies;
  std::map<std::string, StatusOr<gcp::IamPolicy>> projects;
  int asked = 0;
};


TEST_CASE("answers the memo keeps are taken from it, only the others are read",
          "[prerequisites]") {
  const config::Intent in = SeedIntent();
  SlowReads reads;
  Memo memo;
  memo.versions.emplace(kVersion, NotFoundError("version gone"));
  memo.policies.emplace(kSecret, Granting("roles/secretmanager.secretAccessor"));
  PrerequisiteFacts facts = GatherWith(reads, &memo, in);
  CHECK(memo.asked == 3);
  // The project's policy alone was read.
  REQUIRE(reads.names.size() == 1);
  CHECK(reads.names[0] == in.project);
  REQUIRE(facts.versions.count(kVersion) == 1);
  CHECK(facts.versions.at(kVersion).status().code() == StatusCode::kNotFound);
  CHECK(facts.versions.at(kVersion).status().message() == "version gone");
  CHECK(facts.secret_policies.at(kSecret).ok());
  REQUIRE(facts.project_policy);
  CHECK(facts.project_policy->status().code() == StatusCode::kNotFound);

  // Every answer kept: nothing is read, the facts are the memo's.
  memo.projects.emplace(in.project, Granting("roles/cloudsql.client"));
  SlowReads none;
  facts = GatherWith(none, &memo, in);
  CHECK(none.names.empty());
  CHECK(none.most_in_flight == 0);
  REQUIRE(facts.project_policy);
  REQUIRE(facts.project_policy->ok());
  CHECK((*facts.project_policy)->bindings.at(0).role == "roles/cloudsql.client");
}

}  // namespace
}  // namespace dbconnd::reconcilers
