// The in-process mesh: routing, groups, flow control, lifetimes and
// request/reply, over the memory store.

#include "eventmesh/mesh.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "unit/test_util.h"

namespace eventmesh {
namespace {

using eventmesh::testing::MakeEvent;
using eventmesh::testing::WaitFor;
using std::chrono::milliseconds;

std::unique_ptr<Mesh> OpenMem(int threads = 2) {
  MeshOptions options;
  options.callback_threads = threads;
  auto mesh = Mesh::Open("mem:", options);
  EXPECT_TRUE(mesh.ok()) << mesh.status().ToString();
  return std::move(mesh).value();
}

// Collects what a subscription receives.
struct Sink {
  std::mutex mu;
  std::vector<Event> events;
  Handler handler() {
    return [this](const Delivery& d) {
      std::lock_guard<std::mutex> lock(mu);
      events.push_back(d.event());
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return events.size();
  }
};

TEST(Mesh, PublishedEventReachesSubscriberWithSequence) {
  auto mesh = OpenMem();
  Sink sink;
  auto sub = mesh->Subscribe("orders.created", sink.handler());
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();

  auto seq = mesh->Publish("orders.created", MakeEvent("hello"));
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  EXPECT_EQ(*seq, 1u);
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 1; }));
  std::lock_guard<std::mutex> lock(sink.mu);
  const Event& got = sink.events[0];
  EXPECT_EQ(got.data, "hello");
  EXPECT_EQ(got.topic, "orders.created");
  EXPECT_EQ(got.sequence, 1u);
  EXPECT_FALSE(got.id.empty());  // filled in by the mesh
  EXPECT_GT(got.stored_at_nanos, 0);
}

TEST(Mesh, PatternsSelectTopics) {
  auto mesh = OpenMem();
  Sink exact, star, tail;
  auto a = mesh->Subscribe("a.b.c", exact.handler());
  auto b = mesh->Subscribe("a.*.c", star.handler());
  auto c = mesh->Subscribe("a.>", tail.handler());
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  for (const char* t : {"a.b.c", "a.x.c", "a.b", "a.b.c.d", "b.b.c"}) {
    ASSERT_TRUE(mesh->Publish(t, MakeEvent(t)).ok()) << t;
  }
  ASSERT_TRUE(WaitFor([&] { return tail.size() == 4; }));
  ASSERT_TRUE(WaitFor([&] { return star.size() == 2; }));
  ASSERT_TRUE(WaitFor([&] { return exact.size() == 1; }));
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(exact.size(), 1u);
  EXPECT_EQ(star.size(), 2u);
  EXPECT_EQ(tail.size(), 4u);
}

TEST(Mesh, BadTopicsAndPatternsAreRefusedWithTheRule) {
  auto mesh = OpenMem();
  auto seq = mesh->Publish("a..b", MakeEvent("x"));
  ASSERT_FALSE(seq.ok());
  EXPECT_EQ(seq.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(seq.status().message().find("a..b"), std::string::npos);
  auto sub = mesh->Subscribe("a.>.b", [](const Delivery&) {});
  ASSERT_FALSE(sub.ok());
  EXPECT_EQ(sub.status().code(), StatusCode::kInvalidArgument);
  Event no_type = MakeEvent("x");
  no_type.type.clear();
  EXPECT_EQ(mesh->Publish("a", no_type).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Mesh, HandlersNeverRunOnThePublishersThread) {
  auto mesh = OpenMem();
  std::atomic<int> on_publisher{0}, seen{0};
  std::thread::id publisher = std::this_thread::get_id();
  auto sub = mesh->Subscribe("t", [&](const Delivery&) {
    if (std::this_thread::get_id() == publisher) ++on_publisher;
    ++seen;
  });
  ASSERT_TRUE(sub.ok());
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(mesh->Publish("t", MakeEvent("")).ok());
  ASSERT_TRUE(WaitFor([&] { return seen == 100; }));
  EXPECT_EQ(on_publisher, 0);
}

TEST(Mesh, OneSubscriberSeesATopicInSequenceOrder) {
  auto mesh = OpenMem();
  std::mutex mu;
  std::map<std::string, uint64_t> last;
  std::atomic<int> out_of_order{0}, seen{0};
  auto sub = mesh->Subscribe("t.>", [&](const Delivery& d) {
    std::lock_guard<std::mutex> lock(mu);
    uint64_t& prev = last[d.event().topic];
    if (d.event().sequence != prev + 1) ++out_of_order;
    prev = d.event().sequence;
    ++seen;
  });
  ASSERT_TRUE(sub.ok());
  std::vector<std::thread> publishers;
  for (int p = 0; p < 4; ++p) {
    publishers.emplace_back([&, p] {
      for (int i = 0; i < 2000; ++i) {
        std::string topic = "t." + std::to_string((p + i) % 3);
        ASSERT_TRUE(mesh->Publish(topic, MakeEvent("")).ok());
      }
    });
  }
  for (auto& t : publishers) t.join();
  ASSERT_TRUE(WaitFor([&] { return seen == 8000; }));
  EXPECT_EQ(out_of_order, 0);
}

// Several publishers and subscribers at once: every broadcast subscriber
// gets every event, and a group gets each event exactly once.
TEST(Mesh, ConcurrentPublishersBroadcastAndGroupCountsAreExact) {
  auto mesh = OpenMem(2);
  constexpr int kPublishers = 4, kPerPublisher = 5000, kMembers = 3;
  constexpr int kTotal = kPublishers * kPerPublisher;

  std::atomic<int> broadcast_a{0}, broadcast_b{0};
  std::mutex mu;
  std::multiset<std::string> group_ids;
  std::vector<std::atomic<int>> per_member(kMembers);
  SubscribeOptions group;
  group.group = "workers";

  auto a = mesh->Subscribe("load.>", [&](const Delivery&) { ++broadcast_a; });
  auto b = mesh->Subscribe("load.*", [&](const Delivery&) { ++broadcast_b; });
  std::vector<std::unique_ptr<Subscription>> members;
  for (int m = 0; m < kMembers; ++m) {
    auto s = mesh->Subscribe(
        "load.>",
        [&, m](const Delivery& d) {
          ++per_member[m];
          std::lock_guard<std::mutex> lock(mu);
          group_ids.insert(d.event().id);
        },
        group);
    ASSERT_TRUE(s.ok());
    members.push_back(std::move(s).value());
  }
  ASSERT_TRUE(a.ok() && b.ok());

  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      for (int i = 0; i < kPerPublisher; ++i) {
        Event e = MakeEvent("x");
        e.id = std::to_string(p) + "-" + std::to_string(i);
        ASSERT_TRUE(mesh->Publish("load." + std::to_string(i % 7), e).ok());
      }
    });
  }
  for (auto& t : publishers) t.join();

  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return broadcast_a == kTotal && broadcast_b == kTotal &&
           group_ids.size() == static_cast<size_t>(kTotal);
  }));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(broadcast_a, kTotal);
  EXPECT_EQ(broadcast_b, kTotal);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(group_ids.size(), static_cast<size_t>(kTotal));
  std::set<std::string> unique(group_ids.begin(), group_ids.end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(kTotal)) << "a duplicate";
  for (int m = 0; m < kMembers; ++m) EXPECT_GT(per_member[m], 0) << m;
}

TEST(Mesh, NoHandlerRunsAfterUnsubscribeReturns) {
  auto mesh = OpenMem();
  std::atomic<bool> unsubscribed{false};
  std::atomic<int> late{0}, seen{0};
  auto sub = mesh->Subscribe("t", [&](const Delivery&) {
    if (unsubscribed) ++late;
    std::this_thread::sleep_for(milliseconds(1));
    ++seen;
  });
  ASSERT_TRUE(sub.ok());
  std::thread publisher([&] {
    for (int i = 0; i < 500; ++i)
      mesh->Publish("t", MakeEvent("")).status().IgnoreError();
  });
  ASSERT_TRUE(WaitFor([&] { return seen > 5; }));
  ASSERT_OK((*sub)->Unsubscribe());
  unsubscribed = true;
  publisher.join();
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(late, 0);
}

TEST(Mesh, UnsubscribeFromInsideTheHandlerIsAllowed) {
  auto mesh = OpenMem();
  std::unique_ptr<Subscription> sub;
  std::atomic<int> seen{0};
  std::mutex mu;
  auto made = mesh->Subscribe("t", [&](const Delivery&) {
    ++seen;
    std::lock_guard<std::mutex> lock(mu);
    if (sub) sub->Unsubscribe().IgnoreError();
  });
  ASSERT_TRUE(made.ok());
  {
    std::lock_guard<std::mutex> lock(mu);
    sub = std::move(made).value();
  }
  ASSERT_TRUE(mesh->Publish("t", MakeEvent("")).ok());
  ASSERT_TRUE(WaitFor([&] { return seen >= 1; }));
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(mesh->Publish("t", MakeEvent("")).ok());
  std::this_thread::sleep_for(milliseconds(30));
  EXPECT_EQ(seen, 1);
}

TEST(Mesh, CloseWaitsForRunningHandlersAndRefusesLaterCalls) {
  auto mesh = OpenMem();
  std::atomic<bool> inside{false}, closed{false};
  std::atomic<int> after_close{0};
  auto sub = mesh->Subscribe("t", [&](const Delivery&) {
    inside = true;
    std::this_thread::sleep_for(milliseconds(50));
    if (closed) ++after_close;
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(mesh->Publish("t", MakeEvent("")).ok());
  ASSERT_TRUE(WaitFor([&] { return inside.load(); }));
  ASSERT_OK(mesh->Close());
  closed = true;
  EXPECT_EQ(after_close, 0);
  EXPECT_EQ(mesh->Publish("t", MakeEvent("")).status().code(),
            StatusCode::kClosed);
  EXPECT_OK((*sub)->Unsubscribe());  // harmless after Close
}

TEST(Mesh, DropPolicyCountsWhatASlowSubscriberLoses) {
  auto mesh = OpenMem(1);
  std::atomic<bool> release{false};
  std::atomic<int> seen{0};
  SubscribeOptions options;
  options.max_pending = 10;
  options.overflow = OverflowPolicy::kDrop;
  auto slow = mesh->Subscribe(
      "t",
      [&](const Delivery&) {
        while (!release) std::this_thread::sleep_for(milliseconds(1));
        ++seen;
      },
      options);
  std::atomic<int> fast{0};
  auto quick = mesh->Subscribe("t", [&](const Delivery&) { ++fast; });
  ASSERT_TRUE(slow.ok() && quick.ok());

  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(mesh->Publish("t", MakeEvent("")).ok());
  release = true;
  ASSERT_TRUE(WaitFor([&] {
    SubscriptionStats s = (*slow)->Stats();
    return s.delivered + s.dropped == 100 && s.pending == 0 &&
           s.delivered == static_cast<uint64_t>(seen.load());
  }));
  SubscriptionStats s = (*slow)->Stats();
  EXPECT_GT(s.dropped, 0u);
  EXPECT_EQ(s.delivered, static_cast<uint64_t>(seen.load()));
  ASSERT_TRUE(WaitFor([&] { return fast == 100; }));
  auto stats = mesh->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->dropped, s.dropped);
}

TEST(Mesh, BlockPolicyHoldsThePublisherInsteadOfDropping) {
  auto mesh = OpenMem(1);
  std::atomic<int> seen{0};
  SubscribeOptions options;
  options.max_pending = 4;
  options.overflow = OverflowPolicy::kBlock;
  options.block_timeout = std::chrono::seconds(10);
  auto sub = mesh->Subscribe(
      "t",
      [&](const Delivery&) {
        std::this_thread::sleep_for(milliseconds(1));
        ++seen;
      },
      options);
  ASSERT_TRUE(sub.ok());
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(mesh->Publish("t", MakeEvent("")).ok());
  ASSERT_TRUE(WaitFor([&] { return seen == 200; }));
  EXPECT_EQ((*sub)->Stats().dropped, 0u);
}

TEST(Mesh, FilterDeliversOnlyMatchingEvents) {
  auto mesh = OpenMem();
  Sink sink;
  SubscribeOptions options;
  options.filter = Filter::Any(
      {Filter::Exact("type", "order.paid"), Filter::Prefix("subject", "vip-")});
  auto sub = mesh->Subscribe("orders", sink.handler(), options);
  ASSERT_TRUE(sub.ok());
  Event paid = MakeEvent("1", "order.paid");
  Event vip = MakeEvent("2", "order.created");
  vip.subject = "vip-7";
  Event other = MakeEvent("3", "order.created");
  for (Event e : {paid, other, vip})
    ASSERT_TRUE(mesh->Publish("orders", e).ok());
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 2; }));
  std::this_thread::sleep_for(milliseconds(20));
  std::lock_guard<std::mutex> lock(sink.mu);
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[0].data, "1");
  EXPECT_EQ(sink.events[1].data, "2");
}

// A batch of events for `topics`, taken in turn.
std::vector<Event> BatchOn(const std::vector<std::string>& topics, int n) {
  std::vector<Event> batch;
  for (int i = 0; i < n; ++i) {
    batch.push_back(MakeEvent(std::to_string(i)));
    batch.back().topic = topics[static_cast<size_t>(i) % topics.size()];
  }
  return batch;
}

TEST(Mesh, BatchRunsKeepPerTopicOrderAcrossMixedTopics) {
  auto mesh = OpenMem();
  Sink a, all;
  auto sub_a = mesh->Subscribe("mix.a", a.handler());
  auto sub_all = mesh->Subscribe("mix.*", all.handler());
  ASSERT_TRUE(sub_a.ok() && sub_all.ok());
  // Runs of one topic alternate with runs of another.
  std::vector<Event> batch;
  for (int i = 0; i < 60; ++i) {
    batch.push_back(MakeEvent(std::to_string(i)));
    batch.back().topic = (i / 7) % 2 == 0 ? "mix.a" : "mix.b";
  }
  ASSERT_TRUE(mesh->PublishBatch(batch).ok());
  ASSERT_TRUE(WaitFor([&] { return all.size() == 60; }));
  ASSERT_TRUE(WaitFor([&] { return a.size() == 32; }));
  std::lock_guard<std::mutex> lock(all.mu);
  for (size_t i = 0; i < all.events.size(); ++i) {
    EXPECT_EQ(all.events[i].data, std::to_string(i));
  }
  std::lock_guard<std::mutex> lock_a(a.mu);
  uint64_t last = 0;
  for (const Event& e : a.events) {
    EXPECT_EQ(e.topic, "mix.a");
    EXPECT_EQ(e.sequence, last + 1);
    last = e.sequence;
  }
}

TEST(Mesh, BatchBeyondTheQueueBoundFollowsTheDropPolicy) {
  auto mesh = OpenMem(1);
  std::atomic<bool> release{false};
  std::atomic<int> seen{0};
  SubscribeOptions options;
  options.max_pending = 10;
  options.overflow = OverflowPolicy::kDrop;
  auto slow = mesh->Subscribe(
      "t",
      [&](const Delivery&) {
        while (!release) std::this_thread::sleep_for(milliseconds(1));
        ++seen;
      },
      options);
  ASSERT_TRUE(slow.ok());
  ASSERT_TRUE(mesh->PublishBatch(BatchOn({"t"}, 100)).ok());
  release = true;
  ASSERT_TRUE(WaitFor([&] {
    SubscriptionStats s = (*slow)->Stats();
    // delivered counts a batch as it is handed over, before the handler
    // returns, so wait for the handler too.
    return s.delivered + s.dropped == 100 && s.pending == 0 &&
           s.delivered == static_cast<uint64_t>(seen.load());
  }));
  SubscriptionStats s = (*slow)->Stats();
  EXPECT_GE(s.dropped, 80u);
  EXPECT_EQ(s.delivered, static_cast<uint64_t>(seen.load()));
}

TEST(Mesh, BatchBeyondTheQueueBoundBlocksThePublisher) {
  auto mesh = OpenMem(1);
  std::atomic<int> seen{0};
  SubscribeOptions options;
  options.max_pending = 4;
  options.block_timeout = std::chrono::seconds(10);
  auto sub = mesh->Subscribe(
      "t",
      [&](const Delivery&) {
        std::this_thread::sleep_for(milliseconds(1));
        ++seen;
      },
      options);
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(mesh->PublishBatch(BatchOn({"t"}, 50)).ok());
  ASSERT_TRUE(WaitFor([&] { return seen == 50; }));
  EXPECT_EQ((*sub)->Stats().dropped, 0u);
}

TEST(Mesh, BatchHonoursFiltersAndGroups) {
  auto mesh = OpenMem();
  Sink paid;
  SubscribeOptions filtered;
  filtered.filter = Filter::Exact("type", "order.paid");
  auto sub = mesh->Subscribe("orders", paid.handler(), filtered);
  std::atomic<int> member_a{0}, member_b{0};
  SubscribeOptions group;
  group.group = "workers";
  auto a = mesh->Subscribe(
      "orders", [&](const Delivery&) { ++member_a; }, group);
  auto b = mesh->Subscribe(
      "orders", [&](const Delivery&) { ++member_b; }, group);
  ASSERT_TRUE(sub.ok() && a.ok() && b.ok());
  std::vector<Event> batch;
  for (int i = 0; i < 40; ++i) {
    batch.push_back(
        MakeEvent(std::to_string(i), i % 4 == 0 ? "order.paid" : "x"));
    batch.back().topic = "orders";
  }
  ASSERT_TRUE(mesh->PublishBatch(batch).ok());
  ASSERT_TRUE(WaitFor([&] { return member_a + member_b == 40; }));
  ASSERT_TRUE(WaitFor([&] { return paid.size() == 10; }));
  EXPECT_GT(member_a.load(), 0);
  EXPECT_GT(member_b.load(), 0);
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(member_a + member_b, 40);
  std::lock_guard<std::mutex> lock(paid.mu);
  for (const Event& e : paid.events) EXPECT_EQ(e.type, "order.paid");
}

TEST(Mesh, RequestGetsTheFirstReply) {
  auto mesh = OpenMem();
  SubscribeOptions options;
  options.group = "responders";
  Mesh* m = mesh.get();
  auto responder = mesh->Subscribe(
      "math.double",
      [m](const Delivery& d) {
        int n = std::stoi(d.event().data);
        Event reply = MakeEvent(std::to_string(2 * n), "math.result");
        m->Reply(d.event(), reply).IgnoreError();
      },
      options);
  ASSERT_TRUE(responder.ok());
  for (int i = 1; i <= 20; ++i) {
    auto reply = mesh->Request("math.double", MakeEvent(std::to_string(i)),
                               std::chrono::seconds(5));
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->data, std::to_string(2 * i));
    EXPECT_EQ(reply->type, "math.result");
  }
}

TEST(Mesh, RequestWithoutResponderTimesOut) {
  auto mesh = OpenMem();
  auto start = std::chrono::steady_clock::now();
  auto reply = mesh->Request("nobody.home", MakeEvent("?"), milliseconds(50));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(50));
}

TEST(Mesh, ReplyToAnEventThatAskedForNoneIsRefused) {
  auto mesh = OpenMem();
  EXPECT_EQ(mesh->Reply(MakeEvent("x"), MakeEvent("y")).code(),
            StatusCode::kInvalidArgument);
}

TEST(Mesh, PublishBatchIsAllOrNothingOnInvalidEvents) {
  auto mesh = OpenMem();
  std::vector<Event> batch;
  for (int i = 0; i < 3; ++i) {
    Event e = MakeEvent(std::to_string(i));
    e.topic = "batch";
    batch.push_back(e);
  }
  auto seqs = mesh->PublishBatch(batch);
  ASSERT_TRUE(seqs.ok()) << seqs.status().ToString();
  EXPECT_EQ(*seqs, (std::vector<uint64_t>{1, 2, 3}));

  batch[1].topic = "bad topic";
  auto refused = mesh->PublishBatch(batch);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("event 1"), std::string::npos);
  auto topics = mesh->Topics();
  ASSERT_TRUE(topics.ok());
  ASSERT_EQ(topics->size(), 1u);
  EXPECT_EQ((*topics)[0].count, 3u);
}

TEST(Mesh, PublishAsyncReportsEachSequence) {
  auto mesh = OpenMem();
  std::mutex mu;
  std::vector<uint64_t> sequences;
  for (int i = 0; i < 10; ++i) {
    mesh->PublishAsync("async", MakeEvent(""), [&](const Result<uint64_t>& r) {
      std::lock_guard<std::mutex> lock(mu);
      sequences.push_back(r.ok() ? *r : 0);
    });
  }
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return sequences.size() == 10;
  }));
  std::lock_guard<std::mutex> lock(mu);
  for (size_t i = 0; i < sequences.size(); ++i) EXPECT_EQ(sequences[i], i + 1);
}

TEST(Mesh, DuplicatePublishReturnsTheFirstSequence) {
  auto mesh = OpenMem();
  Event e = MakeEvent("once");
  e.id = "fixed-id";
  auto first = mesh->Publish("dedup", e);
  auto second = mesh->Publish("dedup", e);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
  auto read = mesh->Read("dedup", 1, 10);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->size(), 1u);
}

TEST(Mesh, UnknownUrlsAreRefused) {
  auto mesh = Mesh::Open("ftp://x");
  ASSERT_FALSE(mesh.ok());
  EXPECT_EQ(mesh.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(Mesh::Open("").ok());
}

TEST(StartPosition, ParsesEveryForm) {
  EXPECT_EQ(StartPosition::Parse("latest")->kind, StartPosition::Kind::kLatest);
  EXPECT_EQ(StartPosition::Parse("earliest")->kind,
            StartPosition::Kind::kEarliest);
  EXPECT_EQ(StartPosition::Parse("42")->sequence, 42u);
  EXPECT_EQ(StartPosition::Parse("2026-01-01T00:00:00Z")->kind,
            StartPosition::Kind::kTime);
  EXPECT_FALSE(StartPosition::Parse("yesterday").ok());
  EXPECT_FALSE(StartPosition::Parse("0").ok());
}

TEST(NewEventId, IsAUuidV4AndUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewEventId();
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '4');
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' ||
                id[19] == 'b');
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

}  // namespace
}  // namespace eventmesh
