// High availability with real processes: two `dbconnd run --leader-elect`
// replicas against one gcp-emulator process and a fake Kubernetes API
// server (real Lease semantics, HTTPS, one bearer token per replica) on a
// thread of this test. Who writes is read from the emulator's request log
// and from each replica's own write counters.

#include <catch2/catch.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <signal.h>
#include <utility>

#include "controller_process.h"
#include "tests/support/fake_kube_api.h"
#include "tests/support/test_certs.h"

namespace dbconnd::integration {
namespace {

using namespace std::chrono_literals;
using proc::DaemonProcess;
using proc::EmulatorProcess;
using SteadyClock = std::chrono::steady_clock;

// Short but client-go-shaped: lease > renew deadline > 1.2 x retry.
constexpr auto kLease = 2s;
constexpr auto kRetry = 250ms;
const std::vector<std::string> kLeaseFlags = {
    "--leader-elect", "--leader-elect-lease-duration", "2s", "--leader-elect-renew-deadline",
    "1500ms", "--leader-elect-retry-period", "250ms"};

const std::map<std::string, int64_t> kIncidentWrites = {
    {"POST compute.globalAddresses.insert", 1},
    {"POST servicenetworking.connections.create", 1},
    {"POST vpcaccess.connectors.create", 1},
    {"PATCH sqladmin.instances.patch", 2},
    {"PATCH run.jobs.patch", 1},
};

// The fake API server on its own io_context thread; its state is only
// touched on that thread (On()).
class KubeApiServer {
 public:
  explicit KubeApiServer(const std::string& dir) : dir_(dir) {
    auto ca = testing::MakeTestIdentity("dbconnd test cluster CA", nullptr);
    auto leaf = testing::MakeTestIdentity("127.0.0.1", &ca, "IP:127.0.0.1,DNS:localhost");
    proc::WriteFile(dir + "/kube-ca.pem", ca.cert_pem);
    proc::WriteFile(dir + "/kube-server.pem", leaf.cert_pem);
    proc::WriteFile(dir + "/kube-server.key", leaf.key_pem);
    api_.Start(io_.get_executor(), dir + "/kube-server.pem", dir + "/kube-server.key");
    url_ = api_.url();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~KubeApiServer() {
    On([](k8s::testing::FakeKubeApi& api) {
      api.Stop();
      return 0;
    });
    guard_.reset();
    io_.stop();
    thread_.join();
  }

  template <typename F>
  auto On(F f) -> decltype(f(std::declval<k8s::testing::FakeKubeApi&>())) {
    using R = decltype(f(std::declval<k8s::testing::FakeKubeApi&>()));
    std::promise<R> done;
    auto result = done.get_future();
    boost::asio::post(io_, [&] { done.set_value(f(api_)); });
    if (result.wait_for(5s) != std::future_status::ready) {
      throw std::runtime_error("fake Kubernetes API thread did not answer within 5 s");
    }
    return result.get();
  }

  // A kubeconfig with this server, its CA and `token`.
  std::string Kubeconfig(const std::string& name, const std::string& token) const {
    std::string path = dir_ + "/kubeconfig-" + name;
    proc::WriteFile(path, "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
                          "contexts:\n- name: test\n  context: {cluster: fake, user: " + name +
                              ", namespace: default}\n"
                              "clusters:\n- name: fake\n  cluster:\n    server: " + url_ +
                              "\n    certificate-authority: " + dir_ + "/kube-ca.pem\n"
                              "users:\n- name: " + name + "\n  user: {token: " + token + "}\n");
    return path;
  }

  std::string Holder() {
    return On([](k8s::testing::FakeKubeApi& api) { return api.Holder("default", "dbconnd"); });
  }
  // When `holder` first wrote the lease at or after `since` (nullopt: not yet).
  std::optional<SteadyClock::time_point> FirstWriteBy(const std::string& holder,
                                                      SteadyClock::time_point since) {
    return On([&](k8s::testing::FakeKubeApi& api) -> std::optional<SteadyClock::time_point> {
      for (const auto& w : api.writes) {
        if (w.holder == holder && w.at >= since) return w.at;
      }
      return std::nullopt;
    });
  }
  void Partition(const std::string& token) {
    On([&](k8s::testing::FakeKubeApi& api) {
      api.partitioned.insert(token);
      return 0;
    });
  }

 private:
  std::string dir_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      io_.get_executor()};
  k8s::testing::FakeKubeApi api_;
  std::string url_;
  std::thread thread_;
};

// dbconnd_leader from /metrics: 1, 0, or -1 when there is no answer.
int Leader(const DaemonProcess& d) {
  auto r = proc::Http(d.port(), "GET", "/metrics");
  if (r.status != 200) return -1;
  auto pos = r.body.find("\ndbconnd_leader ");
  if (pos == std::string::npos) return -1;
  return std::atoi(r.body.c_str() + pos + std::string("\ndbconnd_leader ").size());
}

// Mutations this replica sent, from its /status (-1: no answer).
int64_t Writes(const DaemonProcess& d) {
  auto s = d.Status();
  if (!s) return -1;
  int64_t n = 0;
  for (const auto& i : s->at("intents").as_array()) n += i.as_object().at("writes").as_int64();
  return n;
}

struct Replica {
  std::string name;
  std::string token;
  std::string dir;
  std::string kubeconfig;
  std::unique_ptr<DaemonProcess> process;

  void Start(const EmulatorProcess& emu, const std::string& config) {
    std::vector<std::string> extra = kLeaseFlags;
    for (const std::string& s : {std::string("--kubeconfig"), kubeconfig,
                                 std::string("--leader-elect-identity"), name}) {
      extra.push_back(s);
    }
    process = std::make_unique<DaemonProcess>(dir, emu, config, extra);
  }
};

TEST_CASE("two replicas: one leader writes: kill -9 hands over: a partitioned leader stops first",
          "[ha]") {
  proc::TempDir dir;
  KubeApiServer kube(dir.path());
  EmulatorProcess emu(dir.path(), "30ms");
  std::string config = proc::SaleorConfigDir(dir.path());
  Replica replicas[2];
  for (int i = 0; i < 2; ++i) {
    Replica& r = replicas[i];
    r.name = i == 0 ? "replica-a" : "replica-b";
    r.token = i == 0 ? "token-a" : "token-b";
    r.dir = dir.path() + "/" + r.name;
    std::filesystem::create_directories(r.dir);
    r.kubeconfig = kube.Kubeconfig(r.name, r.token);
    r.Start(emu, config);
  }

  // Exactly one leads; it converges the incident and is the only writer.
  int leader = -1;
  REQUIRE(proc::WaitFor([&] {
    int a = Leader(*replicas[0].process), b = Leader(*replicas[1].process);
    leader = a == 1 && b == 0 ? 0 : a == 0 && b == 1 ? 1 : -1;
    return leader >= 0 && replicas[leader].process->Converged();
  }, 15s));
  Replica& first = replicas[leader];
  Replica& second = replicas[1 - leader];
  INFO("first leader " << first.name);
  CHECK(kube.Holder() == first.name);
  CHECK(emu.Mutations() == kIncidentWrites);
  CHECK(Writes(*first.process) == EmulatorProcess::Total(kIncidentWrites));
  CHECK(Writes(*second.process) == 0);
  // The standby keeps observing: it sees the converged state and says so.
  REQUIRE(proc::WaitFor([&] { return second.process->Converged(); }, 5s));
  CHECK(Leader(*second.process) == 0);
  CHECK(second.process->Status()->at("leader") == false);
  CHECK(emu.Mutations() == kIncidentWrites);

  // kill -9 the leader, drift arrives: the standby takes over within the
  // lease duration (plus the candidates' retry jitter) and corrects it once.
  auto patches = emu.Count("PATCH sqladmin.instances.patch");
  first.process->process().Signal(SIGKILL);
  auto killed = SteadyClock::now();
  first.process->process().Wait(5s);
  REQUIRE(emu.AddWorldOpen().status == 200);
  REQUIRE(proc::WaitFor([&] { return Leader(*second.process) == 1; }, 6s));
  auto takeover = SteadyClock::now() - killed;
  INFO("takeover after " << std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count()
                         << " ms");
  CHECK(takeover < kLease + 2 * 2.2 * kRetry + 500ms);
  CHECK(kube.Holder() == second.name);
  REQUIRE(proc::WaitFor([&] {
    return proc::Http(emu.port(), "GET", "/emulator/state").body.find("0.0.0.0/0") ==
           std::string::npos;
  }, 5s));
  // Its pass is counted in /status when it ends.
  CHECK(proc::WaitFor([&] { return Writes(*second.process) == 1; }, 3s));
  CHECK(emu.Count("PATCH sqladmin.instances.patch") == patches + 1);

  // The killed replica comes back as a standby.
  first.Start(emu, config);
  REQUIRE(proc::WaitFor([&] { return Leader(*first.process) == 0 && first.process->Converged(); },
                        5s));
  CHECK(kube.Holder() == second.name);

  // Partition the leader from the API server: it stops leading (and
  // writing) before the other replica may take the lease.
  int64_t second_writes = Writes(*second.process);
  auto partitioned_at = SteadyClock::now();
  kube.Partition(second.token);
  REQUIRE(proc::WaitFor([&] { return Leader(*second.process) == 0; }, 5s));
  auto stopped = SteadyClock::now();
  CHECK(kube.Holder() == second.name);  // nobody has taken over yet
  CHECK_FALSE(kube.FirstWriteBy(first.name, partitioned_at).has_value());
  REQUIRE(proc::WaitFor([&] { return Leader(*first.process) == 1; }, 6s));
  auto acquired = kube.FirstWriteBy(first.name, partitioned_at);
  REQUIRE(acquired.has_value());
  CHECK(stopped < *acquired);
  INFO("leader stopped " << std::chrono::duration_cast<std::chrono::milliseconds>(*acquired - stopped).count()
                         << " ms before the takeover");
  CHECK(kube.Holder() == first.name);

  // New drift: the new leader corrects it exactly once; the partitioned
  // replica, which still reaches Google, sees it and writes nothing.
  patches = emu.Count("PATCH sqladmin.instances.patch");
  REQUIRE(emu.AddWorldOpen("again").status == 200);
  REQUIRE(proc::WaitFor([&] {
    return proc::Http(emu.port(), "GET", "/emulator/state").body.find("0.0.0.0/0") ==
           std::string::npos;
  }, 5s));
  std::this_thread::sleep_for(1200ms);  // one more resync of both
  CHECK(emu.Count("PATCH sqladmin.instances.patch") == patches + 1);
  CHECK(Writes(*second.process) == second_writes);
  CHECK(Writes(*first.process) == 1);
  CHECK(Leader(*second.process) == 0);
}

}  // namespace
}  // namespace dbconnd::integration
