// Native TCP workloads, each next to NATS in the same run and shape
// (docs/benchmarks.md, "Native TCP"):
//   - 1 publisher -> server -> 1 and -> 4 subscribers, 100-byte events,
//     events/s delivered (EventMesh server on a memory mesh vs NATS core);
//   - request/reply round trip p50/p99 with one responder;
//   - durable (sync, fsync before ack) publish with 16 pipelining
//     publishers vs NATS JetStream acknowledged async publish (file store).
// The EventMesh server runs in this process on its own loop thread; NATS
// runs as a child `nats-server` on a free port. Both share the machine.

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "eventmesh/mesh.h"
#include "net/event_loop.h"
#include "net/tcp_server.h"
#include "publish_window.h"

#ifdef EVENTMESH_HAVE_NATS
#include <nats/nats.h>

#include "nats_peer.h"
#endif

extern char** environ;

namespace eventmesh {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kPayload = 100;
constexpr uint64_t kThroughputEvents = 300000;
constexpr int kRoundTrips = 5000;
constexpr int kDurablePublishers = 16;
constexpr uint64_t kDurableEvents = 400000;
constexpr int kDurableWindow = 256;  // in flight per publisher

std::string TempDirectory(const char* tag) {
  std::string tmpl = (std::filesystem::temp_directory_path() /
                      (std::string("eventmesh-bench-") + tag + "-XXXXXX"))
                         .string();
  if (mkdtemp(tmpl.data()) == nullptr) Fatal("mkdtemp failed");
  return tmpl;
}

// --- the EventMesh side --------------------------------------------------

// A mesh served over TCP in this process.
class ServedMesh {
 public:
  ServedMesh(const std::string& url, Durability durability, bool dedup = true) {
    MeshOptions options;
    options.durability = durability;
    options.store.durability = durability;
    if (!dedup) options.store.dedup_window = std::chrono::milliseconds(0);
    auto mesh = Mesh::Open(url, options);
    if (!mesh.ok()) Fatal("bench mesh: " + mesh.status().ToString());
    mesh_ = std::move(mesh).value();
    if (!loop_.Start("bench-server").ok()) Fatal("bench loop");
    net::TcpServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    server_ =
        std::make_unique<net::TcpServer>(&loop_, mesh_.get(), server_options);
    Status started = server_->Start();
    if (!started.ok()) Fatal("bench server: " + started.ToString());
  }
  ~ServedMesh() {
    server_->Stop();
    mesh_->Close().IgnoreError();
    loop_.Stop();
  }
  std::unique_ptr<Mesh> Connect() {
    auto client = Mesh::Open("tcp://" + server_->address());
    if (!client.ok()) Fatal("bench client: " + client.status().ToString());
    return std::move(client).value();
  }
  StoreStats StoreStatsNow() {
    auto stats = mesh_->Stats();
    if (!stats.ok()) Fatal("bench stats: " + stats.status().ToString());
    return stats->store;
  }

 private:
  std::unique_ptr<Mesh> mesh_;
  net::EventLoop loop_;
  std::unique_ptr<net::TcpServer> server_;
};

Event BenchEvent() {
  Event e;
  e.source = "/bench";
  e.type = "bench.event";
  e.data.assign(kPayload, 'x');
  return e;
}

struct Counter {
  std::atomic<uint64_t> n{0};
};

// CPU time (user + system) of every thread of this process so far.
double ProcessCpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds limit) {
  auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

void BM_TcpMeshFanout(benchmark::State& state) {
  const int subscribers = static_cast<int>(state.range(0));
  for (auto _ : state) {
    ServedMesh served("mem:", Durability::kNone);
    std::vector<std::unique_ptr<Mesh>> clients;
    std::vector<std::unique_ptr<Subscription>> subs;
    std::vector<std::unique_ptr<Counter>> counters;
    for (int i = 0; i < subscribers; ++i) {
      clients.push_back(served.Connect());
      counters.push_back(std::make_unique<Counter>());
      Counter* c = counters.back().get();
      SubscribeOptions options;
      options.max_pending = 1 << 20;
      auto sub = clients.back()->SubscribeBatch(
          "bench.fanout",
          [c](const std::vector<Delivery>& batch) {
            c->n.fetch_add(batch.size(), std::memory_order_relaxed);
          },
          options);
      if (!sub.ok()) Fatal(sub.status().ToString());
      subs.push_back(std::move(sub).value());
    }
    auto publisher = served.Connect();
    std::atomic<uint64_t> acked{0};
    Event event = BenchEvent();
    auto start = Clock::now();
    double cpu_start = ProcessCpuSeconds();
    for (uint64_t i = 0; i < kThroughputEvents; ++i) {
      Event e = event;
      e.id = std::to_string(i);
      // The client library bounds the pipeline itself (PublishAsync waits
      // while too many publishes are unanswered), as NATS's buffer does.
      publisher->PublishAsync("bench.fanout", std::move(e),
                              [&acked](const Result<uint64_t>&) {
                                acked.fetch_add(1, std::memory_order_relaxed);
                              });
    }
    uint64_t expected = kThroughputEvents * subscribers;
    auto total = [&] {
      uint64_t sum = 0;
      for (auto& c : counters) sum += c->n.load();
      return sum;
    };
    WaitUntil([&] { return total() >= expected; }, std::chrono::seconds(60));
    double seconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    state.SetIterationTime(seconds);
    state.counters["events_per_s"] = static_cast<double>(total()) / seconds;
    state.counters["lost"] = static_cast<double>(expected - total());
    // Server and clients all run in this process: its CPU is the total.
    state.counters["cpu_us_per_event"] =
        (ProcessCpuSeconds() - cpu_start) * 1e6 / static_cast<double>(total());
  }
}
BENCHMARK(BM_TcpMeshFanout)
    ->Arg(1)
    ->Arg(4)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

void ReportPercentiles(benchmark::State& state, std::vector<double>* us) {
  std::sort(us->begin(), us->end());
  state.counters["p50_us"] = (*us)[us->size() / 2];
  state.counters["p99_us"] = (*us)[us->size() * 99 / 100];
}

void BM_TcpMeshRequestReply(benchmark::State& state) {
  for (auto _ : state) {
    ServedMesh served("mem:", Durability::kNone);
    auto responder = served.Connect();
    auto requester = served.Connect();
    Mesh* r = responder.get();
    SubscribeOptions options;
    options.group = "echo";
    auto sub = responder->Subscribe(
        "bench.echo",
        [r](const Delivery& d) {
          Event reply = BenchEvent();
          PublishOptions none;
          none.durability = Durability::kNone;
          r->Reply(d.event(), std::move(reply)).IgnoreError();
        },
        options);
    if (!sub.ok()) Fatal(sub.status().ToString());
    std::vector<double> us;
    us.reserve(kRoundTrips);
    auto start = Clock::now();
    for (int i = 0; i < kRoundTrips + 200; ++i) {
      auto t0 = Clock::now();
      auto reply = requester->Request("bench.echo", BenchEvent(),
                                      std::chrono::seconds(5));
      if (!reply.ok()) Fatal("request: " + reply.status().ToString());
      if (i >= 200) {  // warm-up excluded
        us.push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - t0)
                .count());
      }
    }
    state.SetIterationTime(
        std::chrono::duration<double>(Clock::now() - start).count());
    ReportPercentiles(state, &us);
  }
}
BENCHMARK(BM_TcpMeshRequestReply)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// 16 connections, each keeping kDurableWindow sync publishes in flight.
// The argument turns the store's dedup on (1, the default) or off (0): the
// client gives every event an id, so each publish is checked against the
// dedup window unless dedup is off.
void BM_TcpMeshDurablePublish(benchmark::State& state) {
  const bool dedup = state.range(0) != 0;
  for (auto _ : state) {
    std::string dir = TempDirectory("tcp-durable");
    {
      ServedMesh served(dir, Durability::kSync, dedup);
      // Declared before the clients: an answer may still be leaving a
      // window while its publisher has already seen the window empty.
      std::deque<bench::PublishWindow> windows;
      for (int i = 0; i < kDurablePublishers; ++i) {
        windows.emplace_back(kDurableWindow);
      }
      std::vector<std::unique_ptr<Mesh>> publishers;
      for (int i = 0; i < kDurablePublishers; ++i) {
        publishers.push_back(served.Connect());
      }
      std::atomic<uint64_t> acked{0}, failed{0};
      uint64_t per_publisher = kDurableEvents / kDurablePublishers;
      auto start = Clock::now();
      std::vector<std::thread> threads;
      for (int p = 0; p < kDurablePublishers; ++p) {
        threads.emplace_back([&, p] {
          bench::PublishWindow& window = windows[p];
          for (uint64_t i = 0; i < per_publisher; ++i) {
            window.Enter();
            Event e = BenchEvent();
            e.id = std::to_string(p) + "-" + std::to_string(i);
            publishers[p]->PublishAsync(
                "bench.durable", std::move(e), [&](const Result<uint64_t>& r) {
                  (r.ok() ? acked : failed).fetch_add(1);
                  window.Leave();
                });
          }
          window.Drain();
        });
      }
      for (auto& t : threads) t.join();
      double seconds =
          std::chrono::duration<double>(Clock::now() - start).count();
      state.SetIterationTime(seconds);
      state.counters["acked_per_s"] = static_cast<double>(acked) / seconds;
      state.counters["failed"] = static_cast<double>(failed);
      StoreStats store = served.StoreStatsNow();
      state.counters["events_per_commit"] =
          static_cast<double>(store.appended) /
          static_cast<double>(std::max<uint64_t>(store.commits, 1));
    }
    std::filesystem::remove_all(dir);
  }
}
BENCHMARK(BM_TcpMeshDurablePublish)
    ->ArgName("dedup")
    ->Arg(1)
    ->Arg(0)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// --- the NATS side -------------------------------------------------------

#ifdef EVENTMESH_HAVE_NATS

using bench::NatsServer;

// nats-server as the core peer, or with JetStream in a temporary store.
std::unique_ptr<NatsServer> StartNats(bool jetstream) {
  if (!jetstream)
    return std::make_unique<NatsServer>(std::vector<std::string>{});
  std::string store = TempDirectory("jetstream");
  return std::make_unique<NatsServer>(
      std::vector<std::string>{"-js", "-sd", store}, store);
}

void CountMessage(natsConnection*, natsSubscription*, natsMsg* msg,
                  void* closure) {
  static_cast<Counter*>(closure)->n.fetch_add(1, std::memory_order_relaxed);
  natsMsg_Destroy(msg);
}

void BM_TcpNatsFanout(benchmark::State& state) {
  const int subscribers = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto server = StartNats(false);
    std::vector<natsConnection*> conns;
    std::vector<natsSubscription*> subs;
    std::vector<std::unique_ptr<Counter>> counters;
    for (int i = 0; i < subscribers; ++i) {
      conns.push_back(server->Connect());
      counters.push_back(std::make_unique<Counter>());
      natsSubscription* sub = nullptr;
      natsConnection_Subscribe(&sub, conns.back(), "bench.fanout", CountMessage,
                               counters.back().get());
      natsSubscription_SetPendingLimits(sub, -1, -1);
      subs.push_back(sub);
      natsConnection_Flush(conns.back());
    }
    natsConnection* pub = server->Connect();
    std::string payload(kPayload, 'x');
    auto start = Clock::now();
    double cpu_start = ProcessCpuSeconds() + server->CpuSeconds();
    for (uint64_t i = 0; i < kThroughputEvents; ++i) {
      natsConnection_Publish(pub, "bench.fanout", payload.data(),
                             static_cast<int>(payload.size()));
    }
    natsConnection_Flush(pub);
    uint64_t expected = kThroughputEvents * subscribers;
    auto total = [&] {
      uint64_t sum = 0;
      for (auto& c : counters) sum += c->n.load();
      return sum;
    };
    WaitUntil([&] { return total() >= expected; }, std::chrono::seconds(60));
    double seconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    state.SetIterationTime(seconds);
    state.counters["events_per_s"] = static_cast<double>(total()) / seconds;
    state.counters["lost"] = static_cast<double>(expected - total());
    // The clients in this process plus the nats-server process.
    state.counters["cpu_us_per_event"] =
        (ProcessCpuSeconds() + server->CpuSeconds() - cpu_start) * 1e6 /
        static_cast<double>(total());
    for (auto* s : subs) natsSubscription_Destroy(s);
    for (auto* c : conns) natsConnection_Destroy(c);
    natsConnection_Destroy(pub);
  }
}
BENCHMARK(BM_TcpNatsFanout)
    ->Arg(1)
    ->Arg(4)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

void EchoMessage(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  std::string payload(kPayload, 'x');
  natsConnection_Publish(nc, natsMsg_GetReply(msg), payload.data(),
                         static_cast<int>(payload.size()));
  natsMsg_Destroy(msg);
}

void BM_TcpNatsRequestReply(benchmark::State& state) {
  for (auto _ : state) {
    auto server = StartNats(false);
    natsConnection* responder = server->Connect();
    natsConnection* requester = server->Connect();
    natsSubscription* sub = nullptr;
    natsConnection_QueueSubscribe(&sub, responder, "bench.echo", "echo",
                                  EchoMessage, nullptr);
    natsConnection_Flush(responder);
    std::string payload(kPayload, 'x');
    std::vector<double> us;
    auto start = Clock::now();
    for (int i = 0; i < kRoundTrips + 200; ++i) {
      auto t0 = Clock::now();
      natsMsg* reply = nullptr;
      if (natsConnection_Request(
              &reply, requester, "bench.echo", payload.data(),
              static_cast<int>(payload.size()), 5000) != NATS_OK) {
        Fatal("nats request failed");
      }
      natsMsg_Destroy(reply);
      if (i >= 200) {
        us.push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - t0)
                .count());
      }
    }
    state.SetIterationTime(
        std::chrono::duration<double>(Clock::now() - start).count());
    ReportPercentiles(state, &us);
    natsSubscription_Destroy(sub);
    natsConnection_Destroy(responder);
    natsConnection_Destroy(requester);
  }
}
BENCHMARK(BM_TcpNatsRequestReply)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// JetStream: a file-backed stream, 16 connections publishing async with
// at most kDurableWindow unacknowledged each. With the argument 1 each
// message carries a Nats-Msg-Id, so JetStream checks it against its dedup
// window as EventMesh checks every event; with 0 it carries none.
void BM_TcpJetStreamDurablePublish(benchmark::State& state) {
  const bool dedup = state.range(0) != 0;
  for (auto _ : state) {
    auto server = StartNats(true);
    natsConnection* admin = server->Connect();
    jsCtx* admin_js = nullptr;
    natsConnection_JetStream(&admin_js, admin, nullptr);
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = "BENCH";
    const char* subjects[] = {"bench.durable"};
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    jsErrCode jerr;
    if (js_AddStream(nullptr, admin_js, &config, nullptr, &jerr) != NATS_OK) {
      Fatal("jetstream stream creation failed");
    }
    std::vector<natsConnection*> conns;
    std::vector<jsCtx*> contexts;
    for (int i = 0; i < kDurablePublishers; ++i) {
      conns.push_back(server->Connect());
      jsOptions options;
      jsOptions_Init(&options);
      options.PublishAsync.MaxPending = kDurableWindow;
      jsCtx* js = nullptr;
      natsConnection_JetStream(&js, conns.back(), &options);
      contexts.push_back(js);
    }
    uint64_t per_publisher = kDurableEvents / kDurablePublishers;
    std::string payload(kPayload, 'x');
    auto start = Clock::now();
    std::vector<std::thread> threads;
    std::atomic<uint64_t> failed{0};
    for (int p = 0; p < kDurablePublishers; ++p) {
      threads.emplace_back([&, p] {
        jsPubOptions publish;
        jsPubOptions_Init(&publish);
        std::string id;
        for (uint64_t i = 0; i < per_publisher; ++i) {
          if (dedup) {
            id = std::to_string(p) + "-" + std::to_string(i);
            publish.MsgId = id.c_str();
          }
          if (js_PublishAsync(contexts[p], "bench.durable", payload.data(),
                              static_cast<int>(payload.size()),
                              &publish) != NATS_OK) {
            failed.fetch_add(1);
          }
        }
        jsPubOptions wait;
        jsPubOptions_Init(&wait);
        wait.MaxWait = 60000;
        if (js_PublishAsyncComplete(contexts[p], &wait) != NATS_OK) {
          failed.fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
    double seconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    state.SetIterationTime(seconds);
    state.counters["acked_per_s"] =
        static_cast<double>(per_publisher * kDurablePublishers - failed) /
        seconds;
    state.counters["failed"] = static_cast<double>(failed);
    for (auto* js : contexts) jsCtx_Destroy(js);
    for (auto* c : conns) natsConnection_Destroy(c);
    jsCtx_Destroy(admin_js);
    natsConnection_Destroy(admin);
  }
}
BENCHMARK(BM_TcpJetStreamDurablePublish)
    ->ArgName("dedup")
    ->Arg(1)
    ->Arg(0)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

#endif  // EVENTMESH_HAVE_NATS

}  // namespace
}  // namespace eventmesh
