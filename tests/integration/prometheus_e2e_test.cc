// End to end with a real Prometheus server (Debian package `prometheus`):
// it scrapes a running `dbconnd run` (against a gcp-emulator process) every
// second, and what an SRE would query moves when drift is injected.
//
// Hidden from the default test list ([.]); ctest runs it under the label
// e2e: `ctest --preset ci -L e2e`.

#include <catch2/catch.hpp>

#include <cctype>
#include <signal.h>

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
  PrometheusServer(const std::string& dir, int target_port) {
    proc::WriteFile(dir + "/prometheus.yml",
                    "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "  evaluation_interval: 1s\n"
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

}  // namespace
}  // namespace dbconnd::integration
