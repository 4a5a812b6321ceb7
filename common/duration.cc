#include "common/duration.h"

#include <cstdint>

namespace dbconnd {
namespace {

constexpr std::size_t kMaxText = 64;

std::string Examples() { return "write e.g. 500ms, 90s, 5m or 1h30m"; }

std::string Quote(std::string_view text) {
  // The text comes from a flag or a file: show it, but never all of a long one.
  if (text.size() > kMaxText) return "\"" + std::string(text.substr(0, kMaxText)) + "…\"";
  return "\"" + std::string(text) + "\"";
}

}  // namespace

StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string_view what,
                                                  DurationBounds bounds) {
  const std::string prefix = std::string(what) + (what.empty() ? "" : ": ");
  if (text.empty()) return InvalidArgumentError(prefix + "empty duration; " + Examples());
  if (text.size() > kMaxText) {
    return InvalidArgumentError(prefix + "duration " + Quote(text) + " is too long; " +
                                Examples());
  }
  // Milliseconds per unit, largest first; a term's unit must come after the
  // previous term's in this list.
  struct Unit {
    std::string_view name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {{"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}};
  const int64_t max = bounds.max.count();
  int64_t total = 0;
  int next_unit = 0;  // index into kUnits of the smallest unit still allowed
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    int64_t n = 0;
    bool too_big = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (INT64_MAX - 9) / 10) too_big = true;
      if (!too_big) n = n * 10 + (text[i] - '0');
      ++i;
    }
    if (i == start) {
      return InvalidArgumentError(prefix + "duration " + Quote(text) +
                                  " must be numbers with units (h, m, s, ms); " + Examples());
    }
    const std::size_t ustart = i;
    while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z') ||
                               (text[i] >= 'A' && text[i] <= 'Z'))) {
      ++i;
    }
    std::string_view unit = text.substr(ustart, i - ustart);
    if (unit.empty()) {
      return InvalidArgumentError(prefix + "duration " + Quote(text) +
                                  " needs a unit after " + std::string(text.substr(start, i - start)) +
                                  " (h, m, s or ms); " + Examples());
    }
    int u = -1;
    for (int k = 0; k < 4; ++k) {
      if (kUnits[k].name == unit) u = k;
    }
    if (u < 0) {
      return InvalidArgumentError(prefix + "duration " + Quote(text) + ": unknown unit \"" +
                                  std::string(unit) + "\" (use h, m, s or ms); " + Examples());
    }
    if (u < next_unit) {
      return InvalidArgumentError(prefix + "duration " + Quote(text) +
                                  ": write each unit once, largest first (e.g. 1h30m10s)");
    }
    next_unit = u + 1;
    // total + n * unit > max, checked without forming the product.
    if (too_big || n > (max - total) / kUnits[u].ms) {
      return InvalidArgumentError(prefix + "duration " + Quote(text) + " is longer than the " +
                                  "maximum " + FormatDuration(bounds.max));
    }
    total += n * kUnits[u].ms;
  }
  if (total < bounds.min.count()) {
    return InvalidArgumentError(prefix + "duration " + Quote(text) + " is shorter than the " +
                                "minimum " + FormatDuration(bounds.min));
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = ms == INT64_MIN ? INT64_MAX : -ms;
  }
  const int64_t h = ms / 3'600'000, m = ms / 60'000 % 60, s = ms / 1000 % 60, r = ms % 1000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s) out += std::to_string(s) + "s";
  if (r) out += std::to_string(r) + "ms";
  return out;
}

}  // namespace dbconnd
