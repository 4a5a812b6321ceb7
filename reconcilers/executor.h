#pragma once
// The acting layer: observe -> ComputePlan -> execute the first ready step ->
// wait for its operation -> observe again, until nothing is ready or a bound
// is hit (see plan.h for why only one step per observation).
//
// Coroutines on the caller's executor; every wait is bounded by
// ApplyOptions. Clients and intent are taken by value (GCC 12 coroutine
// rule: no reference outlives a suspension).

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/model.h"
#include "gcp/api.h"
#include "gcp/operations.h"
#include "gcp/retry.h"
#include "reconcilers/live_state.h"
#include "reconcilers/plan.h"

namespace dbconnd::reconcilers {

struct ApplyOptions {
  // Upper bound on observe/plan rounds in one pass (steps, 409/412 re-plans,
  // idle polls all count).
  int max_rounds = 100;
  // Consecutive rounds in which a step was refused with 409/412 before the
  // pass gives up with ABORTED.
  int max_conflicts = 10;
  // While only waiting steps remain (connector CREATING, IP not assigned):
  // how long to sleep before observing again, and how often at most.
  std::chrono::milliseconds idle_poll{5'000};
  int max_idle_polls = 60;
  gcp::WaitOptions wait;   // long-running operations (clock/sleeper injectable)
  gcp::Sleeper sleeper;    // idle polls; default asio timer
  // Called before a step executes (CLI progress). Never sees secrets: steps
  // carry redacted display strings only.
  std::function<void(const Step&)> on_step;
};

struct ApplyResult {
  Status status;                      // why the pass stopped early; OK otherwise
  std::vector<std::string> executed;  // step ids whose write succeeded, in order
  Plan last_plan;                     // the plan of the last observation
  bool converged = false;             // last_plan has no steps
  // Verification records to hand to the next pass (see JobVerification).
  std::map<std::string, JobVerification> verifications;
};

// Reads everything ComputePlan needs with bulk list calls: instances.list,
// connectors/jobs/services list per project+region, one Service Networking
// list for the network, one globalAddresses.get. NOT_FOUND of the range is
// "absent"; any other error is returned.
gcp::Task<StatusOr<LiveState>> Observe(gcp::Clients clients, config::Intent intent);

// One apply pass. In observe mode / paused it observes and plans once and
// writes nothing.
gcp::Task<ApplyResult> Apply(gcp::Clients clients, config::Intent intent, ApplyOptions options,
                             std::map<std::string, JobVerification> verifications = {});

}  // namespace dbconnd::reconcilers
