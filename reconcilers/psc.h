#pragma once
// Private Service Connect: the instance publishes a service attachment
// (pscConfig.pscEnabled), allow-lists consumer projects
// (pscConfig.allowedConsumerProjects), and each psc workload reaches it
// through an endpoint in its own VPC — an internal address (Compute
// addresses) plus a forwarding rule targeting the attachment (Compute
// forwardingRules), both in spec.region.
//
// Steps, in order, each present only when live state differs:
//   instance/<name>/psc            pscEnabled
//   instance/<name>/psc-consumers  allowedConsumerProjects
//   pscAddress/<address>           the endpoint's internal address
//   pscEndpoint/<endpoint>         the forwarding rule
// then the workloads (their URL uses the endpoint's IP), then the public path.

#include <map>
#include <string>
#include <vector>

#include "config/model.h"
#include "gcp/api.h"
#include "reconcilers/live_state.h"
#include "reconcilers/plan.h"

namespace dbconnd::reconcilers {

std::string PscStepId(std::string_view instance);
std::string PscConsumersStepId(std::string_view instance);
std::string PscAddressStepId(std::string_view address);
std::string PscEndpointStepId(std::string_view endpoint);

// The subnetwork a PSC endpoint's address is reserved in, as the intent
// names it: `subnetwork`, else the network's name.
std::string PscSubnetworkRef(const config::PscEndpoint& p);

// What a psc workload needs to know of its endpoint.
struct PscEndpointState {
  std::string ip;        // the endpoint's IP; "" until the address is reserved
  std::string blocked;   // a diagnosis stands against the endpoint: never wire it
  std::string waiting;   // the endpoint exists or will, but is not usable yet
  std::vector<std::string> steps;  // step ids the workload depends on
};

struct PscPlan {
  std::vector<Step> steps;  // in order; dependencies name each other
  std::vector<Diagnosis> diagnoses;
  std::vector<Diagnosis> notes;
  std::map<std::string, PscEndpointState> endpoints;  // by endpoint (forwarding rule) name
};

// Pure: the PSC half of ComputePlan.
PscPlan PlanPsc(const config::Intent& intent, const LiveState& live);

}  // namespace dbconnd::reconcilers
