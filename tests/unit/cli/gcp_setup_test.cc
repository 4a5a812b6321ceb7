#include <catch2/catch.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include "cli/gcp_setup.h"
#include "controller/log.h"
#include "cli/reconcile_cli.h"

namespace dbconnd::cli {
using controller::LogFormat;
using controller::LoggerOptions;
using controller::SetGlobalLogger;
namespace {

gcp::GetEnv FakeEnv(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

TEST_CASE("gcp flags: --endpoint wins over DBCONND_ENDPOINT_*, which wins over defaults") {
  CLI::App app;
  GcpFlags flags;
  AddGcpFlags(app, flags);
  app.parse("--endpoint=run=http://127.0.0.1:9001 --endpoint sqladmin=http://127.0.0.1:9000",
            false);
  auto endpoints = ResolveEndpoints(
      flags, FakeEnv({{"DBCONND_ENDPOINT_SQLADMIN", "http://127.0.0.1:7000"},
                      {"DBCONND_ENDPOINT_COMPUTE", "http://127.0.0.1:7001"}}));
  REQUIRE(endpoints.ok());
  CHECK(endpoints->sqladmin == "http://127.0.0.1:9000");
  CHECK(endpoints->run == "http://127.0.0.1:9001");
  CHECK(endpoints->compute == "http://127.0.0.1:7001");
  CHECK(endpoints->vpcaccess == "https://vpcaccess.googleapis.com");
}

TEST_CASE("gcp flags: a bad --endpoint names the flag and the valid names") {
  GcpFlags flags;
  flags.endpoints = {"sqladmn=http://127.0.0.1:1"};
  auto endpoints = ResolveEndpoints(flags, FakeEnv({}));
  REQUIRE_FALSE(endpoints.ok());
  CHECK(endpoints.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(endpoints.status().message(), Catch::Contains("--endpoint sqladmn="));
  CHECK_THAT(endpoints.status().message(), Catch::Contains("servicenetworking"));

  auto env = ResolveEndpoints(GcpFlags{}, FakeEnv({{"DBCONND_ENDPOINT_RUN", "ftp://x"}}));
  REQUIRE_FALSE(env.ok());
  CHECK_THAT(env.status().message(), Catch::Contains("DBCONND_ENDPOINT_"));
}

TEST_CASE("gcp flags: rate limits are overridable and can be switched off") {
  GcpFlags flags;
  flags.rate_limits = {"sqladmin.mutate=90"};
  auto limits = ResolveRateLimits(flags);
  REQUIRE(limits.ok());
  auto it = limits->limits.find({gcp::Api::kSqlAdmin, gcp::Bucket::kMutate});
  REQUIRE(it != limits->limits.end());
  CHECK(it->second.per_minute == 90);

  flags.no_rate_limits = true;
  flags.rate_limits.clear();
  CHECK(ResolveRateLimits(flags)->limits.empty());

  flags.rate_limits = {"nonsense"};
  auto bad = ResolveRateLimits(flags);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("--rate-limit nonsense"));
}

TEST_CASE("gcp setup: without credentials the error says how to provide them") {
  boost::asio::io_context io;
  GcpSetupOptions options;
  options.getenv_fn = FakeEnv({{"HOME", "/nonexistent-home"}});
  options.proxy_from_environment = false;
  auto access = SetUpGcp(io.get_executor(), GcpFlags{}, options);
  // A GCP machine would find its metadata server; elsewhere we must explain.
  if (!access.ok()) {
    CHECK(access.status().code() == StatusCode::kFailedPrecondition);
    CHECK_THAT(access.status().message(), Catch::Contains("--access-token-file"));
  }
}

TEST_CASE("gcp setup: a static token builds every client and is never described") {
  boost::asio::io_context io;
  GcpSetupOptions options;
  options.getenv_fn = FakeEnv({});
  options.static_token = "ya29.secret-value";
  options.proxy_from_environment = false;
  GcpFlags flags;
  flags.endpoints = {"sqladmin=http://127.0.0.1:1"};
  auto access = SetUpGcp(io.get_executor(), flags, options);
  REQUIRE(access.ok());
  const gcp::Clients& c = (*access)->clients();
  CHECK(c.sql != nullptr);
  CHECK(c.run != nullptr);
  CHECK(c.vpc != nullptr);
  CHECK(c.networking != nullptr);
  CHECK(c.compute != nullptr);
  CHECK((*access)->endpoints().sqladmin == "http://127.0.0.1:1");
  CHECK((*access)->DescribeCredentials().find("ya29") == std::string::npos);
  auto token = RunToCompletion(io, (*access)->tokens()->Token());
  REQUIRE(token.ok());
  CHECK(token->value == "ya29.secret-value");
}

TEST_CASE("gcp setup: a token file that is missing is named") {
  boost::asio::io_context io;
  GcpFlags flags;
  flags.access_token_file = "/nonexistent/token";
  GcpSetupOptions options;
  options.getenv_fn = FakeEnv({});
  options.proxy_from_environment = false;
  auto access = SetUpGcp(io.get_executor(), flags, options);
  REQUIRE_FALSE(access.ok());
  CHECK_THAT(access.status().message(), Catch::Contains("--access-token-file /nonexistent/token"));
}

TEST_CASE("gcp flags: plain http endpoints only for loopback unless allowed") {
  for (const char* ok : {"sqladmin=http://127.0.0.1:9000", "run=http://localhost:1",
                         "compute=http://[::1]:8080", "sqladmin=https://sql.example.com",
                         "metadata=http://10.1.2.3"}) {
    GcpFlags flags;
    flags.endpoints = {ok};
    auto endpoints = ResolveEndpoints(flags, FakeEnv({}));
    INFO(ok << ": " << endpoints.status().message());
    CHECK(endpoints.ok());
  }
  GcpFlags flags;
  flags.endpoints = {"sqladmin=http://sql.example.com"};
  auto refused = ResolveEndpoints(flags, FakeEnv({}));
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("sqladmin=http://sql.example.com"));
  CHECK_THAT(refused.status().message(), Catch::Contains("--allow-insecure-endpoints"));
  auto from_env = ResolveEndpoints(
      GcpFlags{}, FakeEnv({{"DBCONND_ENDPOINT_RUN", "http://10.0.0.8:8080"}}));
  CHECK_FALSE(from_env.ok());
  CHECK_FALSE(ResolveEndpoints(GcpFlags{}, FakeEnv({{"DBCONND_ENDPOINT_RUN",
                                                      "http://127.example.com"}}))
                  .ok());

  CLI::App app;
  GcpFlags allowed;
  AddGcpFlags(app, allowed);
  app.parse("--endpoint sqladmin=http://sql.example.com --allow-insecure-endpoints", false);
  CHECK(ResolveEndpoints(allowed, FakeEnv({})).ok());
}

TEST_CASE("gcp setup: a credentials file readable by others is warned about in the log") {
  std::vector<std::string> lines;
  LoggerOptions lo;
  lo.format = LogFormat::kText;
  lo.sink = [&lines](std::string_view line) { lines.emplace_back(line); };
  SetGlobalLogger(lo);
  auto dir = std::filesystem::temp_directory_path() /
             ("dbconnd-gcp-setup-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto token = (dir / "token").string();
  std::ofstream(token) << "ya29.secret-value\n";
  std::filesystem::permissions(token, std::filesystem::perms::owner_read |
                                          std::filesystem::perms::owner_write |
                                          std::filesystem::perms::group_read |
                                          std::filesystem::perms::others_read);
  boost::asio::io_context io;
  GcpFlags flags;
  flags.access_token_file = token;
  flags.endpoints = {"sqladmin=http://127.0.0.1:1"};
  GcpSetupOptions options;  // no warn sink: the real commands pass none
  options.getenv_fn = FakeEnv({});
  options.proxy_from_environment = false;
  auto access = SetUpGcp(io.get_executor(), flags, options);
  REQUIRE(access.ok());
  SetGlobalLogger(LoggerOptions{});
  std::string all;
  for (const auto& l : lines) all += l;
  CHECK_THAT(all, Catch::Contains("readable by group or others"));
  CHECK_THAT(all, Catch::Contains("0644"));
  CHECK(all.find("ya29") == std::string::npos);

  // chmod 600: no warning.
  lines.clear();
  SetGlobalLogger(lo);
  std::filesystem::permissions(token, std::filesystem::perms::owner_read |
                                          std::filesystem::perms::owner_write);
  auto quiet = SetUpGcp(io.get_executor(), flags, options);
  SetGlobalLogger(LoggerOptions{});
  REQUIRE(quiet.ok());
  for (const auto& l : lines) CHECK(l.find("readable by group or others") == std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dbconnd::cli
