#pragma once
// Every dbconnd_ Prometheus series, registered once at construction with
// prometheus-cpp core; the controller reports through typed methods below.
//
// Cardinality is bounded by construction: every label except `intent` takes
// its value from one of the fixed vocabularies in `labels::` (anything else is
// recorded as "other"), so the series count does not grow with the number of
// managed resources. The only per-intent series are the world-open and
// authorized-network expiry gauges, admitted for at most `max_intent_series`
// distinct intents; updates for intents beyond the cap are counted in
// dbconnd_intent_series_dropped_total instead of creating series.
//
// Thread-safety: every method may be called from any thread (prometheus-cpp
// metrics are atomic; the per-intent bookkeeping has its own mutex). The
// pre-scrape hook runs on the thread that calls Serialize().
// docs/METRICS.md documents every series; keep it in step.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace dbconnd::controller {

// Label vocabularies. The last entry of each is the catch-all.
namespace labels {

inline constexpr std::string_view kOther = "other";

// Resource kinds the planner produces.
inline constexpr std::array<std::string_view, 6> kKinds = {
    "private_services_access", "connector", "instance", "job", "service", kOther};

// Outcome of one reconcile of one resource.
inline constexpr std::array<std::string_view, 8> kReconcileResults = {
    "in_sync",               // observed, nothing to change
    "updated",               // changes written and their operation finished
    "drift_reported",        // drift found, not written (observe mode)
    "dependency_not_ready",  // waits for a dependency; requeued when it is ready
    "skipped",               // paused, or the fight breaker is open
    "conflict",              // 409/412: re-read and retried later
    "error",
    kOther};

// What dbconnd_resources counts, one gauge per kind and state.
inline constexpr std::array<std::string_view, 6> kResourceStates = {
    "in_sync", "drifted", "error", "dependency_not_ready", "paused", "fighting"};

// Endpoint names, the same as --endpoint NAME=URL.
inline constexpr std::array<std::string_view, 11> kApis = {
    "sqladmin", "run",      "vpcaccess",  "servicenetworking", "compute", "secretmanager",
    "cloudresourcemanager", "oauth2",     "metadata",          "kubernetes", kOther};

// Google API methods as the discovery documents name them (plus the token
// exchanges and the Lease calls of leader election).
inline constexpr std::array<std::string_view, 30> kMethods = {
    "instances.get",        "instances.list",         "instances.patch",
    "operations.get",       "operations.list",        "jobs.get",
    "jobs.list",            "jobs.patch",             "jobs.run",
    "executions.get",       "services.get",           "services.list",
    "services.patch",       "connectors.get",         "connectors.list",
    "connectors.create",    "connectors.delete",      "connections.list",
    "connections.create",   "globalAddresses.get",    "globalAddresses.insert",
    "globalOperations.get", "versions.get",           "secrets.getIamPolicy",
    "projects.getIamPolicy", "token",                 "leases.get",
    "leases.create",        "leases.update",          kOther};

// HTTP status codes worth telling apart, transport failures (no HTTP answer),
// then per-class fallbacks for any other HTTP status.
inline constexpr std::array<std::string_view, 24> kCodes = {
    "200", "201", "204", "304", "400", "401", "403", "404",
    "409", "412", "429", "500", "502", "503", "504",
    "timeout", "connection_error", "tls_error", "cancelled",
    "2xx", "3xx", "4xx", "5xx", kOther};

// Outcome of one mutation.
inline constexpr std::array<std::string_view, 8> kWriteResults = {
    "ok",                     // accepted and its operation finished without error
    "operation_in_progress",  // 409: another operation runs on the instance
    "stale",                  // 412: etag / settingsVersion was stale
    "rate_limited",           // 429, or refused by the client-side limiter
    "rejected",               // any other 4xx
    "operation_failed",       // accepted, but its long-running operation ended in error
    "error",                  // 5xx or transport error
    kOther};

// Long-running operations, named by the mutation that started them.
inline constexpr std::array<std::string_view, 9> kOperationTypes = {
    "instances.patch", "connectors.create",  "connectors.delete",
    "jobs.patch",      "jobs.run",           "services.patch",
    "connections.create", "globalAddresses.insert", kOther};

inline constexpr std::array<std::string_view, 4> kReloadResults = {
    "success",  // valid, became the new generation
    "invalid",  // parsed or validated with errors; the last good generation keeps running
    "error",    // could not be read (I/O, permissions)
    kOther};

// Client-side rate-limit buckets (issue 3's defaults: Cloud SQL get/list/mutate,
// Cloud Run write).
inline constexpr std::array<std::string_view, 6> kRateLimitBuckets = {
    "get", "list", "mutate", "read", "write", kOther};

// Managed fields a drift can be found in. DriftFieldLabel() also maps the
// diff's wire paths onto these.
inline constexpr std::array<std::string_view, 23> kDriftFields = {
    "existence",            // the resource is missing
    "ssl_mode",            "iam_authentication", "public_ip",
    "authorized_networks", "private_network",    "allocated_ip_range",
    "network",             "ip_cidr_range",      "min_instances",
    "max_instances",       "machine_type",       "vpc_connector",
    "vpc_egress",          "cloudsql_instances", "database_url",
    "database_user",       "database_name",      "database_password",
    "peering_ranges",      "address",            "state",
    kOther};

}  // namespace labels

// Index of `value` in `vocabulary`, or of its last (catch-all) entry.
template <std::size_t N>
constexpr std::size_t LabelIndex(const std::array<std::string_view, N>& vocabulary,
                                 std::string_view value) {
  for (std::size_t i = 0; i < N; ++i) {
    if (vocabulary[i] == value) return i;
  }
  return N - 1;
}

// The bounded label a value is recorded under.
template <std::size_t N>
constexpr std::string_view BoundLabel(const std::array<std::string_view, N>& vocabulary,
                                      std::string_view value) {
  return vocabulary[LabelIndex(vocabulary, value)];
}

// "409" for 409; "4xx" for an HTTP status not in kCodes; "other" outside 100..599.
std::string_view HttpCodeLabel(int http_status);

// Maps a field name ("authorized_networks") or a diff path
// ("settings.ipConfiguration.authorizedNetworks[2].value",
// "template.containers[0].env[DATABASE_URL]") onto kDriftFields; the innermost
// recognised path segment wins; "other" when none is recognised.
std::string_view DriftFieldLabel(std::string_view field_or_path);

struct ResourceStateCounts {
  std::int64_t in_sync = 0;
  std::int64_t drifted = 0;
  std::int64_t error = 0;
  std::int64_t dependency_not_ready = 0;
  std::int64_t paused = 0;
  std::int64_t fighting = 0;
};

struct MetricsOptions {
  // Distinct intents that get per-intent series (--max-intent-series).
  std::size_t max_intent_series = 100;
  // dbconnd_build_info labels. Empty: the DBCONND_VERSION / DBCONND_GIT_COMMIT
  // compile definitions when the build sets them, else "unknown".
  std::string version;
  std::string git_commit;
};

class Metrics {
 public:
  explicit Metrics(MetricsOptions options = {});
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // --- reconcile loop ---
  void ReconcileDone(std::string_view kind, std::string_view result, double seconds);
  // One call per drifted field found by a reconcile (observe and enforce mode).
  void DriftDetected(std::string_view kind, std::string_view field_or_path);
  // The fight breaker tripped for a resource of this kind.
  void DriftFight(std::string_view kind);
  // Replaces the counts of every state for `kind` (call after each pass).
  void SetResourceStates(std::string_view kind, const ResourceStateCounts& counts);

  // --- Google APIs ---
  // One call per mutation, once its outcome is known (labels::kWriteResults).
  void WriteDone(std::string_view api, std::string_view method, std::string_view result);
  // One call per HTTP request, retries included.
  void ApiRequest(std::string_view api, std::string_view method, int http_status,
                  double seconds);
  // For requests without an HTTP answer: code is "timeout", "connection_error",
  // "tls_error" or "cancelled".
  void ApiRequest(std::string_view api, std::string_view method, std::string_view code,
                  double seconds);
  // A request that repeats an earlier attempt of the same call.
  void ApiRetry(std::string_view api, std::string_view method);
  // A long-running operation finished (successfully or not) after `seconds`.
  void OperationWaited(std::string_view type, double seconds);
  // How many polls one operation wait took.
  void OperationPolled(std::string_view type, int polls);
  // Age of the oldest still-running operation of `type`; 0 when none runs.
  // Set from the pre-scrape hook so it is fresh at every scrape.
  void SetOldestRunningOperation(std::string_view type, double age_seconds);
  void SetRateLimitTokens(std::string_view api, std::string_view bucket, double tokens);

  // --- work queue ---
  void SetQueue(std::int64_t depth, double longest_wait_seconds);
  void QueueRetry();

  // --- configuration and sync ---
  // result "success": `generation` became live at `unix_seconds`. Otherwise the
  // reload failed: `generation` is the last good one, still running, and
  // `unix_seconds` is ignored.
  void ConfigReload(std::string_view result, std::int64_t generation, double unix_seconds);
  void FullSyncDone(double unix_seconds);
  void SetLeader(bool leader);
  // A write was not sent because its journal record could not be written.
  void JournalWriteFailed();
  // Mirrors /readyz.
  void SetReady(bool ready);

  // --- per intent (capped) ---
  // Whether the intent's instance has a world-open (/0../7) authorized network
  // live, and whether its policy allows that. The uncapped aggregate
  // dbconnd_world_open_unapproved_intents counts present && !allowed_by_policy
  // for every intent, admitted or not. Returns false when the per-intent
  // series was dropped by the cap.
  bool SetWorldOpen(std::string_view intent, bool present, bool allowed_by_policy = false);
  // Unix time at which the intent's nearest-expiring authorized network
  // expires; nullopt when none of its networks expires. A timestamp, not a
  // countdown, so the value stays true between updates (alerts use `- time()`).
  bool SetNearestExpiry(std::string_view intent, std::optional<double> unix_seconds);
  // The intent left the configuration: its series go and its slot is freed.
  void RemoveIntent(std::string_view intent);

  // Called at the start of every Serialize() (e.g. to refresh ages).
  void SetPreScrapeHook(std::function<void(Metrics&)> hook);
  // Prometheus text exposition format 0.0.4.
  std::string Serialize();

  std::size_t intent_series_admitted() const;

 private:
  template <std::size_t N>
  using Row = std::array<prometheus::Counter*, N>;

  struct IntentSeries {
    prometheus::Gauge* world_open = nullptr;
    prometheus::Gauge* expiry = nullptr;
  };
  // nullptr when the cap refuses `intent`; counts the drop. mu_ held.
  IntentSeries* AdmitIntentLocked(std::string_view intent);

  MetricsOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;

  prometheus::Family<prometheus::Counter>& reconciles_;
  prometheus::Family<prometheus::Histogram>& reconcile_duration_;
  prometheus::Family<prometheus::Counter>& drift_detected_;
  prometheus::Family<prometheus::Counter>& drift_fights_;
  prometheus::Family<prometheus::Gauge>& resources_;
  prometheus::Family<prometheus::Counter>& writes_;
  prometheus::Family<prometheus::Counter>& api_requests_;
  prometheus::Family<prometheus::Histogram>& api_request_duration_;
  prometheus::Family<prometheus::Histogram>& operation_wait_;
  prometheus::Family<prometheus::Counter>& api_retries_;
  prometheus::Family<prometheus::Histogram>& operation_polls_;
  prometheus::Family<prometheus::Gauge>& operation_oldest_;
  prometheus::Family<prometheus::Gauge>& rate_limit_tokens_;
  prometheus::Family<prometheus::Gauge>& world_open_;
  prometheus::Family<prometheus::Gauge>& expiry_;

  prometheus::Gauge& queue_depth_;
  prometheus::Gauge& queue_longest_wait_;
  prometheus::Counter& queue_retries_;
  prometheus::Family<prometheus::Counter>& config_reloads_;
  prometheus::Gauge& config_generation_;
  prometheus::Gauge& config_last_reload_successful_;
  prometheus::Gauge& config_last_success_timestamp_;
  prometheus::Gauge& full_sync_timestamp_;
  prometheus::Gauge& leader_;
  prometheus::Counter& journal_write_failures_;
  prometheus::Gauge& ready_;
  prometheus::Gauge& world_open_unapproved_;
  prometheus::Counter& intent_series_dropped_;

  // Pre-created so every (kind, result) rate starts at 0 rather than absent.
  std::array<Row<labels::kReconcileResults.size()>, labels::kKinds.size()> reconcile_counters_{};
  std::array<prometheus::Histogram*, labels::kKinds.size()> reconcile_histograms_{};
  std::array<std::array<prometheus::Gauge*, labels::kResourceStates.size()>,
             labels::kKinds.size()>
      resource_gauges_{};
  std::array<prometheus::Counter*, labels::kKinds.size()> fight_counters_{};
  std::array<prometheus::Counter*, labels::kReloadResults.size()> reload_counters_{};

  mutable std::mutex mu_;
  std::map<std::string, IntentSeries, std::less<>> intents_;
  // Intents with a world-open network their policy does not allow; normally
  // empty, and bounded by the intents in the configuration.
  std::set<std::string, std::less<>> world_open_unapproved_intents_;
  std::function<void(Metrics&)> pre_scrape_hook_;
};

}  // namespace dbconnd::controller
