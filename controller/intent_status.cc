#include "controller/intent_status.h"

#include <boost/json.hpp>
#include <algorithm>

#include "common/redact.h"
#include "common/rfc3339.h"
#include "controller/log.h"
#include "reconcilers/planner.h"

namespace dbconnd::controller {
namespace json = boost::json;
using reconcilers::ResourceKind;

namespace {

std::string TimeText(WallClock::time_point t) {
  return t == WallClock::time_point{} ? std::string() : FormatRfc3339(t, 3);
}

void ExpandCondition(const CompactCondition& c, const std::string& message, Condition& out) {
  out.status = c.reason == ConditionReason::kUnknown ? "Unknown"
               : c.reason == ConditionReason::kUpToDate ? "True"
                                                        : "False";
  out.reason = std::string(reconcilers::ToString(c.reason));
  out.message = message;
  out.last_transition = TimeText(c.since);
}

}  // namespace

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

std::string StepLine(const reconcilers::Step& s) {
  std::string line = std::string(reconcilers::ToString(s.action)) + " " + s.id;
  for (const auto& c : s.changes) line += "; " + c.path + ": " + c.before + " -> " + c.after;
  if (!s.blocked.empty()) line += " (blocked: " + s.blocked + ")";
  if (!s.waiting_for.empty()) line += " (waiting for " + s.waiting_for + ")";
  return line;
}

std::vector<ResourceKey> IntentRecord::RecordKeys() const {
  std::vector<ResourceKey> keys;
  if (intent) keys = DeclaredResources(*intent);
  const auto& extras = View().extras;
  keys.insert(keys.end(), extras.begin(), extras.end());
  return keys;
}

const std::string& IntentRecord::ResourceMessage(std::size_t i) const {
  static const std::string kNone;
  for (const auto& [at, text] : View().resource_messages) {
    if (at == i) return text;
  }
  return kNone;
}

IntentStatus IntentRecord::Expand(const std::string& name) const {
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

std::string IntentMessage(const reconcilers::Assessment& a, const reconcilers::ApplyResult& result,
                          const std::string& last_error, std::string_view tripped_field) {
  const reconcilers::Plan& plan = result.last_plan;
  switch (a.intent) {
    case ConditionReason::kUnknown:
    case ConditionReason::kUpToDate:
    case ConditionReason::kUpdating:
    case ConditionReason::kDependencyNotReady:
      return "";
    case ConditionReason::kUpdateFailed:
      return result.status.ok() ? "blocked by policy; see the plan" : last_error;
    case ConditionReason::kDriftFight:
    case ConditionReason::kObserving:
    case ConditionReason::kPaused:
      break;
  }
  if (result.block == reconcilers::WriteBlock::kDriftFight) {
    return "another writer keeps changing " +
           (tripped_field.empty() ? std::string("a field") : std::string(tripped_field)) +
           "; writes stopped, drift reported";
  }
  if (result.block != reconcilers::WriteBlock::kNone) {
    return std::to_string(plan.steps.size()) + " change(s) not applied";
  }
  return plan.report_only_reason;
}

std::vector<ResourceKey> RecordPass(IntentRecord& rec, const std::string& key,
                                    const config::Intent& intent,
                                    const reconcilers::ApplyResult& result,
                                    const reconcilers::Assessment& assessment,
                                    std::string_view tripped_field, WallClock::time_point now) {
  const reconcilers::Plan& plan = result.last_plan;
  const bool observed = !plan.intent.empty();  // at least one observation succeeded
  rec.last_reconcile = now;
  rec.last_plan = plan.summary();
  // Built apart and kept only when not empty: no allocation for an intent
  // that is up to date.
  IntentRecord::Details details;
  details.verifications = result.verifications;
  details.last_plan_steps.reserve(plan.steps.size());
  for (const auto& s : plan.steps) details.last_plan_steps.push_back(StepLine(s));
  details.last_error =
      result.status.ok() ? "" : RedactForDisplay(result.status.ToString(), kStatusTextCap);
  if (observed) {
    // Diagnoses as `plan` raises them (run-time prerequisites among them);
    // each new one is logged once, not on every pass.
    const std::vector<reconcilers::Diagnosis>& before = rec.View().diagnoses;
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
    details.diagnoses = rec.View().diagnoses;  // nothing new was read
  }

  // Per resource: the declared ones, then those only the plan names.
  std::vector<ResourceKey> resources = DeclaredResources(intent);
  // An edit that changed the declared resources landed during this pass:
  // the records already follow the new list (SetDesiredState) and the next
  // pass, queued by that edit, fills them; this one's are left out.
  const bool current =
      &intent == rec.intent.get() || resources == DeclaredResources(*rec.intent);
  if (!current) resources.clear();
  std::map<ResourceKey, const reconcilers::ResourceAssessment*> by_resource;
  for (const auto& r : assessment.resources) {
    ResourceKey k{r.resource.kind, r.resource.name};
    by_resource.emplace(k, &r);
  }
  for (const auto& [k, r] : by_resource) {
    if (current && std::find(resources.begin(), resources.end(), k) == resources.end()) {
      details.extras.push_back(k);
      resources.push_back(k);
    }
  }
  // The records are rewritten in place when the resources are the same as
  // last time (the rule): a pass then allocates nothing that outlives it.
  // Long-lived allocations made between a pass's short-lived ones are what
  // fragments a heap holding 10,000 intents.
  if (current &&
      (rec.resources.size() != resources.size() || details.extras != rec.View().extras)) {
    std::vector<CompactResource> records =
        CarryRecords(resources, rec.RecordKeys(), rec.resources);
    rec.resources.swap(records);
  }
  for (std::size_t i = 0; current && i < resources.size(); ++i) {
    auto found = by_resource.find(resources[i]);
    ConditionReason reason = ConditionReason::kUpToDate;
    if (found != by_resource.end()) {
      reason = found->second->reason;
      details.resource_messages.emplace_back(i, StepLine(*found->second->step));
    }
    rec.resources[i].condition.Set(reason, now);
  }

  // Per intent.
  rec.condition.Set(assessment.intent, now);
  details.message = IntentMessage(assessment, result, details.last_error, tripped_field);
  if (details.empty()) {
    rec.details.reset();
  } else if (rec.details) {
    *rec.details = std::move(details);
  } else {
    rec.details = std::make_unique<IntentRecord::Details>(std::move(details));
  }
  return resources;
}

json::object ConditionJson(const Condition& c) {
  return json::object{{"type", c.type},
                      {"status", c.status},
                      {"reason", c.reason},
                      {"message", RedactForDisplay(c.message, kStatusTextCap)},
                      {"lastTransitionTime", c.last_transition}};
}

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

}  // namespace dbconnd::controller
