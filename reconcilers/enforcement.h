#pragma once
// Cloud SQL connector enforcement (settings.connectorEnforcement).
//
// REQUIRED makes the instance refuse every connection that does not come
// through the Cloud SQL Auth Proxy or a language connector (Cloud Run's
// /cloudsql socket is one): a client that connects to the private or public
// IP directly is cut off. So turning it on is a connectivity break of its
// own step, "<instance step>/connector-enforcement", and:
//   - it is blocked while any workload of the intent is declared with a
//     raw-IP method (privateIp, publicIp), or while a workload outside the
//     intent still has the instance's IP in its environment;
//   - it depends on every workload step and verification step, so the
//     workloads the intent moves to the socket move first.
// NOT_REQUIRED only opens a path: it rides in the instance's first step,
// which every workload step already waits for.

#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "gcp/types.h"
#include "reconcilers/live_state.h"
#include "reconcilers/plan.h"

namespace dbconnd::reconcilers {

std::string EnforcementStepId(std::string_view instance);

// The value the instance should get in its first (path-adding) step, or
// nullopt: set only when the intent relaxes enforcement that is on.
std::optional<std::string> RelaxedEnforcement(const config::Intent& intent, const gcp::SqlInstance& live);

// Whether the intent turns REQUIRED on and the instance does not have it.
bool EnforcementPending(const config::Intent& intent, const LiveState& live);

struct EnforcementInputs {
  std::string instance_step;                 // may be empty (in sync)
  std::vector<std::string> workload_steps;   // every workload step of the plan
  std::vector<std::string> verify_steps;
  // "job x" of workloads outside the intent whose environment holds one of
  // the instance's IP addresses.
  std::vector<std::string> undeclared_ip_users;
  std::string failed_verification;  // non-empty: a verification failed
};

// The enforcement step on top of `base` (the instance as the first step
// leaves it), or nullopt when nothing is to be turned on.
std::optional<Step> PlanEnforcement(const config::Intent& intent, const LiveState& live,
                                    const gcp::SqlInstance& base, const EnforcementInputs& inputs);

}  // namespace dbconnd::reconcilers
