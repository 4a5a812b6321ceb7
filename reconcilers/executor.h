#pragma once
// The acting layer: observe -> ComputePlan -> execute the first ready step ->
// wait for its operation -> observe again, until nothing is ready or a bound
// is hit (see plan.h for why only one step per observation).
//
// Coroutines on the caller's executor; every wait is bounded by
// ApplyOptions. Clients and intent are taken by value (GCC 12 coroutine
// rule: no reference outlives a suspension).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/model.h"
#include "gcp/api.h"
#include "gcp/operations.h"
#include "gcp/retry.h"
#include "reconcilers/instance_gate.h"
#include "reconcilers/live_state.h"
#include "reconcilers/observation.h"
#include "reconcilers/observation_cache.h"
#include "reconcilers/plan.h"

namespace dbconnd::reconcilers {

// Hook for the controller's journal. Called on the apply coroutine's strand,
// in this order for every write: BeforeMutation (nothing sent yet),
// OperationStarted (Google accepted it; the operation to resume waiting on
// after a crash), Finished (operation done, or the write refused). A refused
// write (409/412) is Finished with that status and never OperationStarted.
// Nothing passed here contains a secret.
class MutationObserver {
 public:
  virtual ~MutationObserver() = default;
  // prior_values_json: {"<change path>": <live value before>, ...}. For a
  // Cloud SQL instance step (paths of diff.h) the values are typed, exact
  // and restorable: ipv4Enabled a bool, sslMode/privateNetwork/
  // allocatedIpRange strings, authorizedNetworks[cidr] an object {value,
  // name, expirationTime} and databaseFlags[name] a string, null where the
  // member was absent (secret-shaped text redacted). Other kinds: the
  // change's redacted display string.
  virtual void BeforeMutation(const Step& step, const std::string& prior_values_json) = 0;
  virtual void OperationStarted(const Step& step, const gcp::Operation& op) = 0;
  virtual void Finished(const Step& step, const Status& status) = 0;
  // Before BeforeMutation of a Compute insert: the requestId (a UUID) this
  // logical write carries on every send, resends included. A journal that
  // keeps it can hand it back through ApplyOptions::request_ids after a
  // restart so Google still deduplicates.
  virtual void RequestIdAssigned(const Step& /*step*/, const std::string& /*request_id*/) {}
};

// requestIds of logical writes, keyed by RequestIdKey(step).
using RequestIds = std::map<std::string, std::string>;
// The key a logical write's requestId is kept under: the step id and the
// values it sets (the same change re-planned maps to the same key).
std::string RequestIdKey(const Step& step);

// Live progress for the CLI.
struct ApplyProgress {
  enum class Kind {
    kStepStarted,   // about to send step's write
    kWaiting,       // polling an operation / connector / instance gate
    kStepFinished,  // step's write done (status OK) or refused/failed
    kConflict,      // 409/412: nothing applied, re-reading and re-planning
    kIdle,          // only settling steps left; observing again after a pause
  };
  Kind kind = Kind::kStepStarted;
  const Step* step = nullptr;  // null for kIdle
  std::string message;         // "instance saleor-db-demo operation UPDATE"
  std::chrono::milliseconds elapsed{0};  // since the step started
  Status status;               // kStepFinished / kConflict
};

// Why a pass writes nothing on purpose: it observes and plans once, and its
// plan is report-only.
enum class WriteBlock : uint8_t {
  kNone,
  kPaused,      // policy.paused
  kObserving,   // policy.mode observe, --observe, or a standby replica
  kDriftFight,  // the intent's fight breaker is open (another writer)
};
// "" / "paused" / "observing" / "drift fight".
std::string_view ToString(WriteBlock block);

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
  // Bound on the whole pass; every operation wait is capped by what is left.
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
  gcp::WaitOptions wait;   // long-running operations (clock/sleeper injectable)
  gcp::Sleeper sleeper;    // idle polls; default asio timer
  // Shared across the process so at most one Cloud SQL operation per
  // instance is in flight. Null: the pass makes its own.
  std::shared_ptr<InstanceOperationGate> gate;
  // Shared snapshots (the controller): the pass's first observation reads
  // them; as soon as a plan has a step to send or wait for, it re-observes
  // with direct GETs (ObserveFresh) and stays fresh, and every resource it
  // writes to is invalidated in the cache. Null: every round calls
  // Observe(clients, intent) (the CLI).
  std::shared_ptr<ObservationCache> observations;
  // With observations: skip the snapshot and observe fresh from the first
  // round (the controller sets it for a pass started by a configuration
  // change, which is about to act anyway).
  bool start_fresh = false;
  MutationObserver* observer = nullptr;  // not owned; may be null
  // Called before a step executes (CLI progress). Never sees secrets: steps
  // carry redacted display strings only.
  std::function<void(const Step&)> on_step;
  std::function<void(const ApplyProgress&)> progress;
  // Write fencing. Asked right before every request that changes something
  // (PATCH, POST, DELETE, jobs.run), after any wait for the instance gate and
  // before the journal entry: a replica that loses its lease in the middle
  // of a pass stops at its next write instead of finishing the pass. A
  // non-OK answer refuses the write (nothing is sent or journaled) and ends
  // the pass with that status. Null: always allowed.
  std::function<Status()> may_write;
  // Transient failures (429, 5xx, connection reset, timeout) of reads and
  // writes: the pass sleeps a jittered backoff (initial_backoff,
  // max_backoff, multiplier), then observes and plans afresh; after a write
  // whose answer was lost, that fresh observation decides what happens
  // next, nothing is resent blindly. Bounded by max_attempts transient
  // failures without a step succeeding in between, and by `timeout`.
  gcp::RetryOptions transient{.max_attempts = 30,
                              .max_elapsed = std::chrono::hours(24),
                              .initial_backoff = std::chrono::milliseconds(500),
                              .max_backoff = std::chrono::seconds(15),
                              .multiplier = 2.0};
  gcp::Rng rng;  // jitter; default random
  // requestIds of logical writes (Compute inserts) that may be resent by a
  // later pass: share one map across passes (and fill it from a journal) to
  // keep them. Null: the pass keeps its own.
  std::shared_ptr<RequestIds> request_ids;
  // What the pass plans and observes, when not ComputePlan(intent, live)
  // and Observe(clients, intent): rollback plans the journal's prior values
  // as the desired state, and observes only the instance it restores. The
  // planner must be pure; `observe` is a plain function (a coroutine lambda
  // would have to capture nothing anyway) and is used only when
  // `observations` is null. Everything else — instance gate, fence,
  // journal, 409/412 and unknown-outcome handling — is the same pass.
  std::function<Plan(const config::Intent&, const LiveState&)> planner;
  // Writes a crash interrupted after Google accepted them (the journal's
  // unfinished entries with an operation), by step id. When such a step is
  // next to execute, the pass waits for that operation first (holding the
  // instance gate for a Cloud SQL instance) and observes again, instead of
  // sending the step a second time while it may still be running.
  std::map<std::string, gcp::Operation> interrupted;
  gcp::Task<StatusOr<LiveState>> (*observe)(gcp::Clients, config::Intent) = nullptr;
  // The caller's reason to keep this pass report-only although the intent
  // would let it write (the controller: --observe, a standby replica, an
  // open fight breaker). The intent's own policy.paused / policy.mode
  // observe still apply and take precedence.
  WriteBlock report_only = WriteBlock::kNone;
};

struct ApplyResult {
  Status status;                      // why the pass stopped early; OK otherwise
  std::vector<std::string> executed;  // step ids whose write succeeded, in order
  Plan first_plan;                    // the plan of the first observation
  Plan last_plan;                     // the plan of the last observation
  bool converged = false;             // last_plan has no steps
  // Why the pass wrote nothing on purpose: the intent's policy (paused,
  // observe), else ApplyOptions::report_only; kNone for a pass that may write.
  WriteBlock block = WriteBlock::kNone;
  // The step whose write, or wait, ended the pass with `status`; empty when
  // the pass stopped elsewhere (an observation, the deadline, the rounds).
  std::string failed_step;
  // Verification records to hand to the next pass (see JobVerification).
  std::map<std::string, JobVerification> verifications;
};

// What running a job once produced (jobs.run -> wait -> execution).
struct JobRunOutcome {
  bool succeeded = false;
  std::string execution;  // full name, when one was created
  std::string message;    // the execution's failure (or success) message
};

// Runs the job with its current configuration and waits for the execution to
// finish (bounded by options.timeout). An error Status means the run could
// not be started or watched; a failed execution is an OK result with
// succeeded == false.
gcp::Task<StatusOr<JobRunOutcome>> RunJobAndWait(gcp::Clients clients, std::string project,
                                                 std::string region, std::string job,
                                                 gcp::WaitOptions options);

// One apply pass. In observe mode / paused it observes and plans once and
// writes nothing.
gcp::Task<ApplyResult> Apply(gcp::Clients clients, config::Intent intent, ApplyOptions options,
                             std::map<std::string, JobVerification> verifications = {});

}  // namespace dbconnd::reconcilers
