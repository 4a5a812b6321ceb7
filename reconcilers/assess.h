#pragma once
// What a pass came to, as the reason of a Ready/Synced condition: one pure
// classification of an apply result, for the intent and for every resource
// its plan names. The controller's /status, metrics and requeue read it; it
// reads nothing but its arguments.

#include <cstdint>
#include <string_view>
#include <vector>

#include "reconcilers/executor.h"
#include "reconcilers/plan.h"

namespace dbconnd::reconcilers {

enum class ConditionReason : uint8_t {
  kUnknown,  // no pass yet
  kUpToDate,
  kUpdating,
  kUpdateFailed,
  kDependencyNotReady,
  kDriftFight,
  kObserving,
  kPaused,
};
// "UpToDate", "Updating", ...; "" for kUnknown.
std::string_view ToString(ConditionReason r);
// The condition reason a pass that was not allowed to write ends with.
ConditionReason ReasonOf(WriteBlock block);

struct ResourceAssessment {
  ResourceRef resource;
  ConditionReason reason = ConditionReason::kUnknown;
  const Step* step = nullptr;  // the resource's first step in the plan
};

struct Assessment {
  ConditionReason intent = ConditionReason::kUnknown;
  // Every resource the plan has a step for, in the order of its first step.
  // A declared resource absent here is up to date.
  std::vector<ResourceAssessment> resources;
  bool any_failed = false;   // a step failed or policy blocked one
  bool any_waiting = false;  // a step waits on a dependency or on Google
};

// Classifies `plan` (normally result.last_plan) after a pass that ended with
// `result`:
//   intent: UpdateFailed when the pass failed; UpToDate when it observed
//   and the plan is empty; the write block's reason (Paused, Observing,
//   DriftFight) when it was not allowed to write; Observing for another
//   report-only plan; UpdateFailed when policy blocked a step;
//   DependencyNotReady when a step waits; Updating otherwise.
//   resources: UpdateFailed for the failed step (result.failed_step) or a
//   blocked one; the block's reason for a report-only one;
//   DependencyNotReady for one waiting or not ready; Updating otherwise.
Assessment Assess(const Plan& plan, const ApplyResult& result);

}  // namespace dbconnd::reconcilers
