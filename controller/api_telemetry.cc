#include "controller/api_telemetry.h"

#include <algorithm>

#include "controller/metrics.h"

namespace dbconnd::controller {

std::string_view OperationTypeLabel(std::string_view started_by) {
  for (std::string_view t : labels::kOperationTypes) {
    if (t == started_by) return t;
  }
  return labels::kOther;
}

MetricsTelemetry::MetricsTelemetry(std::shared_ptr<Metrics> metrics, Clock clock)
    : metrics_(metrics), clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

void MetricsTelemetry::RequestDone(const gcp::RequestReport& r) {
  const std::string_view api = gcp::ToString(r.api);
  const std::string_view method = r.rpc.empty() ? labels::kOther : r.rpc;
  if (r.http_status != 0) {
    metrics_->ApiRequest(api, method, r.http_status, r.elapsed.count());
  } else {
    metrics_->ApiRequest(api, method, r.failure, r.elapsed.count());
  }
  if (r.attempt > 1) metrics_->ApiRetry(api, method);
}

void MetricsTelemetry::TokenRequestDone(const gcp::TokenRequestReport& r) {
  constexpr std::string_view kTokenMethod = "token";
  if (r.http_status != 0) {
    metrics_->ApiRequest(r.endpoint, kTokenMethod, r.http_status, r.elapsed.count());
  } else {
    metrics_->ApiRequest(r.endpoint, kTokenMethod, r.failure, r.elapsed.count());
  }
}

void MetricsTelemetry::OperationWaitStarted(std::uint64_t id, gcp::Api,
                                            std::string_view started_by) {
  running_[id] = Running{std::string(OperationTypeLabel(started_by)), clock_()};
}

void MetricsTelemetry::OperationWaitFinished(std::uint64_t id,
                                             const gcp::OperationWaitReport& report) {
  running_.erase(id);
  const std::string_view type = OperationTypeLabel(report.started_by);
  metrics_->OperationPolled(type, report.polls);
  // A wait that was cancelled (shutdown) or gave up says nothing about how
  // long Google's operations take; only finished operations are timed.
  if (report.wait_result == StatusCode::kOk) {
    metrics_->OperationWaited(type, report.elapsed.count());
  }
}

void MetricsTelemetry::Refresh(gcp::RateLimiter* limiter) {
  const auto now = clock_();
  for (std::string_view type : labels::kOperationTypes) {
    double oldest = 0;
    for (const auto& [id, r] : running_) {
      if (r.type == type) {
        oldest = std::max(oldest, std::chrono::duration<double>(now - r.since).count());
      }
    }
    metrics_->SetOldestRunningOperation(type, oldest);
  }
  if (limiter == nullptr) return;
  for (const gcp::BucketState& b : limiter->Snapshot()) {
    metrics_->SetRateLimitTokens(gcp::ToString(b.api), gcp::ToString(b.bucket),
                                 std::max(0.0, b.tokens_left));
  }
}

}  // namespace dbconnd::controller
