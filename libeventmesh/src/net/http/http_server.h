// HttpServer: EventMesh over HTTP/1.1 on a libuv loop.
//
// Serves the CloudEvents HTTP binding (publish, request/reply), webhook and
// Server-Sent Events subscriptions, /healthz, /readyz, /metrics and the
// admin API (docs/http.md lists every endpoint). Requests on one connection
// may be pipelined; responses go out in request order.
//
//   HttpServer server(loop, mesh, options);   // any thread
//   server.Start();                           // loop thread
//   ...
//   server.Stop([] { /* every handle closed */ });  // loop thread
//
// Threads. Start(), Stop() and everything inside run on the loop thread;
// work finished on other threads (publish acks, deliveries, admin calls on
// libuv's pool) comes back through one LoopInbox in batches. port() and
// metrics() may be called from any thread once Start() returned. The
// server must be stopped, and its `done` callback have run, before it is
// destroyed; the Mesh must outlive it.

#ifndef EVENTMESH_SRC_NET_HTTP_HTTP_SERVER_H_
#define EVENTMESH_SRC_NET_HTTP_HTTP_SERVER_H_

#include <uv.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "eventmesh/mesh.h"
#include "eventmesh/status.h"
#include "net/http/http_message.h"
#include "net/http/loop_inbox.h"
#include "net/http/request_parser.h"
#include "util/metrics.h"

namespace eventmesh::http {

struct HttpOptions {
  // Where to listen; port 0 picks a free one (see HttpServer::port()).
  std::string host = "127.0.0.1";
  int port = 10105;
  ParseLimits limits;
  // A request's headers must arrive within `header_timeout` of its first
  // byte and its body within `request_timeout`; a connection with no
  // request in progress closes after `idle_timeout`.
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  size_t max_connections = 10000;
  // Requests waiting for their responses, per connection, before the
  // server stops reading from it.
  size_t max_pipeline = 256;
  // Unsent bytes a streaming response may queue before the server closes
  // it (the client resumes with Last-Event-ID).
  size_t max_stream_buffer = 4 << 20;
  // Bearer token for /admin/*; empty turns the admin API off (403).
  std::string admin_token;
  // Longest wait a request/reply call may ask for.
  std::chrono::milliseconds max_request_timeout{std::chrono::seconds(60)};
  // Webhook targets must resolve to one of these networks (CIDR). Loopback
  // by default, for development.
  std::vector<std::string> webhook_allowed_networks = {"127.0.0.0/8",
                                                       "::1/128"};
  // Webhook redelivery: first retry after `webhook_retry_initial`,
  // doubling up to `webhook_retry_max`, at most `webhook_max_attempts`
  // deliveries before the event is dead-lettered.
  std::chrono::milliseconds webhook_retry_initial{500};
  std::chrono::milliseconds webhook_retry_max{std::chrono::seconds(60)};
  int webhook_max_attempts = 10;
  std::chrono::milliseconds webhook_timeout{std::chrono::seconds(10)};
  // The origin this server names in the webhook validation handshake
  // (WebHook-Request-Origin).
  std::string webhook_origin = "eventmesh";
  // Metrics go here when set (shared with other listeners); otherwise the
  // server keeps its own registry.
  metrics::Registry* registry = nullptr;
};

// Identifies one request waiting for its response.
struct Exchange {
  uint64_t connection = 0;
  uint64_t slot = 0;
  int64_t started_nanos = 0;  // monotonic, when the request was parsed
};

class Connection;
class HttpApi;

class HttpServer {
 public:
  HttpServer(uv_loop_t* loop, Mesh* mesh, HttpOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens. kInvalidArgument for a bad address, kUnavailable
  // when the port cannot be bound. Call Stop() afterwards in any case.
  Status Start();
  // Stops listening, closes every connection and subscription it made,
  // and runs `done` (on the loop thread) once every handle is closed and
  // no work is pending. Idempotent; a second call replaces `done`.
  void Stop(std::function<void()> done);

  int port() const { return port_.load(); }
  metrics::Registry* metrics() { return registry_; }

  // --- For the API handlers (loop thread) --------------------------------
  uv_loop_t* loop() const { return loop_; }
  Mesh* mesh() const { return mesh_; }
  const HttpOptions& options() const { return options_; }
  LoopInbox& inbox() { return *inbox_; }

  // Sends the response to an exchange; dropped when its connection closed.
  void Respond(const Exchange& exchange, Response response);
  // Turns the exchange into a stream: sends `head` without a length; the
  // connection closes when the stream ends. False when the connection is
  // gone.
  bool BeginStream(const Exchange& exchange, Response head,
                   std::function<void()> on_close);
  // Appends bytes to a stream; false when it is gone or over its buffer
  // limit (it is then closed).
  bool StreamWrite(const Exchange& exchange, std::string_view bytes);
  // Runs `work` on libuv's thread pool and sends what it returns.
  void RespondFromWorker(const Exchange& exchange,
                         std::function<Response()> work);
  // Runs `work` on libuv's pool, then `after` on the loop thread.
  void RunOnWorker(std::function<void()> work, std::function<void()> after);

  // Connection bookkeeping for the admin API.
  struct ConnectionInfo {
    uint64_t id;
    std::string peer;
    int64_t age_ms;
    uint64_t requests;
    bool streaming;
  };
  std::vector<ConnectionInfo> Connections() const;

  // Called by connections (loop thread).
  void Dispatch(Connection* connection, const Exchange& exchange,
                Request request);
  void MarkDirty(Connection* connection);
  // Publishes what the requests handled since the last call gathered,
  // then writes the output every connection gathered; called at the end
  // of each loop callback that may have produced some.
  void FlushDirty();
  void OnConnectionClosed(uint64_t id);
  void CountResponse(int status);
  // Closes connection `id` now, if it is still open.
  void CloseConnection(uint64_t id);
  // Runs the Stop() callback once nothing is left open (the API calls it
  // when its last handle closes).
  void MaybeFinishStop();
  bool stopping() const { return stopping_; }

  // HTTP-side metrics.
  struct Metrics {
    metrics::Gauge* connections;
    metrics::Counter* connections_total;
    metrics::Counter* requests[6];  // by status class: 1xx..5xx, other
    metrics::Counter* bytes_in;
    metrics::Counter* bytes_out;
    metrics::Counter* published;
    metrics::Counter* published_bytes;
    metrics::Histogram* publish_latency;
    metrics::Counter* delivered;
    metrics::Counter* delivered_bytes;
    metrics::Histogram* delivery_latency;
    metrics::Counter* webhook_acked;
    metrics::Counter* webhook_retried;
    metrics::Counter* webhook_dead_lettered;
  };
  Metrics& stats() { return stats_; }

 private:
  static void OnConnection(uv_stream_t* listener, int status);
  static void OnSweep(uv_timer_t* timer);
  void Accept();
  void Sweep();
  void RegisterMetrics();

  uv_loop_t* loop_;
  Mesh* mesh_;
  HttpOptions options_;
  std::unique_ptr<metrics::Registry> own_registry_;
  metrics::Registry* registry_;
  uint64_t collector_id_ = 0;
  Metrics stats_{};

  uv_tcp_t* listener_ = nullptr;
  uv_timer_t* sweep_ = nullptr;
  std::unique_ptr<LoopInbox> inbox_;
  std::unique_ptr<HttpApi> api_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<uint64_t> dirty_;
  uint64_t next_connection_id_ = 1;
  std::atomic<int> port_{0};
  int pending_work_ = 0;
  int open_handles_ = 0;
  bool stopping_ = false;
  bool inbox_started_ = false;
  std::function<void()> stop_done_;
};

// The HTTP status for a Status code (kInvalidArgument -> 400, ...).
int HttpStatusFor(StatusCode code);
Response ErrorResponse(const Status& status);

}  // namespace eventmesh::http

#endif  // EVENTMESH_SRC_NET_HTTP_HTTP_SERVER_H_
