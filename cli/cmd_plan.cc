// `dbconnd plan PATH...`: observe live state for every intent and show the
// ordered changes apply would make, like a Terraform plan. Exit codes follow
// Terraform's -detailed-exitcode, which GitOps pipelines already gate on:
// 0 no changes, 2 changes pending, 1 error (also for usage errors, see cli.cc).

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <ostream>

#include "cli/cli.h"
#include "cli/gcp_setup.h"
#include "cli/plan_output.h"
#include "cli/reconcile_cli.h"

namespace dbconnd::cli {
namespace {

struct PlanOptions {
  IntentFileOptions files;
  bool no_color = false;
  GcpFlags gcp;
};

void PlanFlags(CLI::App& cmd, PlanOptions& o) {
  AddIntentFileOptions(cmd, o.files, {"text", "json", "markdown"},
                       "Output format: text, json, or markdown (a pull-request comment)");
  cmd.add_flag("--no-color", o.no_color, "Never colour the text output");
  AddGcpFlags(cmd, o.gcp);
}

int RunPlan(const PlanOptions& opts, CommandContext& ctx) {
  auto state = LoadForCommand(opts.files.paths, *ctx.err);
  if (!state) return kExitFailure;
  boost::asio::io_context io;
  auto access = SetUpGcpForCommand(io.get_executor(), opts.gcp, *ctx.err);
  if (!access) return kExitFailure;
  std::vector<IntentPlan> plans = PlanIntents(io, access->clients(), *state);
  if (opts.files.output == "json") {
    *ctx.out << RenderPlansJson(plans);
  } else if (opts.files.output == "markdown") {
    *ctx.out << RenderPlansMarkdown(plans);
  } else {
    *ctx.out << RenderPlansText(plans, TextStyle{UseColor(*ctx.out, opts.no_color)});
  }
  return PlanExitCode(plans);
}

}  // namespace

Runner BindPlan(CLI::App& cmd) { return Bind(cmd, PlanFlags, RunPlan); }

}  // namespace dbconnd::cli
