// HTTP publish: CloudEvents in binary mode POSTed over one keep-alive
// connection, `depth` requests in flight (pipelining), each answered with
// its stored sequence. The mesh is "mem:", so the figure is the protocol
// layer's cost: parsing, binding, the hand-off to the mesh and back, and
// the response.
//
// The peer is the native TCP protocol, measured in the same benchmark run
// against the same server: the HTTP and TCP listeners share one loop
// thread and one mesh, as in eventmesh-server. Its client publishes the
// same events through Mesh::Open("tcp://...") with PublishAsync, keeping
// the same number in flight on one connection, each acknowledged with its
// sequence. `http_per_tcp` is the ratio (docs/benchmarks.md, "HTTP").

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "eventmesh/clock.h"
#include "eventmesh/mesh.h"
#include "net/event_loop.h"
#include "net/http/http_server.h"
#include "net/tcp_server.h"

namespace eventmesh {
namespace {

// Events each side publishes: up to 200,000, fewer for shallow pipelines
// (which wait a round trip per `depth` events).
int64_t EventsPerSide(int depth) {
  return std::min<int64_t>(200000, int64_t{5000} * depth);
}

// A mem: mesh served over HTTP and native TCP from one loop thread.
class ServedMesh {
 public:
  ServedMesh() {
    mesh_ = std::move(Mesh::Open("mem:")).value();
    if (!loop_.Start("bench-http").ok()) Fatal("bench: loop did not start");
    net::TcpServerOptions tcp_options;
    tcp_options.listen = "127.0.0.1:0";
    tcp_ = std::make_unique<net::TcpServer>(&loop_, mesh_.get(), tcp_options);
    if (!tcp_->Start().ok()) Fatal("bench: the TCP server did not start");
    http::HttpOptions options;
    options.port = 0;
    options.max_pipeline = 1024;
    http_ =
        std::make_unique<http::HttpServer>(loop_.loop(), mesh_.get(), options);
    Status started;
    loop_.RunSync([&] { started = http_->Start(); });
    if (!started.ok()) Fatal("bench: the HTTP server did not start");
  }
  ~ServedMesh() {
    std::promise<void> stopped;
    if (loop_.RunSync([&] { http_->Stop([&] { stopped.set_value(); }); })) {
      stopped.get_future().wait();
    }
    tcp_->Stop();
    mesh_->Close().IgnoreError();
    loop_.Stop();
  }
  int http_port() const { return http_->port(); }
  std::string tcp_url() const { return "tcp://" + tcp_->address(); }

 private:
  std::unique_ptr<Mesh> mesh_;
  net::EventLoop loop_;
  std::unique_ptr<net::TcpServer> tcp_;
  std::unique_ptr<http::HttpServer> http_;
};

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    Fatal("bench: cannot connect to the HTTP server");
  }
  return fd;
}

std::string PublishRequest(size_t payload) {
  std::string data(payload, 'x');
  return "POST /topics/bench.http/events?durability=none HTTP/1.1\r\n"
         "Host: bench\r\nce-specversion: 1.0\r\nce-source: /bench\r\n"
         "ce-type: bench.event\r\nContent-Type: application/octet-stream\r\n"
         "Content-Length: " +
         std::to_string(data.size()) + "\r\n\r\n" + data;
}

// Reads until `count` responses ended; each ends with the JSON body's
// closing "}\n".
void ReadResponses(int fd, int count, std::string* buffer) {
  int seen = 0;
  size_t at = 0;
  while (seen < count) {
    size_t end = buffer->find("}\n", at);
    if (end != std::string::npos) {
      ++seen;
      at = end + 2;
      continue;
    }
    buffer->erase(0, at);
    at = 0;
    char chunk[64 << 10];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) Fatal("bench: the HTTP server closed the connection");
    buffer->append(chunk, static_cast<size_t>(n));
  }
  buffer->erase(0, at);
}

// Publishes `events` over HTTP, `depth` in flight; returns seconds.
double HttpPublish(int port, int depth, size_t bytes, int64_t events) {
  int fd = Connect(port);
  std::string one = PublishRequest(bytes);
  std::string burst;
  for (int i = 0; i < depth; ++i) burst += one;
  std::string buffer;
  int64_t start = MonotonicNanos();
  for (int64_t done = 0; done < events; done += depth) {
    size_t off = 0;
    while (off < burst.size()) {
      ssize_t n = write(fd, burst.data() + off, burst.size() - off);
      if (n <= 0) Fatal("bench: write to the HTTP server failed");
      off += static_cast<size_t>(n);
    }
    ReadResponses(fd, depth, &buffer);
  }
  double seconds = (MonotonicNanos() - start) / 1e9;
  close(fd);
  return seconds;
}

// Publishes `events` through a tcp:// client with PublishAsync, at most
// `depth` unacknowledged; returns seconds, or a negative value after a
// failed publish.
double TcpPublish(const std::string& url, int depth, size_t bytes,
                  int64_t events) {
  auto client = Mesh::Open(url);
  if (!client.ok()) Fatal("bench: " + client.status().ToString());
  std::atomic<int64_t> acked{0};
  std::atomic<int64_t> failed{0};
  auto done = [&](const Result<uint64_t>& r) {
    if (!r.ok()) failed.fetch_add(1, std::memory_order_relaxed);
    acked.fetch_add(1, std::memory_order_release);
  };
  Event prototype;
  prototype.source = "/bench";
  prototype.type = "bench.event";
  prototype.datacontenttype = "application/octet-stream";
  prototype.data.assign(bytes, 'x');
  int64_t start = MonotonicNanos();
  for (int64_t sent = 0; sent < events; ++sent) {
    while (sent - acked.load(std::memory_order_acquire) >= depth) {
      std::this_thread::yield();
    }
    (*client)->PublishAsync("bench.tcp", prototype, done);
  }
  while (acked.load(std::memory_order_acquire) < events) {
    std::this_thread::yield();
  }
  double seconds = (MonotonicNanos() - start) / 1e9;
  (*client)->Close().IgnoreError();
  return failed.load() == 0 ? seconds : -1;
}

void BM_HttpPublishPipelined(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  const size_t bytes = static_cast<size_t>(state.range(1));
  const int64_t events = EventsPerSide(depth);
  ServedMesh served;
  double http_seconds = 0;
  double tcp_seconds = 0;
  for (auto _ : state) {
    double h = HttpPublish(served.http_port(), depth, bytes, events);
    double t = TcpPublish(served.tcp_url(), depth, bytes, events);
    if (t < 0) {
      state.SkipWithError("a native TCP publish failed");
      return;
    }
    state.SetIterationTime(h);
    http_seconds += h;
    tcp_seconds += t;
  }
  double n = static_cast<double>(state.iterations() * events);
  double http_rate = n / http_seconds;
  double tcp_rate = n / tcp_seconds;
  state.counters["events_per_s"] = http_rate;
  state.counters["tcp_events_per_s"] = tcp_rate;
  state.counters["http_per_tcp"] = http_rate / tcp_rate;
}
BENCHMARK(BM_HttpPublishPipelined)
    ->ArgNames({"depth", "bytes"})
    ->Args({1, 100})
    ->Args({64, 100})
    ->Args({256, 100})
    ->Iterations(1)
    ->UseManualTime();

}  // namespace
}  // namespace eventmesh
