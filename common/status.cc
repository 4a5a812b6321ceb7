#include "common/status.h"

#include <array>
#include <cstdio>
#include <cstdlib>

namespace dbconnd {
namespace {
constexpr std::array<std::string_view, 17> kNames = {
    "OK",       "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS",    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL",        "UNAVAILABLE",       "DATA_LOSS",
    "UNAUTHENTICATED"};
}  // namespace

namespace internal {
void CheckFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "dbconnd: CHECK failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}
}  // namespace internal

std::string_view StatusCodeName(StatusCode code) {
  auto i = static_cast<size_t>(code);
  return i < kNames.size() ? kNames[i] : "UNKNOWN";
}

StatusCode StatusCodeFromName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<StatusCode>(i);
  }
  return StatusCode::kUnknown;
}

int HttpStatusForCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kCancelled: return 499;
    case StatusCode::kInvalidArgument:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kOutOfRange: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted: return 409;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
    case StatusCode::kUnknown:
    case StatusCode::kInternal:
    case StatusCode::kDataLoss: return 500;
  }
  return 500;
}

StatusCode CodeForHttpStatus(int s) {
  if (s >= 200 && s < 300) return StatusCode::kOk;
  switch (s) {
    case 400: return StatusCode::kInvalidArgument;
    case 401: return StatusCode::kUnauthenticated;
    case 403: return StatusCode::kPermissionDenied;
    case 404: return StatusCode::kNotFound;
    case 409: return StatusCode::kAborted;
    case 412: return StatusCode::kFailedPrecondition;
    case 429: return StatusCode::kResourceExhausted;
    case 499: return StatusCode::kCancelled;
    case 501: return StatusCode::kUnimplemented;
    case 503: return StatusCode::kUnavailable;
    case 504: return StatusCode::kDeadlineExceeded;
    default: break;
  }
  if (s >= 500) return StatusCode::kInternal;
  if (s >= 400) return StatusCode::kFailedPrecondition;
  return StatusCode::kUnknown;
}

Status&& Status::Annotate(std::string_view context) && {
  if (!ok()) message_ = std::string(context) + ": " + message_;
  return std::move(*this);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(StatusCodeName(code_));
  out += ": ";
  out += message_;
  if (http_status_ != 0 || !reason_.empty()) {
    out += " [";
    if (http_status_ != 0) out += "http " + std::to_string(http_status_);
    if (http_status_ != 0 && !reason_.empty()) out += ", ";
    if (!reason_.empty()) out += "reason " + reason_;
    out += "]";
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const Status& s) { return os << s.ToString(); }

}  // namespace dbconnd
