#include "store/dedup_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace eventmesh::store_internal {
namespace {

// The entry for `hash`, or nullptr, looked up as the stores do.
const DedupTable::Entry* Find(DedupTable& table, uint64_t hash) {
  DedupTable::Entry* slot = table.Slot(hash);
  return slot->hash == hash ? slot : nullptr;
}

TEST(DedupTable, FindsWhatWasInsertedAndForgetsExpired) {
  DedupTable table;
  table.Insert({42, 1, 1, 7}, 100);
  table.Insert({43, 2, 1, 8}, 200);
  ASSERT_NE(Find(table, 42), nullptr);
  EXPECT_EQ(Find(table, 42)->position, 1u);
  EXPECT_EQ(Find(table, 44), nullptr);
  table.Expire(150);
  EXPECT_EQ(Find(table, 42), nullptr);
  EXPECT_NE(Find(table, 43), nullptr);
  EXPECT_EQ(table.size(), 1u);
}

TEST(DedupTable, ExpiryKeepsANewerEntryForTheSameHash) {
  DedupTable table;
  table.Insert({5, 1, 1, 1}, 100);
  table.Insert({5, 9, 2, 1}, 300);  // replaced after the first expired
  table.Expire(200);
  ASSERT_NE(Find(table, 5), nullptr);
  EXPECT_EQ(Find(table, 5)->position, 9u);
}

TEST(DedupTable, RollBackRemovesOnlyTheAbortedEntries) {
  DedupTable table;
  table.Insert({1, 1, 1, 1}, 10);
  uint64_t mark = table.mark();
  table.Insert({2, 2, 1, 1}, 20);
  table.Insert({3, 3, 1, 1}, 20);
  table.RollBack(mark, 2);
  EXPECT_NE(Find(table, 1), nullptr);
  EXPECT_EQ(Find(table, 2), nullptr);
  EXPECT_EQ(Find(table, 3), nullptr);
}

// The transaction's first group commit may expire old entries after the
// mark was taken; the rollback must still drop exactly the new ones.
TEST(DedupTable, RollBackAfterAnExpiryDropsOnlyTheNewEntries) {
  DedupTable table;
  for (uint64_t h = 1; h <= 5; ++h) table.Insert({h, h, h, 1}, 10);
  table.Insert({6, 6, 6, 1}, 30);
  uint64_t mark = table.mark();
  table.Expire(20);  // drops 1 to 5
  table.Insert({7, 7, 7, 1}, 40);
  table.Insert({8, 8, 8, 1}, 40);
  table.RollBack(mark, 7);
  EXPECT_EQ(Find(table, 7), nullptr);
  EXPECT_EQ(Find(table, 8), nullptr);
  ASSERT_NE(Find(table, 6), nullptr);
  EXPECT_EQ(table.size(), 1u);
  // The times left behind still expire what remains, and only that.
  table.Insert({9, 9, 9, 1}, 50);
  table.Expire(45);
  EXPECT_EQ(Find(table, 6), nullptr);
  EXPECT_NE(Find(table, 9), nullptr);
}

TEST(DedupTable, SlotThenPutInsertsWithOneProbe) {
  DedupTable table;
  DedupTable::Entry* slot = table.Slot(77);
  EXPECT_EQ(slot->hash, 0u);
  table.Put(slot, {77, 3, 2, 1}, 5);
  slot = table.Slot(77);
  ASSERT_EQ(slot->hash, 77u);
  EXPECT_EQ(slot->position, 3u);
  EXPECT_EQ(table.size(), 1u);
}

// Grows well past the sizes served by huge pages, then expires it all.
TEST(DedupTable, GrowsLargeAndEmptiesAgain) {
  DedupTable table;
  constexpr uint64_t kEntries = 300000;
  for (uint64_t i = 1; i <= kEntries; ++i) {
    table.Insert({i * 0x9E3779B97F4A7C15ull | 1, i, i, 1},
                 static_cast<int64_t>(i / 1000));
  }
  EXPECT_EQ(table.size(), kEntries);
  for (uint64_t i = 1; i <= kEntries; i += 997) {
    const DedupTable::Entry* e = Find(table, i * 0x9E3779B97F4A7C15ull | 1);
    ASSERT_NE(e, nullptr) << i;
    EXPECT_EQ(e->position, i);
  }
  table.Expire(150);  // the first 149,999
  EXPECT_EQ(table.size(), kEntries - 149999);
  EXPECT_EQ(Find(table, 1 * 0x9E3779B97F4A7C15ull | 1), nullptr);
  table.Expire(1000);
  EXPECT_EQ(table.size(), 0u);
}

// Random inserts, expiries and topic erasures against a std::map model,
// with hashes that collide in their low bits to exercise probe runs.
TEST(DedupTable, MatchesAModelUnderRandomOperations) {
  DedupTable table;
  std::map<uint64_t, DedupTable::Entry> model;
  std::map<uint64_t, int64_t> stored_at;
  std::mt19937_64 rng(7);
  uint64_t position = 0;
  int64_t now = 0;
  for (int step = 0; step < 20000; ++step) {
    uint64_t hash = ((rng() % 64) << 20) | ((rng() % 4) + 1);
    ++now;
    if (rng() % 10 < 7) {
      DedupTable::Entry e{hash, ++position, position,
                          static_cast<uint32_t>(rng() % 3)};
      table.Insert(e, now);
      model[hash] = e;
      stored_at[hash] = now;
    } else if (rng() % 50 == 0) {
      uint32_t topic = rng() % 3;
      table.EraseTopic(topic);
      for (auto it = model.begin(); it != model.end();) {
        it = it->second.topic_id == topic ? model.erase(it) : std::next(it);
      }
    } else {
      int64_t horizon = now - 100;
      table.Expire(horizon);
      for (auto it = model.begin(); it != model.end();) {
        it = stored_at[it->first] < horizon ? model.erase(it) : std::next(it);
      }
    }
    ASSERT_EQ(table.size(), model.size()) << "step " << step;
    for (const auto& [h, e] : model) {
      const DedupTable::Entry* found = Find(table, h);
      ASSERT_NE(found, nullptr) << "step " << step;
      ASSERT_EQ(found->position, e.position);
    }
  }
}

}  // namespace
}  // namespace eventmesh::store_internal
