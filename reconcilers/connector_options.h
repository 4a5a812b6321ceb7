#pragma once
// The connector step of a plan: create, patch in place, replace, or wait.
//
// Serverless VPC Access changes machineType, minInstances and maxInstances
// in place (connectors.patch with an updateMask). Everything else (network,
// ipCidrRange, subnet, throughput) is fixed at creation: changing it is a
// `replace`, blocked unless policy.allowReplace. A replace never deletes. It
// creates a second connector under a name derived from the new fixed fields
// (ReplacementConnectorName), so a create whose answer was lost is found by
// the next observation instead of being sent again; the workloads then move
// to it (their steps depend on the replace step: make before break), and the
// old connector is left to its owner — the plan says so in a note.

#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "gcp/types.h"
#include "reconcilers/live_state.h"
#include "reconcilers/plan.h"

namespace dbconnd::reconcilers {

// The fields connectors.patch changes.
inline constexpr const char* kPatchableConnectorFields[] = {"machineType", "minInstances", "maxInstances"};

// The connector the intent describes, as Serverless VPC Access would be
// asked to create it (named `name`).
gcp::Connector DesiredConnector(const config::Intent& intent, const std::string& name);

// The name a replacement of the intent's connector gets: the declared name,
// shortened to fit, plus four hex digits of a hash of the fixed fields.
// Same intent, same name; always a valid connector ID (< 21, hyphens count
// twice) and never the declared name itself.
std::string ReplacementConnectorName(const config::Connector& c);

// How a live connector differs from the intent: fixed fields (only a new
// connector changes them) and patchable ones, with the patch's updateMask.
struct ConnectorDelta {
  std::vector<FieldChange> fixed;      // replace markers set
  std::vector<FieldChange> patchable;  // online
  std::vector<std::string> update_mask;
};
ConnectorDelta CompareConnector(const config::Connector& want, const gcp::Connector& live);

struct ConnectorStepPlan {
  std::optional<Step> step;  // absent when the connector in use is in sync
  // The connector the intent's connector workloads use (declared name or
  // its replacement).
  std::string connector_name;
  // The live connector `connector_name` names, if it exists.
  std::optional<gcp::Connector> live;
  std::vector<Diagnosis> notes;
};
ConnectorStepPlan PlanConnectorStep(const config::Intent& intent, const LiveState& live);

}  // namespace dbconnd::reconcilers
