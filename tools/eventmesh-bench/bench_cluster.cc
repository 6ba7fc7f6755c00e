// Cross-node workload (docs/benchmarks.md, "Cluster"): a publisher
// connected to node A, one subscriber connected to node B, 100-byte
// events, events/s delivered at B.
//   - EventMesh: two memory meshes in this process, each served over TCP
//     and linked by a Cluster over ZeroMQ on loopback;
//   - NATS: two nats-server processes joined by a cluster route.

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster.h"
#include "eventmesh/mesh.h"
#include "mesh/local_mesh.h"
#include "net/event_loop.h"
#include "net/tcp_server.h"

#ifdef EVENTMESH_HAVE_NATS
#include <nats/nats.h>

#include "nats_peer.h"
#endif

extern char** environ;

namespace eventmesh {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kPayload = 100;
constexpr uint64_t kEvents = 200000;

bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds limit) {
  auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

// One node: a memory mesh served over TCP, with its cluster links.
class ClusterNode {
 public:
  ClusterNode(const std::string& name, std::vector<std::string> seeds) {
    MeshOptions options;
    options.node_id = name;
    options.durability = Durability::kNone;
    auto mesh = Mesh::Open("mem:", options);
    if (!mesh.ok()) Fatal("bench mesh: " + mesh.status().ToString());
    mesh_ = std::move(mesh).value();
    if (!loop_.Start("bench-" + name).ok()) Fatal("bench loop");
    net::TcpServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    server_ =
        std::make_unique<net::TcpServer>(&loop_, mesh_.get(), server_options);
    if (Status s = server_->Start(); !s.ok()) Fatal(s.ToString());
    cluster::ClusterOptions co;
    co.listen = "127.0.0.1:0";
    co.seeds = std::move(seeds);
    co.down_after = std::chrono::seconds(3);
    auto c = cluster::Cluster::Start(dynamic_cast<LocalMesh*>(mesh_.get()), co);
    if (!c.ok()) Fatal(c.status().ToString());
    cluster_ = std::move(c).value();
  }
  ~ClusterNode() {
    cluster_->Stop();
    server_->Stop();
    mesh_->Close().IgnoreError();
    loop_.Stop();
  }
  std::unique_ptr<Mesh> Connect() {
    auto client = Mesh::Open("tcp://" + server_->address());
    if (!client.ok()) Fatal("bench client: " + client.status().ToString());
    return std::move(client).value();
  }
  cluster::Cluster* cluster() { return cluster_.get(); }

 private:
  std::unique_ptr<Mesh> mesh_;
  net::EventLoop loop_;
  std::unique_ptr<net::TcpServer> server_;
  std::unique_ptr<cluster::Cluster> cluster_;
};

// Whether `node` sees a peer up with at least `interest` patterns.
bool PeerReady(cluster::Cluster* node, size_t interest) {
  for (const auto& n : node->Stats().nodes) {
    if (!n.self && n.up && n.interest >= interest) return true;
  }
  return false;
}

void BM_ClusterMeshCrossNode(benchmark::State& state) {
  for (auto _ : state) {
    ClusterNode a("a", {});
    ClusterNode b("b", {a.cluster()->address()});
    auto subscriber = b.Connect();
    std::atomic<uint64_t> received{0};
    SubscribeOptions options;
    options.max_pending = 1 << 20;
    auto sub = subscriber->SubscribeBatch(
        "bench.cross",
        [&received](const std::vector<Delivery>& batch) {
          received.fetch_add(batch.size(), std::memory_order_relaxed);
        },
        options);
    if (!sub.ok()) Fatal(sub.status().ToString());
    // b's server inbox, the client's inbox and the subscription.
    if (!WaitUntil([&] { return PeerReady(a.cluster(), 2); },
                   std::chrono::seconds(10))) {
      Fatal("the nodes did not link");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto publisher = a.Connect();
    std::atomic<uint64_t> acked{0};
    Event event;
    event.source = "/bench";
    event.type = "bench.event";
    event.data.assign(kPayload, 'x');
    auto start = Clock::now();
    for (uint64_t i = 0; i < kEvents; ++i) {
      Event e = event;
      e.id = std::to_string(i);
      publisher->PublishAsync("bench.cross", std::move(e),
                              [&acked](const Result<uint64_t>&) {
                                acked.fetch_add(1, std::memory_order_relaxed);
                              });
      // i + 1 published; the ack of the last may already be in.
      while (acked.load(std::memory_order_relaxed) + 20000 < i + 1) {
        std::this_thread::yield();
      }
    }
    WaitUntil([&] { return received.load() >= kEvents; },
              std::chrono::seconds(60));
    double seconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    state.SetIterationTime(seconds);
    state.counters["events_per_s"] =
        static_cast<double>(received.load()) / seconds;
    state.counters["lost"] = static_cast<double>(kEvents - received.load());
    (*sub)->Unsubscribe().IgnoreError();
  }
}
BENCHMARK(BM_ClusterMeshCrossNode)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

#ifdef EVENTMESH_HAVE_NATS

using bench::FreeLoopbackPort;
using bench::NatsServer;

// One nats-server with a cluster listener and, when `route_port` is set, a
// route to the node listening there.
std::unique_ptr<NatsServer> StartNatsNode(int cluster_port, int route_port) {
  std::vector<std::string> args = {
      "-cluster", "nats://127.0.0.1:" + std::to_string(cluster_port)};
  if (route_port > 0) {
    args.push_back("-routes");
    args.push_back("nats://127.0.0.1:" + std::to_string(route_port));
  }
  return std::make_unique<NatsServer>(std::move(args));
}

void CountNats(natsConnection*, natsSubscription*, natsMsg* msg,
               void* closure) {
  static_cast<std::atomic<uint64_t>*>(closure)->fetch_add(
      1, std::memory_order_relaxed);
  natsMsg_Destroy(msg);
}

void BM_ClusterNatsCrossNode(benchmark::State& state) {
  for (auto _ : state) {
    int route1 = FreeLoopbackPort(), route2 = FreeLoopbackPort();
    auto n1 = StartNatsNode(route1, 0);
    auto n2 = StartNatsNode(route2, route1);
    natsConnection* sub_conn = n2->Connect();
    natsConnection* pub = n1->Connect();
    std::atomic<uint64_t> received{0};
    natsSubscription* sub = nullptr;
    natsConnection_Subscribe(&sub, sub_conn, "bench.cross", CountNats,
                             &received);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    natsConnection_Flush(sub_conn);
    // Wait until the route carries the interest: probes reach b.
    std::string payload(kPayload, 'x');
    if (!WaitUntil(
            [&] {
              natsConnection_Publish(pub, "bench.cross", payload.data(), 1);
              natsConnection_Flush(pub);
              return received.load() > 0;
            },
            std::chrono::seconds(10))) {
      Fatal("the NATS route did not form");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    received.store(0);
    auto start = Clock::now();
    for (uint64_t i = 0; i < kEvents; ++i) {
      natsConnection_Publish(pub, "bench.cross", payload.data(),
                             static_cast<int>(payload.size()));
    }
    natsConnection_Flush(pub);
    WaitUntil([&] { return received.load() >= kEvents; },
              std::chrono::seconds(60));
    double seconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    state.SetIterationTime(seconds);
    uint64_t got = std::min<uint64_t>(received.load(), kEvents);
    state.counters["events_per_s"] = static_cast<double>(got) / seconds;
    state.counters["lost"] = static_cast<double>(kEvents - got);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(sub_conn);
    natsConnection_Destroy(pub);
  }
}
BENCHMARK(BM_ClusterNatsCrossNode)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

#endif  // EVENTMESH_HAVE_NATS

}  // namespace
}  // namespace eventmesh
