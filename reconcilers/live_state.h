#pragma once
// The snapshot of live Google Cloud state one plan is computed against.
// reconcilers::Observe (observation.h) fills it, from direct reads or the
// shared snapshots alike; ComputePlan only reads it.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "gcp/iam.h"
#include "gcp/types.h"

namespace dbconnd::reconcilers {

// Outcome of running a job after dbconnd changed it (policy.verify). Kept by
// the acting layer across passes, and derived from Google on every
// observation: the job's newest execution created at or after the job's last
// change (updateTime) is the verification of its current configuration
// (running = kPending with `execution` set: wait for it, never start another;
// succeeded / failed = the outcome). So a restart or a new leader neither
// runs a verification twice nor forgets one that already ran, and a
// converged system never runs a job just because the process restarted.
struct JobVerification {
  enum class State { kPending, kSucceeded, kFailed };
  State state = State::kPending;
  std::string message;    // failure message from the execution, if any
  std::string execution;  // full name of the execution this is about, if one exists
};

// Every job (or service) of one project+region by short name, as one list
// call returned it. Immutable once built; shared by all intents of that
// project+region for as long as the snapshot is reused (ObservationCache).
using WorkloadIndex = std::unordered_map<std::string, gcp::RunWorkload>;

// The Service Networking connections of one network, as one list call
// returned them.
using PeeringList = std::vector<gcp::PeeringConnection>;

// Run-time prerequisites read before a workload is patched (prerequisites.h):
// read-only, best effort. An error (PERMISSION_DENIED above all) means
// "unknown", never "failed".
struct PrerequisiteFacts {
  // By declared version, "projects/P/secrets/S/versions/V": metadata only.
  std::map<std::string, StatusOr<gcp::SecretVersionInfo>> versions;
  // By secret, "projects/P/secrets/S".
  std::map<std::string, StatusOr<gcp::IamPolicy>> secret_policies;
  // The intent's project; absent when no check needed it.
  std::optional<StatusOr<gcp::IamPolicy>> project_policy;
};

struct LiveState {
  std::optional<gcp::SqlInstance> instance;        // the intent's instance, if it exists
  std::optional<gcp::Connector> connector;         // the intent's connector, if it exists
  // The connector named ReplacementConnectorName(intent.connector), if it
  // exists: where a replace (connector_options.h) put the workloads.
  std::optional<gcp::Connector> replacement_connector;
  // The intent's declared workloads that exist, by short name; nothing else.
  std::map<std::string, gcp::RunWorkload> jobs;
  std::map<std::string, gcp::RunWorkload> services;
  // The region's index (every job / service of project+region, declared ones
  // included), for the two checks that look past the declared workloads:
  // the public IP stays on, and connector enforcement waits, while an
  // undeclared workload still uses the instance's address.
  // Observe always sets them; empty when neither check applies (see
  // NeedsRegionWorkloads in observation.h). Shared, never copied per intent
  // (ObservationCache). Null reads as empty.
  std::shared_ptr<const WorkloadIndex> all_jobs;
  std::shared_ptr<const WorkloadIndex> all_services;
  // Service Networking connections on the network, shared like the region
  // index (one list per network). Null reads as empty: see Peerings().
  std::shared_ptr<const PeeringList> peerings;
  std::optional<gcp::GlobalAddress> services_range;  // the private services access range
  std::map<std::string, JobVerification> verifications;  // by job name, see JobVerification
  // When this snapshot was read (wall clock). Time-bound intent, such as an
  // authorized network's `expires`, is judged against it, so ComputePlan
  // stays a pure function of its inputs. The epoch (unset): nothing expires.
  std::chrono::system_clock::time_point observed_at{};
  std::optional<PrerequisiteFacts> prerequisites;  // absent: not checked (no clients for it)
  // Compute subnetworks.get of each Direct VPC egress subnetwork the intent
  // names, by DirectVpcSubnetworkRef (direct_vpc.h). NOT_FOUND = missing;
  // another error = unknown (no permission, ...). A ref absent from the map
  // was not read: the planner does not block on it.
  std::map<std::string, StatusOr<gcp::Subnetwork>> subnetworks;
  // Private Service Connect endpoints the intent's psc workloads name (psc.h):
  // Compute addresses.get by address name and forwardingRules.get by
  // endpoint name, in spec.region. NOT_FOUND = not created yet; another
  // error = unknown. Empty when the intent has no psc workload.
  std::map<std::string, StatusOr<gcp::RegionAddress>> psc_addresses;
  std::map<std::string, StatusOr<gcp::ForwardingRule>> psc_endpoints;

  const PeeringList& Peerings() const {
    static const PeeringList kNone;
    return peerings ? *peerings : kNone;
  }
};

}  // namespace dbconnd::reconcilers
