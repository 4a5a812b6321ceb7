#pragma once
// The dbconnd command line: one CLI11 app, one subcommand per file.
//
// Commands are declared, not assembled. BuildApp()'s table (cli.cc) lists
// every command in help order: its name, its summary and its Bind function.
// cli/cmd_NAME.cc holds the rest: the options struct, a function binding its
// flags to those options, the runner, and
//   Runner BindName(CLI::App& cmd) { return Bind(cmd, NameFlags, RunName); }
// (declared below). The runner gets the parsed options and returns the exit
// code; it writes only to ctx.out / ctx.err, so tests run it in-process.

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

// Flag groups more than one command takes.
// The intent files argument shared by validate, plan and apply: one or more
// existing files or directories.
void AddIntentPathsArgument(CLI::App& cmd, std::vector<std::string>& paths);

// What validate and plan both take: the intent files and an output format.
struct IntentFileOptions {
  std::vector<std::string> paths;
  std::string output = "text";
};
// The paths argument, then -o,--output: one of `formats`, default text.
void AddIntentFileOptions(CLI::App& cmd, IntentFileOptions& options,
                          std::vector<std::string> formats, std::string description);

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

// A command's runner with its parsed options bound: returns the exit code.
using Runner = std::function<int(CommandContext&)>;

// What every command's BindName does: `flags` binds the members of fresh
// Options to the command's flags on `cmd`; the runner passes them to `run`
// once parsing succeeded. Options live in a shared_ptr the runner holds,
// because CLI11 binds flags to addresses that must stay valid until parsing
// ends.
template <typename Options>
Runner Bind(CLI::App& cmd, void (*flags)(CLI::App&, Options&),
            int (*run)(const Options&, CommandContext&)) {
  auto options = std::make_shared<Options>();
  flags(cmd, *options);
  return [options, run](CommandContext& ctx) { return run(*options, ctx); };
}

// Every command's flags and runner, one cli/cmd_<name>.cc each. Names and
// summaries are in BuildApp()'s table (cli.cc), in help order.
Runner BindValidate(CLI::App& cmd);
Runner BindPlan(CLI::App& cmd);
Runner BindApply(CLI::App& cmd);
Runner BindDemo(CLI::App& cmd);
Runner BindRun(CLI::App& cmd);
Runner BindStatus(CLI::App& cmd);
Runner BindRollback(CLI::App& cmd);
Runner BindExport(CLI::App& cmd);

}  // namespace dbconnd::cli
