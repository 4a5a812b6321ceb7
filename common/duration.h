#pragma once
// The one duration grammar of every flag and file: one or more
// <digits><unit> terms, units h, m, s, ms, each at most once and from the
// largest down, e.g. "500ms", "90s", "5m", "1h30m", "1h30m10s", "2s500ms".
// A bare number, a sign, spaces, fractions or other units are refused with a
// message that shows the accepted forms. Scanned once, left to right; the
// input is bounded (64 characters) and every sum is checked against
// `max` before it is formed, so no value overflows.

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

namespace dbconnd {

struct DurationBounds {
  std::chrono::milliseconds min{1};
  // About 100 years by default: far below where milliseconds overflow, and
  // far above any sensible setting. Callers set tighter limits.
  std::chrono::milliseconds max{std::chrono::hours(24 * 365 * 100)};
};

// INVALID_ARGUMENT naming `what` (e.g. "--resync") when `text` is not in the
// grammar or falls outside `bounds`.
StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string_view what,
                                                  DurationBounds bounds = {});

// The shortest form in the grammar ("1h30m", "500ms", "0s").
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace dbconnd
