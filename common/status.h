#pragma once
// Status and StatusOr: the error currency at every module boundary.
// Codes follow google.rpc.Code so Google API errors map without loss.

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/check.h"

namespace dbconnd {

enum class StatusCode {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "INVALID_ARGUMENT", ... as Google spells them on the wire.
std::string_view StatusCodeName(StatusCode code);
// Inverse of StatusCodeName; kUnknown for names it does not know.
StatusCode StatusCodeFromName(std::string_view name);
// google.rpc.Code → HTTP mapping (AIP-193).
int HttpStatusForCode(StatusCode code);
StatusCode CodeForHttpStatus(int http_status);

// For errors of one HTTP exchange: whether any byte of the request reached
// the wire. kNotSent means the server cannot have seen it (safe to send
// again, whatever the method); kSent means it may have been applied and the
// outcome is unknown: re-observe before deciding, never resend a write
// blindly (RFC 9112 §9.3.1). kUnspecified for statuses not from a transport.
enum class RequestDelivery { kUnspecified = 0, kNotSent = 1, kSent = 2 };

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // HTTP status of the response this came from; 0 when not from HTTP.
  int http_status() const { return http_status_; }
  // Google's machine-readable reason, e.g. "operationInProgress", "staleData",
  // "rateLimitExceeded"; empty when none was given.
  const std::string& reason() const { return reason_; }
  RequestDelivery delivery() const { return delivery_; }
  // True for a transport error after the request's bytes were written.
  bool outcome_unknown() const { return delivery_ == RequestDelivery::kSent; }

  Status& WithHttpStatus(int s) & { http_status_ = s; return *this; }
  Status&& WithHttpStatus(int s) && { http_status_ = s; return std::move(*this); }
  Status& WithReason(std::string r) & { reason_ = std::move(r); return *this; }
  Status&& WithReason(std::string r) && { reason_ = std::move(r); return std::move(*this); }
  Status& WithDelivery(RequestDelivery d) & { delivery_ = d; return *this; }
  Status&& WithDelivery(RequestDelivery d) && { delivery_ = d; return std::move(*this); }
  // Prefixes the message with context ("instances.patch saleor-db-demo: ...").
  Status&& Annotate(std::string_view context) &&;

  // "FAILED_PRECONDITION: message [http 412, reason staleData]"
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_ && a.reason_ == b.reason_ &&
           a.http_status_ == b.http_status_ && a.delivery_ == b.delivery_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  int http_status_ = 0;
  std::string reason_;
  RequestDelivery delivery_ = RequestDelivery::kUnspecified;
};

std::ostream& operator<<(std::ostream& os, const Status& s);

inline Status OkStatus() { return Status(); }
inline Status InvalidArgumentError(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceededError(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status UnauthenticatedError(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
inline Status PermissionDeniedError(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status AbortedError(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status CancelledError(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status UnimplementedError(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status DataLossError(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }

// A value or the Status explaining its absence. Constructing from an OK
// Status is a broken invariant.
template <typename T>
class StatusOr {
 public:
  StatusOr(const T& v) : v_(v) {}                 // NOLINT: implicit by design
  StatusOr(T&& v) : v_(std::move(v)) {}            // NOLINT
  StatusOr(Status s) : v_(std::move(s)) {          // NOLINT
    DBCONND_CHECK(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { DBCONND_CHECK(ok()); return std::get<T>(v_); }
  const T& value() const& { DBCONND_CHECK(ok()); return std::get<T>(v_); }
  T&& value() && { DBCONND_CHECK(ok()); return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace dbconnd

// Returns early with the Status of a failing expression.
#define DBCONND_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::dbconnd::Status _st = (expr);              \
    if (!_st.ok()) return _st;                   \
  } while (0)

#define DBCONND_CO_RETURN_IF_ERROR(expr)         \
  do {                                           \
    ::dbconnd::Status _st = (expr);              \
    if (!_st.ok()) co_return _st;                \
  } while (0)
