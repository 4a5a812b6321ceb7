// `dbconnd demo`: the seed incident, reproduced and fixed, against the Google
// Cloud emulator running in this process on 127.0.0.1 (no credentials, no
// network). It narrates five parts: the failing migration job, the diagnosis
// and plan for examples/saleor.yaml, the apply, the job succeeding, and a
// second plan with no changes plus the emulator's count of writes.
//
// Secrets: the seed job carries a literal password in DATABASE_URL. Plans
// and progress lines are redacted already; on top of that every line the
// demo prints passes through a filter that masks each literal URL password
// read from live state, so no code path can print one.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>

#include "common/duration.h"
#include "cli/cli.h"
#include "cli/demo_intent.h"
#include "cli/gcp_setup.h"
#include "cli/plan_output.h"
#include "cli/reconcile_cli.h"
#include "emulator/emulator_server.h"
#include "emulator/auth.h"
#include "reconcilers/diff.h"

namespace dbconnd::cli {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr char kProject[] = "melodic-now-463704-k1";
constexpr char kRegion[] = "us-central1";
constexpr char kJob[] = "saleor-migration-1751028053";

struct DemoOptions {
  std::string config;
  std::string op_delay = "700ms";
  bool no_color = false;
};

void DemoFlags(CLI::App& cmd, DemoOptions& o) {
  cmd.add_option("--config", o.config,
                 "Intent file to apply (default: examples/saleor.yaml, or a built-in copy)")
      ->check(CLI::ExistingFile);
  AddDurationOption(cmd, "--op-delay", o.op_delay,
                    "How long each emulated long-running operation takes, e.g. 700ms, 30s");
  cmd.add_flag("--no-color", o.no_color, "Never colour the output");
}

// Line-buffered stream filter replacing every registered secret with ***.
class RedactingBuf : public std::streambuf {
 public:
  explicit RedactingBuf(std::ostream& sink) : sink_(sink) {}
  ~RedactingBuf() override { Flush(); }
  void AddSecret(std::string s) {
    if (s.size() >= 4) secrets_.push_back(std::move(s));
  }

 protected:
  int overflow(int ch) override {
    if (ch == traits_type::eof()) return 0;
    line_.push_back(static_cast<char>(ch));
    if (ch == '\n') Flush();
    return ch;
  }
  int sync() override {
    Flush();
    return 0;
  }

 private:
  void Flush() {
    if (line_.empty()) return;
    for (const auto& s : secrets_) {
      for (size_t pos = line_.find(s); pos != std::string::npos; pos = line_.find(s, pos + 3)) {
        line_.replace(pos, s.size(), "***");
      }
    }
    sink_ << line_;
    sink_.flush();
    line_.clear();
  }
  std::ostream& sink_;
  std::vector<std::string> secrets_;
  std::string line_;
};

// The password inside "scheme://user:PASSWORD@host/...", if any.
std::string UrlPassword(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  size_t at = url.find('@', scheme + 3);
  if (at == std::string::npos) return "";
  std::string userinfo = url.substr(scheme + 3, at - scheme - 3);
  size_t colon = userinfo.find(':');
  return colon == std::string::npos ? "" : userinfo.substr(colon + 1);
}

std::string FindIntentFile(const DemoOptions& opts, std::string* origin) {
  if (!opts.config.empty()) return opts.config;
  std::vector<fs::path> candidates;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path();
         dir = dir.parent_path()) {
      candidates.push_back(dir / "examples" / "saleor.yaml");
      candidates.push_back(dir / "share" / "dbconnd" / "examples" / "saleor.yaml");
    }
  }
  candidates.push_back(fs::current_path(ec) / "examples" / "saleor.yaml");
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c, ec)) return c.string();
  }
  *origin = "examples/saleor.yaml (built-in copy)";
  return "";
}

std::string Section(const TextStyle& style, int n, const std::string& title) {
  std::string line = "== " + std::to_string(n) + ". " + title + " ";
  while (line.size() < 78) line += "=";
  return "\n" + (style.color ? "\033[1m" + line + "\033[0m" : line) + "\n\n";
}

// Calls the emulator's admin API in-process (same thread, so no lock wait).
std::string Admin(emulator::EmulatorServer& server, std::string method, std::string path) {
  net::HttpRequest req;
  req.method = std::move(method);
  req.url = std::move(path);
  std::lock_guard lock(server.mutex());
  return server.model().Handle(req, emulator::Clock::now()).body;
}

std::string WriteCounts(emulator::EmulatorServer& server, int* mutations) {
  std::string body = Admin(server, "GET", "/emulator/requests");
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  std::string out;
  *mutations = 0;
  if (ec || !v.is_object()) return "  (request log unavailable)\n";
  const auto* counts = v.as_object().if_contains("counts");
  if (!counts || !counts->is_object()) return out;
  for (const auto& [route, n] : counts->as_object()) {
    std::string r(route);
    if (r.rfind("GET ", 0) == 0) continue;
    // getIamPolicy is a read sent as POST (Resource Manager v3).
    if (r.ends_with(".getIamPolicy")) continue;
    int64_t count = n.is_int64() ? n.as_int64() : 0;
    std::string note;
    if (r.find("jobs.run") != std::string::npos) {
      note = "   (the demo's two runs of the migration job)";
    } else {
      *mutations += static_cast<int>(count);
    }
    std::string padded = r;
    while (padded.size() < 46) padded += " ";
    out += "  " + padded + std::to_string(count) + note + "\n";
  }
  return out;
}

gcp::Task<StatusOr<std::string>> JobDatabaseUrl(gcp::Clients clients) {
  auto job = co_await clients.run->GetJob(kProject, kRegion, kJob);
  if (!job.ok()) co_return job.status();
  for (const auto& c : job->containers) {
    for (const auto& e : c.env) {
      if (e.name == "DATABASE_URL") co_return e.value;
    }
  }
  co_return std::string();
}

// The env var that carries the database password (a Secret Manager
// reference to saleor-db), or "" when there is none.
gcp::Task<StatusOr<std::string>> JobPasswordEnv(gcp::Clients clients) {
  auto job = co_await clients.run->GetJob(kProject, kRegion, kJob);
  if (!job.ok()) co_return job.status();
  for (const auto& c : job->containers) {
    for (const auto& e : c.env) {
      if (e.secret && e.secret->secret.ends_with("saleor-db")) co_return e.name;
    }
  }
  co_return std::string();
}

Status RunJobNarrated(boost::asio::io_context& io, gcp::Clients clients,
                      const gcp::WaitOptions& wait, std::ostream& out, const TextStyle& style,
                      bool* succeeded) {
  out << "$ gcloud run jobs execute " << kJob << " --region=" << kRegion << "   (emulated)\n";
  auto started = std::chrono::steady_clock::now();
  auto run = RunToCompletion(
      io, reconcilers::RunJobAndWait(clients, kProject, kRegion, kJob, wait));
  auto elapsed = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() -
                                                          started);
  if (!run.ok()) return run.status();
  *succeeded = run->succeeded;
  std::string verdict = run->succeeded ? "SUCCEEDED" : "FAILED";
  if (style.color) verdict = (run->succeeded ? "\033[32m" : "\033[31m") + verdict + "\033[0m";
  out << "  execution " << fs::path(run->execution).filename().string() << ": " << verdict
      << " after " << FormatElapsed(elapsed) << "\n";
  if (!run->message.empty()) out << "  " << run->message << "\n";
  return OkStatus();
}

int RunDemo(const DemoOptions& opts, CommandContext& ctx) {
  auto op_delay = ParseDurationFlag(
      opts.op_delay, "--op-delay", {std::chrono::milliseconds(0), std::chrono::minutes(10)},
      *ctx.err);
  if (!op_delay) return kExitFailure;
  TextStyle style{UseColor(*ctx.out, opts.no_color)};
  RedactingBuf buf(*ctx.out);
  std::ostream out(&buf);

  // The intent first: a broken file should fail before anything starts.
  std::string origin;
  std::string path = FindIntentFile(opts, &origin);
  config::LoadResult loaded =
      path.empty() ? config::LoadString(kDemoIntentYaml, origin) : config::LoadPaths({path});
  if (!path.empty()) origin = path;
  if (!loaded.ok() || !loaded.state) {
    for (const auto& d : loaded.diagnostics) *ctx.err << config::FormatDiagnostic(d) << "\n";
    *ctx.err << "error: " << origin << " is invalid\n";
    return kExitFailure;
  }

  boost::asio::io_context io;
  emulator::EmulatorOptions eo;
  eo.listen = "127.0.0.1:0";
  eo.model.seed = "incident";
  eo.model.op_delay = *op_delay;
  // A token minted for this run only; nothing else is accepted.
  eo.model.accept_token = emulator::MintToken();
  auto server_or = emulator::EmulatorServer::Start(io.get_executor(), eo);
  if (!server_or.ok()) {
    *ctx.err << "error: cannot start the emulator: " << server_or.status().message() << "\n";
    return kExitFailure;
  }
  auto& server = **server_or;

  gcp::Endpoints endpoints;
  for (auto name : gcp::Endpoints::kNames) {
    Status s = endpoints.Set(name, server.base_url());
    if (!s.ok()) {
      *ctx.err << "error: " << s.message() << "\n";
      return kExitFailure;
    }
  }
  GcpSetupOptions so;
  so.static_token = eo.model.accept_token;
  so.endpoints_override = &endpoints;
  so.proxy_from_environment = false;
  GcpFlags flags;
  flags.no_rate_limits = true;
  auto access = SetUpGcpForCommand(io.get_executor(), flags, *ctx.err, so);
  if (!access) return kExitFailure;
  gcp::Clients clients = access->clients();

  gcp::WaitOptions wait;
  wait.initial_poll = std::clamp(*op_delay / 4, milliseconds(50), milliseconds(1000));
  wait.max_poll = std::clamp(*op_delay / 2, milliseconds(100), milliseconds(5000));
  wait.multiplier = 1.5;
  wait.timeout = std::max(milliseconds(std::chrono::minutes(2)), *op_delay * 20);

  out << "dbconnd demo: the \"connection timeout expired\" incident, reproduced and fixed\n"
      << "against a Google Cloud emulator running inside this process at " << server.base_url()
      << "\n(no credentials, no network; long-running operations take " << FormatElapsed(*op_delay)
      << ", --op-delay changes that).\n";

  // 1. The incident.
  auto url = RunToCompletion(io, JobDatabaseUrl(clients));
  if (url.ok()) buf.AddSecret(UrlPassword(*url));
  out << Section(style, 1, "The incident");
  if (url.ok()) {
    out << "Cloud Run job " << kJob << " reaches its database with\n  DATABASE_URL="
        << reconcilers::DisplayEnvValue(gcp::EnvVar{"DATABASE_URL", *url, std::nullopt}) << "\n"
        << "Cloud SQL instance saleor-db-demo has a public IP and no authorized networks.\n\n";
  }
  bool ok = false;
  Status s = RunJobNarrated(io, clients, wait, out, style, &ok);
  if (!s.ok()) {
    out.flush();
    *ctx.err << "error: running the job: " << s.message() << "\n";
    return kExitFailure;
  }

  // 2. Diagnosis and plan.
  out << Section(style, 2, "Diagnosis and plan for " + origin);
  auto plans = PlanIntents(io, clients, *loaded.state);
  out << RenderPlansText(plans, style);
  if (PlanExitCode(plans) == 1) {
    out.flush();
    *ctx.err << "error: planning failed\n";
    return kExitFailure;
  }

  // 3. Apply.
  out << Section(style, 3, "Apply, one step at a time (re-planned after each)");
  ApplyCliOptions ao;
  ao.timeout = wait.timeout * 4;
  ao.wait = wait;
  ao.idle_poll = wait.max_poll;
  auto applied = ApplyIntents(io, clients, *loaded.state, ao, out, style);
  out << "\n";
  if (ReportApply(applied, out, style) != 0) {
    out.flush();
    *ctx.err << "error: the apply did not converge\n";
    return kExitFailure;
  }

  // 4. The job again.
  out << Section(style, 4, "The migration job, again");
  auto url_after = RunToCompletion(io, JobDatabaseUrl(clients));
  if (url_after.ok()) {
    out << "DATABASE_URL is now "
        << reconcilers::DisplayEnvValue(gcp::EnvVar{"DATABASE_URL", *url_after, std::nullopt})
        << "\n";
    auto pw_env = RunToCompletion(io, JobPasswordEnv(clients));
    if (pw_env.ok() && !pw_env->empty()) {
      out << "The password comes from Secret Manager secret saleor-db in " << *pw_env
          << (*pw_env == "PGPASSWORD" ? ", which libpq (psycopg, Django) reads by itself"
                                       : "")
          << ";\n";
    } else {
      out << "No env var references the password secret;\n";
    }
    out << "the job reaches the private IP through connector saleor-connector.\n\n";
  }
  s = RunJobNarrated(io, clients, wait, out, style, &ok);
  if (!s.ok() || !ok) {
    out.flush();
    *ctx.err << "error: the job still fails after the apply" << (s.ok() ? "" : ": " + s.message())
             << "\n";
    return kExitFailure;
  }

  // 5. Converged.
  out << Section(style, 5, "Converged");
  auto again = PlanIntents(io, clients, *loaded.state);
  out << "$ dbconnd plan " << origin << "\n";
  out << RenderPlansText(again, style);
  int mutations = 0;
  out << "\nWrites the emulator received (method, count):\n" << WriteCounts(server, &mutations);
  size_t executed = 0;
  for (const auto& a : applied) executed += a.result.executed.size();
  out << "\n" << mutations << " writes for " << executed
      << " planned changes: one write per change, none repeated.\n";
  out.flush();
  server.Stop();
  return PlanExitCode(again) == 0 ? kExitOk : kExitFailure;
}

}  // namespace

Runner BindDemo(CLI::App& cmd) { return Bind(cmd, DemoFlags, RunDemo); }

}  // namespace dbconnd::cli
