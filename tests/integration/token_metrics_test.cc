// Access-token requests are counted like API requests: a daemon set up as
// `run` sets it up (SetUpGcp with the metrics telemetry), getting its token
// from the emulator's metadata server, exports the token request under
// api="metadata", method="token".
#include <catch2/catch.hpp>

#include "controller/api_telemetry.h"
#include "controller/metrics.h"
#include "emulator_fixture.h"

namespace dbconnd::integration {
namespace {

TEST_CASE("token requests to the metadata server are exported with the API requests",
          "[integration][metrics][auth]") {
  boost::asio::io_context io;
  emulator::EmulatorOptions eo;
  eo.model.seed = "incident";  // no static token: only tokens it issued work
  auto server = emulator::EmulatorServer::Start(io.get_executor(), eo);
  REQUIRE(server.ok());
  auto metrics = std::make_shared<controller::Metrics>();
  auto telemetry = std::make_shared<controller::MetricsTelemetry>(metrics);
  cli::GcpFlags flags;
  flags.no_rate_limits = true;
  for (auto name : gcp::Endpoints::kNames) {
    flags.endpoints.push_back(std::string(name) + "=" + (*server)->base_url());
  }
  cli::GcpSetupOptions so;
  so.getenv_fn = [](const char*) -> const char* { return nullptr; };  // no ADC file
  so.proxy_from_environment = false;
  so.rest.telemetry = telemetry;
  auto access = cli::SetUpGcp(io.get_executor(), flags, so);
  REQUIRE(access.ok());
  CHECK_THAT((*access)->DescribeCredentials(), Catch::Contains("metadata server"));

  auto clients = (*access)->clients();
  auto first = cli::RunToCompletion(io, clients.sql->GetInstance(kProject, kInstance));
  REQUIRE(first.ok());
  auto second = cli::RunToCompletion(io, clients.sql->GetInstance(kProject, kInstance));
  REQUIRE(second.ok());

  const std::string text = metrics->Serialize();
  INFO(text.substr(0, 4000));
  // One token request (cached for the second call), and the two API calls.
  CHECK_THAT(text, Catch::Contains(
                       "dbconnd_api_requests_total{api=\"metadata\",code=\"200\",method=\"token\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("dbconnd_api_request_duration_seconds_count{api=\"metadata\","
                                   "method=\"token\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("dbconnd_api_requests_total{api=\"sqladmin\",code=\"200\","
                                   "method=\"instances.get\"} 2\n"));
  CHECK(text.find("ya29") == std::string::npos);

  access->reset();
  (*server)->Stop();
  io.restart();
  io.run_for(std::chrono::milliseconds(200));
}

}  // namespace
}  // namespace dbconnd::integration
