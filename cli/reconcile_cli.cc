#include "cli/reconcile_cli.h"

#include <algorithm>
#include <cctype>
#include <ostream>

#include "reconcilers/direct_vpc.h"
#include "reconcilers/observation_cache.h"
#include "reconcilers/planner.h"
#include "reconcilers/project_number.h"

namespace dbconnd::cli {
namespace {

// Plans run this many at a time: enough to overlap the API round trips of
// a large fleet, few enough to stay well inside the client's rate limit.
constexpr std::size_t kPlanConcurrency = 8;

gcp::Task<IntentPlan> PlanOne(gcp::Clients clients,
                              std::shared_ptr<reconcilers::ObservationCache> cache,
                              config::Intent intent) {
  IntentPlan p;
  p.name = intent.name;
  p.file = intent.where.file;
  p.plan.intent = intent.name;
  p.plan.project = intent.project;
  p.plan.region = intent.region;
  if (auto resolved = co_await reconcilers::ResolveProjectNumber(clients, intent); resolved.ok()) {
    intent = std::move(*resolved);
  } else {
    p.status = resolved.status();
    co_return p;
  }
  auto live = co_await cache->Observe(intent);
  if (!live.ok()) {
    p.status = live.status();
    co_return p;
  }
  p.plan = reconcilers::ComputePlan(intent, *live);
  co_return p;
}

// Takes the next unplanned intent until none is left. Pointers outlive the
// coroutine: PlanIntents runs the io_context until every worker finished.
gcp::Task<void> PlanWorker(gcp::Clients clients, std::shared_ptr<reconcilers::ObservationCache> cache,
                           const config::DesiredState* state, std::size_t* next,
                           std::vector<IntentPlan>* out) {
  while (*next < state->intents.size()) {
    const std::size_t i = (*next)++;
    (*out)[i] = co_await PlanOne(clients, cache, *state->intents[i]);
  }
}

// One point-in-time read for a whole command (plan, apply): snapshots are
// not re-listed while the command runs.
std::shared_ptr<reconcilers::ObservationCache> CommandSnapshot(gcp::Clients clients) {
  reconcilers::ObservationCacheOptions oo;
  oo.max_age = std::chrono::hours(24);
  return reconcilers::ObservationCache::Create(clients, oo);
}

}  // namespace

std::shared_ptr<const config::DesiredState> LoadForCommand(const std::vector<std::string>& paths,
                                                           std::ostream& err) {
  config::LoadResult r = config::LoadPaths(paths);
  for (const auto& d : r.diagnostics) err << config::FormatDiagnostic(d) << "\n";
  if (!r.ok() || !r.state) {
    err << "the intent files are invalid (" << r.error_count()
        << (r.error_count() == 1 ? " error" : " errors")
        << "); fix them first, `dbconnd validate` shows the same messages\n";
    return nullptr;
  }
  return r.state;
}

std::vector<IntentPlan> PlanIntents(boost::asio::io_context& io, gcp::Clients clients,
                                    const config::DesiredState& state) {
  std::vector<IntentPlan> out(state.intents.size());
  if (state.intents.empty()) return out;
  // One point-in-time read for the whole command: each project's instances
  // and each region's connectors, jobs and services are listed once and
  // shared by every intent, instead of every intent listing the region
  // again (reads growing with N, work with N^2).
  auto cache = CommandSnapshot(clients);
  std::size_t next = 0;
  std::size_t running = 0;
  std::exception_ptr error;
  const std::size_t workers = std::min(kPlanConcurrency, state.intents.size());
  for (std::size_t w = 0; w < workers; ++w) {
    ++running;
    boost::asio::co_spawn(io, PlanWorker(clients, cache, &state, &next, &out),
                          [&running, &error](std::exception_ptr e) {
                            if (e && !error) error = e;
                            --running;
                          });
  }
  io.restart();
  while (running > 0 && io.run_one() > 0) {
  }
  if (error) std::rethrow_exception(error);
  if (running > 0) std::terminate();  // the io_context ran dry: a lost completion is a bug
  return out;
}

int PlanExitCode(const std::vector<IntentPlan>& plans) {
  bool changes = false;
  for (const auto& p : plans) {
    if (!p.status.ok()) return 1;
    if (p.plan.HasChanges()) changes = true;
  }
  return changes ? 2 : 0;
}

std::vector<IntentApply> ApplyIntents(boost::asio::io_context& io, gcp::Clients clients,
                                      const config::DesiredState& state,
                                      const ApplyCliOptions& options, std::ostream& out,
                                      TextStyle style) {
  std::vector<IntentApply> results;
  auto gate = options.gate ? options.gate : reconcilers::InstanceOperationGate::Create();
  // Intents are read from one shared snapshot, as `plan` reads them; an
  // intent with something to write is read again directly before its first
  // write (ApplyOptions::observations).
  auto snapshot = CommandSnapshot(clients);
  auto started = std::chrono::steady_clock::now();
  for (const auto& p : state.intents) {
    const config::Intent& intent = *p;
    ProgressPrinter printer(out, style);
    reconcilers::ApplyOptions ao;
    ao.wait = options.wait;
    ao.idle_poll = options.idle_poll;
    ao.gate = gate;
    ao.observations = snapshot;
    ao.observer = options.observer;
    ao.progress = printer.Callback();
    // One --timeout for the whole command, not per intent.
    auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    ao.timeout = std::max(std::chrono::milliseconds(1), options.timeout - spent);
    if (intent.policy.mode != config::PolicyMode::kObserve && !intent.policy.paused) {
      out << "Applying intent " << intent.name << " (project " << intent.project << ", region "
          << intent.region << ")\n";
    }
    IntentApply a;
    a.name = intent.name;
    a.result = RunToCompletion(io, reconcilers::Apply(clients, intent, ao));
    results.push_back(std::move(a));
  }
  return results;
}

int ReportApply(const std::vector<IntentApply>& applied, std::ostream& out, TextStyle style) {
  int code = 0;
  size_t writes = 0;
  for (const auto& a : applied) {
    const auto& r = a.result;
    writes += r.executed.size();
    for (const auto& [job, v] : r.verifications) {
      if (v.state == reconcilers::JobVerification::State::kSucceeded) {
        out << "verified: job " << job << " ran successfully after the change\n";
      } else if (v.state == reconcilers::JobVerification::State::kFailed) {
        out << "verification failed: job " << job << ": " << v.message << "\n";
      }
    }
    if (r.last_plan.report_only) {
      size_t n = r.last_plan.steps.size();
      out << "Intent " << a.name << ": " << r.last_plan.report_only_reason
          << ", so nothing was written";
      if (n > 0) out << " (" << n << (n == 1 ? " change" : " changes") << " reported above)";
      out << ".\n";
      continue;
    }
    if (!r.status.ok()) {
      code = 1;
      out << "Intent " << a.name << ": error: " << r.status.message() << "\n";
      if (!r.executed.empty()) {
        out << "  applied before the error:";
        for (const auto& id : r.executed) out << " " << id;
        out << "\n";
      }
      continue;
    }
    if (r.converged) {
      out << "Intent " << a.name << ": converged";
      if (r.executed.empty()) {
        out << ", nothing to change.\n";
      } else {
        out << " after " << r.executed.size() << (r.executed.size() == 1 ? " change" : " changes")
            << ".\n";
      }
      continue;
    }
    code = 1;
    out << "Intent " << a.name << ": not converged; what is left:\n\n"
        << RenderPlanText(r.last_plan, style);
  }
  out << (code == 0 ? "Apply complete: " : "Apply incomplete: ") << writes
      << (writes == 1 ? " change" : " changes") << " applied.\n";
  return code;
}

}  // namespace dbconnd::cli
