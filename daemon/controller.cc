#include "daemon/controller.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
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
#include "daemon/log.h"
#include "reconcilers/planner.h"

namespace dbconnd::daemon {
namespace asio = boost::asio;
namespace json = boost::json;
using reconcilers::Action;
using reconcilers::ResourceKind;
using SteadyTime = std::chrono::steady_clock::time_point;
// /status text fields quote values from Google: masked and capped.
constexpr std::size_t kStatusTextCap = 2000;

// ---- FightBreaker -------------------------------------------------------------

void FightBreaker::Prune(TimePoint now) {
  for (auto it = corrections_.begin(); it != corrections_.end();) {
    auto& times = it->second;
    while (!times.empty() && now - times.front() > window_) times.pop_front();
    it = times.empty() ? corrections_.erase(it) : std::next(it);
  }
}

bool FightBreaker::RecordCorrection(const std::string& field, TimePoint now) {
  Prune(now);
  auto& times = corrections_[field];
  times.push_back(now);
  if (!tripped_at_ && static_cast<int>(times.size()) > threshold_) {
    tripped_at_ = now;
    tripped_field_ = field;
    return true;
  }
  return false;
}

bool FightBreaker::IsOpen(TimePoint now) {
  if (!tripped_at_) return false;
  if (now - *tripped_at_ >= window_) {
    Reset();  // half-open: try writing again, trip again if the fight goes on
    return false;
  }
  return true;
}

void FightBreaker::Reset() {
  corrections_.clear();
  tripped_at_.reset();
  tripped_field_.clear();
}

int FightBreaker::Corrections(const std::string& field, TimePoint now) {
  Prune(now);
  auto it = corrections_.find(field);
  return it == corrections_.end() ? 0 : static_cast<int>(it->second.size());
}

// ---- helpers --------------------------------------------------------------------

std::string_view MetricKind(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::kPrivateServicesRange:
    case ResourceKind::kServicePeering: return "private_services_access";
    case ResourceKind::kConnector: return "connector";
    case ResourceKind::kInstance: return "instance";
    case ResourceKind::kJob: return "job";
    case ResourceKind::kService: return "service";
    case ResourceKind::kPscAddress:
    case ResourceKind::kPscEndpoint: return "psc_endpoint";
  }
  return labels::kOther;
}

namespace {

std::string_view WriteApi(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::kPrivateServicesRange: return "compute";
    case ResourceKind::kServicePeering: return "servicenetworking";
    case ResourceKind::kConnector: return "vpcaccess";
    case ResourceKind::kInstance: return "sqladmin";
    case ResourceKind::kJob:
    case ResourceKind::kService: return "run";
    case ResourceKind::kPscAddress:
    case ResourceKind::kPscEndpoint: return "compute";
  }
  return labels::kOther;
}

std::string_view WriteMethod(const reconcilers::Step& step) {
  switch (step.resource.kind) {
    case ResourceKind::kPrivateServicesRange: return "globalAddresses.insert";
    case ResourceKind::kServicePeering: return "connections.create";
    case ResourceKind::kConnector: return "connectors.create";
    case ResourceKind::kInstance: return "instances.patch";
    case ResourceKind::kJob: return step.action == Action::kRun ? "jobs.run" : "jobs.patch";
    case ResourceKind::kService: return "services.patch";
    case ResourceKind::kPscAddress: return "addresses.insert";
    case ResourceKind::kPscEndpoint: return "forwardingRules.insert";
  }
  return labels::kOther;
}

// A write that ended this way may have taken effect or may be sent again
// for the same logical change: its requestId is kept for that resend.
bool KeepsRequestId(StatusCode code) {
  switch (code) {
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kResourceExhausted:
    case StatusCode::kInternal:
    case StatusCode::kUnknown:
    case StatusCode::kCancelled:
      return true;
    default:
      return false;
  }
}

std::string_view WriteResult(const Status& s, bool operation_started) {
  if (s.ok()) return "ok";
  int http = s.http_status();
  if (http == 409) return "operation_in_progress";
  if (http == 412) return "stale";
  if (http == 429 || s.code() == StatusCode::kResourceExhausted) return "rate_limited";
  if (http >= 400 && http < 500) return "rejected";
  if (operation_started && http == 0) return "operation_failed";
  return "error";
}

}  // namespace

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

namespace {

using WallClock = std::chrono::system_clock;

// Condition reasons, stored as one byte; IntentStatus spells them out.
enum class Reason : uint8_t {
  kUnknown,  // no pass yet
  kUpToDate,
  kUpdating,
  kUpdateFailed,
  kDependencyNotReady,
  kDriftFight,
  kObserving,
  kPaused,
};

std::string_view ReasonText(Reason r) {
  switch (r) {
    case Reason::kUnknown: return "";
    case Reason::kUpToDate: return "UpToDate";
    case Reason::kUpdating: return "Updating";
    case Reason::kUpdateFailed: return "UpdateFailed";
    case Reason::kDependencyNotReady: return "DependencyNotReady";
    case Reason::kDriftFight: return "DriftFight";
    case Reason::kObserving: return "Observing";
    case Reason::kPaused: return "Paused";
  }
  return "";
}

// The block reasons FinishPass is handed ("Observing", "Paused", "DriftFight").
Reason ReasonFrom(std::string_view text) {
  for (Reason r : {Reason::kUpToDate, Reason::kUpdating, Reason::kUpdateFailed,
                   Reason::kDependencyNotReady, Reason::kDriftFight, Reason::kObserving,
                   Reason::kPaused}) {
    if (ReasonText(r) == text) return r;
  }
  return Reason::kUnknown;
}

// Ready and Synced, which the controller always sets together: True when
// UpToDate, False for any other reason, Unknown before the first pass.
struct CompactCondition {
  Reason reason = Reason::kUnknown;
  WallClock::time_point since{};  // last transition; epoch = never

  void Set(Reason r, WallClock::time_point now) {
    if (r != reason) since = now;  // status follows reason
    reason = r;
  }
};

std::string TimeText(WallClock::time_point t) {
  return t == WallClock::time_point{} ? std::string() : FormatRfc3339(t, 3);
}

void ExpandCondition(const CompactCondition& c, const std::string& message, Condition& out) {
  out.status = c.reason == Reason::kUnknown ? "Unknown"
               : c.reason == Reason::kUpToDate ? "True"
                                               : "False";
  out.reason = std::string(ReasonText(c.reason));
  out.message = message;
  out.last_transition = TimeText(c.since);
}

struct ResourceKey {
  ResourceKind kind;
  std::string name;
  bool operator<(const ResourceKey& o) const {
    return std::tie(kind, name) < std::tie(o.kind, o.name);
  }
  bool operator==(const ResourceKey& o) const { return kind == o.kind && name == o.name; }
};

std::vector<ResourceKey> DeclaredResources(const config::Intent& in) {
  std::vector<ResourceKey> out;
  if (in.instance.private_ip) {
    out.push_back({ResourceKind::kPrivateServicesRange,
                   reconcilers::ServicesRangeName(*in.instance.private_ip)});
    out.push_back({ResourceKind::kServicePeering, in.instance.private_ip->network});
  }
  if (in.connector) out.push_back({ResourceKind::kConnector, in.connector->name});
  out.push_back({ResourceKind::kInstance, in.instance.name});
  for (const auto& w : in.workloads) {
    out.push_back({w.kind == config::WorkloadKind::kJob ? ResourceKind::kJob : ResourceKind::kService,
                   w.name});
  }
  return out;
}

// One resource's conditions in 16 bytes, where ResourceStatus' strings take
// ~400 (it is built only when status is asked for). Its name is not kept:
// the records follow DeclaredResources(intent) in order, then the
// plan-only resources named in IntentState::Details::extras. Messages,
// rare, are kept apart too (Details::resource_messages).
struct CompactResource {
  ResourceKind kind;
  CompactCondition condition;
};

// Records for `keys`, each carrying the condition its resource had in `old`
// (named by `old_keys`); a new resource starts Unknown.
std::vector<CompactResource> CarryRecords(const std::vector<ResourceKey>& keys,
                                          const std::vector<ResourceKey>& old_keys,
                                          const std::vector<CompactResource>& old) {
  std::vector<CompactResource> out;
  out.reserve(keys.size());  // exactly sized
  for (const auto& k : keys) {
    CompactResource r{k.kind, {}};
    for (std::size_t i = 0; i < old_keys.size() && i < old.size(); ++i) {
      if (old_keys[i] == k) r.condition = old[i].condition;
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace

struct Controller::IntentState {
  // Shared with the generation's DesiredState: an intent whose file did not
  // change is the same object from one generation to the next.
  std::shared_ptr<const config::Intent> intent;
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

  // Status, compact: 10,000 intents are held at once. Statuses() and
  // StatusJson() spell it out as IntentStatus.
  int64_t observed_generation = 0;
  CompactCondition condition;
  reconcilers::Summary last_plan;
  WallClock::time_point last_reconcile{};
  WallClock::time_point next_resync{};
  int64_t writes = 0;
  std::vector<CompactResource> resources;  // exactly sized

  // What an intent that is up to date has none of: held only when set.
  struct Details {
    std::string message;                       // of `condition`
    std::vector<std::string> last_plan_steps;  // "update instance/x: path: a -> b"
    std::string last_error;
    // (index into resources, message) for the resources that have one.
    std::vector<std::pair<std::size_t, std::string>> resource_messages;
    std::map<std::string, reconcilers::JobVerification> verifications;
    // Resources the last plan named that the intent does not declare.
    std::vector<ResourceKey> extras;
    std::vector<reconcilers::Diagnosis> diagnoses;  // the last plan's
    bool empty() const {
      return message.empty() && last_plan_steps.empty() && last_error.empty() &&
             resource_messages.empty() && verifications.empty() && extras.empty() &&
             diagnoses.empty();
    }
  };
  std::unique_ptr<Details> details;
  const Details& View() const {
    static const Details kNone;
    return details ? *details : kNone;
  }

  // The names of `resources`, in order.
  std::vector<ResourceKey> RecordKeys() const {
    std::vector<ResourceKey> keys;
    if (intent) keys = DeclaredResources(*intent);
    const auto& extras = View().extras;
    keys.insert(keys.end(), extras.begin(), extras.end());
    return keys;
  }

  const std::string& ResourceMessage(std::size_t i) const {
    static const std::string kNone;
    for (const auto& [at, text] : View().resource_messages) {
      if (at == i) return text;
    }
    return kNone;
  }

  IntentStatus Expand(const std::string& name) const {
    IntentStatus s;
    s.name = name;
    s.mode = intent ? std::string(config::ToString(intent->policy.mode)) : "";
    s.observed_generation = observed_generation;
    ExpandCondition(condition, View().message, s.ready);
    ExpandCondition(condition, View().message, s.synced);
    s.last_plan = last_plan;
    s.last_plan_steps = View().last_plan_steps;
    s.last_error = View().last_error;
    s.diagnoses = View().diagnoses;
    s.last_reconcile = TimeText(last_reconcile);
    s.next_resync = TimeText(next_resync);
    s.writes = writes;
    s.resources.reserve(resources.size());
    const std::vector<ResourceKey> keys = RecordKeys();
    for (std::size_t i = 0; i < resources.size(); ++i) {
      const CompactResource& r = resources[i];
      ResourceStatus& rs = s.resources.emplace_back();
      rs.kind = std::string(reconcilers::ToString(r.kind));
      rs.name = i < keys.size() ? keys[i].name : "";
      ExpandCondition(r.condition, ResourceMessage(i), rs.ready);
      ExpandCondition(r.condition, ResourceMessage(i), rs.synced);
    }
    return s;
  }
};

// Journals and counts the writes of one pass. Lives in the Reconcile frame,
// which outlives the Apply call it is handed to.
class Controller::PassObserver : public reconcilers::MutationObserver {
 public:
  PassObserver(Controller* c, std::string intent, int64_t generation, std::string rid)
      : c_(c), intent_(std::move(intent)), generation_(generation), rid_(std::move(rid)) {}

  ~PassObserver() override {
    // A pass that ended without Finished (an exception): its refusals end.
    for (const auto& [step, p] : pending_) {
      if (p.unjournaled) --c_->unjournaled_;
    }
  }

  void RequestIdAssigned(const reconcilers::Step& step, const std::string& request_id) override {
    Pending& p = pending_[step.id];
    p.request_key = reconcilers::RequestIdKey(step);
    p.request_id = request_id;
  }

  void BeforeMutation(const reconcilers::Step& step, const std::string& prior_json) override {
    Pending& p = pending_[step.id];
    if (p.unjournaled) --c_->unjournaled_;
    std::string request_key = std::move(p.request_key);
    std::string request_id = std::move(p.request_id);
    p = Pending{};
    p.request_key = request_key;
    std::string what = std::string(reconcilers::ToString(step.action)) + " " + step.id;
    for (const auto& ch : step.changes) what += "; " + ch.path + ": " + ch.before + " -> " + ch.after;
    if (!c_->journal_) {
      ++writes;
      ++c_->total_writes_;
      LogInfo("writing " + what, {intent_, step.id, "", rid_});
      return;
    }
    std::vector<JournalChange> changes;
    for (const auto& ch : step.changes) changes.push_back({ch.path, ch.before, ch.after});
    auto id = c_->journal_->Begin(generation_, intent_, step.id,
                                  std::string(reconcilers::ToString(step.resource.kind)),
                                  step.resource.name, std::string(reconcilers::ToString(step.action)),
                                  prior_json, changes);
    if (id.ok() && !request_id.empty()) {
      Status rec = c_->journal_->RecordRequestId(*id, request_key, request_id);
      if (!rec.ok()) id = rec;
    }
    if (id.ok()) {
      p.journal_id = *id;
      ++writes;
      ++c_->total_writes_;
      LogInfo("writing " + what, {intent_, step.id, "", rid_});
    } else {
      // Fail closed: a write the journal cannot record is not sent. The
      // write fence refuses every write while one such step is pending
      // (until its Finished), so this step's request never goes out.
      p.unjournaled = true;
      ++c_->unjournaled_;
      if (c_->metrics_) c_->metrics_->JournalWriteFailed();
      LogError("journal: " + id.status().ToString() + "; not sending " + step.id +
                   " (a write the journal cannot record is never sent; make --state-dir "
                   "writable)",
               {intent_, step.id, "", rid_});
    }
  }

  void OperationStarted(const reconcilers::Step& step, const gcp::Operation& op) override {
    Pending& p = pending_[step.id];
    p.operation_started = true;
    LogInfo("operation started: " + gcp::DescribeOperation(op), {intent_, step.id, op.name, rid_});
    if (c_->journal_ && !p.journal_id.empty()) {
      Status s = c_->journal_->RecordOperation(p.journal_id, op);
      if (!s.ok()) LogError("journal: " + s.ToString(), {intent_, step.id, op.name, rid_});
    }
  }

  void Finished(const reconcilers::Step& step, const Status& status) override {
    Pending p = pending_[step.id];
    pending_.erase(step.id);
    if (p.unjournaled) --c_->unjournaled_;
    if (!p.request_key.empty() && !KeepsRequestId(status.code())) {
      c_->request_ids_->erase(p.request_key);  // done: a later insert is a new write
    }
    bool interrupted = status.code() == StatusCode::kCancelled && c_->stopping_;
    if (c_->metrics_ && !interrupted) {
      c_->metrics_->WriteDone(WriteApi(step.resource.kind), WriteMethod(step),
                              WriteResult(status, p.operation_started));
      // The operation's wait time is reported by the waiter itself
      // (gcp::Telemetry, wired in `run`).
    }
    if (interrupted) {
      // Shutting down: the operation is journaled; the next start waits on it.
      LogWarning("stopped waiting for " + step.id + " (shutdown); resumes on restart",
                 {intent_, step.id, "", rid_});
      return;
    }
    if (c_->journal_ && !p.journal_id.empty()) {
      Status s = c_->journal_->RecordOutcome(p.journal_id, status);
      if (!s.ok()) LogError("journal: " + s.ToString(), {intent_, step.id, "", rid_});
    }
    if (status.ok()) {
      LogInfo("done: " + step.id, {intent_, step.id, "", rid_});
      if (step.action != Action::kRun && step.action != Action::kWait) {
        for (const auto& ch : step.changes) {
          corrections.push_back({std::string(MetricKind(step.resource.kind)), ch.path});
        }
      }
    } else {
      LogWarning("write refused or failed: " + step.id + ": " + status.ToString(),
                 {intent_, step.id, "", rid_});
    }
  }

  int writes = 0;
  std::vector<std::pair<std::string, std::string>> corrections;  // (metric kind, path)

 private:
  struct Pending {
    std::string journal_id;
    bool operation_started = false;
    bool unjournaled = false;  // its journal record failed: must not be sent
    std::string request_key;   // Compute inserts (RequestIdAssigned)
    std::string request_id;
  };
  Controller* c_;
  std::string intent_;
  int64_t generation_;
  std::string rid_;
  std::map<std::string, Pending> pending_;
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
      wake_(executor),
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

void Controller::Kick() { wake_.cancel(); }

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
    while (auto key = self->queue_.TryGet()) {
      ++self->in_flight_;
      asio::co_spawn(self->executor_, Reconcile(self, *key), asio::detached);
    }
    self->UpdateQueueMetrics();
    // Wake for the next delayed key, or at least every second for the heartbeat.
    auto now = self->options_.clock();
    auto next = now + std::chrono::seconds(1);
    if (auto due = self->queue_.NextWakeup(); due && *due < next) next = *due;
    auto wait = std::max<std::chrono::steady_clock::duration>(next - now,
                                                              std::chrono::milliseconds(1));
    self->wake_.expires_after(wait);
    co_await self->wake_.async_wait(asio::as_tuple(asio::use_awaitable));
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
  config::Intent intent = *st->intent;
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

  // Why this pass may not write, if it may not.
  std::string block;
  bool enforce = intent.policy.mode == config::PolicyMode::kEnforce && !intent.policy.paused;
  if (intent.policy.paused) {
    block = "Paused";
  } else if (intent.policy.mode == config::PolicyMode::kObserve || self->options_.observe) {
    block = "Observing";
  } else if (self->options_.can_write && !self->options_.can_write()) {
    block = "Observing";  // a standby replica
  } else if (st->BreakerOpen(start)) {
    block = "DriftFight";
  }
  if (enforce && !block.empty()) intent.policy.mode = config::PolicyMode::kObserve;

  PassObserver observer(self.get(), key, generation, rid);
  reconcilers::ApplyOptions opts = self->options_.apply;
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
    result = co_await reconcilers::Apply(self->clients_, intent, opts,
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
    block = "Observing";
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
    if (st->BreakerOpen(self->options_.clock())) block = "DriftFight";
    self->FinishPass(key, intent, result, block, seconds);
  }
  --self->in_flight_;
  self->queue_.Done(key);
  self->Kick();
}

namespace {

std::string StepLine(const reconcilers::Step& s) {
  std::string line = std::string(reconcilers::ToString(s.action)) + " " + s.id;
  for (const auto& c : s.changes) line += "; " + c.path + ": " + c.before + " -> " + c.after;
  if (!s.blocked.empty()) line += " (blocked: " + s.blocked + ")";
  if (!s.waiting_for.empty()) line += " (waiting for " + s.waiting_for + ")";
  return line;
}

}  // namespace

void Controller::FinishPass(const std::string& key, const config::Intent& intent,
                            const reconcilers::ApplyResult& result, const std::string& block,
                            double seconds) {
  auto it = intents_.find(key);
  if (it == intents_.end()) return;
  IntentState& st = *it->second;
  const reconcilers::Plan& plan = result.last_plan;
  auto now = options_.clock();
  const WallClock::time_point now_wall = WallPoint(now);
  bool observed = !plan.intent.empty();  // at least one observation succeeded
  if (observed) credentials_ok_ = true;

  IntentState& status = st;
  status.observed_generation = st.generation;
  status.last_reconcile = now_wall;
  status.last_plan = plan.summary();
  // Built apart and kept only when not empty: no allocation for an intent
  // that is up to date.
  IntentState::Details details;
  details.verifications = result.verifications;
  details.last_plan_steps.reserve(plan.steps.size());
  for (const auto& s : plan.steps) details.last_plan_steps.push_back(StepLine(s));
  details.last_error =
      result.status.ok() ? "" : RedactForDisplay(result.status.ToString(), kStatusTextCap);
  if (observed) {
    // Diagnoses as `plan` raises them (run-time prerequisites among them);
    // each new one is logged once, not on every pass.
    const std::vector<reconcilers::Diagnosis>& before = st.View().diagnoses;
    for (const auto& d : plan.diagnoses) {
      bool known = std::any_of(before.begin(), before.end(), [&](const reconcilers::Diagnosis& b) {
        return b.code == d.code && b.resource.kind == d.resource.kind &&
               b.resource.name == d.resource.name && b.problem == d.problem;
      });
      if (!known) {
        LogWarning(RedactForDisplay(d.code + ": " + d.problem + "; fix: " + d.fix, kStatusTextCap),
                   {key, std::string(reconcilers::ToString(d.resource.kind)) + "/" +
                             d.resource.name, "", ""});
      }
    }
    details.diagnoses = plan.diagnoses;
  } else {
    details.diagnoses = st.View().diagnoses;  // nothing new was read
  }

  // Per resource.
  std::map<ResourceKey, const reconcilers::Step*> by_resource;
  for (const auto& s : plan.steps) {
    ResourceKey k{s.resource.kind, s.resource.name};
    if (!by_resource.count(k)) by_resource[k] = &s;
  }
  std::vector<ResourceKey> resources = DeclaredResources(intent);
  // An edit that changed the declared resources landed during this pass:
  // the records already follow the new list (SetDesiredState) and the next
  // pass, queued by that edit, fills them; this one's are left out.
  const bool current = resources == DeclaredResources(*st.intent);
  if (!current) resources.clear();
  for (const auto& [k, s] : by_resource) {
    if (current && std::find(resources.begin(), resources.end(), k) == resources.end()) {
      details.extras.push_back(k);
      resources.push_back(k);
    }
  }
  CountStates(st, -1);  // the last pass's states leave the totals
  // The records are rewritten in place when the resources are the same as
  // last time (the rule): a pass then allocates nothing that outlives it.
  // Long-lived allocations made between a pass's short-lived ones are what
  // fragments a heap holding 10,000 intents.
  if (current && (status.resources.size() != resources.size() ||
                  details.extras != status.View().extras)) {
    std::vector<CompactResource> records =
        CarryRecords(resources, status.RecordKeys(), status.resources);
    status.resources.swap(records);
  }
  bool any_waiting = false;
  bool any_failed = false;
  for (std::size_t i = 0; current && i < resources.size(); ++i) {
    const ResourceKey& k = resources[i];
    CompactResource& rs = status.resources[i];
    auto found = by_resource.find(k);
    Reason reason = Reason::kUpToDate;
    std::string message;
    if (found != by_resource.end()) {
      const reconcilers::Step& s = *found->second;
      message = StepLine(s);
      bool failed_here = !result.status.ok() &&
                         result.status.message().find(s.id) != std::string::npos;
      if (failed_here || !s.blocked.empty()) {
        reason = Reason::kUpdateFailed;
        any_failed = true;
      } else if (!block.empty() || s.report_only || plan.report_only) {
        reason = block.empty() ? (intent.policy.paused ? Reason::kPaused : Reason::kObserving)
                               : ReasonFrom(block);
      } else if (!s.waiting_for.empty() || s.action == Action::kWait ||
                 !reconcilers::IsReady(plan, s)) {
        reason = Reason::kDependencyNotReady;
        any_waiting = true;
      } else {
        reason = Reason::kUpdating;
      }
    }
    rs.condition.Set(reason, now_wall);
    if (!message.empty()) details.resource_messages.emplace_back(i, std::move(message));
  }
  CountStates(st, 1);

  // Per intent.
  Reason reason = Reason::kUnknown;
  std::string message;
  if (!result.status.ok() && !(stopping_ && result.status.code() == StatusCode::kCancelled)) {
    reason = Reason::kUpdateFailed;
    message = details.last_error;
  } else if (result.converged && observed) {
    reason = Reason::kUpToDate;
  } else if (!block.empty()) {
    reason = ReasonFrom(block);
    message = block == "DriftFight"
                  ? "another writer keeps changing " +
                        (st.breaker ? st.breaker->tripped_field() : std::string("a field")) +
                        "; writes stopped, drift reported"
                  : std::to_string(plan.steps.size()) + " change(s) not applied";
  } else if (plan.report_only) {
    reason = intent.policy.paused ? Reason::kPaused : Reason::kObserving;
    message = plan.report_only_reason;
  } else if (any_failed) {
    reason = Reason::kUpdateFailed;
    message = "blocked by policy; see the plan";
  } else if (any_waiting) {
    reason = Reason::kDependencyNotReady;
  } else {
    reason = Reason::kUpdating;
  }
  if (reason == Reason::kUpToDate) message.clear();
  status.condition.Set(reason, now_wall);
  details.message = std::move(message);
  if (details.empty()) {
    status.details.reset();
  } else if (status.details) {
    *status.details = std::move(details);
  } else {
    status.details = std::make_unique<IntentState::Details>(std::move(details));
  }

  // Metrics.
  if (metrics_) {
    std::string_view result_label = "in_sync";
    if (!result.status.ok()) {
      result_label = result.status.http_status() == 409 || result.status.http_status() == 412
                         ? "conflict"
                         : "error";
    } else if (!result.executed.empty()) {
      result_label = "updated";
    } else if (reason == Reason::kObserving) {
      result_label = "drift_reported";
    } else if (reason == Reason::kPaused || reason == Reason::kDriftFight) {
      result_label = "skipped";
    } else if (reason == Reason::kDependencyNotReady) {
      result_label = "dependency_not_ready";
    }
    std::set<std::string_view> kinds;
    for (const auto& k : resources) kinds.insert(MetricKind(k.kind));
    for (auto kind : kinds) metrics_->ReconcileDone(kind, result_label, seconds);
    for (const auto& s : result.first_plan.steps) {
      if (s.action == Action::kWait || s.action == Action::kRun) continue;
      for (const auto& c : s.changes) metrics_->DriftDetected(MetricKind(s.resource.kind), c.path);
    }
    if (observed) {
      bool world_open = std::any_of(plan.findings.begin(), plan.findings.end(),
                                    [](const reconcilers::Diagnosis& d) { return d.code == "world-open"; });
      metrics_->SetWorldOpen(key, world_open, intent.policy.allow_world_open);
    }
    auto expiry = config::NextExpiry(intent, std::chrono::system_clock::now());
    metrics_->SetNearestExpiry(key, expiry ? std::optional<double>(UnixSeconds(*expiry))
                                           : std::nullopt);
  }

  // Requeue.
  std::chrono::milliseconds next;
  if (!result.status.ok() && !stopping_) {
    next = queue_.AddRateLimited(key);
    if (metrics_) metrics_->QueueRetry();
    LogWarning("reconcile failed; retrying in " + std::to_string(next.count()) + " ms: " +
                   status.View().last_error,
               {key, "", "", ""});
  } else {
    queue_.Forget(key);
    if (reason == Reason::kDependencyNotReady) {
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
  status.next_resync = WallPoint(now + next);

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
  std::map<std::string, ResourceStateCounts, std::less<>> totals;
  for (auto kind : labels::kKinds) {
    if (kind != labels::kOther) totals[std::string(kind)];
  }
  for (const auto& [kind, c] : state_totals_) totals[kind] = c;
  for (const auto& [kind, c] : totals) metrics_->SetResourceStates(kind, c);
  metrics_->SetReady(Ready());
}

void Controller::CountStates(const IntentState& st, int sign) {
  for (const auto& r : st.resources) {
    auto it = state_totals_.find(MetricKind(r.kind));
    if (it == state_totals_.end()) {
      it = state_totals_.emplace(std::string(MetricKind(r.kind)), ResourceStateCounts{}).first;
    }
    ResourceStateCounts& t = it->second;
    switch (r.condition.reason) {
      case Reason::kUpToDate: t.in_sync += sign; break;
      case Reason::kUpdateFailed: t.error += sign; break;
      case Reason::kDependencyNotReady: t.dependency_not_ready += sign; break;
      case Reason::kPaused: t.paused += sign; break;
      case Reason::kDriftFight: t.fighting += sign; break;
      case Reason::kUnknown: break;
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

namespace {
json::object ConditionJson(const Condition& c) {
  return json::object{{"type", c.type},
                      {"status", c.status},
                      {"reason", c.reason},
                      {"message", RedactForDisplay(c.message, kStatusTextCap)},
                      {"lastTransitionTime", c.last_transition}};
}
}  // namespace

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

namespace {

// One intent's /status object, serialized.
std::string IntentStatusText(const IntentStatus& s) {
  json::object o;
  o["name"] = s.name;
  o["mode"] = s.mode;
  o["observedGeneration"] = s.observed_generation;
  o["conditions"] = json::array{ConditionJson(s.ready), ConditionJson(s.synced)};
  o["lastPlan"] = json::object{{"create", s.last_plan.to_create},
                               {"update", s.last_plan.to_update},
                               {"replace", s.last_plan.to_replace},
                               {"run", s.last_plan.to_run},
                               {"waiting", s.last_plan.waiting},
                               {"blocked", s.last_plan.blocked},
                               {"reportOnly", s.last_plan.report_only}};
  json::array steps;
  for (const auto& l : s.last_plan_steps) {
    steps.push_back(json::string(RedactForDisplay(l, kStatusTextCap)));
  }
  o["lastPlanSteps"] = std::move(steps);
  o["lastError"] = s.last_error;
  json::array diags;
  for (const auto& d : s.diagnoses) {
    diags.push_back(json::object{
        {"code", d.code},
        {"resource", std::string(reconcilers::ToString(d.resource.kind)) + "/" + d.resource.name},
        {"problem", RedactForDisplay(d.problem, kStatusTextCap)},
        {"fix", RedactForDisplay(d.fix, kStatusTextCap)}});
  }
  o["diagnoses"] = std::move(diags);
  o["lastReconcile"] = s.last_reconcile;
  o["nextResync"] = s.next_resync;
  o["writes"] = s.writes;
  json::array res;
  for (const auto& r : s.resources) {
    res.push_back(json::object{{"kind", r.kind},
                               {"name", r.name},
                               {"conditions", json::array{ConditionJson(r.ready),
                                                          ConditionJson(r.synced)}}});
  }
  o["resources"] = std::move(res);
  return json::serialize(o);
}

}  // namespace

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

}  // namespace dbconnd::daemon
