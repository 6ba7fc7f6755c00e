#include "eventmesh/filter.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "event_samples.h"

namespace eventmesh {
namespace {

using testing::SampleEvent;

// order.created from /shop/orders, extension region=eu1.
const Event& Order() {
  static const Event e = SampleEvent();
  return e;
}

Filter FromJsonOrDie(std::string_view json) {
  Result<Filter> f = Filter::FromJson(json);
  EXPECT_TRUE(f.ok()) << f.status().ToString() << " in " << json;
  return f.ok() ? std::move(f).value() : Filter();
}

std::string JsonError(std::string_view json) {
  Result<Filter> f = Filter::FromJson(json);
  EXPECT_FALSE(f.ok()) << json;
  if (f.ok()) return "";
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  return f.status().message();
}

TEST(Filter, DefaultFilterMatchesEverything) {
  Filter f;
  EXPECT_TRUE(f.MatchesEverything());
  EXPECT_TRUE(f.Matches(Order()));
  EXPECT_TRUE(f.Matches(Event()));
  EXPECT_FALSE(Filter::Exact("type", "x").MatchesEverything());
}

TEST(Filter, ExactMatchesTheWholeValueCaseSensitively) {
  EXPECT_TRUE(Filter::Exact("type", "order.created").Matches(Order()));
  EXPECT_FALSE(Filter::Exact("type", "order").Matches(Order()));
  EXPECT_FALSE(Filter::Exact("type", "Order.Created").Matches(Order()));
  EXPECT_TRUE(Filter::Exact("region", "eu1").Matches(Order()));
}

TEST(Filter, PrefixAndSuffixMatchTheEnds) {
  EXPECT_TRUE(Filter::Prefix("type", "order.").Matches(Order()));
  EXPECT_FALSE(Filter::Prefix("type", "created").Matches(Order()));
  EXPECT_TRUE(Filter::Suffix("type", ".created").Matches(Order()));
  EXPECT_FALSE(Filter::Suffix("type", "order").Matches(Order()));
  EXPECT_TRUE(Filter::Prefix("source", "").Matches(Order()));
  EXPECT_FALSE(Filter::Suffix("type", "x.order.created").Matches(Order()));
}

TEST(Filter, AnAbsentAttributeNeverMatches) {
  Event e = Order();
  e.subject.clear();
  for (const Filter& f :
       {Filter::Exact("subject", ""), Filter::Prefix("subject", ""),
        Filter::Suffix("subject", ""), Filter::Exact("nosuch", "")}) {
    EXPECT_FALSE(f.Matches(e));
    EXPECT_TRUE(Filter::Not(f).Matches(e));
  }
}

TEST(Filter, AllAnyAndNotCombine) {
  const Filter is_order = Filter::Prefix("type", "order.");
  const Filter in_us = Filter::Exact("region", "us1");
  EXPECT_FALSE(Filter::All({is_order, in_us}).Matches(Order()));
  EXPECT_TRUE(Filter::Any({is_order, in_us}).Matches(Order()));
  EXPECT_TRUE(Filter::All({is_order, Filter::Not(in_us)}).Matches(Order()));
  EXPECT_FALSE(Filter::Not(Filter::Any({is_order, in_us})).Matches(Order()));
  // Empty lists: nothing fails "all", nothing satisfies "any".
  EXPECT_TRUE(Filter::All({}).Matches(Order()));
  EXPECT_FALSE(Filter::Any({}).Matches(Order()));
}

TEST(Filter, CopiesShareTheSameConditions) {
  Filter a = Filter::Exact("type", "order.created");
  Filter b = a;
  a = Filter();
  EXPECT_TRUE(b.Matches(Order()));
  EXPECT_TRUE(a.MatchesEverything());
}

TEST(Filter, FromJsonReadsTheSubscriptionsApiForm) {
  const Filter f = FromJsonOrDie(R"([
    {"prefix": {"type": "order."}},
    {"any": [{"exact": {"region": "eu1"}}, {"exact": {"region": "eu2"}}]},
    {"not": {"suffix": {"source": "/test"}}}
  ])");
  EXPECT_TRUE(f.Matches(Order()));
  Event e = Order();
  e.SetExtension("region", "us1");
  EXPECT_FALSE(f.Matches(e));
  e = Order();
  e.source = "/shop/test";
  EXPECT_FALSE(f.Matches(e));
}

TEST(Filter, FromJsonNeedsEveryAttributeOfOneDialectObject) {
  const Filter f =
      FromJsonOrDie(R"([{"exact": {"type": "order.created", "region": "x"}}])");
  EXPECT_FALSE(f.Matches(Order()));
  Event e = Order();
  e.SetExtension("region", "x");
  EXPECT_TRUE(f.Matches(e));
}

TEST(Filter, FromJsonOfAnEmptyArrayMatchesEverything) {
  EXPECT_TRUE(FromJsonOrDie("[]").MatchesEverything());
  EXPECT_TRUE(FromJsonOrDie(" [ ] ").Matches(Event()));
}

TEST(Filter, FromJsonAlsoTakesASingleFilterObject) {
  EXPECT_TRUE(FromJsonOrDie(R"({"exact": {"type": "order.created"}})")
                  .Matches(Order()));
}

TEST(Filter, FromJsonErrorsSayWhatIsWrongAndWhere) {
  EXPECT_EQ(JsonError(R"([{"sql": "type = 'x'"}])"),
            "filter filters[0] uses dialect 'sql', which is not supported; "
            "use exact, prefix, suffix, all, any or not");
  EXPECT_EQ(JsonError(R"([{"exact": {"type": "a"}, "prefix": {"id": "b"}}])"),
            "filter filters[0] must be an object with exactly one dialect: "
            "exact, prefix, suffix, all, any or not");
  EXPECT_NE(JsonError(R"([{"exact": {}}])")
                .find("filter filters[0].exact must be an object of one or "
                      "more attribute names"),
            std::string::npos);
  EXPECT_EQ(JsonError(R"([{"exact": {"type": 5}}])"),
            "filter filters[0].exact gives attribute 'type' a number; values "
            "are strings");
  EXPECT_NE(JsonError(R"([{"all": [{"exact": {"Type": "x"}}]}])")
                .find("filter filters[0].all[0].exact names attribute 'Type', "
                      "which is not a CloudEvents attribute"),
            std::string::npos);
  EXPECT_EQ(JsonError(R"([{"any": {"exact": {"type": "x"}}}])"),
            "filter filters[0].any must be an array of filter objects");
  EXPECT_NE(JsonError(R"([{"not": []}])").find("filters[0].not must be"),
            std::string::npos);
  EXPECT_EQ(JsonError("[1]"),
            "filter filters[0] must be an object with exactly one dialect: "
            "exact, prefix, suffix, all, any or not");
  EXPECT_EQ(JsonError("\"x\""),
            "filters are a JSON array of filter objects, not string");
  EXPECT_NE(JsonError("[{").find("filters are not valid JSON: "),
            std::string::npos);
}

TEST(Filter, FromJsonRefusesDeepNesting) {
  std::string json = "[";
  for (int i = 0; i < 100; ++i) json += R"({"not":)";
  json += R"({"exact":{"type":"x"}})";
  for (int i = 0; i < 100; ++i) json += "}";
  json += "]";
  EXPECT_NE(JsonError(json).find("nesting deeper than"), std::string::npos);
}

TEST(Filter, ToJsonWritesTheSubscriptionsApiForm) {
  EXPECT_EQ(Filter().ToJson(), "[]");
  EXPECT_EQ(Filter::Exact("type", "a\"b").ToJson(),
            R"([{"exact":{"type":"a\"b"}}])");
  EXPECT_EQ(Filter::All({Filter::Prefix("type", "o."),
                         Filter::Not(Filter::Suffix("source", "/t"))})
                .ToJson(),
            R"([{"prefix":{"type":"o."}},{"not":{"suffix":{"source":"/t"}}}])");
  EXPECT_EQ(Filter::Any({Filter(), Filter::Exact("id", "1")}).ToJson(),
            R"([{"any":[{"all":[]},{"exact":{"id":"1"}}]}])");
}

TEST(Filter, ToJsonReadsBackToTheSameConditions) {
  const std::vector<Filter> filters = {
      Filter(),
      Filter::Exact("type", "order.created"),
      Filter::All({}),
      Filter::Any({}),
      Filter::Not(Filter()),
      Filter::All({Filter::Exact("region", "eu1"),
                   Filter::Any({Filter::Prefix("id", "order-"),
                                Filter::Not(Filter::Suffix("type", "x"))})}),
  };
  std::vector<Event> events(3, Order());
  events[1].SetExtension("region", "us1");
  events[2] = Event();
  for (const Filter& f : filters) {
    const Filter back = FromJsonOrDie(f.ToJson());
    EXPECT_EQ(back.ToJson(), f.ToJson());
    for (const Event& e : events) {
      EXPECT_EQ(back.Matches(e), f.Matches(e)) << f.ToJson();
    }
  }
}

TEST(Filter, ToJsonKeepsSeveralAttributesInOneDialectObject) {
  const std::string json =
      R"([{"not":{"exact":{"type":"order.created","region":"eu1"}}}])";
  EXPECT_EQ(FromJsonOrDie(json).ToJson(), json);
  EXPECT_EQ(
      Filter::Any({Filter::All({Filter::Prefix("type", "a"),
                                Filter::Prefix("type", "b")})})
          .ToJson(),
      R"([{"any":[{"all":[{"prefix":{"type":"a"}},{"prefix":{"type":"b"}}]}]}])");
}

TEST(Filter, FiltersAtTheNestingLimitReadBackFromTheirJson) {
  // 30 "not" levels around a two-attribute exact: 63 JSON levels.
  std::string json = "[";
  for (int i = 0; i < 30; ++i) json += R"({"not":)";
  json += R"({"exact":{"type":"x","id":"y"}})";
  json += std::string(30, '}') + "]";
  const Filter f = FromJsonOrDie(json);
  EXPECT_EQ(f.ToJson(), json);
  EXPECT_EQ(FromJsonOrDie(f.ToJson()).ToJson(), json);
}

TEST(Filter, OneFilterCanBeUsedFromManyThreads) {
  const Filter f = FromJsonOrDie(
      R"([{"prefix":{"type":"order."}},{"not":{"exact":{"region":"us1"}}}])");
  std::vector<std::thread> threads;
  std::vector<int> matched(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Filter copy = f;
      for (int i = 0; i < 1000; ++i) matched[t] += copy.Matches(Order());
    });
  }
  for (auto& t : threads) t.join();
  for (int m : matched) EXPECT_EQ(m, 1000);
}

}  // namespace
}  // namespace eventmesh
