// The dashboard and the alert rules may only use metrics the daemon exposes,
// and every alert must have its runbook section and its promtool tests.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "controller/metrics.h"
#include "tests/unit/metrics/exposition.h"

namespace dbconnd::controller {
namespace {

namespace json = boost::json;
using testing::ReadFile;

const std::string kDashboard = DBCONND_SOURCE_DIR "/deploy/grafana/dbconnd.json";
const std::string kAlerts = DBCONND_SOURCE_DIR "/deploy/prometheus/alerts.yaml";
const std::string kAlertTests = DBCONND_SOURCE_DIR "/deploy/prometheus/alerts_test.yaml";
const std::string kRunbook = DBCONND_SOURCE_DIR "/docs/RUNBOOK.md";

std::map<std::string, std::string> ExposedFamilies() {
  Metrics m;
  testing::TouchEveryMetric(m);
  return testing::FamilyTypes(m.Serialize());
}

std::set<std::string> MetricNamesIn(const std::string& expr) {
  static const std::regex kName("dbconnd_[a-zA-Z0-9_]+");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kName);
       it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

// The family a sample name belongs to: histograms expose _bucket/_sum/_count.
std::string FamilyOf(const std::string& name, const std::map<std::string, std::string>& families) {
  if (families.count(name) != 0) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      auto it = families.find(base);
      if (it != families.end() && it->second == "histogram") return base;
    }
  }
  return "";
}

// Exact label matchers (`state="drifted"`, `result!="success"`) must name a
// value the daemon can emit, or the query silently matches nothing.
void CheckLabelValues(const std::string& expr) {
  static const std::regex kMatcher(R"re(\b([a-z]+)\s*!?=\s*"([^"]*)")re");
  auto contains = [](const auto& vocabulary, const std::string& v) {
    return std::find(vocabulary.begin(), vocabulary.end(), v) != vocabulary.end();
  };
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kMatcher);
       it != std::sregex_iterator(); ++it) {
    const std::string label = (*it)[1];
    const std::string value = (*it)[2];
    INFO("matcher " << it->str());
    if (label == "kind") CHECK(contains(labels::kKinds, value));
    if (label == "state") CHECK(contains(labels::kResourceStates, value));
    if (label == "api") CHECK(contains(labels::kApis, value));
    if (label == "method") CHECK(contains(labels::kMethods, value));
    if (label == "code") CHECK(contains(labels::kCodes, value));
    if (label == "type") CHECK(contains(labels::kOperationTypes, value));
    if (label == "bucket") CHECK(contains(labels::kRateLimitBuckets, value));
    if (label == "field") CHECK(contains(labels::kDriftFields, value));
    if (label == "result") {
      CHECK((contains(labels::kReconcileResults, value) || contains(labels::kWriteResults, value) ||
             contains(labels::kReloadResults, value)));
    }
  }
}

void CollectPanels(const json::array& panels, std::vector<const json::object*>& out) {
  for (const json::value& p : panels) {
    const json::object& panel = p.as_object();
    out.push_back(&panel);
    if (const json::value* nested = panel.if_contains("panels")) {
      CollectPanels(nested->as_array(), out);
    }
  }
}

// GitHub's heading anchor: lower case, spaces to '-', punctuation dropped.
std::string Slug(const std::string& heading) {
  std::string slug;
  for (char c : heading) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
      slug += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (c == ' ') {
      slug += '-';
    }
  }
  return slug;
}

std::set<std::string> RunbookAnchors() {
  std::set<std::string> anchors;
  std::istringstream in(ReadFile(kRunbook));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) anchors.insert(Slug(line.substr(3)));
  }
  return anchors;
}

TEST_CASE("dashboard panels only query metrics the daemon exposes", "[deploy][grafana]") {
  const auto families = ExposedFamilies();
  const json::value dash = json::parse(ReadFile(kDashboard));
  const json::object& root = dash.as_object();
  CHECK(root.at("schemaVersion").as_int64() >= 36);

  std::vector<const json::object*> panels;
  CollectPanels(root.at("panels").as_array(), panels);
  REQUIRE(panels.size() >= 12);

  std::set<std::string> used;
  std::set<std::int64_t> ids;
  for (const json::object* panel : panels) {
    const std::string title(panel->at("title").as_string());
    INFO("panel " << title);
    CHECK(ids.insert(panel->at("id").as_int64()).second);
    if (panel->at("type").as_string() == "row") continue;
    CHECK(panel->at("datasource").at("uid").as_string() == "${DS_PROMETHEUS}");
    const json::array& targets = panel->at("targets").as_array();
    CHECK_FALSE(targets.empty());
    for (const json::value& t : targets) {
      const std::string expr(t.at("expr").as_string());
      INFO("expr " << expr);
      CHECK(t.at("datasource").at("uid").as_string() == "${DS_PROMETHEUS}");
      CheckLabelValues(expr);
      const auto names = MetricNamesIn(expr);
      CHECK_FALSE(names.empty());
      for (const std::string& name : names) {
        INFO("metric " << name);
        const std::string family = FamilyOf(name, families);
        CHECK_FALSE(family.empty());
        used.insert(family);
      }
    }
  }
  SECTION("and every exposed metric is on the dashboard") {
    for (const auto& [name, type] : families) {
      INFO(name);
      CHECK(used.count(name) == 1);
    }
  }
}

TEST_CASE("the dashboard's datasource is a variable", "[deploy][grafana]") {
  const json::value dash = json::parse(ReadFile(kDashboard));
  bool found = false;
  for (const json::value& v : dash.at("templating").at("list").as_array()) {
    if (v.at("name").as_string() == "DS_PROMETHEUS") {
      found = v.at("type").as_string() == "datasource" && v.at("query").as_string() == "prometheus";
    }
  }
  CHECK(found);
}

TEST_CASE("alert rules are complete and only use exposed metrics", "[deploy][alerts]") {
  const auto families = ExposedFamilies();
  const auto anchors = RunbookAnchors();
  const YAML::Node root = YAML::LoadFile(kAlerts);
  REQUIRE(root["groups"].size() == 1);
  const YAML::Node group = root["groups"][0];
  CHECK(group["name"].as<std::string>() == "dbconnd");

  std::set<std::string> alerts;
  for (const YAML::Node& rule : group["rules"]) {
    const std::string name = rule["alert"].as<std::string>();
    INFO("alert " << name);
    CHECK(alerts.insert(name).second);
    const std::string severity = rule["labels"]["severity"].as<std::string>("");
    CHECK((severity == "critical" || severity == "warning" || severity == "info"));
    CHECK_FALSE(rule["annotations"]["summary"].as<std::string>("").empty());
    CHECK_FALSE(rule["annotations"]["description"].as<std::string>("").empty());

    const std::string url = rule["annotations"]["runbook_url"].as<std::string>("");
    const std::string prefix = "docs/RUNBOOK.md#";
    REQUIRE(url.rfind(prefix, 0) == 0);
    const std::string anchor = url.substr(prefix.size());
    CHECK(anchor == Slug(name));
    CHECK(anchors.count(anchor) == 1);

    const std::string expr = rule["expr"].as<std::string>();
    CheckLabelValues(expr);
    for (const std::string& metric : MetricNamesIn(expr)) {
      INFO("metric " << metric);
      CHECK_FALSE(FamilyOf(metric, families).empty());
    }
  }
  for (const char* required :
       {"DbconndDriftPersisting", "DbconndReconcileErrors", "DbconndWorldOpenNetwork",
        "DbconndConfigReloadFailing", "DbconndOperationStuck", "DbconndDown", "DbconndNotReady",
        "DbconndDriftFight", "DbconndAuthorizedNetworkExpiring", "DbconndNoLeader"}) {
    INFO(required);
    CHECK(alerts.count(required) == 1);
  }

  SECTION("each alert is tested firing and not firing") {
    const YAML::Node tests = YAML::LoadFile(kAlertTests);
    std::set<std::string> fires;
    std::set<std::string> silent;
    for (const YAML::Node& test : tests["tests"]) {
      for (const YAML::Node& c : test["alert_rule_test"]) {
        const std::string name = c["alertname"].as<std::string>();
        (c["exp_alerts"].size() > 0 ? fires : silent).insert(name);
      }
    }
    for (const std::string& name : alerts) {
      INFO(name);
      CHECK(fires.count(name) == 1);
      CHECK(silent.count(name) == 1);
    }
  }
}

}  // namespace
}  // namespace dbconnd::controller
