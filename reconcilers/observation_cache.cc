#include "reconcilers/observation_cache.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <map>
#include <type_traits>
#include <utility>

#include "gcp/resource_names.h"
#include "reconcilers/connector_options.h"
#include "reconcilers/direct_vpc.h"
#include "reconcilers/planner.h"
#include "reconcilers/prerequisites.h"

namespace dbconnd::reconcilers {
namespace {

namespace asio = boost::asio;

template <typename Index>
struct Flight {
  bool finished = false;
  StatusOr<std::shared_ptr<const Index>> result = InternalError("list still running");
  std::vector<std::weak_ptr<asio::steady_timer>> waiters;
};

// Value type a by-name lookup yields from an index.
template <typename Index>
using ValueOf = typename Index::mapped_type;

template <typename Index>
struct Entry {
  std::shared_ptr<const Index> snapshot;
  gcp::SteadyTime listed_at{};  // when the list behind `snapshot` began
  uint64_t listed_seq = 0;      // invalidation sequence when it began
  std::shared_ptr<Flight<Index>> flight;
  gcp::SteadyTime flight_started{};
  uint64_t flight_seq = 0;
  // Whole-entry invalidation: snapshots begun before this sequence are stale.
  uint64_t min_seq = 0;
  // Names this process wrote to since the snapshot's list began, by the
  // sequence of the write; their next lookup GETs them.
  std::unordered_map<std::string, uint64_t> dirty;
  // How long the last list of this key took (slot wait excluded).
  std::chrono::steady_clock::duration last_list_took{};
};

// By-name entries also remember what a GET of a dirty name returned
// (nullopt: gone), until a newer list replaces the snapshot.
template <typename Index>
struct NamedEntry : Entry<Index> {
  std::unordered_map<std::string, std::optional<ValueOf<Index>>> overrides;
};

template <typename Index>
void ClearNamedAfterList(Entry<Index>&, uint64_t) {}

template <typename Index>
void ClearNamedAfterList(NamedEntry<Index>& e, uint64_t seq) {
  e.overrides.clear();
  for (auto it = e.dirty.begin(); it != e.dirty.end();) {
    it = it->second <= seq ? e.dirty.erase(it) : std::next(it);
  }
}

std::string Key(const std::string& a, const std::string& b) { return a + "\x1f" + b; }

// Snapshots must outlive their cost: one is reused for max_age, or for ten
// times as long as its list took when that is longer, so listing a large
// region never takes more than about a tenth of the time.
template <typename E>
gcp::SteadyTime NotBefore(const E& entry, gcp::SteadyTime now, std::chrono::milliseconds max_age) {
  auto stretched = std::chrono::duration_cast<std::chrono::milliseconds>(entry.last_list_took * 10);
  return now - std::max(max_age, stretched);
}

bool Declares(const config::Intent& intent, config::WorkloadKind kind) {
  for (const auto& w : intent.workloads) {
    if (w.kind == kind) return true;
  }
  return false;
}

// The planner's public-path step (ipv4Enabled=false) is possible only when
// the file turns the public IP off and it is on; only that step reads the
// region's undeclared workloads.
bool MayClosePublicIp(const config::Intent& intent, const LiveState& live) {
  return live.instance && live.instance->ipv4_enabled && intent.instance.public_ip &&
         !intent.instance.public_ip->enabled;
}

std::shared_ptr<const WorkloadIndex> EmptyWorkloads() {
  static const std::shared_ptr<const WorkloadIndex> empty =
      std::make_shared<const WorkloadIndex>();
  return empty;
}

gcp::RunWorkload Slim(gcp::RunWorkload w, bool keep_raw) {
  if (!keep_raw) w.raw.reset();
  return w;
}

}  // namespace

struct ObservationCache::State {
  uint64_t seq = 0;        // bumped by every invalidation
  uint64_t epoch_seq = 0;  // InvalidateAll: everything older is stale
  // Bulk lists running now, and lookups waiting for one of them to end
  // (Options::max_concurrent_lists).
  int lists_in_flight = 0;
  std::vector<std::weak_ptr<boost::asio::steady_timer>> list_waiters;
  std::map<std::string, NamedEntry<InstanceIndex>> instances;     // project
  std::map<std::string, NamedEntry<ConnectorIndex>> connectors;   // project, region
  std::map<std::string, NamedEntry<WorkloadIndex>> jobs;          // project, region
  std::map<std::string, NamedEntry<WorkloadIndex>> services;      // project, region
  std::map<std::string, Entry<PeeringList>> peerings;             // network
  std::map<std::string, Entry<std::optional<gcp::GlobalAddress>>> ranges;  // project, name
};

namespace {

using State = ObservationCache::State;

// ---- loaders: one bulk call each, indexed by name ----------------------------

gcp::Task<StatusOr<std::shared_ptr<const InstanceIndex>>> LoadInstances(gcp::Clients clients,
                                                                        std::string project) {
  // Item by item into the index: no list of the whole project in between.
  auto index = std::make_shared<InstanceIndex>();
  std::function<void(gcp::SqlInstance)> each = [&](gcp::SqlInstance i) {
    std::string name = i.name;
    index->emplace(std::move(name), std::move(i));
  };
  Status listed = co_await clients.sql->ForEachInstance(project, std::move(each));
  if (!listed.ok()) co_return listed;
  co_return std::shared_ptr<const InstanceIndex>(std::move(index));
}

gcp::Task<StatusOr<std::shared_ptr<const ConnectorIndex>>> LoadConnectors(gcp::Clients clients,
                                                                          std::string project,
                                                                          std::string region) {
  auto list = co_await clients.vpc->ListConnectors(project, region);
  if (!list.ok()) co_return list.status();
  auto index = std::make_shared<ConnectorIndex>();
  index->reserve(list->size());
  for (auto& c : *list) {
    std::string name = c.name;
    index->emplace(std::move(name), std::move(c));
  }
  co_return std::shared_ptr<const ConnectorIndex>(std::move(index));
}

gcp::Task<StatusOr<std::shared_ptr<const WorkloadIndex>>> LoadWorkloads(gcp::Clients clients,
                                                                        bool jobs,
                                                                        std::string project,
                                                                        std::string region,
                                                                        bool keep_raw) {
  // Item by item into the index, raw documents dropped as each page is
  // read: no list of the whole region in between.
  const auto raw = keep_raw ? gcp::RawDocuments::kKeep : gcp::RawDocuments::kDrop;
  auto index = std::make_shared<WorkloadIndex>();
  std::function<void(gcp::RunWorkload)> each = [&](gcp::RunWorkload w) {
    std::string name = w.name;
    index->emplace(std::move(name), Slim(std::move(w), keep_raw));
  };
  Status listed = co_await clients.run->ForEachWorkload(
      jobs ? gcp::RunKind::kJob : gcp::RunKind::kService, project, region, raw, std::move(each));
  if (!listed.ok()) co_return listed;
  co_return std::shared_ptr<const WorkloadIndex>(std::move(index));
}

gcp::Task<StatusOr<std::shared_ptr<const PeeringList>>> LoadPeerings(gcp::Clients clients,
                                                                     std::string network) {
  auto list = co_await clients.networking->ListConnections(network);
  if (!list.ok()) co_return list.status();
  co_return std::make_shared<const PeeringList>(std::move(*list));
}

gcp::Task<StatusOr<std::shared_ptr<const std::optional<gcp::GlobalAddress>>>> LoadRange(
    gcp::Clients clients, std::string project, std::string name) {
  auto range = co_await clients.compute->GetGlobalAddress(project, name);
  if (range.ok()) {
    co_return std::make_shared<const std::optional<gcp::GlobalAddress>>(std::move(*range));
  }
  if (range.status().code() == StatusCode::kNotFound) {
    co_return std::make_shared<const std::optional<gcp::GlobalAddress>>(std::nullopt);
  }
  co_return range.status();
}

// The snapshot of `entry`, listed at most once at a time. `entry` points
// into `state`, whose maps never erase, and `state` is held by value here.
// A snapshot serves when its list began no earlier than `not_before` and
// after the entry's last whole invalidation.
// The list is named by `a`, `b` (project and region, project and range
// name, or the network) and, for workloads, `jobs`. Callers pass named
// values, never temporaries built inside the co_await (GCC 12 destroys some
// of those twice).
template <typename Index, typename E>
gcp::Task<StatusOr<std::shared_ptr<const Index>>> Snapshot(
    std::shared_ptr<State> state, E* entry, gcp::Clients clients, std::string a, std::string b,
    bool jobs, bool keep_raw, gcp::SteadyTime now, gcp::SteadyTime not_before,
    std::chrono::milliseconds wait_timeout, int max_lists, ObservationCacheStats* stats) {
  const uint64_t min_seq = std::max(entry->min_seq, state->epoch_seq);
  if (entry->snapshot && entry->listed_at >= not_before && entry->listed_seq >= min_seq) {
    ++stats->hits;
    co_return entry->snapshot;
  }
  if (entry->flight && entry->flight_started >= not_before && entry->flight_seq >= min_seq) {
    // Someone is listing this key already: wait for that call.
    ++stats->waits;
    std::shared_ptr<Flight<Index>> flight = entry->flight;
    auto executor = co_await asio::this_coro::executor;
    auto timer = std::make_shared<asio::steady_timer>(executor, wait_timeout);
    flight->waiters.push_back(timer);
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (!flight->finished) {
      co_return DeadlineExceededError("waited " + std::to_string(wait_timeout.count() / 1000) +
                                      "s for another reconcile's list call");
    }
    co_return flight->result;
  }
  ++stats->lists;
  auto flight = std::make_shared<Flight<Index>>();
  entry->flight = flight;
  entry->flight_started = now;
  const uint64_t seq = state->seq;
  entry->flight_seq = seq;
  entry->snapshot.reset();  // stale: let its memory go before the new list arrives
  StatusOr<std::shared_ptr<const Index>> result = InternalError("unknown list");
  // A list's pages and parsed items are its transient memory: bound how many
  // are held at once (they share one thread anyway).
  const auto slot_deadline = std::chrono::steady_clock::now() + wait_timeout;
  bool have_slot = true;
  while (state->lists_in_flight >= std::max(1, max_lists)) {
    auto remaining = slot_deadline - std::chrono::steady_clock::now();
    if (remaining <= std::chrono::steady_clock::duration::zero()) {
      have_slot = false;
      break;
    }
    auto executor = co_await asio::this_coro::executor;
    auto timer = std::make_shared<asio::steady_timer>(executor, remaining);
    state->list_waiters.push_back(timer);
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  const auto list_started = std::chrono::steady_clock::now();
  if (have_slot) ++state->lists_in_flight;
  if (!have_slot) {
    result = DeadlineExceededError("waited " + std::to_string(wait_timeout.count() / 1000) +
                                   "s for another list call to end");
  } else if constexpr (std::is_same_v<Index, InstanceIndex>) {
    result = co_await LoadInstances(clients, a);
  } else if constexpr (std::is_same_v<Index, ConnectorIndex>) {
    result = co_await LoadConnectors(clients, a, b);
  } else if constexpr (std::is_same_v<Index, WorkloadIndex>) {
    result = co_await LoadWorkloads(clients, jobs, a, b, keep_raw);
  } else if constexpr (std::is_same_v<Index, PeeringList>) {
    result = co_await LoadPeerings(clients, a);
  } else {
    result = co_await LoadRange(clients, a, b);
  }
  if (have_slot) {
    entry->last_list_took = std::chrono::steady_clock::now() - list_started;
    --state->lists_in_flight;
    // Everyone waiting looks again; the first to run takes the slot.
    std::vector<std::weak_ptr<asio::steady_timer>> waiters;
    waiters.swap(state->list_waiters);
    for (auto& w : waiters) {
      if (auto t = w.lock()) t->cancel();
    }
  }
  if (result.ok() && entry->flight == flight) {
    entry->snapshot = *result;
    entry->listed_at = now;
    entry->listed_seq = seq;
    ClearNamedAfterList(*entry, seq);
  }
  if (entry->flight == flight) entry->flight.reset();
  flight->finished = true;
  flight->result = result;
  for (auto& w : flight->waiters) {
    if (auto t = w.lock()) t->cancel();
  }
  co_return result;
}

// One name from a by-name snapshot: a dirty name is read again with `get`
// (NOT_FOUND: absent) and remembered until a newer list.
template <typename Index, typename Get>
gcp::Task<StatusOr<std::optional<ValueOf<Index>>>> Lookup(
    // Keeps `entry`'s owner alive across the GET.
    [[maybe_unused]] std::shared_ptr<State> state,
                                                          NamedEntry<Index>* entry,
                                                          std::shared_ptr<const Index> snapshot,
                                                          std::string name, Get get,
                                                          ObservationCacheStats* stats) {
  if (auto d = entry->dirty.find(name); d != entry->dirty.end()) {
    const uint64_t seq = d->second;
    ++stats->gets;
    auto fresh = co_await get();
    std::optional<ValueOf<Index>> value;
    if (fresh.ok()) {
      value = std::move(*fresh);
    } else if (fresh.status().code() != StatusCode::kNotFound) {
      co_return fresh.status();
    }
    // Remember it unless another write to the same name came meanwhile.
    if (auto again = entry->dirty.find(name); again != entry->dirty.end() && again->second == seq) {
      entry->dirty.erase(again);
      entry->overrides[name] = value;
    }
    co_return value;
  }
  if (auto o = entry->overrides.find(name); o != entry->overrides.end()) co_return o->second;
  auto it = snapshot->find(name);
  if (it == snapshot->end()) co_return std::nullopt;
  co_return it->second;
}

template <typename E>
void MarkDirty(State& s, E& entry, const std::string& name) {
  uint64_t seq = ++s.seq;
  entry.dirty[name] = seq;
  entry.overrides.erase(name);
}

// The single-resource GETs Lookup takes: plain structs rather than lambdas,
// so no capturing lambda ends up inside a co_await expression (GCC 12).
struct GetInstance {
  gcp::Clients c;
  std::string project, name;
  gcp::Task<StatusOr<gcp::SqlInstance>> operator()() const {
    return c.sql->GetInstance(project, name);
  }
};
struct GetConnector {
  gcp::Clients c;
  std::string project, region, name;
  gcp::Task<StatusOr<gcp::Connector>> operator()() const {
    return c.vpc->GetConnector(project, region, name);
  }
};
struct GetWorkload {
  gcp::Clients c;
  bool job = true;
  std::string project, region, name;
  bool keep_raw = false;
  gcp::Task<StatusOr<gcp::RunWorkload>> operator()() const {
    return Fetch(c, job, project, region, name, keep_raw);
  }
  static gcp::Task<StatusOr<gcp::RunWorkload>> Fetch(gcp::Clients c, bool job, std::string project,
                                                     std::string region, std::string name,
                                                     bool keep_raw) {
    StatusOr<gcp::RunWorkload> w = InternalError("unset");
    if (job) {
      w = co_await c.run->GetJob(project, region, name);
    } else {
      w = co_await c.run->GetService(project, region, name);
    }
    if (!w.ok()) co_return w.status();
    co_return Slim(std::move(*w), keep_raw);
  }
};

}  // namespace

// ---- run-time prerequisites -------------------------------------------------------

// Secret Manager and Resource Manager reads for GatherPrerequisites, each
// answer reused for Options::prerequisites_max_age: the controller checks
// the same prerequisites as `plan` without reading every secret's policy on
// every pass. An answer that may change on a retry is not kept.
class PrerequisiteReads final : public gcp::SecretManager, public gcp::ResourceManager {
 public:
  PrerequisiteReads(gcp::Clients inner, const ObservationCacheOptions* options,
                    ObservationCacheStats* stats)
      : inner_(inner), options_(options), stats_(stats) {}

  gcp::Task<StatusOr<gcp::SecretVersionInfo>> GetSecretVersion(std::string name) override {
    if (const auto* hit = Fresh(versions_, name)) co_return *hit;
    ++stats_->prerequisite_reads;
    auto got = co_await inner_.secrets->GetSecretVersion(name);
    Keep(versions_, name, got);
    co_return got;
  }
  gcp::Task<StatusOr<gcp::IamPolicy>> GetSecretIamPolicy(std::string secret) override {
    if (const auto* hit = Fresh(secret_policies_, secret)) co_return *hit;
    ++stats_->prerequisite_reads;
    auto got = co_await inner_.secrets->GetSecretIamPolicy(secret);
    Keep(secret_policies_, secret, got);
    co_return got;
  }
  gcp::Task<StatusOr<gcp::IamPolicy>> GetProjectIamPolicy(std::string project) override {
    if (const auto* hit = Fresh(project_policies_, project)) co_return *hit;
    ++stats_->prerequisite_reads;
    auto got = co_await inner_.resource_manager->GetProjectIamPolicy(project);
    Keep(project_policies_, project, got);
    co_return got;
  }

  void Clear() {
    versions_.clear();
    secret_policies_.clear();
    project_policies_.clear();
  }

 private:
  template <typename T>
  struct Answer {
    StatusOr<T> value;
    gcp::SteadyTime at;
  };
  template <typename T>
  using Answers = std::unordered_map<std::string, Answer<T>>;

  template <typename T>
  const StatusOr<T>* Fresh(Answers<T>& answers, const std::string& key) {
    auto it = answers.find(key);
    if (it == answers.end()) return nullptr;
    if (options_->clock() - it->second.at >= options_->prerequisites_max_age) {
      answers.erase(it);
      return nullptr;
    }
    ++stats_->prerequisite_hits;
    return &it->second.value;
  }

  template <typename T>
  void Keep(Answers<T>& answers, const std::string& key, const StatusOr<T>& got) {
    // OK, NOT_FOUND and PERMISSION_DENIED stand until something changes;
    // anything else may be different on the next try.
    if (!got.ok() && got.status().code() != StatusCode::kNotFound &&
        got.status().code() != StatusCode::kPermissionDenied) {
      return;
    }
    if (versions_.size() + secret_policies_.size() + project_policies_.size() >=
        options_->max_prerequisite_entries) {
      Clear();  // bounded memory: start over rather than grow
    }
    answers.insert_or_assign(key, Answer<T>{got, options_->clock()});
  }

  gcp::Clients inner_;
  const ObservationCacheOptions* options_;
  ObservationCacheStats* stats_;
  Answers<gcp::SecretVersionInfo> versions_;
  Answers<gcp::IamPolicy> secret_policies_;
  Answers<gcp::IamPolicy> project_policies_;
};

std::shared_ptr<ObservationCache> ObservationCache::Create(gcp::Clients clients,
                                                           ObservationCacheOptions options) {
  if (!options.clock) options.clock = gcp::SteadyClock();
  return std::shared_ptr<ObservationCache>(new ObservationCache(clients, std::move(options)));
}

ObservationCache::ObservationCache(gcp::Clients clients, ObservationCacheOptions options)
    : clients_(clients), options_(std::move(options)), state_(std::make_shared<State>()) {
  if (clients_.secrets && clients_.resource_manager) {
    prerequisites_ = std::make_shared<PrerequisiteReads>(clients_, &options_, &stats_);
  }
}

ObservationCache::~ObservationCache() = default;

gcp::Task<StatusOr<std::shared_ptr<const InstanceIndex>>> ObservationCache::Instances(
    std::string project) {
  auto self = shared_from_this();
  auto now = options_.clock();
  auto* e = &state_->instances[project];
  std::string a = project;
  std::string b = "";
  auto not_before = NotBefore(*e, now, options_.max_age);
  co_return co_await Snapshot<InstanceIndex>(state_, e, clients_, a, b, false, false, now,
                                             not_before, options_.wait_timeout,
                                             options_.max_concurrent_lists, &stats_);
}

gcp::Task<StatusOr<std::shared_ptr<const ConnectorIndex>>> ObservationCache::Connectors(
    std::string project, std::string region) {
  auto self = shared_from_this();
  auto now = options_.clock();
  auto* e = &state_->connectors[Key(project, region)];
  std::string a = project;
  std::string b = region;
  auto not_before = NotBefore(*e, now, options_.max_age);
  co_return co_await Snapshot<ConnectorIndex>(state_, e, clients_, a, b, false, false, now,
                                              not_before, options_.wait_timeout,
                                              options_.max_concurrent_lists, &stats_);
}

gcp::Task<StatusOr<std::shared_ptr<const WorkloadIndex>>> ObservationCache::Jobs(
    std::string project, std::string region) {
  auto self = shared_from_this();
  auto now = options_.clock();
  auto* e = &state_->jobs[Key(project, region)];
  std::string a = project;
  std::string b = region;
  auto not_before = NotBefore(*e, now, options_.max_age);
  co_return co_await Snapshot<WorkloadIndex>(state_, e, clients_, a, b, true, options_.keep_raw,
                                             now, not_before, options_.wait_timeout,
                                             options_.max_concurrent_lists, &stats_);
}

gcp::Task<StatusOr<std::shared_ptr<const WorkloadIndex>>> ObservationCache::Services(
    std::string project, std::string region) {
  auto self = shared_from_this();
  auto now = options_.clock();
  auto* e = &state_->services[Key(project, region)];
  std::string a = project;
  std::string b = region;
  auto not_before = NotBefore(*e, now, options_.max_age);
  co_return co_await Snapshot<WorkloadIndex>(state_, e, clients_, a, b, false, options_.keep_raw,
                                             now, not_before, options_.wait_timeout,
                                             options_.max_concurrent_lists, &stats_);
}

gcp::Task<StatusOr<std::shared_ptr<const PeeringList>>> ObservationCache::Peerings(
    std::string network) {
  auto self = shared_from_this();
  auto now = options_.clock();
  auto* e = &state_->peerings[network];
  std::string a = network;
  std::string b = "";
  auto not_before = NotBefore(*e, now, options_.max_age);
  co_return co_await Snapshot<PeeringList>(state_, e, clients_, a, b, false, false, now, not_before,
                                           options_.wait_timeout, options_.max_concurrent_lists,
                                           &stats_);
}

gcp::Task<StatusOr<std::shared_ptr<const std::optional<gcp::GlobalAddress>>>>
ObservationCache::Range(std::string project, std::string name) {
  auto self = shared_from_this();
  auto now = options_.clock();
  auto* e = &state_->ranges[Key(project, name)];
  std::string a = project;
  std::string b = name;
  auto not_before = NotBefore(*e, now, options_.max_age);
  co_return co_await Snapshot<std::optional<gcp::GlobalAddress>>(
      state_, e, clients_, a, b, false, false, now, not_before, options_.wait_timeout,
      options_.max_concurrent_lists, &stats_);
}

gcp::Task<StatusOr<LiveState>> ObservationCache::Observe(config::Intent intent) {
  // Every argument below is a named value: see Snapshot's comment.
  auto self = shared_from_this();
  std::shared_ptr<State> st = state_;
  const std::string project = intent.project;
  const std::string region = intent.region;
  const std::string region_key = Key(project, region);
  LiveState live;
  live.observed_at = std::chrono::system_clock::now();

  auto instances = co_await Instances(project);
  if (!instances.ok()) co_return instances.status();
  {
    std::shared_ptr<const InstanceIndex> index = *instances;
    GetInstance get{clients_, project, intent.instance.name};
    auto instance = co_await Lookup<InstanceIndex>(st, &st->instances[project], index,
                                                   intent.instance.name, get, &stats_);
    if (!instance.ok()) co_return instance.status();
    live.instance = std::move(*instance);
  }

  if (intent.connector) {
    auto connectors = co_await Connectors(project, region);
    if (!connectors.ok()) co_return connectors.status();
    std::shared_ptr<const ConnectorIndex> index = *connectors;
    GetConnector get{clients_, project, region, intent.connector->name};
    auto connector = co_await Lookup<ConnectorIndex>(st, &st->connectors[region_key], index,
                                                     intent.connector->name, get, &stats_);
    if (!connector.ok()) co_return connector.status();
    live.connector = std::move(*connector);
    // Where a replace put the workloads (connector_options.h).
    const std::string replacement = ReplacementConnectorName(*intent.connector);
    GetConnector get_replacement{clients_, project, region, replacement};
    auto replaced = co_await Lookup<ConnectorIndex>(st, &st->connectors[region_key], index, replacement,
                                                    get_replacement, &stats_);
    if (!replaced.ok()) co_return replaced.status();
    live.replacement_connector = std::move(*replaced);
  }

  // A region's workloads are read when the intent declares one of that kind,
  // or when the plan could switch the public IP off (it is refused while an
  // undeclared workload still uses it); the planner reads them nowhere else.
  const bool may_close_public_ip = MayClosePublicIp(intent, live);
  live.all_jobs = EmptyWorkloads();
  live.all_services = EmptyWorkloads();
  if (may_close_public_ip || Declares(intent, config::WorkloadKind::kJob)) {
    auto jobs = co_await Jobs(project, region);
    if (!jobs.ok()) co_return jobs.status();
    live.all_jobs = *jobs;
  }
  if (may_close_public_ip || Declares(intent, config::WorkloadKind::kService)) {
    auto services = co_await Services(project, region);
    if (!services.ok()) co_return services.status();
    live.all_services = *services;
  }
  for (const auto& w : intent.workloads) {
    const bool job = w.kind == config::WorkloadKind::kJob;
    auto* entry = job ? &st->jobs[region_key] : &st->services[region_key];
    std::shared_ptr<const WorkloadIndex> index = job ? live.all_jobs : live.all_services;
    std::string name = w.name;
    GetWorkload get{clients_, job, project, region, name, options_.keep_raw};
    auto found = co_await Lookup<WorkloadIndex>(st, entry, index, name, get, &stats_);
    if (!found.ok()) co_return found.status();
    if (*found) (job ? live.jobs : live.services).emplace(name, std::move(**found));
  }

  if (intent.instance.private_ip && !intent.project_number.empty()) {
    const auto& pip = *intent.instance.private_ip;
    const std::string network = gcp::NetworkName(intent.project_number, pip.network);
    auto peerings = co_await Peerings(network);
    if (!peerings.ok()) co_return peerings.status();
    live.peerings = **peerings;
    const std::string range_name = ServicesRangeName(pip);
    auto range = co_await Range(project, range_name);
    if (!range.ok()) co_return range.status();
    live.services_range = **range;
  }
  if (prerequisites_) {
    // Run-time prerequisites, read-only and best effort, as plan checks them.
    gcp::Clients pc = clients_;
    pc.secrets = prerequisites_.get();
    pc.resource_manager = prerequisites_.get();
    live.prerequisites = co_await GatherPrerequisites(pc, intent);
  }
  co_return live;
}

gcp::Task<StatusOr<LiveState>> ObservationCache::ObserveFresh(config::Intent intent) {
  auto self = shared_from_this();
  std::shared_ptr<State> st = state_;
  gcp::Clients c = clients_;
  const std::string project = intent.project;
  const std::string region = intent.region;
  LiveState live;
  live.observed_at = std::chrono::system_clock::now();

  ++stats_.gets;
  auto instance = co_await c.sql->GetInstance(project, intent.instance.name);
  if (instance.ok()) {
    live.instance = std::move(*instance);
  } else if (instance.status().code() != StatusCode::kNotFound) {
    co_return instance.status();
  }
  if (intent.connector) {
    ++stats_.gets;
    auto connector = co_await c.vpc->GetConnector(project, region, intent.connector->name);
    if (connector.ok()) {
      live.connector = std::move(*connector);
    } else if (connector.status().code() != StatusCode::kNotFound) {
      co_return connector.status();
    }
    ++stats_.gets;
    auto replaced = co_await c.vpc->GetConnector(project, region, ReplacementConnectorName(*intent.connector));
    if (replaced.ok()) {
      live.replacement_connector = std::move(*replaced);
    } else if (replaced.status().code() != StatusCode::kNotFound) {
      co_return replaced.status();
    }
  }
  for (const auto& w : intent.workloads) {
    const bool job = w.kind == config::WorkloadKind::kJob;
    std::string name = w.name;
    ++stats_.gets;
    // Raw documents kept: a write may follow.
    auto found = co_await GetWorkload::Fetch(c, job, project, region, name, true);
    if (found.ok()) {
      (job ? live.jobs : live.services).emplace(name, std::move(*found));
    } else if (found.status().code() != StatusCode::kNotFound) {
      co_return found.status();
    }
  }

  // The declared workloads were just read; the region's others matter only
  // to the check that refuses to switch the public IP off while one still
  // uses it, and that check gets a region list begun now.
  const bool may_close_public_ip = MayClosePublicIp(intent, live);
  auto now = options_.clock();
  const std::string region_key = Key(project, region);
  live.all_jobs = EmptyWorkloads();
  live.all_services = EmptyWorkloads();
  if (may_close_public_ip) {
    auto* entry = &st->jobs[region_key];
    auto not_before = now;
    auto jobs = co_await Snapshot<WorkloadIndex>(
        st, entry, c, project, region, true, options_.keep_raw, now, not_before,
        options_.wait_timeout, options_.max_concurrent_lists, &stats_);
    if (!jobs.ok()) co_return jobs.status();
    live.all_jobs = *jobs;
  }
  if (may_close_public_ip) {
    auto* entry = &st->services[region_key];
    auto not_before = now;
    auto services = co_await Snapshot<WorkloadIndex>(
        st, entry, c, project, region, false, options_.keep_raw, now, not_before,
        options_.wait_timeout, options_.max_concurrent_lists, &stats_);
    if (!services.ok()) co_return services.status();
    live.all_services = *services;
  }

  if (intent.instance.private_ip && !intent.project_number.empty()) {
    const auto& pip = *intent.instance.private_ip;
    const std::string network = gcp::NetworkName(intent.project_number, pip.network);
    const std::string range_name = ServicesRangeName(pip);
    ++stats_.gets;
    auto peerings = co_await c.networking->ListConnections(network);
    if (!peerings.ok()) co_return peerings.status();
    live.peerings = std::move(*peerings);
    ++stats_.gets;
    auto range = co_await c.compute->GetGlobalAddress(project, range_name);
    if (range.ok()) {
      live.services_range = std::move(*range);
    } else if (range.status().code() != StatusCode::kNotFound) {
      co_return range.status();
    }
  }
  if (prerequisites_) {
    // Run-time prerequisites, read-only and best effort, as plan checks them.
    gcp::Clients pc = clients_;
    pc.secrets = prerequisites_.get();
    pc.resource_manager = prerequisites_.get();
    live.prerequisites = co_await GatherPrerequisites(pc, intent);
  }
  // Direct VPC subnetworks: read before a write only (a converged pass on
  // the shared snapshots costs no read of its own).
  live.subnetworks = co_await ObserveSubnetworks(c, intent);
  co_return live;
}

void ObservationCache::Invalidate(const config::Intent& intent, const ResourceRef& resource) {
  State& s = *state_;
  const std::string region_key = Key(intent.project, intent.region);
  switch (resource.kind) {
    case ResourceKind::kInstance:
      MarkDirty(s, s.instances[intent.project], resource.name);
      break;
    case ResourceKind::kConnector:
      MarkDirty(s, s.connectors[region_key], resource.name);
      break;
    case ResourceKind::kJob:
      MarkDirty(s, s.jobs[region_key], resource.name);
      break;
    case ResourceKind::kService:
      MarkDirty(s, s.services[region_key], resource.name);
      break;
    case ResourceKind::kServicePeering: {
      // Small lists without a by-name index: drop the network's snapshot.
      auto& e = s.peerings[gcp::NetworkName(intent.project_number, resource.name)];
      e.min_seq = ++s.seq;
      e.snapshot.reset();
      break;
    }
    case ResourceKind::kPrivateServicesRange: {
      auto& e = s.ranges[Key(intent.project, resource.name)];
      e.min_seq = ++s.seq;
      e.snapshot.reset();
      break;
    }
  }
}

void ObservationCache::InvalidateAll() {
  State& s = *state_;
  s.epoch_seq = ++s.seq;
  auto drop = [](auto& entries) {
    for (auto& [key, e] : entries) e.snapshot.reset();
  };
  drop(s.instances);
  drop(s.connectors);
  drop(s.jobs);
  drop(s.services);
  drop(s.peerings);
  drop(s.ranges);
  // Prerequisite answers are kept: one per secret, they would make every
  // SIGHUP resync cost reads in proportion to the intents
  // (prerequisites_max_age bounds their age).
}

std::size_t ObservationCache::snapshot_count() const {
  std::size_t n = 0;
  auto count = [&n](const auto& entries) {
    for (const auto& [key, e] : entries) n += e.snapshot != nullptr;
  };
  count(state_->instances);
  count(state_->connectors);
  count(state_->jobs);
  count(state_->services);
  count(state_->peerings);
  count(state_->ranges);
  return n;
}

}  // namespace dbconnd::reconcilers
