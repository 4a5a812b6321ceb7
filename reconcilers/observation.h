#pragma once
// Observe: the one function that builds a LiveState (live_state.h) for an
// intent. It reads through an ObservationSource, so every path — the CLI's
// direct reads, the controller's shared snapshots (ObservationCache), the
// fresh reads a write is planned on — decides the same things the same way:
// which resources are read, when the region's undeclared workloads are
// needed, what NOT_FOUND means. The sources differ only in where an answer
// comes from.
//
//   DirectSource        one GET per declared resource (raw documents kept,
//                       ready for a read-modify-write), region lists read
//                       now when needed
//   ObservationCache    shared per-project/region snapshots (see
//                       observation_cache.h), one by-name lookup each

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/model.h"
#include "gcp/api.h"
#include "reconcilers/live_state.h"

namespace dbconnd::reconcilers {

class PrerequisiteMemo;  // prerequisites.h

// Where Observe reads from. Each call reads one thing; "absent" (NOT_FOUND)
// is an empty optional, any other failure an error Status that ends the
// observation. Arguments by value (coroutines).
class ObservationSource {
 public:
  virtual ~ObservationSource() = default;
  virtual gcp::Task<StatusOr<std::optional<gcp::SqlInstance>>> Instance(std::string project,
                                                                         std::string name) = 0;
  virtual gcp::Task<StatusOr<std::optional<gcp::Connector>>> Connector(std::string project,
                                                                       std::string region,
                                                                       std::string name) = 0;
  virtual gcp::Task<StatusOr<std::optional<gcp::RunWorkload>>> Workload(gcp::RunKind kind,
                                                                        std::string project,
                                                                        std::string region,
                                                                        std::string name) = 0;
  // Every workload of `kind` in the region (never null when OK).
  virtual gcp::Task<StatusOr<std::shared_ptr<const WorkloadIndex>>> Workloads(
      gcp::RunKind kind, std::string project, std::string region) = 0;
  // Service Networking connections of `network` ("projects/N/global/networks/X");
  // never null when OK.
  virtual gcp::Task<StatusOr<std::shared_ptr<const PeeringList>>> Peerings(
      std::string network) = 0;
  virtual gcp::Task<StatusOr<std::optional<gcp::GlobalAddress>>> Range(std::string project,
                                                                       std::string name) = 0;
  // Compute subnetworks.get: the answer itself, NOT_FOUND included (the
  // planner diagnoses it); never ends the observation. UNIMPLEMENTED: this
  // source has no Compute client, the subnetwork stays unread.
  virtual gcp::Task<StatusOr<gcp::Subnetwork>> Subnetwork(std::string project, std::string region,
                                                          std::string name) = 0;
  // Compute addresses.get / forwardingRules.get of a Private Service Connect
  // endpoint (psc.h): the answer itself, NOT_FOUND included; never ends the
  // observation and never served from a snapshot. UNIMPLEMENTED: no Compute
  // client.
  virtual gcp::Task<StatusOr<gcp::RegionAddress>> Address(std::string project, std::string region,
                                                          std::string name) = 0;
  virtual gcp::Task<StatusOr<gcp::ForwardingRule>> ForwardingRule(std::string project,
                                                                  std::string region,
                                                                  std::string name) = 0;
  // Secret Manager and Resource Manager for GatherPrerequisites; either null:
  // the prerequisites are not checked.
  virtual gcp::Clients PrerequisiteClients() = 0;
  // Prerequisite answers kept from earlier reads (not owned), if any.
  virtual PrerequisiteMemo* PrerequisiteAnswers() { return nullptr; }
};

// Only two steps look past the declared workloads, at the region's others
// (LiveState::all_jobs / all_services): switching the public IP off (the
// file turns it off and it is on) and connectorEnforcement: REQUIRED (not
// yet in force). Each is refused while an undeclared workload still uses
// the instance's address.
bool NeedsRegionWorkloads(const config::Intent& intent, const LiveState& live);

// One intent's live state, read through `source` (not owned; must outlive
// the coroutine). Reads, in order: the instance; the connector and its
// replacement name (if declared); each declared workload; the region's jobs and services only
// when NeedsRegionWorkloads; the peering list and the range (private IP with a
// project number); each subnetwork (Direct VPC, PSC); each PSC endpoint's
// address and forwarding rule; the run-time prerequisites
// (when the source has clients for them).
gcp::Task<StatusOr<LiveState>> Observe(ObservationSource* source, config::Intent intent);

// Reads straight from the clients. `gets`, when set, counts the calls made.
class DirectSource : public ObservationSource {
 public:
  explicit DirectSource(gcp::Clients clients, int64_t* gets = nullptr)
      : clients_(clients), gets_(gets) {}
  gcp::Task<StatusOr<std::optional<gcp::SqlInstance>>> Instance(std::string project,
                                                                 std::string name) override;
  gcp::Task<StatusOr<std::optional<gcp::Connector>>> Connector(std::string project,
                                                               std::string region,
                                                               std::string name) override;
  gcp::Task<StatusOr<std::optional<gcp::RunWorkload>>> Workload(gcp::RunKind kind,
                                                                std::string project,
                                                                std::string region,
                                                                std::string name) override;
  gcp::Task<StatusOr<std::shared_ptr<const WorkloadIndex>>> Workloads(gcp::RunKind kind,
                                                                      std::string project,
                                                                      std::string region) override;
  gcp::Task<StatusOr<std::shared_ptr<const PeeringList>>> Peerings(std::string network) override;
  gcp::Task<StatusOr<std::optional<gcp::GlobalAddress>>> Range(std::string project,
                                                               std::string name) override;
  gcp::Task<StatusOr<gcp::Subnetwork>> Subnetwork(std::string project, std::string region,
                                                  std::string name) override;
  gcp::Task<StatusOr<gcp::RegionAddress>> Address(std::string project, std::string region,
                                                  std::string name) override;
  gcp::Task<StatusOr<gcp::ForwardingRule>> ForwardingRule(std::string project, std::string region,
                                                          std::string name) override;
  gcp::Clients PrerequisiteClients() override { return clients_; }

 protected:
  void Count() {
    if (gets_) ++*gets_;
  }
  gcp::Clients clients_;

 private:
  int64_t* gets_;
};

// Observe over a DirectSource: what the CLI's Apply reads when it has no
// ObservationCache.
gcp::Task<StatusOr<LiveState>> Observe(gcp::Clients clients, config::Intent intent);

}  // namespace dbconnd::reconcilers
