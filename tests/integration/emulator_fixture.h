#pragma once
// The emulator and the client on the test's thread, one io_context (as in
// `dbconnd demo`): real REST clients over loopback HTTP, a token only this
// emulator accepts, no rate limits. Hooks called during an apply may use
// Call() directly: nothing else runs while they do.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/loader.h"
#include "cli/gcp_setup.h"
#include "cli/reconcile_cli.h"
#include "emulator/emulator_server.h"
#include "reconcilers/executor.h"

namespace dbconnd::integration {

inline const std::string kSrc = DBCONND_SOURCE_DIR;
inline constexpr char kToken[] = "integration-test-token";
inline constexpr char kProject[] = "melodic-now-463704-k1";
inline constexpr char kInstance[] = "saleor-db-demo";
inline constexpr char kJob[] = "saleor-migration-1751028053";
inline constexpr char kPassword[] = "secure-db-password-123";

class Cloud {
 public:
  boost::asio::io_context io;  // declared first: destroyed last

  explicit Cloud(std::chrono::milliseconds op_delay = std::chrono::milliseconds(20)) {
    emulator::EmulatorOptions eo;
    eo.model.seed = "incident";
    eo.model.op_delay = op_delay;
    eo.model.accept_token = kToken;
    auto server = emulator::EmulatorServer::Start(io.get_executor(), eo);
    if (!server.ok()) throw std::runtime_error(server.status().message());
    server_ = std::move(*server);
    for (auto name : gcp::Endpoints::kNames) (void)endpoints_.Set(name, server_->base_url());
    cli::GcpSetupOptions so;
    so.static_token = kToken;
    so.endpoints_override = &endpoints_;
    so.proxy_from_environment = false;
    cli::GcpFlags flags;
    flags.no_rate_limits = true;
    auto access = cli::SetUpGcp(io.get_executor(), flags, so);
    if (!access.ok()) throw std::runtime_error(access.status().message());
    access_ = std::move(*access);
  }
  ~Cloud() {
    access_.reset();
    server_->Stop();
    io.restart();
    io.run_for(std::chrono::milliseconds(200));  // sessions and pooled connections wind down
    server_.reset();
  }

  gcp::Clients clients() const { return access_->clients(); }
  std::string url() const { return server_->base_url(); }

  // The emulator's admin API (or any route) in-process, under its lock.
  boost::json::value Call(std::string method, std::string path, std::string body = "") {
    net::HttpRequest req;
    req.method = std::move(method);
    req.url = std::move(path);
    req.body = std::move(body);
    req.SetHeader("Authorization", std::string("Bearer ") + kToken);
    if (!req.body.empty()) req.SetHeader("Content-Type", "application/json");
    std::lock_guard lock(server_->mutex());
    auto resp = server_->model().Handle(req, emulator::Clock::now());
    boost::system::error_code ec;
    auto v = boost::json::parse(resp.body, ec);
    return ec ? boost::json::value(resp.body) : v;
  }

  // Non-GET requests in arrival order ("PATCH sqladmin.instances.patch").
  std::vector<std::string> Writes() {
    std::vector<std::string> out;
    auto v = Call("GET", "/emulator/requests");
    for (const auto& r : v.at("recent").as_array()) {
      std::string s(r.as_string());
      if (s.rfind("GET ", 0) == 0) continue;
      std::string route = s.substr(0, s.find(' ', s.find(' ') + 1));
      // A read sent as POST (Resource Manager's projects.getIamPolicy).
      if (route.ends_with(".getIamPolicy")) continue;
      out.push_back(std::move(route));
    }
    return out;
  }
  int64_t Count(const std::string& route) {
    auto v = Call("GET", "/emulator/requests");
    const auto* n = v.at("counts").as_object().if_contains(route);
    return n ? n->as_int64() : 0;
  }
  void ClearLog() { Call("DELETE", "/emulator/requests"); }

  boost::json::object Instance() {
    return Call("GET", std::string("/v1/projects/") + kProject + "/instances/" + kInstance)
        .as_object();
  }
  boost::json::object Job() {
    return Call("GET", std::string("/v2/projects/") + kProject +
                           "/locations/us-central1/jobs/" + kJob)
        .as_object();
  }

  reconcilers::ApplyResult Apply(const config::Intent& intent,
                                 reconcilers::ApplyOptions options = FastOptions()) {
    return cli::RunToCompletion(io, reconcilers::Apply(clients(), intent, std::move(options)));
  }

  static reconcilers::ApplyOptions FastOptions() {
    reconcilers::ApplyOptions o;
    o.wait.initial_poll = std::chrono::milliseconds(10);
    o.wait.max_poll = std::chrono::milliseconds(50);
    o.wait.timeout = std::chrono::seconds(20);
    o.idle_poll = std::chrono::milliseconds(20);
    o.timeout = std::chrono::seconds(30);
    return o;
  }


 private:
  std::unique_ptr<emulator::EmulatorServer> server_;
  gcp::Endpoints endpoints_;
  std::unique_ptr<cli::GcpAccess> access_;
};

inline config::Intent SaleorIntent() {
  auto r = config::LoadPaths({kSrc + "/examples/saleor.yaml"});
  if (!r.ok()) throw std::runtime_error("examples/saleor.yaml does not load");
  return *r.state->intents.at(0);
}

}  // namespace dbconnd::integration
