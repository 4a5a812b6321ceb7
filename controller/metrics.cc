#include "controller/metrics.h"

#include <prometheus/text_serializer.h>

#include <utility>
#include <vector>

namespace dbconnd::controller {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// The family `name` with `help`, registered once in `registry`.
template <typename Builder>
auto& Family(Builder builder, prometheus::Registry& registry, const char* name,
             const std::string& help) {
  return builder.Name(name).Help(help).Register(registry);
}

#ifdef DBCONND_VERSION
constexpr std::string_view kBuildVersion = DBCONND_VERSION;
#else
constexpr std::string_view kBuildVersion = "unknown";
#endif
#ifdef DBCONND_GIT_COMMIT
constexpr std::string_view kBuildCommit = DBCONND_GIT_COMMIT;
#else
constexpr std::string_view kBuildCommit = "unknown";
#endif

// A reconcile is a few GETs plus, rarely, a write awaiting its operation.
const Histogram::BucketBoundaries& ReconcileBuckets() {
  static const Histogram::BucketBoundaries b = {0.01, 0.05, 0.1, 0.25, 0.5, 1,  2.5,
                                                5,    10,   30,  60,   120, 300, 900};
  return b;
}
const Histogram::BucketBoundaries& ApiBuckets() {
  static const Histogram::BucketBoundaries b = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                0.5,   1,    2.5,   5,    10,  30};
  return b;
}
// Cloud SQL patches take minutes; enabling private IP can take a quarter hour.
const Histogram::BucketBoundaries& OperationBuckets() {
  static const Histogram::BucketBoundaries b = {1,   5,   10,   30,   60,  120,
                                                300, 600, 1200, 1800, 3600};
  return b;
}
// Polls per operation wait: WaitOptions' backoff keeps a 5-minute Cloud SQL
// operation near 14.
const Histogram::BucketBoundaries& PollBuckets() {
  static const Histogram::BucketBoundaries b = {1, 2, 3, 5, 8, 10, 15, 20, 30, 60};
  return b;
}

// Intent names are metadata.name (a DNS label), but the cap is only as good as
// the label value length, so bound that too.
constexpr std::size_t kMaxIntentLabelLength = 128;

std::string IntentLabel(std::string_view intent) {
  return std::string(intent.substr(0, kMaxIntentLabelLength));
}

struct FieldAlias {
  std::string_view name;
  std::string_view label;
};

// Wire names (Cloud SQL Admin v1, Cloud Run v2, VPC Access v1, Service
// Networking, Compute) of the fields the diff manages.
constexpr FieldAlias kFieldAliases[] = {
    {"sslMode", "ssl_mode"},
    {"requireSsl", "ssl_mode"},
    {"cloudsql.iam_authentication", "iam_authentication"},
    {"cloudsql_iam_authentication", "iam_authentication"},
    {"ipv4Enabled", "public_ip"},
    {"authorizedNetworks", "authorized_networks"},
    {"privateNetwork", "private_network"},
    {"allocatedIpRange", "allocated_ip_range"},
    {"ipCidrRange", "ip_cidr_range"},
    {"minInstances", "min_instances"},
    {"maxInstances", "max_instances"},
    {"machineType", "machine_type"},
    {"connector", "vpc_connector"},
    {"vpcAccess", "vpc_connector"},
    {"egress", "vpc_egress"},
    {"cloudSqlInstance", "cloudsql_instances"},
    {"cloudSqlInstances", "cloudsql_instances"},
    {"instances", "cloudsql_instances"},
    {"DATABASE_URL", "database_url"},
    {"DB_USER", "database_user"},
    {"DB_NAME", "database_name"},
    {"DB_PASSWORD", "database_password"},
    {"PGPASSWORD", "database_password"},
    {"MYSQL_PWD", "database_password"},
    {"secretKeyRef", "database_password"},
    {"reservedPeeringRanges", "peering_ranges"},
    {"network", "network"},
    {"address", "address"},
    {"state", "state"},
};

std::optional<std::string_view> LookupField(std::string_view segment) {
  if (segment.empty()) return std::nullopt;
  for (std::string_view known : labels::kDriftFields) {
    if (known == segment && known != labels::kOther) return known;
  }
  for (const FieldAlias& alias : kFieldAliases) {
    if (alias.name == segment) return alias.label;
  }
  return std::nullopt;
}

}  // namespace

std::string_view HttpCodeLabel(int http_status) {
  if (http_status < 100 || http_status > 599) return labels::kOther;
  const std::string code = std::to_string(http_status);
  const std::size_t i = LabelIndex(labels::kCodes, code);
  if (i != labels::kCodes.size() - 1) return labels::kCodes[i];
  static constexpr std::string_view kClasses[] = {"", "", "2xx", "3xx", "4xx", "5xx"};
  return http_status < 200 ? labels::kOther : kClasses[http_status / 100];
}

std::string_view DriftFieldLabel(std::string_view path) {
  // Split into segments on '.' outside brackets; a segment "env[DATABASE_URL]"
  // yields its key ("DATABASE_URL") before its name ("env"). Innermost first.
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  int depth = 0;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    const char c = i < path.size() ? path[i] : '.';
    if (c == '[') ++depth;
    if (c == ']' && depth > 0) --depth;
    if (c == '.' && depth == 0) {
      std::string_view seg = path.substr(start, i - start);
      const std::size_t open = seg.find('[');
      if (open != std::string_view::npos) {
        segments.push_back(seg.substr(0, open));
        std::string_view key = seg.substr(open + 1);
        if (!key.empty() && key.back() == ']') key.remove_suffix(1);
        segments.push_back(key);
      } else {
        segments.push_back(seg);
      }
      start = i + 1;
    }
  }
  for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
    if (auto label = LookupField(*it)) return *label;
  }
  return labels::kOther;
}

Metrics::Metrics(MetricsOptions options)
    : options_(std::move(options)),
      registry_(std::make_shared<prometheus::Registry>()),
      reconciles_(Family(BuildCounter(), *registry_, "dbconnd_reconciles_total",
          "Reconciles of one resource, by resource kind and result.")),
      reconcile_duration_(Family(BuildHistogram(), *registry_, "dbconnd_reconcile_duration_seconds",
          "Wall time of one reconcile (observe, diff, act, "
          "operation wait), by resource kind.")),
      drift_detected_(Family(BuildCounter(), *registry_, "dbconnd_drift_detected_total",
          "Drifted fields found by reconciles, by resource kind and "
          "field (counted at every reconcile that sees them).")),
      drift_fights_(Family(BuildCounter(), *registry_, "dbconnd_drift_fights_total",
          "Times the fight breaker tripped: the same field corrected "
          "more than 3 times in 10 minutes, writes stopped.")),
      resources_(Family(BuildGauge(), *registry_, "dbconnd_resources",
          "Managed resources, by kind and state.")),
      writes_(Family(BuildCounter(), *registry_, "dbconnd_writes_total",
          "Mutations sent to Google APIs, by API, method and result.")),
      api_requests_(Family(BuildCounter(), *registry_, "dbconnd_api_requests_total",
          "HTTP requests to Google and Kubernetes APIs (retries "
          "included), by API, method and HTTP code or transport "
          "failure.")),
      api_request_duration_(Family(BuildHistogram(), *registry_,
          "dbconnd_api_request_duration_seconds",
          "Latency of one API request, by API and method.")),
      operation_wait_(Family(BuildHistogram(), *registry_,
          "dbconnd_operation_wait_duration_seconds",
          "Time from a mutation's answer to the end of its "
          "long-running operation, by operation type.")),
      api_retries_(Family(BuildCounter(), *registry_, "dbconnd_api_request_retries_total",
          "API requests that were retries of an earlier attempt of "
          "the same call (reads only; writes are never resent), by "
          "API and method.")),
      operation_polls_(Family(BuildHistogram(), *registry_, "dbconnd_operation_polls",
          "Polls (operations.get) spent on one long-running "
          "operation wait, by operation type.")),
      operation_oldest_(Family(BuildGauge(), *registry_, "dbconnd_operation_oldest_running_seconds",
          "Age of the oldest long-running operation still "
          "awaited, by operation type; 0 when none runs.")),
      rate_limit_tokens_(Family(BuildGauge(), *registry_, "dbconnd_rate_limit_tokens",
          "Client-side rate-limit tokens left, by API and bucket.")),
      world_open_(Family(BuildGauge(), *registry_, "dbconnd_world_open_networks_present",
          "1 when the intent's instance has a world-open (/0 to /7) "
          "authorized network live, else 0. Capped per intent.")),
      expiry_(Family(BuildGauge(), *registry_,
          "dbconnd_authorized_network_next_expiry_timestamp_seconds",
          "Unix time at which the intent's nearest-expiring authorized "
          "network expires. Capped per intent.")),
      queue_depth_(Family(BuildGauge(), *registry_, "dbconnd_workqueue_depth",
          "Resource keys waiting in the work queue.").Add({})),
      queue_longest_wait_(Family(BuildGauge(), *registry_,
          "dbconnd_workqueue_longest_waiting_seconds",
          "How long the oldest key in the work queue has waited.").Add({})),
      queue_retries_(Family(BuildCounter(), *registry_, "dbconnd_workqueue_retries_total",
          "Keys requeued with backoff after a failed reconcile.").Add({})),
      config_reloads_(Family(BuildCounter(), *registry_, "dbconnd_config_reloads_total",
          "Configuration reloads, by result.")),
      config_generation_(Family(BuildGauge(), *registry_, "dbconnd_config_generation",
          "Generation of the configuration now running (the "
          "last good one).").Add({})),
      config_last_reload_successful_(Family(BuildGauge(), *registry_,
          "dbconnd_config_last_reload_successful",
          "1 when the last configuration reload "
          "succeeded, 0 when it failed.").Add({})),
      config_last_success_timestamp_(
          BuildGauge()
              .Name("dbconnd_config_last_reload_success_timestamp_seconds")
              .Help("Unix time of the last successful configuration reload.")
              .Register(*registry_)
              .Add({})),
      full_sync_timestamp_(Family(BuildGauge(), *registry_,
          "dbconnd_full_sync_last_success_timestamp_seconds",
          "Unix time at which the last full sync of every "
          "resource finished.").Add({})),
      leader_(Family(BuildGauge(), *registry_, "dbconnd_leader",
          "1 when this replica holds the leader lease and may write.").Add({})),
      journal_write_failures_(Family(BuildCounter(), *registry_,
          "dbconnd_journal_write_failures_total",
          "Writes not sent because their journal record could "
          "not be written (state dir read-only or full).").Add({})),
      ready_(Family(BuildGauge(), *registry_, "dbconnd_ready",
          "1 when /readyz answers ready: configuration loaded, "
          "credentials work, first full sync done.").Add({})),
      world_open_unapproved_(Family(BuildGauge(), *registry_,
          "dbconnd_world_open_unapproved_intents",
          "Intents with a world-open authorized network "
          "live that their policy does not allow (all "
          "intents, not capped).").Add({})),
      intent_series_dropped_(Family(BuildCounter(), *registry_,
          "dbconnd_intent_series_dropped_total",
          "Per-intent gauge updates dropped because "
          "--max-intent-series intents already have series.").Add({})) {
  const std::string version =
      options_.version.empty() ? std::string(kBuildVersion) : options_.version;
  const std::string commit =
      options_.git_commit.empty() ? std::string(kBuildCommit) : options_.git_commit;
  BuildGauge()
      .Name("dbconnd_build_info")
      .Help("Always 1; labels carry the version and git commit of this binary.")
      .Register(*registry_)
      .Add({{"version", version}, {"commit", commit}})
      .Set(1);

  for (std::size_t k = 0; k < labels::kKinds.size(); ++k) {
    const std::string kind(labels::kKinds[k]);
    for (std::size_t r = 0; r < labels::kReconcileResults.size(); ++r) {
      reconcile_counters_[k][r] = &reconciles_.Add(
          {{"kind", kind}, {"result", std::string(labels::kReconcileResults[r])}});
    }
    reconcile_histograms_[k] = &reconcile_duration_.Add({{"kind", kind}}, ReconcileBuckets());
    for (std::size_t s = 0; s < labels::kResourceStates.size(); ++s) {
      resource_gauges_[k][s] =
          &resources_.Add({{"kind", kind}, {"state", std::string(labels::kResourceStates[s])}});
    }
    fight_counters_[k] = &drift_fights_.Add({{"kind", kind}});
  }
  // 0 means "none running", so the stuck-operation alert has a series to read.
  for (std::string_view type : labels::kOperationTypes) {
    operation_oldest_.Add({{"type", std::string(type)}}).Set(0);
  }
  for (std::size_t r = 0; r < labels::kReloadResults.size(); ++r) {
    reload_counters_[r] = &config_reloads_.Add({{"result", std::string(labels::kReloadResults[r])}});
  }
}

void Metrics::ReconcileDone(std::string_view kind, std::string_view result, double seconds) {
  const std::size_t k = LabelIndex(labels::kKinds, kind);
  reconcile_counters_[k][LabelIndex(labels::kReconcileResults, result)]->Increment();
  reconcile_histograms_[k]->Observe(seconds);
}

void Metrics::DriftDetected(std::string_view kind, std::string_view field_or_path) {
  drift_detected_
      .Add({{"kind", std::string(BoundLabel(labels::kKinds, kind))},
            {"field", std::string(DriftFieldLabel(field_or_path))}})
      .Increment();
}

void Metrics::DriftFight(std::string_view kind) {
  fight_counters_[LabelIndex(labels::kKinds, kind)]->Increment();
}

void Metrics::SetResourceStates(std::string_view kind, const ResourceStateCounts& counts) {
  auto& row = resource_gauges_[LabelIndex(labels::kKinds, kind)];
  const std::int64_t values[] = {counts.in_sync, counts.drifted, counts.error,
                                 counts.dependency_not_ready, counts.paused, counts.fighting};
  static_assert(std::size(values) == labels::kResourceStates.size());
  for (std::size_t s = 0; s < row.size(); ++s) row[s]->Set(static_cast<double>(values[s]));
}

void Metrics::WriteDone(std::string_view api, std::string_view method, std::string_view result) {
  writes_
      .Add({{"api", std::string(BoundLabel(labels::kApis, api))},
            {"method", std::string(BoundLabel(labels::kMethods, method))},
            {"result", std::string(BoundLabel(labels::kWriteResults, result))}})
      .Increment();
}

void Metrics::ApiRequest(std::string_view api, std::string_view method, int http_status,
                         double seconds) {
  ApiRequest(api, method, HttpCodeLabel(http_status), seconds);
}

void Metrics::ApiRequest(std::string_view api, std::string_view method, std::string_view code,
                         double seconds) {
  std::string api_label(BoundLabel(labels::kApis, api));
  std::string method_label(BoundLabel(labels::kMethods, method));
  api_requests_
      .Add({{"api", api_label},
            {"method", method_label},
            {"code", std::string(BoundLabel(labels::kCodes, code))}})
      .Increment();
  api_request_duration_
      .Add({{"api", std::move(api_label)}, {"method", std::move(method_label)}}, ApiBuckets())
      .Observe(seconds);
}

void Metrics::OperationWaited(std::string_view type, double seconds) {
  operation_wait_.Add({{"type", std::string(BoundLabel(labels::kOperationTypes, type))}},
                      OperationBuckets())
      .Observe(seconds);
}

void Metrics::ApiRetry(std::string_view api, std::string_view method) {
  api_retries_
      .Add({{"api", std::string(BoundLabel(labels::kApis, api))},
            {"method", std::string(BoundLabel(labels::kMethods, method))}})
      .Increment();
}

void Metrics::OperationPolled(std::string_view type, int polls) {
  operation_polls_
      .Add({{"type", std::string(BoundLabel(labels::kOperationTypes, type))}}, PollBuckets())
      .Observe(polls);
}

void Metrics::SetOldestRunningOperation(std::string_view type, double age_seconds) {
  operation_oldest_.Add({{"type", std::string(BoundLabel(labels::kOperationTypes, type))}})
      .Set(age_seconds);
}

void Metrics::SetRateLimitTokens(std::string_view api, std::string_view bucket, double tokens) {
  rate_limit_tokens_
      .Add({{"api", std::string(BoundLabel(labels::kApis, api))},
            {"bucket", std::string(BoundLabel(labels::kRateLimitBuckets, bucket))}})
      .Set(tokens);
}

void Metrics::SetQueue(std::int64_t depth, double longest_wait_seconds) {
  queue_depth_.Set(static_cast<double>(depth));
  queue_longest_wait_.Set(longest_wait_seconds);
}

void Metrics::QueueRetry() { queue_retries_.Increment(); }

void Metrics::ConfigReload(std::string_view result, std::int64_t generation,
                           double unix_seconds) {
  const std::size_t r = LabelIndex(labels::kReloadResults, result);
  reload_counters_[r]->Increment();
  config_generation_.Set(static_cast<double>(generation));
  const bool success = labels::kReloadResults[r] == "success";
  config_last_reload_successful_.Set(success ? 1 : 0);
  if (success) config_last_success_timestamp_.Set(unix_seconds);
}

void Metrics::FullSyncDone(double unix_seconds) { full_sync_timestamp_.Set(unix_seconds); }

void Metrics::SetLeader(bool leader) { leader_.Set(leader ? 1 : 0); }

void Metrics::JournalWriteFailed() { journal_write_failures_.Increment(); }

void Metrics::SetReady(bool ready) { ready_.Set(ready ? 1 : 0); }

Metrics::IntentSeries* Metrics::AdmitIntentLocked(std::string_view intent) {
  const std::string label = IntentLabel(intent);
  if (auto it = intents_.find(label); it != intents_.end()) return &it->second;
  if (intents_.size() >= options_.max_intent_series) {
    intent_series_dropped_.Increment();
    return nullptr;
  }
  return &intents_.emplace(label, IntentSeries{}).first->second;
}

bool Metrics::SetWorldOpen(std::string_view intent, bool present, bool allowed_by_policy) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string label = IntentLabel(intent);
  if (present && !allowed_by_policy) {
    world_open_unapproved_intents_.insert(label);
  } else if (auto it = world_open_unapproved_intents_.find(label);
             it != world_open_unapproved_intents_.end()) {
    world_open_unapproved_intents_.erase(it);
  }
  world_open_unapproved_.Set(static_cast<double>(world_open_unapproved_intents_.size()));

  IntentSeries* series = AdmitIntentLocked(label);
  if (series == nullptr) return false;
  if (series->world_open == nullptr) series->world_open = &world_open_.Add({{"intent", label}});
  series->world_open->Set(present ? 1 : 0);
  return true;
}

bool Metrics::SetNearestExpiry(std::string_view intent, std::optional<double> unix_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string label = IntentLabel(intent);
  if (!unix_seconds) {
    // No expiring network: no series, rather than a sentinel value an alert
    // would have to know about.
    if (auto it = intents_.find(label); it != intents_.end() && it->second.expiry != nullptr) {
      expiry_.Remove(it->second.expiry);
      it->second.expiry = nullptr;
    }
    return true;
  }
  IntentSeries* series = AdmitIntentLocked(label);
  if (series == nullptr) return false;
  if (series->expiry == nullptr) series->expiry = &expiry_.Add({{"intent", label}});
  series->expiry->Set(*unix_seconds);
  return true;
}

void Metrics::RemoveIntent(std::string_view intent) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string label = IntentLabel(intent);
  if (world_open_unapproved_intents_.erase(label) > 0) {
    world_open_unapproved_.Set(static_cast<double>(world_open_unapproved_intents_.size()));
  }
  auto it = intents_.find(label);
  if (it == intents_.end()) return;
  if (it->second.world_open != nullptr) world_open_.Remove(it->second.world_open);
  if (it->second.expiry != nullptr) expiry_.Remove(it->second.expiry);
  intents_.erase(it);
}

std::size_t Metrics::intent_series_admitted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return intents_.size();
}

void Metrics::SetPreScrapeHook(std::function<void(Metrics&)> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  pre_scrape_hook_ = std::move(hook);
}

std::string Metrics::Serialize() {
  std::function<void(Metrics&)> hook;
  {
    std::lock_guard<std::mutex> lock(mu_);
    hook = pre_scrape_hook_;
  }
  if (hook) hook(*this);
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace dbconnd::controller
