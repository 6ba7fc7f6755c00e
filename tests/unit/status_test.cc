#include "eventmesh/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "eventmesh/clock.h"
#include "eventmesh/log.h"

namespace eventmesh {
namespace {

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(Status, CarriesCodeAndMessage) {
  Status s = InvalidArgument("topic 'a..b' has an empty token");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.ToString(), "invalid argument: topic 'a..b' has an empty token");
  EXPECT_EQ(s.WithContext("publish").message(),
            "publish: topic 'a..b' has an empty token");
}

TEST(Status, EveryCodeHasADistinctName) {
  std::set<std::string_view> names;
  for (int c = 0; c < kStatusCodeCount; ++c) {
    names.insert(StatusCodeName(static_cast<StatusCode>(c)));
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kStatusCodeCount));
  EXPECT_EQ(names.count("unknown"), 0u);
}

TEST(Result, HoldsValueOrError) {
  Result<std::string> good(std::string("x"));
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, "x");
  Result<std::string> bad(NotFound("no topic 'a'"));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bad.value_or("fallback"), "fallback");
}

TEST(Result, CopiesAndMovesNonTrivialValues) {
  Result<std::unique_ptr<int>> a(std::make_unique<int>(7));
  Result<std::unique_ptr<int>> b(std::move(a));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(**b, 7);
  Result<std::string> c(std::string(100, 'z'));
  Result<std::string> d = c;
  d = Result<std::string>(Timeout("late"));
  EXPECT_EQ(c->size(), 100u);
  EXPECT_EQ(d.status().code(), StatusCode::kTimeout);
}

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

Status UseHalf(int x, int* out) {
  EM_ASSIGN_OR_RETURN(int h, Half(x));
  *out = h;
  return Status::Ok();
}

TEST(Result, AssignOrReturnPropagates) {
  int out = 0;
  EXPECT_TRUE(UseHalf(8, &out).ok());
  EXPECT_EQ(out, 4);
  EXPECT_EQ(UseHalf(3, &out).code(), StatusCode::kInvalidArgument);
}

TEST(Clock, Rfc3339RoundTrips) {
  int64_t ns = 0;
  ASSERT_TRUE(ParseRfc3339("2026-12-03T13:45:00.123456789Z", &ns));
  EXPECT_EQ(FormatRfc3339(ns), "2026-12-03T13:45:00.123456789Z");
  int64_t with_offset = 0;
  ASSERT_TRUE(
      ParseRfc3339("2026-12-03T15:45:00.123456789+02:00", &with_offset));
  EXPECT_EQ(with_offset, ns);
  EXPECT_TRUE(ParseRfc3339("1970-01-01T00:00:00Z", &ns));
  EXPECT_EQ(ns, 0);
}

TEST(Clock, Rfc3339RefusesMalformedText) {
  int64_t ns;
  for (const char* bad :
       {"", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
        "2026-12-03 13:45:00", "2026-12-03T13:45:00.Z",
        "2026-12-03T13:45:00+0200", "2026-12-03T13:45:00Zjunk"}) {
    EXPECT_FALSE(ParseRfc3339(bad, &ns)) << bad;
  }
}

// Both directions keep the last second they worked out; these cross
// seconds, days and the epoch, and repeat a second with other endings.
TEST(Clock, Rfc3339IsRightWhenTheSecondRepeatsAndChanges) {
  const int64_t kSecond = 1000000000;
  const int64_t base = 1796305499 * kSecond;  // 2026-12-03T13:44:59Z
  EXPECT_EQ(FormatRfc3339(base + 1), "2026-12-03T13:44:59.000000001Z");
  EXPECT_EQ(FormatRfc3339(base + 999999999), "2026-12-03T13:44:59.999999999Z");
  EXPECT_EQ(FormatRfc3339(base + kSecond), "2026-12-03T13:45:00.000000000Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatRfc3339(-kSecond), "1969-12-31T23:59:59.000000000Z");
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000000000Z");
  for (int64_t at : {base, base + 7, base + kSecond + 5, int64_t{-3},
                     base + 86400 * kSecond, base + 86400 * kSecond + 1}) {
    int64_t back = 0;
    ASSERT_TRUE(ParseRfc3339(FormatRfc3339(at), &back)) << at;
    EXPECT_EQ(back, at);
  }
  int64_t ns = 0;
  ASSERT_TRUE(ParseRfc3339("2026-12-03T13:45:00.5Z", &ns));
  EXPECT_EQ(ns, base + kSecond + kSecond / 2);
  ASSERT_TRUE(ParseRfc3339("2026-12-03T13:45:00-01:00", &ns));
  EXPECT_EQ(ns, base + kSecond + 3600 * kSecond);
  EXPECT_FALSE(ParseRfc3339("2026-12-03T13:45:00.Z", &ns));
  EXPECT_FALSE(ParseRfc3339("2026-12-03T13:45:00", &ns));
  EXPECT_FALSE(ParseRfc3339("2026-12-03T13:45:00X", &ns));
  EXPECT_FALSE(ParseRfc3339("2026-12-03T13:45:60Zjunk", &ns));
  ASSERT_TRUE(ParseRfc3339("2026-12-04T13:45:00Z", &ns));
  EXPECT_EQ(ns, base + kSecond + 86400 * kSecond);
}

TEST(Clock, MonotonicNeverGoesBack) {
  int64_t a = MonotonicNanos();
  int64_t b = MonotonicNanos();
  EXPECT_LE(a, b);
}

TEST(Log, SilentUntilASinkIsInstalled) {
  std::vector<std::string> seen;
  SetLogSink(
      [&](LogLevel, std::string_view module, std::string_view msg) {
        seen.push_back(std::string(module) + ":" + std::string(msg));
      },
      LogLevel::kWarn);
  SetLogSink(nullptr);
  EXPECT_TRUE(seen.empty());
}

}  // namespace
}  // namespace eventmesh
