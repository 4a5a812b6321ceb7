#pragma once
// The dbconnd command line: one CLI11 app, one subcommand per file.
//
// Adding a command NAME: write cli/cmd_NAME.cc defining
//   void RegisterNAMECommand(CLI::App& app, CommandContext& ctx);
// declare it below, and call it from BuildApp() in cli.cc. The command's
// callback does its work and stores its exit code in ctx.exit_code; it
// writes only to ctx.out / ctx.err, so tests run it in-process.

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <chrono>
#include <optional>
#include <string_view>
#include <utility>

#include "common/duration.h"

namespace CLI {
class App;
}  // namespace CLI

namespace dbconnd::cli {

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // validate: invalid input
inline constexpr int kExitUsage = 2;    // bad flags or arguments

struct CommandContext {
  std::ostream* out;
  std::ostream* err;
  int exit_code = kExitOk;
};

// "dbconnd 0.1.0"
std::string VersionString();

// The app with every command registered; ctx must outlive it.
std::unique_ptr<CLI::App> BuildApp(CommandContext& ctx);

// Parses and runs; returns the process exit code. Help and --version print to
// `out` and return 0; usage errors print to `err` and return kExitUsage.
int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);
// Same, with the arguments after the program name (for tests).
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Commands (one cli/cmd_<name>.cc each).
// The intent files argument shared by validate, plan and apply: one or more
// existing files or directories.
void AddIntentPathsArgument(CLI::App& cmd, std::vector<std::string>& paths);

// A duration flag (the one grammar of common/duration.h: 500ms, 90s, 1h30m)
// whose default --help shows. Parse it with ParseDurationFlag.
void AddDurationOption(CLI::App& cmd, std::string name, std::string& text,
                       std::string description);
// ParseDuration for a command: on error writes "error: <message>" to `err`
// and returns nothing.
std::optional<std::chrono::milliseconds> ParseDurationFlag(std::string_view text,
                                                           std::string_view flag,
                                                           DurationBounds bounds,
                                                           std::ostream& err);

// Adds the subcommand `name`; `run` becomes its callback and its return
// value ctx.exit_code. Commands pass a lambda that captures their options'
// shared_ptr by value (CLI11 binds options to addresses that must stay valid).
CLI::App* AddCommand(CLI::App& app, CommandContext& ctx, std::string name,
                     std::string description, std::function<int(CommandContext&)> run);
// The usual form: options of type Options, held for the app's lifetime,
// passed to `run` (e.g. `int RunPlan(const PlanOptions&, CommandContext&)`).
template <typename Options>
std::pair<CLI::App*, std::shared_ptr<Options>> AddCommand(
    CLI::App& app, CommandContext& ctx, std::string name, std::string description,
    int (*run)(const Options&, CommandContext&)) {
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(app, ctx, std::move(name), std::move(description),
                             [opts, run](CommandContext& c) { return run(*opts, c); });
  return {cmd, opts};
}

void RegisterValidateCommand(CLI::App& app, CommandContext& ctx);
void RegisterPlanCommand(CLI::App& app, CommandContext& ctx);
void RegisterApplyCommand(CLI::App& app, CommandContext& ctx);
void RegisterDemoCommand(CLI::App& app, CommandContext& ctx);
void RegisterRunCommand(CLI::App& app, CommandContext& ctx);
void RegisterStatusCommand(CLI::App& app, CommandContext& ctx);
void RegisterRollbackCommand(CLI::App& app, CommandContext& ctx);
void RegisterExportCommand(CLI::App& app, CommandContext& ctx);

}  // namespace dbconnd::cli
