#include "gcp/retry.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <mutex>
#include <random>

namespace dbconnd::gcp {

Clock SteadyClock() {
  return [] { return std::chrono::steady_clock::now(); };
}

namespace {
boost::asio::awaitable<Status> AsioSleep(std::chrono::milliseconds delay) {
  auto executor = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer timer(executor, delay);
  auto [ec] = co_await timer.async_wait(
      boost::asio::as_tuple(boost::asio::use_awaitable));
  if (ec) co_return CancelledError("wait cancelled");
  co_return OkStatus();
}
}  // namespace

Sleeper AsioSleeper() { return &AsioSleep; }

Rng DefaultRng() {
  return [] {
    thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
  };
}

RetryPolicy::RetryPolicy(RetryOptions options, Rng rng)
    : options_(options), rng_(rng ? std::move(rng) : DefaultRng()) {}

bool RetryPolicy::IsRetryable(CallKind kind, Api api, const Status& status) {
  if (status.ok() || kind == CallKind::kMutation) return false;
  switch (status.http_status()) {
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return true;
    case 403:
      // Compute signals rate-quota overflow as 403 (REFERENCE.md §6).
      return api == Api::kCompute &&
             (status.reason() == "rateLimitExceeded" || status.reason() == "userRateLimitExceeded");
    case 0:
      // No HTTP reply at all: the transport could not reach the server.
      return status.code() == StatusCode::kUnavailable;
    default:
      return false;
  }
}

std::chrono::milliseconds RetryPolicy::Backoff(
    int retry, std::optional<std::chrono::milliseconds> server_hint) const {
  double cap = static_cast<double>(options_.initial_backoff.count()) *
               std::pow(options_.multiplier, std::max(0, retry));
  cap = std::min(cap, static_cast<double>(options_.max_backoff.count()));
  double r = std::clamp(rng_(), 0.0, 1.0);
  auto delay = std::chrono::milliseconds(static_cast<int64_t>(std::llround(cap * r)));
  if (server_hint && *server_hint > delay) delay = *server_hint;
  return delay;
}

bool RetryPolicy::CanRetry(int attempts_made, std::chrono::milliseconds elapsed,
                           std::chrono::milliseconds next_delay) const {
  return attempts_made < options_.max_attempts && elapsed + next_delay <= options_.max_elapsed;
}

}  // namespace dbconnd::gcp
