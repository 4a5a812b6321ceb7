// `dbconnd run` as a real process against a gcp-emulator process: the
// controller's promises a user would notice, counted in the emulator's own
// request log.

#include <catch2/catch.hpp>

#include <signal.h>

#include "controller_process.h"

namespace dbconnd::integration {
namespace {

using namespace std::chrono_literals;
using proc::DaemonProcess;
using proc::EmulatorProcess;

// What converging the incident takes, each exactly once.
const std::map<std::string, int64_t> kIncidentWrites = {
    {"POST compute.globalAddresses.insert", 1},
    {"POST servicenetworking.connections.create", 1},
    {"POST vpcaccess.connectors.create", 1},
    {"PATCH sqladmin.instances.patch", 2},
    {"PATCH run.jobs.patch", 1},
};

std::string Dump(const std::map<std::string, int64_t>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += k + "=" + std::to_string(v) + "\n";
  return s;
}

TEST_CASE("run converges the incident, then writes nothing: SIGTERM exits cleanly in time") {
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "30ms");
  DaemonProcess d(dir.path(), emu, proc::SaleorConfigDir(dir.path()));
  REQUIRE(proc::WaitFor([&] { return d.Converged(); }, 15s));
  CHECK(emu.Mutations() == kIncidentWrites);
  CHECK(proc::Http(d.port(), "GET", "/readyz").status == 200);
  CHECK(proc::Http(d.port(), "GET", "/healthz").status == 200);

  // Two more resyncs (1 s each): reads only.
  auto reads_before = emu.Count("GET sqladmin.instances.list");
  REQUIRE(proc::WaitFor([&] { return emu.Count("GET sqladmin.instances.list") >= reads_before + 2; }, 5s));
  CHECK(emu.Mutations() == kIncidentWrites);

  auto start = std::chrono::steady_clock::now();
  d.process().Signal(SIGTERM);
  auto st = d.process().Wait(10s);
  REQUIRE(st.has_value());
  CHECK(WIFEXITED(*st));
  CHECK(WEXITSTATUS(*st) == 0);
  CHECK(std::chrono::steady_clock::now() - start < 10s);
  CHECK(d.process().err().find("stopped cleanly") != std::string::npos);
}

TEST_CASE("SIGTERM during a long operation exits within 10 s and the restart resumes it") {
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "4s");  // every operation takes 4 s
  std::string cfg = proc::SaleorConfigDir(dir.path());
  {
    DaemonProcess d(dir.path(), emu, cfg);
    REQUIRE(proc::WaitFor([&] { return EmulatorProcess::Total(emu.Mutations()) >= 1; }, 10s));
    auto start = std::chrono::steady_clock::now();
    d.process().Signal(SIGTERM);
    auto st = d.process().Wait(10s);
    REQUIRE(st.has_value());
    CHECK(WIFEXITED(*st));
    CHECK(std::chrono::steady_clock::now() - start < 10s);
  }
  CHECK(EmulatorProcess::Total(emu.Mutations()) == 1);
}

TEST_CASE("kill -9 at several points mid-operation never causes a second mutation") {
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "600ms");
  std::string cfg = proc::SaleorConfigDir(dir.path());
  int kills = 0;
  for (int round = 0; round < 8; ++round) {
    DaemonProcess d(dir.path(), emu, cfg);
    int64_t before = EmulatorProcess::Total(emu.Mutations());
    bool more = proc::WaitFor([&] {
      return EmulatorProcess::Total(emu.Mutations()) > before || d.Converged();
    }, 15s);
    REQUIRE(more);
    if (d.Converged()) break;
    // A mutation was just accepted; its operation runs for 600 ms. Kill now.
    d.process().Signal(SIGKILL);
    d.process().Wait(5s);
    ++kills;
    INFO("after kill " << kills << ":\n" << Dump(emu.Mutations()));
    for (const auto& [route, n] : emu.Mutations()) {
      CHECK(n <= kIncidentWrites.at(route));
    }
  }
  // Six mutations in five steps; steps on independent resources (the job
  // and the instance) are sent together, so a kill can land after two.
  CHECK(kills >= 3);
  DaemonProcess final_run(dir.path(), emu, cfg);
  REQUIRE(proc::WaitFor([&] { return final_run.Converged(); }, 15s));
  INFO(Dump(emu.Mutations()));
  CHECK(emu.Mutations() == kIncidentWrites);
  std::string logs;
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
    if (f.path().filename().string().rfind("dbconnd.", 0) == 0) logs += proc::ReadFile(f.path());
  }
  CHECK(logs.find("resuming: ") != std::string::npos);
}

TEST_CASE("Out-of-band drift is corrected within one resync in enforce, only reported in observe") {
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "30ms");
  std::string cfg = proc::SaleorConfigDir(dir.path());
  {
    DaemonProcess d(dir.path(), emu, cfg);
    REQUIRE(proc::WaitFor([&] { return d.Converged(); }, 15s));
    auto patches = emu.Count("PATCH sqladmin.instances.patch");
    REQUIRE(emu.AddWorldOpen().status == 200);
    auto t0 = std::chrono::steady_clock::now();
    // One resync is 1 s ± 10%; allow the pass itself on top.
    REQUIRE(proc::WaitFor([&] { return emu.Count("PATCH sqladmin.instances.patch") == patches + 1; }, 3s));
    CHECK(std::chrono::steady_clock::now() - t0 < 2500ms);
    REQUIRE(proc::WaitFor([&] {
      return proc::Http(emu.port(), "GET", "/emulator/state").body.find("0.0.0.0/0") == std::string::npos;
    }, 3s));
    CHECK(std::chrono::steady_clock::now() - t0 < 3s);
    CHECK(emu.Count("PATCH sqladmin.instances.patch") == patches + 1);
    REQUIRE(proc::WaitFor([&] {
      std::string metrics = proc::Http(d.port(), "GET", "/metrics").body;
      return metrics.find("dbconnd_drift_detected_total{field=\"authorized_networks\",kind=\"instance\"} 1") != std::string::npos;
    }, 3s));
    d.process().Signal(SIGTERM);
    d.process().Wait(10s);
  }
  {
    DaemonProcess d(dir.path(), emu, cfg, {"--observe"});
    REQUIRE(proc::WaitFor([&] { return d.Converged(); }, 10s));
    auto before = emu.Mutations();
    REQUIRE(emu.AddWorldOpen().status == 200);
    REQUIRE(proc::WaitFor([&] { return d.Reason() == "Observing"; }, 5s));
    std::this_thread::sleep_for(1500ms);  // more than one resync
    CHECK(emu.Mutations() == before);
    auto s = d.Status();
    REQUIRE(s);
    auto& steps = s->at("intents").as_array()[0].as_object().at("lastPlanSteps").as_array();
    REQUIRE(!steps.empty());
    CHECK(std::string(steps[0].as_string()).find("0.0.0.0/0") != std::string::npos);
    std::string metrics = proc::Http(d.port(), "GET", "/metrics").body;
    CHECK(metrics.find("dbconnd_world_open_networks_present{intent=\"saleor\"} 1") != std::string::npos);
  }
}

TEST_CASE("An invalid config change keeps the last good generation: a valid one goes live at once") {
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "30ms");
  std::string cfg = proc::SaleorConfigDir(dir.path());
  DaemonProcess d(dir.path(), emu, cfg);
  REQUIRE(proc::WaitFor([&] { return d.Converged(); }, 15s));
  auto good = proc::ReadFile(cfg + "/saleor.yaml");

  proc::WriteFile(cfg + "/saleor.yaml", good + "  bogusKey: 1\n");
  REQUIRE(proc::WaitFor([&] {
    auto s = d.Status();
    return s && s->at("conditions").as_array()[0].as_object().at("reason") == "ConfigInvalid";
  }, 5s));
  auto s = d.Status();
  CHECK(s->at("generation").as_int64() == 1);
  CHECK(s->at("intents").as_array().size() == 1);
  CHECK(d.Converged());
  std::string metrics = proc::Http(d.port(), "GET", "/metrics").body;
  CHECK(metrics.find("dbconnd_config_reloads_total{result=\"invalid\"} 1") != std::string::npos);
  CHECK(d.process().err().find("bogusKey") != std::string::npos);

  // A valid change: observe mode for the intent. Goes live without a restart.
  std::string observe = good;
  auto pos = observe.find("mode: enforce");
  REQUIRE(pos != std::string::npos);
  observe.replace(pos, 13, "mode: observe");
  proc::WriteFile(cfg + "/saleor.yaml", observe);
  REQUIRE(proc::WaitFor([&] {
    auto st = d.Status();
    return st && st->at("generation").as_int64() == 2 &&
           st->at("intents").as_array()[0].as_object().at("mode") == "observe";
  }, 5s));
}

TEST_CASE("The fight breaker trips against a writer that keeps reverting a field") {
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "20ms");
  DaemonProcess d(dir.path(), emu, proc::SaleorConfigDir(dir.path()));
  REQUIRE(proc::WaitFor([&] { return d.Converged(); }, 15s));
  auto patches = emu.Count("PATCH sqladmin.instances.patch");
  bool tripped = proc::WaitFor([&] {
    if (emu.Count("PATCH sqladmin.instances.patch") >= patches + 10) return true;  // runaway
    std::string state = proc::Http(emu.port(), "GET", "/emulator/state").body;
    if (state.find("0.0.0.0/0") == std::string::npos) emu.AddWorldOpen();  // the other writer
    return d.Reason() == "DriftFight";
  }, 40s);  // generous: WaitFor returns as soon as it trips
  REQUIRE(tripped);
  CHECK(d.Reason() == "DriftFight");
  auto corrections = emu.Count("PATCH sqladmin.instances.patch") - patches;
  CHECK(corrections == 4);  // more than 3 ...
  emu.AddWorldOpen("again");
  std::this_thread::sleep_for(2500ms);  // two more resyncs
  CHECK(emu.Count("PATCH sqladmin.instances.patch") - patches == corrections);  // ... then no more
  std::string metrics = proc::Http(d.port(), "GET", "/metrics").body;
  CHECK(metrics.find("dbconnd_drift_fights_total{kind=\"instance\"} 1") != std::string::npos);
}

TEST_CASE("promtool accepts a live /metrics scrape") {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    FAIL("promtool not found: install the Debian package prometheus (scripts/test.sh does)");
  }
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "20ms");
  DaemonProcess d(dir.path(), emu, proc::SaleorConfigDir(dir.path()));
  REQUIRE(proc::WaitFor([&] { return d.Converged(); }, 15s));
  auto scrape = proc::Http(d.port(), "GET", "/metrics");
  REQUIRE(scrape.status == 200);
  proc::WriteFile(dir.path() + "/scrape.txt", scrape.body);
  std::string cmd = "promtool check metrics < " + dir.path() + "/scrape.txt > " + dir.path() +
                    "/promtool.out 2>&1";
  int rc = std::system(cmd.c_str());
  INFO(proc::ReadFile(dir.path() + "/promtool.out"));
  CHECK(rc == 0);
}

}  // namespace
}  // namespace dbconnd::integration
