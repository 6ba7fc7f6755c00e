// The mesh of nodes inside one process: several LocalMeshes ("mem:"), each
// with its own Cluster linked over real ZeroMQ sockets on loopback.

#include "cluster/cluster.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "cluster/wire.h"
#include "mesh/local_mesh.h"
#include "unit/test_util.h"

namespace eventmesh::cluster {
namespace {

using eventmesh::testing::MakeEvent;
using eventmesh::testing::WaitFor;
using std::chrono::milliseconds;
using std::chrono::seconds;

// --- Wire format ------------------------------------------------------------

std::vector<std::string_view> Views(const std::vector<std::string>& frames) {
  return std::vector<std::string_view>(frames.begin(), frames.end());
}

TEST(ClusterWire, HelloRoundTrips) {
  Hello hello;
  hello.address = "tcp://127.0.0.1:10300";
  hello.client_address = "127.0.0.1:10000";
  hello.load = Load{3, 2, 1000};
  hello.interest_version = 9;
  hello.known.push_back(NodeRef{"b", 7, "tcp://127.0.0.1:10301"});
  std::vector<std::string> frames = {
      EncodeHeader(Header{MessageType::kHeartbeat, "a", 42}),
      EncodeHello(hello)};
  auto m = DecodeMessage(Views(frames));
  ASSERT_OK(m.status());
  EXPECT_EQ(m->header.type, MessageType::kHeartbeat);
  EXPECT_EQ(m->header.node_id, "a");
  EXPECT_EQ(m->header.incarnation, 42u);
  EXPECT_EQ(m->hello.address, hello.address);
  EXPECT_EQ(m->hello.client_address, hello.client_address);
  EXPECT_EQ(m->hello.load.events_per_s, 1000u);
  EXPECT_EQ(m->hello.interest_version, 9u);
  ASSERT_EQ(m->hello.known.size(), 1u);
  EXPECT_EQ(m->hello.known[0].address, "tcp://127.0.0.1:10301");
}

TEST(ClusterWire, InterestAndEventsRoundTrip) {
  InterestUpdate update;
  update.base = 3;
  update.version = 4;
  update.changes = {{true, {"orders.>", ""}}, {false, {"jobs.*", "workers"}}};
  Event event = MakeEvent("payload");
  event.topic = "jobs.x";
  event.id = "id-1";
  std::string frame;
  AppendEventPrefix(true, {"workers\njobs.*"}, &frame);
  AppendBinary(event, &frame);
  std::vector<std::string> interest = {
      EncodeHeader(Header{MessageType::kInterest, "a", 1}),
      EncodeInterest(update)};
  std::vector<std::string> events = {
      EncodeHeader(Header{MessageType::kEvents, "a", 1}), frame, frame};

  auto i = DecodeMessage(Views(interest));
  ASSERT_OK(i.status());
  EXPECT_FALSE(i->interest.full);
  EXPECT_EQ(i->interest.base, 3u);
  ASSERT_EQ(i->interest.changes.size(), 2u);
  EXPECT_FALSE(i->interest.changes[1].added);
  EXPECT_EQ(i->interest.changes[1].interest.group, "workers");

  auto e = DecodeMessage(Views(events));
  ASSERT_OK(e.status());
  ASSERT_EQ(e->events.size(), 2u);
  EXPECT_TRUE(e->events[0].broadcast);
  EXPECT_EQ(e->events[0].groups, std::vector<std::string>{"workers\njobs.*"});
  EXPECT_EQ(e->events[1].event.data, "payload");
  EXPECT_EQ(e->events[1].event.topic, "jobs.x");
}

TEST(ClusterWire, DurableInterestDeliveriesAndAcksRoundTrip) {
  InterestUpdate update;
  update.full = true;
  update.version = 2;
  Interest durable{"orders.>", "billing", true, {}};
  durable.terms = DurableTerms{1500, 3, 64, 3, 1700000000000000000ull};
  update.changes = {{true, durable}, {true, {"orders.>", "billing"}}};
  Event event = MakeEvent("payload");
  event.topic = "orders.new";
  event.id = "id-1";
  std::string frame;
  AppendDurablePrefix("billing", 4711, 2, &frame);
  AppendBinary(event, &frame);
  DurableAcks acks{"billing", {{4711, false, 0}, {4712, true, 250}}};

  auto i =
      DecodeMessage(Views({EncodeHeader(Header{MessageType::kInterest, "a", 1}),
                           EncodeInterest(update)}));
  ASSERT_OK(i.status());
  ASSERT_EQ(i->interest.changes.size(), 2u);
  const Interest& got = i->interest.changes[0].interest;
  EXPECT_TRUE(got.durable);
  EXPECT_EQ(got, durable);
  EXPECT_EQ(got.terms.ack_wait_ms, 1500u);
  EXPECT_EQ(got.terms.max_deliver, 3u);
  EXPECT_EQ(got.terms.max_in_flight, 64u);
  EXPECT_EQ(got.terms.start_kind, 3u);
  EXPECT_EQ(got.terms.start_value, 1700000000000000000ull);
  // A durable and a non-durable group of the same name are different.
  EXPECT_FALSE(i->interest.changes[1].interest.durable);
  EXPECT_FALSE(got == i->interest.changes[1].interest);

  auto d = DecodeMessage(
      Views({EncodeHeader(Header{MessageType::kDurableEvents, "a", 1}), frame,
             frame}));
  ASSERT_OK(d.status());
  ASSERT_EQ(d->deliveries.size(), 2u);
  EXPECT_EQ(d->deliveries[1].durable, "billing");
  EXPECT_EQ(d->deliveries[1].position, 4711u);
  EXPECT_EQ(d->deliveries[1].attempt, 2u);
  EXPECT_EQ(d->deliveries[1].event.data, "payload");

  auto a = DecodeMessage(
      Views({EncodeHeader(Header{MessageType::kDurableAcks, "b", 1}),
             EncodeDurableAcks(acks)}));
  ASSERT_OK(a.status());
  ASSERT_EQ(a->acks.size(), 1u);
  ASSERT_EQ(a->acks[0].settles.size(), 2u);
  EXPECT_FALSE(a->acks[0].settles[0].nack);
  EXPECT_EQ(a->acks[0].settles[1].position, 4712u);
  EXPECT_TRUE(a->acks[0].settles[1].nack);
  EXPECT_EQ(a->acks[0].settles[1].delay_ms, 250u);

  // Broken ones say what is wrong.
  std::string zero_attempt;
  AppendDurablePrefix("billing", 1, 0, &zero_attempt);
  auto bad = DecodeMessage(
      Views({EncodeHeader(Header{MessageType::kDurableEvents, "a", 1}),
             zero_attempt + frame.substr(frame.size() - 10)}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("attempt"), std::string::npos);
  std::string acks_frame = EncodeDurableAcks(acks);
  bad = DecodeMessage(
      Views({EncodeHeader(Header{MessageType::kDurableAcks, "b", 1}),
             acks_frame + "x"}));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("trailing"), std::string::npos);
}

TEST(ClusterWire, RejectsBrokenMessagesWithReasons) {
  std::string header = EncodeHeader(Header{MessageType::kHello, "a", 1});
  std::string hello = EncodeHello(Hello{});
  struct Case {
    std::vector<std::string> frames;
    std::string want;
  } cases[] = {
      {{}, "no frames"},
      {{header}, "frames"},
      {{header, hello + "x"}, "trailing bytes"},
      {{header, hello.substr(0, 2)}, "ends early"},
      {{std::string("\x07\x01\x01x\x01", 5), hello}, "version 7"},
      {{EncodeHeader(Header{MessageType::kHello, "", 1}), hello}, "empty"},
      {{EncodeHeader(Header{static_cast<MessageType>(99), "a", 1})},
       "unknown type"},
      {{EncodeHeader(Header{MessageType::kEvents, "a", 1}), "\x01"},
       "ends early"},
  };
  for (const Case& c : cases) {
    auto m = DecodeMessage(Views(c.frames));
    ASSERT_FALSE(m.ok()) << c.want;
    EXPECT_NE(m.status().message().find(c.want), std::string::npos)
        << m.status().ToString();
  }
}

// --- Nodes ------------------------------------------------------------------

// One node: a memory mesh and its cluster on an ephemeral port.
struct Node {
  std::unique_ptr<Mesh> mesh;
  std::unique_ptr<Cluster> cluster;

  static std::unique_ptr<Node> Start(const std::string& name,
                                     std::vector<std::string> seeds,
                                     CurveOptions curve = {}) {
    auto node = std::make_unique<Node>();
    MeshOptions mo;
    mo.node_id = name;
    auto mesh = Mesh::Open("mem:", mo);
    EXPECT_OK(mesh.status());
    node->mesh = std::move(mesh).value();
    ClusterOptions co;
    co.listen = "127.0.0.1:0";
    co.seeds = std::move(seeds);
    co.down_after = milliseconds(600);
    co.curve = std::move(curve);
    auto c = Cluster::Start(dynamic_cast<LocalMesh*>(node->mesh.get()), co);
    EXPECT_OK(c.status());
    if (!c.ok()) return nullptr;
    node->cluster = std::move(c).value();
    return node;
  }
  ~Node() {
    if (cluster) cluster->Stop();
    if (mesh) mesh->Close().IgnoreError();
  }
  const NodeStatus* Peer(const ClusterStats& s, const std::string& id) {
    for (const NodeStatus& n : s.nodes) {
      if (n.node_id == id) return &n;
    }
    return nullptr;
  }
  bool SeesUp(const std::string& id, size_t min_interest = 0) {
    ClusterStats s = cluster->Stats();
    const NodeStatus* n = Peer(s, id);
    return n != nullptr && n->up && n->interest >= min_interest;
  }
};

struct Counter {
  std::mutex mu;
  std::multiset<std::string> data;
  Handler handler() {
    return [this](const Delivery& d) {
      std::lock_guard<std::mutex> lock(mu);
      data.insert(d.event().data);
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return data.size();
  }
  size_t distinct() {
    std::lock_guard<std::mutex> lock(mu);
    return std::set<std::string>(data.begin(), data.end()).size();
  }
};

// a <- b, a <- c: b and c learn of each other through a's gossip.
struct Trio {
  std::unique_ptr<Node> a, b, c;
  Trio() {
    a = Node::Start("a", {});
    b = Node::Start("b", {a->cluster->address()});
    c = Node::Start("c", {a->cluster->address()});
  }
  bool AllSeeAll() {
    return a->SeesUp("b") && a->SeesUp("c") && b->SeesUp("a") &&
           b->SeesUp("c") && c->SeesUp("a") && c->SeesUp("b");
  }
};

TEST(Cluster, NodesLearnEachOtherThroughGossip) {
  Trio t;
  ASSERT_TRUE(WaitFor([&] { return t.AllSeeAll(); }, seconds(10)));
  std::string json = t.b->cluster->StatsJson();
  EXPECT_NE(json.find("\"least_loaded\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"id\":\"c\""), std::string::npos) << json;
}

TEST(Cluster, BroadcastReachesEveryNodeOnceWithoutLoops) {
  Trio t;
  Counter on_a, on_b, on_c;
  auto sa = t.a->mesh->Subscribe("orders.>", on_a.handler());
  auto sb = t.b->mesh->Subscribe("orders.>", on_b.handler());
  auto sc = t.c->mesh->Subscribe("orders.*", on_c.handler());
  ASSERT_OK(sa.status());
  ASSERT_OK(sb.status());
  ASSERT_OK(sc.status());
  // Every node has the others' interest (inbox + orders).
  ASSERT_TRUE(WaitFor(
      [&] {
        return t.a->SeesUp("b", 2) && t.a->SeesUp("c", 2) &&
               t.b->SeesUp("c", 2);
      },
      seconds(10)));
  constexpr int kEvents = 500;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_OK(t.a->mesh->Publish("orders.new", MakeEvent(std::to_string(i)))
                  .status());
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        return on_a.size() == kEvents && on_b.size() == kEvents &&
               on_c.size() == kEvents;
      },
      seconds(10)));
  std::this_thread::sleep_for(milliseconds(200));  // nothing more comes
  EXPECT_EQ(on_a.size(), size_t{kEvents});
  EXPECT_EQ(on_b.distinct(), size_t{kEvents});
  EXPECT_EQ(on_c.size(), size_t{kEvents});
  // Stored only where published.
  EXPECT_EQ(t.b->mesh->Stats()->published, 0u);
  EXPECT_EQ(t.c->mesh->Stats()->published, 0u);
}

// A stuck subscriber that holds publishers back (kBlock) must not hold the
// link thread: heartbeats go on, both nodes stay up, and what it cannot
// take is dropped for it and counted.
TEST(Cluster, StuckBlockingSubscriberDoesNotStallTheLink) {
  auto a = Node::Start("a", {});
  ASSERT_NE(a, nullptr);
  auto b = Node::Start("b", {a->cluster->address()});
  ASSERT_NE(b, nullptr);
  std::atomic<bool> release{false};
  std::atomic<int> handled{0};
  SubscribeOptions options;
  options.max_pending = 1;
  options.overflow = OverflowPolicy::kBlock;
  options.block_timeout = seconds(5);  // far beyond down_after (600 ms)
  auto stuck = b->mesh->Subscribe(
      "slow.>",
      [&](const Delivery&) {
        while (!release) std::this_thread::sleep_for(milliseconds(1));
        ++handled;
      },
      options);
  ASSERT_OK(stuck.status());
  ASSERT_TRUE(WaitFor([&] { return a->SeesUp("b", 2) && b->SeesUp("a"); },
                      seconds(10)));
  constexpr int kEvents = 20;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_OK(
        a->mesh->Publish("slow.x", MakeEvent(std::to_string(i))).status());
  }
  // Three times down_after: a stalled link would have been marked down.
  auto until = std::chrono::steady_clock::now() + milliseconds(1800);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(a->SeesUp("b") && b->SeesUp("a"))
        << "a link went down while a subscriber was stuck";
    std::this_thread::sleep_for(milliseconds(50));
  }
  SubscriptionStats held = (*stuck)->Stats();
  EXPECT_GT(held.dropped, 0u);
  release = true;
  ASSERT_TRUE(WaitFor([&] {
    SubscriptionStats s = (*stuck)->Stats();
    return s.delivered + s.dropped == kEvents && s.pending == 0 &&
           s.delivered == static_cast<uint64_t>(handled.load());
  }));
  // The link still carries events.
  Counter later;
  auto fresh = b->mesh->Subscribe("after.>", later.handler());
  ASSERT_OK(fresh.status());
  ASSERT_TRUE(WaitFor([&] { return a->SeesUp("b", 3); }, seconds(10)));
  ASSERT_OK(a->mesh->Publish("after.x", MakeEvent("x")).status());
  ASSERT_TRUE(WaitFor([&] { return later.size() == 1; }, seconds(10)));
}

TEST(Cluster, GroupAcrossNodesGetsEachEventOnceLocalFirst) {
  Trio t;
  Counter on_b, on_c;
  SubscribeOptions group;
  group.group = "workers";
  auto sb = t.b->mesh->Subscribe("jobs.>", on_b.handler(), group);
  auto sc = t.c->mesh->Subscribe("jobs.>", on_c.handler(), group);
  ASSERT_OK(sb.status());
  ASSERT_OK(sc.status());
  ASSERT_TRUE(WaitFor(
      [&] { return t.a->SeesUp("b", 2) && t.a->SeesUp("c", 2); }, seconds(10)));
  constexpr int kEvents = 400;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_OK(
        t.a->mesh->Publish("jobs.x", MakeEvent(std::to_string(i))).status());
  }
  ASSERT_TRUE(WaitFor([&] { return on_b.size() + on_c.size() == kEvents; },
                      seconds(10)));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(on_b.size() + on_c.size(), size_t{kEvents});
  EXPECT_GT(on_b.size(), 0u);
  EXPECT_GT(on_c.size(), 0u);
  std::set<std::string> all(on_b.data.begin(), on_b.data.end());
  all.insert(on_c.data.begin(), on_c.data.end());
  EXPECT_EQ(all.size(), size_t{kEvents});

  // A local member on the publishing node takes everything.
  Counter on_a;
  auto sa = t.a->mesh->Subscribe("jobs.>", on_a.handler(), group);
  ASSERT_OK(sa.status());
  std::this_thread::sleep_for(milliseconds(100));
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK(t.a->mesh->Publish("jobs.x", MakeEvent("local")).status());
  }
  ASSERT_TRUE(WaitFor([&] { return on_a.size() == 100; }, seconds(10)));
  EXPECT_EQ(on_b.size() + on_c.size(), size_t{kEvents});
}

TEST(Cluster, RequestOnOneNodeIsAnsweredOnAnother) {
  Trio t;
  auto responder = t.a->mesh->Subscribe("math.double", [&](const Delivery& d) {
    Event reply = MakeEvent(d.event().data + d.event().data);
    t.a->mesh->Reply(d.event(), std::move(reply)).IgnoreError();
  });
  ASSERT_OK(responder.status());
  ASSERT_TRUE(WaitFor(
      [&] { return t.c->SeesUp("a", 2) && t.a->SeesUp("c", 1); }, seconds(10)));
  for (int i = 0; i < 20; ++i) {
    auto reply = t.c->mesh->Request("math.double", MakeEvent(std::to_string(i)),
                                    seconds(5));
    ASSERT_OK(reply.status());
    EXPECT_EQ(reply->data, std::to_string(i) + std::to_string(i));
  }
}

TEST(Cluster, StoppedNodeIsMarkedDownAndItsGroupShareMoves) {
  Trio t;
  Counter on_b, on_c;
  SubscribeOptions group;
  group.group = "workers";
  auto sb = t.b->mesh->Subscribe("jobs.>", on_b.handler(), group);
  auto sc = t.c->mesh->Subscribe("jobs.>", on_c.handler(), group);
  ASSERT_TRUE(WaitFor(
      [&] { return t.a->SeesUp("b", 2) && t.a->SeesUp("c", 2); }, seconds(10)));
  sc->get()->Unsubscribe().IgnoreError();
  t.c->cluster->Stop();
  auto stopped = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return !t.a->SeesUp("c"); }, seconds(5)));
  auto took = std::chrono::steady_clock::now() - stopped;
  EXPECT_LT(took, seconds(2));  // down_after is 600 ms
  ClusterStats s = t.a->cluster->Stats();
  EXPECT_EQ(t.a->Peer(s, "c")->interest, 0u);
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK(
        t.a->mesh->Publish("jobs.x", MakeEvent(std::to_string(i))).status());
  }
  ASSERT_TRUE(WaitFor([&] { return on_b.size() == 100; }, seconds(10)));

  // A new process in c's place (same name, new incarnation) rejoins.
  sc->reset();
  t.c.reset();
  t.c = Node::Start("c", {t.b->cluster->address()});
  ASSERT_TRUE(WaitFor([&] { return t.a->SeesUp("c") && t.c->SeesUp("a"); },
                      seconds(10)));
}

// Durable members on b and c with manual acks; events published on a.
struct DurableCounter {
  std::mutex mu;
  std::multiset<std::string> delivered, acked;
  bool ack = true;
  Handler handler() {
    return [this](const Delivery& d) {
      std::lock_guard<std::mutex> lock(mu);
      delivered.insert(d.event().data);
      if (ack && d.Ack().ok()) acked.insert(d.event().data);
    };
  }
  size_t acked_count() {
    std::lock_guard<std::mutex> lock(mu);
    return acked.size();
  }
  size_t delivered_count() {
    std::lock_guard<std::mutex> lock(mu);
    return delivered.size();
  }
};

SubscribeOptions DurableOptions() {
  SubscribeOptions o;
  o.durable = "billing";
  o.manual_ack = true;
  o.ack_wait = milliseconds(800);
  o.max_in_flight = 16;
  return o;
}

TEST(Cluster, DurableGroupAcrossNodesGetsEachEventOnceAcked) {
  Trio t;
  DurableCounter on_b, on_c;
  auto sb = t.b->mesh->Subscribe("bill.>", on_b.handler(), DurableOptions());
  auto sc = t.c->mesh->Subscribe("bill.>", on_c.handler(), DurableOptions());
  ASSERT_OK(sb.status());
  ASSERT_OK(sc.status());
  // a runs a consumer "billing" with one remote member per node.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto groups = t.a->mesh->Groups();
        return groups.ok() && groups->size() == 1 && (*groups)[0].members == 2;
      },
      seconds(10)));
  constexpr int kEvents = 300;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_OK(
        t.a->mesh->Publish("bill.x", MakeEvent(std::to_string(i))).status());
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        auto groups = t.a->mesh->Groups();
        return on_b.acked_count() + on_c.acked_count() == kEvents &&
               groups.ok() && (*groups)[0].lag == 0;
      },
      seconds(15)))
      << on_b.acked_count() << " + " << on_c.acked_count();
  std::set<std::string> all(on_b.acked.begin(), on_b.acked.end());
  all.insert(on_c.acked.begin(), on_c.acked.end());
  EXPECT_EQ(all.size(), size_t{kEvents});
  EXPECT_GT(on_b.acked_count(), 0u);
  EXPECT_GT(on_c.acked_count(), 0u);
  auto stats = t.a->mesh->Stats();
  ASSERT_OK(stats.status());
  EXPECT_EQ(stats->acked, uint64_t{kEvents});
  EXPECT_EQ(stats->redelivered, 0u);
  ASSERT_EQ(stats->links.size(), 2u);
  EXPECT_EQ(stats->links[0].in_flight + stats->links[1].in_flight, 0u);
}

TEST(Cluster, DurableGroupPrefersMembersOnTheStoringNode) {
  Trio t;
  DurableCounter on_a, on_b;
  auto sa = t.a->mesh->Subscribe("bill.>", on_a.handler(), DurableOptions());
  auto sb = t.b->mesh->Subscribe("bill.>", on_b.handler(), DurableOptions());
  ASSERT_OK(sa.status());
  ASSERT_OK(sb.status());
  // Each node's consumer has its local member and the other's.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto on_a_groups = t.a->mesh->Groups();
        auto on_b_groups = t.b->mesh->Groups();
        return on_a_groups.ok() && on_b_groups.ok() &&
               on_a_groups->size() == 1 && (*on_a_groups)[0].members == 2 &&
               on_b_groups->size() == 1 && (*on_b_groups)[0].members == 2;
      },
      seconds(10)));
  // A few at a time, so the local member always has room.
  for (int i = 0; i < 40; ++i) {
    ASSERT_OK(t.a->mesh->Publish("bill.x", MakeEvent("a" + std::to_string(i)))
                  .status());
    ASSERT_OK(t.b->mesh->Publish("bill.x", MakeEvent("b" + std::to_string(i)))
                  .status());
    ASSERT_TRUE(WaitFor(
        [&] {
          return on_a.acked_count() + on_b.acked_count() ==
                 static_cast<size_t>(2 * (i + 1));
        },
        seconds(5)));
  }
  std::lock_guard<std::mutex> la(on_a.mu), lb(on_b.mu);
  for (const std::string& v : on_a.acked) EXPECT_EQ(v[0], 'a') << v;
  for (const std::string& v : on_b.acked) EXPECT_EQ(v[0], 'b') << v;
  EXPECT_EQ(on_a.acked.size(), 40u);
  EXPECT_EQ(on_b.acked.size(), 40u);
}

TEST(Cluster, DurableDeliveriesInFlightToALostNodeGoToTheOthers) {
  Trio t;
  DurableCounter on_b, on_c;
  on_c.ack = false;  // c takes events and never acks them
  auto sb = t.b->mesh->Subscribe("bill.>", on_b.handler(), DurableOptions());
  auto sc = t.c->mesh->Subscribe("bill.>", on_c.handler(), DurableOptions());
  ASSERT_OK(sb.status());
  ASSERT_OK(sc.status());
  ASSERT_TRUE(WaitFor(
      [&] {
        auto groups = t.a->mesh->Groups();
        return groups.ok() && groups->size() == 1 && (*groups)[0].members == 2;
      },
      seconds(10)));
  constexpr int kEvents = 100;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_OK(
        t.a->mesh->Publish("bill.x", MakeEvent(std::to_string(i))).status());
  }
  ASSERT_TRUE(
      WaitFor([&] { return on_c.delivered_count() >= 16; }, seconds(10)));
  auto stats = t.a->mesh->Stats();
  uint64_t in_flight = 0;
  for (const LinkStats& l : stats->links) {
    if (l.node == "c") in_flight = l.in_flight;
  }
  EXPECT_GT(in_flight, 0u);

  // c's link breaks: what it held is redelivered to b.
  t.c->cluster->Stop();
  // Acks are OK on b once queued for the link; a applies them soon after.
  ASSERT_TRUE(WaitFor(
      [&] {
        stats = t.a->mesh->Stats();
        return on_b.acked_count() == kEvents && stats->acked == kEvents;
      },
      seconds(15)))
      << on_b.acked_count() << " " << stats->acked;
  std::set<std::string> distinct(on_b.acked.begin(), on_b.acked.end());
  EXPECT_EQ(distinct.size(), size_t{kEvents});
  EXPECT_GE(stats->redelivered, on_c.delivered_count());
}

TEST(Cluster, CurveLinksRefuseAWrongKey) {
  CurveOptions server;
  ASSERT_OK(NewCurveKeyPair(&server.server_public, &server.server_secret));
  CurveOptions a_keys = server, b_keys = server, intruder = server;
  ASSERT_OK(NewCurveKeyPair(&a_keys.public_key, &a_keys.secret_key));
  ASSERT_OK(NewCurveKeyPair(&b_keys.public_key, &b_keys.secret_key));
  ASSERT_OK(NewCurveKeyPair(&intruder.public_key, &intruder.secret_key));
  a_keys.allowed = b_keys.allowed = {a_keys.public_key, b_keys.public_key};
  intruder.allowed = a_keys.allowed;

  auto a = Node::Start("a", {}, a_keys);
  ASSERT_TRUE(a);
  auto b = Node::Start("b", {a->cluster->address()}, b_keys);
  auto x = Node::Start("x", {a->cluster->address()}, intruder);
  ASSERT_TRUE(b && x);
  Counter on_b;
  auto sb = b->mesh->Subscribe("secret.>", on_b.handler());
  ASSERT_TRUE(WaitFor([&] { return a->SeesUp("b", 2) && b->SeesUp("a"); },
                      seconds(10)));
  ASSERT_OK(a->mesh->Publish("secret.x", MakeEvent("hi")).status());
  ASSERT_TRUE(WaitFor([&] { return on_b.size() == 1; }, seconds(5)));

  // The intruder's links are refused: a never hears of it.
  ASSERT_TRUE(WaitFor([&] { return a->cluster->Stats().auth_refused > 0; },
                      seconds(5)));
  std::this_thread::sleep_for(milliseconds(700));
  ClusterStats s = a->cluster->Stats();
  EXPECT_EQ(a->Peer(s, "x"), nullptr);
  EXPECT_FALSE(b->SeesUp("x"));
}

}  // namespace
}  // namespace eventmesh::cluster
