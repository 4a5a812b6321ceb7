#include "reconcilers/observation_cache.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <type_traits>
#include <utility>

#include "common/async_event.h"
#include "gcp/resource_names.h"
#include "reconcilers/connector_options.h"
#include "reconcilers/direct_vpc.h"
#include "reconcilers/psc.h"
#include "reconcilers/planner.h"
#include "reconcilers/prerequisites.h"

namespace dbconnd::reconcilers {
namespace {


template <typename Index>
struct Flight {
  bool finished = false;
  StatusOr<std::shared_ptr<const Index>> result = InternalError("list still running");
  common::AsyncEvent done;  // notified (all) when the list ends
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

// Snapshots must outlive their cost: one is reused for max_age, or for ten
// times as long as its list took when that is longer, so listing a large
// region never takes more than about a tenth of the time.
template <typename E>
gcp::SteadyTime NotBefore(const E& entry, gcp::SteadyTime now, std::chrono::milliseconds max_age) {
  auto stretched = std::chrono::duration_cast<std::chrono::milliseconds>(entry.last_list_took * 10);
  return now - std::max(max_age, stretched);
}

// Each key's place in State, written into `out` (a buffer reused from
// lookup to lookup: finding an entry allocates nothing once it has grown).
void WriteId(const InstancesKey& k, std::string& out) { out.assign(k.project); }
void WriteId(const ConnectorsKey& k, std::string& out) {
  out.assign(k.project).append(1, '\x1f').append(k.region);
}
void WriteId(const WorkloadsKey& k, std::string& out) {
  out.assign(k.kind == gcp::RunKind::kJob ? "jobs" : "services")
      .append(1, '\x1f')
      .append(k.project)
      .append(1, '\x1f')
      .append(k.region);
}
void WriteId(const PeeringsKey& k, std::string& out) { out.assign(k.network); }
void WriteId(const RangeKey& k, std::string& out) {
  out.assign(k.project).append(1, '\x1f').append(k.name);
}

// By-name kinds (hash map indexes) answer one name at a time and take
// per-name invalidation; the others are dropped whole.
template <typename K>
constexpr bool kByName = requires { typename K::Index::mapped_type; };

template <typename K>
using EntryOf = std::conditional_t<kByName<K>, NamedEntry<typename K::Index>,
                                   Entry<typename K::Index>>;

// Every entry of one key type, by Id.
template <typename K>
struct Entries {
  std::map<std::string, EntryOf<K>, std::less<>> by_id;
};

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
  common::AsyncEvent list_slot;
  std::tuple<Entries<InstancesKey>, Entries<ConnectorsKey>, Entries<WorkloadsKey>,
             Entries<PeeringsKey>, Entries<RangeKey>>
      entries;
  // The entry of `key`; entries are never erased, so the reference stays valid.
  template <typename K>
  EntryOf<K>& At(const K& key) {
    WriteId(key, id_buffer);
    auto& by_id = std::get<Entries<K>>(entries).by_id;
    auto it = by_id.find(id_buffer);
    if (it == by_id.end()) it = by_id.emplace(id_buffer, EntryOf<K>{}).first;
    return it->second;
  }
  template <typename F>
  void ForEachEntry(F f) {
    std::apply([&](auto&... kinds) { (ForEach(kinds, f), ...); }, entries);
  }

 private:
  template <typename E, typename F>
  static void ForEach(E& kind, F& f) {
    for (auto& [id, e] : kind.by_id) f(e);
  }
  std::string id_buffer;  // At's, reused
};

namespace {

using State = ObservationCache::State;

// ---- loaders: one bulk call each, indexed by name ----------------------------

gcp::Task<StatusOr<std::shared_ptr<const InstanceIndex>>> Load(gcp::Clients clients,
                                                               InstancesKey key, bool) {
  const std::string project = key.project;
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

gcp::Task<StatusOr<std::shared_ptr<const ConnectorIndex>>> Load(gcp::Clients clients,
                                                                ConnectorsKey key, bool) {
  auto list = co_await clients.vpc->ListConnectors(key.project, key.region);
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

gcp::Task<StatusOr<std::shared_ptr<const WorkloadIndex>>> Load(gcp::Clients clients,
                                                               WorkloadsKey key, bool keep_raw) {
  const bool jobs = key.kind == gcp::RunKind::kJob;
  co_return co_await LoadWorkloads(clients, jobs, key.project, key.region, keep_raw);
}

gcp::Task<StatusOr<std::shared_ptr<const PeeringList>>> Load(gcp::Clients clients,
                                                             PeeringsKey key, bool) {
  auto list = co_await clients.networking->ListConnections(key.network);
  if (!list.ok()) co_return list.status();
  co_return std::make_shared<const PeeringList>(std::move(*list));
}

gcp::Task<StatusOr<std::shared_ptr<const std::optional<gcp::GlobalAddress>>>> Load(
    gcp::Clients clients, RangeKey key, bool) {
  auto range = co_await clients.compute->GetGlobalAddress(key.project, key.name);
  if (range.ok()) {
    co_return std::make_shared<const std::optional<gcp::GlobalAddress>>(std::move(*range));
  }
  if (range.status().code() == StatusCode::kNotFound) {
    co_return std::make_shared<const std::optional<gcp::GlobalAddress>>(std::nullopt);
  }
  co_return range.status();
}

// Whether `entry`'s snapshot may serve a lookup now: its list began no
// earlier than `not_before` and after the entry's last whole invalidation.
template <typename E>
bool Young(const State& state, const E& entry, gcp::SteadyTime not_before) {
  return entry.snapshot && entry.listed_at >= not_before &&
         entry.listed_seq >= std::max(entry.min_seq, state.epoch_seq);
}

// The snapshot of `entry`, listed at most once at a time. `entry` points
// into `state`, whose maps never erase, and `state` is held by value here.
// A snapshot serves when its list began no earlier than `not_before` and
// after the entry's last whole invalidation.
// The list is named by `key`. Callers pass named values, never temporaries
// built inside the co_await (GCC 12 destroys some of those twice).
template <typename K, typename Index = typename K::Index>
gcp::Task<StatusOr<std::shared_ptr<const Index>>> SnapshotOf(
    std::shared_ptr<State> state, EntryOf<K>* entry, gcp::Clients clients, K key, bool keep_raw,
    gcp::SteadyTime now, gcp::SteadyTime not_before, std::chrono::milliseconds wait_timeout,
    int max_lists, ObservationCacheStats* stats) {
  const uint64_t min_seq = std::max(entry->min_seq, state->epoch_seq);
  if (Young(*state, *entry, not_before)) {
    ++stats->hits;
    co_return entry->snapshot;
  }
  if (entry->flight && entry->flight_started >= not_before && entry->flight_seq >= min_seq) {
    // Someone is listing this key already: wait for that call.
    ++stats->waits;
    std::shared_ptr<Flight<Index>> flight = entry->flight;
    const auto deadline = std::chrono::steady_clock::now() + wait_timeout;
    const auto woken = co_await flight->done.Wait(deadline);
    if (!flight->finished && woken == common::AsyncEvent::WaitResult::kCancelled) {
      co_return CancelledError("cancelled while waiting for another reconcile's list call");
    }
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
    const auto woken = co_await state->list_slot.Wait(slot_deadline);
    if (woken == common::AsyncEvent::WaitResult::kCancelled) {
      have_slot = false;
      break;
    }
  }
  const auto list_started = std::chrono::steady_clock::now();
  if (have_slot) ++state->lists_in_flight;
  if (!have_slot) {
    result = DeadlineExceededError("waited " + std::to_string(wait_timeout.count() / 1000) +
                                   "s for another list call to end");
  } else {
    result = co_await Load(clients, key, keep_raw);
  }
  if (have_slot) {
    entry->last_list_took = std::chrono::steady_clock::now() - list_started;
    --state->lists_in_flight;
    // Everyone waiting looks again; the first to run takes the slot.
    state->list_slot.NotifyAll();
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
  flight->done.NotifyAll();
  co_return result;
}

// One name that is not dirty: what a GET after the list returned, else the
// snapshot's (absent: nullopt).
template <typename Index>
std::optional<ValueOf<Index>> FromSnapshot(const NamedEntry<Index>& entry, const Index& snapshot,
                                           const std::string& name) {
  if (auto o = entry.overrides.find(name); o != entry.overrides.end()) return o->second;
  auto it = snapshot.find(name);
  if (it == snapshot.end()) return std::nullopt;
  return it->second;
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
  co_return FromSnapshot(*entry, *snapshot, name);
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
class PrerequisiteReads final : public gcp::SecretManager,
                                public gcp::ResourceManager,
                                public PrerequisiteMemo {
 public:
  PrerequisiteReads(gcp::Clients inner, const ObservationCacheOptions* options,
                    ObservationCacheStats* stats)
      : inner_(inner), options_(options), stats_(stats) {}

  gcp::Task<StatusOr<gcp::SecretVersionInfo>> GetSecretVersion(std::string name) override {
    return Read(&versions_, name, inner_.secrets, &gcp::SecretManager::GetSecretVersion);
  }
  gcp::Task<StatusOr<gcp::IamPolicy>> GetSecretIamPolicy(std::string secret) override {
    return Read(&secret_policies_, secret, inner_.secrets,
                &gcp::SecretManager::GetSecretIamPolicy);
  }
  gcp::Task<StatusOr<gcp::IamPolicy>> GetProjectIamPolicy(std::string project) override {
    return Read(&project_policies_, project, inner_.resource_manager,
                &gcp::ResourceManager::GetProjectIamPolicy);
  }

  // What GatherPrerequisites takes without a read (a hit each).
  std::optional<StatusOr<gcp::SecretVersionInfo>> KeptVersion(const std::string& name) override {
    return Kept(versions_, name);
  }
  std::optional<StatusOr<gcp::IamPolicy>> KeptSecretPolicy(const std::string& secret) override {
    return Kept(secret_policies_, secret);
  }
  std::optional<StatusOr<gcp::IamPolicy>> KeptProjectPolicy(const std::string& project) override {
    return Kept(project_policies_, project);
  }

  void Clear() {
    versions_.clear();
    secret_policies_.clear();
    project_policies_.clear();
    policies_.clear();
  }

  // IAM policies held now, each distinct one once.
  std::size_t distinct_policies() const {
    return static_cast<std::size_t>(std::count_if(
        policies_.begin(), policies_.end(), [](const auto& p) { return !p.second.expired(); }));
  }

 private:
  // How a value is held: as is, or (an IAM policy) shared with every other
  // answer of the same bindings. A fleet's secrets mostly grant the same
  // role to the same account; at 10,000 secrets one copy each is megabytes.
  template <typename T>
  using Held = std::conditional_t<std::is_same_v<T, gcp::IamPolicy>,
                                  std::shared_ptr<const gcp::IamPolicy>, T>;
  template <typename T>
  static const T& Unwrap(const T& v) {
    return v;
  }
  static const gcp::IamPolicy& Unwrap(const std::shared_ptr<const gcp::IamPolicy>& p) {
    return *p;
  }

  // An answer as kept: the value alone when the read succeeded (a
  // StatusOr is as large as a whole Status, 88 bytes, in every one of tens
  // of thousands of entries), the error out of line when it did not.
  template <typename T>
  struct Answer {
    Held<T> value;
    std::unique_ptr<const Status> error;  // set: the read failed with it
    gcp::SteadyTime at;
    StatusOr<T> Get() const {
      if (error) return *error;
      return T(Unwrap(value));
    }
  };

  gcp::SecretVersionInfo Hold(const gcp::SecretVersionInfo& v) { return v; }
  // The one shared copy of `policy`'s bindings (same roles, members and
  // conditions in the same order).
  std::shared_ptr<const gcp::IamPolicy> Hold(const gcp::IamPolicy& policy) {
    std::string key;
    for (const auto& b : policy.bindings) {
      key.append(b.role).push_back(b.conditional ? '\x1e' : '\x1f');
      for (const auto& m : b.members) key.append(m).push_back('\x1f');
      key.push_back('\x1d');
    }
    if (auto it = policies_.find(key); it != policies_.end()) {
      if (auto shared = it->second.lock()) return shared;
    }
    if (policies_.size() >= options_->max_prerequisite_entries) {
      std::erase_if(policies_, [](const auto& p) { return p.second.expired(); });
    }
    auto shared = std::make_shared<const gcp::IamPolicy>(policy);
    policies_.insert_or_assign(std::move(key), shared);
    return shared;
  }
  template <typename T>
  using Answers = std::unordered_map<std::string, Answer<T>>;

  // One read through the answers of its kind (`this` outlives it: the cache
  // holds it for as long as any observation runs).
  template <typename T, typename Api>
  gcp::Task<StatusOr<T>> Read(Answers<T>* answers, std::string key, Api* api,
                              gcp::Task<StatusOr<T>> (Api::*get)(std::string)) {
    if (const auto* hit = Fresh(*answers, key)) co_return hit->Get();
    ++stats_->prerequisite_reads;
    auto got = co_await (api->*get)(key);
    Keep(*answers, key, got);
    co_return got;
  }

  template <typename T>
  std::optional<StatusOr<T>> Kept(Answers<T>& answers, const std::string& key) {
    if (const auto* hit = Fresh(answers, key)) return hit->Get();
    return std::nullopt;
  }

  template <typename T>
  const Answer<T>* Fresh(Answers<T>& answers, const std::string& key) {
    auto it = answers.find(key);
    if (it == answers.end()) return nullptr;
    if (options_->clock() - it->second.at >= options_->prerequisites_max_age) {
      answers.erase(it);
      return nullptr;
    }
    ++stats_->prerequisite_hits;
    return &it->second;
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
    Answer<T> kept{Hold(got.ok() ? *got : T{}),
                   got.ok() ? nullptr : std::make_unique<const Status>(got.status()),
                   options_->clock()};
    answers.insert_or_assign(key, std::move(kept));
  }

  gcp::Clients inner_;
  const ObservationCacheOptions* options_;
  ObservationCacheStats* stats_;
  Answers<gcp::SecretVersionInfo> versions_;
  Answers<gcp::IamPolicy> secret_policies_;
  Answers<gcp::IamPolicy> project_policies_;
  // Every distinct policy kept, by its bindings (Hold).
  std::unordered_map<std::string, std::weak_ptr<const gcp::IamPolicy>> policies_;
};

// ---- Direct VPC subnetworks ----------------------------------------------------

// Compute subnetworks.get for Observe, each found subnetwork reused for
// Options::prerequisites_max_age, at most max_prerequisite_entries held
// (then all are dropped). Only a subnetwork that was found is kept: a
// missing one (or an error) is read again on the next observation, so
// creating it shows at once.
class SubnetworkReads {
 public:
  SubnetworkReads(gcp::Compute* compute, const ObservationCacheOptions* options,
                  ObservationCacheStats* stats)
      : compute_(compute), options_(options), stats_(stats) {}

  gcp::Task<StatusOr<gcp::Subnetwork>> Get(std::string project, std::string region,
                                           std::string name) {
    const std::string key = project + "\x1f" + region + "\x1f" + name;
    if (auto it = answers_.find(key); it != answers_.end()) {
      if (options_->clock() - it->second.at < options_->prerequisites_max_age) {
        ++stats_->subnetwork_hits;
        co_return it->second.subnetwork;
      }
      answers_.erase(it);
    }
    ++stats_->subnetwork_reads;
    auto got = co_await compute_->GetSubnetwork(project, region, name);
    if (got.ok()) {
      if (answers_.size() >= options_->max_prerequisite_entries) answers_.clear();
      answers_.insert_or_assign(key, Answer{*got, options_->clock()});
    }
    co_return got;
  }

 private:
  struct Answer {
    gcp::Subnetwork subnetwork;
    gcp::SteadyTime at;
  };
  gcp::Compute* compute_;
  const ObservationCacheOptions* options_;
  ObservationCacheStats* stats_;
  std::unordered_map<std::string, Answer> answers_;
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
  if (clients_.compute) {
    subnetworks_ = std::make_shared<SubnetworkReads>(clients_.compute, &options_, &stats_);
  }
}

ObservationCache::~ObservationCache() = default;

template <typename K>
gcp::Task<StatusOr<std::shared_ptr<const typename K::Index>>> ObservationCache::Snapshot(K key) {
  auto self = shared_from_this();
  auto now = options_.clock();
  auto* e = &state_->At(key);
  auto not_before = NotBefore(*e, now, options_.max_age);
  co_return co_await SnapshotOf<K>(state_, e, clients_, key, options_.keep_raw, now, not_before,
                                   options_.wait_timeout, options_.max_concurrent_lists, &stats_);
}

template gcp::Task<StatusOr<std::shared_ptr<const InstanceIndex>>> ObservationCache::Snapshot(
    InstancesKey);
template gcp::Task<StatusOr<std::shared_ptr<const ConnectorIndex>>> ObservationCache::Snapshot(
    ConnectorsKey);
template gcp::Task<StatusOr<std::shared_ptr<const WorkloadIndex>>> ObservationCache::Snapshot(
    WorkloadsKey);
template gcp::Task<StatusOr<std::shared_ptr<const PeeringList>>> ObservationCache::Snapshot(
    PeeringsKey);
template gcp::Task<StatusOr<std::shared_ptr<const std::optional<gcp::GlobalAddress>>>>
    ObservationCache::Snapshot(RangeKey);

// Observe's source over the shared snapshots: each declared resource looked
// up by name in its snapshot (a name this process wrote to is read again).
// A lookup a young snapshot answers is answered at once, without starting
// the coroutines a list or a GET needs: a resync of a large fleet is mostly
// such lookups.
class ObservationCache::CachedSource final : public ObservationSource {
 public:
  explicit CachedSource(std::shared_ptr<ObservationCache> cache) : cache_(std::move(cache)) {}

  gcp::Task<StatusOr<std::optional<gcp::SqlInstance>>> Instance(std::string project,
                                                                 std::string name) override {
    InstancesKey key{project};
    if (auto now = AnswerNow(key, name)) co_return std::move(*now);
    GetInstance get{cache_->clients_, project, name};
    co_return co_await Named(key, name, get);
  }
  gcp::Task<StatusOr<std::optional<gcp::Connector>>> Connector(std::string project,
                                                               std::string region,
                                                               std::string name) override {
    ConnectorsKey key{project, region};
    if (auto now = AnswerNow(key, name)) co_return std::move(*now);
    GetConnector get{cache_->clients_, project, region, name};
    co_return co_await Named(key, name, get);
  }
  gcp::Task<StatusOr<std::optional<gcp::RunWorkload>>> Workload(gcp::RunKind kind,
                                                                std::string project,
                                                                std::string region,
                                                                std::string name) override {
    WorkloadsKey key{kind, project, region};
    if (auto now = AnswerNow(key, name)) co_return std::move(*now);
    GetWorkload get{cache_->clients_, kind == gcp::RunKind::kJob, project, region, name,
                    cache_->options_.keep_raw};
    co_return co_await Named(key, name, get);
  }
  gcp::Task<StatusOr<std::shared_ptr<const WorkloadIndex>>> Workloads(gcp::RunKind kind,
                                                                      std::string project,
                                                                      std::string region) override {
    WorkloadsKey key{kind, project, region};
    if (auto now = SnapshotNow(key)) co_return now;
    co_return co_await cache_->Snapshot(key);
  }
  gcp::Task<StatusOr<std::shared_ptr<const PeeringList>>> Peerings(std::string network) override {
    PeeringsKey key{network};
    if (auto now = SnapshotNow(key)) co_return now;
    co_return co_await cache_->Snapshot(key);
  }
  gcp::Task<StatusOr<std::optional<gcp::GlobalAddress>>> Range(std::string project,
                                                               std::string name) override {
    RangeKey key{project, name};
    if (auto now = SnapshotNow(key)) co_return *now;
    auto range = co_await cache_->Snapshot(key);
    if (!range.ok()) co_return range.status();
    co_return **range;
  }
  gcp::Task<StatusOr<gcp::Subnetwork>> Subnetwork(std::string project, std::string region,
                                                  std::string name) override {
    if (!cache_->subnetworks_) co_return UnimplementedError("no Compute client");
    std::shared_ptr<SubnetworkReads> reads = cache_->subnetworks_;
    co_return co_await reads->Get(project, region, name);
  }
  // A few GETs, only for PSC workloads: read on every observation.
  gcp::Task<StatusOr<gcp::RegionAddress>> Address(std::string project, std::string region,
                                                  std::string name) override {
    DirectSource direct(cache_->clients_, &cache_->stats_.gets);
    co_return co_await direct.Address(project, region, name);
  }
  gcp::Task<StatusOr<gcp::ForwardingRule>> ForwardingRule(std::string project, std::string region,
                                                          std::string name) override {
    DirectSource direct(cache_->clients_, &cache_->stats_.gets);
    co_return co_await direct.ForwardingRule(project, region, name);
  }
  gcp::Clients PrerequisiteClients() override { return cache_->PrerequisiteClients(); }
  PrerequisiteMemo* PrerequisiteAnswers() override { return cache_->prerequisites_.get(); }

 private:
  // The entry of `key` when its snapshot is young enough to serve now,
  // else null.
  template <typename K>
  EntryOf<K>* YoungEntry(const K& key) {
    ObservationCache& c = *cache_;
    auto& entry = c.state_->At(key);
    const bool young =
        Young(*c.state_, entry, NotBefore(entry, c.options_.clock(), c.options_.max_age));
    return young ? &entry : nullptr;
  }
  // The snapshot of `key` when a young one is at hand (a hit), else null.
  template <typename K>
  std::shared_ptr<const typename K::Index> SnapshotNow(const K& key) {
    auto* entry = YoungEntry(key);
    if (!entry) return nullptr;
    ++cache_->stats_.hits;
    return entry->snapshot;
  }
  // `name` from a young snapshot of `key` when that answers it (the name
  // is not dirty), else nothing: Named lists or GETs.
  template <typename K>
  std::optional<std::optional<ValueOf<typename K::Index>>> AnswerNow(const K& key,
                                                                     const std::string& name) {
    auto* entry = YoungEntry(key);
    if (!entry || entry->dirty.contains(name)) return std::nullopt;
    ++cache_->stats_.hits;
    return FromSnapshot(*entry, *entry->snapshot, name);
  }
  template <typename K, typename Get>
  gcp::Task<StatusOr<std::optional<ValueOf<typename K::Index>>>> Named(K key, std::string name,
                                                                      Get get) {
    auto snapshot = co_await cache_->Snapshot(key);
    if (!snapshot.ok()) co_return snapshot.status();
    std::shared_ptr<State> st = cache_->state_;
    std::shared_ptr<const typename K::Index> index = *snapshot;
    co_return co_await Lookup<typename K::Index>(st, &st->At(key), index, name, get,
                                                 &cache_->stats_);
  }

  std::shared_ptr<ObservationCache> cache_;
};

// Observe's source for ObserveFresh: direct GETs (counted as gets), the
// region's workloads from a list begun now, prerequisites through the cache.
class ObservationCache::FreshSource final : public DirectSource {
 public:
  explicit FreshSource(std::shared_ptr<ObservationCache> cache)
      : DirectSource(cache->clients_, &cache->stats_.gets), cache_(std::move(cache)) {}

  gcp::Task<StatusOr<std::shared_ptr<const WorkloadIndex>>> Workloads(gcp::RunKind kind,
                                                                      std::string project,
                                                                      std::string region) override {
    WorkloadsKey key{kind, project, region};
    co_return co_await ListedNow(key);
  }
  gcp::Clients PrerequisiteClients() override { return cache_->PrerequisiteClients(); }

 private:
  gcp::Task<StatusOr<std::shared_ptr<const WorkloadIndex>>> ListedNow(WorkloadsKey key) {
    std::shared_ptr<ObservationCache> c = cache_;
    std::shared_ptr<State> st = c->state_;
    auto now = c->options_.clock();
    auto not_before = now;
    co_return co_await SnapshotOf<WorkloadsKey>(st, &st->At(key), c->clients_, key,
                                                c->options_.keep_raw, now, not_before,
                                                c->options_.wait_timeout,
                                                c->options_.max_concurrent_lists, &c->stats_);
  }

  std::shared_ptr<ObservationCache> cache_;
};

gcp::Clients ObservationCache::PrerequisiteClients() const {
  gcp::Clients pc = clients_;
  if (prerequisites_) {
    pc.secrets = prerequisites_.get();
    pc.resource_manager = prerequisites_.get();
  }
  return pc;
}

gcp::Task<StatusOr<LiveState>> ObservationCache::Observe(config::Intent intent) {
  auto source = std::make_shared<CachedSource>(shared_from_this());
  co_return co_await reconcilers::Observe(source.get(), std::move(intent));
}

gcp::Task<StatusOr<LiveState>> ObservationCache::ObserveFresh(config::Intent intent) {
  auto source = std::make_shared<FreshSource>(shared_from_this());
  co_return co_await reconcilers::Observe(source.get(), std::move(intent));
}

void ObservationCache::Invalidate(const config::Intent& intent, const ResourceRef& resource) {
  State& s = *state_;
  const std::string& project = intent.project;
  const std::string& region = intent.region;
  // Small lists without a by-name index are dropped whole.
  auto drop = [&s](auto& e) {
    e.min_seq = ++s.seq;
    e.snapshot.reset();
  };
  switch (resource.kind) {
    case ResourceKind::kInstance:
      MarkDirty(s, s.At(InstancesKey{project}), resource.name);
      break;
    case ResourceKind::kConnector:
      MarkDirty(s, s.At(ConnectorsKey{project, region}), resource.name);
      break;
    case ResourceKind::kJob:
      MarkDirty(s, s.At(WorkloadsKey{gcp::RunKind::kJob, project, region}), resource.name);
      break;
    case ResourceKind::kService:
      MarkDirty(s, s.At(WorkloadsKey{gcp::RunKind::kService, project, region}), resource.name);
      break;
    case ResourceKind::kServicePeering:
      drop(s.At(PeeringsKey{gcp::NetworkName(intent.project_number, resource.name)}));
      break;
    case ResourceKind::kPrivateServicesRange:
      drop(s.At(RangeKey{project, resource.name}));
      break;
    case ResourceKind::kPscAddress:
    case ResourceKind::kPscEndpoint:
      break;  // read on every observation, never cached
  }
}

void ObservationCache::InvalidateAll() {
  State& s = *state_;
  s.epoch_seq = ++s.seq;
  s.ForEachEntry([](auto& e) { e.snapshot.reset(); });
  // Prerequisite and subnetwork answers are kept: one per secret or
  // subnetwork, they would make every SIGHUP resync cost reads in
  // proportion to the intents (prerequisites_max_age bounds their age).
}

std::size_t ObservationCache::distinct_prerequisite_policies() const {
  return prerequisites_ ? prerequisites_->distinct_policies() : 0;
}

std::size_t ObservationCache::snapshot_count() const {
  std::size_t n = 0;
  state_->ForEachEntry([&n](const auto& e) { n += e.snapshot != nullptr; });
  return n;
}

}  // namespace dbconnd::reconcilers
