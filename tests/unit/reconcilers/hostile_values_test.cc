// Values from Google shaped to hurt the planner and its renderers: every
// written-out password form, a 1 MiB env value, 10,000 authorized networks.

#include <catch2/catch.hpp>

#include <string>

#include "reconcilers/plan.h"
#include "reconcilers/planner.h"
#include "fixtures.h"

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures

bool Contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

LiveState Converged() {
  LiveState live = SeedLive();
  Converge(SeedIntent(), live);
  return live;
}

const Diagnosis* LiteralPasswordFor(const Plan& plan, const std::string& env) {
  for (const auto& d : plan.findings) {
    if (d.code == "literal-password" && Contains(d.problem, "env " + env + " ")) return &d;
  }
  return nullptr;
}

TEST_CASE("Every password form in a live env var is a finding and is masked",
          "[planner][secret][hostile]") {
  struct Form {
    const char* env;
    const char* value;
  } forms[] = {
      {"URL_QMARK", "postgresql://u:pa?s3cret@10.0.0.3/db"},
      {"URL_SLASH", "postgresql://u:p/s3cret@10.0.0.3/db"},
      {"URL_PCT", "mysql://root:p%40s3cret@db:3306/app"},
      {"QUERY_PASSWORD", "postgresql://10.0.0.3/db?user=u&password=s3cret"},
      {"QUERY_PWD", "mysql://10.0.0.3/db?pwd=s3cret"},
      {"LIBPQ", "host=10.0.0.3 user=u password=s3cret dbname=db"},
      {"LIBPQ_QUOTED", "host=10.0.0.3 password='a s3cret\\'c' dbname=db"},
      {"JDBC", "jdbc:postgresql://10.0.0.3:5432/db;user=u;password=s3cret;"},
      {"PGPASSWORD", "s3cret"},
      {"MYSQL_PWD", "s3cret"},
      {"APP_DB_PASSWORD", "s3cret"},
  };
  for (const auto& form : forms) {
    INFO(form.env << "=" << form.value);
    LiveState live = Converged();
    live.jobs[kJob].containers[0].env.push_back({form.env, form.value, std::nullopt});
    const Plan plan = ComputePlan(SeedIntent(), live);
    CHECK(LiteralPasswordFor(plan, form.env) != nullptr);
    const std::string text = RenderText(plan);
    CHECK_FALSE(Contains(text, "s3cret"));
    for (const auto& d : plan.findings) CHECK_FALSE(Contains(d.problem + d.fix, "s3cret"));
  }
}

TEST_CASE("A 1 MiB DATABASE_URL drift is planned and shown capped", "[planner][hostile]") {
  LiveState live = Converged();
  for (auto& e : live.jobs[kJob].containers[0].env) {
    if (e.name == "DATABASE_URL") e.value = std::string(1 << 20, 'x');
  }
  const Plan plan = ComputePlan(SeedIntent(), live);
  const Step* job = plan.Find(std::string("job/") + kJob);
  REQUIRE(job);
  bool shown = false;
  for (const auto& c : job->changes) {
    CHECK(c.before.size() < 400);
    CHECK(c.after.size() < 400);
    if (Contains(c.before, "(1048576 bytes)")) shown = true;
  }
  CHECK(shown);
  CHECK(RenderText(plan).size() < 64 * 1024);
}

TEST_CASE("10,000 authorized networks are pruned in one planned step", "[planner][hostile]") {
  LiveState live = Converged();
  for (int i = 0; i < 10000; ++i) {
    live.instance->authorized_networks.push_back(
        {"10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ".0/24",
         std::string(300, 'n'), ""});
  }
  const Plan plan = ComputePlan(SeedIntent(), live);
  std::size_t removals = 0;
  for (const auto& s : plan.steps) {
    for (const auto& c : s.changes) {
      if (Contains(c.path, "authorizedNetworks[")) {
        ++removals;
        CHECK(c.before.size() < 200);  // the 300-byte label is capped
      }
    }
  }
  CHECK(removals == 10000);
  CHECK_FALSE(RenderText(plan).empty());
}

}  // namespace
}  // namespace dbconnd::reconcilers
