#include "reconcilers/assess.h"

#include <map>

namespace dbconnd::reconcilers {

std::string_view ToString(ConditionReason r) {
  switch (r) {
    case ConditionReason::kUnknown: return "";
    case ConditionReason::kUpToDate: return "UpToDate";
    case ConditionReason::kUpdating: return "Updating";
    case ConditionReason::kUpdateFailed: return "UpdateFailed";
    case ConditionReason::kDependencyNotReady: return "DependencyNotReady";
    case ConditionReason::kDriftFight: return "DriftFight";
    case ConditionReason::kObserving: return "Observing";
    case ConditionReason::kPaused: return "Paused";
  }
  return "";
}

ConditionReason ReasonOf(WriteBlock block) {
  switch (block) {
    case WriteBlock::kPaused: return ConditionReason::kPaused;
    case WriteBlock::kDriftFight: return ConditionReason::kDriftFight;
    case WriteBlock::kNone:
    case WriteBlock::kObserving: return ConditionReason::kObserving;
  }
  return ConditionReason::kObserving;
}

Assessment Assess(const Plan& plan, const ApplyResult& result) {
  Assessment a;
  const bool failed = !result.status.ok();
  const bool blocked = result.block != WriteBlock::kNone;
  std::map<std::pair<ResourceKind, std::string_view>, bool> seen;
  for (const Step& s : plan.steps) {
    if (!seen.emplace(std::pair{s.resource.kind, std::string_view(s.resource.name)}, true).second) {
      continue;  // a resource is judged by its first step
    }
    ConditionReason reason;
    if ((failed && !result.failed_step.empty() && result.failed_step == s.id) ||
        !s.blocked.empty()) {
      reason = ConditionReason::kUpdateFailed;
      a.any_failed = true;
    } else if (blocked || s.report_only || plan.report_only) {
      reason = ReasonOf(result.block);
    } else if (!s.waiting_for.empty() || s.action == Action::kWait || !IsReady(plan, s)) {
      reason = ConditionReason::kDependencyNotReady;
      a.any_waiting = true;
    } else {
      reason = ConditionReason::kUpdating;
    }
    a.resources.push_back({s.resource, reason, &s});
  }

  const bool observed = !plan.intent.empty();  // at least one observation succeeded
  if (failed) {
    a.intent = ConditionReason::kUpdateFailed;
  } else if (plan.steps.empty() && observed) {
    a.intent = ConditionReason::kUpToDate;
  } else if (blocked || plan.report_only) {
    a.intent = ReasonOf(result.block);
  } else if (a.any_failed) {
    a.intent = ConditionReason::kUpdateFailed;
  } else if (a.any_waiting) {
    a.intent = ConditionReason::kDependencyNotReady;
  } else {
    a.intent = ConditionReason::kUpdating;
  }
  return a;
}

}  // namespace dbconnd::reconcilers
