#include <catch2/catch.hpp>

#include <boost/json.hpp>
#include <sstream>

#include "common/duration.h"
#include "cli/cli.h"
#include "cli/plan_output.h"
#include "cli/reconcile_cli.h"

namespace dbconnd::cli {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

reconcilers::Plan SamplePlan() {
  reconcilers::Plan p;
  p.intent = "saleor";
  p.project = "p";
  p.region = "us-central1";
  reconcilers::Step s;
  s.id = "instance/db";
  s.resource = {reconcilers::ResourceKind::kInstance, "db"};
  s.action = reconcilers::Action::kUpdate;
  s.changes = {{"settings.ipConfiguration.privateNetwork", "", "\"projects/p/global/networks/default\"",
                reconcilers::Impact::kIrreversible, false}};
  s.depends_on = {"range/r"};
  p.steps.push_back(s);
  reconcilers::Step blocked = s;
  blocked.id = "instance/db/public-path";
  blocked.blocked = "policy.allowIrreversible is false";
  p.steps.push_back(blocked);
  p.diagnoses.push_back({"public-ip-unreachable", s.resource, "job x times out", "move it"});
  return p;
}

TEST_CASE("plan output: durations", "[plan_output]") {
  CHECK(*ParseDuration("30m", "--timeout") == 30min);
  CHECK(*ParseDuration("90s", "--timeout") == 90s);
  CHECK(*ParseDuration("1h30m", "--timeout") == 90min);
  CHECK(*ParseDuration("1500ms", "--timeout") == 1500ms);
  for (const char* bad : {"", "10", "5x", "-1s", "0s", "m", "1s2"}) {
    INFO(bad);
    CHECK_FALSE(ParseDuration(bad, "--timeout").ok());
  }
  CHECK(FormatElapsed(850ms) == "850ms");
  CHECK(FormatElapsed(2300ms) == "2.3s");
  CHECK(FormatElapsed(12s) == "12s");
  CHECK(FormatElapsed(65s) == "1m05s");
}

TEST_CASE("plan output: JSON has the documented shape", "[plan_output]") {
  IntentPlan ip{"saleor", "examples/saleor.yaml", OkStatus(), SamplePlan()};
  IntentPlan failed{"other", "other.yaml", UnavailableError("sqladmin unreachable"), {}};
  auto doc = json::parse(RenderPlansJson({ip, failed})).as_object();
  CHECK(doc.at("formatVersion").as_int64() == 1);
  const auto& intents = doc.at("intents").as_array();
  REQUIRE(intents.size() == 2);
  const auto& step = intents[0].at("steps").at(0).as_object();
  CHECK(step.at("id").as_string() == "instance/db");
  CHECK(step.at("resource").at("kind").as_string() == "instance");
  CHECK(step.at("resource").at("name").as_string() == "db");
  CHECK(step.at("action").as_string() == "update");
  CHECK(step.at("impact").as_string() == "irreversible");
  CHECK(step.at("changes").at(0).at("path").as_string() ==
        "settings.ipConfiguration.privateNetwork");
  CHECK(step.at("changes").at(0).at("before").as_string() == "");
  CHECK(step.at("dependsOn").at(0).as_string() == "range/r");
  CHECK(step.at("reportOnly").as_bool() == false);
  CHECK(intents[0].at("steps").at(1).at("blocked").as_string() ==
        "policy.allowIrreversible is false");
  CHECK(intents[0].at("diagnoses").at(0).at("code").as_string() == "public-ip-unreachable");
  CHECK(intents[0].at("summary").at("blocked").as_int64() == 1);
  CHECK(intents[1].at("error").as_string() == "sqladmin unreachable");
  CHECK(doc.at("summary").at("errors").as_int64() == 1);
  CHECK(doc.at("summary").at("withChanges").as_int64() == 1);
  CHECK(PlanExitCode({ip}) == 2);
  CHECK(PlanExitCode({ip, failed}) == 1);
  IntentPlan clean{"saleor", "f", OkStatus(), {}};
  CHECK(PlanExitCode({clean}) == 0);
}

TEST_CASE("plan output: text is coloured only when asked", "[plan_output]") {
  std::string plain = RenderPlanText(SamplePlan(), TextStyle{false});
  CHECK(plain.find('\033') == std::string::npos);
  CHECK_THAT(plain, Catch::Contains("~ update instance \"db\"  [irreversible]"));
  CHECK_THAT(plain, Catch::Contains("blocked: policy.allowIrreversible is false"));
  CHECK_THAT(plain, Catch::Contains("Plan: 0 to create, 1 to update, 1 blocked."));
  CHECK(RenderPlanText(SamplePlan(), TextStyle{true}).find("\033[31m") != std::string::npos);
  std::ostringstream not_a_tty;
  CHECK_FALSE(UseColor(not_a_tty, false));
}

TEST_CASE("plan output: colours mark headings, symbols, impacts and problems", "[plan_output]") {
  const std::string expected =
      "\033[1mIntent saleor\033[0m (project p, region us-central1)\n"
      "\n"
      "\033[1mDiagnosis\033[0m:\n"
      "  \033[31m!\033[0m job x times out\n"
      "      fix: move it\n"
      "\n"
      "Changes, in execution order (re-planned after each one):\n"
      "\n"
      "  1. \033[33m~\033[0m update instance \"db\"  [\033[31mirreversible\033[0m]\n"
      "      id: instance/db  after: range/r\n"
      "      + settings.ipConfiguration.privateNetwork: (unset) -> "
      "\"projects/p/global/networks/default\"  [\033[31mirreversible\033[0m]\n"
      "\n"
      "  2. \033[31m!\033[0m \033[31mblocked\033[0m update instance \"db\"  "
      "[\033[31mirreversible\033[0m]\n"
      "      id: instance/db/public-path  after: range/r\n"
      "      + settings.ipConfiguration.privateNetwork: (unset) -> "
      "\"projects/p/global/networks/default\"  [\033[31mirreversible\033[0m]\n"
      "      blocked: policy.allowIrreversible is false\n"
      "\n"
      "\033[1mPlan:\033[0m 0 to create, 1 to update, 1 blocked.\n";
  CHECK(RenderPlanText(SamplePlan(), TextStyle{true}) == expected);

  reconcilers::Plan waiting = SamplePlan();
  waiting.report_only = true;
  waiting.report_only_reason = "policy.mode: observe";
  waiting.steps.resize(1);
  waiting.steps[0].action = reconcilers::Action::kCreate;
  waiting.steps[0].changes[0].impact = reconcilers::Impact::kMayRestart;
  reconcilers::Step verify;
  verify.id = "verify/job";
  verify.resource = {reconcilers::ResourceKind::kJob, "job"};
  verify.action = reconcilers::Action::kRun;
  waiting.steps.push_back(verify);
  const std::string text = RenderPlanText(waiting, TextStyle{true});
  CHECK_THAT(text, Catch::Contains("\033[33mReport only (policy.mode: observe): dbconnd will not "
                                   "change anything for this intent.\033[0m\n"));
  CHECK_THAT(text, Catch::Contains("  1. \033[32m+\033[0m create instance \"db\"  "
                                   "[\033[33mmay-restart\033[0m]\n"));
  CHECK_THAT(text, Catch::Contains("  2. \033[36m>\033[0m run (verify) job \"job\"\n"));

  reconcilers::Plan clean;
  clean.intent = "saleor";
  CHECK_THAT(RenderPlanText(clean, TextStyle{true}),
             Catch::EndsWith("\033[32mNo changes.\033[0m Live state matches the intent.\n"));
}

TEST_CASE("plan output: progress lines say what is awaited and for how long", "[plan_output]") {
  std::ostringstream out;
  ProgressPrinter printer(out, TextStyle{false}, 5s);
  auto plan = SamplePlan();
  using Kind = reconcilers::ApplyProgress::Kind;
  printer({Kind::kStepStarted, &plan.steps[0], "instance/db", 0ms, OkStatus()});
  printer({Kind::kWaiting, &plan.steps[0], "instance db operation UPDATE", 1s, OkStatus()});
  printer({Kind::kWaiting, &plan.steps[0], "instance db operation UPDATE", 2s, OkStatus()});
  printer({Kind::kWaiting, &plan.steps[0], "instance db operation UPDATE", 12s, OkStatus()});
  printer({Kind::kStepFinished, &plan.steps[0], "instance/db", 13s, OkStatus()});
  CHECK(out.str() ==
        "[1] ~ update instance \"db\"  [irreversible]\n"
        "      waiting for instance db operation UPDATE … 1.0s\n"
        "      waiting for instance db operation UPDATE … 12s\n"
        "      done in 13s\n");
  CHECK(printer.steps_done() == 1);
}

TEST_CASE("plan command: a usage error exits 1, not 2 (2 means changes pending)",
          "[plan_output][cli]") {
  std::ostringstream out, err;
  CHECK(RunCli({"plan", DBCONND_SOURCE_DIR "/examples/saleor.yaml", "--bogus"}, out, err) == 1);
  CHECK(RunCli({"validate", DBCONND_SOURCE_DIR "/examples/saleor.yaml", "--bogus"}, out, err) ==
        kExitUsage);
}

}  // namespace
}  // namespace dbconnd::cli
