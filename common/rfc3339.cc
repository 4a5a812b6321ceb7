#include "common/rfc3339.h"

#include <cstdint>
#include <cstdio>

namespace dbconnd {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant,
// "chrono-Compatible Low-Level Date Algorithms", days_from_civil).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// The inverse, for formatting.
void CivilFromDays(std::int64_t z, std::int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<std::int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool LeapYear(std::int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

unsigned LastDay(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && LeapYear(y) ? 29 : kDays[m - 1];
}

}  // namespace

std::optional<SystemTime> ParseRfc3339(std::string_view s) {
  std::size_t pos = 0;
  auto number = [&](std::size_t n, unsigned* out) {
    if (pos + n > s.size()) return false;
    unsigned v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      char c = s[pos + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    pos += n;
    *out = v;
    return true;
  };
  auto expect = [&](char a, char b = 0) {
    if (pos >= s.size() || (s[pos] != a && (b == 0 || s[pos] != b))) return false;
    ++pos;
    return true;
  };
  unsigned year, month, day, hour, minute, second;
  if (!(number(4, &year) && expect('-') && number(2, &month) && expect('-') && number(2, &day) &&
        expect('T', 't') && number(2, &hour) && expect(':') && number(2, &minute) &&
        expect(':') && number(2, &second))) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > LastDay(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits == 9) return std::nullopt;
      nanos = nanos * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 9; ++i) nanos *= 10;
  }
  std::int64_t offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const bool minus = s[pos] == '-';
    ++pos;
    unsigned oh, om;
    if (!(number(2, &oh) && expect(':') && number(2, &om)) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (minus ? -1 : 1) * static_cast<std::int64_t>(oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const std::int64_t secs = DaysFromCivil(year, month, day) * 86400 + hour * 3600 +
                            minute * 60 + second - offset_minutes * 60;
  // system_clock counts nanoseconds in 64 bits: years past 2262 (or before
  // 1677) do not fit. Such a time is "forever" (or "always past") rather
  // than a wrapped-around instant.
  constexpr std::int64_t kMaxSeconds =
      std::chrono::duration_cast<std::chrono::seconds>(SystemTime::duration::max()).count() - 1;
  if (secs >= kMaxSeconds) return SystemTime::max();
  if (secs <= -kMaxSeconds) return SystemTime::min();
  auto since_epoch = std::chrono::seconds(secs) + std::chrono::nanoseconds(nanos);
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(since_epoch));
}

std::string FormatRfc3339(SystemTime t, int fraction_digits) {
  const auto whole = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch());
  const std::int64_t secs = whole.count();
  std::int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  std::int64_t rem = secs - days * 86400;
  std::int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                        static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                        static_cast<long long>(rem % 3600 / 60),
                        static_cast<long long>(rem % 60));
  std::string out(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  if (fraction_digits > 0) {
    const int digits = fraction_digits > 9 ? 9 : fraction_digits;
    std::int64_t frac = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            t.time_since_epoch() - whole)
                            .count();
    for (int i = digits; i < 9; ++i) frac /= 10;
    std::snprintf(buf, sizeof buf, ".%0*lld", digits, static_cast<long long>(frac));
    out += buf;
  }
  out += 'Z';
  return out;
}

double UnixSeconds(SystemTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace dbconnd
