// End to end with a real Prometheus server (Debian package `prometheus`):
// it scrapes a running `dbconnd run` (against a gcp-emulator process) every
// second, and what an SRE would query moves when drift is injected.
//
// Hidden from the default test list ([.]); ctest runs it under the label
// e2e: `ctest --preset ci -L e2e`.

#include <catch2/catch.hpp>

#include <cctype>
#include <functional>
#include <thread>
#include <signal.h>

#include "common/rfc3339.h"
#include "controller_process.h"

namespace dbconnd::integration {
namespace {

using namespace std::chrono_literals;
using proc::DaemonProcess;
using proc::EmulatorProcess;

const std::string kPrometheus = "/usr/bin/prometheus";

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string UrlEncode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// A port nobody listens on right now (Prometheus cannot report the port it
// picked for :0, so one is chosen here; a lost race shows as a bind error
// and is retried).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

class PrometheusServer {
 public:
  // `rule_file`: alerting rules to evaluate every second (optional).
  PrometheusServer(const std::string& dir, int target_port, const std::string& rule_file = "") {
    proc::WriteFile(dir + "/prometheus.yml",
                    "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "  evaluation_interval: 1s\n" +
                        (rule_file.empty() ? std::string()
                                           : "rule_files:\n  - '" + rule_file + "'\n") +
                        "scrape_configs:\n  - job_name: dbconnd\n    static_configs:\n"
                        "      - targets: ['127.0.0.1:" + std::to_string(target_port) + "']\n");
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = FreePort();
      std::filesystem::create_directories(dir + "/tsdb");
      p_ = std::make_unique<proc::Process>(
          std::vector<std::string>{kPrometheus, "--config.file=" + dir + "/prometheus.yml",
                                   "--storage.tsdb.path=" + dir + "/tsdb",
                                   "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                   "--log.level=warn"},
          dir + "/prometheus.out", dir + "/prometheus.err");
      // Bounded: TSDB start-up and the first config load.
      if (proc::WaitFor([&] {
            return !p_->running() || proc::Http(port_, "GET", "/-/ready").status == 200;
          }, 30s) && p_->running()) {
        return;
      }
      if (p_->err().find("address already in use") == std::string::npos) break;
    }
    throw std::runtime_error("prometheus did not become ready: " + p_->err());
  }
  ~PrometheusServer() {
    if (p_ && p_->running()) {
      p_->Signal(SIGTERM);
      p_->Wait(5s);
    }
    // ~Process kills the group if it is still there.
  }

  // The value of an instant query whose result has one sample; nullopt when
  // it has none (yet) or Prometheus does not answer.
  std::optional<double> Query(const std::string& promql) const {
    std::string path = "/api/v1/query?query=" + UrlEncode(promql);
    auto r = proc::Http(port_, "GET", path);
    if (r.status != 200) return std::nullopt;
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto& result = v.at("data").at("result").as_array();
    if (result.size() != 1) return std::nullopt;
    return std::stod(std::string(result[0].at("value").as_array()[1].as_string()));
  }

  // How many series an instant query returns; -1 on an error (the message
  // in `error`).
  int Count(const std::string& promql, std::string* error = nullptr) const {
    std::string path = "/api/v1/query?query=" + UrlEncode(promql);
    auto r = proc::Http(port_, "GET", path);
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (r.status != 200 || ec || !v.is_object()) {
      if (error) *error = "HTTP " + std::to_string(r.status) + ": " + r.body;
      return -1;
    }
    return static_cast<int>(v.at("data").at("result").as_array().size());
  }

  // Waits (bounded) until `promql` has a value for which `pred` holds.
  bool WaitQuery(const std::string& promql, const std::function<bool(double)>& pred,
                 std::chrono::milliseconds limit, double* last = nullptr) const {
    return proc::WaitFor([&] {
      auto v = Query(promql);
      if (v && last) *last = *v;
      return v && pred(*v);
    }, limit);
  }
  std::string log() const { return p_->err(); }

 private:
  std::unique_ptr<proc::Process> p_;
  int port_ = 0;
};

TEST_CASE("Prometheus scrapes dbconnd: up is 1: drift, writes and world-open move on drift",
          "[.][e2e][prometheus]") {
  if (!std::filesystem::exists(kPrometheus)) {
    FAIL("/usr/bin/prometheus not found: install the Debian package prometheus "
         "(sudo apt-get install -y prometheus; scripts/test.sh installs it)");
  }
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "30ms");
  std::string config = proc::SaleorConfigDir(dir.path());
  DaemonProcess d(dir.path(), emu, config);
  REQUIRE(proc::WaitFor([&] { return d.Converged(); }, 15s));

  PrometheusServer prom(dir.path(), d.port());
  INFO("prometheus log:\n" << prom.log());
  REQUIRE(prom.WaitQuery(R"(up{job="dbconnd"})", [](double v) { return v == 1; }, 15s));

  // Everything scraped so far was after convergence.
  const std::string drift = "sum(dbconnd_drift_detected_total)";
  const std::string writes = "sum(dbconnd_writes_total)";
  const std::string world_open = R"(dbconnd_world_open_networks_present{intent="saleor"})";
  double drift_before = -1, writes_before = -1, v = -1;
  REQUIRE(prom.WaitQuery(drift, [](double x) { return x > 0; }, 5s, &drift_before));
  REQUIRE(prom.WaitQuery(writes, [](double x) { return x > 0; }, 5s, &writes_before));
  REQUIRE(prom.WaitQuery(world_open, [](double x) { return x == 0; }, 5s));
  CHECK(writes_before == EmulatorProcess::Total(emu.Mutations()));

  // Enforce mode: someone adds 0.0.0.0/0; dbconnd finds and corrects it.
  REQUIRE(emu.AddWorldOpen().status == 200);
  CHECK(prom.WaitQuery(drift, [&](double x) { return x > drift_before; }, 10s, &v));
  CHECK(prom.WaitQuery(writes, [&](double x) { return x == writes_before + 1; }, 10s, &v));
  CHECK(prom.WaitQuery(
      R"(sum(dbconnd_writes_total{api="sqladmin",method="instances.patch",result="ok"}))",
      [](double x) { return x == 3; }, 10s, &v));

  // Observe mode (a config change): the world-open network stays, and the
  // gauge SREs page on shows it, while writes stay flat.
  std::string yaml = proc::ReadFile(config + "/saleor.yaml");
  auto pos = yaml.find("mode: enforce");
  REQUIRE(pos != std::string::npos);
  yaml.replace(pos, 13, "mode: observe");
  proc::WriteFile(config + "/saleor.yaml", yaml);
  REQUIRE(proc::WaitFor([&] {
    auto s = d.Status();
    return s && s->at("intents").as_array()[0].as_object().at("mode") == "observe";
  }, 5s));
  REQUIRE(prom.WaitQuery(drift, [](double) { return true; }, 5s, &drift_before));
  REQUIRE(emu.AddWorldOpen("observed").status == 200);
  CHECK(prom.WaitQuery(world_open, [](double x) { return x == 1; }, 10s, &v));
  CHECK(prom.WaitQuery(drift, [&](double x) { return x > drift_before; }, 10s, &v));
  CHECK(prom.Query(writes) == writes_before + 1);
  CHECK(prom.Query("sum(dbconnd_world_open_unapproved_intents)") == 1);
}

// Every query of every panel of deploy/grafana/dbconnd.json, with the
// dashboard's variables filled in and a trailing "> 0" display filter
// dropped (it hides zeros on purpose; the series must still exist).
std::vector<std::pair<std::string, std::string>> DashboardQueries() {
  auto doc = boost::json::parse(proc::ReadFile(proc::kSourceDir + "/deploy/grafana/dbconnd.json"));
  std::vector<std::pair<std::string, std::string>> out;
  std::function<void(const boost::json::array&)> walk = [&](const boost::json::array& panels) {
    for (const auto& pv : panels) {
      const auto& panel = pv.as_object();
      if (auto* nested = panel.if_contains("panels")) walk(nested->as_array());
      auto* targets = panel.if_contains("targets");
      if (!targets) continue;
      for (const auto& t : targets->as_array()) {
        auto* expr = t.as_object().if_contains("expr");
        if (!expr) continue;
        std::string q(expr->as_string());
        for (auto [from, to] : {std::pair<std::string, std::string>{"$__rate_interval", "1m"},
                                {"$instance", ".*"}}) {
          for (auto pos = q.find(from); pos != std::string::npos; pos = q.find(from)) {
            q.replace(pos, from.size(), to);
          }
        }
        const std::string filter = " > 0";
        if (q.size() > filter.size() && q.compare(q.size() - filter.size(), filter.size(), filter) == 0) {
          q.resize(q.size() - filter.size());
        }
        out.emplace_back(std::string(panel.at("title").as_string()), q);
      }
    }
  };
  walk(doc.at("panels").as_array());
  return out;
}

TEST_CASE("Prometheus: an expiring network fires its alert, and every dashboard panel has data",
          "[.][e2e][prometheus]") {
  if (!std::filesystem::exists(kPrometheus)) {
    FAIL("/usr/bin/prometheus not found: install the Debian package prometheus "
         "(sudo apt-get install -y prometheus; scripts/test.sh installs it)");
  }
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "300ms");
  // Some API errors for the error panels, retried by the daemon.
  REQUIRE(proc::Http(emu.port(), "POST", "/emulator/faults",
                     R"({"faults":[{"route":"GET sqladmin.instances.list","status":429,"count":2}]})")
              .status == 200);
  std::string cfg = dir.path() + "/config";
  std::filesystem::create_directories(cfg);
  // The partner's access ends in two hours: inside the alert's one-day window.
  const std::string soon = FormatRfc3339(std::chrono::system_clock::now() + 2h);
  proc::WriteFile(cfg + "/partner.yaml",
                  "apiVersion: dbconnd.dev/v1alpha1\nkind: DatabaseConnectivity\n"
                  "metadata: {name: partner}\nspec:\n  project: melodic-now-463704-k1\n"
                  "  region: us-central1\n  instance:\n    name: saleor-db-demo\n"
                  "    sslMode: ENCRYPTED_ONLY\n    publicIp:\n      enabled: true\n"
                  "      authorizedNetworks:\n        - {name: office, cidr: 203.0.113.0/24}\n"
                  "        - {name: partner, cidr: 192.0.2.0/24, expires: \"" + soon + "\"}\n"
                  "  policy: {mode: enforce}\n");
  DaemonProcess d(dir.path(), emu, cfg, {"--rate-limit", "sqladmin.list=600/min"});
  REQUIRE(proc::WaitFor([&] { return d.Converged(); }, 20s));

  PrometheusServer prom(dir.path(), d.port(), proc::kSourceDir + "/deploy/prometheus/alerts.yaml");
  INFO("prometheus log:\n" << prom.log());
  REQUIRE(prom.WaitQuery(R"(up{job="dbconnd"})", [](double v) { return v == 1; }, 15s));

  double v = -1;
  CHECK(prom.WaitQuery(
      R"(count(ALERTS{alertname="DbconndAuthorizedNetworkExpiring",intent="partner",alertstate=~"pending|firing"}))",
      [](double x) { return x == 1; }, 20s, &v));

  // Rates need two scrapes inside their window.
  std::this_thread::sleep_for(3s);
  for (const auto& [title, query] : DashboardQueries()) {
    std::string error;
    int n = -1;
    proc::WaitFor([&] { return (n = prom.Count(query, &error)) > 0; }, 10s, 500ms);
    INFO("panel \"" << title << "\": " << query << " " << error);
    CHECK(n > 0);
  }
}

}  // namespace
}  // namespace dbconnd::integration
