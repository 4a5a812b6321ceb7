#pragma once
// Observers at the seams: the REST transport reports every request and the
// operation waiter every wait, so whatever sits behind them (the daemon's
// Prometheus metrics, a test's recorder) sees each call by construction, the
// way google-cloud-cpp wraps its stubs in metadata/logging decorators. No
// caller has to remember to report.
//
// Called on the calling coroutine's strand, synchronously; implementations
// must be cheap, must not throw and must not suspend. Nothing passed here
// holds a secret: rpc names and operation types only, never URLs or bodies.

#include <chrono>
#include <cstdint>
#include <string_view>

#include "gcp/types.h"

namespace dbconnd::gcp {

struct RequestReport {
  Api api = Api::kSqlAdmin;
  // The API method, "instances.patch"; empty when the caller named none.
  std::string_view rpc;
  // The HTTP status, or 0 when there was no HTTP answer (then `failure`
  // says why: "timeout", "connection_error", "tls_error", "cancelled").
  int http_status = 0;
  std::string_view failure;
  std::chrono::duration<double> elapsed{0};
  // 1 for the first attempt of a call, 2.. for its retries.
  int attempt = 1;
};

// What a finished wait reports.
struct OperationWaitReport {
  Api api = Api::kSqlAdmin;
  // The mutation that started the operation ("instances.patch"); empty when
  // unknown (an operation found by listing, or resumed from an old journal).
  std::string_view started_by;
  std::chrono::duration<double> elapsed{0};
  int polls = 0;
  // OK: the operation is done (its own error aside); otherwise why the wait
  // stopped (deadline, cancellation, a failed poll).
  StatusCode wait_result = StatusCode::kOk;
};

// One access-token request (gcp/auth.h): to Google's OAuth 2.0 token
// endpoint (endpoint "oauth2": the service-account JWT grant, an authorized
// user's refresh) or to the metadata server (endpoint "metadata"). The
// endpoint names are those of --endpoint; nothing secret is reported.
struct TokenRequestReport {
  std::string_view endpoint;  // "oauth2" | "metadata"
  // The HTTP status, or 0 when there was no HTTP answer (then `failure`
  // says why, as for RequestReport).
  int http_status = 0;
  std::string_view failure;
  std::chrono::duration<double> elapsed{0};
};

class Telemetry {
 public:
  virtual ~Telemetry() = default;
  virtual void RequestDone(const RequestReport& report) = 0;
  // Token requests are not API calls of a REST client: a sink that does
  // not count them may leave this as it is.
  virtual void TokenRequestDone(const TokenRequestReport& /*report*/) {}
  // `id` is unique per wait within the process; Started and Finished come
  // in pairs for every wait, whatever its outcome.
  virtual void OperationWaitStarted(std::uint64_t id, Api api, std::string_view started_by) = 0;
  virtual void OperationWaitFinished(std::uint64_t id, const OperationWaitReport& report) = 0;
};

// The label for a transport failure without an HTTP answer, from the Status
// the HTTP client returned: "timeout", "tls_error", "cancelled" or
// "connection_error".
std::string_view TransportFailureLabel(const Status& status);

}  // namespace dbconnd::gcp
