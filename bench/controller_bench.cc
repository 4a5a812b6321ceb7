// `dbconnd run` against `gcp-emulator --seed fleet:N`, both as subprocesses,
// so the daemon's figures are its own (the emulator's memory and CPU are not
// counted). One intent per fleet database: instance, private IP with its
// services range and peering, connector and its job — exactly what the seed
// holds, so a resync changes nothing. Per N it prints:
//   first sync      start -> dbconnd_full_sync_last_success_timestamp_seconds set
//   SIGHUP resync   wall and CPU of a forced resync: SIGHUP reloads the files
//                   and enqueues every intent at once; done when the full-sync
//                   timestamp moves (wall from that timestamp)
//   periodic resync CPU, API reads and writes between two consecutive full
//                   syncs driven by --resync alone (the steady state); CPU
//                   includes the idle time between them and this program's
//                   /metrics polls
//   reads/writes    Google API requests the emulator saw (GET / other)
//   peak RSS        VmHWM of the daemon process (/proc/PID/status)
//   p50/p99         one probe file edited (iamAuthentication: true, one
//                   instances.patch) -> first mutating request at the emulator
//
//   build/<dir>/bench/controller_bench [--n 1000,10000] [--samples 20]
//       [--resync 20] [--per-file 100] [--concurrency 8] [--keep]
//
// Every wait is bounded; on a failure both processes are stopped and that N
// is reported as failed.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/exposition.h"
#include "tests/support/process.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::string kBin = DBCONND_BINARY_DIR;
const std::string kDbconnd = kBin + "/cli/dbconnd";
const std::string kEmulator = kBin + "/emulator/gcp-emulator";
constexpr char kToken[] = "bench-token";

// ---- small process and HTTP helpers (bounded) ------------------------------------

using dbconnd::testing::HttpResult;
using dbconnd::testing::PortFrom;
using dbconnd::testing::Process;
using dbconnd::testing::ReadFile;
using dbconnd::testing::WaitFor;

// The processes answer under load: a longer bound than the tests' default.
HttpResult Http(int port, const std::string& method, const std::string& path) {
  return dbconnd::testing::Http(port, method, path, "", std::chrono::seconds(10));
}

void WriteFileAtomically(const std::string& path, const std::string& text) {
  {
    std::ofstream out(path + ".tmp", std::ios::binary | std::ios::trunc);
    out << text;
  }
  std::filesystem::rename(path + ".tmp", path);
}

// /proc/PID/stat utime + stime, in seconds.
double CpuSeconds(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; in >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// VmHWM of the process, in MiB.
double PeakRssMiB(pid_t pid) {
  std::istringstream in(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return -1;
}

using dbconnd::testing::SumSeries;

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// ---- the fleet as intent files --------------------------------------------------------

// Database i of the fleet seed (emulator/seeds.cc), declared as it is.
// iam: also ask for IAM database authentication, which the seed leaves off:
// exactly one instances.patch (the cloudsql.iam_authentication flag).
std::string IntentYaml(int i, bool iam = false) {
  const char* regions[] = {"us-central1", "europe-west1"};
  const int pi = i % 3, ri = (i / 3) % 2;
  std::ostringstream y;
  y << "---\napiVersion: dbconnd.dev/v1alpha1\nkind: DatabaseConnectivity\nmetadata:\n  name: fleet-"
    << i << "\nspec:\n  project: fleet-project-" << pi + 1 << "\n  projectNumber: \""
    << 100000000001LL + pi << "\"\n  region: " << regions[ri] << "\n  instance:\n    name: db-" << i
    << "\n    sslMode: ENCRYPTED_ONLY\n" << (iam ? "    iamAuthentication: true\n" : "")
    << "    publicIp:\n      enabled: false\n"
    << "    privateIp:\n      network: default\n"
    << "  connector:\n    name: conn-" << ri << "\n    network: default\n    ipCidrRange: 10.8."
    << ri * 16 << ".0/28\n    minInstances: 2\n    maxInstances: 10\n"
    << "  workloads:\n    - job: job-" << i << "\n      method: privateIp\n      database:\n"
    << "        name: app\n        user: app\n        passwordSecret: projects/fleet-project-"
    << pi + 1 << "/secrets/db-" << i << "/versions/latest\n"
    << "  policy:\n    mode: enforce\n";
  return y.str();
}

class Emulator {
 public:
  Emulator(const std::string& dir, int n) {
    p_ = std::make_unique<Process>(
        std::vector<std::string>{kEmulator, "--listen", "127.0.0.1:0", "--seed",
                                 "fleet:" + std::to_string(n), "--accept-token", kToken,
                                 "--op-delay", "20ms"},
        dir + "/emulator.out", dir + "/emulator.err");
    if (!WaitFor([&] {
          port_ = PortFrom(p_->out(), "listening on http://127\\.0\\.0\\.1:(\\d+)");
          return port_ != 0 || !p_->running();
        }, 120s) || port_ == 0) {
      throw std::runtime_error("gcp-emulator did not start: " + p_->err());
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Google API requests so far: (reads, writes).
  std::pair<int64_t, int64_t> Requests() const {
    auto r = Http(port_, "GET", "/emulator/requests");
    if (r.status != 200) throw std::runtime_error("emulator /emulator/requests failed");
    auto v = boost::json::parse(r.body).as_object();
    int64_t reads = 0, writes = 0;
    for (const auto& [k, c] : v.at("counts").as_object()) {
      std::string key(k);
      if (key.find("emulator") != std::string::npos || key.find("token") != std::string::npos) continue;
      (key.rfind("GET ", 0) == 0 ? reads : writes) += c.to_number<int64_t>();
    }
    return {reads, writes};
  }
  std::map<std::string, int64_t> Counts() const {
    std::map<std::string, int64_t> out;
    auto r = Http(port_, "GET", "/emulator/requests");
    if (r.status != 200) return out;
    const boost::json::value v = boost::json::parse(r.body);
    for (const auto& [k, c] : v.as_object().at("counts").as_object()) {
      out[std::string(k)] = c.to_number<int64_t>();
    }
    return out;
  }
  Process& process() { return *p_; }

 private:
  std::unique_ptr<Process> p_;
  int port_ = 0;
};

class Daemon {
 public:
  Daemon(const std::string& dir, const Emulator& emu, const std::string& config, int concurrency,
         int resync_s) {
    {
      std::ofstream(dir + "/token") << kToken << "\n";
    }
    std::filesystem::permissions(dir + "/token", std::filesystem::perms::owner_read |
                                                     std::filesystem::perms::owner_write);
    std::vector<std::string> argv{kDbconnd, "run", "--config", config, "--listen", "127.0.0.1:0",
                                  "--state-dir", dir + "/state",
                                  "--resync", std::to_string(resync_s) + "s", "--operation-poll", "100ms",
                                  "--settle-recheck", "200ms", "--log-level", "info",
                                  "--log-format", "json", "--access-token-file", dir + "/token",
                                  "--no-rate-limits", "--concurrency", std::to_string(concurrency)};
    for (const char* api : {"sqladmin", "run", "vpcaccess", "servicenetworking", "compute",
                          "secretmanager", "cloudresourcemanager"}) {
      argv.push_back("--endpoint");
      argv.push_back(std::string(api) + "=" + emu.url());
    }
    p_ = std::make_unique<Process>(argv, dir + "/dbconnd.out", dir + "/dbconnd.err");
    if (!WaitFor([&] {
          port_ = PortFrom(p_->err(), "serving /metrics /healthz /readyz /status on http://127\\.0\\.0\\.1:(\\d+)");
          return port_ != 0 || !p_->running();
        }, 120s) || port_ == 0) {
      throw std::runtime_error("dbconnd run did not start: " + p_->err().substr(0, 2000));
    }
  }
  std::string Metrics() const { return Http(port_, "GET", "/metrics").body; }
  double LastFullSync() const {
    return SumSeries(Metrics(), "dbconnd_full_sync_last_success_timestamp_seconds");
  }
  Process& process() { return *p_; }

 private:
  std::unique_ptr<Process> p_;
  int port_ = 0;
};

struct Row {
  int n = 0;
  double first_sync_s = -1, forced_wall_s = -1, forced_cpu_s = -1, periodic_cpu_s = -1;
  double peak_mib = -1, p50 = -1, p99 = -1;
  double hwm_first_sync = -1, hwm_resync = -1;  // VmHWM after those phases
  double first_cpu_s = -1, first_emulator_cpu_s = -1;  // CPU over the first sync
  int64_t first_writes = -1;
  int64_t forced_reads = -1, forced_writes = -1, periodic_reads = -1, periodic_writes = -1;
  std::string first_routes, forced_routes, periodic_routes;
  std::string error;
};

std::string RouteDelta(const std::map<std::string, int64_t>& before,
                       const std::map<std::string, int64_t>& after) {
  std::string out;
  for (const auto& [k, v] : after) {
    auto it = before.find(k);
    int64_t delta = v - (it == before.end() ? 0 : it->second);
    if (delta > 0 && k.find("emulator") == std::string::npos && k.find("token") == std::string::npos) {
      out += " " + k + "=" + std::to_string(delta);
    }
  }
  return out;
}

// Google API requests between two request-count snapshots: reads (GET, and
// getIamPolicy, a read sent as POST) or writes (everything else).
int64_t Requests(const std::map<std::string, int64_t>& before,
                 const std::map<std::string, int64_t>& after, bool reads) {
  int64_t t = 0;
  for (const auto& [k, v] : after) {
    if (k.find("emulator") != std::string::npos || k.find("token") != std::string::npos) continue;
    const bool read = k.rfind("GET ", 0) == 0 || k.ends_with(".getIamPolicy");
    if (read != reads) continue;
    auto it = before.find(k);
    t += v - (it == before.end() ? 0 : it->second);
  }
  return t;
}

Row RunOne(int n, int samples, int concurrency, int resync_s, int per_file, bool keep) {
  Row row;
  row.n = n;
  char tmpl[] = "/tmp/dbconnd-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    row.error = "mkdtemp failed";
    return row;
  }
  const std::string dir = tmpl;
  const std::string config = dir + "/config";
  std::filesystem::create_directories(config);
  samples = std::max(0, std::min(samples, n));
  // The intents the latency samples edit live in files of their own; the
  // rest in files of --per-file.
  for (int i = 0; i < samples; ++i) {
    std::ofstream(config + "/probe-" + std::to_string(i) + ".yaml") << IntentYaml(i);
  }
  for (int f = 0; samples + f * per_file < n; ++f) {
    std::ofstream out(config + "/fleet-" + std::to_string(f) + ".yaml");
    for (int i = samples + f * per_file; i < std::min(n, samples + (f + 1) * per_file); ++i) {
      out << IntentYaml(i);
    }
  }

  try {
    Emulator emu(dir, n);
    auto counts_start = emu.Counts();
    const double emu_cpu0 = CpuSeconds(emu.process().pid());
    auto started = Clock::now();
    Daemon d(dir, emu, config, concurrency, resync_s);
    pid_t pid = d.process().pid();
    const auto limit = std::chrono::seconds(120 + n / 20);
    if (!WaitFor([&] { return d.LastFullSync() > 0 || !d.process().running(); }, limit, 100ms) ||
        !d.process().running()) {
      throw std::runtime_error("first full sync not done within " +
                               std::to_string(limit.count()) + " s: " +
                               d.process().err().substr(0, 2000));
    }
    row.first_sync_s = std::chrono::duration<double>(Clock::now() - started).count();
    row.hwm_first_sync = PeakRssMiB(pid);
    // Which side the first sync waited on: the daemon's CPU since it
    // started (loading the intents included) and the emulator's.
    row.first_cpu_s = CpuSeconds(pid);
    row.first_emulator_cpu_s = CpuSeconds(emu.process().pid()) - emu_cpu0;
    std::this_thread::sleep_for(500ms);
    // The seed holds what the intents declare: a first sync that writes
    // measures convergence, not a sync, and its figure would mislead.
    {
      auto after = emu.Counts();
      row.first_routes = RouteDelta(counts_start, after);
      row.first_writes = Requests(counts_start, after, false);
      if (row.first_writes != 0) {
        throw std::runtime_error("the first sync wrote " + std::to_string(row.first_writes) +
                                 " time(s) (" + row.first_routes +
                                 " ): the fleet seed and the intents this benchmark declares "
                                 "disagree; fix one of them");
      }
      // Converged means no diagnosis either (a missing secret, say): each
      // would be held in the intent's status and logged as a warning.
      const std::string log = d.process().err();
      if (auto w = log.find("\"severity\":\"WARNING\""); w != std::string::npos) {
        throw std::runtime_error("the first sync warned, so the fleet is not converged: " +
                                 log.substr(w, std::min<std::size_t>(log.find('\n', w) - w, 600)));
      }
    }

    // Forced: SIGHUP reloads the files and enqueues every intent now.
    auto counts0 = emu.Counts();
    const double last0 = d.LastFullSync();
    const double cpu0 = CpuSeconds(pid);
    const double wall0 = WallNow();
    d.process().Signal(SIGHUP);
    double last1 = last0;
    if (!WaitFor([&] { return (last1 = d.LastFullSync()) > last0; }, limit, 50ms)) {
      throw std::runtime_error("the SIGHUP resync did not finish within " +
                               std::to_string(limit.count()) + " s");
    }
    const double cpu1 = CpuSeconds(pid);
    auto counts1 = emu.Counts();
    row.forced_wall_s = last1 - wall0;
    row.forced_cpu_s = cpu1 - cpu0;
    row.hwm_resync = PeakRssMiB(pid);
    row.forced_routes = RouteDelta(counts0, counts1);

    // Periodic: the next full sync comes from --resync alone (every intent
    // was requeued R±10% after its forced pass). Poll rarely while idle.
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(resync_s * 800)));
    double last2 = last1;
    if (!WaitFor([&] { return (last2 = d.LastFullSync()) > last1; },
                 std::chrono::seconds(resync_s * 2) + limit, 100ms)) {
      throw std::runtime_error("no periodic full sync within " +
                               std::to_string(resync_s * 2 + limit.count()) + " s");
    }
    const double cpu2 = CpuSeconds(pid);
    auto counts2 = emu.Counts();
    row.periodic_cpu_s = cpu2 - cpu1;
    row.periodic_routes = RouteDelta(counts1, counts2);
    row.forced_reads = Requests(counts0, counts1, true);
    row.forced_writes = Requests(counts0, counts1, false);
    row.periodic_reads = Requests(counts1, counts2, true);
    row.periodic_writes = Requests(counts1, counts2, false);

    // File change -> first write at the emulator.
    std::vector<double> lat;
    for (int s = 0; s < samples; ++s) {
      const int64_t w0 = emu.Requests().second;
      auto t0 = Clock::now();
      WriteFileAtomically(config + "/probe-" + std::to_string(s) + ".yaml",
                          IntentYaml(s, /*iam=*/true));
      if (!WaitFor([&] { return emu.Requests().second > w0; }, 30s, 2ms)) {
        throw std::runtime_error("no write within 30 s of changing probe-" + std::to_string(s));
      }
      lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      // Let the write's operation finish and the intent settle before the next edit.
      int64_t seen = -1;
      WaitFor([&] {
        int64_t now = emu.Requests().second;
        bool still = now == seen;
        seen = now;
        return still;
      }, 10s, 300ms);
    }
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double p) {
      if (lat.empty()) return -1.0;
      size_t idx = static_cast<size_t>(std::ceil(p * static_cast<double>(lat.size()))) - 1;
      return lat[std::min(lat.size() - 1, idx)];
    };
    row.p50 = pct(0.5);
    row.p99 = pct(0.99);
    row.peak_mib = PeakRssMiB(pid);
    d.process().Stop();
    emu.process().Stop();
  } catch (const std::exception& e) {
    row.error = e.what();
  }
  if (!keep) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  } else {
    std::cerr << "kept " << dir << "\n";
  }
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> ns{1000, 10000};
  int samples = 20;
  int concurrency = 8;
  int resync_s = 20;
  int per_file = 100;
  bool keep = false;
  const char* usage =
      "usage: controller_bench [--n 1000,10000] [--samples 20] [--resync 20] [--per-file 100]\n"
      "                        [--concurrency 8] [--keep]\n";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << usage;
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--n") {
      ns.clear();
      std::stringstream ss(next());
      std::string tok;
      while (std::getline(ss, tok, ',')) ns.push_back(std::stoi(tok));
    } else if (a == "--samples") {
      samples = std::stoi(next());
    } else if (a == "--concurrency") {
      concurrency = std::stoi(next());
    } else if (a == "--resync") {
      resync_s = std::max(2, std::stoi(next()));
    } else if (a == "--per-file") {
      per_file = std::max(1, std::stoi(next()));
    } else if (a == "--keep") {
      keep = true;
    } else {
      std::cerr << usage;
      return 2;
    }
  }
  for (const auto* bin : {&kDbconnd, &kEmulator}) {
    if (::access(bin->c_str(), X_OK) != 0) {
      std::cerr << "missing " << *bin << " (build the dbconnd and gcp-emulator targets)\n";
      return 2;
    }
  }
  std::printf("%6s %8s | %8s %7s %6s %6s | %7s %6s %6s | %8s | %7s %7s\n", "N", "1st_sync",
              "SIGHUP_s", "cpu_s", "reads", "writes", "per_cpu", "reads", "writes", "peak_MiB",
              "p50_ms", "p99_ms");
  std::fflush(stdout);
  int failed = 0;
  for (int n : ns) {
    Row r = RunOne(n, samples, concurrency, resync_s, per_file, keep);
    if (!r.error.empty()) {
      std::printf("%6d  failed: %s\n", n, r.error.c_str());
      std::fflush(stdout);
      ++failed;
      continue;
    }
    std::printf("%6d %8.2f | %8.3f %7.3f %6lld %6lld | %7.3f %6lld %6lld | %8.1f | %7.1f %7.1f\n",
                r.n, r.first_sync_s, r.forced_wall_s, r.forced_cpu_s,
                static_cast<long long>(r.forced_reads), static_cast<long long>(r.forced_writes),
                r.periodic_cpu_s, static_cast<long long>(r.periodic_reads),
                static_cast<long long>(r.periodic_writes), r.peak_mib, r.p50, r.p99);
    std::printf("       first sync CPU: dbconnd %.2f s, gcp-emulator %.2f s\n", r.first_cpu_s,
                r.first_emulator_cpu_s);
    std::printf("       first sync requests:%s\n", r.first_routes.c_str());
    std::printf("       SIGHUP resync requests:%s\n", r.forced_routes.c_str());
    std::printf("       periodic resync requests:%s\n", r.periodic_routes.c_str());
    std::printf("       VmHWM after first sync %.1f MiB, after the SIGHUP resync %.1f MiB, at the end %.1f MiB\n",
                r.hwm_first_sync, r.hwm_resync, r.peak_mib);
    std::fflush(stdout);
  }
  return failed == 0 ? 0 : 1;
}
