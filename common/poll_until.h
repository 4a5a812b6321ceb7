#pragma once
// One jittered poll loop (operations, connectors becoming READY): ask, and
// until the answer is "done", sleep a truncated exponential delay stretched
// by a random factor so that waits started together do not poll in
// lockstep. Bounded by a deadline (always) and optionally by attempts.
// Clock, sleeper and randomness are injectable so tests never wait on the
// real clock (CONVENTIONS.md rule 8).

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>

#include "common/status.h"

namespace dbconnd::common {

struct PollOptions {
  using Time = std::chrono::steady_clock::time_point;
  // Sleep n (n = 0, 1, ...) is min(max_delay, initial_delay * multiplier^n),
  // times a factor drawn from [1, 1 + jitter], and never past the deadline.
  std::chrono::milliseconds initial_delay{1'000};
  std::chrono::milliseconds max_delay{30'000};
  double multiplier = 2.0;
  double jitter = 0.1;  // clamped to [0, 1]
  // Required: no attempt starts after it (the last sleep is cut short so
  // that one attempt runs at the deadline itself).
  Time deadline;
  int max_attempts = 0;  // attempts in all, the first included; 0 = no bound but the deadline
  // Checked before and after every sleep: when true the wait ends CANCELLED.
  std::function<bool()> stop;
  std::function<Time()> clock;  // default: steady_clock::now
  // Default: an asio steady_timer on the caller's executor (CANCELLED when
  // the awaiting coroutine is cancelled).
  std::function<boost::asio::awaitable<Status>(std::chrono::milliseconds)> sleeper;
  std::function<double()> rng;  // uniform in [0, 1); default: a seeded engine
};

// One attempt; `attempt` counts from 0. true = done, false = ask again
// later, an error ends the wait with that error as is.
using PollAttempt = std::function<boost::asio::awaitable<StatusOr<bool>>(int attempt)>;

// OK once an attempt says done. DEADLINE_EXCEEDED when the deadline or
// max_attempts leaves no room for another attempt ("after N attempts in
// Xs"; callers that know what they waited for annotate or replace it).
// CANCELLED when `stop` says so or a sleep fails (its own Status).
boost::asio::awaitable<Status> PollUntil(PollAttempt attempt, PollOptions options);

}  // namespace dbconnd::common
