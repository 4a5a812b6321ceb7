#pragma once
// Shared observation for the controller: one bulk list per (API kind,
// project[, region]) serves every intent of that project/region while the
// snapshot is young, instead of each intent listing its whole region (reads
// growing with N, work with N^2).
//
//   instances   sqladmin instances.list        per project
//   connectors  vpcaccess connectors.list      per project+region
//   jobs        run jobs.list                  per project+region
//   services    run services.list              per project+region
//   peerings    servicenetworking connections  per network
//   range       compute globalAddresses.get    per project+range name
//
// Snapshots are indexed by name (hash maps), so one intent's view costs
// O(its declared resources), never a scan over the region. Lookups of a key
// that is being listed wait for that one call (single flight), bounded by
// Options::wait_timeout. Errors are handed to every waiter and not kept.
//
// Freshness: a snapshot is reused for Options::max_age after its list
// began; InvalidateAll() starts a new epoch. After this process writes to a
// resource, Invalidate() marks that name: the next lookup GETs that one
// resource instead of trusting the snapshot, until a list begun after the
// write replaces the snapshot. Plans that would write are never computed on
// a snapshot: Apply re-observes with ObserveFresh (direct GETs) first.
//
// Threading: not thread-safe; use from one strand (the controller's
// io_context thread). Coroutines take their arguments by value.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "config/model.h"
#include "gcp/api.h"
#include "gcp/retry.h"
#include "reconcilers/live_state.h"
#include "reconcilers/plan.h"

namespace dbconnd::reconcilers {

using InstanceIndex = std::unordered_map<std::string, gcp::SqlInstance>;
using ConnectorIndex = std::unordered_map<std::string, gcp::Connector>;
using PeeringList = std::vector<gcp::PeeringConnection>;

struct ObservationCacheOptions {
  // How long a snapshot serves lookups after its list began; at least ten
  // times as long as that list took, so reading a large region never takes
  // more than about a tenth of the time.
  std::chrono::milliseconds max_age{std::chrono::seconds(5)};
  // Bulk lists held at once (pages and parsed items are the cache's
  // transient memory); more lookups wait, bounded by wait_timeout.
  int max_concurrent_lists = 2;
  // Bound on waiting for another lookup's list call (that call has its own
  // client deadlines; this only keeps a waiter from waiting forever).
  std::chrono::milliseconds wait_timeout{std::chrono::minutes(2)};
  // Keep each workload's raw JSON document in snapshots. Off by default:
  // writes are planned on ObserveFresh's GETs, which carry it, and the raw
  // documents of a whole region dominate memory at 10,000 workloads.
  bool keep_raw = false;
  // Run-time prerequisite reads (reconcilers/prerequisites.h: secret
  // versions, secret and project IAM policies) are reused this long; an
  // answer that may change on a retry (429, 5xx, no answer) is not kept.
  // At most max_prerequisite_entries answers are held (then all are dropped).
  // InvalidateAll keeps them.
  std::chrono::milliseconds prerequisites_max_age{std::chrono::minutes(5)};
  std::size_t max_prerequisite_entries = 50'000;
  gcp::Clock clock;  // default steady clock
};

// Calls made by the cache, for tests, benchmarks and metrics.
struct ObservationCacheStats {
  int64_t lists = 0;    // bulk list (or range get) calls started
  int64_t gets = 0;     // single-resource GETs (invalidated names, ObserveFresh)
  int64_t hits = 0;     // lookups served by a young snapshot
  int64_t waits = 0;    // lookups that waited for another lookup's list
  int64_t prerequisite_reads = 0;  // Secret Manager / Resource Manager calls
  int64_t prerequisite_hits = 0;   // prerequisite answers reused
};

class PrerequisiteReads;  // caching Secret Manager / Resource Manager reads

class ObservationCache : public std::enable_shared_from_this<ObservationCache> {
 public:
  // Clients must outlive the cache and every coroutine it runs.
  static std::shared_ptr<ObservationCache> Create(gcp::Clients clients,
                                                  ObservationCacheOptions options = {});
  ~ObservationCache();

  // ---- snapshots (single flight per key; never null when OK) ----
  gcp::Task<StatusOr<std::shared_ptr<const InstanceIndex>>> Instances(std::string project);
  gcp::Task<StatusOr<std::shared_ptr<const ConnectorIndex>>> Connectors(std::string project,
                                                                         std::string region);
  gcp::Task<StatusOr<std::shared_ptr<const WorkloadIndex>>> Jobs(std::string project,
                                                                  std::string region);
  gcp::Task<StatusOr<std::shared_ptr<const WorkloadIndex>>> Services(std::string project,
                                                                      std::string region);
  gcp::Task<StatusOr<std::shared_ptr<const PeeringList>>> Peerings(std::string network);
  // Null inside the OK value when the range does not exist (404).
  gcp::Task<StatusOr<std::shared_ptr<const std::optional<gcp::GlobalAddress>>>> Range(
      std::string project, std::string name);

  // One intent's live state from the shared snapshots: what Observe(clients,
  // intent) reads (run-time prerequisites included, when the clients have
  // Secret Manager and Resource Manager; their answers cached per secret,
  // version and project, see prerequisites_max_age), with `jobs`/`services` holding only the declared
  // workloads and `all_jobs`/`all_services` pointing at the region snapshot
  // (an empty one when the plan cannot need it: no workload of that kind is
  // declared and the public IP cannot be switched off).
  gcp::Task<StatusOr<LiveState>> Observe(config::Intent intent);
  // The same, read now: one GET per declared resource (with raw documents,
  // ready for a read-modify-write), the peering list and range read
  // directly. The region's undeclared workloads are listed afresh only when
  // the plan could switch the instance's public IP off (the one check that
  // reads them); otherwise all_jobs/all_services are empty.
  gcp::Task<StatusOr<LiveState>> ObserveFresh(config::Intent intent);

  // This process wrote to (or was refused a write on) `resource` of
  // `intent`: the next lookup of it reads it again.
  void Invalidate(const config::Intent& intent, const ResourceRef& resource);
  // A new epoch: every snapshot is listed again on its next use.
  void InvalidateAll();

  const ObservationCacheStats& stats() const { return stats_; }
  // Live snapshots, for tests.
  std::size_t snapshot_count() const;

  struct State;  // opaque: defined and used in the .cc only

 private:
  ObservationCache(gcp::Clients clients, ObservationCacheOptions options);

  gcp::Clients clients_;
  ObservationCacheOptions options_;
  ObservationCacheStats stats_;
  std::shared_ptr<State> state_;
  // Null when the clients cannot read prerequisites.
  std::shared_ptr<PrerequisiteReads> prerequisites_;
};

}  // namespace dbconnd::reconcilers
