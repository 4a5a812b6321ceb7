#pragma once
// The daemon's gcp::Telemetry: turns what the REST transport and the
// operation waiter report into Prometheus series, and refreshes the gauges
// that describe "now" (oldest running operation, rate-limit tokens) at every
// scrape. Lives on the daemon's io_context thread like everything it reads;
// Metrics itself is thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "gcp/rate_limiter.h"
#include "gcp/telemetry.h"

namespace dbconnd::controller {

class Metrics;

class MetricsTelemetry : public gcp::Telemetry {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // Shares ownership of `metrics`: a wait still suspended when the
  // io_context is torn down reports its end from the frame's destructor.
  // `clock` is injectable for tests.
  explicit MetricsTelemetry(std::shared_ptr<Metrics> metrics, Clock clock = {});

  void RequestDone(const gcp::RequestReport& report) override;
  // As an API request: api "oauth2" or "metadata", method "token".
  void TokenRequestDone(const gcp::TokenRequestReport& report) override;
  void OperationWaitStarted(std::uint64_t id, gcp::Api api, std::string_view started_by) override;
  void OperationWaitFinished(std::uint64_t id, const gcp::OperationWaitReport& report) override;

  // Sets dbconnd_operation_oldest_running_seconds for every operation type
  // (0 where none runs) and, when `limiter` is given, the tokens left in
  // each limited bucket. Call from the metrics pre-scrape hook.
  void Refresh(gcp::RateLimiter* limiter);

  std::size_t running() const { return running_.size(); }

 private:
  struct Running {
    std::string type;  // a kOperationTypes label
    std::chrono::steady_clock::time_point since;
  };
  std::shared_ptr<Metrics> metrics_;
  Clock clock_;
  std::map<std::uint64_t, Running> running_;
};

// The operation-type label for an operation started by `rpc` ("other" when
// unknown).
std::string_view OperationTypeLabel(std::string_view started_by);

}  // namespace dbconnd::controller
