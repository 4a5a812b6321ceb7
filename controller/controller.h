#pragma once
// The controller behind `dbconnd run`: a level-triggered loop that keeps live
// Google Cloud state equal to the current generation of the desired state.
//
// One key per intent. For each key taken from the work queue:
//   resume unfinished journal entries -> reconcilers::Apply (observe -> plan
//   -> first ready step -> wait -> re-plan, see reconcilers/plan.h) ->
//   status, metrics, requeue.
// Apply writes only when the intent is in enforce mode, not paused, the
// process is not in --observe, holds leadership, and the intent's fight
// breaker is closed; otherwise it observes and plans once (report only).
//
// Requeueing: a failed pass backs off per key (1 s .. 5 min, jitter); a pass
// that left steps waiting on a dependency (connector CREATING, private IP not
// assigned yet) comes back after `settle_recheck` without backoff; a finished
// pass comes back after the resync interval ±10%. A new generation enqueues
// changed and new intents at once.
//
// Threading: everything runs on the executor given to Create() (one
// io_context thread); public methods must be called from it too, except
// Metrics, which is thread-safe.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/async_event.h"
#include "config/model.h"
#include "controller/fight_breaker.h"
#include "controller/intent_status.h"
#include "controller/journal.h"
#include "controller/metrics.h"
#include "controller/pass_observer.h"
#include "controller/work_queue.h"
#include "gcp/api.h"
#include "gcp/write_fence.h"
#include "reconcilers/executor.h"
#include "reconcilers/plan.h"

namespace dbconnd::controller {

struct ControllerOptions {
  std::size_t concurrency = 8;
  // --resync; an intent whose policy.resync_interval differs from the
  // built-in 60 s default uses its own.
  std::chrono::milliseconds resync{60'000};
  bool observe = false;                  // global --observe
  std::function<bool()> can_write;       // leader election; null = always
  // The fence the Google clients ask right before each write's bytes go out
  // (gcp/write_fence.h). The controller closes it on Shutdown and gates it
  // on the journal: while a write's journal record could not be written,
  // no write is sent (fail closed). Null in tests without one.
  std::shared_ptr<gcp::WriteFence> write_fence;
  int fight_threshold = 3;
  std::chrono::milliseconds fight_window{std::chrono::minutes(10)};
  // Recheck of an intent whose steps wait on a dependency settling.
  std::chrono::milliseconds settle_recheck{2'000};
  // How long one list of a project/region serves every intent there (see
  // reconcilers/observation_cache.h). Zero: a tenth of `resync`, so drift
  // is seen at most that much later; EnqueueAll (SIGHUP) starts afresh.
  std::chrono::milliseconds observation_max_age{0};
  // Template for every pass (timeouts, polls). observer/gate/sleepers are
  // set by the controller.
  reconcilers::ApplyOptions apply;
  // How stale the heartbeat may be before /healthz fails.
  std::chrono::milliseconds heartbeat_timeout{30'000};
  std::function<std::chrono::steady_clock::time_point()> clock;  // default steady
  std::function<double()> rng;                                   // default PRNG
};

class Controller : public std::enable_shared_from_this<Controller> {
 public:
  // metrics and journal may be null (tests); if set they must outlive the
  // controller.
  static std::shared_ptr<Controller> Create(boost::asio::any_io_executor executor,
                                            gcp::Clients clients, ControllerOptions options,
                                            Metrics* metrics, Journal* journal);

  // A new valid generation: intents that are new or changed are enqueued at
  // once (their fight breaker reset), removed ones are dropped.
  void SetDesiredState(std::shared_ptr<const config::DesiredState> state, int64_t generation);
  // The last configuration change was invalid: errors shown in status
  // (ConfigInvalid); the running generation is untouched. Empty clears it.
  void SetConfigErrors(std::vector<std::string> errors);
  // Enqueue every intent now (SIGHUP).
  void EnqueueAll();

  // Starts the dispatcher loop.
  void Start();
  // Stops taking work, cancels operation waits (their operations are already
  // journaled), waits for in-flight passes up to `grace`. Returns true when
  // all finished in time.
  boost::asio::awaitable<bool> Shutdown(std::chrono::milliseconds grace);

  // --- status ---
  std::string StatusJson() const;
  // The same document, rendered in slices of at most about `budget` each
  // (one intent at least) with the io_context free between them: /status at
  // 10,000 intents never holds the loop (and /healthz, and the passes) for
  // more than one slice. The intents are those present when it starts.
  boost::asio::awaitable<std::string> StatusJsonSliced(
      std::chrono::microseconds budget = std::chrono::milliseconds(2)) const;
  std::vector<IntentStatus> Statuses() const;
  bool Healthy() const;  // heartbeat fresh
  bool Ready() const;    // generation loaded, credentials worked, full sync done
  std::string NotReadyReason() const;
  int64_t generation() const { return generation_; }
  bool first_full_sync_done() const { return full_sync_done_; }
  const WorkQueue& queue() const { return queue_; }
  // Mutations sent since start (sum of writes over intents).
  int64_t writes() const { return total_writes_; }

  ~Controller();

 private:
  struct IntentState;

  Controller(boost::asio::any_io_executor executor, gcp::Clients clients,
             ControllerOptions options, Metrics* metrics, Journal* journal);

  static boost::asio::awaitable<void> Dispatch(std::shared_ptr<Controller> self);
  static boost::asio::awaitable<void> Reconcile(std::shared_ptr<Controller> self,
                                                std::string key);
  // Settles the intent's interrupted journal entries from what a pass saw
  // (the pass itself is the resume: see Reconcile). True when none is left.
  bool ResumeUnfinished(const std::string& intent, const reconcilers::ApplyResult& result);
  void Kick();
  // Status (reconcilers::Assess, then RecordPass), metrics, requeue and the
  // full-sync count after a pass of `key` that ran with `intent`.
  void FinishPass(const std::string& key, const config::Intent& intent,
                  const reconcilers::ApplyResult& result, double seconds);
  PassLedger Ledger();
  void UpdateResourceMetrics();
  // Adds (sign 1) or removes (-1) an intent's resource states from the
  // running totals, so a pass costs O(its resources), not O(all intents).
  void CountStates(const IntentState& st, int sign);
  void UpdateQueueMetrics();
  void MarkFullSyncPending(IntentState& st);
  std::chrono::milliseconds ResyncFor(const config::Intent& intent) const;
  std::chrono::system_clock::time_point WallPoint(std::chrono::steady_clock::time_point t) const;
  // /status without its "intents" and closing brace.
  std::string StatusHeadText() const;
  gcp::Sleeper StoppableSleeper() const;

  boost::asio::any_io_executor executor_;
  gcp::Clients clients_;
  ControllerOptions options_;
  Metrics* metrics_;
  Journal* journal_;
  WorkQueue queue_;
  // Dispatch waits on it; Kick wakes it. A kick while Dispatch is busy is
  // kept in kicked_ (events are not stored).
  common::AsyncEvent wake_;
  bool kicked_ = false;
  std::shared_ptr<reconcilers::InstanceOperationGate> gate_;
  // One list per project/region/kind shared by the passes of all intents.
  std::shared_ptr<reconcilers::ObservationCache> observations_;
  std::shared_ptr<std::atomic<bool>> stop_;
  // requestIds of Compute inserts not known to have finished, shared by
  // every pass and reloaded from the journal at start, so a resend of one
  // logical insert carries the same id (Google deduplicates it).
  std::shared_ptr<reconcilers::RequestIds> request_ids_;

  std::shared_ptr<const config::DesiredState> state_;
  int64_t generation_ = 0;
  std::vector<std::string> config_errors_;
  std::map<std::string, std::shared_ptr<IntentState>> intents_;
  // Sum of every intent's resource states by metric kind (CountStates).
  std::array<ResourceStateCounts, labels::kKinds.size()> state_totals_{};
  // Intents not yet reconciled in the current full sync (their
  // IntentState::full_sync_pending), and the mark SetDesiredState stamps on
  // the intents it lists: no set of 10,000 names rebuilt for either.
  std::size_t full_sync_remaining_ = 0;
  uint64_t set_mark_ = 0;
  bool full_sync_done_ = false;
  bool credentials_ok_ = false;
  bool started_ = false;
  bool stopping_ = false;
  int in_flight_ = 0;
  int64_t total_writes_ = 0;
  // Steps whose journal record failed and that have not finished yet.
  int unjournaled_ = 0;
  uint64_t next_reconcile_id_ = 1;
  std::chrono::steady_clock::time_point heartbeat_;
};

// A stable text form of everything in an intent that affects reconciling
// (source locations excluded): equal fingerprints = nothing to redo.
// config::Fingerprint, derived from every field of the model.
std::string IntentFingerprint(const config::Intent& intent);

// The reason on the Status of a write refused by WriteFence.
inline constexpr char kWriteRefusedReason[] = "writeRefused";
// The reason on a write refused because the journal could not record it.
inline constexpr char kJournalUnavailableReason[] = "journalUnavailable";

// The gate each pass asks right before every write
// (reconcilers::ApplyOptions::may_write): refuses under --observe and
// whenever options.can_write() (leader election's CanWrite) is false, then
// defers to `inner` (may be null). A pass refused this way ends as
// Observing, not as a failure.
std::function<Status()> WriteFence(const ControllerOptions& options,
                                   std::function<Status()> inner);

}  // namespace dbconnd::controller
