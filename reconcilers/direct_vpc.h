#pragma once
// Direct VPC egress (Cloud Run vpcAccess.networkInterfaces): what the
// planner needs beyond the workload itself — the subnetwork an intent names,
// read with Compute subnetworks.get, and whether an egress setting sends the
// instance's private IP into the VPC at all.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "config/model.h"
#include "gcp/api.h"

namespace dbconnd::reconcilers {

// The subnetwork a Direct VPC workload uses, as the intent names it: the
// `subnetwork` given, else the network's name (Cloud Run's own default).
std::string DirectVpcSubnetworkRef(const config::DirectVpc& d);

// {project, region, name} to read for `ref` ("NAME" in the intent's
// project and region, or "projects/P/regions/R/subnetworks/NAME").
struct SubnetworkLocation {
  std::string project, region, name;
};
SubnetworkLocation LocateSubnetwork(const config::Intent& intent, const std::string& ref);

// Every subnetwork ref the intent's workloads name, each once, in order:
// Direct VPC egress subnetworks (private IP or PSC workloads) and the
// subnetwork a PSC endpoint's address is reserved in (psc.h). Observe reads
// each with subnetworks.get and keeps every answer for the planner.
std::vector<std::string> SubnetworkRefs(const config::Intent& intent);

// Whether vpcAccess egress sends `ip` into the VPC: ALL_TRAFFIC sends
// everything; PRIVATE_RANGES_ONLY only RFC 1918 and RFC 6598 (100.64.0.0/10)
// destinations. An address that does not parse is assumed reachable.
bool EgressReaches(config::VpcEgress egress, std::string_view ip);

// The live vpcAccess a Direct VPC workload should have. Keeps the live
// spelling of an interface that means the same (a short name for a path of
// the same network/subnetwork, tags in another order), so a converged
// workload is not rewritten.
gcp::RunVpcAccess DesiredDirectVpcAccess(const config::Workload& w,
                                         const std::optional<gcp::RunVpcAccess>& live);

// The last segment of a resource path or URL ("…/networks/default" → "default").
std::string ShortResourceName(std::string_view ref);

}  // namespace dbconnd::reconcilers
