// The command line as a user meets it: `dbconnd --help`, every command's
// `--help` (in the order the app lists them) and the answer to a mistyped
// flag, with its exit code, against one golden transcript. A command or flag
// that goes missing, moves, or changes its text or default fails here.
// After a deliberate change, regenerate with
//   DBCONND_UPDATE_GOLDEN=1 cli_test "[help]"
// and review the diff of tests/unit/cli/golden/help.txt.
#include <CLI/CLI.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>

#include "cli/cli.h"

namespace dbconnd::cli {
namespace {

const std::string kTranscript = DBCONND_SOURCE_DIR "/tests/unit/cli/golden/help.txt";

// One call as a shell session would show it: the command line, the exit
// code, then what went to stdout and to stderr.
std::string Session(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = RunCli(args, out, err);
  std::string line = "$ dbconnd";
  for (const auto& a : args) line += " " + a;
  return line + "\n[exit " + std::to_string(code) + "]\n[stdout]\n" + out.str() + "[stderr]\n" +
         err.str() + "\n";
}

std::vector<std::string> CommandNames() {
  std::ostringstream out, err;
  CommandContext ctx{&out, &err, kExitOk};
  std::unique_ptr<CLI::App> app = BuildApp(ctx);
  std::vector<std::string> names;
  for (const CLI::App* sub : app->get_subcommands({})) names.push_back(sub->get_name());
  return names;
}

TEST_CASE("help: every command and flag as the CLI shows them, in order", "[help]") {
  const std::vector<std::string> names = CommandNames();
  CHECK(names == std::vector<std::string>{"validate", "plan", "apply", "demo", "run", "status",
                                          "rollback", "export"});
  std::string transcript = Session({}) + Session({"--help"});
  for (const auto& name : names) {
    transcript += Session({name, "--help"});
    transcript += Session({name, "--no-such-flag"});
  }
  if (const char* u = std::getenv("DBCONND_UPDATE_GOLDEN"); u != nullptr && *u == '1') {
    std::ofstream(kTranscript, std::ios::binary) << transcript;
  }
  std::ifstream in(kTranscript, std::ios::binary);
  INFO("golden transcript " << kTranscript);
  REQUIRE(in.good());
  CHECK(transcript == std::string(std::istreambuf_iterator<char>(in), {}));
}

}  // namespace
}  // namespace dbconnd::cli
