#include <catch2/catch.hpp>

#include "fixtures.h"
#include "reconcilers/planner.h"

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures

// The seed job after its migration, with the password referenced by the
// secret's short name, as Cloud Run accepts for a secret of its own project.
LiveState MovedWithShortSecretName(const std::string& secret) {
  LiveState live = SeedLive();
  config::Intent in = SeedIntent();
  Converge(in, live);
  REQUIRE(ComputePlan(in, live).steps.empty());
  auto& env = live.jobs.at(kJob).containers[0].env;
  for (auto& e : env) {
    if (e.secret && e.name == "PGPASSWORD") e.secret->secret = secret;  // the PostgreSQL default
  }
  return live;
}

TEST_CASE("planner: a secret named by its short name in the same project is not rewritten",
          "[planner][secrets]") {
  LiveState live = MovedWithShortSecretName("saleor-db");
  CHECK(ComputePlan(SeedIntent(), live).steps.empty());
}

TEST_CASE("planner: a secret of another project or version is still corrected",
          "[planner][secrets]") {
  LiveState other_project = MovedWithShortSecretName("projects/someone-else/secrets/saleor-db");
  CHECK_FALSE(ComputePlan(SeedIntent(), other_project).steps.empty());
  LiveState other_secret = MovedWithShortSecretName("saleor-db-old");
  CHECK_FALSE(ComputePlan(SeedIntent(), other_secret).steps.empty());
}

}  // namespace
}  // namespace dbconnd::reconcilers
