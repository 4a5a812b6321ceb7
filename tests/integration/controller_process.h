#pragma once
// Real processes for the controller's integration tests: a gcp-emulator
// subprocess with --state, and `dbconnd run` subprocesses that can be
// SIGTERMed or SIGKILLed, plus a blocking loopback HTTP helper. Every wait is
// bounded; ports are picked by the processes (port 0) and read from their
// output.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/process.h"

namespace dbconnd::integration::proc {

using testing::Http;
using testing::HttpResult;
using testing::PortFrom;
using testing::Process;
using testing::ReadFile;
using testing::WaitFor;


inline const std::string kBin = DBCONND_BINARY_DIR;
inline const std::string kDbconnd = kBin + "/cli/dbconnd";
inline const std::string kEmulator = kBin + "/emulator/gcp-emulator";
inline const std::string kSourceDir = DBCONND_SOURCE_DIR;
inline constexpr char kToken[] = "controller-test-token";

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dbconnd-ctl-it-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class EmulatorProcess {
 public:
  EmulatorProcess(const std::string& dir, const std::string& op_delay, const std::string& seed = "incident") {
    std::vector<std::string> argv{kEmulator, "--listen", "127.0.0.1:0", "--state", dir + "/emulator.state",
                                  "--op-delay", op_delay, "--accept-token", kToken, "--seed", seed};
    p_ = std::make_unique<Process>(argv, dir + "/emulator.out", dir + "/emulator.err");
    if (!WaitFor([&] { return (port_ = PortFrom(p_->out(), "listening on http://127\\.0\\.0\\.1:(\\d+)")) != 0; })) {
      throw std::runtime_error("gcp-emulator did not start: " + p_->err());
    }
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Count of requests per "METHOD route" since start.
  int64_t Count(const std::string& route) const {
    auto r = Http(port_, "GET", "/emulator/requests");
    if (r.status != 200) return -1;
    auto v = boost::json::parse(r.body).as_object();
    auto* c = v.at("counts").as_object().if_contains(route);
    return c ? c->to_number<int64_t>() : 0;
  }
  // Sum of counts of every mutating request (POST/PATCH/DELETE) outside /emulator.
  std::map<std::string, int64_t> Mutations() const {
    std::map<std::string, int64_t> out;
    auto r = Http(port_, "GET", "/emulator/requests");
    if (r.status != 200) return out;
    auto v = boost::json::parse(r.body).as_object();
    for (const auto& [k, n] : v.at("counts").as_object()) {
      std::string key(k);
      // Reads only: GETs, the emulator's own routes, tokens, and
      // getIamPolicy (a read sent as POST: run-time prerequisites).
      if (key.rfind("GET ", 0) == 0 || key.find("emulator") != std::string::npos ||
          key.find("token") != std::string::npos || key.ends_with(".getIamPolicy")) {
        continue;
      }
      out[key] = n.to_number<int64_t>();
    }
    return out;
  }
  static int64_t Total(const std::map<std::string, int64_t>& m) {
    int64_t t = 0;
    for (const auto& [k, v] : m) t += v;
    return t;
  }
  HttpResult AddWorldOpen(const std::string& name = "gcloud-added") const {
    return Http(port_, "POST", "/emulator/edit",
                R"({"instance":"saleor-db-demo","addAuthorizedNetwork":{"value":"0.0.0.0/0","name":")" +
                    name + R"("}})");
  }
  Process& process() { return *p_; }

 private:
  std::unique_ptr<Process> p_;
  int port_ = 0;
};

class DaemonProcess {
 public:
  DaemonProcess(const std::string& dir, const EmulatorProcess& emu, const std::string& config,
                std::vector<std::string> extra = {}) {
    WriteFile(dir + "/token", std::string(kToken) + "\n");
    std::vector<std::string> argv{kDbconnd, "run", "--config", config, "--listen", "127.0.0.1:0",
                                  "--state-dir", dir + "/state", "--resync", "1s",
                                  "--operation-poll", "100ms", "--settle-recheck", "100ms",
                                  "--access-token-file", dir + "/token"};
    // No client-side limits unless the test sets some itself.
    if (std::find(extra.begin(), extra.end(), "--rate-limit") == extra.end()) {
      argv.push_back("--no-rate-limits");
    }
    // JSON logs unless the test picks a format itself.
    if (std::find(extra.begin(), extra.end(), "--log-format") == extra.end()) {
      argv.push_back("--log-format");
      argv.push_back("json");
    }
    for (const char* api : {"sqladmin", "run", "vpcaccess", "servicenetworking", "compute",
                          "secretmanager", "cloudresourcemanager"}) {
      argv.push_back("--endpoint");
      argv.push_back(std::string(api) + "=" + emu.url());
    }
    for (auto& e : extra) argv.push_back(e);
    err_file_ = dir + "/dbconnd." + std::to_string(++Counter()) + ".err";
    p_ = std::make_unique<Process>(argv, dir + "/dbconnd.out", err_file_);
    if (!WaitFor([&] {
          port_ = PortFrom(p_->err(), "serving /metrics /healthz /readyz /status on http://127\\.0\\.0\\.1:(\\d+)");
          return port_ != 0 || !p_->running();
        }) || port_ == 0) {
      throw std::runtime_error("dbconnd run did not start: " + p_->err());
    }
  }
  int port() const { return port_; }
  Process& process() { return *p_; }
  std::optional<boost::json::object> Status() const {
    auto r = Http(port_, "GET", "/status");
    if (r.status != 200) return std::nullopt;
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return v.as_object();
  }
  // The first intent's Synced (or Ready) condition reason, "" when unknown.
  std::string Reason(const std::string& type = "Synced") const {
    auto s = Status();
    if (!s) return "";
    auto& intents = s->at("intents").as_array();
    if (intents.empty()) return "";
    for (const auto& c : intents[0].as_object().at("conditions").as_array()) {
      if (c.as_object().at("type").as_string() == type) return std::string(c.as_object().at("reason").as_string());
    }
    return "";
  }
  bool Converged() const { return Reason("Ready") == "UpToDate"; }

 private:
  static int& Counter() {
    static int n = 0;
    return n;
  }
  std::unique_ptr<Process> p_;
  std::string err_file_;
  int port_ = 0;
};

inline std::string SaleorConfigDir(const std::string& dir) {
  std::string cfg = dir + "/config";
  std::filesystem::create_directories(cfg);
  WriteFile(cfg + "/saleor.yaml", ReadFile(kSourceDir + "/examples/saleor.yaml"));
  return cfg;
}

}  // namespace dbconnd::integration::proc
