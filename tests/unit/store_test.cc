// Behaviour every Store engine shares, run against each engine.

#include "eventmesh/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "eventmesh/clock.h"
#include "unit/store_test_util.h"

namespace eventmesh {
namespace {

using testing::AppendAndWait;
using testing::AppendOne;
using testing::MakeEvent;
using testing::PutStateAndWait;
using testing::TempDir;

enum class Engine { kMemory, kLmdb };

std::string EngineName(const ::testing::TestParamInfo<Engine>& info) {
  return info.param == Engine::kMemory ? "Memory" : "Lmdb";
}

class StoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override { options_.initial_map_bytes = 8ull << 20; }

  // Opens the store under test with `options_`.
  std::unique_ptr<Store> Open() { return NewMemoryStore(options_); }

  void AppendN(Store& store, const std::string& topic, int n,
               const std::string& data = "payload") {
    std::vector<std::shared_ptr<Event>> events;
    for (int i = 0; i < n; ++i) {
      events.push_back(
          MakeEvent(topic, topic + "-" + std::to_string(next_id_++), data));
    }
    for (const AppendOutcome& o : AppendAndWait(store, std::move(events))) {
      ASSERT_TRUE(o.status.ok()) << o.status.ToString();
    }
  }

  StoreOptions options_;
  TempDir dir_;
  int next_id_ = 0;
};

TEST_P(StoreTest, AppendAssignsSequencesFromOnePerTopic) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::vector<std::shared_ptr<Event>> events = {
      MakeEvent("orders.created", "1"), MakeEvent("orders.paid", "2"),
      MakeEvent("orders.created", "3")};
  auto kept = events;
  auto outcomes = AppendAndWait(*store, std::move(events));
  ASSERT_EQ(outcomes.size(), 3u);
  for (const auto& o : outcomes) EM_ASSERT_OK(o.status);
  EXPECT_EQ(outcomes[0].sequence, 1u);
  EXPECT_EQ(outcomes[1].sequence, 1u);
  EXPECT_EQ(outcomes[2].sequence, 2u);
  EXPECT_LT(outcomes[0].position, outcomes[1].position);
  EXPECT_LT(outcomes[1].position, outcomes[2].position);
  // The events themselves carry what the store assigned.
  EXPECT_EQ(kept[2]->sequence, 2u);
  EXPECT_GT(kept[2]->stored_at_nanos, 0);
  EXPECT_LE(kept[0]->stored_at_nanos, kept[2]->stored_at_nanos);
  EM_EXPECT_OK(store->Close());
}

TEST_P(StoreTest, AppendWithoutTopicFailsAndStoresNothing) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto outcome = AppendOne(*store, MakeEvent("", "x"));
  EXPECT_EQ(outcome.status.code(), StatusCode::kInvalidArgument);
  auto topics = store->Topics();
  ASSERT_TRUE(topics.ok());
  EXPECT_TRUE(topics->empty());
}

TEST_P(StoreTest, DoneCallbacksRunOneAtATimeInLogOrder) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 300;
  std::mutex mu;
  std::vector<uint64_t> seen;
  std::atomic<int> running{0};
  std::atomic<bool> overlapped{false};
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<std::shared_ptr<Event>> events{
            MakeEvent("t" + std::to_string(t), std::to_string(t * 10000 + i))};
        store->Append(std::move(events), Durability::kNone,
                      [&](std::vector<AppendOutcome>& outcomes) {
                        if (running.fetch_add(1) != 0) overlapped = true;
                        {
                          std::lock_guard<std::mutex> lock(mu);
                          seen.push_back(outcomes[0].position);
                        }
                        running.fetch_sub(1);
                        finished.fetch_add(1);
                      });
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < 3000 && finished < kThreads * kPerThread; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(finished.load(), kThreads * kPerThread);
  EXPECT_FALSE(overlapped.load());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

TEST_P(StoreTest, ReadFiltersByPatternAndResumes) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 10; ++i) {
    AppendN(*store, i % 2 ? "a.odd" : "a.even", 1);
    AppendN(*store, "b.x", 1);
  }
  std::vector<LogRecord> out;
  uint64_t next = 0;
  EM_ASSERT_OK(store->Read(0, "a.*", 3, 1000, &out, &next));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].event->topic, "a.even");
  EXPECT_EQ(out[1].event->topic, "a.odd");
  EXPECT_EQ(out[2].event->sequence, 2u);
  EXPECT_EQ(next, out[2].position + 1);

  // Continue from `next` to the end.
  EM_ASSERT_OK(store->Read(next, "a.>", 100, 1000, &out, &next));
  EXPECT_EQ(out.size(), 10u);
  EXPECT_EQ(next, store->Stats().next_position);
  for (size_t i = 1; i < out.size(); ++i) {
    EXPECT_LT(out[i - 1].position, out[i].position);
  }

  // max_scan bounds the work even when nothing matches.
  out.clear();
  EM_ASSERT_OK(store->Read(0, "nothing.here", 100, 5, &out, &next));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(next, 6u);
  EXPECT_FALSE(store->Read(0, "", 1, 1, &out, &next).ok());
}

TEST_P(StoreTest, ReadReturnsEventsAsAppended) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto event = MakeEvent("x.y", "id-1", std::string("\0\x01\xff binary", 10));
  event->subject = "subj";
  event->SetExtension("traceparent", "00-abc");
  auto outcome = AppendOne(*store, event);
  EM_ASSERT_OK(outcome.status);
  std::vector<LogRecord> out;
  uint64_t next = 0;
  EM_ASSERT_OK(store->Read(0, ">", 10, 10, &out, &next));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].position, outcome.position);
  EXPECT_TRUE(*out[0].event == *event);
}

TEST_P(StoreTest, ReadTopicAndPositionOfSequence) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  AppendN(*store, "t.one", 5);
  AppendN(*store, "t.two", 5);
  AppendN(*store, "t.one", 5);
  std::vector<LogRecord> out;
  EM_ASSERT_OK(store->ReadTopic("t.one", 4, 4, &out));
  ASSERT_EQ(out.size(), 4u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].event->sequence, 4 + i);
    EXPECT_EQ(out[i].event->topic, "t.one");
  }
  EXPECT_EQ(out[1].position, 5u);
  EXPECT_EQ(out[2].position, 11u);  // after five of t.two

  auto pos = store->PositionOfSequence("t.one", 6);
  ASSERT_TRUE(pos.ok());
  EXPECT_EQ(*pos, 11u);
  EXPECT_EQ(store->PositionOfSequence("t.one", 11).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store->PositionOfSequence("t.none", 1).status().code(),
            StatusCode::kNotFound);
  out.clear();
  EM_ASSERT_OK(store->ReadTopic("t.none", 1, 4, &out));
  EXPECT_TRUE(out.empty());
}

TEST_P(StoreTest, PositionAtTimeFindsFirstStoredAtOrAfter) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  AppendN(*store, "t", 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  int64_t middle = WallNanos();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  AppendN(*store, "t", 3);
  auto pos = store->PositionAtTime(middle);
  ASSERT_TRUE(pos.ok());
  EXPECT_EQ(*pos, 4u);
  EXPECT_EQ(*store->PositionAtTime(0), 1u);
  EXPECT_EQ(*store->PositionAtTime(WallNanos() + 1000000000), 7u);
}

TEST_P(StoreTest, DuplicateReturnsFirstSequenceAndStoresNothing) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto first = AppendOne(*store, MakeEvent("d", "same"));
  EM_ASSERT_OK(first.status);
  AppendN(*store, "d", 2);
  auto again = AppendOne(*store, MakeEvent("d", "same"));
  EM_ASSERT_OK(again.status);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.sequence, first.sequence);
  EXPECT_EQ(again.position, first.position);
  // Same id from another source is a different event.
  auto other = AppendOne(*store, MakeEvent("d", "same", "p", "/other"));
  EXPECT_FALSE(other.duplicate);
  // Two copies inside one append: the second is the duplicate.
  auto both =
      AppendAndWait(*store, {MakeEvent("d", "pair"), MakeEvent("d", "pair")});
  ASSERT_EQ(both.size(), 2u);
  EXPECT_FALSE(both[0].duplicate);
  EXPECT_TRUE(both[1].duplicate);
  EXPECT_EQ(both[1].sequence, both[0].sequence);
  auto topics = store->Topics();
  ASSERT_TRUE(topics.ok());
  ASSERT_EQ(topics->size(), 1u);
  EXPECT_EQ((*topics)[0].count, 5u);
  EXPECT_EQ(store->Stats().duplicates, 2u);
}

TEST_P(StoreTest, DuplicateOutsideWindowIsStoredAnew) {
  options_.dedup_window = std::chrono::milliseconds(30);
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto first = AppendOne(*store, MakeEvent("d", "same"));
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  auto again = AppendOne(*store, MakeEvent("d", "same"));
  EM_ASSERT_OK(again.status);
  EXPECT_FALSE(again.duplicate);
  EXPECT_EQ(again.sequence, first.sequence + 1);
}

TEST_P(StoreTest, DedupOffStoresEveryCopy) {
  options_.dedup_window = std::chrono::milliseconds(0);
  auto store = Open();
  ASSERT_NE(store, nullptr);
  AppendOne(*store, MakeEvent("d", "same"));
  auto again = AppendOne(*store, MakeEvent("d", "same"));
  EXPECT_FALSE(again.duplicate);
  EXPECT_EQ(again.sequence, 2u);
}

TEST_P(StoreTest, RetentionByCountKeepsTheNewest) {
  options_.retention = {{"keep.*", std::chrono::milliseconds(0), 0, 10}};
  options_.retention_interval = std::chrono::milliseconds(10);
  auto store = Open();
  ASSERT_NE(store, nullptr);
  AppendN(*store, "keep.few", 25);
  AppendN(*store, "other", 25);
  // The LMDB engine trims in the background: wait (bounded) for it.
  std::vector<TopicInfo> topics;
  for (int i = 0; i < 500; ++i) {
    topics = store->Topics().value();
    if (topics[0].count == 10) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(topics.size(), 2u);
  EXPECT_EQ(topics[0].topic, "keep.few");
  EXPECT_EQ(topics[0].count, 10u);
  EXPECT_EQ(topics[0].first_sequence, 16u);
  EXPECT_EQ(topics[0].last_sequence, 25u);
  EXPECT_EQ(topics[1].count, 25u);
  std::vector<LogRecord> out;
  EM_ASSERT_OK(store->ReadTopic("keep.few", 1, 100, &out));
  ASSERT_EQ(out.size(), 10u);
  EXPECT_EQ(out[0].event->sequence, 16u);
  // Sequences continue after the trimmed ones.
  AppendN(*store, "keep.few", 1);
  EXPECT_EQ(store->Topics().value()[0].last_sequence, 26u);
}

// Retention removes events, not what was published: a copy of a removed
// event is still a duplicate within the window, and gets its sequence.
TEST_P(StoreTest, DuplicateOfAnEventRetentionRemovedKeepsItsSequence) {
  options_.retention = {{"keep.*", std::chrono::milliseconds(0), 0, 2}};
  options_.retention_interval = std::chrono::milliseconds(10);
  auto store = Open();
  ASSERT_NE(store, nullptr);
  AppendN(*store, "keep.few", 6);  // ids keep.few-0 .. keep.few-5
  uint64_t count = 0;
  for (int i = 0; i < 500; ++i) {
    count = store->Topics().value()[0].count;
    if (count == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(count, 2u);
  auto again = AppendOne(*store, MakeEvent("keep.few", "keep.few-1"));
  EM_ASSERT_OK(again.status);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.sequence, 2u);
  auto fresh = AppendOne(*store, MakeEvent("keep.few", "keep.few-6"));
  EXPECT_FALSE(fresh.duplicate);
  EXPECT_EQ(fresh.sequence, 7u);
}

TEST_P(StoreTest, RetentionByBytesStaysUnderTheLimit) {
  options_.retention = {{">", std::chrono::milliseconds(0), 4000, 0}};
  options_.retention_interval = std::chrono::milliseconds(10);
  auto store = Open();
  ASSERT_NE(store, nullptr);
  AppendN(*store, "big", 40, std::string(500, 'x'));
  std::vector<TopicInfo> topics;
  for (int i = 0; i < 500; ++i) {
    topics = store->Topics().value();
    if (topics[0].bytes <= 4000) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(topics.size(), 1u);
  EXPECT_LE(topics[0].bytes, 4000u);
  EXPECT_GE(topics[0].count, 4u);
  EXPECT_LT(topics[0].count, 8u);
  EXPECT_EQ(topics[0].last_sequence, 40u);
}

TEST_P(StoreTest, RetentionByAgeRemovesOldEvents) {
  options_.retention = {{">", std::chrono::milliseconds(50), 0, 0}};
  options_.retention_interval = std::chrono::milliseconds(10);
  auto store = Open();
  ASSERT_NE(store, nullptr);
  AppendN(*store, "old", 5);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  AppendN(*store, "old", 2);
  std::vector<TopicInfo> topics;
  for (int i = 0; i < 500; ++i) {
    topics = store->Topics().value();
    if (topics[0].count <= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(topics.size(), 1u);
  EXPECT_EQ(topics[0].count, 2u);
  EXPECT_EQ(topics[0].first_sequence, 6u);
  std::vector<LogRecord> out;
  uint64_t next = 0;
  EM_ASSERT_OK(store->Read(0, ">", 100, 100, &out, &next));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].event->sequence, 6u);
}

TEST_P(StoreTest, StateRecordsPutGetListDelete) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EM_ASSERT_OK(PutStateAndWait(*store, "group/a", "1"));
  EM_ASSERT_OK(PutStateAndWait(*store, "group/b", "2"));
  EM_ASSERT_OK(PutStateAndWait(*store, "other/c", "3"));
  EM_ASSERT_OK(PutStateAndWait(*store, "group/a", "10"));
  EXPECT_EQ(store->GetState("group/a").value(), "10");
  auto list = store->ListState("group/");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].first, "group/a");
  EXPECT_EQ((*list)[1].second, "2");
  EM_ASSERT_OK(PutStateAndWait(*store, "group/a", ""));
  EXPECT_EQ(store->GetState("group/a").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->ListState("").value().size(), 2u);
  EXPECT_EQ(PutStateAndWait(*store, "", "x").code(),
            StatusCode::kInvalidArgument);
}

TEST_P(StoreTest, DeleteTopicRemovesItsRecordsOnly) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  AppendN(*store, "gone", 20);
  AppendN(*store, "stays", 3);
  EM_ASSERT_OK(store->DeleteTopic("gone"));
  EXPECT_EQ(store->DeleteTopic("gone").code(), StatusCode::kNotFound);
  auto topics = store->Topics().value();
  ASSERT_EQ(topics.size(), 1u);
  EXPECT_EQ(topics[0].topic, "stays");
  std::vector<LogRecord> out;
  uint64_t next = 0;
  EM_ASSERT_OK(store->Read(0, ">", 100, 100, &out, &next));
  ASSERT_EQ(out.size(), 3u);
  // A deleted topic starts again from sequence 1.
  auto outcome = AppendOne(*store, MakeEvent("gone", "new"));
  EM_ASSERT_OK(outcome.status);
  EXPECT_EQ(outcome.sequence, 1u);
}

TEST_P(StoreTest, PurgeTopicKeepsTheTopicAndItsNumbering) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  AppendN(*store, "gone", 5);  // ids gone-0 .. gone-4
  AppendN(*store, "stays", 2);
  EM_ASSERT_OK(store->PurgeTopic("gone"));
  EXPECT_EQ(store->PurgeTopic("gone").code(), StatusCode::kNotFound);
  EXPECT_EQ(store->PurgeTopic("never").code(), StatusCode::kNotFound);

  auto topics = store->Topics().value();
  ASSERT_EQ(topics.size(), 2u);
  EXPECT_EQ(topics[0].topic, "gone");
  EXPECT_EQ(topics[0].count, 0u);
  EXPECT_EQ(topics[0].bytes, 0u);
  EXPECT_EQ(topics[0].last_sequence, 5u);
  std::vector<LogRecord> out;
  uint64_t next = 0;
  EM_ASSERT_OK(store->Read(0, ">", 100, 100, &out, &next));
  ASSERT_EQ(out.size(), 2u);

  // Numbering goes on, and the removed ids are no longer duplicates.
  auto outcome = AppendOne(*store, MakeEvent("gone", "gone-0"));
  EM_ASSERT_OK(outcome.status);
  EXPECT_FALSE(outcome.duplicate);
  EXPECT_EQ(outcome.sequence, 6u);
  out.clear();
  EM_ASSERT_OK(store->ReadTopic("gone", 1, 100, &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event->sequence, 6u);
}

TEST_P(StoreTest, AppendAfterCloseFailsWithClosed) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  AppendN(*store, "t", 1);
  EM_ASSERT_OK(store->Close());
  EM_ASSERT_OK(store->Close());
  auto outcome = AppendOne(*store, MakeEvent("t", "late"));
  EXPECT_EQ(outcome.status.code(), StatusCode::kClosed);
  EXPECT_EQ(PutStateAndWait(*store, "k", "v").code(), StatusCode::kClosed);
  EXPECT_EQ(store->GetState("k").status().code(), StatusCode::kClosed);
}

TEST_P(StoreTest, StatsCountAppends) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  AppendN(*store, "t", 7);
  StoreStats stats = store->Stats();
  EXPECT_EQ(stats.appended, 7u);
  EXPECT_EQ(stats.first_position, 1u);
  EXPECT_EQ(stats.next_position, 8u);
  EXPECT_GT(stats.bytes_used, 0u);
  EM_EXPECT_OK(store->Flush());
}

TEST(Durability, NamesRoundTrip) {
  for (Durability d :
       {Durability::kSync, Durability::kBatch, Durability::kNone}) {
    Durability parsed;
    ASSERT_TRUE(ParseDurability(DurabilityName(d), &parsed));
    EXPECT_EQ(parsed, d);
  }
  Durability unused;
  EXPECT_FALSE(ParseDurability("fsync", &unused));
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreTest,
                         ::testing::Values(Engine::kMemory, Engine::kLmdb),
                         EngineName);

}  // namespace
}  // namespace eventmesh
