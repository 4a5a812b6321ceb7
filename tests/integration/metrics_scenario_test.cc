// What SREs see is true: a `dbconnd run` process against a gcp-emulator
// process lives through slow operations, a burst against its own rate
// limit, injected 429s, an authorized network that expires, drift and a
// fight, and afterwards every series the alert rules, the dashboard and
// docs/METRICS.md name has samples in the live /metrics.

#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

#include "common/rfc3339.h"
#include "controller_process.h"
#include "series_catalog.h"

namespace dbconnd::integration {
namespace {

using namespace std::chrono_literals;
using proc::DaemonProcess;
using proc::EmulatorProcess;

// The value of the sample whose name and labels are exactly `series`; NaN
// when absent.
double Sample(const std::string& text, const std::string& series) {
  std::size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + series.size() + 1));
    pos += series.size();
  }
  return std::nan("");
}

// The largest value among samples of `family` (any labels); -1 when none.
double MaxOf(const std::string& text, const std::string& family) {
  double best = -1;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() <= family.size() || line.compare(0, family.size(), family) != 0) continue;
    char next = line[family.size()];
    if (next != '{' && next != ' ') continue;
    best = std::max(best, std::stod(line.substr(line.rfind(' ') + 1)));
  }
  return best;
}

std::string ScenarioIntent(const std::string& contractor_expires, const std::string& partner_expires) {
  return "apiVersion: dbconnd.dev/v1alpha1\n"
         "kind: DatabaseConnectivity\n"
         "metadata: {name: scenario}\n"
         "spec:\n"
         "  project: melodic-now-463704-k1\n"
         "  region: us-central1\n"
         "  instance:\n"
         "    name: saleor-db-demo\n"
         "    sslMode: ENCRYPTED_ONLY\n"
         "    publicIp:\n"
         "      enabled: true\n"
         "      authorizedNetworks:\n"
         "        - {name: office, cidr: 203.0.113.0/24}\n"
         "        - {name: contractor, cidr: 198.51.100.0/24, expires: \"" + contractor_expires + "\"}\n"
         "        - {name: partner, cidr: 192.0.2.0/24, expires: \"" + partner_expires + "\"}\n"
         "  policy: {mode: enforce, pruneAuthorizedNetworks: true}\n";
}

TEST_CASE("every promised series is live after slow operations, 429s, a rate-limit burst, "
          "an expiry, drift and a fight",
          "[integration][metrics][scenario]") {
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "1500ms");  // slow operations
  // Injected 429s on the reads every pass makes.
  REQUIRE(proc::Http(emu.port(), "POST", "/emulator/faults",
                     R"({"faults":[{"route":"GET sqladmin.instances.list","status":429,"count":2},)"
                     R"({"route":"GET sqladmin.instances.get","status":429,"count":2}]})")
              .status == 200);

  const auto start = std::chrono::system_clock::now();
  const auto contractor_expiry = std::chrono::floor<std::chrono::seconds>(start + 25s);
  const auto partner_expiry = std::chrono::floor<std::chrono::seconds>(start + 6h);
  std::string cfg = dir.path() + "/config";
  std::filesystem::create_directories(cfg);
  proc::WriteFile(cfg + "/scenario.yaml", ScenarioIntent(FormatRfc3339(contractor_expiry),
                                                         FormatRfc3339(partner_expiry)));
  // 30 list calls a minute (a burst of 5) against a resync every second:
  // the daemon runs into its own limit and waits for tokens.
  DaemonProcess d(dir.path(), emu, cfg, {"--rate-limit", "sqladmin.list=30/min"});

  double oldest_running_max = 0;
  double list_tokens_min = 1e9;
  auto watch = [&] {
    auto r = proc::Http(d.port(), "GET", "/metrics");
    if (r.status != 200) return;
    oldest_running_max = std::max(oldest_running_max,
                                  MaxOf(r.body, "dbconnd_operation_oldest_running_seconds"));
    double tokens = Sample(r.body, R"(dbconnd_rate_limit_tokens{api="sqladmin",bucket="list"})");
    if (!std::isnan(tokens)) list_tokens_min = std::min(list_tokens_min, tokens);
  };
  auto state = [&] { return proc::Http(emu.port(), "GET", "/emulator/state").body; };

  // 1. Converge: one slow instance patch adds the networks and TLS.
  REQUIRE(proc::WaitFor([&] {
    watch();
    return d.Converged();
  }, 40s, 100ms));
  CHECK(state().find("198.51.100.0/24") != std::string::npos);
  CHECK(oldest_running_max > 0);  // seen while the patch's operation ran

  // 2. Drift: someone relaxes TLS; dbconnd puts it back.
  REQUIRE(proc::Http(emu.port(), "POST", "/emulator/edit",
                     R"({"instance":"saleor-db-demo","merge":{"settings":{"ipConfiguration":)"
                     R"({"sslMode":"ALLOW_UNENCRYPTED_AND_ENCRYPTED"}}}})")
              .status == 200);
  REQUIRE(proc::WaitFor([&] {
    watch();
    std::string s = state();
    return s.find("ALLOW_UNENCRYPTED_AND_ENCRYPTED") == std::string::npos;
  }, 30s, 100ms));

  // 3. Expiry: the contractor's network goes at its time, in one write;
  //    the gauge moves on to the partner's.
  {
    auto r = proc::Http(d.port(), "GET", "/metrics");
    CHECK(Sample(r.body, R"(dbconnd_authorized_network_next_expiry_timestamp_seconds{intent="scenario"})") ==
          UnixSeconds(contractor_expiry));
  }
  REQUIRE(proc::WaitFor([&] {
    watch();
    return state().find("198.51.100.0/24") == std::string::npos;
  }, 60s, 200ms));
  CHECK(std::chrono::system_clock::now() >= contractor_expiry);
  REQUIRE(proc::WaitFor([&] {
    auto r = proc::Http(d.port(), "GET", "/metrics");
    return Sample(r.body, R"(dbconnd_authorized_network_next_expiry_timestamp_seconds{intent="scenario"})") ==
           UnixSeconds(partner_expiry);
  }, 5s));

  // 4. A fight: another writer keeps opening the instance to the world.
  REQUIRE(proc::WaitFor([&] {
    watch();
    if (state().find("0.0.0.0/0") == std::string::npos) emu.AddWorldOpen();
    return d.Reason() == "DriftFight";
  }, 90s, 200ms));

  // Everything promised has samples.
  auto scrape = proc::Http(d.port(), "GET", "/metrics");
  REQUIRE(scrape.status == 200);
  const auto sampled = SampledFamilies(scrape.body);
  const auto promised = PromisedSeries(proc::kSourceDir);
  REQUIRE(promised.size() > 20);
  for (const auto& [family, where] : promised) {
    INFO(family << " (named in " << where << ") has no sample in /metrics");
    CHECK(sampled.count(family) == 1);
  }
  CHECK(list_tokens_min < 1);  // the burst used the bucket up
  CHECK(Sample(scrape.body, R"(dbconnd_api_requests_total{api="sqladmin",code="429",method="instances.list"})") >= 1);
  CHECK(MaxOf(scrape.body, "dbconnd_api_request_retries_total") >= 1);
  CHECK(Sample(scrape.body, R"(dbconnd_operation_wait_duration_seconds_count{type="instances.patch"})") >= 3);
  CHECK(Sample(scrape.body, R"(dbconnd_operation_polls_count{type="instances.patch"})") >= 3);
  CHECK(MaxOf(scrape.body, "dbconnd_drift_fights_total") >= 1);
}

}  // namespace
}  // namespace dbconnd::integration
