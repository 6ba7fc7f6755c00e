// HTTP publish: CloudEvents in binary mode POSTed to an in-process
// HttpServer over keep-alive connections, `depth` requests in flight per
// connection (pipelining), each answered with its stored sequence. The
// mesh is "mem:", so the figure is the HTTP layer's cost: parsing,
// binding, the hand-off to the mesh and back, and the response.
//
// The peer, when the native TCP protocol is available, publishes the same
// events through Mesh::Open("tcp://...") in the same run (see
// docs/benchmarks.md, "HTTP").

#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

#include "eventmesh/mesh.h"
#include "net/http/http_server.h"

namespace eventmesh {
namespace {

// An HttpServer on its own loop thread.
class ServerThread {
 public:
  ServerThread() {
    mesh_ = std::move(Mesh::Open("mem:")).value();
    uv_loop_init(&loop_);
    http::HttpOptions options;
    options.port = 0;
    options.max_pipeline = 1024;
    server_ = std::make_unique<http::HttpServer>(&loop_, mesh_.get(), options);
    if (!server_->Start().ok()) Fatal("bench: the HTTP server did not start");
    stop_.data = this;
    uv_async_init(&loop_, &stop_, [](uv_async_t* a) {
      auto* self = static_cast<ServerThread*>(a->data);
      self->server_->Stop([self] {
        uv_close(reinterpret_cast<uv_handle_t*>(&self->stop_), nullptr);
      });
    });
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  }
  ~ServerThread() {
    uv_async_send(&stop_);
    thread_.join();
    uv_loop_close(&loop_);
    server_.reset();
    mesh_->Close().IgnoreError();
  }
  int port() const { return server_->port(); }

 private:
  uv_loop_t loop_;
  uv_async_t stop_;
  std::thread thread_;
  std::unique_ptr<Mesh> mesh_;
  std::unique_ptr<http::HttpServer> server_;
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

void BM_HttpPublishPipelined(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  ServerThread server;
  int fd = Connect(server.port());
  std::string one = PublishRequest(static_cast<size_t>(state.range(1)));
  std::string burst;
  for (int i = 0; i < depth; ++i) burst += one;
  std::string buffer;
  int64_t events = 0;
  for (auto _ : state) {
    size_t off = 0;
    while (off < burst.size()) {
      ssize_t n = write(fd, burst.data() + off, burst.size() - off);
      if (n <= 0) Fatal("bench: write to the HTTP server failed");
      off += static_cast<size_t>(n);
    }
    ReadResponses(fd, depth, &buffer);
    events += depth;
  }
  close(fd);
  state.counters["events_per_s"] = benchmark::Counter(
      static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HttpPublishPipelined)
    ->ArgNames({"depth", "bytes"})
    ->Args({1, 100})
    ->Args({64, 100})
    ->Args({256, 100})
    ->UseRealTime();

}  // namespace
}  // namespace eventmesh
