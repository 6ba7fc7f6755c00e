// The native TCP server and client together in one process: a memory mesh
// served on an ephemeral loopback port, reached through Mesh::Open.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "eventmesh/mesh.h"
#include "net/event_loop.h"
#include "net/protocol.h"
#include "net/tcp_server.h"
#include "unit/test_util.h"

namespace eventmesh::net {
namespace {

using eventmesh::testing::MakeEvent;
using eventmesh::testing::WaitFor;
using std::chrono::milliseconds;

// A memory mesh served over TCP on 127.0.0.1:<free port>.
class ServedMesh {
 public:
  explicit ServedMesh(TcpServerOptions options = {}) {
    auto mesh = Mesh::Open("mem:");
    EXPECT_TRUE(mesh.ok()) << mesh.status().ToString();
    mesh_ = std::move(mesh).value();
    EXPECT_TRUE(loop_.Start("test-server").ok());
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<TcpServer>(&loop_, mesh_.get(), options);
    Status started = server_->Start();
    EXPECT_TRUE(started.ok()) << started.ToString();
  }
  ~ServedMesh() {
    server_->Stop();
    mesh_->Close().IgnoreError();
    loop_.Stop();
  }
  std::string url() const { return "tcp://" + server_->address(); }
  TcpServer* server() { return server_.get(); }
  Mesh* mesh() { return mesh_.get(); }

  std::unique_ptr<Mesh> Connect(MeshOptions options = {}) {
    options.connect_timeout = std::chrono::seconds(5);
    options.call_timeout = std::chrono::seconds(10);
    auto client = Mesh::Open(url(), options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

 private:
  std::unique_ptr<Mesh> mesh_;
  EventLoop loop_;
  std::unique_ptr<TcpServer> server_;
};

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

TEST(Tcp, PublishedEventsReachARemoteSubscriberInOrder) {
  ServedMesh served;
  auto client = served.Connect();
  ASSERT_NE(client, nullptr);
  Sink sink;
  auto sub = client->Subscribe("orders.*", sink.handler());
  ASSERT_OK(sub.status());
  for (int i = 0; i < 500; ++i) {
    auto seq = client->Publish("orders.eu", MakeEvent(std::to_string(i)));
    ASSERT_OK(seq.status());
    EXPECT_EQ(*seq, static_cast<uint64_t>(i + 1));
  }
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 500; }));
  std::lock_guard<std::mutex> lock(sink.mu);
  for (int i = 0; i < 500; ++i) {
    EXPECT_EQ(sink.events[i].data, std::to_string(i));
    EXPECT_EQ(sink.events[i].topic, "orders.eu");
    EXPECT_EQ(sink.events[i].sequence, static_cast<uint64_t>(i + 1));
  }
}

TEST(Tcp, PipelinedPublishesAreAllAcknowledged) {
  ServedMesh served;
  auto client = served.Connect();
  ASSERT_NE(client, nullptr);
  std::atomic<int> acked{0}, failed{0};
  std::mutex mu;
  std::set<uint64_t> sequences;
  for (int i = 0; i < 5000; ++i) {
    client->PublishAsync("load.test", MakeEvent("x"),
                         [&](const Result<uint64_t>& r) {
                           if (!r.ok()) {
                             ++failed;
                             return;
                           }
                           std::lock_guard<std::mutex> lock(mu);
                           sequences.insert(*r);
                           ++acked;
                         });
  }
  ASSERT_TRUE(WaitFor([&] { return acked + failed == 5000; }));
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(sequences.size(), 5000u);
  EXPECT_EQ(*sequences.rbegin(), 5000u);
}

// More publishes than the client keeps unanswered (16384): PublishAsync
// waits for room on the caller's thread, never on the client's I/O thread
// (where the done callbacks run and publish again), and nothing is lost.
TEST(Tcp, PublishAsyncBeyondTheWindowWaitsAndLosesNothing) {
  ServedMesh served;
  auto client = served.Connect();
  auto receiver = served.Connect();
  ASSERT_NE(client, nullptr);
  ASSERT_NE(receiver, nullptr);
  std::atomic<uint64_t> received{0};
  SubscribeOptions options;
  options.max_pending = 1 << 20;
  auto sub = receiver->SubscribeBatch(
      "window.test",
      [&](const std::vector<Delivery>& batch) { received += batch.size(); },
      options);
  ASSERT_OK(sub.status());
  constexpr int kEvents = 40000;
  constexpr int kNested = 100;  // published from done callbacks
  std::atomic<int> acked{0}, failed{0};
  std::mutex mu;
  std::set<uint64_t> sequences;
  Mesh* mesh = client.get();
  std::function<void(const Result<uint64_t>&)> count =
      [&](const Result<uint64_t>& r) {
        if (!r.ok()) {
          ++failed;
          return;
        }
        std::lock_guard<std::mutex> lock(mu);
        sequences.insert(*r);
        ++acked;
      };
  for (int i = 0; i < kEvents; ++i) {
    if (i < kNested) {
      mesh->PublishAsync("window.test", MakeEvent("outer"),
                         [&, mesh](const Result<uint64_t>& r) {
                           count(r);
                           mesh->PublishAsync("window.test",
                                              MakeEvent("nested"), count);
                         });
    } else {
      mesh->PublishAsync("window.test", MakeEvent("x"), count);
    }
  }
  const int total = kEvents + kNested;
  ASSERT_TRUE(WaitFor([&] { return acked + failed == total; },
                      std::chrono::seconds(60)));
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(sequences.size(), static_cast<size_t>(total));
  ASSERT_TRUE(WaitFor([&] { return received.load() == uint64_t{total}; },
                      std::chrono::seconds(60)));
}

TEST(Tcp, BatchPublishAndReadAndAdminCallsWork) {
  ServedMesh served;
  auto client = served.Connect();
  ASSERT_NE(client, nullptr);
  std::vector<Event> events;
  for (int i = 0; i < 3; ++i) {
    events.push_back(MakeEvent("b" + std::to_string(i)));
    events.back().topic = "batch.t";
  }
  auto sequences = client->PublishBatch(events);
  ASSERT_OK(sequences.status());
  EXPECT_EQ(*sequences, (std::vector<uint64_t>{1, 2, 3}));

  auto read = client->Read("batch.t", 2, 10);
  ASSERT_OK(read.status());
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].data, "b1");

  auto topics = client->Topics();
  ASSERT_OK(topics.status());
  ASSERT_EQ(topics->size(), 1u);
  EXPECT_EQ((*topics)[0].last_sequence, 3u);
  auto stats = client->Stats();
  ASSERT_OK(stats.status());
  EXPECT_EQ(stats->published, 3u);

  events[1].topic = "bad..topic";
  auto refused = client->PublishBatch(events);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("event 1"), std::string::npos);
}

TEST(Tcp, GroupMembersOnTwoConnectionsShareEvents) {
  ServedMesh served;
  auto a = served.Connect();
  auto b = served.Connect();
  ASSERT_TRUE(a && b);
  Sink sink_a, sink_b;
  SubscribeOptions options;
  options.group = "workers";
  auto sub_a = a->Subscribe("jobs", sink_a.handler(), options);
  auto sub_b = b->Subscribe("jobs", sink_b.handler(), options);
  ASSERT_OK(sub_a.status());
  ASSERT_OK(sub_b.status());
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK(a->Publish("jobs", MakeEvent(std::to_string(i))).status());
  }
  ASSERT_TRUE(WaitFor([&] { return sink_a.size() + sink_b.size() == 200; }));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(sink_a.size() + sink_b.size(), 200u);
}

TEST(Tcp, DurableManualAcksAndRedeliveryOfUnacked) {
  ServedMesh served;
  auto client = served.Connect();
  ASSERT_NE(client, nullptr);
  SubscribeOptions options;
  options.durable = "billing";
  options.manual_ack = true;
  options.ack_wait = milliseconds(200);
  options.start = StartPosition::Earliest();
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK(client->Publish("bill", MakeEvent(std::to_string(i))).status());
  }
  std::mutex mu;
  std::vector<std::pair<std::string, uint32_t>> seen;
  auto sub = client->Subscribe(
      "bill",
      [&](const Delivery& d) {
        std::lock_guard<std::mutex> lock(mu);
        seen.emplace_back(d.event().data, d.attempt());
        // Event "1" is acked only on its second attempt.
        if (d.event().data != "1" || d.attempt() > 1) {
          EXPECT_OK(d.Ack());
        }
      },
      options);
  ASSERT_OK(sub.status());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return seen.size() >= 5;
  }));
  std::lock_guard<std::mutex> lock(mu);
  bool redelivered = false;
  for (const auto& [data, attempt] : seen) {
    if (data == "1" && attempt == 2) redelivered = true;
  }
  EXPECT_TRUE(redelivered);
}

TEST(Tcp, DroppedConnectionHandsInFlightEventsToAnotherMember) {
  ServedMesh served;
  auto publisher = served.Connect();
  auto stuck = served.Connect();
  ASSERT_TRUE(publisher && stuck);
  SubscribeOptions options;
  options.durable = "pool";
  options.manual_ack = true;
  options.ack_wait = std::chrono::seconds(60);  // longer than the test
  std::atomic<int> stuck_got{0};
  auto stuck_sub = stuck->Subscribe(
      "work", [&](const Delivery&) { ++stuck_got; }, options);
  ASSERT_OK(stuck_sub.status());
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK(
        publisher->Publish("work", MakeEvent(std::to_string(i))).status());
  }
  ASSERT_TRUE(WaitFor([&] { return stuck_got == 10; }));

  // The second member appears, then the first goes away without acking.
  Sink rescuer;
  options.manual_ack = false;
  auto rescuer_mesh = served.Connect();
  auto rescuer_sub =
      rescuer_mesh->Subscribe("work", rescuer.handler(), options);
  ASSERT_OK(rescuer_sub.status());
  stuck_sub->reset();
  stuck.reset();
  ASSERT_TRUE(
      WaitFor([&] { return rescuer.size() >= 10; }, std::chrono::seconds(10)));
}

TEST(Tcp, RequestReplyOverTheNetwork) {
  ServedMesh served;
  auto responder = served.Connect();
  auto requester = served.Connect();
  ASSERT_TRUE(responder && requester);
  Mesh* r = responder.get();
  SubscribeOptions options;
  options.group = "echo";
  auto sub = responder->Subscribe(
      "svc.echo",
      [r](const Delivery& d) {
        Event reply = MakeEvent("re:" + d.event().data);
        EXPECT_OK(r->Reply(d.event(), std::move(reply)));
      },
      options);
  ASSERT_OK(sub.status());
  for (int i = 0; i < 20; ++i) {
    auto reply = requester->Request("svc.echo", MakeEvent(std::to_string(i)),
                                    std::chrono::seconds(5));
    ASSERT_OK(reply.status());
    EXPECT_EQ(reply->data, "re:" + std::to_string(i));
  }
  auto timeout =
      requester->Request("svc.nobody", MakeEvent("x"), milliseconds(100));
  EXPECT_EQ(timeout.status().code(), StatusCode::kTimeout);
}

TEST(Tcp, CredentialsAndPermissionsAreEnforced) {
  TcpServerOptions options;
  UserConfig alice;
  alice.name = "alice";
  alice.password = "wonderland";
  alice.publish = {"orders.>"};
  alice.subscribe = {"orders.*"};
  UserConfig bot;
  bot.name = "bot";
  bot.token = "t0ken";
  bot.publish = {">"};
  bot.subscribe = {">"};
  bot.admin = true;
  options.users = {alice, bot};
  ServedMesh served(options);

  MeshOptions wrong;
  wrong.user = "alice";
  wrong.password = "nope";
  auto refused = Mesh::Open(served.url(), wrong);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(refused.status().message().find("wrong password"),
            std::string::npos);
  auto anonymous = Mesh::Open(served.url());
  EXPECT_EQ(anonymous.status().code(), StatusCode::kUnauthenticated);

  MeshOptions as_alice;
  as_alice.user = "alice";
  as_alice.password = "wonderland";
  auto client = served.Connect(as_alice);
  ASSERT_NE(client, nullptr);
  EXPECT_OK(client->Publish("orders.eu", MakeEvent("ok")).status());
  auto forbidden = client->Publish("payments.eu", MakeEvent("no"));
  EXPECT_EQ(forbidden.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(forbidden.status().message().find("payments.eu"),
            std::string::npos);
  Sink sink;
  EXPECT_OK(client->Subscribe("orders.eu", sink.handler()).status());
  EXPECT_EQ(client->Subscribe("orders.>", sink.handler()).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(client->Stats().status().code(), StatusCode::kPermissionDenied);
  // The connection survives refusals.
  EXPECT_OK(client->Publish("orders.us", MakeEvent("still")).status());

  MeshOptions as_bot;
  as_bot.token = "t0ken";
  auto admin = served.Connect(as_bot);
  ASSERT_NE(admin, nullptr);
  EXPECT_OK(admin->Stats().status());
}

TEST(Tcp, DeleteTopicAndSeekGroupAreAdminCalls) {
  TcpServerOptions options;
  UserConfig alice;
  alice.name = "alice";
  alice.token = "alice-token";
  alice.publish = {"orders.>"};
  alice.subscribe = {"orders.*"};
  UserConfig ops;
  ops.name = "ops";
  ops.token = "ops-token";
  ops.admin = true;
  options.users = {alice, ops};
  ServedMesh served(options);
  MeshOptions as_alice, as_ops;
  as_alice.token = "alice-token";
  as_ops.token = "ops-token";
  auto client = served.Connect(as_alice);
  auto admin = served.Connect(as_ops);
  ASSERT_TRUE(client != nullptr && admin != nullptr);

  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(
        client->Publish("orders.eu", MakeEvent(std::to_string(i))).status());
  }
  Sink sink;
  SubscribeOptions durable;
  durable.durable = "ship";
  durable.start = StartPosition::Earliest();
  auto sub = client->Subscribe("orders.eu", sink.handler(), durable);
  ASSERT_OK(sub.status());
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 3; }));

  // Without admin permission both are refused, and the connection stays.
  Status denied = client->DeleteTopic("orders.eu");
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("delete_topic"), std::string::npos);
  EXPECT_EQ(client->SeekGroup("ship", StartPosition::Earliest()).code(),
            StatusCode::kPermissionDenied);

  // The member keeps its subscription and goes on from sequence 2.
  ASSERT_OK(admin->SeekGroup("ship", StartPosition::Sequence(2)));
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 5; }));
  {
    std::lock_guard<std::mutex> lock(sink.mu);
    EXPECT_EQ(sink.events[3].sequence, 2u);
    EXPECT_EQ(sink.events[4].sequence, 3u);
  }
  EXPECT_EQ(admin->SeekGroup("nobody", StartPosition::Latest()).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(admin->SeekGroup("ship", StartPosition::Sequence(9)).code(),
            StatusCode::kInvalidArgument);

  ASSERT_OK(admin->DeleteTopic("orders.eu"));
  EXPECT_EQ(admin->DeleteTopic("orders.eu").code(), StatusCode::kNotFound);
  EXPECT_EQ(admin->DeleteTopic("bad..topic").code(),
            StatusCode::kInvalidArgument);
  auto topics = admin->Topics();
  ASSERT_OK(topics.status());
  ASSERT_EQ(topics->size(), 1u);
  EXPECT_EQ((*topics)[0].count, 0u);
  auto next = client->Publish("orders.eu", MakeEvent("3"));
  ASSERT_OK(next.status());
  EXPECT_EQ(*next, 4u);
  ASSERT_TRUE(WaitFor([&] { return sink.size() == 6; }));
}

// A raw socket speaking garbage gets an error frame and is closed; a good
// client on another connection is unaffected.
TEST(Tcp, MalformedFrameClosesOnlyThatConnection) {
  ServedMesh served;
  auto good = served.Connect();
  ASSERT_NE(good, nullptr);

  sockaddr_storage addr;
  ASSERT_OK(ParseHostPort(served.server()->address(), &addr));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(sockaddr_in)), 0);
  std::string garbage(64, '\x7f');
  ASSERT_EQ(write(fd, garbage.data(), garbage.size()),
            static_cast<ssize_t>(garbage.size()));
  std::string received;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;  // closed by the server
    received.append(buf, n);
  }
  close(fd);
  FrameDecoder decoder;
  decoder.Append(received);
  Frame frame;
  ASSERT_TRUE(*decoder.Next(&frame));
  EXPECT_EQ(frame.type, FrameType::kError);
  Status carried;
  ASSERT_OK(DecodeError(frame.body, &carried));
  EXPECT_EQ(carried.code(), StatusCode::kInvalidArgument);

  EXPECT_OK(good->Publish("still.fine", MakeEvent("x")).status());
}

TEST(Tcp, SlowConsumerIsHeldBackByCredit) {
  ServedMesh served;
  auto client = served.Connect();
  ASSERT_NE(client, nullptr);
  std::atomic<bool> release{false};
  std::atomic<int> got{0};
  SubscribeOptions options;
  options.max_pending = 64;  // the credit window: 64 events
  options.overflow = OverflowPolicy::kDrop;
  auto sub = client->Subscribe(
      "slow",
      [&](const Delivery&) {
        ++got;
        while (!release) std::this_thread::sleep_for(milliseconds(1));
      },
      options);
  ASSERT_OK(sub.status());
  auto publisher = served.Connect();
  for (int i = 0; i < 300; ++i) {
    ASSERT_OK(publisher->Publish("slow", MakeEvent("x")).status());
  }
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(got.load(), 1);  // the handler holds its first batch
  release = true;
  ASSERT_TRUE(WaitFor([&] { return got >= 64; }));
}

// A client speaking the protocol by hand: connects, says hello, and reads
// frames with a deadline.
class RawClient {
 public:
  explicit RawClient(const std::string& address) {
    sockaddr_storage addr;
    EXPECT_OK(ParseHostPort(address, &addr));
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(
        connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(sockaddr_in)),
        0);
    timeval tv{0, 20000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    HelloBody hello;
    hello.versions = {kProtocolVersion};
    std::string body;
    EncodeHello(hello, &body);
    Send(FrameType::kHello, 0, body);
  }
  ~RawClient() { close(fd_); }
  void Send(FrameType type, uint64_t id, std::string_view body) {
    std::string out;
    AppendFrame(type, id, body, &out);
    SendBytes(out);
  }
  // Several frames in one write, so the server reads them together.
  void SendBytes(std::string_view bytes) {
    EXPECT_EQ(write(fd_, bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
  }
  struct Received {
    FrameType type;
    uint64_t request_id;
    std::string body;
  };
  // Frames received within `wait`.
  std::vector<Received> ReadWithIds(milliseconds wait) {
    std::vector<Received> frames;
    auto deadline = std::chrono::steady_clock::now() + wait;
    char buf[65536];
    while (std::chrono::steady_clock::now() < deadline) {
      ssize_t n = read(fd_, buf, sizeof(buf));
      if (n > 0) decoder_.Append(std::string_view(buf, n));
      Frame frame;
      while (*decoder_.Next(&frame)) {
        frames.push_back(
            {frame.type, frame.request_id, std::string(frame.body)});
      }
    }
    return frames;
  }
  std::vector<std::pair<FrameType, std::string>> Read(milliseconds wait) {
    std::vector<std::pair<FrameType, std::string>> frames;
    for (Received& r : ReadWithIds(wait)) {
      frames.emplace_back(r.type, std::move(r.body));
    }
    return frames;
  }

 private:
  int fd_ = -1;
  FrameDecoder decoder_;
};

size_t CountDeliveries(
    const std::vector<std::pair<FrameType, std::string>>& frames) {
  size_t count = 0;
  for (const auto& [type, body] : frames) {
    if (type != FrameType::kDeliver) continue;
    DeliverBody deliver;
    EXPECT_OK(DecodeDeliver(body, &deliver));
    count += deliver.items.size();
  }
  return count;
}

TEST(Tcp, ServerNeverSendsBeyondTheGrantedCredit) {
  ServedMesh served;
  RawClient raw(served.server()->address());
  SubscribeBody subscribe;
  subscribe.sub_id = 1;
  subscribe.pattern = "credit.t";
  subscribe.credit = 5;
  std::string body;
  EncodeSubscribe(subscribe, &body);
  raw.Send(FrameType::kSubscribe, 7, body);
  auto frames = raw.Read(milliseconds(200));
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(frames[0].first, FrameType::kWelcome);
  EXPECT_EQ(frames[1].first, FrameType::kOk);

  auto publisher = served.Connect();
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(publisher->Publish("credit.t", MakeEvent("x")).status());
  }
  EXPECT_EQ(CountDeliveries(raw.Read(milliseconds(300))), 5u);

  body.clear();
  EncodeCredit({1, 10}, &body);
  raw.Send(FrameType::kCredit, 0, body);
  EXPECT_EQ(CountDeliveries(raw.Read(milliseconds(300))), 10u);
}

// The tokens a list of frames delivered, in order.
std::vector<uint64_t> DeliveredTokens(
    const std::vector<std::pair<FrameType, std::string>>& frames) {
  std::vector<uint64_t> tokens;
  for (const auto& [type, body] : frames) {
    if (type != FrameType::kDeliver) continue;
    DeliverBody deliver;
    EXPECT_OK(DecodeDeliver(body, &deliver));
    for (const DeliveryItem& item : deliver.items) {
      tokens.push_back(item.token);
    }
  }
  return tokens;
}

TEST(Tcp, EachNackInAFrameKeepsItsOwnDelay) {
  ServedMesh served;
  RawClient raw(served.server()->address());
  SubscribeBody subscribe;
  subscribe.sub_id = 1;
  subscribe.pattern = "nack.t";
  subscribe.options.durable = "nackers";
  subscribe.options.manual_ack = true;
  subscribe.options.ack_wait = std::chrono::seconds(60);
  subscribe.credit = 10;
  std::string body;
  EncodeSubscribe(subscribe, &body);
  raw.Send(FrameType::kSubscribe, 7, body);
  raw.Read(milliseconds(200));  // welcome and ok

  auto publisher = served.Connect();
  ASSERT_OK(publisher->Publish("nack.t", MakeEvent("x")).status());
  std::vector<uint64_t> tokens = DeliveredTokens(raw.Read(milliseconds(300)));
  ASSERT_EQ(tokens.size(), 1u);

  // An unknown token with no delay, then the real one with a long delay:
  // the real one must wait its own delay, not borrow the first one's.
  body.clear();
  EncodeNack({{tokens[0] + 1000, 0}, {tokens[0], 60000}}, &body);
  raw.Send(FrameType::kNack, 8, body);
  auto frames = raw.Read(milliseconds(500));
  EXPECT_TRUE(DeliveredTokens(frames).empty());
  bool answered = false;
  for (const auto& [type, reply] : frames) {
    if (type == FrameType::kError) answered = true;  // the unknown token
  }
  EXPECT_TRUE(answered);

  // A nack without delay does redeliver at once.
  body.clear();
  ASSERT_OK(publisher->Publish("nack.t", MakeEvent("y")).status());
  tokens = DeliveredTokens(raw.Read(milliseconds(300)));
  ASSERT_EQ(tokens.size(), 1u);
  EncodeNack({{tokens[0], 0}}, &body);
  raw.Send(FrameType::kNack, 9, body);
  EXPECT_EQ(DeliveredTokens(raw.Read(milliseconds(500))).size(), 1u);
}

// Publish frames that arrive together are published together, yet each
// gets its own answer: a bad one fails alone, and frames of other kinds
// between them keep their place.
TEST(Tcp, PublishFramesReadTogetherAreAnsweredEachOnItsOwn) {
  ServedMesh served;
  Sink sink;
  auto sub = served.mesh()->Subscribe("each.>", sink.handler());
  ASSERT_OK(sub.status());
  RawClient raw(served.server()->address());
  raw.Read(milliseconds(200));  // welcome

  Event bad_event = MakeEvent("bad");
  bad_event.type.clear();
  std::string bytes;
  AppendPublishFrame(1, 0, "each.a", MakeEvent("0"), &bytes);
  AppendPublishFrame(2, 0, "each.a", bad_event, &bytes);
  AppendPublishFrame(3, 0, "each..a", MakeEvent("bad topic"), &bytes);
  AppendPublishFrame(4, 3, "each.b", MakeEvent("1"), &bytes);  // none
  AppendFrame(FrameType::kPing, 5, {}, &bytes);
  AppendPublishFrame(6, 0, "each.a", MakeEvent("2"), &bytes);
  AppendPublishFrame(7, 9, "each.a", MakeEvent("bad durability"), &bytes);
  raw.SendBytes(bytes);

  std::map<uint64_t, std::vector<RawClient::Received>> answers;
  for (auto& frame : raw.ReadWithIds(milliseconds(500))) {
    answers[frame.request_id].push_back(std::move(frame));
  }
  ASSERT_EQ(answers.size(), 7u);
  for (const auto& [id, frames] : answers) {
    EXPECT_EQ(frames.size(), 1u) << "request " << id;
  }
  auto sequence = [&](uint64_t id) {
    const RawClient::Received& r = answers[id][0];
    EXPECT_EQ(r.type, FrameType::kPubAck) << "request " << id;
    uint64_t value = 0;
    EXPECT_OK(DecodeVarintBody(r.body, "puback", &value));
    return value;
  };
  EXPECT_EQ(sequence(1), 1u);
  EXPECT_EQ(sequence(4), 1u);
  EXPECT_EQ(sequence(6), 2u);
  EXPECT_EQ(answers[5][0].type, FrameType::kPong);
  for (uint64_t id : {2, 3, 7}) {
    ASSERT_EQ(answers[id][0].type, FrameType::kError) << "request " << id;
    Status error;
    ASSERT_OK(DecodeError(answers[id][0].body, &error));
    EXPECT_EQ(error.code(), StatusCode::kInvalidArgument) << error.ToString();
  }

  ASSERT_TRUE(WaitFor([&] { return sink.size() == 3; }));
  std::lock_guard<std::mutex> lock(sink.mu);
  EXPECT_EQ(sink.events[0].data, "0");
  EXPECT_EQ(sink.events[1].data, "1");
  EXPECT_EQ(sink.events[1].topic, "each.b");
  EXPECT_EQ(sink.events[2].data, "2");
}

// PublishEachAsync through a client (the per-event fallback) and on the
// server's own mesh (one hand-off) answers each event on its own.
TEST(Tcp, PublishEachAsyncAnswersEveryEventInOrder) {
  ServedMesh served;
  auto client = served.Connect();
  ASSERT_NE(client, nullptr);
  for (Mesh* mesh : {client.get(), served.mesh()}) {
    std::vector<Event> events;
    for (int i = 0; i < 3; ++i) {
      events.push_back(MakeEvent(std::to_string(i)));
      events.back().topic = "many.x";
    }
    events[1].topic = "many..x";
    std::mutex mu;
    std::vector<Result<uint64_t>> got;
    bool done = false;
    mesh->PublishEachAsync(std::move(events),
                           [&](std::vector<Result<uint64_t>>& results) {
                             std::lock_guard<std::mutex> lock(mu);
                             got = results;
                             done = true;
                           });
    ASSERT_TRUE(WaitFor([&] {
      std::lock_guard<std::mutex> lock(mu);
      return done;
    }));
    ASSERT_EQ(got.size(), 3u);
    ASSERT_OK(got[0].status());
    EXPECT_EQ(got[1].status().code(), StatusCode::kInvalidArgument);
    ASSERT_OK(got[2].status());
    EXPECT_EQ(*got[2], *got[0] + 1);
  }
}

TEST(Tcp, ClientReportsUnreachableServer) {
  MeshOptions options;
  options.connect_timeout = milliseconds(300);
  auto mesh = Mesh::Open("tcp://127.0.0.1:1", options);
  EXPECT_EQ(mesh.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(Mesh::Open("tcp://example.com:1").status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace eventmesh::net
