// Administration of an embedded mesh: deleting a topic's events and moving
// a durable group's position (Mesh::DeleteTopic, Mesh::SeekGroup), against
// "mem:" and a real LMDB directory; reopen tests use LMDB.

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "eventmesh/clock.h"
#include "eventmesh/mesh.h"
#include "unit/test_util.h"

namespace eventmesh {
namespace {

using eventmesh::testing::Durable;
using eventmesh::testing::MakeEvent;
using eventmesh::testing::Recorder;
using eventmesh::testing::TempDir;
using eventmesh::testing::WaitFor;
using std::chrono::milliseconds;

std::vector<std::string> Range(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(std::to_string(i));
  return out;
}

GroupInfo GroupNamed(Mesh* mesh, const std::string& name) {
  auto groups = mesh->Groups();
  EXPECT_TRUE(groups.ok()) << groups.status().ToString();
  for (const GroupInfo& g : *groups) {
    if (g.name == name) return g;
  }
  ADD_FAILURE() << "no group " << name;
  return {};
}

TopicInfo TopicNamed(Mesh* mesh, const std::string& name) {
  auto topics = mesh->Topics();
  EXPECT_TRUE(topics.ok()) << topics.status().ToString();
  for (const TopicInfo& t : *topics) {
    if (t.topic == name) return t;
  }
  ADD_FAILURE() << "no topic " << name;
  return {};
}

class AdminTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Mesh> Open() {
    MeshOptions options;
    options.callback_threads = 2;
    options.durability = Durability::kNone;
    std::string url = GetParam() == "lmdb" ? dir_.path() : "mem:";
    auto mesh = Mesh::Open(url, options);
    EXPECT_TRUE(mesh.ok()) << mesh.status().ToString();
    return std::move(mesh).value();
  }
  void PublishN(Mesh* mesh, const std::string& topic, int n, int from = 0) {
    for (int i = from; i < from + n; ++i) {
      ASSERT_TRUE(mesh->Publish(topic, MakeEvent(std::to_string(i))).ok());
    }
  }
  TempDir dir_;
};

// --- SeekGroup ---------------------------------------------------------------

TEST_P(AdminTest, SeekToEarliestRedeliversEverything) {
  auto mesh = Open();
  Recorder r;
  auto sub = mesh->Subscribe("s.>", r.handler(), Durable("g"));
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  PublishN(mesh.get(), "s.a", 5);
  ASSERT_TRUE(WaitFor([&] { return r.size() == 5; }));

  ASSERT_OK(mesh->SeekGroup("g", StartPosition::Earliest()));
  ASSERT_TRUE(WaitFor([&] { return r.size() == 10; }));
  PublishN(mesh.get(), "s.a", 1, 5);
  ASSERT_TRUE(WaitFor([&] { return r.size() == 11; }));
  std::vector<std::string> want = Range(0, 5);
  for (const std::string& s : Range(0, 6)) want.push_back(s);
  EXPECT_EQ(r.data(), want);
}

TEST_P(AdminTest, SeekToLatestSkipsTheBacklogAndForgetsInFlight) {
  auto mesh = Open();
  Recorder r;
  SubscribeOptions o = Durable("g", /*manual_ack=*/true);
  o.ack_wait = milliseconds(50);
  o.max_deliver = 0;
  auto sub = mesh->Subscribe("b", r.handler(), o);
  ASSERT_TRUE(sub.ok());
  PublishN(mesh.get(), "b", 3);
  ASSERT_TRUE(WaitFor([&] { return r.size() >= 3; }));

  ASSERT_OK(mesh->SeekGroup("g", StartPosition::Latest()));
  size_t seen = r.size();
  std::this_thread::sleep_for(milliseconds(250));  // 5 x ack_wait
  EXPECT_EQ(r.size(), seen) << "forgotten events were redelivered";
  EXPECT_EQ(GroupNamed(mesh.get(), "g").in_flight, 0u);

  PublishN(mesh.get(), "b", 1, 3);
  ASSERT_TRUE(WaitFor([&] { return r.size() == seen + 1; }));
  std::lock_guard<std::mutex> lock(r.mu);
  EXPECT_EQ(r.deliveries.back().event().data, "3");
  ASSERT_OK(r.deliveries.back().Ack());
  // An ack for a forgotten delivery is harmless.
  ASSERT_OK(r.deliveries.front().Ack());
}

TEST_P(AdminTest, AnAckMadeBeforeASeekDoesNotSettleTheRereadEvent) {
  auto mesh = Open();
  Recorder r;
  SubscribeOptions o = Durable("g", /*manual_ack=*/true);
  o.ack_wait = std::chrono::seconds(30);
  auto sub = mesh->Subscribe("late", r.handler(), o);
  ASSERT_TRUE(sub.ok());
  PublishN(mesh.get(), "late", 1);
  ASSERT_TRUE(WaitFor([&] { return r.size() == 1; }));
  ASSERT_OK(mesh->SeekGroup("g", StartPosition::Earliest()));
  ASSERT_TRUE(WaitFor([&] { return r.size() == 2; }));

  std::lock_guard<std::mutex> lock(r.mu);
  ASSERT_OK(r.deliveries[0].Ack());  // late: made before the seek
  EXPECT_EQ(GroupNamed(mesh.get(), "g").in_flight, 1u);
  ASSERT_OK(r.deliveries[0].Nack());
  EXPECT_EQ(GroupNamed(mesh.get(), "g").in_flight, 1u);
  ASSERT_OK(r.deliveries[1].Ack());
  EXPECT_EQ(GroupNamed(mesh.get(), "g").in_flight, 0u);
}

TEST_P(AdminTest, SeekMovesADurableWithoutMembers) {
  auto mesh = Open();
  {
    auto sub = mesh->Subscribe(
        "w", [](const Delivery&) {}, Durable("idle"));
    ASSERT_TRUE(sub.ok());
  }
  PublishN(mesh.get(), "w", 4);
  EXPECT_EQ(GroupNamed(mesh.get(), "idle").lag, 4u);
  ASSERT_OK(mesh->SeekGroup("idle", StartPosition::Latest()));
  EXPECT_EQ(GroupNamed(mesh.get(), "idle").lag, 0u);

  Recorder r;
  auto sub = mesh->Subscribe("w", r.handler(), Durable("idle"));
  ASSERT_TRUE(sub.ok());
  PublishN(mesh.get(), "w", 1, 4);
  ASSERT_TRUE(WaitFor([&] { return r.size() == 1; }));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(r.data(), std::vector<std::string>{"4"});
}

TEST_P(AdminTest, SeekToASequenceNeedsAGroupOnOneTopic) {
  auto mesh = Open();
  PublishN(mesh.get(), "q.one", 5);
  Recorder exact, wide;
  auto a = mesh->Subscribe("q.one", exact.handler(), Durable("exact"));
  auto b = mesh->Subscribe("q.*", wide.handler(), Durable("wide"));
  ASSERT_TRUE(a.ok() && b.ok());

  Status s = mesh->SeekGroup("wide", StartPosition::Sequence(2));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("one topic"), std::string::npos) << s.ToString();
  s = mesh->SeekGroup("exact", StartPosition::Sequence(7));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("at most 6"), std::string::npos) << s.ToString();

  ASSERT_OK(mesh->SeekGroup("exact", StartPosition::Sequence(3)));
  ASSERT_TRUE(WaitFor([&] { return exact.size() == 3; }));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(exact.data(), Range(2, 5));  // sequences 3..5
  // One past the end: only what comes next.
  ASSERT_OK(mesh->SeekGroup("exact", StartPosition::Sequence(6)));
  PublishN(mesh.get(), "q.one", 1, 5);
  ASSERT_TRUE(WaitFor([&] { return exact.size() == 4; }));
  EXPECT_EQ(exact.data().back(), "5");
}

TEST_P(AdminTest, SeekToATime) {
  auto mesh = Open();
  PublishN(mesh.get(), "t", 3);
  std::this_thread::sleep_for(milliseconds(5));
  int64_t now = WallNanos();
  PublishN(mesh.get(), "t", 2, 3);
  Recorder r;
  auto sub = mesh->Subscribe("t", r.handler(), Durable("timed"));
  ASSERT_TRUE(sub.ok());
  ASSERT_OK(mesh->SeekGroup("timed", StartPosition::Time(now)));
  ASSERT_TRUE(WaitFor([&] { return r.size() == 2; }));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(r.data(), Range(3, 5));
}

TEST_P(AdminTest, SeekRefusesUnknownAndInvalidDurables) {
  auto mesh = Open();
  Status s = mesh->SeekGroup("nobody", StartPosition::Earliest());
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  s = mesh->SeekGroup("a.b", StartPosition::Earliest());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  // A non-durable group has no position to move.
  SubscribeOptions o;
  o.group = "plain";
  auto sub = mesh->Subscribe(
      "x", [](const Delivery&) {}, o);
  ASSERT_TRUE(sub.ok());
  s = mesh->SeekGroup("plain", StartPosition::Earliest());
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
}

// --- DeleteTopic -------------------------------------------------------------

TEST_P(AdminTest, DeleteTopicKeepsNumberingAndOtherTopics) {
  auto mesh = Open();
  PublishN(mesh.get(), "d.gone", 3);
  PublishN(mesh.get(), "d.kept", 2);
  ASSERT_OK(mesh->DeleteTopic("d.gone"));

  TopicInfo gone = TopicNamed(mesh.get(), "d.gone");
  EXPECT_EQ(gone.count, 0u);
  EXPECT_EQ(gone.last_sequence, 3u);
  EXPECT_EQ(TopicNamed(mesh.get(), "d.kept").count, 2u);
  EXPECT_TRUE(mesh->Read("d.gone", 1, 10)->empty());

  auto seq = mesh->Publish("d.gone", MakeEvent("again"));
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 4u);
  auto events = mesh->Read("d.gone", 1, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].data, "again");
}

TEST_P(AdminTest, DeleteTopicRefusesMissingAndInvalidTopics) {
  auto mesh = Open();
  Status s = mesh->DeleteTopic("never.was");
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("never.was"), std::string::npos);
  s = mesh->DeleteTopic("bad..name");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  s = mesh->DeleteTopic("a.*");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  PublishN(mesh.get(), "once", 1);
  ASSERT_OK(mesh->DeleteTopic("once"));
  EXPECT_EQ(mesh->DeleteTopic("once").code(), StatusCode::kNotFound);
}

TEST_P(AdminTest, DeleteTopicClearsADeadLetterQueue) {
  auto mesh = Open();
  SubscribeOptions o = Durable("fails", /*manual_ack=*/true);
  o.ack_wait = milliseconds(10);
  o.max_deliver = 1;
  auto sub = mesh->Subscribe(
      "job", [](const Delivery&) {}, o);
  ASSERT_TRUE(sub.ok());
  PublishN(mesh.get(), "job", 2);
  ASSERT_TRUE(WaitFor([&] {
    auto t = mesh->Topics();
    for (const TopicInfo& i : *t) {
      if (i.topic == "$DLQ.fails.job" && i.count == 2) return true;
    }
    return false;
  }));
  ASSERT_OK(mesh->DeleteTopic("$DLQ.fails.job"));
  EXPECT_EQ(TopicNamed(mesh.get(), "$DLQ.fails.job").count, 0u);
  auto n = mesh->RepublishDeadLetters("fails");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_P(AdminTest, ADurableGroupOnADeletedTopicKeepsWorking) {
  auto mesh = Open();
  Recorder r;
  SubscribeOptions o = Durable("w", /*manual_ack=*/true);
  o.ack_wait = std::chrono::seconds(30);
  o.max_deliver = 0;
  auto sub = mesh->Subscribe("w.>", r.handler(), o);
  ASSERT_TRUE(sub.ok());
  PublishN(mesh.get(), "w.gone", 3);
  PublishN(mesh.get(), "w.kept", 2, 3);
  ASSERT_TRUE(WaitFor([&] { return r.size() >= 5; }));
  EXPECT_EQ(GroupNamed(mesh.get(), "w").in_flight, 5u);

  ASSERT_OK(mesh->DeleteTopic("w.gone"));
  EXPECT_EQ(GroupNamed(mesh.get(), "w").in_flight, 2u);
  {
    // Acks of removed events are harmless; the others settle.
    std::lock_guard<std::mutex> lock(r.mu);
    for (const Delivery& d : r.deliveries) ASSERT_OK(d.Ack());
  }
  EXPECT_EQ(GroupNamed(mesh.get(), "w").in_flight, 0u);

  size_t seen = r.size();
  PublishN(mesh.get(), "w.gone", 1, 5);
  ASSERT_TRUE(WaitFor([&] { return r.size() == seen + 1; }));
  std::lock_guard<std::mutex> lock(r.mu);
  EXPECT_EQ(r.deliveries.back().event().data, "5");
  EXPECT_EQ(r.deliveries.back().event().sequence, 4u);
}

TEST_P(AdminTest, DeletedEventsAreNotRedelivered) {
  auto mesh = Open();
  Recorder r;
  SubscribeOptions o = Durable("slow", /*manual_ack=*/true);
  o.ack_wait = milliseconds(30);
  o.max_deliver = 0;
  auto sub = mesh->Subscribe("z", r.handler(), o);
  ASSERT_TRUE(sub.ok());
  PublishN(mesh.get(), "z", 2);
  ASSERT_TRUE(WaitFor([&] { return r.size() >= 2; }));
  ASSERT_OK(mesh->DeleteTopic("z"));
  size_t seen = r.size();
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(r.size(), seen);
}

TEST_P(AdminTest, LiveSubscribersAreNotAffectedByDeleteTopic) {
  auto mesh = Open();
  Recorder r;
  auto sub = mesh->Subscribe("live", r.handler());
  ASSERT_TRUE(sub.ok());
  PublishN(mesh.get(), "live", 2);
  ASSERT_TRUE(WaitFor([&] { return r.size() == 2; }));
  ASSERT_OK(mesh->DeleteTopic("live"));
  PublishN(mesh.get(), "live", 1, 2);
  ASSERT_TRUE(WaitFor([&] { return r.size() == 3; }));
  EXPECT_EQ(r.data(), Range(0, 3));
}

// Seeks and deletes race with publishing, delivery and acks; TSan checks
// the locking, and afterwards the group still delivers what comes next.
TEST_P(AdminTest, AdminCallsRaceWithTraffic) {
  auto mesh = Open();
  std::atomic<bool> got_last{false};
  SubscribeOptions o = Durable("busy", /*manual_ack=*/true);
  o.ack_wait = milliseconds(50);
  o.max_deliver = 0;
  auto sub = mesh->Subscribe(
      "busy.>",
      [&](const Delivery& d) {
        if (d.event().data == "last") got_last = true;
        if (d.event().sequence % 2 == 0) d.Ack().IgnoreError();
      },
      o);
  ASSERT_TRUE(sub.ok());
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    for (int i = 0; i < 2000 && !stop; ++i) {
      std::string topic = i % 2 == 0 ? "busy.a" : "busy.b";
      ASSERT_TRUE(mesh->Publish(topic, MakeEvent(std::to_string(i))).ok());
    }
  });
  for (int i = 0; i < 20; ++i) {
    StartPosition to =
        i % 2 == 0 ? StartPosition::Earliest() : StartPosition::Latest();
    ASSERT_OK(mesh->SeekGroup("busy", to));
    Status s = mesh->DeleteTopic(i % 2 == 0 ? "busy.a" : "busy.b");
    EXPECT_TRUE(s.ok() || s.code() == StatusCode::kNotFound) << s.ToString();
    std::this_thread::sleep_for(milliseconds(2));
  }
  stop = true;
  publisher.join();

  ASSERT_OK(mesh->SeekGroup("busy", StartPosition::Latest()));
  ASSERT_TRUE(mesh->Publish("busy.c", MakeEvent("last")).ok());
  ASSERT_TRUE(WaitFor([&] { return got_last.load(); }));
}

INSTANTIATE_TEST_SUITE_P(Engines, AdminTest, ::testing::Values("mem", "lmdb"),
                         [](const auto& param_info) {
                           return param_info.param;
                         });

// --- Reopen (LMDB)
// -------------------------------------------------------------

std::unique_ptr<Mesh> OpenDir(const std::string& dir) {
  auto mesh = Mesh::Open(dir);
  EXPECT_TRUE(mesh.ok()) << mesh.status().ToString();
  return std::move(mesh).value();
}

TEST(AdminReopen, SeeksOfLiveAndStoredGroupsSurviveReopen) {
  TempDir dir;
  {
    auto mesh = OpenDir(dir.path());
    Recorder r;
    auto sub = mesh->Subscribe("r", r.handler(), Durable("g"));
    ASSERT_TRUE(sub.ok());
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(mesh->Publish("r", MakeEvent(std::to_string(i))).ok());
    }
    ASSERT_TRUE(WaitFor([&] { return r.size() == 4; }));
    ASSERT_OK(mesh->SeekGroup("g", StartPosition::Sequence(3)));
    ASSERT_TRUE(WaitFor([&] { return r.size() == 6; }));
    ASSERT_OK((*sub)->Unsubscribe());
    ASSERT_OK(mesh->SeekGroup("g", StartPosition::Sequence(2)));
    ASSERT_OK(mesh->Close());
  }
  auto mesh = OpenDir(dir.path());
  Recorder r;
  auto sub = mesh->Subscribe("r", r.handler(), Durable("g"));
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(WaitFor([&] { return r.size() == 3; }));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(r.data(), Range(1, 4));
}

TEST(AdminReopen, SeekToEarliestOfAStoredGroupSurvivesReopen) {
  TempDir dir;
  {
    auto mesh = OpenDir(dir.path());
    Recorder r;
    auto sub = mesh->Subscribe("e.>", r.handler(), Durable("g"));
    ASSERT_TRUE(sub.ok());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(mesh->Publish("e.x", MakeEvent(std::to_string(i))).ok());
    }
    ASSERT_TRUE(WaitFor([&] { return r.size() == 3; }));
  }
  {
    auto mesh = OpenDir(dir.path());
    ASSERT_OK(mesh->SeekGroup("g", StartPosition::Earliest()));
    EXPECT_EQ(GroupNamed(mesh.get(), "g").ack_floor, 0u);
  }
  auto mesh = OpenDir(dir.path());
  Recorder r;
  auto sub = mesh->Subscribe("e.>", r.handler(), Durable("g"));
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(WaitFor([&] { return r.size() == 3; }));
  EXPECT_EQ(r.data(), Range(0, 3));
}

TEST(AdminReopen, DeleteTopicCleansAStoredGroupAndKeepsNumbering) {
  TempDir dir;
  {
    auto mesh = OpenDir(dir.path());
    Recorder r;
    auto sub = mesh->Subscribe("k.>", r.handler(), Durable("g", true));
    ASSERT_TRUE(sub.ok());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(mesh->Publish("k.gone", MakeEvent(std::to_string(i))).ok());
    }
    ASSERT_TRUE(mesh->Publish("k.kept", MakeEvent("3")).ok());
    ASSERT_TRUE(WaitFor([&] { return r.size() == 4; }));
    // Closed with all four unacknowledged.
  }
  {
    auto mesh = OpenDir(dir.path());
    GroupInfo before = GroupNamed(mesh.get(), "g");
    ASSERT_OK(mesh->DeleteTopic("k.gone"));
    GroupInfo after = GroupNamed(mesh.get(), "g");
    EXPECT_GT(after.ack_floor, before.ack_floor);
    EXPECT_EQ(after.lag, 1u);  // only k.kept is left unsettled
  }
  auto mesh = OpenDir(dir.path());
  EXPECT_EQ(TopicNamed(mesh.get(), "k.gone").last_sequence, 3u);
  Recorder r;
  auto sub = mesh->Subscribe("k.>", r.handler(), Durable("g", true));
  ASSERT_TRUE(sub.ok());
  auto seq = mesh->Publish("k.gone", MakeEvent("4"));
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 4u);
  ASSERT_TRUE(WaitFor([&] { return r.size() == 2; }));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(r.data(), Range(3, 5));
}

}  // namespace
}  // namespace eventmesh
