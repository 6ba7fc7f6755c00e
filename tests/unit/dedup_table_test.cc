#include "store/dedup_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

namespace eventmesh::store_internal {
namespace {

// The sequence remembered for `hash`, or 0, looked up as the stores do.
uint64_t Find(DedupTable& table, uint64_t hash) {
  const DedupTable::Stored* found = table.Found(*table.Slot(hash));
  return found != nullptr ? found->sequence : 0;
}

// The position remembered for `hash`, or 0.
uint64_t PositionOf(DedupTable& table, uint64_t hash) {
  const DedupTable::Stored* found = table.Found(*table.Slot(hash));
  return found != nullptr ? found->position : 0;
}

TEST(DedupTable, FindsWhatWasInsertedAndForgetsExpired) {
  DedupTable table;
  table.Insert(42, 1, 11, 100);
  table.Insert(43, 2, 12, 200);
  EXPECT_EQ(Find(table, 42), 11u);
  EXPECT_EQ(PositionOf(table, 42), 1u);
  EXPECT_EQ(Find(table, 44), 0u);
  table.Expire(150);
  EXPECT_EQ(Find(table, 42), 0u);
  EXPECT_EQ(Find(table, 43), 12u);
}

TEST(DedupTable, ExpiryKeepsANewerEntryForTheSameHash) {
  DedupTable table;
  table.Insert(5, 1, 1, 100);
  table.Insert(5, 9, 2, 300);  // replaced after the first expired
  table.Expire(200);
  EXPECT_EQ(Find(table, 5), 2u);
  EXPECT_EQ(PositionOf(table, 5), 9u);
  EXPECT_EQ(table.size(), 1u);
}

TEST(DedupTable, RollBackRemovesOnlyTheAbortedEntries) {
  DedupTable table;
  table.Insert(1, 1, 1, 10);
  table.Begin();
  table.Insert(2, 2, 1, 20);
  table.Insert(3, 3, 1, 20);
  table.RollBack(2);
  EXPECT_EQ(Find(table, 1), 1u);
  EXPECT_EQ(Find(table, 2), 0u);
  EXPECT_EQ(Find(table, 3), 0u);
  // The next transaction reuses the positions for other events, which
  // Forget finds by position.
  table.Begin();
  table.Insert(4, 2, 2, 30);
  table.Insert(5, 3, 3, 30);
  EXPECT_EQ(Find(table, 4), 2u);
  EXPECT_EQ(PositionOf(table, 4), 2u);
  EXPECT_EQ(Find(table, 2), 0u);
  table.Forget(2);
  EXPECT_EQ(Find(table, 4), 0u);
  EXPECT_EQ(Find(table, 5), 3u);
  table.Forget(1);
  EXPECT_EQ(Find(table, 1), 0u);
}

// The transaction's first group commit may expire old entries after it
// began; the rollback must still drop exactly the new ones.
TEST(DedupTable, RollBackAfterAnExpiryDropsOnlyTheNewEntries) {
  DedupTable table;
  for (uint64_t h = 1; h <= 5; ++h) table.Insert(h, h, h, 10);
  table.Insert(6, 6, 6, 30);
  table.Begin();
  table.Expire(20);  // drops 1 to 5
  table.Insert(7, 7, 7, 40);
  table.Insert(8, 8, 8, 40);
  table.RollBack(7);
  EXPECT_EQ(Find(table, 7), 0u);
  EXPECT_EQ(Find(table, 8), 0u);
  EXPECT_EQ(Find(table, 6), 6u);
  for (uint64_t h = 1; h <= 5; ++h) EXPECT_EQ(Find(table, h), 0u);
  // The times left behind still expire what remains, and only that.
  table.Insert(9, 7, 9, 50);
  table.Expire(45);
  EXPECT_EQ(Find(table, 6), 0u);
  EXPECT_EQ(Find(table, 9), 9u);
}

TEST(DedupTable, SlotThenPutInsertsWithOneProbe) {
  DedupTable table;
  DedupTable::Entry* slot = table.Slot(77);
  EXPECT_EQ(slot->hash, 0u);
  EXPECT_EQ(table.Found(*slot), nullptr);
  table.Put(slot, 77, 3, 2, 5);
  slot = table.Slot(77);
  ASSERT_EQ(slot->hash, 77u);
  ASSERT_NE(table.Found(*slot), nullptr);
  EXPECT_EQ(table.Found(*slot)->position, 3u);
  EXPECT_EQ(table.Found(*slot)->sequence, 2u);
  EXPECT_EQ(table.size(), 1u);
}

TEST(DedupTable, ForgetDropsOnlyThatPosition) {
  DedupTable table;
  table.Insert(10, 1, 1, 5);
  table.Insert(11, 2, 2, 5);
  table.Forget(1);
  table.Forget(99);  // never stored: nothing happens
  EXPECT_EQ(Find(table, 10), 0u);
  EXPECT_EQ(Find(table, 11), 2u);
}

// Events a store did not check for duplicates take no room, however many
// positions they fill between two that were checked, and a forgotten
// position is found among far-apart ones.
TEST(DedupTable, PositionsBetweenInsertsTakeNoRoom) {
  DedupTable table;
  constexpr uint64_t kFar = uint64_t{1} << 40;
  for (uint64_t i = 1; i <= 100; ++i) table.Insert(i, i * kFar, i, 5);
  EXPECT_EQ(Find(table, 1), 1u);
  EXPECT_EQ(PositionOf(table, 100), 100 * kFar);
  table.Forget(37 * kFar);
  table.Forget(37 * kFar + 1);  // never stored: nothing happens
  EXPECT_EQ(Find(table, 37), 0u);
  EXPECT_EQ(Find(table, 36), 36u);
  EXPECT_EQ(Find(table, 38), 38u);
}

// Grows well past the sizes served by huge pages, expires it all, then
// fills again: the dead entries make room instead of the table growing.
TEST(DedupTable, GrowsLargeEmptiesAndReusesItsSlots) {
  DedupTable table;
  constexpr uint64_t kEntries = 300000;
  auto hash = [](uint64_t i) { return i * 0x9E3779B97F4A7C15ull | 1; };
  for (uint64_t i = 1; i <= kEntries; ++i) {
    table.Insert(hash(i), i, i, static_cast<int64_t>(i / 1000));
  }
  EXPECT_EQ(table.size(), kEntries);
  for (uint64_t i = 1; i <= kEntries; i += 997) {
    ASSERT_EQ(Find(table, hash(i)), i) << i;
    EXPECT_EQ(PositionOf(table, hash(i)), i);
  }
  table.Expire(150);  // the first 149,999
  EXPECT_EQ(Find(table, hash(1)), 0u);
  EXPECT_EQ(Find(table, hash(149999)), 0u);
  EXPECT_EQ(Find(table, hash(150000)), 150000u);
  table.Expire(1000);
  for (uint64_t i = 1; i <= kEntries; i += 997) {
    ASSERT_EQ(Find(table, hash(i)), 0u) << i;
  }
  // 300,000 more pass the half-full mark of the 2^20 slots, which
  // reclaims the 300,000 dead entries.
  for (uint64_t i = kEntries + 1; i <= 2 * kEntries; ++i) {
    table.Insert(hash(i), i, i, 2000);
  }
  EXPECT_EQ(table.size(), kEntries);
  for (uint64_t i = kEntries + 1; i <= 2 * kEntries; i += 997) {
    ASSERT_EQ(Find(table, hash(i)), i) << i;
  }
}

// Reopening a store inserts a whole window at once: Reserve sizes the
// table for it, and the inserts then grow nothing.
TEST(DedupTable, ReserveSizesTheTableOnce) {
  DedupTable table;
  auto hash = [](uint64_t i) { return i * 0x9E3779B97F4A7C15ull | 1; };
  table.Insert(hash(1), 1, 1, 5);
  table.Reserve(100000);
  size_t reserved = table.capacity();
  EXPECT_GE(reserved, 2 * 100001u);
  for (uint64_t i = 2; i <= 100001; ++i) table.Insert(hash(i), i, i, 5);
  EXPECT_EQ(table.capacity(), reserved);
  EXPECT_EQ(Find(table, hash(1)), 1u);
  EXPECT_EQ(Find(table, hash(100001)), 100001u);
}

// A steady rate through a fixed window: the sweep erases what expires
// soon after, so the table holds little more than the window and settles
// at a few times its size.
TEST(DedupTable, ASteadyWindowKeepsTheTableSize) {
  DedupTable table;
  constexpr uint64_t kWindow = 10000;
  auto hash = [](uint64_t i) { return i * 0x9E3779B97F4A7C15ull | 1; };
  size_t settled = 0;
  size_t most = 0;
  for (uint64_t i = 1; i <= 1000000; ++i) {
    int64_t now = static_cast<int64_t>(i);
    table.Expire(now - static_cast<int64_t>(kWindow));
    table.Insert(hash(i), i, i, now);
    if (i == 100000) settled = table.capacity();
    if (i > 100000) most = std::max(most, table.size());
  }
  EXPECT_LE(settled, 8 * kWindow);
  EXPECT_EQ(table.capacity(), settled);
  EXPECT_LE(most, kWindow + settled / 4);
  EXPECT_EQ(Find(table, hash(999999)), 999999u);
  EXPECT_EQ(Find(table, hash(980000)), 0u);
}

// Random inserts, expiries, forgets and rolled-back transactions against
// a std::map model, with hashes that collide in their low bits to
// exercise probe runs, the sweep and the rebuilds.
TEST(DedupTable, MatchesAModelUnderRandomOperations) {
  struct Stored {
    uint64_t position;
    uint64_t sequence;
    int64_t stored_at;
  };
  DedupTable table;
  std::map<uint64_t, Stored> model;
  std::mt19937_64 rng(7);
  uint64_t position = 0;
  int64_t now = 0;
  uint64_t txn_start = 0;  // 0: no transaction open
  for (int step = 0; step < 40000; ++step) {
    uint64_t hash = ((rng() % 256) << 20) | ((rng() % 4) + 1);
    now += rng() % 2;
    uint64_t op = rng() % 100;
    if (op < 70) {
      position += 1 + rng() % 2;  // some positions were not checked
      uint64_t sequence = 1 + rng() % 1000;
      table.Insert(hash, position, sequence, now);
      model[hash] = {position, sequence, now};
    } else if (op < 80) {
      int64_t horizon = now - 60;
      table.Expire(horizon);
      std::erase_if(
          model, [&](const auto& kv) { return kv.second.stored_at < horizon; });
    } else if (op < 85 && !model.empty()) {
      auto it = model.begin();
      std::advance(it, rng() % model.size());
      table.Forget(it->second.position);
      model.erase(it);
    } else if (op < 90) {
      table.Begin();
      txn_start = position + 1;
    } else if (op < 93 && txn_start != 0) {
      table.RollBack(txn_start);
      std::erase_if(model, [&](const auto& kv) {
        return kv.second.position >= txn_start;
      });
      position = txn_start - 1;  // the next transaction reuses them
      txn_start = 0;
    }
    ASSERT_GE(table.size(), model.size()) << "step " << step;
    for (const auto& [h, stored] : model) {
      DedupTable::Entry* slot = table.Slot(h);
      const DedupTable::Stored* found = table.Found(*slot);
      ASSERT_NE(found, nullptr) << "step " << step;
      ASSERT_EQ(found->sequence, stored.sequence) << "step " << step;
      ASSERT_EQ(found->position, stored.position) << "step " << step;
    }
    if (!model.contains(hash)) {
      ASSERT_EQ(Find(table, hash), 0u) << "step " << step;
    }
  }
}

}  // namespace
}  // namespace eventmesh::store_internal
