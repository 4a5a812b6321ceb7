// The controller against the emulator's fleet:N seed, in one process (as
// `dbconnd demo` runs): the real REST clients over loopback HTTP, the
// controller, the config watcher. Prints, per N:
//   wall and CPU time of one no-change resync, API reads per resync, writes
//   per converged resync, peak RSS, and file-change-to-first-write latency
//   (p50/p99 over --samples edits of one intent's file).
//
//   build/<dir>/bench/controller_bench [--n 1000,10000] [--samples 20]

#include <sys/resource.h>
#include <sys/time.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/controller.h"
#include "daemon/gcp_setup.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/watcher.h"
#include "emulator/emulator_server.h"

namespace {
using namespace dbconnd;
using Clock = std::chrono::steady_clock;

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
long PeakRssKiB() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// One intent per fleet database, matching what the seed holds.
std::string IntentYaml(int i, const std::string& ssl = "ENCRYPTED_ONLY") {
  const char* regions[] = {"us-central1", "europe-west1"};
  int pi = i % 3, ri = (i / 3) % 2;
  std::ostringstream y;
  y << "apiVersion: dbconnd.dev/v1alpha1\nkind: DatabaseConnectivity\nmetadata:\n  name: fleet-" << i
    << "\nspec:\n  project: fleet-project-" << pi + 1 << "\n  projectNumber: \""
    << 100000000001LL + pi << "\"\n  region: " << regions[ri] << "\n  instance:\n    name: db-" << i
    << "\n    sslMode: " << ssl << "\n    publicIp:\n      enabled: false\n"
    << "  policy:\n    mode: enforce\n";
  return y.str();
}

struct Env {
  boost::asio::io_context io;
  std::unique_ptr<emulator::EmulatorServer> emu;
  gcp::Endpoints endpoints;
  std::unique_ptr<daemon::GcpAccess> access;

  int64_t Requests(bool mutations) {
    net::HttpRequest req;
    req.url = "/emulator/requests";
    std::lock_guard lock(emu->mutex());
    auto resp = emu->model().Handle(req, emulator::Clock::now());
    auto v = boost::json::parse(resp.body).as_object();
    int64_t n = 0;
    for (const auto& [k, c] : v.at("counts").as_object()) {
      std::string key(k);
      bool get = key.rfind("GET ", 0) == 0;
      if (key.find("emulator") != std::string::npos || key.find("token") != std::string::npos) continue;
      if (get != mutations) n += c.as_int64();
    }
    return n;
  }
};

template <typename Pred>
bool RunUntil(boost::asio::io_context& io, Pred pred, std::chrono::seconds limit) {
  auto end = Clock::now() + limit;
  while (!pred()) {
    if (Clock::now() > end) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(1));
  }
  return true;
}

int64_t TotalReconciles(daemon::Metrics& m) {
  std::istringstream in(m.Serialize());
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.rfind("dbconnd_reconciles_total{kind=\"instance\"", 0) != 0) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return static_cast<int64_t>(sum);
}

void RunOne(int n, int samples) {
  Env env;
  emulator::EmulatorOptions eo;
  eo.model.seed = "fleet:" + std::to_string(n);
  eo.model.op_delay = std::chrono::milliseconds(1);
  eo.model.accept_token = "bench-token";
  auto emu = emulator::EmulatorServer::Start(env.io.get_executor(), eo);
  if (!emu.ok()) {
    std::cerr << emu.status() << "\n";
    return;
  }
  env.emu = std::move(*emu);
  for (auto name : gcp::Endpoints::kNames) (void)env.endpoints.Set(name, env.emu->base_url());
  daemon::GcpSetupOptions so;
  so.static_token = "bench-token";
  so.endpoints_override = &env.endpoints;
  so.proxy_from_environment = false;
  daemon::GcpFlags flags;
  flags.no_rate_limits = true;
  env.access = std::move(*daemon::SetUpGcp(env.io.get_executor(), flags, so));

  std::string dir = std::filesystem::temp_directory_path() / ("dbconnd-bench-" + std::to_string(n));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const int per_file = 500;
  for (int f = 0; f * per_file < n; ++f) {
    std::ofstream out(dir + "/fleet-" + std::to_string(f) + ".yaml");
    for (int i = f * per_file; i < std::min(n, (f + 1) * per_file); ++i) out << "---\n" << IntentYaml(i);
  }
  std::ofstream(dir + "/probe.yaml") << IntentYaml(n);  // one intent the latency test edits

  daemon::Metrics metrics;
  daemon::ControllerOptions co;
  co.resync = std::chrono::hours(1);  // resyncs are triggered by hand below
  co.apply.max_idle_polls = 0;
  co.apply.wait.initial_poll = std::chrono::milliseconds(5);
  auto controller = daemon::Controller::Create(env.io.get_executor(), env.access->clients(), co,
                                               &metrics, nullptr);
  daemon::ConfigReloader reloader({dir}, controller, &metrics);
  if (!reloader.Reload("start").ok()) {
    std::cerr << "bench config does not load\n";
    return;
  }
  controller->Start();
  // The probe intent's instance does not exist in the seed; it stays in error.
  auto all_done = [&](int64_t target) { return TotalReconciles(metrics) >= target; };
  if (!RunUntil(env.io, [&] { return all_done(n + 1); }, std::chrono::seconds(1800))) {
    std::cerr << "first sync did not finish\n";
    return;
  }
  // Converge any drift, then measure a resync that should change nothing.
  controller->EnqueueAll();
  RunUntil(env.io, [&] { return all_done(2 * (n + 1)); }, std::chrono::seconds(1800));
  int64_t reads0 = env.Requests(false), writes0 = env.Requests(true);
  double cpu0 = CpuSeconds();
  auto t0 = Clock::now();
  controller->EnqueueAll();
  RunUntil(env.io, [&] { return all_done(3 * (n + 1)); }, std::chrono::seconds(1800));
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = CpuSeconds() - cpu0;
  int64_t reads = env.Requests(false) - reads0, writes = env.Requests(true) - writes0;

  // File change -> first mutating request the emulator sees.
  std::vector<double> lat;
  auto watcher = daemon::ConfigWatcher::Start(env.io.get_executor(), {dir}, std::chrono::milliseconds(50),
                                              [&reloader] { reloader.Reload("file change"); });
  for (int s = 0; s < std::min(samples, std::min(n, per_file)) && watcher.ok(); ++s) {
    // Each sample moves one more intent of the first file to another sslMode.
    std::ostringstream text;
    for (int k = 0; k < std::min(n, per_file); ++k) {
      text << "---\n" << IntentYaml(k, k <= s ? "TRUSTED_CLIENT_CERTIFICATE_REQUIRED" : "ENCRYPTED_ONLY");
    }
    int64_t w0 = env.Requests(true);
    auto start = Clock::now();
    {
      std::ofstream out(dir + "/fleet-0.yaml.tmp");
      out << text.str();
    }
    std::filesystem::rename(dir + "/fleet-0.yaml.tmp", dir + "/fleet-0.yaml");
    if (!RunUntil(env.io, [&] { return env.Requests(true) > w0; }, std::chrono::seconds(30))) break;
    lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    RunUntil(env.io, [&] { return controller->queue().processing() == 0; }, std::chrono::seconds(30));
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? -1.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * static_cast<double>(lat.size())))];
  };
  std::printf("%8d  %10.3f  %9.3f  %10lld  %9lld  %10.1f  %9.1f  %9.1f\n", n, wall, cpu,
              static_cast<long long>(reads), static_cast<long long>(writes),
              static_cast<double>(PeakRssKiB()) / 1024.0, pct(0.5), pct(0.99));
  std::fflush(stdout);
  if (watcher.ok()) (*watcher)->Stop();
  env.access.reset();
  env.emu->Stop();
  env.io.restart();
  env.io.run_for(std::chrono::milliseconds(100));
  std::filesystem::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> ns{1000, 10000};
  int samples = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--n") {
      ns.clear();
      std::stringstream ss(argv[i + 1]);
      std::string tok;
      while (std::getline(ss, tok, ',')) ns.push_back(std::stoi(tok));
    } else if (a == "--samples") {
      samples = std::stoi(argv[i + 1]);
    }
  }
  dbconnd::daemon::GlobalLogger().SetLevel(dbconnd::daemon::LogLevel::kError);
  std::printf("%8s  %10s  %9s  %10s  %9s  %10s  %9s  %9s\n", "N", "resync_s", "cpu_s",
              "api_reads", "writes", "peakRSS_MiB", "p50_ms", "p99_ms");
  for (int n : ns) RunOne(n, samples);
  return 0;
}
