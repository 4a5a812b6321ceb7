// `dbconnd apply PATH...`: plan, confirm, then execute to convergence in one
// pass (observe -> plan -> first ready step -> wait -> re-observe), printing
// what it waits for. Exit 0 converged (or report-only), 1 otherwise.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <iostream>
#include <memory>
#include <ostream>
#include <string>

#include "common/duration.h"
#include "cli/cli.h"
#include "cli/gcp_setup.h"
#include "cli/plan_output.h"
#include "cli/reconcile_cli.h"

namespace dbconnd::cli {
namespace {

struct ApplyCommandOptions {
  std::vector<std::string> paths;
  bool yes = false;
  bool no_color = false;
  std::string timeout = "30m";
  std::string poll = "1s";
  GcpFlags gcp;
};

void ApplyFlags(CLI::App& cmd, ApplyCommandOptions& o) {
  AddIntentPathsArgument(cmd, o.paths);
  cmd.add_flag("-y,--yes", o.yes, "Apply without asking (required when stdin is not a terminal)");
  AddDurationOption(cmd, "--timeout", o.timeout,
                    "Bound on the whole apply, e.g. 30m, 90s, 1h30m; every wait stops there");
  AddDurationOption(cmd, "--poll", o.poll,
                    "First poll interval of a long-running operation; it backs off to 10s");
  cmd.add_flag("--no-color", o.no_color, "Never colour the output");
  AddGcpFlags(cmd, o.gcp);
}

bool AnyActionable(const std::vector<IntentPlan>& plans) {
  for (const auto& p : plans) {
    if (p.status.ok() && !p.plan.report_only && reconcilers::CountActionable(p.plan) > 0) {
      return true;
    }
  }
  return false;
}

int RunApply(const ApplyCommandOptions& opts, CommandContext& ctx) {
  auto timeout = ParseDurationFlag(
      opts.timeout, "--timeout", {std::chrono::seconds(1), std::chrono::hours(24)}, *ctx.err);
  if (!timeout) return kExitFailure;
  auto poll = ParseDurationFlag(
      opts.poll, "--poll", {std::chrono::milliseconds(100), std::chrono::minutes(10)}, *ctx.err);
  if (!poll) return kExitFailure;
  auto state = LoadForCommand(opts.paths, *ctx.err);
  if (!state) return kExitFailure;
  boost::asio::io_context io;
  auto access = SetUpGcpForCommand(io.get_executor(), opts.gcp, *ctx.err);
  if (!access) return kExitFailure;
  TextStyle style{UseColor(*ctx.out, opts.no_color)};
  std::vector<IntentPlan> plans = PlanIntents(io, access->clients(), *state);
  *ctx.out << RenderPlansText(plans, style);
  if (PlanExitCode(plans) == 1) {
    *ctx.err << "error: could not read live state; nothing was changed\n";
    return kExitFailure;
  }
  if (AnyActionable(plans) && !opts.yes) {
    if (::isatty(STDIN_FILENO) != 1) {
      *ctx.err << "error: refusing to apply without confirmation: stdin is not a terminal; "
                  "pass --yes to apply non-interactively\n";
      return kExitFailure;
    }
    *ctx.out << "\nApply these changes? Only 'yes' is accepted: " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "yes") {
      *ctx.out << "Apply cancelled; nothing was changed.\n";
      return kExitFailure;
    }
  }
  *ctx.out << "\n";
  ApplyCliOptions ao;
  ao.timeout = *timeout;
  ao.wait.initial_poll = *poll;
  ao.wait.max_poll = std::max(*poll, std::chrono::milliseconds(std::chrono::seconds(10)));
  ao.idle_poll = std::min(*poll * 5, std::chrono::milliseconds(std::chrono::seconds(5)));
  auto applied = ApplyIntents(io, access->clients(), *state, ao, *ctx.out, style);
  *ctx.out << "\n";
  return ReportApply(applied, *ctx.out, style);
}

}  // namespace

Runner BindApply(CLI::App& cmd) { return Bind(cmd, ApplyFlags, RunApply); }

}  // namespace dbconnd::cli
