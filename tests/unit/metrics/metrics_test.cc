#include "controller/metrics.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include "tests/unit/metrics/exposition.h"

namespace dbconnd::controller {
namespace {

using testing::FamilyTypes;
using testing::SeriesCount;
using testing::Value;

ResourceStateCounts States(std::int64_t in_sync, std::int64_t drifted, std::int64_t error,
                           std::int64_t dependency_not_ready, std::int64_t paused,
                           std::int64_t fighting) {
  ResourceStateCounts c;
  c.in_sync = in_sync;
  c.drifted = drifted;
  c.error = error;
  c.dependency_not_ready = dependency_not_ready;
  c.paused = paused;
  c.fighting = fighting;
  return c;
}

TEST_CASE("unknown label values collapse to other", "[metrics]") {
  Metrics m;
  m.ReconcileDone("bogus-kind", "exploded", 0.5);
  m.WriteDone("storage", "buckets.delete", "weird");
  m.ApiRequest("storage", "buckets.get", 418, 0.1);
  m.OperationWaited("instances.restart", 12);
  m.SetRateLimitTokens("sqladmin", "burst", 3);
  m.DriftDetected("instance", "settings.userLabels.team");
  m.ConfigReload("exploded", 4, 0);
  const std::string text = m.Serialize();

  CHECK(Value(text, R"(dbconnd_reconciles_total{kind="other",result="other"})") == 1);
  CHECK(Value(text, R"(dbconnd_writes_total{api="other",method="other",result="other"})") == 1);
  CHECK(Value(text, R"(dbconnd_api_requests_total{api="other",code="4xx",method="other"})") == 1);
  CHECK(Value(text, R"(dbconnd_operation_wait_duration_seconds_count{type="other"})") == 1);
  CHECK(Value(text, R"(dbconnd_rate_limit_tokens{api="sqladmin",bucket="other"})") == 3);
  CHECK(Value(text, R"(dbconnd_drift_detected_total{field="other",kind="instance"})") == 1);
  CHECK(Value(text, R"(dbconnd_config_reloads_total{result="other"})") == 1);
  for (const char* leaked : {"bogus", "exploded", "storage", "buckets", "418", "restart",
                             "burst", "userLabels", "weird"}) {
    INFO(leaked);
    CHECK(text.find(leaked) == std::string::npos);
  }
}

TEST_CASE("known label values are recorded as given", "[metrics]") {
  Metrics m;
  m.ReconcileDone("instance", "updated", 42);
  m.ReconcileDone("instance", "updated", 0.2);
  m.WriteDone("sqladmin", "instances.patch", "operation_in_progress");
  m.ApiRequest("sqladmin", "instances.patch", 409, 0.2);
  m.ApiRequest("run", "jobs.get", "timeout", 30);
  m.DriftFight("job");
  const std::string text = m.Serialize();
  CHECK(Value(text, R"(dbconnd_reconciles_total{kind="instance",result="updated"})") == 2);
  CHECK(Value(text, R"(dbconnd_reconcile_duration_seconds_count{kind="instance"})") == 2);
  CHECK(Value(text, R"(dbconnd_reconcile_duration_seconds_bucket{kind="instance",le="30"})") == 1);
  CHECK(Value(text, R"(dbconnd_reconcile_duration_seconds_sum{kind="instance"})") ==
        Approx(42.2));
  CHECK(Value(text, R"(dbconnd_writes_total{api="sqladmin",method="instances.patch",result="operation_in_progress"})") == 1);
  CHECK(Value(text, R"(dbconnd_api_requests_total{api="sqladmin",code="409",method="instances.patch"})") == 1);
  CHECK(Value(text, R"(dbconnd_api_requests_total{api="run",code="timeout",method="jobs.get"})") == 1);
  CHECK(Value(text, R"(dbconnd_api_request_duration_seconds_count{api="run",method="jobs.get"})") == 1);
  CHECK(Value(text, R"(dbconnd_drift_fights_total{kind="job"})") == 1);
}

TEST_CASE("HTTP codes map to a bounded set", "[metrics]") {
  CHECK(HttpCodeLabel(200) == "200");
  CHECK(HttpCodeLabel(412) == "412");
  CHECK(HttpCodeLabel(206) == "2xx");
  CHECK(HttpCodeLabel(307) == "3xx");
  CHECK(HttpCodeLabel(451) == "4xx");
  CHECK(HttpCodeLabel(599) == "5xx");
  CHECK(HttpCodeLabel(101) == "other");
  CHECK(HttpCodeLabel(0) == "other");
  CHECK(HttpCodeLabel(-1) == "other");
  CHECK(HttpCodeLabel(1000) == "other");
}

TEST_CASE("drift fields map wire paths onto the documented set", "[metrics]") {
  CHECK(DriftFieldLabel("authorized_networks") == "authorized_networks");
  CHECK(DriftFieldLabel("settings.ipConfiguration.authorizedNetworks") == "authorized_networks");
  CHECK(DriftFieldLabel("settings.ipConfiguration.authorizedNetworks[2].value") ==
        "authorized_networks");
  CHECK(DriftFieldLabel("settings.ipConfiguration.sslMode") == "ssl_mode");
  CHECK(DriftFieldLabel("settings.ipConfiguration.ipv4Enabled") == "public_ip");
  CHECK(DriftFieldLabel("settings.ipConfiguration.privateNetwork") == "private_network");
  CHECK(DriftFieldLabel("settings.databaseFlags[cloudsql.iam_authentication]") ==
        "iam_authentication");
  CHECK(DriftFieldLabel("template.template.containers[0].env[DATABASE_URL]") == "database_url");
  CHECK(DriftFieldLabel("template.template.vpcAccess.connector") == "vpc_connector");
  CHECK(DriftFieldLabel("template.template.vpcAccess.egress") == "vpc_egress");
  CHECK(DriftFieldLabel("ipCidrRange") == "ip_cidr_range");
  CHECK(DriftFieldLabel("") == "other");
  CHECK(DriftFieldLabel("settings.userLabels.team") == "other");
  CHECK(DriftFieldLabel("a[b.c[d]]].e[") == "other");  // malformed: bounded, no crash
}

TEST_CASE("resource states replace the whole row of a kind", "[metrics]") {
  Metrics m;
  m.SetResourceStates("job", States(9000, 3, 1, 0, 0, 0));
  m.SetResourceStates("job", States(9002, 1, 0, 0, 0, 1));
  const std::string text = m.Serialize();
  CHECK(Value(text, R"(dbconnd_resources{kind="job",state="in_sync"})") == 9002);
  CHECK(Value(text, R"(dbconnd_resources{kind="job",state="drifted"})") == 1);
  CHECK(Value(text, R"(dbconnd_resources{kind="job",state="error"})") == 0);
  CHECK(Value(text, R"(dbconnd_resources{kind="job",state="fighting"})") == 1);
  // Every kind x state exists from the start, so "no drifted jobs" reads 0, not absent.
  CHECK(Value(text, R"(dbconnd_resources{kind="connector",state="paused"})") == 0);
}

TEST_CASE("per-intent series are capped and drops are counted", "[metrics]") {
  MetricsOptions options;
  options.max_intent_series = 3;
  Metrics m(options);
  CHECK(m.SetWorldOpen("a", false));
  CHECK(m.SetWorldOpen("b", true));
  CHECK(m.SetNearestExpiry("c", 1.8e9));
  CHECK_FALSE(m.SetWorldOpen("d", true));
  CHECK_FALSE(m.SetNearestExpiry("e", 1.9e9));
  CHECK(m.SetNearestExpiry("a", 1.7e9));  // already admitted: no new slot needed
  CHECK(m.intent_series_admitted() == 3);

  std::string text = m.Serialize();
  CHECK(Value(text, "dbconnd_intent_series_dropped_total") == 2);
  CHECK(Value(text, R"(dbconnd_world_open_networks_present{intent="b"})") == 1);
  CHECK(Value(text, R"(dbconnd_authorized_network_next_expiry_timestamp_seconds{intent="a"})") ==
        1.7e9);
  CHECK(text.find(R"(intent="d")") == std::string::npos);
  CHECK(text.find(R"(intent="e")") == std::string::npos);
  // The security aggregate still sees the dropped intent d.
  CHECK(Value(text, "dbconnd_world_open_unapproved_intents") == 2);

  SECTION("removing an intent frees its slot") {
    m.RemoveIntent("b");
    CHECK(m.SetWorldOpen("d", true));
    text = m.Serialize();
    CHECK(text.find(R"(intent="b")") == std::string::npos);
    CHECK(Value(text, R"(dbconnd_world_open_networks_present{intent="d"})") == 1);
    CHECK(Value(text, "dbconnd_world_open_unapproved_intents") == 1);
    CHECK(Value(text, "dbconnd_intent_series_dropped_total") == 2);
  }
  SECTION("an expiry cleared removes its series, not the slot") {
    CHECK(m.SetNearestExpiry("c", std::nullopt));
    text = m.Serialize();
    CHECK(text.find(R"(intent="c")") == std::string::npos);
    CHECK(m.intent_series_admitted() == 3);
  }
  SECTION("world-open allowed by policy is present but not unapproved") {
    m.SetWorldOpen("b", true, /*allowed_by_policy=*/true);
    m.SetWorldOpen("d", false);
    text = m.Serialize();
    CHECK(Value(text, R"(dbconnd_world_open_networks_present{intent="b"})") == 1);
    CHECK(Value(text, "dbconnd_world_open_unapproved_intents") == 0);
  }
}

TEST_CASE("a long intent name cannot blow up a label", "[metrics]") {
  Metrics m;
  m.SetWorldOpen(std::string(10000, 'x'), true);
  const std::string text = m.Serialize();
  CHECK(text.find(std::string(128, 'x') + "\"") != std::string::npos);
  CHECK(text.find(std::string(129, 'x')) == std::string::npos);
}

TEST_CASE("config reloads keep the last good generation on failure", "[metrics]") {
  Metrics m;
  m.ConfigReload("success", 7, 1700000000);
  m.ConfigReload("invalid", 7, 1700000999);
  std::string text = m.Serialize();
  CHECK(Value(text, "dbconnd_config_generation") == 7);
  CHECK(Value(text, "dbconnd_config_last_reload_successful") == 0);
  CHECK(Value(text, "dbconnd_config_last_reload_success_timestamp_seconds") == 1700000000);
  CHECK(Value(text, R"(dbconnd_config_reloads_total{result="invalid"})") == 1);
  m.ConfigReload("success", 8, 1700001000);
  text = m.Serialize();
  CHECK(Value(text, "dbconnd_config_generation") == 8);
  CHECK(Value(text, "dbconnd_config_last_reload_successful") == 1);
  CHECK(Value(text, R"(dbconnd_config_reloads_total{result="success"})") == 2);
}

TEST_CASE("queue, sync, leader, readiness and build info", "[metrics]") {
  MetricsOptions options;
  options.version = "1.2.3";
  options.git_commit = "abc123";
  Metrics m(options);
  m.SetQueue(17, 4.5);
  m.QueueRetry();
  m.QueueRetry();
  m.FullSyncDone(1700000123);
  m.SetLeader(true);
  m.SetReady(true);
  m.SetOldestRunningOperation("instances.patch", 95);
  const std::string text = m.Serialize();
  CHECK(Value(text, "dbconnd_workqueue_depth") == 17);
  CHECK(Value(text, "dbconnd_workqueue_longest_waiting_seconds") == 4.5);
  CHECK(Value(text, "dbconnd_workqueue_retries_total") == 2);
  CHECK(Value(text, "dbconnd_full_sync_last_success_timestamp_seconds") == 1700000123);
  CHECK(Value(text, "dbconnd_leader") == 1);
  CHECK(Value(text, "dbconnd_ready") == 1);
  CHECK(Value(text, R"(dbconnd_operation_oldest_running_seconds{type="instances.patch"})") == 95);
  CHECK(Value(text, R"(dbconnd_operation_oldest_running_seconds{type="jobs.run"})") == 0);
  CHECK(Value(text, R"(dbconnd_build_info{commit="abc123",version="1.2.3"})") == 1);
}

TEST_CASE("the pre-scrape hook refreshes values before each scrape", "[metrics]") {
  Metrics m;
  int scrapes = 0;
  m.SetPreScrapeHook([&scrapes](Metrics& self) { self.SetQueue(0, ++scrapes * 10.0); });
  CHECK(Value(m.Serialize(), "dbconnd_workqueue_longest_waiting_seconds") == 10);
  CHECK(Value(m.Serialize(), "dbconnd_workqueue_longest_waiting_seconds") == 20);
}

TEST_CASE("the exposition names every documented metric with its type", "[metrics]") {
  Metrics m;
  testing::TouchEveryMetric(m);
  const auto types = FamilyTypes(m.Serialize());
  const std::pair<const char*, const char*> expected[] = {
      {"dbconnd_build_info", "gauge"},
      {"dbconnd_reconciles_total", "counter"},
      {"dbconnd_reconcile_duration_seconds", "histogram"},
      {"dbconnd_drift_detected_total", "counter"},
      {"dbconnd_drift_fights_total", "counter"},
      {"dbconnd_resources", "gauge"},
      {"dbconnd_writes_total", "counter"},
      {"dbconnd_api_requests_total", "counter"},
      {"dbconnd_api_request_duration_seconds", "histogram"},
      {"dbconnd_operation_wait_duration_seconds", "histogram"},
      {"dbconnd_operation_oldest_running_seconds", "gauge"},
      {"dbconnd_workqueue_depth", "gauge"},
      {"dbconnd_workqueue_longest_waiting_seconds", "gauge"},
      {"dbconnd_workqueue_retries_total", "counter"},
      {"dbconnd_config_generation", "gauge"},
      {"dbconnd_config_reloads_total", "counter"},
      {"dbconnd_config_last_reload_successful", "gauge"},
      {"dbconnd_config_last_reload_success_timestamp_seconds", "gauge"},
      {"dbconnd_full_sync_last_success_timestamp_seconds", "gauge"},
      {"dbconnd_rate_limit_tokens", "gauge"},
      {"dbconnd_world_open_networks_present", "gauge"},
      {"dbconnd_world_open_unapproved_intents", "gauge"},
      {"dbconnd_authorized_network_next_expiry_timestamp_seconds", "gauge"},
      {"dbconnd_intent_series_dropped_total", "counter"},
      {"dbconnd_leader", "gauge"},
      {"dbconnd_journal_write_failures_total", "counter"},
      {"dbconnd_ready", "gauge"},
  };
  for (const auto& [name, type] : expected) {
    INFO(name);
    REQUIRE(types.count(name) == 1);
    CHECK(types.at(name) == type);
  }
  CHECK(types.size() == std::size(expected));
}

TEST_CASE("METRICS.md documents every metric of the exposition", "[metrics][docs]") {
  Metrics m;
  testing::TouchEveryMetric(m);
  const std::string doc = testing::ReadFile(DBCONND_SOURCE_DIR "/docs/METRICS.md");
  for (const auto& [name, type] : FamilyTypes(m.Serialize())) {
    INFO(name);
    CHECK(doc.find("`" + name + "`") != std::string::npos);
  }
}

TEST_CASE("series count does not grow with resources", "[metrics]") {
  auto fill = [](Metrics& m, int resources) {
    for (int i = 0; i < resources; ++i) {
      m.ReconcileDone(labels::kKinds[static_cast<std::size_t>(i) % 5], "in_sync", 0.1);
      m.ApiRequest("sqladmin", "instances.get", 200, 0.05);
      m.DriftDetected("instance", "authorizedNetworks");
    }
    m.SetResourceStates("job", States(resources, 0, 0, 0, 0, 0));
  };
  Metrics small;
  Metrics large;
  fill(small, 100);
  fill(large, 10000);
  CHECK(SeriesCount(small.Serialize()) == SeriesCount(large.Serialize()));
}

TEST_CASE("promtool check metrics accepts the exposition", "[metrics][promtool]") {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    FAIL("promtool not found: install the Debian package prometheus "
         "(scripts/test.sh does: apt-get install prometheus)");
  }
  Metrics m;
  testing::TouchEveryMetric(m);
  char path[] = "/tmp/dbconnd_metrics_XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream out(path);
    out << m.Serialize();
  }
  const std::string cmd = std::string("promtool check metrics < ") + path + " 2>&1";
  std::string output;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) output += buf;
  const int status = pclose(pipe);
  std::remove(path);
  INFO(output);
  CHECK(status == 0);
  CHECK(output.empty());
}

TEST_CASE("promtool check metrics really rejects a bad exposition", "[metrics][promtool]") {
  // Guards the test above against a promtool that accepts anything.
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    FAIL("promtool not found: install the Debian package prometheus");
  }
  const int status = std::system(
      "printf '# HELP dbconnd_x x\\n# TYPE dbconnd_x counter\\ndbconnd_x 1\\n' | "
      "promtool check metrics >/dev/null 2>&1");
  CHECK(status != 0);
}

}  // namespace
}  // namespace dbconnd::controller
