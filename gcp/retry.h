#pragma once
// Retry as a policy (CONVENTIONS.md rule 8): a bound on attempts and on
// elapsed time, truncated exponential backoff with full jitter, and the
// rules for what may be retried at all. Clock, sleeper and randomness are
// injected so tests never wait on the real clock.
//
// What is retried (REFERENCE.md §6, AIP-194):
// - Reads: 429, 500, 502, 503, 504, transport UNAVAILABLE (connection refused,
//   reset, ...), and Compute's 403 rateLimitExceeded. A server RetryInfo
//   delay is honoured as a lower bound.
// - Mutations: never automatically. 409 operationInProgress and 412 staleData
//   go back to the caller, who waits for the running operation or re-reads.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <optional>

#include "common/status.h"
#include "gcp/types.h"

namespace dbconnd::gcp {

using SteadyTime = std::chrono::steady_clock::time_point;
using Clock = std::function<SteadyTime()>;
// Suspends the calling coroutine for the given time. The real one uses a
// steady_timer on the caller's executor; it finishes early (returning
// CANCELLED) when the coroutine's cancellation slot fires.
using Sleeper = std::function<boost::asio::awaitable<Status>(std::chrono::milliseconds)>;
// Uniform in [0, 1).
using Rng = std::function<double()>;

Clock SteadyClock();
Sleeper AsioSleeper();
Rng DefaultRng();

enum class CallKind { kRead, kMutation };

struct RetryOptions {
  int max_attempts = 5;                           // first try included
  std::chrono::milliseconds max_elapsed{60'000};  // from the first attempt
  std::chrono::milliseconds initial_backoff{1'000};
  std::chrono::milliseconds max_backoff{30'000};
  double multiplier = 2.0;
};

class RetryPolicy {
 public:
  explicit RetryPolicy(RetryOptions options = {}, Rng rng = DefaultRng());

  const RetryOptions& options() const { return options_; }

  // Whether a failed call of this kind may be sent again.
  static bool IsRetryable(CallKind kind, Api api, const Status& status);

  // Delay before retry number `retry` (0 = the first retry): a uniform draw
  // in [0, min(max_backoff, initial * multiplier^retry)], raised to
  // `server_hint` when the server asked for longer.
  std::chrono::milliseconds Backoff(int retry,
                                    std::optional<std::chrono::milliseconds> server_hint = {}) const;

  // True when another attempt is allowed: `attempts_made` < max_attempts and
  // sleeping `next_delay` keeps the total within max_elapsed.
  bool CanRetry(int attempts_made, std::chrono::milliseconds elapsed,
                std::chrono::milliseconds next_delay) const;

 private:
  RetryOptions options_;
  Rng rng_;
};

}  // namespace dbconnd::gcp
