// In-process delivery: one publisher thread, one or four subscribers,
// 100-byte payloads, everything in one process.
//
// EventMesh: Mesh::Open("mem:"), subscribers on the mesh's callback pool.
// Two ways to publish: PublishAsync per event with per-event handlers, and
// PublishBatch of 128 events with batch handlers.
//
// Peer: ZeroMQ inproc PUB/SUB. The publisher is an XPUB socket with
// ZMQ_XPUB_NODROP and a high send HWM, so a full subscriber makes the send
// fail with EAGAIN instead of dropping; the publisher then retries. Each
// subscriber is a SUB socket on its own thread.
//
// Throughput runs publish 100,000 events per iteration and stop the clock
// when every subscriber has counted every one of them (events/s counts each
// delivery, so 1 -> 4 delivers four per event). A run that loses an event,
// or delivers one out of order, fails. Latency runs publish at a fixed pace
// (one event per 100 us), far below capacity so no queue fills, and each
// subscriber subtracts the MonotonicNanos() stamped into the payload at
// publish from the time its handler sees it.

#include <benchmark/benchmark.h>
#include <time.h>
#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "eventmesh/clock.h"
#include "eventmesh/mesh.h"

namespace eventmesh {
namespace {

constexpr size_t kDataBytes = 100;
constexpr uint64_t kEventsPerIteration = 100000;
constexpr size_t kPublishBatch = 128;
constexpr uint64_t kLatencyEvents = 3000;
constexpr std::chrono::microseconds kLatencyInterval{100};
constexpr int64_t kDeliveryTimeoutNanos = 30'000'000'000;
constexpr int kZmqHwm = 100000;
constexpr std::string_view kTopic = "bench.orders.created";
constexpr std::string_view kSource = "/eventmesh-bench/publisher";
constexpr std::string_view kType = "bench.order.created";
constexpr char kZmqEndpoint[] = "inproc://eventmesh-bench";

using PublishDoneFn = Mesh::PublishDone;

// What one subscriber saw. Written by its handler (one call at a time),
// read by the benchmark thread once `received` says everything arrived.
struct alignas(64) Receiver {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> out_of_order{0};
  std::atomic<uint64_t> handler_calls{0};
  uint64_t last_sequence = 0;
  bool record_latency = false;
  std::vector<int64_t> latencies_ns;
};

using Receivers = std::vector<std::unique_ptr<Receiver>>;

Receivers MakeReceivers(int count, bool record_latency) {
  Receivers receivers;
  for (int i = 0; i < count; ++i) {
    receivers.push_back(std::make_unique<Receiver>());
    receivers.back()->record_latency = record_latency;
    if (record_latency) receivers.back()->latencies_ns.reserve(kLatencyEvents);
  }
  return receivers;
}

// A payload of kDataBytes whose first 8 bytes are the publish time.
void StampData(std::string* data) {
  data->resize(kDataBytes, 'x');
  int64_t now = MonotonicNanos();
  std::memcpy(data->data(), &now, sizeof(now));
}

void RecordLatency(Receiver* r, const void* data, size_t size) {
  if (!r->record_latency || size < sizeof(int64_t)) return;
  int64_t sent;
  std::memcpy(&sent, data, sizeof(sent));
  r->latencies_ns.push_back(MonotonicNanos() - sent);
}

// CPU time of the whole process, every thread included. On a shared
// machine wall-clock rates swing with other work; CPU spent per event
// shows how much work delivery takes, whatever the machine is doing.
int64_t ProcessCpuNanos() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Waits until every receiver has counted `expected`; false on timeout.
bool WaitForAll(const Receivers& receivers, uint64_t expected) {
  int64_t deadline = MonotonicNanos() + kDeliveryTimeoutNanos;
  for (const auto& r : receivers) {
    while (r->received.load(std::memory_order_acquire) < expected) {
      if (MonotonicNanos() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  return true;
}

std::string LossMessage(const Receivers& receivers, uint64_t expected) {
  std::string message = "events lost: expected " + std::to_string(expected) +
                        " per subscriber, got";
  for (const auto& r : receivers) {
    message += " " + std::to_string(r->received.load());
  }
  return message;
}

uint64_t OutOfOrder(const Receivers& receivers) {
  uint64_t total = 0;
  for (const auto& r : receivers) total += r->out_of_order.load();
  return total;
}

// `cpu_ns`: process CPU time spent in the timed part of the iterations.
void ReportThroughput(benchmark::State& state, const Receivers& receivers,
                      uint64_t published, int64_t cpu_ns) {
  double delivered = static_cast<double>(published * receivers.size());
  state.counters["events_per_s"] =
      benchmark::Counter(delivered, benchmark::Counter::kIsRate);
  state.counters["cpu_ns_per_delivery"] =
      static_cast<double>(cpu_ns) / std::max(delivered, 1.0);
  state.counters["subscribers"] = static_cast<double>(receivers.size());
}

void ReportLatency(benchmark::State& state, const Receivers& receivers) {
  std::vector<int64_t> all;
  for (const auto& r : receivers) {
    all.insert(all.end(), r->latencies_ns.begin(), r->latencies_ns.end());
  }
  if (all.empty()) return;
  std::sort(all.begin(), all.end());
  auto at = [&](double q) {
    return static_cast<double>(all[static_cast<size_t>(q * (all.size() - 1))]);
  };
  state.counters["p50_us"] = at(0.50) / 1e3;
  state.counters["p99_us"] = at(0.99) / 1e3;
  state.counters["max_us"] = static_cast<double>(all.back()) / 1e3;
  state.counters["samples"] = static_cast<double>(all.size());
  state.counters["subscribers"] = static_cast<double>(receivers.size());
}

// Sleeps until the next slot of a fixed publishing pace.
class Pacer {
 public:
  Pacer() : next_(std::chrono::steady_clock::now()) {}
  void Wait() {
    next_ += kLatencyInterval;
    std::this_thread::sleep_until(next_);
  }

 private:
  std::chrono::steady_clock::time_point next_;
};

// --- EventMesh --------------------------------------------------------------

void OnMeshEvent(Receiver* r, const Event& event) {
  if (event.sequence <= r->last_sequence) {
    r->out_of_order.fetch_add(1, std::memory_order_relaxed);
  }
  r->last_sequence = event.sequence;
  RecordLatency(r, event.data.data(), event.data.size());
}

// A mem: mesh with `subscribers` subscriptions to kTopic.
class MeshBench {
 public:
  Status Start(int subscribers, bool batch_handler, bool record_latency) {
    MeshOptions options;
    // One handler thread per core at most; one subscription's handler
    // runs on one thread at a time anyway.
    options.callback_threads = std::min(subscribers, 2);
    // Bounded memory however long the run: the mem: store keeps the last
    // 100k events of the topic.
    RetentionRule keep_last;
    keep_last.max_events = 100000;
    options.store.retention.push_back(keep_last);
    options.store.retention_interval = std::chrono::milliseconds(100);
    EM_ASSIGN_OR_RETURN(mesh_, Mesh::Open("mem:", options));

    receivers_ = MakeReceivers(subscribers, record_latency);
    for (auto& receiver : receivers_) {
      EM_RETURN_IF_ERROR(Subscribe(receiver.get(), batch_handler));
    }
    return Status::Ok();
  }

  Mesh& mesh() { return *mesh_; }
  const Receivers& receivers() const { return receivers_; }

  // Fails when the mesh dropped or lost anything the subscribers did not
  // already report.
  Status Finish(uint64_t published) {
    EM_ASSIGN_OR_RETURN(MeshStats stats, mesh_->Stats());
    if (stats.dropped != 0) {
      return Internal("the mesh dropped " + std::to_string(stats.dropped) +
                      " deliveries");
    }
    if (stats.published != published) {
      return Internal("the mesh counted " + std::to_string(stats.published) +
                      " publishes, the benchmark made " +
                      std::to_string(published));
    }
    subscriptions_.clear();
    return mesh_->Close();
  }

 private:
  Status Subscribe(Receiver* r, bool batch_handler) {
    if (batch_handler) {
      auto handler = [r](const std::vector<Delivery>& batch) {
        for (const Delivery& d : batch) OnMeshEvent(r, d.event());
        r->handler_calls.fetch_add(1, std::memory_order_relaxed);
        r->received.fetch_add(batch.size(), std::memory_order_release);
      };
      EM_ASSIGN_OR_RETURN(auto sub, mesh_->SubscribeBatch(kTopic, handler));
      subscriptions_.push_back(std::move(sub));
    } else {
      auto handler = [r](const Delivery& d) {
        OnMeshEvent(r, d.event());
        r->received.fetch_add(1, std::memory_order_release);
      };
      EM_ASSIGN_OR_RETURN(auto sub, mesh_->Subscribe(kTopic, handler));
      subscriptions_.push_back(std::move(sub));
    }
    return Status::Ok();
  }

  // Destroyed in reverse: subscriptions, then receivers, then the mesh.
  std::unique_ptr<Mesh> mesh_;
  Receivers receivers_;
  std::vector<std::unique_ptr<Subscription>> subscriptions_;
};

Event MakeEvent() {
  Event event;
  event.source = kSource;
  event.type = kType;
  StampData(&event.data);
  return event;
}

// Counts PublishAsync completions; remembers the first error.
class AsyncOutcomes {
 public:
  PublishDoneFn Callback() {
    return [this](const Result<uint64_t>& result) { Record(result); };
  }

  // Waits until `expected` publishes completed; then reports the first
  // error, if any.
  Status Wait(uint64_t expected) {
    int64_t deadline = MonotonicNanos() + kDeliveryTimeoutNanos;
    while (done_.load(std::memory_order_acquire) < expected) {
      if (MonotonicNanos() > deadline) {
        return Timeout("only " + std::to_string(done_.load()) + " of " +
                       std::to_string(expected) + " publishes completed");
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    return first_error_;
  }

 private:
  void Record(const Result<uint64_t>& result) {
    if (!result.ok() && failed_.fetch_add(1) == 0) {
      first_error_ = result.status();
    }
    done_.fetch_add(1, std::memory_order_release);
  }

  std::atomic<uint64_t> done_{0};
  std::atomic<uint64_t> failed_{0};
  Status first_error_;  // written once, before its done_ increment
};

void PublishAsyncEvents(Mesh& mesh, uint64_t count, AsyncOutcomes* outcomes) {
  for (uint64_t i = 0; i < count; ++i) {
    mesh.PublishAsync(kTopic, MakeEvent(), outcomes->Callback());
  }
}

Status PublishBatches(Mesh& mesh, uint64_t count) {
  std::vector<Event> batch;
  for (uint64_t i = 0; i < count; i += kPublishBatch) {
    size_t n = std::min<uint64_t>(kPublishBatch, count - i);
    batch.clear();
    batch.reserve(n);
    for (size_t j = 0; j < n; ++j) {
      // Built in place: no temporary to move from and destroy.
      Event& event = batch.emplace_back();
      event.source = kSource;
      event.type = kType;
      event.topic = kTopic;
      StampData(&event.data);
    }
    auto sequences = mesh.PublishBatch(std::move(batch));
    if (!sequences.ok()) return sequences.status();
    batch = std::vector<Event>();
  }
  return Status::Ok();
}

// Runs the throughput loop, in which `publish` publishes
// kEventsPerIteration events; returns how many it published, or 0 after
// failing the benchmark.
template <typename PublishFn>
uint64_t RunMeshThroughput(benchmark::State& state, MeshBench& bench,
                           PublishFn publish, int64_t* cpu_ns) {
  uint64_t published = 0;
  for (auto _ : state) {
    int64_t start = MonotonicNanos();
    int64_t cpu_start = ProcessCpuNanos();
    Status s = publish(kEventsPerIteration);
    published += kEventsPerIteration;
    bool arrived = s.ok() && WaitForAll(bench.receivers(), published);
    state.SetIterationTime((MonotonicNanos() - start) / 1e9);
    *cpu_ns += ProcessCpuNanos() - cpu_start;
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return 0;
    }
    if (!arrived) {
      state.SkipWithError(LossMessage(bench.receivers(), published).c_str());
      return 0;
    }
  }
  if (uint64_t late = OutOfOrder(bench.receivers()); late != 0) {
    std::string message = std::to_string(late) + " events out of order";
    state.SkipWithError(message.c_str());
    return 0;
  }
  return published;
}

// Checks the mesh lost nothing, closes it and reports the rate.
void FinishMeshThroughput(benchmark::State& state, MeshBench& bench,
                          uint64_t published, int64_t cpu_ns,
                          const Status& publishes) {
  Status s = publishes.ok() ? bench.Finish(published) : publishes;
  if (!s.ok()) return state.SkipWithError(s.ToString().c_str());
  ReportThroughput(state, bench.receivers(), published, cpu_ns);
  // With batch handlers: how many events one hand-off to the callback
  // pool carried, on average (1 would mean a hand-off per event).
  uint64_t calls = 0;
  for (const auto& r : bench.receivers()) calls += r->handler_calls.load();
  if (calls != 0) {
    state.counters["events_per_handler_call"] =
        static_cast<double>(published * bench.receivers().size()) / calls;
  }
}

void BM_InprocMeshPublishAsync(benchmark::State& state) {
  MeshBench bench;
  Status started = bench.Start(static_cast<int>(state.range(0)), false, false);
  if (!started.ok()) return state.SkipWithError(started.ToString().c_str());
  AsyncOutcomes outcomes;
  int64_t cpu_ns = 0;
  uint64_t published = RunMeshThroughput(
      state, bench,
      [&](uint64_t count) {
        PublishAsyncEvents(bench.mesh(), count, &outcomes);
        return Status::Ok();
      },
      &cpu_ns);
  if (published == 0) return;
  FinishMeshThroughput(state, bench, published, cpu_ns,
                       outcomes.Wait(published));
}
BENCHMARK(BM_InprocMeshPublishAsync)
    ->ArgName("subs")
    ->Arg(1)
    ->Arg(4)
    ->UseManualTime()
    ->MinTime(0.5);

void BM_InprocMeshPublishBatch(benchmark::State& state) {
  MeshBench bench;
  Status started = bench.Start(static_cast<int>(state.range(0)), true, false);
  if (!started.ok()) return state.SkipWithError(started.ToString().c_str());
  int64_t cpu_ns = 0;
  uint64_t published = RunMeshThroughput(
      state, bench,
      [&](uint64_t count) { return PublishBatches(bench.mesh(), count); },
      &cpu_ns);
  if (published == 0) return;
  FinishMeshThroughput(state, bench, published, cpu_ns, Status::Ok());
}
BENCHMARK(BM_InprocMeshPublishBatch)
    ->ArgName("subs")
    ->Arg(1)
    ->Arg(4)
    ->UseManualTime()
    ->MinTime(0.5);

void BM_InprocMeshLatency(benchmark::State& state) {
  MeshBench bench;
  Status started = bench.Start(static_cast<int>(state.range(0)), false, true);
  if (!started.ok()) return state.SkipWithError(started.ToString().c_str());
  AsyncOutcomes outcomes;
  for (auto _ : state) {
    Pacer pacer;
    for (uint64_t i = 0; i < kLatencyEvents; ++i) {
      pacer.Wait();
      PublishAsyncEvents(bench.mesh(), 1, &outcomes);
    }
    if (!WaitForAll(bench.receivers(), kLatencyEvents)) {
      return state.SkipWithError(
          LossMessage(bench.receivers(), kLatencyEvents).c_str());
    }
  }
  Status finished = outcomes.Wait(kLatencyEvents);
  if (finished.ok()) finished = bench.Finish(kLatencyEvents);
  if (!finished.ok()) return state.SkipWithError(finished.ToString().c_str());
  ReportLatency(state, bench.receivers());
}
BENCHMARK(BM_InprocMeshLatency)
    ->ArgName("subs")
    ->Arg(1)
    ->Arg(4)
    ->Iterations(1)
    ->UseRealTime();

// --- ZeroMQ peer ------------------------------------------------------------

// A one-byte message tells a subscriber thread to stop.
constexpr size_t kStopMessageBytes = 1;

void RunZmqSubscriber(void* socket, Receiver* r) {
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  while (true) {
    int rc = zmq_msg_recv(&msg, socket, 0);
    if (rc < 0) {
      if (zmq_errno() == EINTR) continue;
      break;
    }
    if (zmq_msg_size(&msg) == kStopMessageBytes) break;
    RecordLatency(r, zmq_msg_data(&msg), zmq_msg_size(&msg));
    r->received.fetch_add(1, std::memory_order_release);
  }
  zmq_msg_close(&msg);
}

// An XPUB socket and `subscribers` SUB sockets, each on its own thread.
class ZmqBench {
 public:
  ~ZmqBench() { Stop(); }

  std::string Start(int subscribers, bool record_latency) {
    context_ = zmq_ctx_new();
    publisher_ = zmq_socket(context_, ZMQ_XPUB);
    int on = 1;
    int hwm = kZmqHwm;
    if (zmq_setsockopt(publisher_, ZMQ_XPUB_NODROP, &on, sizeof(on)) != 0 ||
        zmq_setsockopt(publisher_, ZMQ_XPUB_VERBOSE, &on, sizeof(on)) != 0 ||
        zmq_setsockopt(publisher_, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
        zmq_bind(publisher_, kZmqEndpoint) != 0) {
      return std::string("zmq publisher: ") + zmq_strerror(zmq_errno());
    }
    receivers_ = MakeReceivers(subscribers, record_latency);
    for (auto& receiver : receivers_) {
      std::string error = AddSubscriber(receiver.get());
      if (!error.empty()) return error;
    }
    return AwaitSubscriptions(subscribers);
  }

  // Sends one message, retrying while a subscriber's queue is full.
  bool Send(const void* data, size_t size) {
    while (zmq_send(publisher_, data, size, ZMQ_DONTWAIT) < 0) {
      if (zmq_errno() != EAGAIN) return false;
      std::this_thread::yield();
    }
    return true;
  }

  void Stop() {
    if (context_ == nullptr) return;
    // One message reaches every subscriber.
    char stop = 0;
    if (!threads_.empty()) Send(&stop, sizeof(stop));
    for (auto& thread : threads_) thread.join();
    for (void* socket : sockets_) zmq_close(socket);
    zmq_close(publisher_);
    zmq_ctx_term(context_);
    context_ = nullptr;
  }

  const Receivers& receivers() const { return receivers_; }

 private:
  std::string AddSubscriber(Receiver* r) {
    void* socket = zmq_socket(context_, ZMQ_SUB);
    int hwm = kZmqHwm;
    if (zmq_setsockopt(socket, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0 ||
        zmq_connect(socket, kZmqEndpoint) != 0 ||
        zmq_setsockopt(socket, ZMQ_SUBSCRIBE, "", 0) != 0) {
      zmq_close(socket);
      return std::string("zmq subscriber: ") + zmq_strerror(zmq_errno());
    }
    // The socket is handed to its thread here and never used by this one
    // again; thread creation is the memory barrier ZeroMQ asks for.
    sockets_.push_back(socket);
    threads_.emplace_back(RunZmqSubscriber, socket, r);
    return "";
  }

  // The XPUB socket hands up one subscribe message per subscriber
  // (ZMQ_XPUB_VERBOSE); once all arrived, nothing published is missed.
  std::string AwaitSubscriptions(int subscribers) {
    int timeout_ms = 5000;
    zmq_setsockopt(publisher_, ZMQ_RCVTIMEO, &timeout_ms, sizeof(timeout_ms));
    char buffer[16];
    for (int i = 0; i < subscribers; ++i) {
      if (zmq_recv(publisher_, buffer, sizeof(buffer), 0) < 0) {
        return std::string("zmq subscriptions: ") + zmq_strerror(zmq_errno());
      }
    }
    return "";
  }

  void* context_ = nullptr;
  void* publisher_ = nullptr;
  std::vector<void*> sockets_;
  std::vector<std::thread> threads_;
  Receivers receivers_;
};

void BM_InprocZmqPubSub(benchmark::State& state) {
  ZmqBench bench;
  std::string error = bench.Start(static_cast<int>(state.range(0)), false);
  if (!error.empty()) return state.SkipWithError(error.c_str());
  std::string data;
  uint64_t published = 0;
  int64_t cpu_ns = 0;
  for (auto _ : state) {
    int64_t start = MonotonicNanos();
    int64_t cpu_start = ProcessCpuNanos();
    for (uint64_t i = 0; i < kEventsPerIteration; ++i) {
      StampData(&data);
      if (!bench.Send(data.data(), data.size())) {
        return state.SkipWithError(zmq_strerror(zmq_errno()));
      }
    }
    published += kEventsPerIteration;
    bool arrived = WaitForAll(bench.receivers(), published);
    state.SetIterationTime((MonotonicNanos() - start) / 1e9);
    cpu_ns += ProcessCpuNanos() - cpu_start;
    if (!arrived) {
      return state.SkipWithError(
          LossMessage(bench.receivers(), published).c_str());
    }
  }
  bench.Stop();
  ReportThroughput(state, bench.receivers(), published, cpu_ns);
}
BENCHMARK(BM_InprocZmqPubSub)
    ->ArgName("subs")
    ->Arg(1)
    ->Arg(4)
    ->UseManualTime()
    ->MinTime(0.5);

void BM_InprocZmqLatency(benchmark::State& state) {
  ZmqBench bench;
  std::string error = bench.Start(static_cast<int>(state.range(0)), true);
  if (!error.empty()) return state.SkipWithError(error.c_str());
  std::string data;
  for (auto _ : state) {
    Pacer pacer;
    for (uint64_t i = 0; i < kLatencyEvents; ++i) {
      pacer.Wait();
      StampData(&data);
      if (!bench.Send(data.data(), data.size())) {
        return state.SkipWithError(zmq_strerror(zmq_errno()));
      }
    }
    if (!WaitForAll(bench.receivers(), kLatencyEvents)) {
      return state.SkipWithError(
          LossMessage(bench.receivers(), kLatencyEvents).c_str());
    }
  }
  bench.Stop();
  ReportLatency(state, bench.receivers());
}
BENCHMARK(BM_InprocZmqLatency)
    ->ArgName("subs")
    ->Arg(1)
    ->Arg(4)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace
}  // namespace eventmesh
