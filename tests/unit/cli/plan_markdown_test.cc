// `dbconnd plan -o markdown`: golden files for the comment a pull request
// shows, including the cut at the size limit, and the escaping of values
// from outside. Regenerate after a deliberate change with
//   DBCONND_UPDATE_GOLDEN=1 cli_test "[markdown]"
// and review the diff.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/plan_output.h"
#include "cli/reconcile_cli.h"

namespace dbconnd::cli {
namespace {

namespace fs = std::filesystem;
using reconcilers::Action;
using reconcilers::Impact;
using reconcilers::ResourceKind;

const fs::path kGolden = fs::path(DBCONND_SOURCE_DIR) / "tests/unit/cli/golden";

void CheckGolden(const std::string& name, const std::string& actual) {
  const fs::path path = kGolden / name;
  if (const char* u = std::getenv("DBCONND_UPDATE_GOLDEN"); u && *u == '1') {
    std::ofstream(path, std::ios::binary) << actual;
  }
  std::ifstream in(path, std::ios::binary);
  INFO("golden file " << path.string());
  REQUIRE(in.good());
  std::stringstream expected;
  expected << in.rdbuf();
  CHECK(actual == expected.str());
}

reconcilers::Step Step(std::string id, ResourceKind kind, std::string name, Action action) {
  reconcilers::Step s;
  s.id = std::move(id);
  s.resource = {kind, std::move(name)};
  s.action = action;
  return s;
}

// The seed incident's plan, as the planner makes it for examples/saleor.yaml.
IntentPlan Incident() {
  reconcilers::Plan p;
  p.intent = "saleor";
  p.project = "melodic-now-463704-k1";
  p.region = "us-central1";
  auto range = Step("range/google-managed-services-default", ResourceKind::kPrivateServicesRange,
                    "google-managed-services-default", Action::kCreate);
  range.changes = {{"network", "", "projects/melodic-now-463704-k1/global/networks/default",
                    Impact::kOnline, false},
                   {"prefixLength", "", "16", Impact::kOnline, false}};
  auto inst =
      Step("instance/saleor-db-demo", ResourceKind::kInstance, "saleor-db-demo", Action::kUpdate);
  inst.changes = {
      {"settings.ipConfiguration.privateNetwork", "",
       "\"projects/melodic-now-463704-k1/global/networks/default\"", Impact::kIrreversible, false},
      {"settings.ipConfiguration.sslMode", "ALLOW_UNENCRYPTED_AND_ENCRYPTED", "ENCRYPTED_ONLY",
       Impact::kOnline, false}};
  inst.depends_on = {range.id};
  auto job = Step("job/saleor-migration-1751028053", ResourceKind::kJob,
                  "saleor-migration-1751028053", Action::kUpdate);
  job.changes = {{"template.template.containers[migrate].env[DATABASE_URL]",
                  "\"postgresql://saleor:***@34.41.195.120:5432/saleor\"",
                  "\"postgresql://saleor@<private IP of instance "
                  "saleor-db-demo>:5432/saleor?sslmode=require\"",
                  Impact::kMayRestart, false}};
  job.waiting_for =
      "the private IP of instance saleor-db-demo (assigned by step instance/saleor-db-demo)";
  job.depends_on = {inst.id};
  auto pub = Step("instance/saleor-db-demo/public-path", ResourceKind::kInstance, "saleor-db-demo",
                  Action::kUpdate);
  pub.changes = {
      {"settings.ipConfiguration.ipv4Enabled", "true", "false", Impact::kConnectivityBreak, false}};
  pub.blocked = "job x | y (not in this file) still connects to public IP 34.41.195.120";
  pub.depends_on = {inst.id, job.id};
  p.steps = {range, inst, job, pub};
  p.diagnoses.push_back({"public-ip-unreachable",
                         {ResourceKind::kJob, "saleor-migration-1751028053"},
                         "job saleor-migration-1751028053 connects to public IP 34.41.195.120 but "
                         "instance saleor-db-demo allows no authorized networks",
                         "this plan moves it to the instance's private IP"});
  p.findings.push_back({"literal-password",
                        {ResourceKind::kJob, "saleor-migration-1751028053"},
                        "job saleor-migration-1751028053: env DATABASE_URL holds a literal "
                        "password (postgresql://saleor:***@34.41.195.120:5432/saleor)",
                        "rotate the password"});
  return {"saleor", "examples/saleor.yaml", OkStatus(), p};
}

IntentPlan Clean() {
  reconcilers::Plan p;
  p.intent = "orders";
  p.project = "shop-prod-1234";
  p.region = "europe-west1";
  return {"orders", "intents/orders.yaml", OkStatus(), p};
}

IntentPlan Observed() {
  IntentPlan ip = Clean();
  ip.name = ip.plan.intent = "legacy";
  ip.plan.report_only = true;
  ip.plan.report_only_reason = "policy.mode is observe";
  auto s = Step("service/api", ResourceKind::kService, "api", Action::kUpdate);
  s.changes = {{"template.vpcAccess.egress", "ALL_TRAFFIC", "PRIVATE_RANGES_ONLY",
                Impact::kMayRestart, false}};
  s.report_only = true;
  ip.plan.steps = {s};
  return ip;
}

IntentPlan Failed() {
  return {"broken", "intents/broken.yaml", UnavailableError("sqladmin: 503 backendError"), {}};
}

TEST_CASE("markdown: the plan comment matches the golden file", "[markdown]") {
  std::string md = RenderPlansMarkdown({Incident(), Clean(), Observed(), Failed()});
  CheckGolden("plan.md", md);
  CHECK(md.rfind(kMarkdownMarker, 0) == 0);
  CHECK(md.find("**4 intents: 5 changes (in 2 intents), 1 blocked, 1 error.**") !=
        std::string::npos);
  // A secret masked in the plan stays masked.
  CHECK(md.find("saleor:***@") != std::string::npos);
  CHECK(md.find("scissors") == std::string::npos);
}

TEST_CASE("markdown: no changes says so", "[markdown]") {
  CheckGolden("plan_clean.md", RenderPlansMarkdown({Clean()}));
}

TEST_CASE("markdown: a plan longer than the limit is cut with a note", "[markdown]") {
  // A small limit keeps the golden file readable; the cut lands inside the
  // first intent's <details>, which must be closed.
  std::string md = RenderPlansMarkdown({Incident(), Clean(), Observed()}, 1800);
  CheckGolden("plan_truncated.md", md);
  CHECK(md.size() <= 1800);
  CHECK(md.find("dbconnd plan -o json") != std::string::npos);
  size_t opened = 0, closed = 0;
  for (size_t p = md.find("<details>"); p != std::string::npos; p = md.find("<details>", p + 1))
    ++opened;
  for (size_t p = md.find("</details>"); p != std::string::npos; p = md.find("</details>", p + 1))
    ++closed;
  CHECK(opened == closed);
}

TEST_CASE("markdown: a thousand intents stay within GitHub's 65,536 characters", "[markdown]") {
  std::vector<IntentPlan> many;
  for (int i = 0; i < 1000; ++i) {
    IntentPlan ip = Incident();
    ip.name = ip.plan.intent = "intent-" + std::to_string(i);
    many.push_back(ip);
  }
  std::string md = RenderPlansMarkdown(many);
  CHECK(md.size() <= kMarkdownMaxBytes);
  CHECK(md.size() > kMarkdownMaxBytes - 2000);  // filled, not cut early
  CHECK(md.find("**1000 intents: 4000 changes (in 1000 intents), 1000 blocked, 0 errors.**") !=
        std::string::npos);
  CHECK(md.find("the rest is cut") != std::string::npos);
  // Uncut below the limit.
  CHECK(RenderPlansMarkdown({Incident()}).find("the rest is cut") == std::string::npos);
}

TEST_CASE("markdown: values from outside cannot break the table or inject HTML", "[markdown]") {
  IntentPlan ip = Clean();
  auto s = Step("job/x", ResourceKind::kJob, "a|b<script>@team #1 *x*", Action::kUpdate);
  s.changes = {{"env[URL]", "`a`|<b>", std::string(1000, 'v') + "\nnext", Impact::kOnline, false}};
  s.blocked = "<img src=x onerror=alert(1)> | @admins";
  ip.plan.steps = {s};
  std::string md = RenderPlansMarkdown({ip});
  INFO(md);
  CHECK(md.find("<script>") == std::string::npos);
  CHECK(md.find("<img") == std::string::npos);
  CHECK(md.find("@team") == std::string::npos);
  CHECK(md.find("@admins") == std::string::npos);
  // The table row keeps exactly its five pipes.
  size_t row = md.find("| 1 |");
  REQUIRE(row != std::string::npos);
  std::string line = md.substr(row, md.find('\n', row) - row);
  size_t pipes = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++pipes;
  }
  CHECK(pipes == 5);
  // Long values are capped; newlines do not end the list item.
  CHECK(md.find(std::string(kMarkdownMaxValue + 1, 'v')) == std::string::npos);
  CHECK(md.find(std::string(kMarkdownMaxValue, 'v') + "…") != std::string::npos);
  CHECK(md.find("\nnext") == std::string::npos);
  // Backticks inside a value get a longer fence.
  CHECK(md.find("`` `a`|<b> ``") != std::string::npos);
}

TEST_CASE("markdown: MarkdownText escapes and caps", "[markdown]") {
  CHECK(MarkdownText("a|b") == "a\\|b");
  CHECK(MarkdownText("<x> & y") == "&lt;x&gt; &amp; y");
  CHECK(MarkdownText("@me #2") == "&#64;me &#35;2");
  CHECK(MarkdownText("é€x", 2) == "é€…");
  CHECK(MarkdownText("one\ntwo") == "one two");
}

}  // namespace
}  // namespace dbconnd::cli
