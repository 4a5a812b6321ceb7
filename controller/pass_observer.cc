#include "controller/pass_observer.h"

#include <algorithm>
#include <array>
#include <optional>

#include "common/rfc3339.h"
#include "config/expiry.h"
#include "controller/log.h"

namespace dbconnd::controller {
using reconcilers::Action;
using reconcilers::ConditionReason;
using reconcilers::ResourceKind;

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
    case ResourceKind::kConnector:
      return step.action == Action::kUpdate ? "connectors.patch" : "connectors.create";
    case ResourceKind::kInstance: return "instances.patch";
    case ResourceKind::kJob: return step.action == Action::kRun ? "jobs.run" : "jobs.patch";
    case ResourceKind::kService: return "services.patch";
    case ResourceKind::kPscAddress: return "addresses.insert";
    case ResourceKind::kPscEndpoint: return "forwardingRules.insert";
  }
  return labels::kOther;
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

PassObserver::~PassObserver() {
  // A pass that ended without Finished (an exception): its refusals end.
  for (const auto& [step, p] : pending_) {
    if (p.unjournaled) --*l_.unjournaled;
  }
}

void PassObserver::RequestIdAssigned(const reconcilers::Step& step,
                                   const std::string& request_id) {
  Pending& p = pending_[step.id];
  p.request_key = reconcilers::RequestIdKey(step);
  p.request_id = request_id;
}

void PassObserver::BeforeMutation(const reconcilers::Step& step, const std::string& prior_json) {
  Pending& p = pending_[step.id];
  if (p.unjournaled) --*l_.unjournaled;
  std::string request_key = std::move(p.request_key);
  std::string request_id = std::move(p.request_id);
  p = Pending{};
  p.request_key = request_key;
  std::string what = std::string(reconcilers::ToString(step.action)) + " " + step.id;
  for (const auto& ch : step.changes) what += "; " + ch.path + ": " + ch.before + " -> " + ch.after;
  if (!l_.journal) {
    ++writes;
    ++*l_.total_writes;
    LogInfo("writing " + what, {intent_, step.id, "", rid_});
    return;
  }
  std::vector<JournalChange> changes;
  for (const auto& ch : step.changes) changes.push_back({ch.path, ch.before, ch.after});
  auto id = l_.journal->Begin(generation_, intent_, step.id,
                                std::string(reconcilers::ToString(step.resource.kind)),
                                step.resource.name, std::string(reconcilers::ToString(step.action)),
                                prior_json, changes);
  if (id.ok() && !request_id.empty()) {
    Status rec = l_.journal->RecordRequestId(*id, request_key, request_id);
    if (!rec.ok()) id = rec;
  }
  if (id.ok()) {
    p.journal_id = *id;
    ++writes;
    ++*l_.total_writes;
    LogInfo("writing " + what, {intent_, step.id, "", rid_});
  } else {
    // Fail closed: a write the journal cannot record is not sent. The
    // write fence refuses every write while one such step is pending
    // (until its Finished), so this step's request never goes out.
    p.unjournaled = true;
    ++*l_.unjournaled;
    if (l_.metrics) l_.metrics->JournalWriteFailed();
    LogError("journal: " + id.status().ToString() + "; not sending " + step.id +
                 " (a write the journal cannot record is never sent; make --state-dir "
                 "writable)",
             {intent_, step.id, "", rid_});
  }
}

void PassObserver::OperationStarted(const reconcilers::Step& step, const gcp::Operation& op) {
  Pending& p = pending_[step.id];
  p.operation_started = true;
  LogInfo("operation started: " + gcp::DescribeOperation(op), {intent_, step.id, op.name, rid_});
  if (l_.journal && !p.journal_id.empty()) {
    Status s = l_.journal->RecordOperation(p.journal_id, op);
    if (!s.ok()) LogError("journal: " + s.ToString(), {intent_, step.id, op.name, rid_});
  }
}

void PassObserver::Finished(const reconcilers::Step& step, const Status& status) {
  Pending p = pending_[step.id];
  pending_.erase(step.id);
  if (p.unjournaled) --*l_.unjournaled;
  if (!p.request_key.empty() && !KeepsRequestId(status.code())) {
    l_.request_ids->erase(p.request_key);  // done: a later insert is a new write
  }
  bool interrupted = status.code() == StatusCode::kCancelled && *l_.stopping;
  if (l_.metrics && !interrupted) {
    l_.metrics->WriteDone(WriteApi(step.resource.kind), WriteMethod(step),
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
  if (l_.journal && !p.journal_id.empty()) {
    Status s = l_.journal->RecordOutcome(p.journal_id, status);
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

void ReportPass(Metrics& metrics, const std::string& key, const config::Intent& intent,
                const reconcilers::ApplyResult& result, ConditionReason reason,
                const std::vector<ResourceKey>& resources, double seconds) {
  std::string_view result_label = "in_sync";
  if (!result.status.ok()) {
    result_label = result.status.http_status() == 409 || result.status.http_status() == 412
                       ? "conflict"
                       : "error";
  } else if (!result.executed.empty()) {
    result_label = "updated";
  } else if (reason == ConditionReason::kObserving) {
    result_label = "drift_reported";
  } else if (reason == ConditionReason::kPaused || reason == ConditionReason::kDriftFight) {
    result_label = "skipped";
  } else if (reason == ConditionReason::kDependencyNotReady) {
    result_label = "dependency_not_ready";
  }
  // One observation per metric kind the intent touches.
  std::array<bool, labels::kKinds.size()> touched{};
  for (const auto& k : resources) touched[LabelIndex(labels::kKinds, MetricKind(k.kind))] = true;
  for (std::size_t i = 0; i < touched.size(); ++i) {
    if (touched[i]) metrics.ReconcileDone(labels::kKinds[i], result_label, seconds);
  }
  for (const auto& s : result.first_plan.steps) {
    if (s.action == Action::kWait || s.action == Action::kRun) continue;
    for (const auto& c : s.changes) metrics.DriftDetected(MetricKind(s.resource.kind), c.path);
  }
  if (!result.last_plan.intent.empty()) {  // observed
    bool world_open =
        std::any_of(result.last_plan.findings.begin(), result.last_plan.findings.end(),
                    [](const reconcilers::Diagnosis& d) { return d.code == "world-open"; });
    metrics.SetWorldOpen(key, world_open, intent.policy.allow_world_open);
  }
  auto expiry = config::NextExpiry(intent, std::chrono::system_clock::now());
  metrics.SetNearestExpiry(key, expiry ? std::optional<double>(UnixSeconds(*expiry))
                                       : std::nullopt);
}

}  // namespace dbconnd::controller
