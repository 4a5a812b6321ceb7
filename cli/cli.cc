// The app and the plumbing every command shares (see cli.h for how a command
// is declared). Callbacks never throw: they report through ctx.err and
// ctx.exit_code.

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

void AddIntentFileOptions(CLI::App& cmd, IntentFileOptions& options,
                          std::vector<std::string> formats, std::string description) {
  AddIntentPathsArgument(cmd, options.paths);
  cmd.add_option("-o,--output", options.output, std::move(description))
      ->check(CLI::IsMember(std::move(formats)))
      ->capture_default_str();
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

namespace {

// One command as `dbconnd --help` lists it, and where its flags and runner
// come from.
struct Command {
  std::string_view name;
  Runner (*bind)(CLI::App& cmd);
  std::string_view summary;
};

// Every command, in the order --help lists them.
constexpr Command kCommands[] = {
    {"validate", BindValidate,
     "Check desired-state files without touching Google Cloud. Exit 0 valid, 1 invalid, 2 usage."},
    {"plan", BindPlan,
     "Show the changes apply would make, in order, with impact classes and diagnoses. "
     "Exit 0 no changes, 2 changes pending, 1 error."},
    {"apply", BindApply,
     "Make live state equal to the intent files, safely ordered, with live progress. "
     "Exit 0 converged, 1 error or not converged."},
    {"demo", BindDemo,
     "Reproduce and fix the seed \"connection timeout expired\" incident against an "
     "in-process Google Cloud emulator (no credentials, no network)"},
    {"run", BindRun,
     "Run the controller: keep live state equal to the files, serve metrics and status"},
    {"status", BindStatus, "Show a running daemon's intents and conditions"},
    {"rollback", BindRollback,
     "Restore the values journaled before dbconnd's own writes (preview; --yes applies)"},
    {"export", BindExport,
     "Write intent files from live state: one DatabaseConnectivity per Cloud SQL instance. "
     "Read-only. Exit 0 all exported, 1 error."},
};

}  // namespace

std::unique_ptr<CLI::App> BuildApp(CommandContext& ctx) {
  auto app = std::make_unique<CLI::App>(
      "dbconnd keeps Cloud Run <-> Cloud SQL connectivity equal to YAML intent files.", "dbconnd");
  app->set_version_flag("--version", VersionString(), "Print the version and exit");
  app->require_subcommand(1);
  app->fallthrough(false);
  CommandContext* c = &ctx;
  for (const Command& command : kCommands) {
    CLI::App* cmd = app->add_subcommand(std::string(command.name), std::string(command.summary));
    cmd->callback([c, run = command.bind(*cmd)] { c->exit_code = run(*c); });
  }
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
