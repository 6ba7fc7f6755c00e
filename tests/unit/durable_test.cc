// Durable subscriptions: positions kept in the store, acks, redelivery,
// dead letters, replay; restart tests reopen a real LMDB directory.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
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

class DurableTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Mesh> Open() {
    MeshOptions options;
    options.callback_threads = 2;
    options.durability = Durability::kNone;  // speed; restarts are clean
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

TEST_P(DurableTest, StartsAtLatestByDefault) {
  auto mesh = Open();
  PublishN(mesh.get(), "d.t", 3);
  Recorder r;
  auto sub = mesh->Subscribe("d.>", r.handler(), Durable("late"));
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  PublishN(mesh.get(), "d.t", 2, 3);
  ASSERT_TRUE(WaitFor([&] { return r.size() == 2; }));
  EXPECT_EQ(r.data(), (std::vector<std::string>{"3", "4"}));
}

TEST_P(DurableTest, ReplaysFromEarliestSequenceAndTime) {
  auto mesh = Open();
  PublishN(mesh.get(), "r.a", 5);
  Recorder all, from3, by_time;
  SubscribeOptions o = Durable("all");
  o.start = StartPosition::Earliest();
  auto a = mesh->Subscribe("r.a", all.handler(), o);
  SubscribeOptions s;  // a non-durable replay
  s.start = StartPosition::Sequence(3);
  auto b = mesh->Subscribe("r.a", from3.handler(), s);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(WaitFor([&] { return all.size() == 5 && from3.size() == 3; }));
  EXPECT_EQ(from3.data(), (std::vector<std::string>{"2", "3", "4"}));

  std::this_thread::sleep_for(milliseconds(5));
  int64_t now = WallNanos();
  PublishN(mesh.get(), "r.a", 2, 5);
  SubscribeOptions t;
  t.start = StartPosition::Time(now);
  auto c = mesh->Subscribe("r.a", by_time.handler(), t);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(WaitFor([&] { return by_time.size() == 2; }));
  EXPECT_EQ(by_time.data(), (std::vector<std::string>{"5", "6"}));
}

TEST_P(DurableTest, UnackedEventIsRedeliveredAfterAckWait) {
  auto mesh = Open();
  Recorder r;
  SubscribeOptions o = Durable("slow");
  o.manual_ack = true;
  o.ack_wait = milliseconds(50);
  auto sub = mesh->Subscribe("x", r.handler(), o);
  ASSERT_TRUE(sub.ok());
  PublishN(mesh.get(), "x", 1);
  ASSERT_TRUE(WaitFor([&] { return r.size() >= 2; }));
  std::lock_guard<std::mutex> lock(r.mu);
  EXPECT_EQ(r.deliveries[0].attempt(), 1u);
  EXPECT_EQ(r.deliveries[1].attempt(), 2u);
  EXPECT_EQ(r.deliveries[1].event().data, "0");
  ASSERT_OK(r.deliveries[1].Ack());
}

TEST_P(DurableTest, AckedEventIsNotRedelivered) {
  auto mesh = Open();
  Recorder r;
  SubscribeOptions o = Durable("acker");
  o.manual_ack = true;
  o.ack_wait = milliseconds(30);
  auto sub = mesh->Subscribe(
      "x",
      [&](const Delivery& d) {
        EXPECT_OK(d.Ack());
        r.handler()(d);
      },
      o);
  ASSERT_TRUE(sub.ok());
  PublishN(mesh.get(), "x", 3);
  ASSERT_TRUE(WaitFor([&] { return r.size() == 3; }));
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_EQ(r.size(), 3u);
  auto groups = mesh->Groups();
  ASSERT_TRUE(groups.ok());
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ((*groups)[0].in_flight, 0u);
  EXPECT_EQ((*groups)[0].redelivered, 0u);
}

TEST_P(DurableTest, NackWithDelayRedeliversLater) {
  auto mesh = Open();
  std::atomic<int> calls{0};
  std::atomic<int64_t> first{0}, second{0};
  SubscribeOptions o = Durable("nacker");
  o.manual_ack = true;
  auto sub = mesh->Subscribe(
      "x",
      [&](const Delivery& d) {
        if (++calls == 1) {
          first = MonotonicNanos();
          EXPECT_OK(d.Nack(milliseconds(80)));
        } else {
          second = MonotonicNanos();
          EXPECT_OK(d.Ack());
        }
      },
      o);
  ASSERT_TRUE(sub.ok());
  PublishN(mesh.get(), "x", 1);
  ASSERT_TRUE(WaitFor([&] { return calls == 2; }));
  EXPECT_GE(second - first, 70'000'000);
}

TEST_P(DurableTest, AfterMaxDeliverTheEventIsDeadLetteredAndCanBeRepublished) {
  auto mesh = Open();
  std::atomic<int> attempts{0};
  SubscribeOptions o = Durable("fails");
  o.manual_ack = true;
  o.max_deliver = 3;
  o.ack_wait = milliseconds(10);
  auto sub = mesh->Subscribe(
      "jobs.run",
      [&](const Delivery& d) {
        ++attempts;
        EXPECT_OK(d.Nack());
      },
      o);
  ASSERT_TRUE(sub.ok());
  PublishN(mesh.get(), "jobs.run", 1);
  ASSERT_TRUE(WaitFor([&] {
    auto topics = mesh->Topics();
    for (const auto& t : *topics) {
      if (t.topic == "$DLQ.fails.jobs.run") return true;
    }
    return false;
  }));
  EXPECT_EQ(attempts, 3);
  auto dead = mesh->Read("$DLQ.fails.jobs.run", 1, 10);
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  const Event& d = (*dead)[0];
  EXPECT_EQ(d.data, "0");
  ASSERT_NE(d.Extension(kDeadAttemptsAttribute), nullptr);
  EXPECT_EQ(*d.Extension(kDeadAttemptsAttribute), "3");
  EXPECT_EQ(*d.Extension(kDeadTopicAttribute), "jobs.run");
  EXPECT_NE(d.Extension(kDeadReasonAttribute), nullptr);
  // The count moves once the publish of the dead letter has returned.
  EXPECT_TRUE(WaitFor([&] {
    auto info = mesh->Groups();
    return info.ok() && info->size() == 1 && (*info)[0].dead_lettered == 1;
  }));

  // Republishing puts it back on its topic and empties the dead letters.
  ASSERT_OK((*sub)->Unsubscribe());
  auto n = mesh->RepublishDeadLetters("fails");
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1u);
  auto again = mesh->Read("jobs.run", 2, 10);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].data, "0");
  EXPECT_EQ((*again)[0].Extension(kDeadTopicAttribute), nullptr);
}

TEST_P(DurableTest, MembersShareADurableAndRespectMaxInFlight) {
  auto mesh = Open();
  std::mutex mu;
  std::vector<Delivery> held;
  std::set<std::string> seen;
  SubscribeOptions o = Durable("pool");
  o.manual_ack = true;
  o.max_in_flight = 2;
  auto handler = [&](const Delivery& d) {
    std::lock_guard<std::mutex> lock(mu);
    held.push_back(d);
    seen.insert(d.event().data);
  };
  auto a = mesh->Subscribe("w", handler, o);
  auto b = mesh->Subscribe("w", handler, o);
  ASSERT_TRUE(a.ok() && b.ok());
  PublishN(mesh.get(), "w", 10);
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return held.size() == 4;
  }));
  std::this_thread::sleep_for(milliseconds(30));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(held.size(), 4u) << "two members, two in flight each";
  }
  // Acking everything lets the rest through, each event once.
  ASSERT_TRUE(WaitFor([&] {
    std::vector<Delivery> batch;
    {
      std::lock_guard<std::mutex> lock(mu);
      batch.swap(held);
    }
    for (const Delivery& d : batch) EXPECT_OK(d.Ack());
    std::lock_guard<std::mutex> lock(mu);
    return seen.size() == 10 && held.empty();
  }));
  EXPECT_EQ((*a)->Stats().delivered + (*b)->Stats().delivered, 10u);
}

TEST_P(DurableTest, GroupMustMatchTheDurableName) {
  auto mesh = Open();
  SubscribeOptions o = Durable("one");
  o.group = "other";
  auto sub = mesh->Subscribe(
      "x", [](const Delivery&) {}, o);
  ASSERT_FALSE(sub.ok());
  EXPECT_EQ(sub.status().code(), StatusCode::kInvalidArgument);
  o.group.clear();
  o.durable = "bad.name";
  EXPECT_FALSE(mesh->Subscribe(
                       "x", [](const Delivery&) {}, o)
                   .ok());
}

INSTANTIATE_TEST_SUITE_P(Engines, DurableTest, ::testing::Values("mem", "lmdb"),
                         [](const auto& param_info) {
                           return param_info.param;
                         });

// --- Restarts (LMDB) --------------------------------------------------------

std::unique_ptr<Mesh> OpenDir(const std::string& dir) {
  MeshOptions options;
  options.durability = Durability::kSync;
  auto mesh = Mesh::Open(dir, options);
  EXPECT_TRUE(mesh.ok()) << mesh.status().ToString();
  return std::move(mesh).value();
}

TEST(DurableRestart, GroupResumesWhereItStopped) {
  TempDir dir;
  {
    auto mesh = OpenDir(dir.path());
    Recorder r;
    SubscribeOptions o = Durable("billing");
    auto sub = mesh->Subscribe("inv.>", r.handler(), o);
    ASSERT_TRUE(sub.ok());
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(mesh->Publish("inv.new", MakeEvent(std::to_string(i))).ok());
    }
    ASSERT_TRUE(WaitFor([&] { return r.size() == 5; }));
    ASSERT_OK((*sub)->Unsubscribe());
    // Published while nobody listens: kept for the group.
    for (int i = 5; i < 8; ++i) {
      ASSERT_TRUE(mesh->Publish("inv.new", MakeEvent(std::to_string(i))).ok());
    }
    ASSERT_OK(mesh->Close());
  }
  auto mesh = OpenDir(dir.path());
  Recorder r;
  auto sub = mesh->Subscribe("inv.>", r.handler(), Durable("billing"));
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(WaitFor([&] { return r.size() == 3; }));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(r.data(), (std::vector<std::string>{"5", "6", "7"}));
}

TEST(DurableRestart, InFlightEventsAreRedeliveredAfterRestart) {
  TempDir dir;
  {
    auto mesh = OpenDir(dir.path());
    Recorder r;
    SubscribeOptions o = Durable("worker");
    o.manual_ack = true;
    auto sub = mesh->Subscribe("jobs", r.handler(), o);
    ASSERT_TRUE(sub.ok());
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(mesh->Publish("jobs", MakeEvent(std::to_string(i))).ok());
    }
    ASSERT_TRUE(WaitFor([&] { return r.size() == 4; }));
    std::lock_guard<std::mutex> lock(r.mu);
    ASSERT_OK(r.deliveries[0].Ack());
    ASSERT_OK(r.deliveries[2].Ack());
    // The process "dies" with 1 and 3 in flight: the mesh is dropped
    // without the subscriber acking them.
  }
  auto mesh = OpenDir(dir.path());
  Recorder r;
  SubscribeOptions o = Durable("worker");
  o.manual_ack = true;
  auto sub = mesh->Subscribe("jobs", r.handler(), o);
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(WaitFor([&] { return r.size() == 2; }));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(r.data(), (std::vector<std::string>{"1", "3"}));
}

TEST(DurableRestart, GroupsListsStoredDurablesWithoutMembers) {
  TempDir dir;
  {
    auto mesh = OpenDir(dir.path());
    auto sub = mesh->Subscribe(
        "kept.>", [](const Delivery&) {}, Durable("kept"));
    ASSERT_TRUE(sub.ok());
  }
  auto mesh = OpenDir(dir.path());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(mesh->Publish("kept.x", MakeEvent("")).ok());
  }
  auto groups = mesh->Groups();
  ASSERT_TRUE(groups.ok()) << groups.status().ToString();
  ASSERT_EQ(groups->size(), 1u);
  const GroupInfo& g = (*groups)[0];
  EXPECT_EQ(g.name, "kept");
  EXPECT_EQ(g.pattern, "kept.>");
  EXPECT_TRUE(g.durable);
  EXPECT_EQ(g.members, 0u);
  EXPECT_EQ(g.lag, 3u);
}

TEST(DurableRestart, ADurableNameKeepsItsPattern) {
  TempDir dir;
  {
    auto mesh = OpenDir(dir.path());
    auto sub = mesh->Subscribe(
        "a.>", [](const Delivery&) {}, Durable("d"));
    ASSERT_TRUE(sub.ok());
  }
  auto mesh = OpenDir(dir.path());
  auto sub = mesh->Subscribe(
      "b.>", [](const Delivery&) {}, Durable("d"));
  ASSERT_FALSE(sub.ok());
  EXPECT_EQ(sub.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace eventmesh
