#include "topic/subscription_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "eventmesh/topic.h"

namespace eventmesh {
namespace {

using Ids = std::vector<uint64_t>;

// The ids matching `topic`, sorted, so tests need not depend on the order.
Ids Matches(const SubscriptionIndex& index, std::string_view topic) {
  Ids out;
  index.Match(topic, &out);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SubscriptionIndex, StartsEmpty) {
  SubscriptionIndex index;
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.node_count(), 1u);
  EXPECT_EQ(Matches(index, "orders.created"), Ids{});
}

TEST(SubscriptionIndex, ExactPatternsMatchOnlyTheirTopic) {
  SubscriptionIndex index;
  index.Add("orders.created", 1);
  index.Add("orders.deleted", 2);
  index.Add("orders", 3);
  EXPECT_EQ(Matches(index, "orders.created"), Ids{1});
  EXPECT_EQ(Matches(index, "orders.deleted"), Ids{2});
  EXPECT_EQ(Matches(index, "orders"), Ids{3});
  EXPECT_EQ(Matches(index, "orders.created.eu"), Ids{});
  EXPECT_EQ(Matches(index, "payments.created"), Ids{});
  EXPECT_EQ(index.size(), 3u);
}

TEST(SubscriptionIndex, StarMatchesExactlyOneToken) {
  SubscriptionIndex index;
  index.Add("orders.*", 1);
  index.Add("*.created", 2);
  index.Add("*", 3);
  index.Add("a.*.c", 4);
  EXPECT_EQ(Matches(index, "orders.created"), (Ids{1, 2}));
  EXPECT_EQ(Matches(index, "orders.deleted"), Ids{1});
  EXPECT_EQ(Matches(index, "orders"), Ids{3});
  EXPECT_EQ(Matches(index, "orders.created.eu"), Ids{});
  EXPECT_EQ(Matches(index, "a.b.c"), Ids{4});
  EXPECT_EQ(Matches(index, "a.b.d"), Ids{});
}

TEST(SubscriptionIndex, GreaterThanMatchesOneOrMoreTokens) {
  SubscriptionIndex index;
  index.Add(">", 1);
  index.Add("orders.>", 2);
  index.Add("orders.*.>", 3);
  EXPECT_EQ(Matches(index, "orders"), Ids{1});
  EXPECT_EQ(Matches(index, "orders.created"), (Ids{1, 2}));
  EXPECT_EQ(Matches(index, "orders.created.eu"), (Ids{1, 2, 3}));
  EXPECT_EQ(Matches(index, "orders.created.eu.1.2"), (Ids{1, 2, 3}));
  EXPECT_EQ(Matches(index, "payments.created"), Ids{1});
}

TEST(SubscriptionIndex, OverlappingPatternsEachReportTheirId) {
  SubscriptionIndex index;
  index.Add("a.b.c", 1);
  index.Add("a.*.c", 2);
  index.Add("*.b.*", 3);
  index.Add("a.>", 4);
  index.Add("*.*.*", 5);
  index.Add("a.b.>", 6);
  index.Add("$SYS.>", 7);
  EXPECT_EQ(Matches(index, "a.b.c"), (Ids{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(Matches(index, "a.x.c"), (Ids{2, 4, 5}));
  EXPECT_EQ(Matches(index, "z.b.q"), (Ids{3, 5}));
  EXPECT_EQ(Matches(index, "a.b"), Ids{4});
  EXPECT_EQ(Matches(index, "$SYS.node.up"), (Ids{5, 7}));
}

TEST(SubscriptionIndex, DuplicatesAreKeptAndReportedEachTime) {
  SubscriptionIndex index;
  index.Add("orders.*", 9);
  index.Add("orders.*", 9);
  index.Add("orders.created", 9);
  EXPECT_EQ(index.size(), 3u);
  EXPECT_EQ(Matches(index, "orders.created"), (Ids{9, 9, 9}));
  ASSERT_TRUE(index.Remove("orders.*", 9));
  EXPECT_EQ(Matches(index, "orders.created"), (Ids{9, 9}));
  EXPECT_EQ(index.size(), 2u);
}

TEST(SubscriptionIndex, KeepsTheOrderOfIdsUnderOnePattern) {
  SubscriptionIndex index;
  for (uint64_t id : {5, 3, 8, 1}) index.Add("a.b", id);
  ASSERT_TRUE(index.Remove("a.b", 3));
  Ids out;
  index.Match("a.b", &out);
  EXPECT_EQ(out, (Ids{5, 8, 1}));
}

TEST(SubscriptionIndex, MatchAppendsToTheOutput) {
  SubscriptionIndex index;
  index.Add("a", 2);
  Ids out = {7};
  index.Match("a", &out);
  EXPECT_EQ(out, (Ids{7, 2}));
}

TEST(SubscriptionIndex, RemoveReportsWhetherAnEntryWasThere) {
  SubscriptionIndex index;
  index.Add("a.*", 1);
  EXPECT_FALSE(index.Remove("a.*", 2));
  EXPECT_FALSE(index.Remove("a.b", 1));
  EXPECT_FALSE(index.Remove("a.>", 1));
  EXPECT_FALSE(index.Remove("a", 1));
  EXPECT_FALSE(index.Remove("a.*.c", 1));
  EXPECT_FALSE(index.Remove("x.*", 1));
  EXPECT_EQ(index.size(), 1u);
  EXPECT_TRUE(index.Remove("a.*", 1));
  EXPECT_FALSE(index.Remove("a.*", 1));
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(Matches(index, "a.b"), Ids{});
}

TEST(SubscriptionIndex, RemovePrunesNodesLeftEmpty) {
  SubscriptionIndex index;
  index.Add("a.b.c.d", 1);
  index.Add("a.*.c", 2);
  index.Add("a.b.>", 3);
  // root, a, a.b, a.b.c, a.b.c.d, a.*, a.*.c
  EXPECT_EQ(index.node_count(), 7u);

  ASSERT_TRUE(index.Remove("a.b.c.d", 1));
  EXPECT_EQ(index.node_count(), 5u);  // a.b stays for "a.b.>"
  ASSERT_TRUE(index.Remove("a.b.>", 3));
  EXPECT_EQ(index.node_count(), 4u);
  ASSERT_TRUE(index.Remove("a.*.c", 2));
  EXPECT_EQ(index.node_count(), 1u);
  EXPECT_TRUE(index.empty());
}

TEST(SubscriptionIndex, KeepsNodesStillInUseByOtherEntries) {
  SubscriptionIndex index;
  index.Add("a.b", 1);
  index.Add("a.b.c", 2);
  ASSERT_TRUE(index.Remove("a.b", 1));
  EXPECT_EQ(index.node_count(), 4u);
  EXPECT_EQ(Matches(index, "a.b.c"), Ids{2});
  EXPECT_EQ(Matches(index, "a.b"), Ids{});
}

TEST(SubscriptionIndex, ChurnDoesNotGrowTheTrie) {
  SubscriptionIndex index;
  index.Add("keep.*", 0);
  size_t nodes = index.node_count();
  for (uint64_t round = 0; round < 1000; ++round) {
    std::string pattern = "churn." + std::to_string(round) + ".*.>";
    index.Add(pattern, round);
    ASSERT_TRUE(index.Remove(pattern, round));
  }
  EXPECT_EQ(index.node_count(), nodes);
  EXPECT_EQ(index.size(), 1u);
}

TEST(SubscriptionIndex, GenerationChangesOnEveryChange) {
  SubscriptionIndex index;
  uint64_t g0 = index.generation();
  index.Add("a", 1);
  uint64_t g1 = index.generation();
  EXPECT_GT(g1, g0);
  EXPECT_FALSE(index.Remove("a", 2));
  EXPECT_EQ(index.generation(), g1);
  EXPECT_TRUE(index.Remove("a", 1));
  EXPECT_GT(index.generation(), g1);
}

TEST(SubscriptionIndexDeathTest, GreaterThanBeforeTheEndStopsTheProcess) {
  SubscriptionIndex index;
  EXPECT_DEATH(index.Add("a.>.b", 1), "'>' is not the last token");
}

// Random names over a small token space, so that patterns and topics meet
// often and '*' and '>' branch at many depths.
class RandomNames {
 public:
  explicit RandomNames(uint32_t seed) : rng_(seed) {}

  std::string Topic() {
    std::string topic;
    size_t tokens = Uniform(1, 5);
    for (size_t i = 0; i < tokens; ++i) {
      if (i > 0) topic += '.';
      topic += Token(i);
    }
    return topic;
  }

  std::string Pattern() {
    std::string pattern;
    size_t tokens = Uniform(1, 5);
    for (size_t i = 0; i < tokens; ++i) {
      if (i > 0) pattern += '.';
      size_t pick = Uniform(0, 9);
      if (pick == 0 && i + 1 == tokens) {
        pattern += '>';
      } else if (pick <= 2) {
        pattern += '*';
      } else {
        pattern += Token(i);
      }
    }
    return pattern;
  }

  size_t Uniform(size_t lo, size_t hi) {
    return std::uniform_int_distribution<size_t>(lo, hi)(rng_);
  }

 private:
  // A token for position `i` (from 0); '$SYS' may only come first.
  std::string_view Token(size_t i) {
    if (i == 0 && Uniform(0, 5) == 0) return "$SYS";
    return kTokens[Uniform(0, kTokens.size() - 1)];
  }

  static constexpr std::array<std::string_view, 4> kTokens = {"a", "b", "c",
                                                              "long-token:1"};
  std::mt19937 rng_;
};

// Every entry whose pattern matches, by scanning them all.
Ids BruteForce(const std::vector<std::pair<std::string, uint64_t>>& entries,
               std::string_view topic) {
  Ids out;
  for (const auto& [pattern, id] : entries) {
    if (PatternMatches(pattern, topic)) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SubscriptionIndex, AgreesWithPatternMatchesOnRandomNames) {
  constexpr uint32_t kSeed = 20261203;
  RandomNames names(kSeed);
  SubscriptionIndex index;
  std::vector<std::pair<std::string, uint64_t>> entries;

  // Grow to 3000 entries, then churn: each round adds or removes entries
  // and checks a batch of random topics against the brute-force answer.
  uint64_t next_id = 0;
  size_t matched = 0;
  for (int round = 0; round < 60; ++round) {
    for (int i = 0; i < 100; ++i) {
      bool remove = round >= 30 && !entries.empty() && names.Uniform(0, 1);
      if (remove) {
        size_t victim = names.Uniform(0, entries.size() - 1);
        ASSERT_TRUE(
            index.Remove(entries[victim].first, entries[victim].second));
        entries.erase(entries.begin() + victim);
        continue;
      }
      std::string pattern = names.Pattern();
      ASSERT_TRUE(ValidatePattern(pattern).ok()) << pattern;
      // Every tenth entry reuses an id, so duplicates are covered too.
      uint64_t id = next_id % 10 == 9 ? next_id / 2 : next_id;
      ++next_id;
      index.Add(pattern, id);
      entries.emplace_back(std::move(pattern), id);
    }
    ASSERT_EQ(index.size(), entries.size());
    for (int i = 0; i < 100; ++i) {
      std::string topic = names.Topic();
      ASSERT_TRUE(ValidateTopic(topic).ok()) << topic;
      Ids expected = BruteForce(entries, topic);
      ASSERT_EQ(Matches(index, topic), expected)
          << "seed " << kSeed << ", round " << round << ", topic " << topic;
      matched += expected.size();
    }
  }
  // The token space is small enough that a topic matches many entries
  // (about 120 on average with this seed), so the comparison has teeth.
  EXPECT_GT(matched, 100000u);

  // Removing everything leaves only the root.
  for (const auto& [pattern, id] : entries) {
    ASSERT_TRUE(index.Remove(pattern, id)) << pattern;
  }
  EXPECT_TRUE(index.empty());
  EXPECT_EQ(index.node_count(), 1u);
}

}  // namespace
}  // namespace eventmesh
