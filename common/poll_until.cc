#include "common/poll_until.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdint>
#include <random>

namespace dbconnd::common {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

asio::awaitable<Status> TimerSleep(milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (ec) co_return CancelledError("sleep cancelled");
  co_return OkStatus();
}

double SeededUniform() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

bool Stopped(const PollOptions& o) { return o.stop && o.stop(); }

}  // namespace

asio::awaitable<Status> PollUntil(PollAttempt attempt, PollOptions options) {
  if (!options.clock) options.clock = [] { return std::chrono::steady_clock::now(); };
  if (!options.sleeper) options.sleeper = TimerSleep;
  if (!options.rng) options.rng = SeededUniform;
  const auto start = options.clock();
  const double jitter = std::clamp(options.jitter, 0.0, 1.0);
  milliseconds delay = options.initial_delay;
  for (int n = 0;; ++n) {
    StatusOr<bool> done = co_await attempt(n);
    if (!done.ok()) co_return done.status();
    if (*done) co_return OkStatus();
    if (Stopped(options)) co_return CancelledError("stopped waiting");
    const auto now = options.clock();
    const int made = n + 1;
    if (now >= options.deadline || (options.max_attempts > 0 && made >= options.max_attempts)) {
      const auto waited = std::chrono::duration_cast<milliseconds>(now - start);
      co_return DeadlineExceededError(
          "not done after " + std::to_string(made) + (made == 1 ? " attempt in " : " attempts in ") +
          std::to_string(waited.count() / 1000) + "." + std::to_string(waited.count() % 1000 / 100) +
          "s");
    }
    const double stretch = 1.0 + jitter * options.rng();
    const milliseconds jittered(
        static_cast<std::int64_t>(static_cast<double>(delay.count()) * stretch));
    const milliseconds sleep =
        std::min(jittered, std::chrono::duration_cast<milliseconds>(options.deadline - now));
    Status slept = co_await options.sleeper(sleep);
    if (!slept.ok()) co_return slept;
    if (Stopped(options)) co_return CancelledError("stopped waiting");
    delay = std::min(options.max_delay,
                     milliseconds(static_cast<std::int64_t>(static_cast<double>(delay.count()) *
                                                            options.multiplier)));
  }
}

}  // namespace dbconnd::common
