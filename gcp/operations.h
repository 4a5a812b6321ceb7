#pragma once
// One waiter for the three long-running operation styles (REFERENCE.md):
// Cloud SQL (status DONE + error.errors[]), google.longrunning (done + error;
// Run, VPC Access, Service Networking) and Compute (status DONE +
// error.errors[]). Polls the owning API's operations.get with backoff.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "gcp/api.h"
#include "gcp/retry.h"
#include "gcp/telemetry.h"

namespace dbconnd::gcp {

struct WaitProgress {
  Api api;
  std::string operation;  // name
  std::string target;     // what it acts on
  std::string waiting_for;  // "sqladmin operation op-1 (UPDATE) on saleor-db-demo"
  std::chrono::milliseconds elapsed{0};
  int polls = 0;
};

// Polls back off exponentially from initial_poll up to max_poll, each sleep
// stretched by a random factor in [1, 1 + jitter] so that many waits started
// together do not poll in lockstep. With the defaults a 5-minute Cloud SQL
// operation costs 14 polls at most (1+2+4+8+16 s, then ~30 s apart).
struct WaitOptions {
  std::chrono::milliseconds initial_poll{1'000};
  std::chrono::milliseconds max_poll{30'000};
  double multiplier = 2.0;
  double jitter = 0.1;
  // Overall bound; DEADLINE_EXCEEDED names the operation and the time waited.
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
  // Set to true from anywhere (e.g. SIGTERM) to stop waiting: CANCELLED.
  // Cancelling the awaiting coroutine (asio cancellation slot) also stops
  // the wait at the next sleep.
  std::shared_ptr<std::atomic<bool>> stop;
  // Called after every poll that did not finish the wait (CLI live progress).
  std::function<void(const WaitProgress&)> progress;
  Clock clock;      // default: steady clock
  Sleeper sleeper;  // default: asio timer on the caller's executor
  Rng rng;          // default: DefaultRng()
  // Told when a wait starts and ends (with its poll count). May be null.
  std::shared_ptr<Telemetry> telemetry;
};

// Waits until `op` is done. An OK result always has done == true; its
// `error` tells whether the operation itself failed (check it!). Errors of
// the wait itself: DEADLINE_EXCEEDED, CANCELLED, or a failed poll (after the
// read retry policy), and INVALID_ARGUMENT when `clients` lacks the API.
// Takes Clients by value (a bundle of pointers) so no reference outlives a
// suspension.
Task<StatusOr<Operation>> WaitForOperation(Clients clients, Operation op, WaitOptions options = {});

// "sqladmin operation op-1 (UPDATE) on saleor-db-demo": for progress and
// messages.
std::string DescribeOperation(const Operation& op);

}  // namespace dbconnd::gcp
