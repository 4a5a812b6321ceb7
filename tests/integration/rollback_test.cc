// `dbconnd rollback` and the resume after kill -9, against a gcp-emulator
// process: a real `dbconnd run` converges the incident and journals its
// writes; rollback plans the journal's prior values and executes them through
// reconcilers::Apply. What is checked is what a user sees: exit codes, the
// instance read back from the emulator, and the emulator's own request log.

#include <catch2/catch.hpp>

#include <signal.h>

#include <sstream>

#include "controller_process.h"
#include "cli/cli.h"
#include "controller/journal.h"
#include "gcp/endpoints.h"

namespace dbconnd::integration {
namespace {

using namespace std::chrono_literals;
using proc::DaemonProcess;
using proc::EmulatorProcess;
namespace json = boost::json;

constexpr char kInstancePath[] = "melodic-now-463704-k1/saleor-db-demo";
constexpr char kIamFlag[] = "cloudsql.iam_authentication";

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run Cli(const std::string& dir, const EmulatorProcess& emu, std::vector<std::string> args) {
  args.push_back("--access-token-file");
  args.push_back(dir + "/token");
  args.push_back("--no-rate-limits");
  for (auto name : gcp::Endpoints::kNames) {
    args.push_back("--endpoint");
    args.push_back(std::string(name) + "=" + emu.url());
  }
  std::ostringstream out, err;
  int code = cli::RunCli(args, out, err);
  return {code, out.str(), err.str()};
}

// The instance as the emulator holds it (admin API: no token involved).
json::object Instance(const EmulatorProcess& emu) {
  auto r = proc::Http(emu.port(), "GET", "/emulator/state");
  REQUIRE(r.status == 200);
  return json::parse(r.body).at("sql").at("instances").at(kInstancePath).as_object();
}

const json::object& IpConfig(const json::object& instance) {
  return instance.at("settings").at("ipConfiguration").as_object();
}

bool HasFlag(const json::object& instance, const std::string& name) {
  const auto* flags = instance.at("settings").as_object().if_contains("databaseFlags");
  if (!flags) return false;
  for (const auto& f : flags->as_array()) {
    if (f.at("name").as_string() == name) return true;
  }
  return false;
}

std::string Ssl(const json::object& instance) {
  const auto* m = IpConfig(instance).if_contains("sslMode");
  return m ? std::string(m->as_string()) : "";
}

// Requests that changed state, per route (refused and dropped ones not
// counted), from the emulator's request log.
std::map<std::string, int64_t> Effective(const EmulatorProcess& emu) {
  std::map<std::string, int64_t> out;
  auto r = proc::Http(emu.port(), "GET", "/emulator/requests");
  REQUIRE(r.status == 200);
  const json::value log = json::parse(r.body);
  for (const auto& [k, n] : log.at("mutations").as_object()) {
    out[std::string(k)] = n.to_number<int64_t>();
  }
  return out;
}

// `dbconnd run` converges the incident (journaling generation 1), then stops.
void ApplyWithDaemon(const proc::TempDir& dir, const EmulatorProcess& emu) {
  DaemonProcess d(dir.path(), emu, proc::SaleorConfigDir(dir.path()));
  REQUIRE(proc::WaitFor([&] { return d.Converged(); }, 30s));
  d.process().Signal(SIGTERM);
  REQUIRE(d.process().Wait(10s));
}

std::vector<controller::JournalEntry> JournalEntries(const std::string& dir) {
  auto e = controller::Journal::ReadFile(dir + "/state/journal.jsonl", nullptr);
  REQUIRE(e.ok());
  return *e;
}

TEST_CASE("rollback: preview exits 2, --yes restores the prior values, a second one has nothing "
          "to do",
          "[integration][rollback]") {
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "30ms");
  const json::object seed = Instance(emu);
  REQUIRE(IpConfig(seed).at("ipv4Enabled").as_bool());
  ApplyWithDaemon(dir, emu);
  const json::object applied = Instance(emu);
  REQUIRE_FALSE(IpConfig(applied).at("ipv4Enabled").as_bool());
  REQUIRE(Ssl(applied) == "ENCRYPTED_ONLY");
  REQUIRE(HasFlag(applied, kIamFlag));
  const std::string state = dir.path() + "/state";

  auto writes = emu.Mutations();
  Run preview = Cli(dir.path(), emu, {"rollback", "--state-dir", state, "--last"});
  INFO(preview.out << preview.err);
  CHECK(preview.code == 2);
  CHECK_THAT(preview.out, Catch::Contains("settings.ipConfiguration.ipv4Enabled: false -> true"));
  CHECK_THAT(preview.out, Catch::Contains("settings.databaseFlags[cloudsql.iam_authentication]"));
  CHECK_THAT(preview.out, Catch::Contains("(kept) settings.ipConfiguration.privateNetwork"));
  CHECK(emu.Mutations() == writes);  // a preview writes nothing

  Run yes = Cli(dir.path(), emu, {"rollback", "--state-dir", state, "--last", "--yes"});
  INFO(yes.out << yes.err);
  REQUIRE(yes.code == 0);
  const json::object restored = Instance(emu);
  CHECK(IpConfig(restored).at("ipv4Enabled").as_bool());
  CHECK(Ssl(restored) == Ssl(seed));
  CHECK_FALSE(HasFlag(restored, kIamFlag));
  // Irreversible: the private network stays.
  CHECK(IpConfig(restored).if_contains("privateNetwork") != nullptr);
  // One PATCH, sent with the live settingsVersion (a stale one gets 412).
  auto after = emu.Mutations();
  CHECK(after["PATCH sqladmin.instances.patch"] == writes["PATCH sqladmin.instances.patch"] + 1);
  CHECK(EmulatorProcess::Total(after) == EmulatorProcess::Total(writes) + 1);
  // Journaled like the daemon's writes, finished.
  bool journaled = false;
  for (const auto& e : JournalEntries(dir.path())) {
    if (e.intent == "rollback") journaled = e.finished && e.outcome_code == "OK" && e.has_operation;
  }
  CHECK(journaled);

  // A second rollback: nothing to do, nothing sent.
  Run again = Cli(dir.path(), emu, {"rollback", "--state-dir", state, "--last"});
  INFO(again.out << again.err);
  CHECK(again.code == 0);
  CHECK_THAT(again.out, Catch::Contains("already at the journaled prior values"));
  Run again_yes = Cli(dir.path(), emu, {"rollback", "--state-dir", state, "--last", "--yes"});
  INFO(again_yes.out << again_yes.err);
  CHECK(again_yes.code == 0);
  CHECK(emu.Mutations() == after);
}

TEST_CASE("rollback: a 409 in the middle is waited out and the rollback still succeeds",
          "[integration][rollback]") {
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "30ms");
  const json::object seed = Instance(emu);
  ApplyWithDaemon(dir, emu);
  auto effective = Effective(emu);
  auto patches = emu.Count("PATCH sqladmin.instances.patch");
  REQUIRE(proc::Http(emu.port(), "POST", "/emulator/faults",
                     R"({"route":"PATCH sqladmin.instances.patch","status":409,"count":1})")
              .status == 200);
  Run yes = Cli(dir.path(), emu,
                {"rollback", "--state-dir", dir.path() + "/state", "--last", "--yes"});
  INFO(yes.out << yes.err);
  CHECK(yes.code == 0);
  const json::object restored = Instance(emu);
  CHECK(IpConfig(restored).at("ipv4Enabled").as_bool());
  CHECK(Ssl(restored) == Ssl(seed));
  CHECK_FALSE(HasFlag(restored, kIamFlag));
  // The refused PATCH and the one that went through: one change.
  CHECK(emu.Count("PATCH sqladmin.instances.patch") == patches + 2);
  effective["PATCH sqladmin.instances.patch"] += 1;
  CHECK(Effective(emu) == effective);
}

TEST_CASE("kill -9 during an instance PATCH: the restart resumes through the Apply path",
          "[integration][rollback][kill]") {
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "3s");  // the interrupted operation outlives the restart
  std::string cfg = proc::SaleorConfigDir(dir.path());
  std::string interrupted;
  {
    DaemonProcess d(dir.path(), emu, cfg);
    // Killed while the first instance PATCH's operation runs: journaled with
    // its operation, no outcome.
    REQUIRE(proc::WaitFor(
        [&] {
          auto e = controller::Journal::ReadFile(dir.path() + "/state/journal.jsonl", nullptr);
          if (!e.ok()) return false;
          for (const auto& x : *e) {
            if (x.step == "instance/saleor-db-demo" && x.has_operation && !x.finished) {
              interrupted = x.id;
              return true;
            }
          }
          return false;
        },
        60s));
    d.process().Signal(SIGKILL);
    d.process().Wait(5s);
  }
  REQUIRE(proc::Http(emu.port(), "DELETE", "/emulator/requests").status / 100 == 2);
  DaemonProcess again(dir.path(), emu, cfg);
  // What the restarted process asks Cloud SQL first, until it polls an
  // operation.
  REQUIRE(proc::WaitFor([&] { return emu.Count("GET sqladmin.operations.get") > 0; }, 20s, 5ms));
  auto log = json::parse(proc::Http(emu.port(), "GET", "/emulator/requests").body);
  std::vector<std::string> sql;
  for (const auto& r : log.at("recent").as_array()) {
    std::string s(r.as_string());
    std::string route = s.substr(0, s.find(' ', s.find(' ') + 1));
    if (route.find(" sqladmin.") != std::string::npos) sql.push_back(route);
  }
  INFO([&] {
    std::string s;
    for (const auto& r : sql) s += r + "\n";
    return s;
  }());
  // The Apply path: observe and plan first; only when the instance step is
  // next does it wait, under the instance gate, for the interrupted
  // operation. Waiting beside the write path would poll it before reading
  // anything.
  auto first = [&](const std::string& route) {
    return std::find(sql.begin(), sql.end(), route) - sql.begin();
  };
  CHECK(std::min(first("GET sqladmin.instances.list"), first("GET sqladmin.instances.get")) <
        first("GET sqladmin.operations.get"));
  CHECK(first("PATCH sqladmin.instances.patch") > first("GET sqladmin.operations.get"));

  REQUIRE(proc::WaitFor([&] { return again.Converged(); }, 60s));
  // Nothing twice: the interrupted PATCH is not resent; what remains of the
  // incident (the workload, then the public path) is written once each.
  const std::map<std::string, int64_t> rest = {{"PATCH sqladmin.instances.patch", 1},
                                                {"PATCH run.jobs.patch", 1}};
  CHECK(Effective(emu) == rest);
  // The interrupted entry is settled from what the pass observed.
  bool settled = false;
  for (const auto& e : JournalEntries(dir.path())) {
    if (e.id != interrupted) continue;
    settled = e.finished && e.outcome_code == "OK" &&
              e.outcome_message.find("resumed: live state shows the change") != std::string::npos;
  }
  CHECK(settled);
  CHECK(again.process().err().find("resuming: ") != std::string::npos);
}

}  // namespace
}  // namespace dbconnd::integration
