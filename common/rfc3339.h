#pragma once
// RFC 3339 instants, as Google's JSON Timestamp fields and the intent files
// write them ("2025-12-31T23:59:59Z", "2025-12-31T18:59:59.5-05:00"). Two
// spellings of the same instant compare equal once parsed, which a string
// comparison gets wrong. Linear in the input, no locale, no libc time zone.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace dbconnd {

using SystemTime = std::chrono::system_clock::time_point;

// The instant `text` names; nullopt unless it is a full RFC 3339 date-time
// (date, 'T', time, optional fraction of 1..9 digits, 'Z' or ±hh:mm). A leap
// second (:60) is read as the first second of the next minute.
std::optional<SystemTime> ParseRfc3339(std::string_view text);

// "2025-12-31T23:59:59Z" (UTC, whole seconds), or with `fraction_digits`
// (1..9) of the second, truncated: 3 gives "….123Z" (logs, the journal,
// Google's own timestamps), 6 gives Kubernetes' MicroTime "….123456Z".
std::string FormatRfc3339(SystemTime t, int fraction_digits = 0);

// Seconds since the Unix epoch, for Prometheus timestamps.
double UnixSeconds(SystemTime t);

}  // namespace dbconnd
