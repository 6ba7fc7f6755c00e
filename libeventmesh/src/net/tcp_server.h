// TcpServer: serves the native protocol (docs/protocol.md) against a Mesh.
//
// One listener on an EventLoop; per connection a read buffer with an
// incremental frame decoder and one outbound buffer. Publishes go to
// Mesh::PublishAsync and their acks are appended to the connection's
// outbound buffer by the mesh thread that completes them; one posted flush
// writes everything that accumulated, so a store commit of many events
// costs one wake-up per connection, not one per event. Subscriptions
// append encoded deliveries the same way, within the client's credit.
// Acks, nacks and admin calls, which may wait on the store, run on the
// server's worker thread, never on the loop.
//
// Thread-safety: Start() and Stop() from one controlling thread (not the
// loop thread); address() and connection_count() from any thread.

#ifndef EVENTMESH_SRC_NET_TCP_SERVER_H_
#define EVENTMESH_SRC_NET_TCP_SERVER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "eventmesh/mesh.h"
#include "net/auth.h"
#include "net/event_loop.h"
#include "net/frame.h"

namespace eventmesh::net {

struct TcpServerOptions {
  // host:port; port 0 picks a free one (see TcpServer::address()).
  std::string listen = "127.0.0.1:10000";
  size_t max_frame_bytes = kDefaultMaxFrameBytes;
  size_t max_connections = 10000;
  size_t max_subscriptions_per_connection = 1024;
  // Encoded deliveries held back for want of credit plus unwritten output,
  // per connection; beyond it the connection is cut off.
  size_t max_pending_bytes = 64u << 20;
  std::chrono::milliseconds heartbeat{5000};
  // A connection must send hello within this.
  std::chrono::milliseconds hello_timeout{10000};
  // How long Stop() waits for in-flight publishes before the caller's
  // Mesh::Close() fails the rest.
  std::chrono::milliseconds drain_timeout{10000};
  std::vector<UserConfig> users;
};

// A single thread running queued tasks in order; used for calls that may
// block on the store.
class Worker {
 public:
  Worker();
  ~Worker();
  void Post(std::function<void()> task);
  // Runs what is queued, then joins. Idempotent.
  void Stop();

 private:
  void Run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

class Connection;

class TcpServer {
 public:
  // `loop` and `mesh` must outlive the server.
  TcpServer(EventLoop* loop, Mesh* mesh, TcpServerOptions options);
  // Stops the server (see Stop()).
  ~TcpServer();
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  // Binds and listens. The loop must be running. kInvalidArgument for a bad
  // address or user list, kUnavailable when the address cannot be bound.
  Status Start();

  // Stops accepting and reading, waits (up to drain_timeout) until every
  // accepted publish is answered, sends goodbye and closes every
  // connection. Publishes still unanswered are failed when the caller then
  // closes the mesh. Idempotent.
  void Stop();

  // The bound address ("127.0.0.1:40123"), valid after Start().
  std::string address() const;
  size_t connection_count() const { return connections_count_.load(); }

  // Used by connections (loop thread unless noted).
  const TcpServerOptions& options() const { return options_; }
  const Authenticator& auth() const { return auth_; }
  Mesh* mesh() const { return mesh_; }
  EventLoop* loop() const { return loop_; }
  Worker* worker() { return &worker_; }
  char* read_buffer() { return read_buffer_.data(); }
  size_t read_buffer_size() const { return read_buffer_.size(); }
  // Any thread: counts publishes handed to the mesh and not yet answered.
  void PublishStarted() { in_flight_publishes_.fetch_add(1); }
  void PublishFinished();
  void Remove(Connection* connection);

 private:
  static void OnConnection(uv_stream_t* listener, int status);
  static void OnTimer(uv_timer_t* timer);
  void Accept();
  void Heartbeat();
  bool WaitFor(const std::function<bool()>& done,
               std::chrono::milliseconds timeout);

  EventLoop* loop_;
  Mesh* mesh_;
  TcpServerOptions options_;
  Authenticator auth_;
  Worker worker_;

  uv_tcp_t* listener_ = nullptr;  // owned; freed in its close callback
  uv_timer_t* timer_ = nullptr;   // owned; freed in its close callback
  std::string address_;
  bool started_ = false;
  bool stopped_ = false;

  // Loop thread only.
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections_;
  std::vector<char> read_buffer_;

  std::atomic<size_t> connections_count_{0};
  std::mutex drain_mu_;
  std::condition_variable drain_cv_;
  std::atomic<uint64_t> in_flight_publishes_{0};
};

}  // namespace eventmesh::net

#endif  // EVENTMESH_SRC_NET_TCP_SERVER_H_
