// reconcilers::Assess: the condition reasons of a pass, table by table.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "reconcilers/assess.h"

namespace dbconnd::reconcilers {
namespace {

using R = ConditionReason;

Step MakeStep(std::string id, ResourceKind kind, std::string name) {
  Step s;
  s.id = std::move(id);
  s.resource = {kind, std::move(name)};
  s.changes.push_back({"settings.sslMode", "ALLOW", "ENCRYPTED_ONLY"});
  s.payload = gcp::SqlInstancePatch{};
  return s;
}

Plan PlanOf(std::vector<Step> steps) {
  Plan p;
  p.intent = "saleor";  // observed
  p.steps = std::move(steps);
  return p;
}

R ReasonFor(const Assessment& a, const std::string& name) {
  for (const auto& r : a.resources) {
    if (r.resource.name == name) return r.reason;
  }
  return R::kUnknown;
}

TEST_CASE("Assess: the intent's reason") {
  const Step instance = MakeStep("instance/db", ResourceKind::kInstance, "db");
  Step waiting = MakeStep("connector/c", ResourceKind::kConnector, "c");
  waiting.action = Action::kWait;
  waiting.payload = std::monostate{};
  Step blocked = MakeStep("instance/db", ResourceKind::kInstance, "db");
  blocked.blocked = "irreversible";

  struct Row {
    const char* what;
    std::vector<Step> steps;
    bool observed;
    Status status;
    WriteBlock block;
    R want;
  };
  const std::vector<Row> rows = {
      {"nothing to do", {}, true, Status(), WriteBlock::kNone, R::kUpToDate},
      {"nothing observed yet", {}, false, Status(), WriteBlock::kNone, R::kUpdating},
      {"a failed pass", {instance}, true, UnavailableError("x"), WriteBlock::kNone,
       R::kUpdateFailed},
      {"a failed pass that planned nothing", {}, true, UnavailableError("x"), WriteBlock::kNone,
       R::kUpdateFailed},
      {"paused with drift", {instance}, true, Status(), WriteBlock::kPaused, R::kPaused},
      {"observing with drift", {instance}, true, Status(), WriteBlock::kObserving, R::kObserving},
      {"fight breaker open", {instance}, true, Status(), WriteBlock::kDriftFight, R::kDriftFight},
      {"paused, in sync", {}, true, Status(), WriteBlock::kPaused, R::kUpToDate},
      {"a step policy blocked", {blocked}, true, Status(), WriteBlock::kNone, R::kUpdateFailed},
      {"a step waiting", {waiting}, true, Status(), WriteBlock::kNone, R::kDependencyNotReady},
      {"a ready step left", {instance}, true, Status(), WriteBlock::kNone, R::kUpdating},
  };
  for (const Row& row : rows) {
    INFO(row.what);
    Plan plan = PlanOf(row.steps);
    if (!row.observed) plan.intent.clear();
    ApplyResult result;
    result.status = row.status;
    result.block = row.block;
    CHECK(Assess(plan, result).intent == row.want);
  }
}

TEST_CASE("Assess: each resource by its first step, the failed step named by the result") {
  Step instance = MakeStep("instance/db", ResourceKind::kInstance, "db");
  Step job = MakeStep("job/migrate", ResourceKind::kJob, "migrate");
  Step job_run = MakeStep("verify/job/migrate", ResourceKind::kJob, "migrate");
  job_run.action = Action::kRun;
  job_run.payload = std::monostate{};
  job.depends_on = {"instance/db"};  // not ready until the instance is done
  Plan plan = PlanOf({instance, job, job_run});

  ApplyResult result;
  Assessment a = Assess(plan, result);
  REQUIRE(a.resources.size() == 2);  // the job's second step does not count twice
  CHECK(ReasonFor(a, "db") == R::kUpdating);
  CHECK(ReasonFor(a, "migrate") == R::kDependencyNotReady);
  CHECK(a.resources[1].step->id == "job/migrate");

  // The failed step is named by the result, not found in the error text:
  // an error that quotes another step's id does not fail that step.
  result.status = FailedPreconditionError("step instance/db: job/migrate refused");
  result.failed_step = "instance/db";
  a = Assess(plan, result);
  CHECK(ReasonFor(a, "db") == R::kUpdateFailed);
  CHECK(ReasonFor(a, "migrate") == R::kDependencyNotReady);
  CHECK(a.intent == R::kUpdateFailed);

  // A pass that failed outside any step fails none of them.
  result.failed_step.clear();
  a = Assess(plan, result);
  CHECK(ReasonFor(a, "db") == R::kUpdating);
  CHECK_FALSE(a.any_failed);
}

TEST_CASE("Assess: a report-only pass names its block on every resource") {
  struct Row {
    WriteBlock block;
    R want;
  };
  for (const Row& row : {Row{WriteBlock::kPaused, R::kPaused},
                         Row{WriteBlock::kObserving, R::kObserving},
                         Row{WriteBlock::kDriftFight, R::kDriftFight}}) {
    Plan plan = PlanOf({MakeStep("instance/db", ResourceKind::kInstance, "db"),
                        MakeStep("connector/c", ResourceKind::kConnector, "c")});
    plan.report_only = true;
    for (auto& s : plan.steps) s.report_only = true;
    ApplyResult result;
    result.block = row.block;
    Assessment a = Assess(plan, result);
    CHECK(a.intent == row.want);
    CHECK(ReasonFor(a, "db") == row.want);
    CHECK(ReasonFor(a, "c") == row.want);
  }
}

TEST_CASE("Assess: reasons read as /status spells them") {
  CHECK(ToString(R::kUnknown).empty());
  CHECK(ToString(R::kUpToDate) == "UpToDate");
  CHECK(ToString(R::kDependencyNotReady) == "DependencyNotReady");
  CHECK(ToString(R::kDriftFight) == "DriftFight");
  CHECK(ReasonOf(WriteBlock::kPaused) == R::kPaused);
}

}  // namespace
}  // namespace dbconnd::reconcilers
