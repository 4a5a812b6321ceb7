// HTTP-level tests: the emulator served by EmulatorServer, driven over
// loopback with a minimal Beast client.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

#include "emulator/emulator_server.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using dbconnd::emulator::EmulatorOptions;
using dbconnd::emulator::EmulatorServer;

namespace {

struct Running {
  asio::io_context ioc;
  std::unique_ptr<EmulatorServer> server;
  std::thread thread;
  explicit Running(EmulatorOptions opts) {
    auto s = EmulatorServer::Start(ioc.get_executor(), std::move(opts));
    REQUIRE(s.ok());
    server = std::move(*s);
    thread = std::thread([this] { ioc.run(); });
  }
  ~Running() {
    server->Stop();
    server.reset();
    thread.join();
  }
};

struct Client {
  asio::io_context ioc;
  asio::ip::tcp::socket sock{ioc};
  beast::flat_buffer buf;
  explicit Client(uint16_t port) {
    sock.connect({asio::ip::make_address("127.0.0.1"), port});
  }
  bhttp::response<bhttp::string_body> Call(bhttp::verb verb, std::string target, std::string body = "",
                                           std::string token = "demo") {
    bhttp::request<bhttp::string_body> req{verb, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
    req.body() = std::move(body);
    req.prepare_payload();
    bhttp::write(sock, req);
    bhttp::response<bhttp::string_body> resp;
    bhttp::read(sock, buf, resp);
    return resp;
  }
};

constexpr char kJob[] = "/v2/projects/melodic-now-463704-k1/locations/us-central1/jobs/saleor-migration-1751028053";
constexpr char kInstance[] = "/v1/projects/melodic-now-463704-k1/instances/saleor-db-demo";

EmulatorOptions Opts() {
  EmulatorOptions o;
  o.model.accept_token = "demo";
  o.model.op_delay = std::chrono::milliseconds(50);
  return o;
}

}  // namespace

TEST_CASE("served emulator answers Google paths over keep-alive and needs a token") {
  Running r(Opts());
  Client c(r.server->port());
  CHECK(c.Call(bhttp::verb::get, kInstance, "", "").result_int() == 401);
  CHECK(c.Call(bhttp::verb::get, kInstance, "", "wrong").result_int() == 401);
  auto ok = c.Call(bhttp::verb::get, kInstance);
  CHECK(ok.result_int() == 200);
  CHECK(ok.body().find("34.41.195.120") != std::string::npos);
  auto run = c.Call(bhttp::verb::post, std::string(kJob) + ":run", "{}");
  CHECK(run.result_int() == 200);
  auto again = c.Call(bhttp::verb::get, kInstance);
  CHECK(again.result_int() == 200);
  auto counts = c.Call(bhttp::verb::get, "/emulator/requests");
  auto v = boost::json::parse(counts.body());
  CHECK(v.at("counts").at("GET sqladmin.instances.get").as_int64() == 4);
  CHECK(v.at("counts").at("POST run.jobs.run").as_int64() == 1);
}

TEST_CASE("served emulator persists every change to --state and reloads it") {
  auto dir = std::filesystem::temp_directory_path() / ("emu-srv-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  EmulatorOptions o = Opts();
  o.state_file = (dir / "state.json").string();
  {
    Running r(o);
    Client c(r.server->port());
    REQUIRE(c.Call(bhttp::verb::patch, kInstance, R"({"settings":{"userLabels":{"x":"y"}}})").result_int() == 200);
  }
  REQUIRE(std::filesystem::exists(o.state_file));
  Running r2(o);
  Client c2(r2.server->port());
  // The pending operation survived the restart and completes.
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  auto inst = boost::json::parse(c2.Call(bhttp::verb::get, kInstance).body());
  CHECK(inst.at("settings").at("userLabels").at("x").as_string() == "y");
  std::filesystem::remove_all(dir);
}

TEST_CASE("injected reset drops the connection and 503s are Google-shaped") {
  Running r(Opts());
  {
    Client c(r.server->port());
    REQUIRE(c.Call(bhttp::verb::post, "/emulator/faults",
                   R"({"faults":[{"route":"GET sqladmin.instances.get","reset":true,"count":1},{"route":"GET run.jobs.get","status":503,"count":1}]})")
                .result_int() == 200);
  }
  Client c(r.server->port());
  bhttp::request<bhttp::string_body> req{bhttp::verb::get, kInstance, 11};
  req.set(bhttp::field::host, "x");
  req.set(bhttp::field::authorization, "Bearer demo");
  bhttp::write(c.sock, req);
  bhttp::response<bhttp::string_body> resp;
  beast::error_code ec;
  bhttp::read(c.sock, c.buf, resp, ec);
  CHECK(ec);
  Client c3(r.server->port());
  auto unavailable = c3.Call(bhttp::verb::get, kJob);
  CHECK(unavailable.result_int() == 503);
  CHECK(boost::json::parse(unavailable.body()).at("error").at("status").as_string() == "UNAVAILABLE");
  CHECK(c3.Call(bhttp::verb::get, kJob).result_int() == 200);
}

TEST_CASE("drop closes before processing, apply-drop applies then closes without answering") {
  Running r(Opts());
  const std::string patch_path = kInstance;
  {
    Client c(r.server->port());
    REQUIRE(c.Call(bhttp::verb::post, "/emulator/faults",
                   R"({"faults":[{"route":"PATCH sqladmin.instances.patch","status":"drop","count":1}]})")
                .result_int() == 200);
  }
  auto set_apply_drop = [&] {
    Client c(r.server->port());
    REQUIRE(c.Call(bhttp::verb::post, "/emulator/faults",
                   R"({"faults":[{"route":"PATCH sqladmin.instances.patch","status":"apply-drop","count":1}]})")
                .result_int() == 200);
  };
  auto send_patch = [&](const std::string& label) {
    Client c(r.server->port());
    bhttp::request<bhttp::string_body> req{bhttp::verb::patch, patch_path, 11};
    req.set(bhttp::field::host, "x");
    req.set(bhttp::field::authorization, "Bearer demo");
    req.set(bhttp::field::content_type, "application/json");
    req.body() = R"({"settings":{"userLabels":{"team":")" + label + R"("}}})";
    req.prepare_payload();
    bhttp::write(c.sock, req);
    bhttp::response<bhttp::string_body> resp;
    beast::error_code ec;
    bhttp::read(c.sock, c.buf, resp, ec);
    return ec;
  };
  auto mutations = [&] {
    Client c(r.server->port());
    auto v = boost::json::parse(c.Call(bhttp::verb::get, "/emulator/requests").body());
    const auto* n = v.at("mutations").as_object().if_contains("PATCH sqladmin.instances.patch");
    return n ? n->to_number<int64_t>() : 0;
  };
  CHECK(send_patch("first"));  // dropped: no answer...
  CHECK(mutations() == 0);     // ...and nothing happened
  set_apply_drop();
  CHECK(send_patch("second"));  // apply-drop: no answer either...
  CHECK(mutations() == 1);      // ...but the patch was accepted
  {
    Client c(r.server->port());
    auto v = boost::json::parse(c.Call(bhttp::verb::get, "/v1/projects/melodic-now-463704-k1/operations?instance=saleor-db-demo").body());
    REQUIRE(v.at("items").as_array().size() == 1);  // one operation, from the applied request
  }
  CHECK_FALSE(send_patch("third"));  // rules used up: answered (409: the operation still runs)
}
