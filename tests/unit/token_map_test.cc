#include "topic/token_map.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>

namespace eventmesh {
namespace {

TEST(TokenMap, StartsEmptyWithoutATable) {
  TokenMap<int> map;
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.capacity(), 0u);
  EXPECT_EQ(map.Find("a"), nullptr);
  EXPECT_FALSE(map.Erase("a"));
}

TEST(TokenMap, FindsWhatWasInserted) {
  TokenMap<int> map;
  map.FindOrInsert("orders") = 1;
  map.FindOrInsert("payments") = 2;
  ASSERT_NE(map.Find("orders"), nullptr);
  EXPECT_EQ(*map.Find("orders"), 1);
  EXPECT_EQ(*map.Find("payments"), 2);
  EXPECT_EQ(map.Find("order"), nullptr);
  EXPECT_EQ(map.Find(""), nullptr);
  EXPECT_EQ(map.size(), 2u);
}

TEST(TokenMap, FindOrInsertReturnsTheExistingValue) {
  TokenMap<int> map;
  map.FindOrInsert("a") = 5;
  EXPECT_EQ(map.FindOrInsert("a"), 5);
  EXPECT_EQ(map.size(), 1u);
}

TEST(TokenMap, OneEntryUsesOneSlotAndMoreStayUnderThreeQuarters) {
  TokenMap<int> map;
  map.FindOrInsert("a");
  EXPECT_EQ(map.capacity(), 1u);
  EXPECT_EQ(map.Find("b"), nullptr);  // a full one-slot table
  EXPECT_FALSE(map.Erase("b"));
  for (int i = 0; i < 100; ++i) {
    map.FindOrInsert("t" + std::to_string(i));
    EXPECT_LE(map.size() * 4, map.capacity() * 3);
  }
}

TEST(TokenMap, ShrinksWhenMostlyEmptiedAndFreesWhenEmpty) {
  TokenMap<int> map;
  for (int i = 0; i < 1000; ++i) map.FindOrInsert(std::to_string(i)) = i;
  size_t full = map.capacity();
  for (int i = 0; i < 990; ++i) ASSERT_TRUE(map.Erase(std::to_string(i)));
  EXPECT_LT(map.capacity(), full / 8);
  for (int i = 990; i < 1000; ++i) {
    ASSERT_NE(map.Find(std::to_string(i)), nullptr);
    EXPECT_EQ(*map.Find(std::to_string(i)), i);
  }
  for (int i = 990; i < 1000; ++i) ASSERT_TRUE(map.Erase(std::to_string(i)));
  EXPECT_EQ(map.capacity(), 0u);
}

TEST(TokenMap, HoldsMoveOnlyValuesAndMovesWithThem) {
  TokenMap<std::unique_ptr<int>> map;
  map.FindOrInsert("a") = std::make_unique<int>(1);
  TokenMap<std::unique_ptr<int>> moved(std::move(map));
  EXPECT_TRUE(map.empty());
  ASSERT_NE(moved.Find("a"), nullptr);
  EXPECT_EQ(**moved.Find("a"), 1);
}

// Random inserts and erases over a small key space, so probe runs form and
// erasing has to shift entries back; the map must agree with std::map.
TEST(TokenMap, AgreesWithStdMapUnderRandomChurn) {
  std::mt19937 rng(7);
  TokenMap<int> map;
  std::map<std::string, int> model;
  for (int step = 0; step < 50000; ++step) {
    std::string key = "k" + std::to_string(rng() % 300);
    if (rng() % 3 == 0) {
      ASSERT_EQ(map.Erase(key), model.erase(key) == 1) << key;
    } else {
      map.FindOrInsert(key) = step;
      model[key] = step;
    }
    ASSERT_EQ(map.size(), model.size());
  }
  for (int k = 0; k < 300; ++k) {
    std::string key = "k" + std::to_string(k);
    auto it = model.find(key);
    const int* found = map.Find(key);
    if (it == model.end()) {
      EXPECT_EQ(found, nullptr) << key;
    } else {
      ASSERT_NE(found, nullptr) << key;
      EXPECT_EQ(*found, it->second);
    }
  }
  size_t visited = 0;
  map.ForEach([&](std::string_view token, int value) {
    ++visited;
    EXPECT_EQ(model.at(std::string(token)), value);
  });
  EXPECT_EQ(visited, model.size());
}

}  // namespace
}  // namespace eventmesh
