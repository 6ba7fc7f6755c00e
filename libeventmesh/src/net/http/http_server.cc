#include "net/http/http_server.h"

#include <algorithm>
#include <utility>

#include "eventmesh/clock.h"
#include "net/http/connection.h"
#include "net/http/http_api.h"
#include "util/log_internal.h"

namespace eventmesh::http {

namespace {

Status UvError(std::string_view what, int rc) {
  return Unavailable(std::string(what) + ": " + uv_strerror(rc));
}

}  // namespace

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kTimeout:
      return 504;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kClosed:
      return 503;
    case StatusCode::kDataLoss:
      return 500;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

Response ErrorResponse(const Status& status) {
  return Response::Error(HttpStatusFor(status.code()), status.message());
}

HttpServer::HttpServer(uv_loop_t* loop, Mesh* mesh, HttpOptions options)
    : loop_(loop), mesh_(mesh), options_(std::move(options)) {
  if (options_.registry != nullptr) {
    registry_ = options_.registry;
  } else {
    own_registry_ = std::make_unique<metrics::Registry>();
    registry_ = own_registry_.get();
  }
  RegisterMetrics();
  inbox_ = std::make_unique<LoopInbox>(loop_, [this] { FlushDirty(); });
  api_ = std::make_unique<HttpApi>(this);
}

HttpServer::~HttpServer() {
  if (collector_id_ != 0) registry_->RemoveCollector(collector_id_);
  if (open_handles_ > 0 || (listener_ != nullptr && !stopping_)) {
    Fatal(
        "HttpServer destroyed while running: call Stop() and wait for "
        "its callback first");
  }
}

void HttpServer::RegisterMetrics() {
  metrics::Registry& r = *registry_;
  stats_.connections =
      r.AddGauge("eventmesh_connections", "Open client connections by protocol",
                 {{"protocol", "http"}});
  stats_.connections_total = r.AddCounter(
      "eventmesh_connections_accepted_total",
      "Client connections accepted by protocol", {{"protocol", "http"}});
  const char* classes[6] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
  for (int i = 0; i < 6; ++i) {
    stats_.requests[i] =
        r.AddCounter("eventmesh_http_responses_total",
                     "HTTP responses by status class", {{"code", classes[i]}});
  }
  stats_.bytes_in = r.AddCounter("eventmesh_http_received_bytes_total",
                                 "Bytes read from HTTP clients");
  stats_.bytes_out = r.AddCounter("eventmesh_http_sent_bytes_total",
                                  "Bytes written to HTTP clients");
  stats_.published = r.AddCounter("eventmesh_http_published_events_total",
                                  "Events published over HTTP");
  stats_.published_bytes =
      r.AddCounter("eventmesh_http_published_bytes_total",
                   "Data bytes of events published over HTTP");
  stats_.publish_latency = r.AddHistogram(
      "eventmesh_http_publish_latency_seconds",
      "From a parsed publish request to its stored acknowledgement",
      metrics::LatencyBuckets());
  stats_.delivered = r.AddCounter(
      "eventmesh_http_delivered_events_total",
      "Events delivered to webhooks (acknowledged) and event streams");
  stats_.delivered_bytes = r.AddCounter(
      "eventmesh_http_delivered_bytes_total",
      "Data bytes of events delivered to webhooks and event streams");
  stats_.delivery_latency =
      r.AddHistogram("eventmesh_http_delivery_latency_seconds",
                     "From an event being stored to its delivery over HTTP",
                     metrics::LatencyBuckets());
  stats_.webhook_acked = r.AddCounter("eventmesh_webhook_acked_total",
                                      "Webhook deliveries answered with 2xx");
  stats_.webhook_retried =
      r.AddCounter("eventmesh_webhook_retries_total",
                   "Webhook deliveries to be retried (429, 5xx, errors)");
  stats_.webhook_dead_lettered =
      r.AddCounter("eventmesh_webhook_dead_lettered_total",
                   "Webhook deliveries sent to the dead-letter topic");
  collector_id_ = r.AddCollector(
      [this](metrics::SampleWriter* out) { api_->CollectMeshMetrics(out); });
}

void HttpServer::CountResponse(int status) {
  int cls = status / 100;
  stats_.requests[(cls >= 1 && cls <= 5) ? cls - 1 : 5]->Inc();
}

// --- Start and stop ---------------------------------------------------------

Status HttpServer::Start() {
  sockaddr_storage addr{};
  if (uv_ip4_addr(options_.host.c_str(), options_.port,
                  reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(options_.host.c_str(), options_.port,
                  reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    return InvalidArgument("http: listen address '" + options_.host +
                           "' is not an IPv4 or IPv6 address");
  }
  listener_ = new uv_tcp_t;
  listener_->data = this;
  uv_tcp_init(loop_, listener_);
  ++open_handles_;
  int rc = uv_tcp_bind(listener_, reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 511,
                   &HttpServer::OnConnection);
  if (rc != 0) {
    // The handle closes on the next loop turn; Stop() still has to be
    // called, and its callback waits for this close.
    uv_close(reinterpret_cast<uv_handle_t*>(listener_), [](uv_handle_t* h) {
      auto* self = static_cast<HttpServer*>(h->data);
      delete reinterpret_cast<uv_tcp_t*>(h);
      --self->open_handles_;
      self->MaybeFinishStop();
    });
    listener_ = nullptr;
    return UvError("http: cannot listen on " + options_.host + ":" +
                       std::to_string(options_.port),
                   rc);
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  sweep_ = new uv_timer_t;
  sweep_->data = this;
  uv_timer_init(loop_, sweep_);
  ++open_handles_;
  auto shortest = std::min({options_.header_timeout, options_.request_timeout,
                            options_.idle_timeout});
  uint64_t every = std::clamp<int64_t>(shortest.count() / 4, 20, 1000);
  uv_timer_start(sweep_, &HttpServer::OnSweep, every, every);
  if (int irc = inbox_->Start(); irc != 0) Fatal(uv_strerror(irc));
  inbox_started_ = true;
  ++open_handles_;
  api_->Start();
  EM_LOG(kInfo, "http", "listening on " << options_.host << ":" << port_);
  return Status::Ok();
}

void HttpServer::Stop(std::function<void()> done) {
  stop_done_ = std::move(done);
  if (stopping_) {
    MaybeFinishStop();
    return;
  }
  stopping_ = true;
  api_->Stop();
  auto close_handle = [this](uv_handle_t* handle) {
    handle->data = this;
    uv_close(handle, [](uv_handle_t* h) {
      auto* self = static_cast<HttpServer*>(h->data);
      if (h->type == UV_TCP) {
        delete reinterpret_cast<uv_tcp_t*>(h);
      } else {
        delete reinterpret_cast<uv_timer_t*>(h);
      }
      --self->open_handles_;
      self->MaybeFinishStop();
    });
  };
  if (listener_ != nullptr) {
    close_handle(reinterpret_cast<uv_handle_t*>(listener_));
    listener_ = nullptr;
  }
  if (sweep_ != nullptr) {
    close_handle(reinterpret_cast<uv_handle_t*>(sweep_));
    sweep_ = nullptr;
  }
  std::vector<Connection*> open;
  for (auto& [id, connection] : connections_) open.push_back(connection.get());
  for (Connection* c : open) c->Close();
  if (inbox_started_) {
    inbox_started_ = false;
    inbox_->Close([this] {
      --open_handles_;
      MaybeFinishStop();
    });
  }
  MaybeFinishStop();
}

void HttpServer::MaybeFinishStop() {
  if (!stopping_ || !stop_done_) return;
  if (open_handles_ > 0 || pending_work_ > 0 || !connections_.empty() ||
      !api_->Idle()) {
    return;
  }
  auto done = std::move(stop_done_);
  stop_done_ = nullptr;
  done();
}

// --- Connections ------------------------------------------------------------

void HttpServer::OnConnection(uv_stream_t* listener, int status) {
  auto* self = static_cast<HttpServer*>(listener->data);
  if (status < 0) {
    EM_LOG(kWarn, "http", "accept failed: " << uv_strerror(status));
    return;
  }
  self->Accept();
}

void HttpServer::Accept() {
  uint64_t id = next_connection_id_++;
  auto connection = std::make_unique<Connection>(this, id);
  if (connection->Init(loop_) != 0) return;
  Connection* c = connection.get();
  connections_.emplace(id, std::move(connection));
  if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_), c->stream()) != 0 ||
      connections_.size() > options_.max_connections) {
    c->Close();
    return;
  }
  stats_.connections->Add(1);
  stats_.connections_total->Inc();
  c->Start();
}

void HttpServer::OnConnectionClosed(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  if (it->second->started()) stats_.connections->Add(-1);
  connections_.erase(it);
  MaybeFinishStop();
}

void HttpServer::CloseConnection(uint64_t id) {
  auto it = connections_.find(id);
  if (it != connections_.end()) it->second->Close();
}

void HttpServer::MarkDirty(Connection* connection) {
  if (connection->dirty) return;
  connection->dirty = true;
  dirty_.push_back(connection->id());
}

void HttpServer::FlushDirty() {
  api_->PublishGathered();
  std::vector<uint64_t> ids;
  ids.swap(dirty_);
  for (uint64_t id : ids) {
    auto it = connections_.find(id);
    if (it != connections_.end()) it->second->Flush();
  }
}

void HttpServer::OnSweep(uv_timer_t* timer) {
  static_cast<HttpServer*>(timer->data)->Sweep();
}

void HttpServer::Sweep() {
  int64_t now = static_cast<int64_t>(uv_now(loop_));
  std::vector<Connection*> all;
  all.reserve(connections_.size());
  for (auto& [id, connection] : connections_) all.push_back(connection.get());
  for (Connection* c : all) c->CheckTimeouts(now);
  api_->Tick();
  FlushDirty();
}

std::vector<HttpServer::ConnectionInfo> HttpServer::Connections() const {
  std::vector<ConnectionInfo> out;
  int64_t now = static_cast<int64_t>(uv_now(loop_));
  for (const auto& [id, c] : connections_) {
    out.push_back(
        {id, c->peer(), now - c->opened_ms(), c->requests(), c->streaming()});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

// --- Responses --------------------------------------------------------------

void HttpServer::Dispatch(Connection*, const Exchange& exchange,
                          Request request) {
  api_->Handle(exchange, std::move(request));
}

void HttpServer::Respond(const Exchange& exchange, Response response) {
  auto it = connections_.find(exchange.connection);
  if (it == connections_.end()) return;
  it->second->Respond(exchange.slot, std::move(response));
}

bool HttpServer::BeginStream(const Exchange& exchange, Response head,
                             std::function<void()> on_close) {
  auto it = connections_.find(exchange.connection);
  if (it == connections_.end()) return false;
  return it->second->BeginStream(exchange.slot, std::move(head),
                                 std::move(on_close));
}

bool HttpServer::StreamWrite(const Exchange& exchange, std::string_view bytes) {
  auto it = connections_.find(exchange.connection);
  if (it == connections_.end()) return false;
  return it->second->StreamWrite(exchange.slot, bytes);
}

namespace {

struct WorkItem {
  uv_work_t req;
  HttpServer* server;
  std::function<void()> work;
  std::function<void()> after;
};

}  // namespace

void HttpServer::RunOnWorker(std::function<void()> work,
                             std::function<void()> after) {
  auto* item = new WorkItem{{}, this, std::move(work), std::move(after)};
  item->req.data = item;
  ++pending_work_;
  int rc = uv_queue_work(
      loop_, &item->req,
      [](uv_work_t* req) { static_cast<WorkItem*>(req->data)->work(); },
      [](uv_work_t* req, int) {
        auto* done = static_cast<WorkItem*>(req->data);
        HttpServer* server = done->server;
        --server->pending_work_;
        done->after();
        delete done;
        server->FlushDirty();
        server->MaybeFinishStop();
      });
  if (rc != 0) Fatal("uv_queue_work failed: " + std::string(uv_strerror(rc)));
}

void HttpServer::RespondFromWorker(const Exchange& exchange,
                                   std::function<Response()> work) {
  auto result = std::make_shared<Response>();
  RunOnWorker(
      [result, work = std::move(work)] { *result = work(); },
      [this, exchange, result] { Respond(exchange, std::move(*result)); });
}

}  // namespace eventmesh::http
