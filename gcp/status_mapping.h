#pragma once
// One place where Google's HTTP error replies become Status values
// (CONVENTIONS.md rule 4). Understands the JSON error body of every API we
// call: Cloud SQL's legacy `errors[]` list, google.rpc.Status `details[]`
// (ErrorInfo, RetryInfo) used by Run / VPC Access, Compute's 403
// rateLimitExceeded, and the OAuth token endpoint's {error, error_description}.
// See shared gcp-api/REFERENCE.md §6.
//
// Messages never carry request headers, and non-JSON bodies are reduced to a
// short, redacted summary so a misbehaving proxy that echoes a request can
// not leak a bearer token into a log line.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace dbconnd::gcp {

struct GoogleError {
  Status status;
  // google.rpc.RetryInfo.retryDelay, when the server sent one.
  std::optional<std::chrono::milliseconds> retry_delay;
};

// Maps a non-2xx reply. `context` (e.g. "sqladmin GET v1/projects/p/instances/i")
// prefixes the message. The canonical code comes from error.status when
// present, else from the HTTP status; 403 with reason rateLimitExceeded (how
// Compute reports rate-quota overflow) becomes RESOURCE_EXHAUSTED.
GoogleError MapHttpError(int http_status, std::string_view body, std::string_view context = {});

// Convenience: MapHttpError(...).status.
Status StatusFromHttp(int http_status, std::string_view body, std::string_view context = {});

// Maps the JSON text of a google.rpc.Status object ({code, message, details})
// as found in a finished google.longrunning.Operation's `error`.
Status StatusFromRpcStatusJson(std::string_view json_text);

// Parses a google.protobuf.Duration in JSON form ("3.5s", "0.250s").
std::optional<std::chrono::milliseconds> ParseProtoDuration(std::string_view text);

// A printable, truncated, redacted excerpt of a body that is not JSON.
std::string SummarizeBody(std::string_view body, size_t max_chars = 160);

// Removes things that look like credentials: OAuth access tokens ("ya29."),
// JWTs, PEM blocks, refresh tokens ("1//"), "Bearer x", and each exact string
// in `secrets`. Applied to every server-provided message we keep.
std::string RedactSecrets(std::string_view text, const std::vector<std::string>& secrets = {});

}  // namespace dbconnd::gcp
