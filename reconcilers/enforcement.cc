#include "reconcilers/enforcement.h"

#include "reconcilers/diff.h"

namespace dbconnd::reconcilers {
namespace {

constexpr char kRequired[] = "REQUIRED";

bool IsRequired(const std::string& v) { return v == kRequired; }

std::string KindWord(config::WorkloadKind k) {
  return k == config::WorkloadKind::kJob ? "job" : "service";
}

}  // namespace

std::string EnforcementStepId(std::string_view instance) {
  return "instance/" + std::string(instance) + "/connector-enforcement";
}

std::optional<std::string> RelaxedEnforcement(const config::Intent& intent, const gcp::SqlInstance& live) {
  const auto& want = intent.instance.connector_enforcement;
  if (!want || *want != config::ConnectorEnforcement::kNotRequired) return std::nullopt;
  if (!IsRequired(live.connector_enforcement)) return std::nullopt;  // unset/unspecified = not required
  return std::string(config::ToString(*want));
}

bool EnforcementPending(const config::Intent& intent, const LiveState& live) {
  const auto& want = intent.instance.connector_enforcement;
  return want && *want == config::ConnectorEnforcement::kRequired && live.instance &&
         !IsRequired(live.instance->connector_enforcement);
}

std::optional<Step> PlanEnforcement(const config::Intent& intent, const LiveState& live,
                                    const gcp::SqlInstance& base, const EnforcementInputs& inputs) {
  if (!EnforcementPending(intent, live)) return std::nullopt;
  gcp::SqlInstance want = base;
  want.connector_enforcement = kRequired;
  Step s;
  s.id = EnforcementStepId(intent.instance.name);
  s.kind = "connector-enforcement";
  s.resource = {ResourceKind::kInstance, intent.instance.name};
  s.action = Action::kUpdate;
  s.changes = DiffInstance(want, base);
  s.payload = MakeInstancePatch(want, base);
  s.depends_on = {inputs.instance_step};
  for (const auto& id : inputs.workload_steps) s.depends_on.push_back(id);
  for (const auto& id : inputs.verify_steps) s.depends_on.push_back(id);

  // Raw-IP workloads the intent keeps would be cut off for good.
  for (const auto& w : intent.workloads) {
    if (w.method == config::ConnectionMethod::kCloudSqlSocket) continue;
    s.blocked = KindWord(w.kind) + " " + w.name + " is declared with method " +
                std::string(config::ToString(w.method)) +
                " and connects to the instance's IP directly, which connectorEnforcement: REQUIRED refuses; "
                "move it to method cloudSqlSocket (or a Cloud SQL language connector) first";
    return s;
  }
  if (!inputs.undeclared_ip_users.empty()) {
    s.blocked = inputs.undeclared_ip_users.front() +
                " (not in this file) still connects to the instance's IP directly; move it to the Cloud SQL "
                "socket or a language connector, or declare it, before connectorEnforcement: REQUIRED";
    return s;
  }
  if (!inputs.failed_verification.empty()) {
    s.blocked = inputs.failed_verification;
    return s;
  }
  const gcp::SqlInstance& inst = *live.instance;
  if (!inst.state.empty() && inst.state != "RUNNABLE") {
    s.waiting_for = "instance " + inst.name + " is " + inst.state + ", not RUNNABLE";
  }
  return s;
}

}  // namespace dbconnd::reconcilers
