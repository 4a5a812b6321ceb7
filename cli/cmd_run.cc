// `dbconnd run --config PATH`: the long-running controller. Wires the
// configuration (watched), the Google clients, the journal, the controller
// and the HTTP endpoints on one io_context thread, and handles signals:
// SIGTERM/SIGINT stop taking work and exit within 10 s; SIGHUP reloads.

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <malloc.h>

#include <cctype>
#include <csignal>
#include <cstdlib>
#include <string_view>
#include <memory>
#include <ostream>

#include "common/duration.h"
#include "cli/cli.h"
#include "controller/controller.h"
#include "controller/endpoints.h"
#include "cli/gcp_setup.h"
#include "controller/journal.h"
#include "controller/log.h"
#include "controller/api_telemetry.h"
#include "controller/metrics.h"
#include "controller/watcher.h"
#include "gcp/write_fence.h"
#include "k8s/cluster_config.h"
#include "k8s/leader_elector.h"
#include "k8s/lease_client.h"
#include "net/http_client.h"

namespace dbconnd::cli {
using controller::ConfigReloader;
using controller::ConfigWatcher;
using controller::Controller;
using controller::ControllerOptions;
using controller::Journal;
using controller::LogFormat;
using controller::LogInfo;
using controller::LogWarning;
using controller::LoggerOptions;
using controller::Metrics;
using controller::MetricsOptions;
using controller::MetricsTelemetry;
using controller::ParseLogLevel;
using controller::SetGlobalLogger;
using controller::StartEndpoints;
namespace asio = boost::asio;
namespace {

struct RunOptions {
  std::vector<std::string> config;
  std::string listen = "127.0.0.1:9090";
  std::string state_dir = "/var/lib/dbconnd";
  bool observe = false;
  std::size_t concurrency = 8;
  std::string resync = "60s";
  std::string operation_poll = "1s";
  std::string settle_recheck = "2s";
  std::string shutdown_grace = "9s";
  std::string log_level = "info";
  std::string log_format = "auto";
  std::size_t max_intent_series = 100;
  bool leader_elect = false;
  std::string leader_elect_namespace;  // empty: the cluster config's namespace
  std::string leader_elect_name = "dbconnd";
  std::string leader_elect_identity;  // empty: POD_NAME, else the host name
  // client-go's defaults.
  std::string leader_elect_lease_duration = "15s";
  std::string leader_elect_renew_deadline = "10s";
  std::string leader_elect_retry_period = "2s";
  std::string kubeconfig;
  GcpFlags gcp;
};

void RunFlags(CLI::App& cmd, RunOptions& o) {
  cmd.add_option("--config", o.config, "Desired-state file or directory (repeatable)")->required();
  cmd.add_option("--listen", o.listen, "Address for /metrics /healthz /readyz /status")
      ->capture_default_str();
  cmd.add_option("--state-dir", o.state_dir, "Directory for the mutation journal")
      ->capture_default_str();
  cmd.add_flag("--observe", o.observe, "Report drift only; never write");
  cmd.add_option("--concurrency", o.concurrency, "Intents reconciled at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  AddDurationOption(cmd, "--resync", o.resync,
                    "Resync interval (±10% jitter) for intents without policy.resyncInterval");
  AddDurationOption(cmd, "--operation-poll", o.operation_poll,
                    "First poll interval of long-running operations");
  AddDurationOption(cmd, "--settle-recheck", o.settle_recheck,
                    "Recheck interval while a dependency settles (connector CREATING, ...)");
  AddDurationOption(cmd, "--shutdown-grace", o.shutdown_grace,
                    "How long SIGTERM waits for in-flight writes");
  cmd.add_option("--log-level", o.log_level, "debug, info, warning or error")
      ->capture_default_str();
  cmd.add_option("--log-format", o.log_format, "auto (text on a terminal), json or text")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "json", "text"}));
  cmd.add_option("--max-intent-series", o.max_intent_series,
                 "Intents that get per-intent metric series")
      ->capture_default_str();
  cmd.add_flag("--leader-elect", o.leader_elect,
               "Only the holder of a Kubernetes Lease writes; standbys observe");
  cmd.add_option("--leader-elect-namespace", o.leader_elect_namespace,
                 "Namespace of the Lease (default: the pod's / kubeconfig's)");
  cmd.add_option("--leader-elect-name", o.leader_elect_name, "Name of the Lease")
      ->capture_default_str();
  cmd.add_option("--leader-elect-identity", o.leader_elect_identity,
                 "Holder identity in the Lease (default: $POD_NAME, else the host name)");
  AddDurationOption(cmd, "--leader-elect-lease-duration", o.leader_elect_lease_duration,
                    "How long a standby waits after the last renewal before taking over (whole "
                    "seconds, at least 1s)");
  AddDurationOption(cmd, "--leader-elect-renew-deadline", o.leader_elect_renew_deadline,
                    "How long the leader keeps writing without a successful renewal; must be "
                    "less than the lease duration");
  AddDurationOption(cmd, "--leader-elect-retry-period", o.leader_elect_retry_period,
                    "Interval between renewals (leader) or acquire attempts (standby)");
  cmd.add_option("--kubeconfig", o.kubeconfig,
                 "Kubeconfig for out-of-cluster leader election (default: in-cluster, "
                 "$KUBECONFIG, ~/.kube/config)");
  AddGcpFlags(cmd, o.gcp);
}

// Everything `run` owns, destroyed in reverse order after the loop stops.
struct Daemon {
  asio::io_context io;
  // Asked by every Google client right before a write's bytes go out.
  std::shared_ptr<gcp::WriteFence> fence;
  // Before `access`: the REST clients report to it through `telemetry`.
  std::shared_ptr<Metrics> metrics;
  std::shared_ptr<MetricsTelemetry> telemetry;
  std::unique_ptr<GcpAccess> access;
  std::unique_ptr<Journal> journal;
  std::shared_ptr<Controller> controller;
  std::unique_ptr<ConfigReloader> reloader;
  std::shared_ptr<ConfigWatcher> watcher;
  std::unique_ptr<net::HttpServer> server;
  std::unique_ptr<k8s::LeaderElector> elector;
  bool elector_done = true;
  std::chrono::milliseconds grace{9'000};
  bool clean = true;
};

asio::awaitable<void> StopDaemon(Daemon* d, std::string why) {
  LogInfo("received " + why + ": no new work; letting in-flight writes record their operation");
  if (d->watcher) d->watcher->Stop();
  bool done = co_await d->controller->Shutdown(d->grace);
  if (!done) {
    d->clean = false;
    LogWarning("shutdown grace period over with work in flight; the journal lets the next start "
               "resume it");
  }
  if (d->elector) {
    // The fence is closed (Shutdown): no write starts. Release the Lease only
    // when no write of ours can still land: every admitted write has
    // finished or passed its deadline (never later than the Lease's
    // validity). Otherwise leave the Lease to expire, as a killed process
    // would, so a standby cannot write while ours may still arrive.
    co_await d->fence->WaitQuiet(std::chrono::steady_clock::now() + d->grace);
    const bool quiet = d->fence->in_flight() == 0 ||
                       std::chrono::steady_clock::now() >= d->fence->Quiet();
    if (!quiet) {
      LogWarning("a write may still be in flight: not releasing the Lease; it expires on its own");
    }
    d->elector->Stop(/*release=*/quiet);
    asio::steady_timer t(d->io);
    for (int i = 0; i < 50 && !d->elector_done; ++i) {
      t.expires_after(std::chrono::milliseconds(20));
      co_await t.async_wait(asio::use_awaitable);
    }
  }
  if (d->server) d->server->Stop();
  d->io.stop();
}

asio::awaitable<void> RunElector(Daemon* d) {
  co_await d->elector->Run();
  d->elector_done = true;
}

// --leader-elect: a coordination.k8s.io Lease; only the holder writes.
Status SetUpLeaderElection(Daemon* d, const RunOptions& opts) {
  auto cluster = k8s::LoadDefaultClusterConfig(opts.kubeconfig);
  if (!cluster.ok()) return cluster.status();
  net::ClientOptions co;
  co.ca_file = cluster->ca_file();
  auto http = net::MakeHttpClient(d->io.get_executor(), co);
  if (!http.ok()) return http.status();
  std::shared_ptr<net::HttpClient> shared_http = std::move(*http);
  k8s::LeaseClientOptions lease_options;
  Metrics* requests = d->metrics.get();
  lease_options.on_request = [requests](std::string_view rpc, int http_status,
                                        std::string_view failure, double seconds) {
    if (http_status != 0) {
      requests->ApiRequest("kubernetes", rpc, http_status, seconds);
    } else {
      requests->ApiRequest("kubernetes", rpc, failure, seconds);
    }
  };
  auto client = std::make_shared<k8s::LeaseClient>(shared_http, *cluster, lease_options);
  k8s::LeaderElectionConfig lec;
  lec.lease_namespace =
      opts.leader_elect_namespace.empty() ? cluster->default_namespace() : opts.leader_elect_namespace;
  lec.lease_name = opts.leader_elect_name;
  lec.identity =
      opts.leader_elect_identity.empty() ? k8s::DefaultIdentity() : opts.leader_elect_identity;
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  struct {
    const std::string& text;
    const char* flag;
    DurationBounds bounds;
    milliseconds* out;
  } durations[] = {
      // The Lease records whole seconds; below one second replicas would disagree.
      {opts.leader_elect_lease_duration, "--leader-elect-lease-duration", {seconds(1), hours(1)},
       &lec.lease_duration},
      {opts.leader_elect_renew_deadline, "--leader-elect-renew-deadline",
       {milliseconds(100), hours(1)}, &lec.renew_deadline},
      {opts.leader_elect_retry_period, "--leader-elect-retry-period",
       {milliseconds(100), hours(1)}, &lec.retry_period},
  };
  for (auto& flag : durations) {
    auto parsed = ParseDuration(flag.text, flag.flag, flag.bounds);
    if (!parsed.ok()) return parsed.status();
    *flag.out = *parsed;
  }
  Metrics* metrics = d->metrics.get();
  Daemon* daemon = d;
  lec.callbacks.on_started_leading = [metrics, daemon] {
    LogInfo("leader election: leading; writes enabled");
    metrics->SetLeader(true);
    if (daemon->controller) daemon->controller->EnqueueAll();
  };
  lec.callbacks.on_stopped_leading = [metrics] {
    LogWarning("leader election: not leading; writes stopped (observing only)");
    metrics->SetLeader(false);
  };
  lec.callbacks.on_new_leader = [](const std::string& who) {
    LogInfo("leader election: leader is " + (who.empty() ? std::string("nobody") : who));
  };
  std::string summary = "leader election: Lease " + lec.lease_namespace + "/" + lec.lease_name +
                        " as " + lec.identity + " via " + cluster->Describe() + ", lease " +
                        opts.leader_elect_lease_duration + ", renew deadline " +
                        opts.leader_elect_renew_deadline + ", retry " +
                        opts.leader_elect_retry_period;
  auto elector = k8s::LeaderElector::Create(client, lec);
  if (!elector.ok()) return elector.status();
  d->elector = std::move(*elector);
  LogInfo(summary);
  return Status();
}

asio::awaitable<void> Signals(Daemon* d) {
  asio::signal_set signals(d->io, SIGTERM, SIGINT, SIGHUP);
  while (true) {
    int sig = co_await signals.async_wait(asio::use_awaitable);
    if (sig == SIGHUP) {
      d->reloader->Reload("SIGHUP", /*force_read=*/true);
      d->controller->EnqueueAll();
      continue;
    }
    co_await StopDaemon(d, sig == SIGTERM ? "SIGTERM" : "SIGINT");
    co_return;
  }
}

// A daemon's heap, unlike a command's, lives for months. glibc raises its
// mmap and trim thresholds after the first large free (a reply body, a list
// page's arena), after which such buffers come from the heap and their space
// is kept; fixed thresholds send them back to the kernel when freed.
// GLIBC_TUNABLES, when it names malloc settings, wins.
void TuneAllocator() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::string_view(tunables).find("malloc") != std::string_view::npos) return;
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  ::mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

int RunDaemon(const RunOptions& opts, CommandContext& ctx) {
  TuneAllocator();
  auto level = ParseLogLevel(opts.log_level);
  if (!level) {
    *ctx.err << "error: --log-level: want debug, info, warning or error\n";
    return kExitUsage;
  }
  LoggerOptions lo;
  lo.level = *level;
  lo.format = opts.log_format == "json"   ? LogFormat::kJson
              : opts.log_format == "text" ? LogFormat::kText
                                          : LogFormat::kAuto;
  SetGlobalLogger(lo);

  using std::chrono::milliseconds;
  auto resync = ParseDuration(opts.resync, "--resync",
                              {std::chrono::seconds(1), std::chrono::hours(24)});
  auto poll = ParseDuration(opts.operation_poll, "--operation-poll",
                            {milliseconds(100), std::chrono::minutes(10)});
  auto settle = ParseDuration(opts.settle_recheck, "--settle-recheck",
                              {milliseconds(100), std::chrono::minutes(10)});
  auto grace = ParseDuration(opts.shutdown_grace, "--shutdown-grace",
                             {milliseconds(0), std::chrono::minutes(10)});
  for (auto* d : {&resync, &poll, &settle, &grace}) {
    if (!d->ok()) {
      *ctx.err << "error: " << d->status().message() << "\n";
      return kExitUsage;
    }
  }

  auto d = std::make_unique<Daemon>();
  d->grace = *grace;
  MetricsOptions mo;
  mo.max_intent_series = opts.max_intent_series;
  d->metrics = std::make_shared<Metrics>(mo);
  d->metrics->SetLeader(!opts.leader_elect);
  d->telemetry = std::make_shared<MetricsTelemetry>(d->metrics);

  // Under --leader-elect a write may be sent only while the Lease is valid,
  // and its request may not outlive that validity (write_deadline(), which
  // is time_point::min() when not leading, so nothing is sent before the
  // elector exists or after it stopped leading).
  std::function<gcp::SteadyTime()> lease_valid_until;
  if (opts.leader_elect) {
    Daemon* daemon = d.get();
    lease_valid_until = [daemon] {
      return daemon->elector ? daemon->elector->write_deadline() : gcp::SteadyTime::min();
    };
  }
  d->fence = std::make_shared<gcp::WriteFence>(std::move(lease_valid_until));
  GcpSetupOptions gcp_setup;
  gcp_setup.rest.write_fence = d->fence;
  gcp_setup.rest.telemetry = d->telemetry;
  d->access = SetUpGcpForCommand(d->io.get_executor(), opts.gcp, *ctx.err, std::move(gcp_setup));
  if (!d->access) return kExitFailure;
  LogInfo("Google credentials: " + d->access->DescribeCredentials());
  {
    // Gauges about "now", fresh at every scrape. Everything runs on the
    // io_context thread that also serves /metrics.
    MetricsTelemetry* telemetry = d->telemetry.get();
    gcp::RateLimiter* limiter = &d->access->rest().rate_limiter();
    d->metrics->SetPreScrapeHook([telemetry, limiter](Metrics&) { telemetry->Refresh(limiter); });
  }
  if (opts.leader_elect) {
    Status le = SetUpLeaderElection(d.get(), opts);
    if (!le.ok()) {
      *ctx.err << "error: --leader-elect: " << le.message() << "\n";
      return kExitFailure;
    }
  }

  auto journal = Journal::Open(opts.state_dir);
  if (!journal.ok()) {
    *ctx.err << "error: --state-dir: " << journal.status().message() << "\n";
    return kExitFailure;
  }
  if (Status locked = (*journal)->LockExclusive(); !locked.ok()) {
    *ctx.err << "error: --state-dir: " << locked.message()
             << "; two daemons may not share a state dir\n";
    return kExitFailure;
  }
  d->journal = std::move(*journal);
  for (const auto& w : d->journal->warnings()) LogWarning("journal: " + w);
  if (auto n = d->journal->Unfinished().size(); n > 0) {
    LogInfo("journal: " + std::to_string(n) +
            " interrupted write(s) will be resumed (waiting on their operations) before anything "
            "else is written for their intents");
  }

  ControllerOptions co;
  co.concurrency = opts.concurrency;
  co.resync = *resync;
  co.observe = opts.observe;
  co.write_fence = d->fence;
  co.settle_recheck = *settle;
  co.apply.wait.initial_poll = *poll;
  // Near 30 s between polls of a long operation: a 5-minute Cloud SQL patch
  // costs ~14 operations.get (gcp::WaitOptions).
  co.apply.wait.max_poll = std::max(*poll, std::chrono::milliseconds(30'000));
  co.apply.wait.telemetry = d->telemetry;
  co.apply.idle_poll = *settle;
  co.apply.max_idle_polls = 0;  // the controller requeues settling intents itself
  co.apply.timeout = std::chrono::minutes(30);
  if (d->elector) {
    k8s::LeaderElector* elector = d->elector.get();
    co.can_write = [elector] { return elector->CanWrite(); };
  }
  d->controller =
      Controller::Create(d->io.get_executor(), d->access->clients(), co, d->metrics.get(),
                         d->journal.get());

  d->reloader = std::make_unique<ConfigReloader>(opts.config, d->controller, d->metrics.get());
  Status loaded = d->reloader->Reload("start");
  if (!loaded.ok()) {
    *ctx.err << "error: " << loaded.message() << "\n"
             << "Run `dbconnd validate` on the files for details.\n";
    return kExitFailure;
  }

  auto server = StartEndpoints(d->io.get_executor(), opts.listen, d->controller, d->metrics.get());
  if (!server.ok()) {
    *ctx.err << "error: --listen " << opts.listen << ": " << server.status().message() << "\n";
    return kExitFailure;
  }
  d->server = std::move(*server);
  LogInfo("serving /metrics /healthz /readyz /status on " + d->server->url());

  ConfigReloader* reloader = d->reloader.get();
  auto watcher = ConfigWatcher::Start(d->io.get_executor(), opts.config,
                                      std::chrono::milliseconds(50),
                                      [reloader] { reloader->Reload("file change"); });
  if (!watcher.ok()) {
    LogWarning("not watching the configuration (SIGHUP still reloads): " +
               watcher.status().message());
  } else {
    d->watcher = std::move(*watcher);
  }

  asio::co_spawn(d->io, Signals(d.get()), asio::detached);
  if (d->elector) {
    d->elector_done = false;
    asio::co_spawn(d->io, RunElector(d.get()), asio::detached);
  }
  d->controller->Start();
  LogInfo(std::string("controller running") + (opts.observe ? " in observe mode (no writes)" : "") +
          ", " + std::to_string(opts.concurrency) + " concurrent reconciles, resync " +
          opts.resync);
  d->io.run();
  LogInfo(d->clean ? "stopped cleanly" : "stopped with work in flight");
  // Sessions and timers hold references into these; tear down with the loop stopped.
  d->watcher.reset();
  d->server.reset();
  return d->clean ? kExitOk : kExitFailure;
}

}  // namespace

Runner BindRun(CLI::App& cmd) { return Bind(cmd, RunFlags, RunDaemon); }

}  // namespace dbconnd::cli
