#pragma once
// Shared test plumbing for gcp_test: run a coroutine to completion, a fake
// clock + sleeper that never sleeps, and an in-memory HTTP client.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <deque>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "gcp/http_transport.h"
#include "gcp/retry.h"
#include "net/http.h"

namespace dbconnd::gcp::testing {

template <typename T>
boost::asio::awaitable<void> StoreResult(boost::asio::awaitable<T> task, std::optional<T>* out) {
  out->emplace(co_await std::move(task));
}

// Spawns `task` on `io`; the result lands in *out when it finishes.
template <typename T>
void Spawn(boost::asio::io_context& io, boost::asio::awaitable<T> task, std::optional<T>* out) {
  boost::asio::co_spawn(io, StoreResult(std::move(task), out), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
}

// Runs `task` on a fresh io_context until it and everything it spawned end.
template <typename T>
T RunSync(boost::asio::awaitable<T> task) {
  boost::asio::io_context io;
  std::optional<T> result;
  Spawn(io, std::move(task), &result);
  io.run();
  return std::move(*result);
}

struct FakeTime {
  SteadyTime now = SteadyTime{} + std::chrono::hours(1);
  std::vector<std::chrono::milliseconds> sleeps;

  Clock clock() {
    return [this] { return now; };
  }
  Sleeper sleeper();
};

inline boost::asio::awaitable<Status> FakeSleep(FakeTime* t, std::chrono::milliseconds d) {
  t->sleeps.push_back(d);
  t->now += d;
  // Yield so concurrent coroutines interleave as they would on a timer.
  auto executor = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(executor, boost::asio::use_awaitable);
  co_return OkStatus();
}

inline Sleeper FakeTime::sleeper() {
  return [this](std::chrono::milliseconds d) { return FakeSleep(this, d); };
}

// Fakes, not mocks: an in-memory HTTP client with a request log and either a
// queue of scripted replies or a handler function.
class FakeHttpClient : public net::HttpClient {
 public:
  using Handler = std::function<StatusOr<net::HttpResponse>(const net::HttpRequest&)>;

  void Push(int status, std::string body) {
    net::HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.SetHeader("Content-Type", "application/json");
    replies.push_back(r);
  }
  void PushError(Status s) { replies.push_back(std::move(s)); }

  boost::asio::awaitable<StatusOr<net::HttpResponse>> Send(net::HttpRequest request,
                                                           net::Deadlines) override {
    requests.push_back(request);
    // Suspend like a real network call so concurrent callers overlap.
    auto executor = co_await boost::asio::this_coro::executor;
    co_await boost::asio::post(executor, boost::asio::use_awaitable);
    co_await boost::asio::post(executor, boost::asio::use_awaitable);
    if (handler) co_return handler(request);
    if (replies.empty()) co_return InternalError("FakeHttpClient: no scripted reply left");
    StatusOr<net::HttpResponse> r = replies.front();
    replies.pop_front();
    co_return r;
  }

  net::ClientStats stats() const override {
    net::ClientStats s;
    s.requests = requests.size();
    return s;
  }

  std::deque<StatusOr<net::HttpResponse>> replies;
  std::vector<net::HttpRequest> requests;
  Handler handler;
};

inline net::HttpResponse JsonReply(int status, std::string body) {
  net::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.SetHeader("Content-Type", "application/json");
  return r;
}

}  // namespace dbconnd::gcp::testing
