// Three eventmesh-server processes joined into a mesh of nodes on loopback
// (ephemeral ports), with clients on each over tcp://: broadcast and
// groups across nodes, request/reply across nodes, a node killed with
// SIGKILL and restarted, and a node hung with SIGSTOP.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eventmesh/mesh.h"
#include "unit/test_util.h"

extern char** environ;

namespace eventmesh {
namespace {

using eventmesh::testing::MakeEvent;
using eventmesh::testing::TempDir;
using eventmesh::testing::WaitFor;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kDownAfterMs = 1000;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// After `marker`, the text up to the next space or newline.
std::string FieldAfter(const std::string& log, const std::string& marker) {
  size_t at = log.find(marker);
  if (at == std::string::npos) return "";
  size_t start = at + marker.size();
  size_t end = log.find_first_of(" \n", start);
  if (end == std::string::npos) return "";
  return log.substr(start, end - start);
}

// eventmesh-server with a [cluster] section; output to a log file.
// EVENTMESH_SERVER, else the build tree's binary.
std::string ServerBinary() {
  if (const char* path = std::getenv("EVENTMESH_SERVER")) return path;
  if (const char* build = std::getenv("EVENTMESH_BUILD_DIR")) {
    return std::string(build) + "/tools/eventmesh-server/eventmesh-server";
  }
  return "eventmesh-server";
}

class Node {
 public:
  Node(const TempDir& dir, const std::string& name,
       const std::vector<std::string>& seeds) {
    std::string config = dir.path() + "/" + name + ".toml";
    std::ofstream out(config);
    out << "listen = \"127.0.0.1:0\"\n"
        << "data = \"" << dir.path() << "/data-" << name << "\"\n"
        << "durability = \"none\"\n"
        << "[http]\n"
        << "listen = \"127.0.0.1:0\"\n"
        << "[cluster]\n"
        << "node_id = \"" << name << "\"\n"
        << "listen = \"127.0.0.1:0\"\n"
        << "down_after_ms = " << kDownAfterMs << "\n"
        << "seeds = [";
    for (size_t i = 0; i < seeds.size(); ++i) {
      out << (i ? ", " : "") << "\"" << seeds[i] << "\"";
    }
    out << "]\n";
    out.close();
    log_ = dir.path() + "/" + name + "-" + std::to_string(++starts_) + ".log";
    std::vector<std::string> argv = {ServerBinary(), "--config", config};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) !=
        0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    WaitFor(
        [&] {
          std::string log = ReadFile(log_);
          cluster_address_ = FieldAfter(log, "listening tcp://");
          tcp_address_ = FieldAfter(log, "listening tcp ");
          return !tcp_address_.empty() && !cluster_address_.empty();
        },
        seconds(20));
  }
  ~Node() { Kill(SIGKILL); }

  void Kill(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    if (sig == SIGKILL || sig == SIGTERM) {
      int status = 0;
      waitpid(pid_, &status, 0);
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
    }
  }
  std::string url() const { return "tcp://" + tcp_address_; }
  std::string cluster_address() const { return "tcp://" + cluster_address_; }
  std::string Log() const { return ReadFile(log_); }
  int exit_code() const { return exit_code_; }

 private:
  static inline int starts_ = 0;
  std::string log_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string tcp_address_, cluster_address_;
};

// A client connection and its subscriptions, which go first.
struct Client {
  std::unique_ptr<Mesh> mesh;
  std::vector<std::unique_ptr<Subscription>> subs;
  ~Client() { subs.clear(); }
  Mesh* get() { return mesh.get(); }
  void Keep(Result<std::unique_ptr<Subscription>> s) {
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (s.ok()) subs.push_back(std::move(s).value());
  }
};

std::unique_ptr<Client> Connect(const std::string& url) {
  MeshOptions options;
  options.connect_timeout = seconds(10);
  options.call_timeout = seconds(20);
  auto mesh = Mesh::Open(url, options);
  EXPECT_TRUE(mesh.ok()) << mesh.status().ToString();
  if (!mesh.ok()) return nullptr;
  auto client = std::make_unique<Client>();
  client->mesh = std::move(mesh).value();
  return client;
}

struct Collected {
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
  size_t count(const std::string& v) {
    std::lock_guard<std::mutex> lock(mu);
    return data.count(v);
  }
};

// The node's view of the cluster, asked through a client.
nlohmann::json Nodes(Mesh* client) {
  auto reply = client->Request("$SYS.cluster.nodes", MakeEvent(""), seconds(5));
  if (!reply.ok()) return nlohmann::json::object();
  return nlohmann::json::parse(reply->data, nullptr, false);
}

// Whether `client`'s node sees `id` in `state` with at least
// `min_interest` patterns.
bool Sees(Mesh* client, const std::string& id, const std::string& state,
          size_t min_interest = 0) {
  nlohmann::json j = Nodes(client);
  if (!j.contains("nodes")) return false;
  for (const auto& n : j["nodes"]) {
    if (n["id"] == id) {
      return n["state"] == state && n["interest"].get<size_t>() >= min_interest;
    }
  }
  return false;
}

std::string Tag(const std::string& prefix, int i) {
  return prefix + "-" + std::to_string(i);
}

TEST(ClusterServers, ThreeNodes) {
  // Declared first: handlers may run until the clients are gone.
  Collected bcast_b, bcast_c, w_a, w_b, w_c, crew_b, crew_c, crew_c2;
  TempDir dir;
  auto a = std::make_unique<Node>(dir, "a", std::vector<std::string>{});
  ASSERT_FALSE(a->cluster_address().empty()) << a->Log();
  auto b = std::make_unique<Node>(
      dir, "b", std::vector<std::string>{a->cluster_address()});
  auto c = std::make_unique<Node>(
      dir, "c", std::vector<std::string>{a->cluster_address()});
  auto ca = Connect(a->url());
  auto cb = Connect(b->url());
  auto cc = Connect(c->url());
  ASSERT_TRUE(ca && cb && cc) << a->Log() << b->Log() << c->Log();

  // Subscribers: broadcast on b and c, group "workers" on all three,
  // group "crew" on b and c only, a responder on a.
  SubscribeOptions workers, crew;
  workers.group = "workers";
  crew.group = "crew";
  cb->Keep(cb->mesh->Subscribe("orders.>", bcast_b.handler()));
  cc->Keep(cc->mesh->Subscribe("orders.*", bcast_c.handler()));
  ca->Keep(ca->mesh->Subscribe("jobs.>", w_a.handler(), workers));
  cb->Keep(cb->mesh->Subscribe("jobs.>", w_b.handler(), workers));
  cc->Keep(cc->mesh->Subscribe("jobs.>", w_c.handler(), workers));
  cb->Keep(cb->mesh->Subscribe("crew.>", crew_b.handler(), crew));
  cc->Keep(cc->mesh->Subscribe("crew.>", crew_c.handler(), crew));
  Mesh* responder = ca->get();
  ca->Keep(ca->mesh->Subscribe("math.double", [responder](const Delivery& d) {
    Event reply = MakeEvent(d.event().data + d.event().data);
    responder->Reply(d.event(), std::move(reply)).IgnoreError();
  }));
  ASSERT_TRUE(WaitFor(
      [&] {
        return Sees(ca->get(), "b", "up", 3) && Sees(ca->get(), "c", "up", 3) &&
               Sees(cb->get(), "c", "up") && Sees(cc->get(), "a", "up", 2) &&
               Sees(cc->get(), "b", "up");
      },
      seconds(15)))
      << Nodes(ca->get()).dump();

  // Broadcast: everything published on a reaches b and c once.
  constexpr int kBroadcast = 1000;
  std::vector<Event> batch;
  for (int i = 0; i < kBroadcast; ++i) {
    Event e = MakeEvent(Tag("o", i));
    e.topic = "orders.new";
    batch.push_back(std::move(e));
  }
  ASSERT_OK(ca->mesh->PublishBatch(std::move(batch)).status());
  ASSERT_TRUE(WaitFor(
      [&] {
        return bcast_b.size() == kBroadcast && bcast_c.size() == kBroadcast;
      },
      seconds(20)))
      << bcast_b.size() << " " << bcast_c.size();

  // Group on three nodes, published on each: each event exactly once.
  constexpr int kJobsPerNode = 200;
  Mesh* publishers[] = {ca->get(), cb->get(), cc->get()};
  for (int p = 0; p < 3; ++p) {
    for (int i = 0; i < kJobsPerNode; ++i) {
      ASSERT_OK(
          publishers[p]
              ->Publish("jobs.x", MakeEvent(Tag("j" + std::to_string(p), i)))
              .status());
    }
  }
  ASSERT_TRUE(WaitFor(
      [&] { return w_a.size() + w_b.size() + w_c.size() == 3 * kJobsPerNode; },
      seconds(20)));

  // Group only on b and c, published on a: shared between them.
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK(ca->mesh->Publish("crew.x", MakeEvent(Tag("c", i))).status());
  }
  ASSERT_TRUE(WaitFor([&] { return crew_b.size() + crew_c.size() == 200; },
                      seconds(20)));
  EXPECT_GT(crew_b.size(), 0u);
  EXPECT_GT(crew_c.size(), 0u);

  // Request on c, answered on a.
  for (int i = 0; i < 10; ++i) {
    auto reply = cc->mesh->Request("math.double", MakeEvent(std::to_string(i)),
                                   seconds(5));
    ASSERT_OK(reply.status());
    EXPECT_EQ(reply->data, std::to_string(i) + std::to_string(i));
  }

  // SIGKILL c while a publishes to the crew: c is marked down within
  // down_after (plus a heartbeat), and from then on b gets every event.
  std::atomic<bool> stop{false};
  std::atomic<int> published{0};
  std::atomic<int> first_after_down{-1};
  std::thread publisher([&] {
    for (int i = 0; !stop.load() && i < 100000; ++i) {
      if (!ca->mesh->Publish("crew.x", MakeEvent(Tag("k", i))).ok()) break;
      published.store(i + 1);
      std::this_thread::sleep_for(milliseconds(2));
    }
  });
  ASSERT_TRUE(WaitFor([&] { return published.load() > 100; }, seconds(10)));
  cc.reset();
  c->Kill(SIGKILL);
  auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      WaitFor([&] { return Sees(ca->get(), "c", "down"); }, seconds(5)));
  auto detected = std::chrono::steady_clock::now() - killed;
  first_after_down.store(published.load());
  EXPECT_LT(detected, milliseconds(kDownAfterMs * 3));
  EXPECT_TRUE(Sees(ca->get(), "c", "down", 0));
  std::this_thread::sleep_for(milliseconds(300));
  stop.store(true);
  publisher.join();
  int total = published.load();
  ASSERT_TRUE(WaitFor(
      [&] {
        for (int i = first_after_down.load(); i < total; ++i) {
          if (crew_b.count(Tag("k", i)) != 1) return false;
        }
        return true;
      },
      seconds(10)));
  size_t lost_in_window = 0;
  for (int i = 0; i < total; ++i) {
    if (crew_b.count(Tag("k", i)) + crew_c.count(Tag("k", i)) == 0) {
      ++lost_in_window;
    }
  }
  std::printf(
      "kill: published %d, c marked down after %lld ms, events after that "
      "%d (all on b), events sent to c before detection and lost with it "
      "%zu\n",
      total,
      static_cast<long long>(
          std::chrono::duration_cast<milliseconds>(detected).count()),
      total - first_after_down.load(), lost_in_window);

  // c restarts (new process, same name): it rejoins and gets its share.
  c = std::make_unique<Node>(dir, "c",
                             std::vector<std::string>{b->cluster_address()});
  cc = Connect(c->url());
  ASSERT_TRUE(cc);
  cc->Keep(cc->mesh->Subscribe("crew.>", crew_c2.handler(), crew));
  ASSERT_TRUE(
      WaitFor([&] { return Sees(ca->get(), "c", "up", 2); }, seconds(15)));
  size_t before_b = crew_b.size();
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK(ca->mesh->Publish("crew.x", MakeEvent(Tag("r", i))).status());
  }
  ASSERT_TRUE(
      WaitFor([&] { return crew_b.size() - before_b + crew_c2.size() == 200; },
              seconds(20)));
  EXPECT_GT(crew_c2.size(), 0u);

  // SIGSTOP b: a hang, not a crash, is detected too; c takes the crew.
  b->Kill(SIGSTOP);
  ASSERT_TRUE(
      WaitFor([&] { return Sees(ca->get(), "b", "down"); }, seconds(5)));
  size_t before_c = crew_c2.size();
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK(ca->mesh->Publish("crew.x", MakeEvent(Tag("s", i))).status());
  }
  ASSERT_TRUE(
      WaitFor([&] { return crew_c2.size() - before_c == 100; }, seconds(20)));
  b->Kill(SIGCONT);
  ASSERT_TRUE(
      WaitFor([&] { return Sees(ca->get(), "b", "up", 2); }, seconds(15)));

  std::printf(
      "counts: broadcast published %d, delivered b %zu c %zu; workers "
      "published %d, delivered %zu; crew delivered b %zu c %zu + %zu\n",
      kBroadcast, bcast_b.size(), bcast_c.size(), 3 * kJobsPerNode,
      w_a.size() + w_b.size() + w_c.size(), crew_b.size(), crew_c.size(),
      crew_c2.size());
  // Nothing expected is missing, nothing came twice.
  for (int i = 0; i < kBroadcast; ++i) {
    ASSERT_EQ(bcast_b.count(Tag("o", i)), 1u);
    ASSERT_EQ(bcast_c.count(Tag("o", i)), 1u);
  }
  for (int p = 0; p < 3; ++p) {
    for (int i = 0; i < kJobsPerNode; ++i) {
      std::string t = Tag("j" + std::to_string(p), i);
      ASSERT_EQ(w_a.count(t) + w_b.count(t) + w_c.count(t), 1u) << t;
    }
  }
  ca.reset();
  cb.reset();
  cc.reset();
  a->Kill(SIGTERM);
  EXPECT_EQ(a->exit_code(), 0) << a->Log();
}

// Durable members that ack by hand, as a client of one node sees them.
struct DurableCollected {
  std::mutex mu;
  std::multiset<std::string> delivered, acked;
  Handler handler() {
    return [this](const Delivery& d) {
      {
        std::lock_guard<std::mutex> lock(mu);
        delivered.insert(d.event().data);
      }
      if (!d.Ack().ok()) return;
      std::lock_guard<std::mutex> lock(mu);
      acked.insert(d.event().data);
    };
  }
  size_t delivered_count(const std::string& v) {
    std::lock_guard<std::mutex> lock(mu);
    return delivered.count(v);
  }
  size_t acked_count(const std::string& v) {
    std::lock_guard<std::mutex> lock(mu);
    return acked.count(v);
  }
  size_t acked_size() {
    std::lock_guard<std::mutex> lock(mu);
    return acked.size();
  }
  size_t delivered_size() {
    std::lock_guard<std::mutex> lock(mu);
    return delivered.size();
  }
};

// The durable group `name` as node `client` reports it.
GroupInfo Group(Mesh* client, const std::string& name) {
  auto groups = client->Groups();
  if (groups.ok()) {
    for (const GroupInfo& g : *groups) {
      if (g.name == name) return g;
    }
  }
  return GroupInfo{};
}

TEST(ClusterServers, DurableGroupAcrossNodes) {
  // Declared first: handlers may run until the clients are gone.
  DurableCollected on_b, on_c, on_c2;
  TempDir dir;
  auto a = std::make_unique<Node>(dir, "a", std::vector<std::string>{});
  ASSERT_FALSE(a->cluster_address().empty()) << a->Log();
  auto b = std::make_unique<Node>(
      dir, "b", std::vector<std::string>{a->cluster_address()});
  auto c = std::make_unique<Node>(
      dir, "c", std::vector<std::string>{a->cluster_address()});
  auto ca = Connect(a->url());
  auto cb = Connect(b->url());
  auto cc = Connect(c->url());
  ASSERT_TRUE(ca && cb && cc) << a->Log() << b->Log() << c->Log();

  // Members of durable "billing" on b and c only, acking by hand.
  constexpr int kAckWaitMs = 1500;
  SubscribeOptions billing;
  billing.durable = "billing";
  billing.manual_ack = true;
  billing.ack_wait = milliseconds(kAckWaitMs);
  billing.max_in_flight = 32;
  cb->Keep(cb->mesh->Subscribe("bill.>", on_b.handler(), billing));
  cc->Keep(cc->mesh->Subscribe("bill.>", on_c.handler(), billing));
  ASSERT_TRUE(WaitFor([&] { return Group(ca->get(), "billing").members == 2; },
                      seconds(15)))
      << Nodes(ca->get()).dump();

  // Published on a: each event reaches b or c exactly once, acked.
  constexpr int kFirst = 500;
  std::vector<Event> batch;
  for (int i = 0; i < kFirst; ++i) {
    Event e = MakeEvent(Tag("d", i));
    e.topic = "bill.new";
    batch.push_back(std::move(e));
  }
  ASSERT_OK(ca->mesh->PublishBatch(std::move(batch)).status());
  ASSERT_TRUE(
      WaitFor([&] { return on_b.acked_size() + on_c.acked_size() == kFirst; },
              seconds(20)))
      << on_b.acked_size() << " + " << on_c.acked_size();
  ASSERT_TRUE(WaitFor([&] { return Group(ca->get(), "billing").lag == 0; },
                      seconds(10)));
  for (int i = 0; i < kFirst; ++i) {
    std::string t = Tag("d", i);
    ASSERT_EQ(on_b.delivered_count(t) + on_c.delivered_count(t), 1u) << t;
    ASSERT_EQ(on_b.acked_count(t) + on_c.acked_count(t), 1u) << t;
  }
  EXPECT_GT(on_b.acked_size(), 0u);
  EXPECT_GT(on_c.acked_size(), 0u);
  size_t first_b = on_b.delivered_size(), first_c = on_c.delivered_size();

  // SIGKILL c while a publishes: what was in flight to c is redelivered to
  // b, and nothing acknowledged is missing.
  std::atomic<bool> stop{false};
  std::atomic<int> published{0};
  std::thread publisher([&] {
    for (int i = 0; !stop.load() && i < 100000; ++i) {
      if (!ca->mesh->Publish("bill.new", MakeEvent(Tag("k", i))).ok()) break;
      published.store(i + 1);
      std::this_thread::sleep_for(milliseconds(2));
    }
  });
  ASSERT_TRUE(WaitFor([&] { return published.load() > 150; }, seconds(10)));
  c->Kill(SIGKILL);
  cc.reset();
  auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      WaitFor([&] { return Sees(ca->get(), "c", "down"); }, seconds(5)));
  std::this_thread::sleep_for(milliseconds(300));
  stop.store(true);
  publisher.join();
  int total = published.load();
  ASSERT_TRUE(WaitFor(
      [&] {
        for (int i = 0; i < total; ++i) {
          if (on_b.acked_count(Tag("k", i)) + on_c.acked_count(Tag("k", i)) ==
              0) {
            return false;
          }
        }
        return Group(ca->get(), "billing").lag == 0;
      },
      seconds(30)));
  auto recovered = std::chrono::steady_clock::now() - killed;

  // Counts: an event came twice only if c had it first.
  size_t to_c = 0, acked_by_c = 0, again_on_b = 0;
  for (int i = 0; i < total; ++i) {
    std::string t = Tag("k", i);
    size_t on_b_count = on_b.delivered_count(t);
    size_t on_c_count = on_c.delivered_count(t);
    to_c += on_c_count;
    acked_by_c += on_c.acked_count(t);
    if (on_c_count > 0 && on_b_count > 0) ++again_on_b;
    ASSERT_LE(on_b_count + on_c_count, 2u) << t;
    if (on_b_count + on_c_count == 2) {
      ASSERT_EQ(on_c_count, 1u) << t;
    }
  }
  GroupInfo g = Group(ca->get(), "billing");
  std::printf(
      "durable: published %d + %d on a; first part delivered b %zu c %zu "
      "(each once, all acked); during the kill: delivered to c %zu (acked "
      "%zu), redelivered to b %zu; all %d acked within %lld ms of the kill; "
      "a's group: delivered %llu, redelivered %llu, lag %llu\n",
      kFirst, total, first_b, first_c, to_c, acked_by_c, again_on_b, total,
      static_cast<long long>(
          std::chrono::duration_cast<milliseconds>(recovered).count()),
      static_cast<unsigned long long>(g.delivered),
      static_cast<unsigned long long>(g.redelivered),
      static_cast<unsigned long long>(g.lag));
  EXPECT_GT(to_c, 0u);
  // c held max_in_flight when it died; each delivery is a first one or a
  // redelivery, and nothing was dead-lettered.
  EXPECT_GT(g.redelivered, 0u);
  EXPECT_EQ(g.delivered, kFirst + total + g.redelivered);
  EXPECT_EQ(g.dead_lettered, 0u);
  EXPECT_EQ(g.lag, 0u);
  EXPECT_EQ(g.members, 1u);  // b's; c's went with it

  // Link stats through the native stats call: c is down, b is up and
  // nothing is left in flight.
  auto stats = ca->mesh->Stats();
  ASSERT_OK(stats.status());
  ASSERT_EQ(stats->links.size(), 2u);
  for (const LinkStats& l : stats->links) {
    EXPECT_EQ(l.up, l.node == "b") << l.node;
    EXPECT_EQ(l.in_flight, 0u) << l.node;
    if (l.node == "b") {
      EXPECT_GT(l.events_sent, 0u);
    }
  }

  // c comes back (a new process on the same data): its member advertises
  // the durable again and delivery to it resumes.
  c = std::make_unique<Node>(dir, "c",
                             std::vector<std::string>{a->cluster_address()});
  cc = Connect(c->url());
  ASSERT_TRUE(cc) << c->Log();
  cc->Keep(cc->mesh->Subscribe("bill.>", on_c2.handler(), billing));
  ASSERT_TRUE(WaitFor([&] { return Group(ca->get(), "billing").members == 2; },
                      seconds(15)));
  constexpr int kAfter = 200;
  size_t b_before = on_b.acked_size();
  for (int i = 0; i < kAfter; ++i) {
    ASSERT_OK(ca->mesh->Publish("bill.new", MakeEvent(Tag("r", i))).status());
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        return on_b.acked_size() - b_before + on_c2.acked_size() == kAfter;
      },
      seconds(20)));
  for (int i = 0; i < kAfter; ++i) {
    std::string t = Tag("r", i);
    ASSERT_EQ(on_b.delivered_count(t) + on_c2.delivered_count(t), 1u) << t;
  }
  EXPECT_GT(on_c2.acked_size(), 0u);
  std::printf("durable: after c's restart %d published, acked b %zu c %zu\n",
              kAfter, on_b.acked_size() - b_before, on_c2.acked_size());

  ca.reset();
  cb.reset();
  cc.reset();
  a->Kill(SIGTERM);
  EXPECT_EQ(a->exit_code(), 0) << a->Log();
}

}  // namespace
}  // namespace eventmesh
