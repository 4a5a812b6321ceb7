// The typed clients over the real net/ transport against a loopback server.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <thread>

#include "gcp/auth.h"
#include "gcp/rest_clients.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "test_util.h"

namespace dbconnd::gcp {
namespace {

struct ServerState {
  int instance_gets = 0;
  int patches = 0;
  std::vector<std::string> auth_headers;
};

boost::asio::awaitable<net::HttpResponse> Serve(ServerState* state, net::HttpRequest req) {
  net::HttpResponse r;
  r.SetHeader("Content-Type", "application/json");
  if (req.url == "/computeMetadata/v1/instance/service-accounts/default/token") {
    const std::string* flavor = req.FindHeader("Metadata-Flavor");
    if (flavor == nullptr || *flavor != "Google") {
      r.status = 403;
      r.body = "Missing Metadata-Flavor:Google header.";
      co_return r;
    }
    r.body = R"({"access_token":"ya29.loopback","expires_in":3599,"token_type":"Bearer"})";
    co_return r;
  }
  if (const std::string* auth = req.FindHeader("Authorization")) {
    state->auth_headers.push_back(*auth);
  }
  if (req.url == "/v1/projects/p/instances/i" && req.method == "GET") {
    if (state->instance_gets++ == 0) {
      r.status = 429;
      r.body = R"({"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}})";
      co_return r;
    }
    r.body = R"({"name":"i","project":"p","settings":{"settingsVersion":"5"}})";
    co_return r;
  }
  if (req.url == "/v1/projects/p/instances/i" && req.method == "PATCH") {
    ++state->patches;
    r.status = 409;
    r.body = R"({"error":{"code":409,"message":"another operation in progress","errors":[{"reason":"operationInProgress"}]}})";
    co_return r;
  }
  r.status = 404;
  r.body = R"({"error":{"code":404,"message":"no route","status":"NOT_FOUND"}})";
  co_return r;
}

struct Results {
  StatusOr<AccessToken> token = UnknownError();
  StatusOr<SqlInstance> instance = UnknownError();
  StatusOr<Operation> patch = UnknownError();
  static Status UnknownError() { return Status(StatusCode::kUnknown, "not run"); }
};

boost::asio::awaitable<void> Scenario(std::shared_ptr<TokenSource> tokens, RestClients* clients,
                                      Results* out) {
  out->token = co_await tokens->Token();
  out->instance = co_await clients->clients().sql->GetInstance("p", "i");
  SqlInstancePatch patch;
  patch.settings_version = "5";
  patch.ipv4_enabled = false;
  out->patch = co_await clients->clients().sql->PatchInstance("p", "i", patch);
}

TEST_CASE("over loopback HTTP: metadata token, retried read, surfaced 409", "[loopback]") {
  // The server runs on its own thread and io_context, as a remote API would.
  boost::asio::io_context server_io;
  ServerState state;
  auto server = net::HttpServer::Start(
      server_io.get_executor(), net::ServerOptions{},
      [&state](net::HttpRequest req) { return Serve(&state, std::move(req)); });
  REQUIRE(server.ok());
  std::thread server_thread([&server_io] { server_io.run(); });

  boost::asio::io_context io;
  auto http_owned = net::MakeHttpClient(io.get_executor(), net::ClientOptions{});
  REQUIRE(http_owned.ok());
  std::shared_ptr<net::HttpClient> http = std::move(*http_owned);

  Endpoints endpoints;
  REQUIRE(endpoints.Override("metadata=" + (*server)->url()).ok());
  REQUIRE(endpoints.Override("sqladmin=" + (*server)->url()).ok());
  AuthOptions auth;
  auth.http = http;
  auth.endpoints = endpoints;
  auto tokens = MakeMetadataServerSource(auth);

  RestOptions options;
  options.retry.initial_backoff = std::chrono::milliseconds(1);  // real clock, tiny waits
  options.retry.max_backoff = std::chrono::milliseconds(5);
  auto clients = MakeRestClients(io.get_executor(), http, tokens, endpoints,
                                 RateLimits::Defaults(), options);
  Results results;
  boost::asio::co_spawn(io, Scenario(tokens, clients.get(), &results),
                        [](std::exception_ptr e) {
                          if (e) std::rethrow_exception(e);
                        });
  io.run_for(std::chrono::seconds(20));
  const auto requests_sent = http->stats().requests;
  clients.reset();
  http.reset();
  (*server)->Stop();
  server_thread.join();

  REQUIRE(results.token.ok());
  CHECK(results.token->value == "ya29.loopback");
  REQUIRE(results.instance.ok());
  CHECK(results.instance->settings_version == "5");
  CHECK(state.instance_gets == 2);
  CHECK(results.patch.status().reason() == "operationInProgress");
  CHECK(state.patches == 1);
  for (const auto& h : state.auth_headers) CHECK(h == "Bearer ya29.loopback");
  CHECK(requests_sent == 4);
}

}  // namespace
}  // namespace dbconnd::gcp
