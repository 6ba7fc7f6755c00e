#include "eventmesh/clock.h"

#include <chrono>
#include <cstdio>
#include <cstring>

namespace eventmesh {
namespace {

constexpr int64_t kNanosPerSecond = 1000000000;

// Days since 1970-01-01 of a proleptic Gregorian date.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at text[*i]; false when they are not digits.
bool ReadDigits(std::string_view text, size_t* i, int n, int* value) {
  if (*i + n > text.size()) return false;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    char c = text[*i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *i += n;
  *value = v;
  return true;
}

bool Expect(std::string_view text, size_t* i, char c) {
  if (*i >= text.size() || text[*i] != c) return false;
  ++*i;
  return true;
}

}  // namespace

int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t WallNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatRfc3339(int64_t unix_nanos) {
  int64_t secs = unix_nanos / kNanosPerSecond;
  int64_t frac = unix_nanos % kNanosPerSecond;
  if (frac < 0) {
    frac += kNanosPerSecond;
    --secs;
  }
  auto put = [](std::string* out, size_t at, int64_t value, int digits) {
    for (int i = digits - 1; i >= 0; --i) {
      (*out)[at + static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  // Clients stamp every event they publish, mostly many in one second:
  // the date and time of day are worked out once per second and thread.
  thread_local int64_t cached_secs = INT64_MIN;
  thread_local std::string cached;
  if (secs == cached_secs) {
    std::string out = cached;
    put(&out, 20, frac, 9);
    return out;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  if (y < 0 || y > 9999) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%09lldZ",
                  static_cast<long long>(y), m, d, static_cast<int>(rem / 3600),
                  static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60),
                  static_cast<long long>(frac));
    return buf;
  }
  // The common case by hand: snprintf was a visible part of its cost.
  std::string out = "0000-00-00T00:00:00.000000000Z";
  put(&out, 0, y, 4);
  put(&out, 5, m, 2);
  put(&out, 8, d, 2);
  put(&out, 11, rem / 3600, 2);
  put(&out, 14, rem / 60 % 60, 2);
  put(&out, 17, rem % 60, 2);
  put(&out, 20, frac, 9);
  cached = out;
  cached_secs = secs;
  return out;
}

bool ParseRfc3339(std::string_view text, int64_t* unix_nanos) {
  // A server checks the time of every event it takes, mostly many in one
  // second: the date and time of day last read are kept per thread.
  constexpr size_t kDateTime = 19;  // "2026-12-03T13:45:00"
  thread_local char cached[kDateTime];
  thread_local int64_t cached_secs = 0;
  thread_local bool has_cached = false;
  size_t i = 0;
  int64_t civil_secs;
  if (has_cached && text.size() > kDateTime &&
      std::memcmp(text.data(), cached, kDateTime) == 0) {
    i = kDateTime;
    civil_secs = cached_secs;
  } else {
    int year, month, day, hour, minute, second;
    if (!ReadDigits(text, &i, 4, &year) || !Expect(text, &i, '-') ||
        !ReadDigits(text, &i, 2, &month) || !Expect(text, &i, '-') ||
        !ReadDigits(text, &i, 2, &day)) {
      return false;
    }
    if (i >= text.size() ||
        (text[i] != 'T' && text[i] != 't' && text[i] != ' ')) {
      return false;
    }
    ++i;
    if (!ReadDigits(text, &i, 2, &hour) || !Expect(text, &i, ':') ||
        !ReadDigits(text, &i, 2, &minute) || !Expect(text, &i, ':') ||
        !ReadDigits(text, &i, 2, &second)) {
      return false;
    }
    if (month < 1 || month > 12 || day < 1 ||
        day > static_cast<int>(DaysInMonth(year, month)) || hour > 23 ||
        minute > 59 || second > 60) {
      return false;
    }
    civil_secs = DaysFromCivil(year, month, day) * 86400 + hour * 3600 +
                 minute * 60 + second;
    std::memcpy(cached, text.data(), kDateTime);
    cached_secs = civil_secs;
    has_cached = true;
  }

  // An optional fraction, kept to nanoseconds.
  int64_t nanos = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (digits < 9) nanos = nanos * 10 + (text[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return false;
    for (; digits < 9; ++digits) nanos *= 10;
  }

  // The offset: Z or +hh:mm / -hh:mm.
  int64_t offset_secs = 0;
  if (i >= text.size()) return false;
  if (text[i] == 'Z' || text[i] == 'z') {
    ++i;
  } else if (text[i] == '+' || text[i] == '-') {
    int sign = text[i] == '-' ? -1 : 1;
    ++i;
    int oh, om;
    if (!ReadDigits(text, &i, 2, &oh) || !Expect(text, &i, ':') ||
        !ReadDigits(text, &i, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    offset_secs = sign * (oh * 3600 + om * 60);
  } else {
    return false;
  }
  if (i != text.size()) return false;

  int64_t secs = civil_secs - offset_secs;
  // Years outside about 1678 to 2261 do not fit in int64 nanoseconds. A
  // negative second with a fraction is taken as one second less negative,
  // so that the earliest representable times do not overflow on the way.
  if (secs < 0 && nanos > 0) {
    ++secs;
    nanos -= kNanosPerSecond;
  }
  int64_t result;
  if (__builtin_mul_overflow(secs, kNanosPerSecond, &result) ||
      __builtin_add_overflow(result, nanos, &result)) {
    return false;
  }
  *unix_nanos = result;
  return true;
}

}  // namespace eventmesh
