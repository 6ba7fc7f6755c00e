// Behaviour specific to the LMDB engine: what survives a reopen, what it
// refuses to open, and how it behaves when its map is full.

#include <gtest/gtest.h>
#include <lmdb.h>

#include <atomic>
#include <fstream>
#include <map>
#include <thread>

#include "eventmesh/store.h"
#include "unit/store_test_util.h"

namespace eventmesh {
namespace {

using testing::AppendAndWait;
using testing::AppendOne;
using testing::MakeEvent;
using testing::PutStateAndWait;
using testing::TempDir;

class LmdbStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { options_.initial_map_bytes = 1ull << 20; }

  std::unique_ptr<Store> Open() {
    auto store = OpenLmdbStore(dir_.path(), options_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Every record of the log, read in pages of `page` records.
  std::vector<LogRecord> ReadAll(Store& store, size_t page = 100) {
    std::vector<LogRecord> out;
    uint64_t next = 0;
    for (int i = 0; i < 100000; ++i) {
      size_t before = out.size();
      Status s = store.Read(next, ">", page, page, &out, &next);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok() || out.size() == before) break;
    }
    return out;
  }

  // Writes `value` under `key` into database `db` (nullptr: the main one)
  // of the environment in the test directory, bypassing the store.
  void WriteRaw(const char* db, const std::string& key,
                const std::string& value) {
    MDB_env* env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    ASSERT_EQ(mdb_env_open(env, dir_.path().c_str(), 0, 0644), 0);
    MDB_txn* txn;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    MDB_dbi dbi;
    ASSERT_EQ(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{value.size(), const_cast<char*>(value.data())};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }

  StoreOptions options_;
  TempDir dir_;
};

TEST_F(LmdbStoreTest, ReopenKeepsAcknowledgedEvents) {
  std::vector<std::shared_ptr<Event>> appended;
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 50; ++i) {
      auto event = MakeEvent(i % 3 ? "a.b" : "c", "id" + std::to_string(i),
                             std::string(i * 7, 'z'));
      appended.push_back(event);
      EM_ASSERT_OK(AppendOne(*store, event).status);
    }
    EM_ASSERT_OK(store->Close());
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto records = ReadAll(*store, 7);
  ASSERT_EQ(records.size(), appended.size());
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_TRUE(*records[i].event == *appended[i]) << "record " << i;
    EXPECT_EQ(records[i].position, i + 1);
  }
}

TEST_F(LmdbStoreTest, SequencesContinueFromOneWithoutGapsAcrossReopens) {
  for (int round = 0; round < 3; ++round) {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    std::vector<std::shared_ptr<Event>> events;
    for (int i = 0; i < 10; ++i) {
      events.push_back(
          MakeEvent(i % 2 ? "x" : "y", std::to_string(round * 100 + i)));
    }
    auto outcomes = AppendAndWait(*store, events);
    for (int i = 0; i < 10; ++i) {
      EM_ASSERT_OK(outcomes[i].status);
      EXPECT_EQ(outcomes[i].sequence, uint64_t(round * 5 + i / 2 + 1));
      EXPECT_EQ(outcomes[i].position, uint64_t(round * 10 + i + 1));
    }
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::vector<LogRecord> out;
  EM_ASSERT_OK(store->ReadTopic("x", 1, 1000, &out));
  ASSERT_EQ(out.size(), 15u);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].event->sequence, i + 1);
  }
  auto topics = store->Topics().value();
  ASSERT_EQ(topics.size(), 2u);
  EXPECT_EQ(topics[0].first_sequence, 1u);
  EXPECT_EQ(topics[0].last_sequence, 15u);
}

TEST_F(LmdbStoreTest, PurgedTopicKeepsItsNumberingAcrossReopen) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 3000; ++i) {  // more than one removal chunk
      EM_ASSERT_OK(AppendOne(*store, MakeEvent("p", "p-" + std::to_string(i)),
                             Durability::kNone)
                       .status);
    }
    EM_ASSERT_OK(AppendOne(*store, MakeEvent("q", "q-0")).status);
    EM_ASSERT_OK(store->PurgeTopic("p"));
    EM_ASSERT_OK(store->Close());
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto records = ReadAll(*store);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].event->topic, "q");
  auto outcome = AppendOne(*store, MakeEvent("p", "p-0"));
  EM_ASSERT_OK(outcome.status);
  EXPECT_FALSE(outcome.duplicate);
  EXPECT_EQ(outcome.sequence, 3001u);
}

TEST_F(LmdbStoreTest, StateRecordsSurviveReopen) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    EM_ASSERT_OK(PutStateAndWait(*store, "group/g1", "42"));
    EM_ASSERT_OK(PutStateAndWait(*store, "group/g2", "7"));
    EM_ASSERT_OK(PutStateAndWait(*store, "group/g2", ""));
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->GetState("group/g1").value(), "42");
  EXPECT_EQ(store->GetState("group/g2").status().code(), StatusCode::kNotFound);
}

TEST_F(LmdbStoreTest, DedupSurvivesReopen) {
  uint64_t first_sequence = 0;
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    AppendOne(*store, MakeEvent("d", "other"));
    first_sequence = AppendOne(*store, MakeEvent("d", "once")).sequence;
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto again = AppendOne(*store, MakeEvent("d", "once"));
  EM_ASSERT_OK(again.status);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.sequence, first_sequence);
}

TEST_F(LmdbStoreTest, PositionsAreNotReusedAfterEverythingIsDeleted) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    AppendOne(*store, MakeEvent("t", "1"));
    AppendOne(*store, MakeEvent("t", "2"));
    EM_ASSERT_OK(store->DeleteTopic("t"));
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto outcome = AppendOne(*store, MakeEvent("t", "3"));
  EM_ASSERT_OK(outcome.status);
  EXPECT_EQ(outcome.position, 3u);
  EXPECT_EQ(outcome.sequence, 1u);
}

// The sequence index is sparse (an entry every few dozen sequences, or
// after a long gap), so lookups scan the log between entries. Busy topics
// interleaved with a quiet one, across a reopen, must still find every
// record by sequence.
class SparseIndexTest : public LmdbStoreTest {
 protected:
  struct Stored {
    uint64_t position = 0;
    std::string id;
  };

  // Appends `count` events spread over "a" (busy), "b" (a quarter) and
  // "quiet" (one every 1,700, further apart than the index's gap limit),
  // in batches of 50, remembering where each landed.
  void AppendMix(Store& store, int first, int count) {
    for (int i = first; i < first + count; i += 50) {
      std::vector<std::shared_ptr<Event>> batch;
      for (int j = i; j < std::min(i + 50, first + count); ++j) {
        std::string topic = j % 1700 == 0 ? "quiet" : j % 4 == 0 ? "b" : "a";
        batch.push_back(MakeEvent(topic, "e" + std::to_string(j)));
      }
      auto copy = batch;
      auto outcomes = AppendAndWait(store, std::move(batch));
      ASSERT_EQ(outcomes.size(), copy.size());
      for (size_t k = 0; k < copy.size(); ++k) {
        EM_ASSERT_OK(outcomes[k].status);
        auto& seqs = stored_[copy[k]->topic];
        ASSERT_EQ(outcomes[k].sequence, seqs.size() + 1);
        seqs.push_back({outcomes[k].position, copy[k]->id});
      }
    }
  }

  // Checks PositionOfSequence and ReadTopic for every `stride`-th sequence
  // of `topic`, from sequence `first` (earlier ones were removed).
  void ExpectFindable(Store& store, const std::string& topic, int stride,
                      uint64_t first = 1) {
    const auto& seqs = stored_[topic];
    for (uint64_t s = first; s <= seqs.size(); s += stride) {
      auto position = store.PositionOfSequence(topic, s);
      ASSERT_TRUE(position.ok()) << topic << " " << s;
      EXPECT_EQ(*position, seqs[s - 1].position) << topic << " " << s;
      std::vector<LogRecord> out;
      EM_ASSERT_OK(store.ReadTopic(topic, s, 3, &out));
      ASSERT_EQ(out.size(), std::min<size_t>(3, seqs.size() - s + 1));
      for (size_t k = 0; k < out.size(); ++k) {
        EXPECT_EQ(out[k].event->sequence, s + k);
        EXPECT_EQ(out[k].position, seqs[s - 1 + k].position);
        EXPECT_EQ(out[k].event->id, seqs[s - 1 + k].id);
        EXPECT_EQ(out[k].event->topic, topic);
      }
    }
    std::vector<LogRecord> all;
    EM_ASSERT_OK(store.ReadTopic(topic, 0, SIZE_MAX, &all));
    ASSERT_EQ(all.size(), seqs.size() - first + 1);
    EXPECT_EQ(all.back().event->sequence, seqs.size());
  }

  // Topic "a" once retention brought it to `count` (bounded wait).
  TopicInfo WaitForCount(Store& store, uint64_t count) {
    TopicInfo a;
    for (int i = 0; i < 500; ++i) {
      a = store.Topics().value()[0];
      if (a.count == count) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(a.topic, "a");
    return a;
  }

  std::map<std::string, std::vector<Stored>> stored_;
};

TEST_F(SparseIndexTest, EveryRecordIsFoundBySequence) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    AppendMix(*store, 0, 2600);
  }
  // Reopening restores where each topic's index left off.
  auto store = Open();
  ASSERT_NE(store, nullptr);
  AppendMix(*store, 2600, 2600);
  ASSERT_EQ(stored_["quiet"].size(), 4u);
  ExpectFindable(*store, "a", 7);
  ExpectFindable(*store, "b", 1);
  ExpectFindable(*store, "quiet", 1);
  // Past the end there is nothing.
  EXPECT_EQ(
      store->PositionOfSequence("b", stored_["b"].size() + 1).status().code(),
      StatusCode::kNotFound);
  std::vector<LogRecord> none;
  EM_ASSERT_OK(store->ReadTopic("b", stored_["b"].size() + 1, 10, &none));
  EXPECT_TRUE(none.empty());

  // Deleting a topic leaves the others' lookups intact.
  EM_ASSERT_OK(store->DeleteTopic("b"));
  EXPECT_FALSE(store->PositionOfSequence("b", 1).ok());
  ExpectFindable(*store, "a", 11);
  ExpectFindable(*store, "quiet", 1);
}

TEST_F(SparseIndexTest, RetentionKeepsTheRestFindable) {
  options_.retention = {{"a", std::chrono::milliseconds(0), 0, 1000}};
  options_.retention_interval = std::chrono::milliseconds(10);
  auto store = Open();
  ASSERT_NE(store, nullptr);
  AppendMix(*store, 0, 4000);
  const uint64_t kept_from = stored_["a"].size() - 999;
  TopicInfo a = WaitForCount(*store, 1000);
  ASSERT_EQ(a.count, 1000u);
  ASSERT_EQ(a.first_sequence, kept_from);
  ExpectFindable(*store, "a", 5, kept_from);
  // A sequence before the first kept one finds the first kept one.
  auto position = store->PositionOfSequence("a", 1);
  ASSERT_TRUE(position.ok());
  EXPECT_EQ(*position, stored_["a"][kept_from - 1].position);
  ExpectFindable(*store, "b", 3);

  // Appends after the trim, and after a reopen, index on from there.
  AppendMix(*store, 4000, 300);
  store.reset();
  store = Open();
  ASSERT_NE(store, nullptr);
  AppendMix(*store, 4300, 300);
  a = WaitForCount(*store, 1000);
  ASSERT_EQ(a.count, 1000u);
  ExpectFindable(*store, "a", 5, a.first_sequence);
}

TEST_F(LmdbStoreTest, SecondOpenerIsRefused) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto second = OpenLmdbStore(dir_.path(), options_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos);
  // Once the first closes, the directory can be opened again.
  EM_ASSERT_OK(store->Close());
  EXPECT_TRUE(OpenLmdbStore(dir_.path(), options_).ok());
}

TEST_F(LmdbStoreTest, ForeignLmdbDataIsRefused) {
  WriteRaw(nullptr, "someone-elses-key", "value");
  auto store = OpenLmdbStore(dir_.path(), options_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find("not an EventMesh store"),
            std::string::npos);
}

TEST_F(LmdbStoreTest, NewerFormatIsRefused) {
  { ASSERT_NE(Open(), nullptr); }
  WriteRaw("meta", "format", "eventmesh-store 3");
  auto store = OpenLmdbStore(dir_.path(), options_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find("format 3"), std::string::npos);
  EXPECT_NE(store.status().message().find("reads format 2"), std::string::npos);
}

// Format 1 kept a dense sequence index. Nothing in that format shipped, so
// it is refused rather than migrated.
TEST_F(LmdbStoreTest, OlderFormatIsRefused) {
  { ASSERT_NE(Open(), nullptr); }
  WriteRaw("meta", "format", "eventmesh-store 1");
  auto store = OpenLmdbStore(dir_.path(), options_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find("holds store format 1"),
            std::string::npos);
  EXPECT_NE(store.status().message().find("EventMesh version that wrote it"),
            std::string::npos);
}

TEST_F(LmdbStoreTest, NonLmdbFileIsRefused) {
  {
    std::ofstream garbage(dir_.path() + "/data.mdb", std::ios::binary);
    garbage << std::string(64 * 1024, 'G');
  }
  auto store = OpenLmdbStore(dir_.path(), options_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
}

TEST_F(LmdbStoreTest, MapGrowsOnDemand) {
  options_.max_map_bytes = 256ull << 20;
  auto store = Open();
  ASSERT_NE(store, nullptr);
  uint64_t initial = store->Stats().map_bytes;
  std::string data(4000, 'm');
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<std::shared_ptr<Event>> events;
    for (int i = 0; i < 100; ++i) {
      events.push_back(
          MakeEvent("grow", std::to_string(batch * 100 + i), data));
    }
    for (const auto& o : AppendAndWait(*store, events, Durability::kNone)) {
      EM_ASSERT_OK(o.status);
    }
  }
  EXPECT_GT(store->Stats().map_bytes, initial);
  auto records = ReadAll(*store, 500);
  ASSERT_EQ(records.size(), 2000u);
  EXPECT_EQ(records.back().event->data, data);
}

// Fills a store whose map cannot grow past a small limit.
class FullMapTest : public LmdbStoreTest {
 protected:
  void SetUp() override {
    options_.initial_map_bytes = 1ull << 20;
    options_.max_map_bytes = 2ull << 20;
  }

  // Appends 2 KiB events to `topic` until one fails; returns the ones that
  // were acknowledged and sets `*failure` to the first failure.
  std::vector<std::shared_ptr<Event>> Fill(Store& store,
                                           const std::string& topic,
                                           Status* failure) {
    std::vector<std::shared_ptr<Event>> stored;
    for (int i = 0; i < 5000; ++i) {
      auto event = MakeEvent(topic, topic + std::to_string(i),
                             std::string(2048, char('a' + i % 26)));
      auto outcome = AppendOne(store, event, Durability::kNone);
      if (!outcome.status.ok()) {
        *failure = outcome.status;
        return stored;
      }
      stored.push_back(event);
    }
    *failure = Internal("the map never filled");
    return stored;
  }
};

TEST_F(FullMapTest, AppendsFailWithResourceExhaustedAndLoseNothing) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Status failure;
  auto stored = Fill(*store, "fill", &failure);
  EXPECT_EQ(failure.code(), StatusCode::kResourceExhausted)
      << failure.ToString();
  ASSERT_GT(stored.size(), 100u);
  EXPECT_EQ(store->Stats().map_bytes, 2ull << 20);

  // A second failing append changes nothing either.
  auto again =
      AppendOne(*store, MakeEvent("fill", "again", std::string(9000, 'q')));
  EXPECT_EQ(again.status.code(), StatusCode::kResourceExhausted);

  auto records = ReadAll(*store);
  ASSERT_EQ(records.size(), stored.size());
  for (size_t i = 0; i < stored.size(); ++i) {
    ASSERT_TRUE(*records[i].event == *stored[i]) << "record " << i;
  }
  auto topics = store->Topics().value();
  ASSERT_EQ(topics.size(), 1u);
  EXPECT_EQ(topics[0].last_sequence, stored.size());

  // State records still commit-fail cleanly, and the store reopens intact.
  EM_ASSERT_OK(store->Close());
  store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ReadAll(*store).size(), stored.size());
}

TEST_F(FullMapTest, AppendsSucceedAgainAfterDeleteTopic) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Status failure;
  auto keep = AppendOne(*store, MakeEvent("keep", "k", "kept"));
  EM_ASSERT_OK(keep.status);
  auto stored = Fill(*store, "bulk", &failure);
  ASSERT_EQ(failure.code(), StatusCode::kResourceExhausted);
  EM_ASSERT_OK(store->DeleteTopic("bulk"));
  auto outcome =
      AppendOne(*store, MakeEvent("after", "a", std::string(2048, 'x')));
  EM_ASSERT_OK(outcome.status);
  // The space freed takes a good many more appends, not just one.
  Status second_failure;
  auto refilled = Fill(*store, "bulk2", &second_failure);
  EXPECT_GT(refilled.size(), stored.size() / 2);
  std::vector<LogRecord> out;
  EM_ASSERT_OK(store->ReadTopic("keep", 1, 10, &out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].event->data, "kept");
}

TEST_F(FullMapTest, AppendsSucceedAgainAfterRetentionFreesSpace) {
  options_.retention_interval = std::chrono::milliseconds(20);
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    Status failure;
    Fill(*store, "bulk", &failure);
    ASSERT_EQ(failure.code(), StatusCode::kResourceExhausted);
  }
  // The operator adds a rule and reopens; retention makes room.
  options_.retention = {{"bulk", std::chrono::milliseconds(0), 0, 50}};
  auto store = Open();
  ASSERT_NE(store, nullptr);
  AppendOutcome outcome;
  for (int i = 0; i < 200; ++i) {
    outcome = AppendOne(*store, MakeEvent("new", std::to_string(i), "x"));
    if (outcome.status.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EM_ASSERT_OK(outcome.status);
  // Retention removes in small transactions; it gets there soon after.
  std::vector<TopicInfo> topics;
  for (int i = 0; i < 500; ++i) {
    topics = store->Topics().value();
    if (topics[0].count <= 50) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(topics[0].topic, "bulk");
  EXPECT_EQ(topics[0].count, 50u);
}

// The writer learns what a group asks for as its operations are queued:
// a kSync append is flushed before it is answered, a kNone one is not, and
// Flush flushes what kNone left behind.
TEST_F(LmdbStoreTest, SyncAppendsAndFlushReachTheDisk) {
  options_.batch_window = std::chrono::hours(1);  // no timer flushes
  auto store = Open();
  ASSERT_NE(store, nullptr);
  uint64_t syncs = store->Stats().syncs;
  EM_ASSERT_OK(
      AppendOne(*store, MakeEvent("s", "none"), Durability::kNone).status);
  EXPECT_EQ(store->Stats().syncs, syncs);
  EM_ASSERT_OK(store->Flush());
  EXPECT_EQ(store->Stats().syncs, syncs + 1);
  EM_ASSERT_OK(
      AppendOne(*store, MakeEvent("s", "sync"), Durability::kSync).status);
  EXPECT_EQ(store->Stats().syncs, syncs + 2);
}

TEST_F(LmdbStoreTest, BatchAppendsAreFlushedWithinTheWindow) {
  options_.batch_window = std::chrono::milliseconds(20);
  auto store = Open();
  ASSERT_NE(store, nullptr);
  uint64_t syncs = store->Stats().syncs;
  EM_ASSERT_OK(
      AppendOne(*store, MakeEvent("b", "1"), Durability::kBatch).status);
  for (int i = 0; i < 200 && store->Stats().syncs == syncs; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GT(store->Stats().syncs, syncs);
}

TEST_F(LmdbStoreTest, CloseFinishesEveryQueuedAppend) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::atomic<int> ok{0}, closed{0}, other{0};
  std::thread publisher([&] {
    for (int i = 0; i < 2000; ++i) {
      store->Append({MakeEvent("c", std::to_string(i))}, Durability::kNone,
                    [&](std::vector<AppendOutcome>& outcomes) {
                      StatusCode code = outcomes[0].status.code();
                      (code == StatusCode::kOk       ? ok
                       : code == StatusCode::kClosed ? closed
                                                     : other)++;
                    });
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EM_ASSERT_OK(store->Close());
  publisher.join();
  EXPECT_EQ(ok + closed, 2000);
  EXPECT_EQ(other.load(), 0);
  store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ReadAll(*store).size(), size_t(ok.load()));
}

TEST_F(LmdbStoreTest, ReadsRunWhileAppendsCommit) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> max_seen{0};
  std::thread reader([&] {
    uint64_t next = 0;
    while (!stop) {
      std::vector<LogRecord> out;
      Status s = store->Read(next, ">", 100, 100, &out, &next);
      ASSERT_TRUE(s.ok()) << s.ToString();
      for (const auto& r : out) {
        ASSERT_GT(r.position, max_seen.load());
        max_seen = r.position;
      }
      store->Topics().status().IgnoreError();
    }
  });
  for (int i = 0; i < 50; ++i) {
    std::vector<std::shared_ptr<Event>> events;
    for (int j = 0; j < 40; ++j) {
      events.push_back(
          MakeEvent("r", std::to_string(i * 100 + j), std::string(3000, 'r')));
    }
    AppendAndWait(*store, events, Durability::kNone);
  }
  // Let the reader catch up (bounded), then stop it.
  for (int i = 0; i < 500 && max_seen < 2000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop = true;
  reader.join();
  EXPECT_EQ(max_seen.load(), 2000u);
}

}  // namespace
}  // namespace eventmesh
