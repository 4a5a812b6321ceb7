#include "gcp/telemetry.h"

namespace dbconnd::gcp {

std::string_view TransportFailureLabel(const Status& status) {
  switch (status.code()) {
    case StatusCode::kDeadlineExceeded: return "timeout";
    case StatusCode::kCancelled: return "cancelled";
    default: return "connection_error";
  }
}

}  // namespace dbconnd::gcp
