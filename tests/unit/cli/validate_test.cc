#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/cli.h"

namespace dbconnd::cli {
namespace {

namespace fs = std::filesystem;

const std::string kSrc = DBCONND_SOURCE_DIR;
const std::string kWorldOpen = kSrc + "/tests/data/invalid/world-open.yaml";

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run Cli(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = RunCli(args, out, err);
  return {code, out.str(), err.str()};
}

std::vector<std::string> ExampleFiles() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(kSrc + "/examples")) {
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Runs the built executable through the shell; returns exit status and stdout.
Run Exec(const std::string& args) {
  std::string cmd = std::string(DBCONND_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, ""};
}

// saleor.yaml and saleor-direct-vpc.yaml fix the same incident two ways:
// alternatives, validated one at a time (together they manage one instance
// differently, which is refused).
bool IsAlternative(const std::string& f) {
  return f.ends_with("/saleor-direct-vpc.yaml") || f.ends_with("/saleor-psc.yaml");
}

TEST_CASE("validate: every example file is valid", "[daemon][validate]") {
  std::vector<std::string> args{"validate"};
  for (const auto& f : ExampleFiles()) {
    if (IsAlternative(f)) {
      Run alone = Cli({"validate", f});
      INFO(alone.out << alone.err);
      CHECK(alone.code == 0);
      CHECK(alone.out == "valid: 1 file, 1 intent, 0 errors, 0 warnings\n");
      continue;
    }
    args.push_back(f);
  }
  REQUIRE(args.size() >= 4);
  Run r = Cli(args);
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(r.out == "valid: 3 files, 4 intents, 0 errors, 0 warnings\n");
}

TEST_CASE("validate: a directory argument", "[daemon][validate]") {
  const fs::path dir = fs::temp_directory_path() / ("dbconnd-validate-dir-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const auto& f : ExampleFiles()) {
    if (!IsAlternative(f)) fs::copy_file(f, dir / fs::path(f).filename(), fs::copy_options::overwrite_existing);
  }
  Run r = Cli({"validate", dir.string()});
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(r.out == "valid: 3 files, 4 intents, 0 errors, 0 warnings\n");
  // The alternatives together: the second file managing the same instance
  // differently is an error naming both.
  Run both = Cli({"validate", kSrc + "/examples"});
  CHECK(both.code == 1);
  CHECK(both.out.find("two files must not manage one instance differently") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("validate: 0.0.0.0/0 exits 1 naming file, line and field", "[daemon][validate]") {
  Run r = Cli({"validate", kWorldOpen});
  CHECK(r.code == 1);
  CHECK(r.out.find(kWorldOpen +
                   ":16:17: error: spec.instance.publicIp.authorizedNetworks[0].cidr: 0.0.0.0/0 "
                   "opens the instance to every address on the internet") != std::string::npos);
  CHECK(r.out.find("invalid: 1 file, 0 intents, 1 error, 0 warnings\n") != std::string::npos);
}

TEST_CASE("validate: literal password refused, never echoed", "[daemon][validate]") {
  Run r = Cli({"validate", kSrc + "/tests/data/invalid/seed-literal-password.yaml"});
  CHECK(r.code == 1);
  CHECK(r.out.find(":20:14: error: spec.workloads[0].database.url: a literal password") != std::string::npos);
  CHECK(r.out.find("passwordSecret") != std::string::npos);
  CHECK(r.out.find("secure-db-password-123") == std::string::npos);
}

TEST_CASE("validate with output json has the documented shape", "[daemon][validate]") {
  namespace json = boost::json;
  Run bad = Cli({"validate", "--output", "json", kWorldOpen});
  CHECK(bad.code == 1);
  json::object doc = json::parse(bad.out).as_object();
  CHECK(doc.at("formatVersion").as_int64() == 1);
  CHECK(doc.at("valid").as_bool() == false);
  CHECK(doc.at("errorCount").as_int64() == 1);
  CHECK(doc.at("warningCount").as_int64() == 0);
  CHECK(doc.at("files").as_array().size() == 1);
  CHECK(doc.at("intents").as_array().empty());
  const json::object& d = doc.at("diagnostics").as_array().at(0).as_object();
  CHECK(d.at("severity").as_string() == "error");
  CHECK(d.at("file").as_string() == kWorldOpen);
  CHECK(d.at("line").as_int64() == 16);
  CHECK(d.at("column").as_int64() == 17);
  CHECK(d.at("path").as_string() == "spec.instance.publicIp.authorizedNetworks[0].cidr");
  CHECK(d.at("message").as_string().find("allowWorldOpen") != json::string::npos);

  Run good = Cli({"validate", "-o", "json", kSrc + "/examples/saleor.yaml"});
  CHECK(good.code == 0);
  json::object g = json::parse(good.out).as_object();
  CHECK(g.at("valid").as_bool());
  const json::object& in = g.at("intents").as_array().at(0).as_object();
  CHECK(in.at("name").as_string() == "saleor");
  CHECK(in.at("instance").as_string() == "saleor-db-demo");
  CHECK(in.at("line").as_int64() == 7);
  CHECK(in.at("workloads").as_int64() == 1);
}

TEST_CASE("validate with warnings as errors", "[daemon][validate]") {
  fs::path tmp = fs::temp_directory_path() / "dbconnd-daemon-test-warn.yaml";
  {
    std::ofstream f(tmp);
    f << "apiVersion: dbconnd.dev/v1alpha1\nkind: DatabaseConnectivity\nmetadata: {name: w}\n"
         "spec:\n  project: my-project-123\n  region: us-central1\n  instance:\n    name: db\n"
         "    publicIp: {enabled: false, authorizedNetworks: [{name: a, cidr: 203.0.113.0/24}]}\n";
  }
  CHECK(Cli({"validate", tmp.string()}).code == 0);
  Run strict = Cli({"validate", "--warnings-as-errors", tmp.string()});
  CHECK(strict.code == 1);
  CHECK(strict.out.find("warning: spec.instance.publicIp.enabled") != std::string::npos);
  fs::remove(tmp);
}

TEST_CASE("validate warns about an authorized network that has already expired",
          "[daemon][validate][expiry]") {
  fs::path tmp = fs::temp_directory_path() / "dbconnd-daemon-test-expired.yaml";
  {
    std::ofstream f(tmp);
    f << "apiVersion: dbconnd.dev/v1alpha1\nkind: DatabaseConnectivity\nmetadata: {name: w}\n"
         "spec:\n  project: my-project-123\n  region: us-central1\n  instance:\n    name: db\n"
         "    publicIp:\n      enabled: true\n      authorizedNetworks:\n"
         "        - {name: old, cidr: 198.51.100.0/24, expires: \"2020-01-01T00:00:00Z\"}\n"
         "        - {name: new, cidr: 203.0.113.0/24, expires: \"2999-01-01T00:00:00Z\"}\n";
  }
  Run r = Cli({"validate", tmp.string()});
  CHECK(r.code == 0);
  CHECK(r.out.find("warning: spec.instance.publicIp.authorizedNetworks[0].expires") !=
        std::string::npos);
  CHECK(r.out.find("198.51.100.0/24 (old) expired at 2020-01-01T00:00:00Z") != std::string::npos);
  CHECK(r.out.find("authorizedNetworks[1]") == std::string::npos);
  CHECK(Cli({"validate", "--warnings-as-errors", tmp.string()}).code == 1);
  fs::remove(tmp);
}

TEST_CASE("usage errors exit 2", "[daemon][cli]") {
  CHECK(Cli({}).code == 2);
  CHECK(Cli({"frobnicate"}).code == 2);
  CHECK(Cli({"validate"}).code == 2);
  Run missing = Cli({"validate", "/nonexistent/dbconnd.yaml"});
  CHECK(missing.code == 2);
  CHECK(missing.err.find("/nonexistent/dbconnd.yaml") != std::string::npos);
  CHECK(Cli({"validate", "--output", "xml", kWorldOpen}).code == 2);
  CHECK(Cli({"validate", "--bogus", kWorldOpen}).code == 2);
}

TEST_CASE("help output for the app and each command, and the version", "[daemon][cli]") {
  Run help = Cli({"--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("validate") != std::string::npos);
  Run vhelp = Cli({"validate", "--help"});
  CHECK(vhelp.code == 0);
  CHECK(vhelp.out.find("--output") != std::string::npos);
  Run version = Cli({"--version"});
  CHECK(version.code == 0);
  CHECK(version.out == VersionString() + "\n");
  CHECK(version.out.rfind("dbconnd ", 0) == 0);
}

TEST_CASE("the built binary: examples/*.yaml exit 0, world-open exits 1 naming the line",
          "[daemon][e2e]") {
  std::string all;
  for (const auto& f : ExampleFiles()) {
    if (!IsAlternative(f)) all += " '" + f + "'";
  }
  CHECK(Exec("validate '" + kSrc + "/examples/saleor-direct-vpc.yaml'").code == 0);
  CHECK(Exec("validate '" + kSrc + "/examples/saleor-psc.yaml'").code == 0);
  Run ok = Exec("validate" + all);
  INFO(ok.out);
  CHECK(ok.code == 0);
  Run bad = Exec("validate '" + kWorldOpen + "'");
  INFO(bad.out);
  CHECK(bad.code == 1);
  CHECK(bad.out.find("world-open.yaml:16:17: error:") != std::string::npos);
  CHECK(Exec("--version").out == VersionString() + "\n");
  CHECK(Exec("validate").code == 2);
}

}  // namespace
}  // namespace dbconnd::cli
