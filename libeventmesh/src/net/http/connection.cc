#include "net/http/connection.h"

#include <array>
#include <utility>

#include "eventmesh/clock.h"
#include "net/http/http_server.h"

namespace eventmesh::http {

namespace {

// How long a closing connection drains its input after the last response.
constexpr int64_t kLingerMillis = 2000;

int64_t NowMillis(uv_loop_t* loop) {
  return static_cast<int64_t>(uv_now(loop));
}

std::string PeerName(const uv_tcp_t* tcp) {
  sockaddr_storage addr{};
  int len = sizeof addr;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return "?";
  }
  char host[64] = {0};
  int port = 0;
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    uv_ip4_name(in, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
  uv_ip6_name(in6, host, sizeof host);
  port = ntohs(in6->sin6_port);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

// The head of a streamed response: no length, the body ends at close.
std::string StreamHead(const Response& head) {
  std::string out = "HTTP/1.1 " + std::to_string(head.status) + " ";
  out += ReasonPhrase(head.status);
  out += "\r\n";
  for (const Header& h : head.headers) out += h.name + ": " + h.value + "\r\n";
  out += "Connection: close\r\n\r\n";
  out += head.body;
  return out;
}

}  // namespace

Connection::Connection(HttpServer* server, uint64_t id)
    : server_(server), id_(id), parser_(server->options().limits) {
  tcp_.data = this;
}

Connection::~Connection() = default;

int Connection::Init(uv_loop_t* loop) {
  int rc = uv_tcp_init(loop, &tcp_);
  opened_ms_ = last_activity_ms_ = NowMillis(loop);
  return rc;
}

void Connection::Start() {
  started_ = true;
  uv_tcp_nodelay(&tcp_, 1);
  peer_ = PeerName(&tcp_);
  UpdateReading();
}

void Connection::Close() {
  if (state_ == State::kClosing) return;
  state_ = State::kClosing;
  stream_slot_ = 0;
  if (on_stream_close_) {
    auto on_close = std::move(on_stream_close_);
    on_stream_close_ = nullptr;
    on_close();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::OnClose);
}

void Connection::OnClose(uv_handle_t* handle) {
  auto* self = static_cast<Connection*>(handle->data);
  self->server_->OnConnectionClosed(self->id_);  // deletes self
}

// --- Reading ----------------------------------------------------------------

void Connection::OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  // Reads are handled before the next one starts, so one buffer per
  // thread serves every connection of the loop.
  thread_local std::array<char, 64 << 10> buffer;
  *buf = uv_buf_init(buffer.data(), static_cast<unsigned>(buffer.size()));
}

void Connection::OnRead(uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(stream->data);
  if (n > 0) {
    self->HandleInput(std::string_view(buf->base, static_cast<size_t>(n)));
  } else if (n < 0) {
    if (n == UV_EOF) {
      self->HandleEof();
    } else {
      self->Close();
    }
  }
  self->server_->FlushDirty();
}

void Connection::HandleInput(std::string_view bytes) {
  last_activity_ms_ = NowMillis(tcp_.loop);
  server_->stats().bytes_in->Inc(bytes.size());
  if (input_closed_ || state_ != State::kOpen) return;  // drained, unread

  bool was_in_request = parser_.in_request();
  std::vector<Request> done;
  bool ok = parser_.Feed(bytes, &done);
  for (Request& request : done) {
    if (input_closed_) break;
    StartRequest(std::move(request));
  }
  if (!ok && !input_closed_) {
    RejectRequest(parser_.error().status, parser_.error().message);
  }
  if (parser_.in_request() && (!was_in_request || !done.empty())) {
    request_started_ms_ = last_activity_ms_;
  }
  // A client waiting for "100 Continue" gets it when nothing is ahead of
  // it; otherwise it sends the body after its own short wait.
  if (parser_.TakeContinue() && ok && !input_closed_ && slots_.empty()) {
    out_ += "HTTP/1.1 100 Continue\r\n\r\n";
    server_->MarkDirty(this);
  }
  UpdateReading();
}

void Connection::HandleEof() {
  eof_seen_ = true;
  input_closed_ = true;
  if (state_ == State::kLingering || stream_slot_ != 0) {
    Close();
    return;
  }
  UpdateReading();
  if (slots_.empty() && out_.empty() && writing_bytes_ == 0) Close();
}

void Connection::UpdateReading() {
  if (state_ == State::kClosing) return;
  bool want =
      !eof_seen_ &&
      (state_ == State::kLingering || stream_slot_ != 0 ||
       (!input_closed_ && slots_.size() < server_->options().max_pipeline));
  if (want == reading_) return;
  reading_ = want;
  if (want) {
    uv_read_start(stream(), &Connection::OnAlloc, &Connection::OnRead);
  } else {
    uv_read_stop(stream());
  }
}

// --- Requests and their slots -----------------------------------------------

void Connection::StartRequest(Request request) {
  ++requests_;
  bool keep_alive = request.keep_alive && !server_->stopping();
  uint64_t slot = OpenSlot(keep_alive, request.method == "HEAD");
  if (!keep_alive) input_closed_ = true;
  Exchange exchange{id_, slot, MonotonicNanos()};
  server_->Dispatch(this, exchange, std::move(request));
}

void Connection::RejectRequest(int status, std::string message) {
  uint64_t slot = OpenSlot(false, false);
  input_closed_ = true;
  Respond(slot, Response::Error(status, message));
}

uint64_t Connection::OpenSlot(bool keep_alive, bool head_only) {
  Slot slot;
  slot.id = next_slot_++;
  slot.keep_alive = keep_alive;
  slot.head_only = head_only;
  slots_.push_back(std::move(slot));
  return slots_.back().id;
}

Connection::Slot* Connection::FindSlot(uint64_t id) {
  if (slots_.empty() || id < slots_.front().id) return nullptr;
  uint64_t index = id - slots_.front().id;
  if (index >= slots_.size()) return nullptr;
  return &slots_[index];
}

void Connection::Respond(uint64_t slot_id, Response response) {
  Slot* slot = FindSlot(slot_id);
  if (slot == nullptr || slot->ready || state_ == State::kClosing) return;
  server_->CountResponse(response.status);
  SerializeResponse(response, slot->keep_alive, slot->head_only, &slot->bytes);
  slot->ready = true;
  DrainSlots();
}

bool Connection::BeginStream(uint64_t slot_id, Response head,
                             std::function<void()> on_close) {
  Slot* slot = FindSlot(slot_id);
  if (slot == nullptr || slot->ready || state_ != State::kOpen) return false;
  server_->CountResponse(head.status);
  slot->bytes = StreamHead(head);
  slot->ready = true;
  slot->stream = true;
  stream_slot_ = slot_id;
  on_stream_close_ = std::move(on_close);
  // A stream is the connection's last response: later requests are
  // dropped unanswered.
  input_closed_ = true;
  while (slots_.back().id != slot_id) slots_.pop_back();
  DrainSlots();
  UpdateReading();
  return true;
}

bool Connection::StreamWrite(uint64_t slot_id, std::string_view bytes) {
  if (stream_slot_ != slot_id || state_ != State::kOpen) return false;
  Slot* slot = FindSlot(slot_id);
  if (slot == nullptr) return false;
  if (slots_.front().id == slot_id) {
    out_.append(bytes);
  } else {
    slot->bytes.append(bytes);
  }
  size_t queued = out_.size() + writing_bytes_ + slot->bytes.size();
  if (queued > server_->options().max_stream_buffer) {
    Close();
    return false;
  }
  server_->MarkDirty(this);
  return true;
}

void Connection::DrainSlots() {
  bool wrote = false;
  while (!slots_.empty() && slots_.front().ready) {
    Slot& slot = slots_.front();
    out_ += slot.bytes;
    wrote = true;
    if (slot.stream) {
      slot.bytes.clear();
      break;  // the stream stays at the front until the connection closes
    }
    bool keep_alive = slot.keep_alive;
    slots_.pop_front();
    if (!keep_alive) {
      input_closed_ = true;
      slots_.clear();
    }
  }
  if (wrote) {
    last_activity_ms_ = NowMillis(tcp_.loop);
    server_->MarkDirty(this);
  }
  UpdateReading();
}

// --- Writing ----------------------------------------------------------------

void Connection::Flush() {
  dirty = false;
  if (state_ == State::kClosing || state_ == State::kLingering) return;
  if (!out_.empty()) {
    auto* write = new WriteRequest;
    write->data.swap(out_);
    write->req.data = this;
    uv_buf_t buf = uv_buf_init(write->data.data(),
                               static_cast<unsigned>(write->data.size()));
    int rc = uv_write(&write->req, stream(), &buf, 1, &Connection::OnWrite);
    if (rc != 0) {
      delete write;
      Close();
      return;
    }
    writing_bytes_ += write->data.size();
    server_->stats().bytes_out->Inc(write->data.size());
  }
  if (input_closed_ && slots_.empty() && stream_slot_ == 0 &&
      writing_bytes_ == 0) {
    FinishOutput();
  }
}

void Connection::OnWrite(uv_write_t* req, int status) {
  auto* write = reinterpret_cast<WriteRequest*>(req);
  auto* self = static_cast<Connection*>(req->data);
  self->writing_bytes_ -= write->data.size();
  delete write;
  if (self->state_ == State::kClosing) return;
  if (status < 0) {
    self->Close();
    return;
  }
  if (self->input_closed_ && self->slots_.empty() && self->stream_slot_ == 0 &&
      self->writing_bytes_ == 0 && self->out_.empty()) {
    self->FinishOutput();
  }
}

void Connection::FinishOutput() {
  if (state_ != State::kOpen) return;
  if (eof_seen_) {
    Close();
    return;
  }
  state_ = State::kLingering;
  linger_started_ms_ = NowMillis(tcp_.loop);
  shutdown_req_.data = this;
  if (uv_shutdown(&shutdown_req_, stream(), &Connection::OnShutdown) != 0) {
    Close();
    return;
  }
  UpdateReading();
}

void Connection::OnShutdown(uv_shutdown_t* req, int status) {
  auto* self = static_cast<Connection*>(req->data);
  if (status < 0 && self->state_ != State::kClosing) self->Close();
}

void Connection::CheckTimeouts(int64_t now_ms) {
  const HttpOptions& o = server_->options();
  if (state_ == State::kLingering) {
    if (now_ms - linger_started_ms_ > kLingerMillis) Close();
    return;
  }
  if (state_ != State::kOpen || stream_slot_ != 0) return;
  if (!input_closed_ && parser_.in_request()) {
    auto limit = parser_.headers_done() ? o.request_timeout : o.header_timeout;
    if (now_ms - request_started_ms_ > limit.count()) {
      RejectRequest(408, parser_.headers_done()
                             ? "the request body did not arrive in time"
                             : "the request headers did not arrive in time");
    }
    return;
  }
  if (slots_.empty() && out_.empty() && writing_bytes_ == 0 &&
      now_ms - last_activity_ms_ > o.idle_timeout.count()) {
    Close();
  }
}

}  // namespace eventmesh::http
