#include "controller/controller.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <algorithm>
#include <random>
#include <sstream>

#include "common/redact.h"
#include "common/rfc3339.h"
#include "config/expiry.h"
#include "config/fingerprint.h"
#include "controller/log.h"
#include "reconcilers/assess.h"
#include "reconcilers/planner.h"

namespace dbconnd::controller {
namespace asio = boost::asio;
namespace json = boost::json;
using reconcilers::Action;
using reconcilers::ResourceKind;
using reconcilers::WriteBlock;
using SteadyTime = std::chrono::steady_clock::time_point;

std::string IntentFingerprint(const config::Intent& in) { return config::Fingerprint(in); }

// ---- write fencing -------------------------------------------------------------------

std::function<Status()> WriteFence(const ControllerOptions& options,
                                   std::function<Status()> inner) {
  std::function<bool()> can_write = options.can_write;
  bool observe = options.observe;
  return [can_write, observe, inner]() -> Status {
    if (observe) {
      return FailedPreconditionError("--observe: write refused").WithReason(kWriteRefusedReason);
    }
    if (can_write && !can_write()) {
      return FailedPreconditionError(
                 "not the leader: write refused (the Lease was not renewed within the renew "
                 "deadline)")
          .WithReason(kWriteRefusedReason);
    }
    return inner ? inner() : Status();
  };
}

// ---- per-intent state --------------------------------------------------------------

// The controller's view of one intent; its status is the IntentRecord part.
struct Controller::IntentState : IntentRecord {
  // Hash of IntentFingerprint (the text is ~1 KB per intent), computed only
  // when `intent` is a new object. A collision would only delay a changed
  // intent to its next resync (the pass always reads `intent` itself).
  std::size_t fingerprint = 0;
  // The configuration changed since the last pass: the next one reads fresh.
  bool changed = false;
  int64_t generation = 0;
  bool removed = false;
  bool resume_checked = false;
  // Made on the first correction: most intents never need one.
  std::unique_ptr<FightBreaker> breaker;
  // Not yet reconciled with success since the current full sync began.
  bool full_sync_pending = false;
  // Controller::set_mark_ of the last SetDesiredState that listed it.
  uint64_t seen_mark = 0;
  bool BreakerOpen(SteadyTime now) const { return breaker && breaker->IsOpen(now); }
};

// ---- Controller -----------------------------------------------------------------------

namespace {
WorkQueue::Options QueueOptions(const ControllerOptions& o) {
  WorkQueue::Options q;
  q.concurrency = o.concurrency;
  q.clock = o.clock;
  q.rng = o.rng;
  return q;
}
}  // namespace

std::shared_ptr<Controller> Controller::Create(asio::any_io_executor executor,
                                               gcp::Clients clients, ControllerOptions options,
                                               Metrics* metrics, Journal* journal) {
  if (!options.clock) options.clock = [] { return std::chrono::steady_clock::now(); };
  if (!options.rng) {
    auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
    options.rng = [gen] { return std::uniform_real_distribution<double>(0.0, 1.0)(*gen); };
  }
  std::shared_ptr<Controller> c(
      new Controller(std::move(executor), clients, std::move(options), metrics, journal));
  if (c->options_.write_fence) {
    std::weak_ptr<Controller> weak = c;
    c->options_.write_fence->SetGate([weak]() -> Status {
      auto self = weak.lock();
      if (!self || self->unjournaled_ == 0) return Status();
      // Not a transient error: it takes a writable --state-dir to go on.
      return FailedPreconditionError(
                 "the journal could not record a pending write (fail closed; make --state-dir "
                 "writable)")
          .WithReason(kJournalUnavailableReason);
    });
  }
  return c;
}

Controller::Controller(asio::any_io_executor executor, gcp::Clients clients,
                       ControllerOptions options, Metrics* metrics, Journal* journal)
    : executor_(executor),
      clients_(clients),
      options_(std::move(options)),
      metrics_(metrics),
      journal_(journal),
      queue_(QueueOptions(options_)),
      gate_(options_.apply.gate ? options_.apply.gate : reconcilers::InstanceOperationGate::Create()),
      stop_(std::make_shared<std::atomic<bool>>(false)),
      heartbeat_(options_.clock()) {
  observations_ = options_.apply.observations;
  if (!observations_) {
    reconcilers::ObservationCacheOptions oo;
    oo.max_age = options_.observation_max_age.count() > 0 ? options_.observation_max_age
                                                          : options_.resync / 10;
    oo.clock = options_.clock;
    observations_ = reconcilers::ObservationCache::Create(clients_, oo);
  }
  request_ids_ = options_.apply.request_ids ? options_.apply.request_ids
                                            : std::make_shared<reconcilers::RequestIds>();
  if (journal_) {
    // Inserts whose outcome is unknown keep their requestId across a restart.
    for (const JournalEntry& e : journal_->entries()) {
      if (e.request_key.empty() || e.request_id.empty()) continue;
      if (e.finished && !KeepsRequestId(StatusCodeFromName(e.outcome_code))) {
        request_ids_->erase(e.request_key);
        continue;
      }
      (*request_ids_)[e.request_key] = e.request_id;
    }
  }
}

Controller::~Controller() = default;

PassLedger Controller::Ledger() {
  return PassLedger{journal_, metrics_, request_ids_, &unjournaled_, &total_writes_, &stopping_};
}

std::chrono::system_clock::time_point Controller::WallPoint(SteadyTime t) const {
  auto delta = t - options_.clock();
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(delta);
}

std::chrono::milliseconds Controller::ResyncFor(const config::Intent& intent) const {
  if (intent.policy.resync_interval != config::Policy{}.resync_interval) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(intent.policy.resync_interval);
  }
  return options_.resync;
}

void Controller::Kick() {
  kicked_ = true;
  wake_.NotifyOne();
}

void Controller::SetDesiredState(std::shared_ptr<const config::DesiredState> state,
                                 int64_t generation) {
  state_ = std::move(state);
  generation_ = generation;
  config_errors_.clear();
  ++set_mark_;
  for (const auto& ptr : state_->intents) {
    const config::Intent& intent = *ptr;
    auto& slot = intents_[intent.name];
    if (!slot) {
      slot = std::make_shared<IntentState>();
    }
    slot->generation = generation;
    slot->seen_mark = set_mark_;
    if (slot->intent == ptr) continue;  // its file was not touched
    const bool known = slot->intent != nullptr;  // not new in this generation
    // The records follow the declared resources: sized before any pass (so
    // passes rewrite them in place, see FinishPass, and /status lists them
    // as Unknown meanwhile), rebuilt when an edit changes that list.
    std::vector<ResourceKey> declared = DeclaredResources(intent);
    if (!slot->intent || DeclaredResources(*slot->intent) != declared) {
      CountStates(*slot, -1);
      std::vector<CompactResource> records =
          CarryRecords(declared, slot->RecordKeys(), slot->resources);
      slot->resources.swap(records);
      if (slot->details) {  // indexes and extras belonged to the old list
        slot->details->extras.clear();
        slot->details->resource_messages.clear();
        if (slot->details->empty()) slot->details.reset();
      }
      slot->intent = ptr;
      CountStates(*slot, 1);
    }
    std::size_t fp = std::hash<std::string>{}(IntentFingerprint(intent));
    if (slot->fingerprint != fp) {
      // An edited intent (not a new one: a first load reads in bulk).
      slot->changed = known;
      slot->intent = ptr;
      slot->fingerprint = fp;
      slot->breaker.reset();
      queue_.Forget(intent.name);
      queue_.Add(intent.name);
      MarkFullSyncPending(*slot);
    } else {
      slot->intent = ptr;  // source locations may have moved
    }
  }
  for (auto it = intents_.begin(); it != intents_.end();) {
    if (it->second->seen_mark == set_mark_) {
      ++it;
      continue;
    }
    LogInfo("intent removed from the configuration; no longer managed", {it->first, "", "", ""});
    it->second->removed = true;
    CountStates(*it->second, -1);
    queue_.Remove(it->first);
    if (it->second->full_sync_pending) --full_sync_remaining_;
    if (metrics_) metrics_->RemoveIntent(it->first);
    it = intents_.erase(it);
  }
  if (full_sync_remaining_ == 0 && !full_sync_done_ && started_) {
    full_sync_done_ = true;  // an empty configuration is synced by definition
  }
  UpdateResourceMetrics();
  Kick();
}

void Controller::MarkFullSyncPending(IntentState& st) {
  if (st.full_sync_pending) return;
  st.full_sync_pending = true;
  ++full_sync_remaining_;
}

void Controller::SetConfigErrors(std::vector<std::string> errors) {
  config_errors_ = std::move(errors);
}

void Controller::EnqueueAll() {
  observations_->InvalidateAll();  // "everything now" means read everything again too
  for (const auto& [name, st] : intents_) queue_.Add(name);
  Kick();
}

void Controller::Start() {
  if (started_) return;
  started_ = true;
  if (intents_.empty() && state_) full_sync_done_ = true;
  asio::co_spawn(executor_, Dispatch(shared_from_this()), asio::detached);
}

gcp::Sleeper Controller::StoppableSleeper() const {
  // Sleeps in short slices so a shutdown never waits out a long poll interval.
  std::shared_ptr<std::atomic<bool>> stop = stop_;
  return [stop](std::chrono::milliseconds d) -> asio::awaitable<Status> {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex);
    auto end = std::chrono::steady_clock::now() + d;
    while (true) {
      if (stop->load()) co_return CancelledError("shutting down");
      auto now = std::chrono::steady_clock::now();
      if (now >= end) co_return Status();
      timer.expires_after(std::min<std::chrono::steady_clock::duration>(
          end - now, std::chrono::milliseconds(100)));
      auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return CancelledError("sleep cancelled");
    }
  };
}

asio::awaitable<void> Controller::Dispatch(std::shared_ptr<Controller> self) {
  while (!self->stopping_) {
    self->heartbeat_ = self->options_.clock();
    self->kicked_ = false;
    while (auto key = self->queue_.TryGet()) {
      ++self->in_flight_;
      asio::co_spawn(self->executor_, Reconcile(self, *key), asio::detached);
      // co_spawn runs the pass at once, here: one that needs no I/O (every
      // answer cached) ends before co_spawn returns. Yield after each, so the
      // rest of the loop runs between passes (the HTTP server; asio's release
      // of a finished pass's coroutine frames, which it posts) and a resync
      // of every intent does not hold every pass's frames until its end.
      co_await asio::post(self->executor_, asio::use_awaitable);
    }
    self->UpdateQueueMetrics();
    // Wake for the next delayed key, or at least every second for the heartbeat.
    auto now = self->options_.clock();
    auto next = now + std::chrono::seconds(1);
    if (auto due = self->queue_.NextWakeup(); due && *due < next) next = *due;
    auto wait = std::max<std::chrono::steady_clock::duration>(next - now,
                                                              std::chrono::milliseconds(1));
    if (self->kicked_) continue;  // kicked while dispatching: look again now
    co_await self->wake_.Wait(std::chrono::steady_clock::now() + wait);
  }
}

// Resume after a crash goes through the one write path. An entry without an
// outcome is a write whose fate is unknown; nothing here calls Google. The
// pass that follows a restart is an ordinary reconcilers::Apply pass, which
// re-observes and, before writing to a resource, waits for what still runs
// on it: the journaled operation of the interrupted write
// (ApplyOptions::interrupted; under the instance gate for Cloud SQL), any
// other Cloud SQL operation PENDING or RUNNING, a connector still CREATING, a
// workload still reconciling, an execution already started (adopted).
// Afterwards each interrupted entry is settled from what that pass saw:
//   - a later entry of the same step exists: the change was still needed
//     when re-observed, so the interrupted write did not take effect
//     (ABORTED; rollback ignores it);
//   - the step is absent from the pass's last plan: live state shows the
//     change (OK; its prior values stay available to rollback);
//   - otherwise (a report-only pass, a failed one): left for the next pass.
bool Controller::ResumeUnfinished(const std::string& intent,
                                  const reconcilers::ApplyResult& result) {
  if (result.last_plan.intent.empty()) return false;  // nothing observed
  const std::vector<JournalEntry>& all = journal_->entries();
  bool settled = true;
  for (const JournalEntry& e : journal_->Unfinished(intent)) {
    LogFields f{intent, e.step, e.operation.name, "resume"};
    bool after = false;
    bool superseded = false;
    for (const JournalEntry& later : all) {
      if (later.id == e.id) {
        after = true;
      } else if (after && later.intent == e.intent && later.step == e.step) {
        superseded = true;
        break;
      }
    }
    Status outcome;
    if (superseded) {
      outcome = AbortedError("resumed: not applied (the change was still needed when re-observed "
                             "and was written again)");
    } else if (result.last_plan.Find(e.step) == nullptr) {
      outcome = Status(StatusCode::kOk, "resumed: live state shows the change");
    } else {
      settled = false;
      LogInfo("resuming: interrupted write still unsettled; the next pass looks again", f);
      continue;
    }
    LogInfo(outcome.message(), f);
    Status rec = journal_->RecordOutcome(e.id, outcome);
    if (!rec.ok()) LogError("journal: " + rec.ToString(), f);
  }
  return settled;
}

asio::awaitable<void> Controller::Reconcile(std::shared_ptr<Controller> self, std::string key) {
  auto it = self->intents_.find(key);
  if (it == self->intents_.end() || self->stopping_) {
    --self->in_flight_;
    self->queue_.Done(key);
    self->Kick();
    co_return;
  }
  std::shared_ptr<IntentState> st = it->second;
  // The generation this pass works on; an edit during the pass replaces
  // st->intent, never this object.
  std::shared_ptr<const config::Intent> intent = st->intent;
  int64_t generation = st->generation;
  std::string rid = "r" + std::to_string(self->next_reconcile_id_++);
  auto start = self->options_.clock();

  // Interrupted writes (a crash, kill -9) are resumed by this very pass:
  // see ResumeUnfinished.
  bool resuming = false;
  if (self->journal_ && !st->resume_checked) {
    std::size_t n = self->journal_->Unfinished(key).size();
    resuming = n > 0;
    st->resume_checked = !resuming;
    if (resuming) {
      LogInfo("resuming: " + std::to_string(n) + " interrupted write(s); this pass re-observes "
                  "and waits for any operation still running before writing again",
              {key, "", "", rid});
    }
  }

  // Why this pass may not write although its intent would let it (the
  // intent's own policy.paused / policy.mode observe Apply reads itself).
  WriteBlock block = WriteBlock::kNone;
  if (self->options_.observe) {
    block = WriteBlock::kObserving;
  } else if (self->options_.can_write && !self->options_.can_write()) {
    block = WriteBlock::kObserving;  // a standby replica
  } else if (st->BreakerOpen(start)) {
    block = WriteBlock::kDriftFight;
  }

  PassObserver observer(self->Ledger(), key, generation, rid);
  reconcilers::ApplyOptions opts = self->options_.apply;
  opts.report_only = block;
  opts.observer = &observer;
  opts.gate = self->gate_;
  opts.observations = self->observations_;
  opts.request_ids = self->request_ids_;
  opts.start_fresh = st->changed || resuming;
  if (resuming) {
    for (const JournalEntry& e : self->journal_->Unfinished(key)) {
      if (e.has_operation) opts.interrupted[e.step] = e.operation;
    }
  }
  st->changed = false;
  opts.sleeper = self->StoppableSleeper();
  opts.wait.sleeper = self->StoppableSleeper();
  opts.wait.stop = self->stop_;
  opts.may_write = WriteFence(self->options_, opts.may_write);

  reconcilers::ApplyResult result;
  try {
    result = co_await reconcilers::Apply(self->clients_, *intent, opts,
                                         st->View().verifications);
  } catch (const std::exception& e) {
    result.status = InternalError(std::string("reconcile failed: ") + e.what());
  }
  if (resuming && !self->stopping_ && self->ResumeUnfinished(key, result)) {
    st->resume_checked = true;
  }
  if (result.status.reason() == kWriteRefusedReason) {
    // Leadership ended during the pass: the rest of it is a standby's job,
    // not a failure of the intent (no backoff, no error condition).
    LogWarning("stopped writing mid-pass: " + result.status.message() +
                   "; remaining changes are left to the leader",
               {key, "", "", rid});
    result.status = Status();
    result.failed_step.clear();
    if (result.block == WriteBlock::kNone) result.block = WriteBlock::kObserving;
  }
  if (self->stopping_ && result.status.code() == StatusCode::kCancelled) {
    // Shutdown cut the pass short: not a failure of the intent.
    result.status = Status();
  }
  double seconds = std::chrono::duration<double>(self->options_.clock() - start).count();
  if (!st->removed) {
    st->writes += observer.writes;
    for (const auto& [kind, path] : observer.corrections) {
      if (!st->breaker) {
        st->breaker = std::make_unique<FightBreaker>(self->options_.fight_threshold,
                                                     self->options_.fight_window);
      }
      if (st->breaker->RecordCorrection(path, self->options_.clock())) {
        LogWarning("fight breaker tripped: " + path + " was corrected more than " +
                       std::to_string(self->options_.fight_threshold) +
                       " times; another writer keeps changing it. Writing stops for this "
                       "intent; drift is still reported",
                   {key, "", "", rid});
        if (self->metrics_) self->metrics_->DriftFight(kind);
      }
    }
    if (st->BreakerOpen(self->options_.clock())) result.block = WriteBlock::kDriftFight;
    self->FinishPass(key, *intent, result, seconds);
  }
  --self->in_flight_;
  self->queue_.Done(key);
  self->Kick();
}

void Controller::FinishPass(const std::string& key, const config::Intent& intent,
                            const reconcilers::ApplyResult& result, double seconds) {
  auto it = intents_.find(key);
  if (it == intents_.end()) return;
  IntentState& st = *it->second;
  auto now = options_.clock();
  const bool observed = !result.last_plan.intent.empty();
  if (observed) credentials_ok_ = true;

  const reconcilers::Assessment assessment = reconcilers::Assess(result.last_plan, result);
  const reconcilers::ConditionReason reason = assessment.intent;
  st.observed_generation = st.generation;
  CountStates(st, -1);  // the last pass's states leave the totals
  std::vector<ResourceKey> resources =
      RecordPass(st, key, intent, result, assessment,
                 st.breaker ? std::string_view(st.breaker->tripped_field()) : std::string_view(),
                 WallPoint(now));
  CountStates(st, 1);
  if (metrics_) ReportPass(*metrics_, key, intent, result, reason, resources, seconds);

  // Requeue.
  std::chrono::milliseconds next;
  if (!result.status.ok() && !stopping_) {
    next = queue_.AddRateLimited(key);
    if (metrics_) metrics_->QueueRetry();
    LogWarning("reconcile failed; retrying in " + std::to_string(next.count()) + " ms: " +
                   st.View().last_error,
               {key, "", "", ""});
  } else {
    queue_.Forget(key);
    if (reason == reconcilers::ConditionReason::kDependencyNotReady) {
      next = options_.settle_recheck;
    } else {
      next = Jittered(ResyncFor(*st.intent), 0.1, options_.rng());
    }
    // An authorized network that expires before the next resync is removed
    // when it expires, not up to a resync later.
    if (auto expiry = config::NextExpiry(*st.intent, std::chrono::system_clock::now())) {
      auto until = std::chrono::ceil<std::chrono::milliseconds>(
                       *expiry - std::chrono::system_clock::now()) +
                   std::chrono::seconds(1);
      next = std::min(next, std::max<std::chrono::milliseconds>(until, std::chrono::seconds(1)));
    }
    queue_.AddAfter(key, next);
  }
  st.next_resync = WallPoint(now + next);

  if (result.status.ok() && observed && st.full_sync_pending) {
    st.full_sync_pending = false;
    --full_sync_remaining_;
  }
  if (result.status.ok() && observed && full_sync_remaining_ == 0) {
    full_sync_done_ = true;
    if (metrics_) {
      metrics_->FullSyncDone(std::chrono::duration<double>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
    }
    // The next full sync counts every intent again.
    for (const auto& [name, s] : intents_) MarkFullSyncPending(*s);
  }
  UpdateResourceMetrics();
}

void Controller::UpdateResourceMetrics() {
  if (!metrics_) return;
  for (std::size_t k = 0; k < labels::kKinds.size(); ++k) {
    metrics_->SetResourceStates(labels::kKinds[k], state_totals_[k]);
  }
  metrics_->SetReady(Ready());
}

void Controller::CountStates(const IntentState& st, int sign) {
  for (const auto& r : st.resources) {
    ResourceStateCounts& t = state_totals_[LabelIndex(labels::kKinds, MetricKind(r.kind))];
    switch (r.condition.reason) {
      case reconcilers::ConditionReason::kUpToDate: t.in_sync += sign; break;
      case reconcilers::ConditionReason::kUpdateFailed: t.error += sign; break;
      case reconcilers::ConditionReason::kDependencyNotReady: t.dependency_not_ready += sign; break;
      case reconcilers::ConditionReason::kPaused: t.paused += sign; break;
      case reconcilers::ConditionReason::kDriftFight: t.fighting += sign; break;
      case reconcilers::ConditionReason::kUnknown: break;
      default: t.drifted += sign; break;
    }
  }
}

void Controller::UpdateQueueMetrics() {
  if (metrics_) {
    metrics_->SetQueue(static_cast<int64_t>(queue_.depth()), queue_.OldestAgeSeconds());
  }
}

asio::awaitable<bool> Controller::Shutdown(std::chrono::milliseconds grace) {
  // No new write starts, not even one already past every earlier check.
  if (options_.write_fence) options_.write_fence->Close("shutting down");
  stopping_ = true;
  stop_->store(true);
  queue_.ShutDown();
  Kick();
  auto deadline = std::chrono::steady_clock::now() + grace;
  asio::steady_timer timer(executor_);
  while (in_flight_ > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return in_flight_ == 0;
}

// ---- status ---------------------------------------------------------------------------

bool Controller::Healthy() const {
  return options_.clock() - heartbeat_ <= options_.heartbeat_timeout;
}

std::string Controller::NotReadyReason() const {
  if (!state_) return "no configuration loaded yet";
  if (!full_sync_done_) {
    if (!credentials_ok_ && !intents_.empty()) return "no Google API read has succeeded yet";
    return "first full sync not finished (" + std::to_string(full_sync_remaining_) +
           " intent(s) left)";
  }
  return "";
}

bool Controller::Ready() const { return NotReadyReason().empty(); }

std::vector<IntentStatus> Controller::Statuses() const {
  std::vector<IntentStatus> out;
  out.reserve(intents_.size());
  for (const auto& [name, st] : intents_) out.push_back(st->Expand(name));
  return out;
}


std::string Controller::StatusHeadText() const {
  json::object doc;
  doc["formatVersion"] = 1;
  doc["generation"] = generation_;
  doc["ready"] = Ready();
  doc["readyReason"] = NotReadyReason();
  doc["observe"] = options_.observe;
  doc["leader"] = !options_.can_write || options_.can_write();
  doc["firstFullSyncDone"] = full_sync_done_;
  json::array cond;
  if (!config_errors_.empty()) {
    std::string msg;
    for (const auto& e : config_errors_) msg += (msg.empty() ? "" : "\n") + e;
    cond.push_back(json::object{{"type", "ConfigLoaded"},
                                {"status", "False"},
                                {"reason", "ConfigInvalid"},
                                {"message", RedactForDisplay(msg, kStatusTextCap)}});
  } else {
    cond.push_back(json::object{{"type", "ConfigLoaded"},
                                {"status", state_ ? "True" : "Unknown"},
                                {"reason", state_ ? "Loaded" : "NotLoaded"},
                                {"message", ""}});
  }
  doc["conditions"] = std::move(cond);
  json::array errs;
  for (const auto& e : config_errors_) {
    errs.push_back(json::string(RedactForDisplay(e, kStatusTextCap)));
  }
  doc["configErrors"] = std::move(errs);
  doc["queue"] = json::object{{"depth", queue_.depth()},
                              {"processing", queue_.processing()},
                              {"delayed", queue_.delayed()},
                              {"oldestSeconds", queue_.OldestAgeSeconds()}};
  std::string text = json::serialize(doc);
  text.pop_back();  // the closing brace: "intents" follows
  return text;
}


std::string Controller::StatusJson() const {
  std::string out = StatusHeadText() + ",\"intents\":[";
  bool first = true;
  for (const auto& [name, st] : intents_) {
    if (!first) out += ',';
    first = false;
    out += IntentStatusText(st->Expand(name));
  }
  out += "]}";
  return out;
}

asio::awaitable<std::string> Controller::StatusJsonSliced(std::chrono::microseconds budget) const {
  // The intents present now; one removed meanwhile is still rendered from
  // its last state (its IntentState stays alive in this list).
  std::vector<std::pair<std::string, std::shared_ptr<const IntentState>>> all;
  all.reserve(intents_.size());
  for (const auto& [name, st] : intents_) all.emplace_back(name, st);
  std::string out = StatusHeadText() + ",\"intents\":[";
  auto executor = co_await asio::this_coro::executor;
  auto slice_start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (i > 0 && std::chrono::steady_clock::now() - slice_start >= budget) {
      if (out.capacity() < out.size() * 2) {
        // Room for the rest, estimated from what is done: one allocation
        // whose pages are touched slice by slice, instead of a doubling
        // that copies (and faults in) tens of MB in one go.
        out.reserve(out.size() + out.size() / i * (all.size() - i) * 11 / 10);
      }
      // Let everything else waiting on the loop run (probes, passes).
      co_await asio::post(executor, asio::use_awaitable);
      slice_start = std::chrono::steady_clock::now();
    }
    if (i > 0) out += ',';
    out += IntentStatusText(all[i].second->Expand(all[i].first));
  }
  out += "]}";
  co_return out;
}

}  // namespace dbconnd::controller
