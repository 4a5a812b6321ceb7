// A running `dbconnd run` whose job gets a 1 MiB DATABASE_URL from someone
// with run.jobs.update: the daemon keeps answering /healthz, corrects the
// drift, and shows the value capped in its logs and /status (never a 1 MiB
// line). Real binaries: gcp-emulator and dbconnd. The 100 ms /healthz goal
// is measured in bench/ (status_bench) and reported; here the bound is a
// hang guard only.

#include <catch2/catch.hpp>

#include <thread>

#include "controller_process.h"

namespace dbconnd::integration {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using proc::DaemonProcess;
using proc::EmulatorProcess;

const std::string kJobName =
    "projects/melodic-now-463704-k1/locations/us-central1/jobs/saleor-migration-1751028053";

// The job as the emulator holds it (its admin state document).
std::optional<json::object> JobOf(const EmulatorProcess& emu) {
  auto r = proc::Http(emu.port(), "GET", "/emulator/state", "", std::chrono::seconds(10));
  if (r.status != 200) return std::nullopt;
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* run = v.as_object().if_contains("run");
  if (!run || !run->is_object()) return std::nullopt;
  const auto* jobs = run->as_object().if_contains("jobs");
  if (!jobs || !jobs->is_object()) return std::nullopt;
  const auto* job = jobs->as_object().if_contains(kJobName);
  if (!job || !job->is_object()) return std::nullopt;
  return job->as_object();
}

// The job's DATABASE_URL value in the emulator; nullopt when unreadable.
std::optional<std::string> DatabaseUrl(const EmulatorProcess& emu) {
  auto job = JobOf(emu);
  if (!job) return std::nullopt;
  const auto* tmpl = job->if_contains("template");
  if (!tmpl) return std::nullopt;
  const auto* inner = tmpl->as_object().if_contains("template");
  if (!inner) return std::nullopt;
  for (const auto& c : inner->as_object().at("containers").as_array()) {
    const auto* env = c.as_object().if_contains("env");
    if (!env) continue;
    for (const auto& e : env->as_array()) {
      const auto& o = e.as_object();
      if (o.at("name").as_string() == "DATABASE_URL" && o.contains("value")) {
        return std::string(o.at("value").as_string());
      }
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("a 1 MiB DATABASE_URL drift: /healthz keeps answering, the drift is corrected, logs "
          "and /status show it capped",
          "[integration][hostile]") {
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "30ms");
  DaemonProcess d(dir.path(), emu, proc::SaleorConfigDir(dir.path()));
  REQUIRE(proc::WaitFor([&] { return d.Converged(); }, 20s));
  const auto good = DatabaseUrl(emu);
  REQUIRE(good);
  REQUIRE(good->size() < 1000);

  // Someone sets the job's DATABASE_URL to 1 MiB of letters.
  const std::string huge(1 << 20, 'a');
  auto job = JobOf(emu);
  REQUIRE(job);
  json::object tmpl = job->at("template").as_object();
  for (auto& c : tmpl.at("template").as_object().at("containers").as_array()) {
    for (auto& e : c.as_object().at("env").as_array()) {
      if (e.as_object().at("name").as_string() == "DATABASE_URL") e.as_object()["value"] = huge;
    }
  }
  auto edited = proc::Http(
      emu.port(), "POST", "/emulator/edit",
      json::serialize(json::object{{"job", kJobName}, {"merge", json::object{{"template", tmpl}}}}),
      std::chrono::seconds(10));
  REQUIRE(edited.status == 200);
  REQUIRE(DatabaseUrl(emu)->size() == huge.size());

  // /healthz answers throughout, and the drift is written back.
  std::chrono::steady_clock::duration slowest{};
  int probes = 0;
  bool corrected = false;
  const auto end = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < end) {
    const auto t0 = std::chrono::steady_clock::now();
    auto h = proc::Http(d.port(), "GET", "/healthz");
    const auto took = std::chrono::steady_clock::now() - t0;
    ++probes;
    slowest = std::max(slowest, took);
    INFO("probe " << probes);
    REQUIRE(h.status == 200);
    REQUIRE(took < 2s);  // hang guard; the 100 ms goal is measured in bench/
    // /status while the drift is seen: small, the value capped.
    auto status = proc::Http(d.port(), "GET", "/status");
    REQUIRE(status.status == 200);
    REQUIRE(status.body.size() < 64 * 1024);
    REQUIRE(status.body.find(std::string(4096, 'a')) == std::string::npos);
    auto now_url = DatabaseUrl(emu);
    if (now_url && *now_url == *good) {
      corrected = true;
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(corrected);
  WARN("slowest /healthz during the drift: "
       << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count() << " ms over "
       << probes << " probes");

  // The correction is in the logs, capped: no line carries the 1 MiB value.
  std::string logs;
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
    if (f.path().filename().string().rfind("dbconnd.", 0) == 0) logs += proc::ReadFile(f.path());
  }
  CHECK(logs.find("DATABASE_URL") != std::string::npos);
  CHECK(logs.find("(1048576 bytes)") != std::string::npos);
  std::size_t longest = 0;
  std::size_t pos = 0;
  while (pos < logs.size()) {
    std::size_t nl = logs.find('\n', pos);
    if (nl == std::string::npos) nl = logs.size();
    longest = std::max(longest, nl - pos);
    pos = nl + 1;
  }
  CHECK(longest < 16 * 1024);
  CHECK(logs.find(std::string(4096, 'a')) == std::string::npos);

  // /status stays small; whatever it quotes of the value is capped.
  auto status = proc::Http(d.port(), "GET", "/status");
  REQUIRE(status.status == 200);
  CHECK(status.body.size() < 64 * 1024);
  CHECK(status.body.find(std::string(4096, 'a')) == std::string::npos);
}

}  // namespace dbconnd::integration
