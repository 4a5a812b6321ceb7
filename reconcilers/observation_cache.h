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
#include "reconcilers/observation.h"
#include "reconcilers/plan.h"

namespace dbconnd::reconcilers {

using InstanceIndex = std::unordered_map<std::string, gcp::SqlInstance>;
using ConnectorIndex = std::unordered_map<std::string, gcp::Connector>;

// The key of one snapshot, a type per API kind: what is listed, and the
// index it yields (Index).
struct InstancesKey {  // sqladmin instances.list
  using Index = InstanceIndex;
  std::string project;
};
struct ConnectorsKey {  // vpcaccess connectors.list
  using Index = ConnectorIndex;
  std::string project, region;
};
struct WorkloadsKey {  // run jobs.list or services.list
  using Index = WorkloadIndex;
  gcp::RunKind kind = gcp::RunKind::kJob;
  std::string project, region;
};
struct PeeringsKey {  // servicenetworking connections.list
  using Index = PeeringList;
  std::string network;
};
struct RangeKey {  // compute globalAddresses.get; an empty optional: 404
  using Index = std::optional<gcp::GlobalAddress>;
  std::string project, name;
};

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
  // InvalidateAll keeps them. Direct VPC subnetworks (compute
  // subnetworks.get) follow the same age and bound; only found ones are kept.
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
  int64_t subnetwork_reads = 0;    // compute subnetworks.get by Observe
  int64_t subnetwork_hits = 0;     // subnetwork answers reused
};

class PrerequisiteReads;  // caching Secret Manager / Resource Manager reads
class SubnetworkReads;    // caching compute subnetworks.get

class ObservationCache : public std::enable_shared_from_this<ObservationCache> {
 public:
  // Clients must outlive the cache and every coroutine it runs.
  static std::shared_ptr<ObservationCache> Create(gcp::Clients clients,
                                                  ObservationCacheOptions options = {});
  ~ObservationCache();

  // ---- snapshots (single flight per key; never null when OK) ----
  // Key is one of the *Key types above.
  template <typename Key>
  gcp::Task<StatusOr<std::shared_ptr<const typename Key::Index>>> Snapshot(Key key);

  // One intent's live state from the shared snapshots: reconcilers::Observe
  // (observation.h) over the snapshots, each declared resource looked up by
  // name in its project's or region's index, `all_jobs`/`all_services`
  // pointing at the shared region index when the plan may need it. Run-time
  // prerequisites are read when the clients have Secret Manager and
  // Resource Manager, their answers cached per secret, version and project
  // (see prerequisites_max_age); Direct VPC subnetworks are cached the same
  // way, only a subnetwork that was found is kept.
  gcp::Task<StatusOr<LiveState>> Observe(config::Intent intent);
  // The same Observe, read now: one GET per declared resource (with raw
  // documents, ready for a read-modify-write), the peering list, range and
  // subnetworks read directly. The region's workloads, when the plan may
  // need them, come from a list begun now (shared with concurrent callers).
  gcp::Task<StatusOr<LiveState>> ObserveFresh(config::Intent intent);

  // This process wrote to (or was refused a write on) `resource` of
  // `intent`: the next lookup of it reads it again.
  void Invalidate(const config::Intent& intent, const ResourceRef& resource);
  // A new epoch: every snapshot is listed again on its next use.
  void InvalidateAll();

  const ObservationCacheStats& stats() const { return stats_; }
  // Live snapshots, for tests.
  std::size_t snapshot_count() const;
  // Distinct IAM policies the prerequisite answers hold (answers with the
  // same bindings share one copy), for tests.
  std::size_t distinct_prerequisite_policies() const;

  struct State;  // opaque: defined and used in the .cc only

 private:
  class CachedSource;  // Observe's source over the snapshots
  class FreshSource;   // ObserveFresh's: direct reads
  ObservationCache(gcp::Clients clients, ObservationCacheOptions options);
  // The clients GatherPrerequisites reads through (cached answers).
  gcp::Clients PrerequisiteClients() const;

  gcp::Clients clients_;
  ObservationCacheOptions options_;
  ObservationCacheStats stats_;
  std::shared_ptr<State> state_;
  // Null when the clients cannot read prerequisites.
  std::shared_ptr<PrerequisiteReads> prerequisites_;
  std::shared_ptr<SubnetworkReads> subnetworks_;  // null without a Compute client
};

}  // namespace dbconnd::reconcilers
