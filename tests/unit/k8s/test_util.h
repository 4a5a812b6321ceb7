#pragma once
// Plumbing for k8s_test: drive one io_context from the test thread, run a
// coroutine to completion, temp dirs, and a replica (elector + call log).

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "k8s/cluster_config.h"
#include "k8s/leader_elector.h"
#include "k8s/lease_client.h"
#include "net/http_client.h"

namespace dbconnd::k8s::testing {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// Runs `io` until `pred` holds or `timeout` passes; returns pred().
inline bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& pred,
                     milliseconds timeout) {
  auto end = SteadyClock::now() + timeout;
  while (!pred()) {
    if (SteadyClock::now() >= end) return false;
    if (io.stopped()) io.restart();
    io.run_for(milliseconds(2));
  }
  return true;
}

inline void RunFor(boost::asio::io_context& io, milliseconds d) {
  RunUntil(io, [] { return false; }, d);
}

template <typename T>
boost::asio::awaitable<void> StoreInto(boost::asio::awaitable<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

// Runs one coroutine to completion on `io` (the fake server keeps serving).
template <typename T>
T Await(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> out;
  boost::asio::co_spawn(io, StoreInto(std::move(task), &out), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  if (!RunUntil(io, [&] { return out.has_value(); }, milliseconds(10'000))) {
    throw std::runtime_error("coroutine did not finish within 10 s");
  }
  return std::move(*out);
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::mt19937_64 rng(std::random_device{}());
    path = std::filesystem::temp_directory_path() / ("dbconnd-k8s-test-" + std::to_string(rng()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string Write(const std::string& name, const std::string& content) const {
    auto p = path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
};

inline std::shared_ptr<LeaseClient> MakeLeaseClient(boost::asio::io_context& io,
                                                    const std::string& url,
                                                    const std::string& token,
                                                    LeaseClientOptions options = {}) {
  auto http = net::MakeHttpClient(io.get_executor(), {});
  if (!http.ok()) throw std::runtime_error(http.status().ToString());
  std::shared_ptr<net::HttpClient> shared = std::move(*http);
  return std::make_shared<LeaseClient>(
      shared, ClusterConfig::Make(url, "", "default", token, "", "fake API server"),
      std::move(options));
}

// One daemon replica: an elector with its callbacks recorded.
struct Replica {
  std::string id;
  std::unique_ptr<LeaderElector> elector;
  int started = 0;
  int stopped = 0;
  std::vector<std::string> leaders;  // on_new_leader reports
  SteadyClock::time_point started_at{};
  SteadyClock::time_point stopped_at{};
  bool run_done = false;
  // Set by on_started_leading of this replica, for fencing checks.
  std::function<void()> on_started;
  boost::asio::cancellation_signal cancel;

  static boost::asio::awaitable<void> RunAndMark(LeaderElector* e, bool* done) {
    co_await e->Run();
    *done = true;
  }

  void Start(boost::asio::io_context& io) {
    boost::asio::co_spawn(io, RunAndMark(elector.get(), &run_done),
                          boost::asio::bind_cancellation_slot(cancel.slot(), boost::asio::detached));
  }
};

inline LeaderElectionConfig TestConfig(const std::string& id, milliseconds lease = milliseconds(300),
                                       milliseconds renew = milliseconds(200),
                                       milliseconds retry = milliseconds(50)) {
  LeaderElectionConfig c;
  c.lease_namespace = "default";
  c.lease_name = "dbconnd";
  c.identity = id;
  c.lease_duration = lease;
  c.renew_deadline = renew;
  c.retry_period = retry;
  return c;
}

inline std::unique_ptr<Replica> MakeReplica(boost::asio::io_context& io, const std::string& url,
                                            const std::string& id, const std::string& token,
                                            LeaderElectionConfig config) {
  auto r = std::make_unique<Replica>();
  r->id = id;
  Replica* raw = r.get();
  config.identity = id;
  config.callbacks.on_started_leading = [raw] {
    raw->started++;
    raw->started_at = SteadyClock::now();
    if (raw->on_started) raw->on_started();
  };
  config.callbacks.on_stopped_leading = [raw] {
    raw->stopped++;
    raw->stopped_at = SteadyClock::now();
  };
  config.callbacks.on_new_leader = [raw](const std::string& who) { raw->leaders.push_back(who); };
  auto e = LeaderElector::Create(MakeLeaseClient(io, url, token), std::move(config));
  if (!e.ok()) throw std::runtime_error(e.status().ToString());
  r->elector = std::move(*e);
  return r;
}

}  // namespace dbconnd::k8s::testing
