// `dbconnd run` logs as Cloud Logging reads them when stderr is not a
// terminal, with the context an on-call person filters by, and no secret
// from the seed anywhere a person or a scraper can see.

#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <signal.h>

#include "controller_process.h"

namespace dbconnd::integration {
namespace {

using namespace std::chrono_literals;
using proc::DaemonProcess;
using proc::EmulatorProcess;

// The seed job's DATABASE_URL carries this literal password.
constexpr char kSeedPassword[] = "secure-db-password-123";

TEST_CASE("run logs JSON lines with severity, message, time and reconcile context: no secrets",
          "[logs]") {
  proc::TempDir dir;
  EmulatorProcess emu(dir.path(), "30ms");
  // The seed really has the password live (so the checks below can fail).
  REQUIRE(proc::Http(emu.port(), "GET", "/emulator/state").body.find(kSeedPassword) !=
          std::string::npos);
  // auto: stderr is a file here, so JSON. debug: the most there is to leak.
  DaemonProcess d(dir.path(), emu, proc::SaleorConfigDir(dir.path()),
                  {"--log-format", "auto", "--log-level", "debug"});
  REQUIRE(proc::WaitFor([&] { return d.Converged(); }, 15s));
  auto metrics = proc::Http(d.port(), "GET", "/metrics");
  auto status = proc::Http(d.port(), "GET", "/status");
  REQUIRE(metrics.status == 200);
  REQUIRE(status.status == 200);
  d.process().Signal(SIGTERM);
  REQUIRE(d.process().Wait(10s).has_value());
  const std::string err = d.process().err();

  const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)");
  const std::set<std::string> severities = {"DEBUG", "INFO", "WARNING", "ERROR"};
  int lines = 0;
  int with_context = 0;
  std::set<std::string> reconcile_ids;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    ++lines;
    INFO("line " << lines << ": " << line);
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    const auto& o = v.as_object();
    REQUIRE(o.contains("severity"));
    REQUIRE(o.contains("message"));
    REQUIRE(o.contains("time"));
    CHECK(severities.count(std::string(o.at("severity").as_string())) == 1);
    CHECK_FALSE(o.at("message").as_string().empty());
    CHECK(std::regex_match(std::string(o.at("time").as_string()), rfc3339));
    if (o.contains("intent") && o.contains("resource") && o.contains("reconcile_id")) {
      ++with_context;
      CHECK(o.at("intent") == "saleor");
      reconcile_ids.insert(std::string(o.at("reconcile_id").as_string()));
    }
  }
  CHECK(lines > 5);
  // Every write of the incident is logged with intent, resource and
  // reconcile id ("writing ...", "done: ...").
  CHECK(with_context >= 2 * EmulatorProcess::Total(emu.Mutations()));
  CHECK_FALSE(reconcile_ids.empty());
  CHECK(err.find("\"operation\":\"") != std::string::npos);

  // The seed's literal password was live in the job (and is now replaced),
  // and the access token was on every request: neither may show.
  for (const std::string& secret : {std::string(kSeedPassword), std::string(proc::kToken)}) {
    INFO("secret " << secret);
    CHECK(err.find(secret) == std::string::npos);
    CHECK(metrics.body.find(secret) == std::string::npos);
    CHECK(status.body.find(secret) == std::string::npos);
  }
}

}  // namespace
}  // namespace dbconnd::integration
