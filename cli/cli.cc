// How commands plug in (see also cli.h):
//
//   // cli/cmd_plan.cc
//   void RegisterPlanCommand(CLI::App& app, CommandContext& ctx) {
//     // opts: a shared_ptr<PlanOptions> that lives as long as the app
//     auto [cmd, opts] = AddCommand<PlanOptions>(app, ctx, "plan",
//                                                "Show the changes apply would make", RunPlan);
//     cmd->add_option("paths", opts->paths, "Files or directories")->required();
//   }
//
// then add `RegisterPlanCommand(*app, ctx);` to BuildApp() below. Options are
// held in a shared_ptr captured by the callback because CLI11 binds options
// to addresses that must stay valid until parsing ends. Callbacks never
// throw: they report through ctx.err and ctx.exit_code.

#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <ostream>

namespace dbconnd::cli {

#ifndef DBCONND_VERSION
#define DBCONND_VERSION "0.0.0"
#endif

std::string VersionString() { return std::string("dbconnd ") + DBCONND_VERSION; }

void AddIntentPathsArgument(CLI::App& cmd, std::vector<std::string>& paths) {
  cmd.add_option("paths", paths,
                 "Files, or directories whose *.yaml/*.yml files are read (dot-files skipped)")
      ->required()
      ->check(CLI::ExistingPath);
}

void AddDurationOption(CLI::App& cmd, std::string name, std::string& text,
                       std::string description) {
  cmd.add_option(std::move(name), text, std::move(description))->capture_default_str();
}

std::optional<std::chrono::milliseconds> ParseDurationFlag(std::string_view text,
                                                           std::string_view flag,
                                                           DurationBounds bounds,
                                                           std::ostream& err) {
  auto parsed = ParseDuration(text, flag, bounds);
  if (!parsed.ok()) {
    err << "error: " << parsed.status().message() << "\n";
    return std::nullopt;
  }
  return *parsed;
}

CLI::App* AddCommand(CLI::App& app, CommandContext& ctx, std::string name,
                     std::string description, std::function<int(CommandContext&)> run) {
  CLI::App* cmd = app.add_subcommand(std::move(name), std::move(description));
  CommandContext* c = &ctx;
  cmd->callback([c, run = std::move(run)] { c->exit_code = run(*c); });
  return cmd;
}

std::unique_ptr<CLI::App> BuildApp(CommandContext& ctx) {
  auto app = std::make_unique<CLI::App>(
      "dbconnd keeps Cloud Run <-> Cloud SQL connectivity equal to YAML intent files.", "dbconnd");
  app->set_version_flag("--version", VersionString(), "Print the version and exit");
  app->require_subcommand(1);
  app->fallthrough(false);
  RegisterValidateCommand(*app, ctx);
  RegisterPlanCommand(*app, ctx);
  RegisterApplyCommand(*app, ctx);
  RegisterDemoCommand(*app, ctx);
  RegisterRunCommand(*app, ctx);
  RegisterStatusCommand(*app, ctx);
  RegisterRollbackCommand(*app, ctx);
  RegisterExportCommand(*app, ctx);
  return app;
}

int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CommandContext ctx{&out, &err, kExitOk};
  std::unique_ptr<CLI::App> app = BuildApp(ctx);
  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app->exit(e, out, err);  // --help, --version
    if (argc <= 1) {
      // Bare `dbconnd`: show what there is instead of a terse error.
      out << app->help();
      return kExitUsage;
    }
    app->exit(e, out, err);
    // plan's 2 means "changes pending" to pipelines gating on it, so a
    // mistyped flag there must not look like it.
    for (const CLI::App* sub : app->get_subcommands()) {
      if (sub->get_name() == "plan") return kExitFailure;
    }
    return kExitUsage;
  }
  return ctx.exit_code;
}

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::vector<const char*> argv{"dbconnd"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return RunCli(static_cast<int>(argv.size()), argv.data(), out, err);
}

}  // namespace dbconnd::cli
