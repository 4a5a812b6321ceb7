// The intent status room: a pass written into the compact record and spelled
// out again as /status shows it.
#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <memory>

#include "../reconcilers/fixtures.h"
#include "controller/intent_status.h"
#include "test_util.h"

namespace dbconnd::controller {
namespace {

using reconcilers::ApplyResult;
using reconcilers::ResourceKind;
using reconcilers::testing::kInstance;
using reconcilers::testing::kJob;
using reconcilers::testing::SeedIntent;

reconcilers::Step InstanceStep() {
  reconcilers::Step s;
  s.id = std::string("instance/") + kInstance;
  s.resource = {ResourceKind::kInstance, kInstance};
  s.changes.push_back({"settings.ipConfiguration.sslMode", "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
                       "ENCRYPTED_ONLY"});
  s.payload = gcp::SqlInstancePatch{};
  return s;
}

struct Recorded {
  IntentRecord rec;
  IntentStatus status;
};

Recorded Record(const ApplyResult& result, std::string_view tripped = "") {
  Recorded r;
  auto intent = std::make_shared<const config::Intent>(SeedIntent());
  r.rec.intent = intent;
  r.rec.resources = CarryRecords(DeclaredResources(*intent), {}, {});
  RecordPass(r.rec, "saleor", *intent, result,
             reconcilers::Assess(result.last_plan, result), tripped,
             WallClock::time_point{} + std::chrono::hours(1));
  r.status = r.rec.Expand("saleor");
  return r;
}

const ResourceStatus* Resource(const IntentStatus& s, const std::string& name) {
  for (const auto& r : s.resources) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

TEST_CASE("IntentStatus: every declared resource is listed, an in-sync one as UpToDate") {
  ApplyResult result;
  result.last_plan.intent = "saleor";
  Recorded r = Record(result);
  CHECK(r.status.ready.status == "True");
  CHECK(r.status.ready.reason == "UpToDate");
  CHECK(r.status.ready.message.empty());
  REQUIRE(r.status.resources.size() == 5);  // range, peering, connector, instance, job
  for (const auto& res : r.status.resources) CHECK(res.synced.reason == "UpToDate");
  CHECK(r.rec.details == nullptr);  // nothing held for an intent in sync
  CHECK(r.status.last_reconcile.rfind("1970-01-01T01:00:00", 0) == 0);
}

TEST_CASE("IntentStatus: the failed step's resource fails with the step as its message") {
  ApplyResult result;
  result.last_plan.intent = "saleor";
  result.last_plan.steps.push_back(InstanceStep());
  result.status = FailedPreconditionError("step instance/saleor-db-demo: refused");
  result.failed_step = InstanceStep().id;
  Recorded r = Record(result);
  CHECK(r.status.ready.reason == "UpdateFailed");
  CHECK(r.status.ready.message == r.status.last_error);
  CHECK_THAT(r.status.last_error, Catch::Contains("refused"));
  const ResourceStatus* inst = Resource(r.status, kInstance);
  REQUIRE(inst);
  CHECK(inst->ready.reason == "UpdateFailed");
  CHECK_THAT(inst->ready.message, Catch::StartsWith("update instance/saleor-db-demo; "));
  CHECK(Resource(r.status, kJob)->ready.reason == "UpToDate");
  REQUIRE(r.status.last_plan_steps.size() == 1);
}

TEST_CASE("IntentStatus: a held-back pass says why, in the words /status always used") {
  ApplyResult result;
  result.last_plan.intent = "saleor";
  result.last_plan.report_only = true;
  result.last_plan.steps.push_back(InstanceStep());
  result.last_plan.steps.back().report_only = true;

  result.block = reconcilers::WriteBlock::kObserving;
  Recorded observing = Record(result);
  CHECK(observing.status.ready.reason == "Observing");
  CHECK(observing.status.ready.message == "1 change(s) not applied");
  CHECK(Resource(observing.status, kInstance)->ready.reason == "Observing");

  result.block = reconcilers::WriteBlock::kDriftFight;
  Recorded fight = Record(result, "settings.ipConfiguration.sslMode");
  CHECK(fight.status.ready.reason == "DriftFight");
  CHECK(fight.status.ready.message ==
        "another writer keeps changing settings.ipConfiguration.sslMode; writes stopped, drift "
        "reported");
}

TEST_CASE("IntentStatus: a resource only the plan names is listed after the declared ones") {
  ApplyResult result;
  result.last_plan.intent = "saleor";
  reconcilers::Step extra = InstanceStep();
  extra.id = "service/other";
  extra.resource = {ResourceKind::kService, "other"};
  result.last_plan.steps.push_back(extra);
  Recorded r = Record(result);
  REQUIRE(r.status.resources.size() == 6);
  CHECK(r.status.resources.back().name == "other");
  CHECK(r.status.resources.back().synced.reason == "Updating");
}

TEST_CASE("IntentStatus: the /status object carries conditions and resources") {
  ApplyResult result;
  result.last_plan.intent = "saleor";
  Recorded r = Record(result);
  auto doc = boost::json::parse(IntentStatusText(r.status)).as_object();
  CHECK(doc.at("name").as_string() == "saleor");
  CHECK(doc.at("conditions").as_array().size() == 2);
  CHECK(doc.at("conditions").as_array()[0].as_object().at("reason").as_string() == "UpToDate");
  CHECK(doc.at("resources").as_array().size() == 5);
}

}  // namespace
}  // namespace dbconnd::controller
