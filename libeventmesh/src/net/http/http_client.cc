#include "net/http/http_client.h"

#include <http_parser.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <utility>

namespace eventmesh::http {

// --- Network and Url --------------------------------------------------------

Result<Network> Network::Parse(std::string_view cidr) {
  Network net;
  size_t slash = cidr.find('/');
  std::string addr(cidr.substr(0, slash));
  int max_prefix = 0;
  if (uv_inet_pton(AF_INET, addr.c_str(), net.bytes_) == 0) {
    net.family_ = AF_INET;
    max_prefix = 32;
  } else if (uv_inet_pton(AF_INET6, addr.c_str(), net.bytes_) == 0) {
    net.family_ = AF_INET6;
    max_prefix = 128;
  } else {
    return InvalidArgument("'" + std::string(cidr) +
                           "' is not a network such as 127.0.0.0/8");
  }
  net.prefix_ = max_prefix;
  if (slash != std::string_view::npos) {
    std::string_view p = cidr.substr(slash + 1);
    auto [end, ec] =
        std::from_chars(p.data(), p.data() + p.size(), net.prefix_);
    if (ec != std::errc() || end != p.data() + p.size() || net.prefix_ < 0 ||
        net.prefix_ > max_prefix) {
      return InvalidArgument("network '" + std::string(cidr) +
                             "' has a bad prefix length");
    }
  }
  return net;
}

bool Network::Contains(const sockaddr* addr) const {
  const uint8_t* bytes = nullptr;
  if (addr->sa_family != family_) return false;
  if (family_ == AF_INET) {
    bytes = reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr);
  } else {
    bytes = reinterpret_cast<const uint8_t*>(
        &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr);
  }
  int full = prefix_ / 8, rest = prefix_ % 8;
  if (std::memcmp(bytes, bytes_, static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (bytes[full] & mask) == (bytes_[full] & mask);
}

Result<Url> Url::Parse(std::string_view text) {
  constexpr std::string_view kScheme = "http://";
  if (text.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgument("url '" + std::string(text) +
                           "' must start with http:// (https is not "
                           "supported; terminate TLS in a proxy)");
  }
  text.remove_prefix(kScheme.size());
  size_t path_at = text.find_first_of("/?");
  std::string_view authority = text.substr(0, path_at);
  Url url;
  if (path_at != std::string_view::npos) {
    url.path_and_query = std::string(text.substr(path_at));
    if (url.path_and_query[0] == '?') url.path_and_query.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgument("url must not carry credentials");
  }
  std::string_view host = authority, port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgument("url has an unclosed '[' in its host");
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        return InvalidArgument("url has junk after its IPv6 host");
      }
      port = authority.substr(close + 2);
    }
  } else if (size_t colon = authority.rfind(':');
             colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return InvalidArgument("url has no host");
  for (char c : url.path_and_query) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return InvalidArgument("url path has spaces or control characters");
    }
  }
  url.host = std::string(host);
  if (!port.empty()) {
    auto [end, ec] =
        std::from_chars(port.data(), port.data() + port.size(), url.port);
    if (ec != std::errc() || end != port.data() + port.size() ||
        url.port <= 0 || url.port > 65535) {
      return InvalidArgument("url has a bad port '" + std::string(port) + "'");
    }
  }
  return url;
}

const std::string* ClientResponse::FindHeader(std::string_view name) const {
  for (const Header& h : headers) {
    if (h.name == name) return &h.value;
  }
  return nullptr;
}

// --- One connection ---------------------------------------------------------

class ClientPool::Conn {
 public:
  explicit Conn(ClientPool* pool) : pool_(pool) {
    timer_.data = this;
    tcp_.data = this;
    gai_.data = this;
    connect_.data = this;
    write_.data = this;
    uv_timer_init(pool_->loop_, &timer_);
    ++handles_;
    http_parser_settings_init(&settings_);
    settings_.on_header_field = &Conn::OnHeaderField;
    settings_.on_header_value = &Conn::OnHeaderValue;
    settings_.on_body = &Conn::OnBody;
    settings_.on_message_complete = &Conn::OnMessageComplete;
  }

  bool idle() const { return state_ == State::kIdle; }

  // Takes `job`: connects first when not yet connected.
  void Run(Job job) {
    job_ = std::move(job);
    has_job_ = true;
    uv_timer_start(&timer_, &Conn::OnTimeout,
                   static_cast<uint64_t>(pool_->timeout_.count()), 0);
    if (state_ == State::kNew) return Resolve();
    Write();
  }

  void Close() {
    if (state_ == State::kClosing) return;
    bool resolving = state_ == State::kResolving;
    state_ = State::kClosing;
    if (has_job_) Finish(Unavailable("the connection was closed"));
    // A pending lookup finishes (cancelled) before the handles close.
    if (resolving) {
      uv_cancel(reinterpret_cast<uv_req_t*>(&gai_));
      return;
    }
    CloseHandles();
  }

 private:
  enum class State { kNew, kResolving, kConnecting, kBusy, kIdle, kClosing };

  void CloseHandles() {
    auto on_close = [](uv_handle_t* h) {
      auto* self = static_cast<Conn*>(h->data);
      if (--self->handles_ == 0) self->pool_->OnConnClosed(self);
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_close);
    if (tcp_open_) uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_close);
  }

  void Resolve() {
    state_ = State::kResolving;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    std::string port = std::to_string(pool_->target_.port);
    int rc = uv_getaddrinfo(pool_->loop_, &gai_, &Conn::OnResolved,
                            pool_->target_.host.c_str(), port.c_str(), &hints);
    if (rc != 0) {
      state_ = State::kNew;
      Fail(Unavailable("cannot resolve '" + pool_->target_.host +
                       "': " + uv_strerror(rc)));
    }
  }

  static void OnResolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
    auto* self = static_cast<Conn*>(req->data);
    if (self->state_ == State::kClosing) {
      uv_freeaddrinfo(res);
      self->CloseHandles();
      return;
    }
    self->state_ = State::kConnecting;
    if (status < 0) {
      return self->Fail(Unavailable("cannot resolve '" +
                                    self->pool_->target_.host +
                                    "': " + uv_strerror(status)));
    }
    const sockaddr* chosen = nullptr;
    for (addrinfo* ai = res; ai != nullptr && !chosen; ai = ai->ai_next) {
      for (const Network& net : self->pool_->allowed_) {
        if (net.Contains(ai->ai_addr)) {
          chosen = ai->ai_addr;
          break;
        }
      }
    }
    if (chosen == nullptr) {
      uv_freeaddrinfo(res);
      return self->Fail(PermissionDenied(
          "'" + self->pool_->target_.host +
          "' resolves to no address in the allowed webhook networks"));
    }
    uv_tcp_init(self->pool_->loop_, &self->tcp_);
    self->tcp_open_ = true;
    ++self->handles_;
    int rc =
        uv_tcp_connect(&self->connect_, &self->tcp_, chosen, &Conn::OnConnect);
    uv_freeaddrinfo(res);
    if (rc != 0) {
      self->Fail(
          Unavailable(std::string("cannot connect: ") + uv_strerror(rc)));
    }
  }

  static void OnConnect(uv_connect_t* req, int status) {
    auto* self = static_cast<Conn*>(req->data);
    if (self->state_ == State::kClosing) return;
    if (status < 0) {
      return self->Fail(Unavailable("cannot connect to " +
                                    self->pool_->target_.host + ":" +
                                    std::to_string(self->pool_->target_.port) +
                                    ": " + uv_strerror(status)));
    }
    uv_tcp_nodelay(&self->tcp_, 1);
    uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_), &Conn::OnAlloc,
                  &Conn::OnRead);
    self->Write();
  }

  void Write() {
    state_ = State::kBusy;
    http_parser_init(&parser_, HTTP_RESPONSE);
    parser_.data = this;
    response_ = ClientResponse();
    last_was_value_ = false;
    uv_buf_t buf = uv_buf_init(job_.bytes.data(),
                               static_cast<unsigned>(job_.bytes.size()));
    int rc = uv_write(&write_, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1,
                      &Conn::OnWrite);
    if (rc != 0) Fail(Unavailable(std::string("write: ") + uv_strerror(rc)));
  }

  static void OnWrite(uv_write_t* req, int status) {
    auto* self = static_cast<Conn*>(req->data);
    if (status < 0 && self->state_ != State::kClosing) {
      self->Fail(Unavailable(std::string("write: ") + uv_strerror(status)));
    }
  }

  static void OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
    thread_local char buffer[16 << 10];
    *buf = uv_buf_init(buffer, sizeof buffer);
  }

  static void OnRead(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    auto* self = static_cast<Conn*>(s->data);
    if (self->state_ == State::kClosing) return;
    if (n < 0) {
      // EOF ends a response that runs until the connection closes.
      if (self->state_ == State::kBusy) {
        http_parser_execute(&self->parser_, &self->settings_, nullptr, 0);
      }
      if (self->has_job_) {
        return self->Fail(
            Unavailable("the target closed the connection "
                        "before responding"));
      }
      return self->Close();
    }
    if (self->state_ != State::kBusy) return self->Close();  // unasked data
    size_t used = http_parser_execute(&self->parser_, &self->settings_,
                                      buf->base, static_cast<size_t>(n));
    if (self->state_ == State::kClosing) return;
    if (self->has_job_ && (HTTP_PARSER_ERRNO(&self->parser_) != HPE_OK ||
                           used != static_cast<size_t>(n))) {
      self->Fail(Unavailable("the target sent a malformed response"));
    }
  }

  static int OnHeaderField(http_parser* p, const char* at, size_t n) {
    auto* self = static_cast<Conn*>(p->data);
    auto& headers = self->response_.headers;
    if (headers.empty() || self->last_was_value_) headers.emplace_back();
    if (headers.size() > 100) return -1;
    self->last_was_value_ = false;
    for (size_t i = 0; i < n; ++i) {
      headers.back().name +=
          static_cast<char>(std::tolower(static_cast<unsigned char>(at[i])));
    }
    return 0;
  }

  static int OnHeaderValue(http_parser* p, const char* at, size_t n) {
    auto* self = static_cast<Conn*>(p->data);
    if (self->response_.headers.empty()) return -1;
    self->last_was_value_ = true;
    self->response_.headers.back().value.append(at, n);
    return 0;
  }

  static int OnBody(http_parser* p, const char* at, size_t n) {
    auto* self = static_cast<Conn*>(p->data);
    // Only the start of a body is kept: it goes into error messages.
    size_t room = 4096 - std::min<size_t>(4096, self->response_.body.size());
    self->response_.body.append(at, std::min(room, n));
    return 0;
  }

  static int OnMessageComplete(http_parser* p) {
    auto* self = static_cast<Conn*>(p->data);
    self->response_.status = static_cast<int>(p->status_code);
    bool keep_alive = http_should_keep_alive(p) != 0;
    uv_timer_stop(&self->timer_);
    Job job = std::move(self->job_);
    self->has_job_ = false;
    ClientResponse response = std::move(self->response_);
    if (keep_alive) {
      self->state_ = State::kIdle;
    } else {
      self->Close();
    }
    job.done(std::move(response));
    if (keep_alive && self->state_ == State::kIdle) self->pool_->OnIdle(self);
    return 0;
  }

  static void OnTimeout(uv_timer_t* t) {
    auto* self = static_cast<Conn*>(t->data);
    self->Fail(Timeout("no response within " +
                       std::to_string(self->pool_->timeout_.count()) + " ms"));
  }

  // Ends the current job with `error` and closes the connection.
  void Fail(Status error) {
    if (has_job_) Finish(std::move(error));
    Close();
  }

  void Finish(Status error) {
    has_job_ = false;
    uv_timer_stop(&timer_);
    Job job = std::move(job_);
    ClientResponse response;
    response.error = std::move(error);
    if (job.done) job.done(std::move(response));
  }

  ClientPool* pool_;
  State state_ = State::kNew;
  uv_timer_t timer_;
  uv_tcp_t tcp_;
  bool tcp_open_ = false;
  int handles_ = 0;
  uv_getaddrinfo_t gai_;
  uv_connect_t connect_;
  uv_write_t write_;
  http_parser parser_;
  http_parser_settings settings_;
  ClientResponse response_;
  bool last_was_value_ = false;
  Job job_;
  bool has_job_ = false;
};

// --- The pool ---------------------------------------------------------------

ClientPool::ClientPool(uv_loop_t* loop, Url target,
                       std::vector<Network> allowed,
                       std::chrono::milliseconds timeout,
                       size_t max_connections)
    : loop_(loop),
      target_(std::move(target)),
      allowed_(std::move(allowed)),
      timeout_(timeout),
      max_connections_(max_connections == 0 ? 1 : max_connections) {}

ClientPool::~ClientPool() {
  if (!conns_.empty()) Fatal("ClientPool destroyed with open connections");
}

void ClientPool::Send(std::string method, std::string path,
                      std::vector<Header> headers, std::string body,
                      Done done) {
  if (closing_) {
    ClientResponse r;
    r.error = Closed("the webhook is being removed");
    done(std::move(r));
    return;
  }
  std::string bytes = method + " " +
                      (path.empty() ? target_.path_and_query : path) +
                      " HTTP/1.1\r\nHost: " + target_.host;
  if (target_.port != 80) bytes += ":" + std::to_string(target_.port);
  bytes += "\r\n";
  for (const Header& h : headers) bytes += h.name + ": " + h.value + "\r\n";
  bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  bytes += body;
  queue_.push_back({std::move(bytes), std::move(done)});
  Pump();
}

void ClientPool::Pump() {
  while (!queue_.empty() && !closing_) {
    Conn* idle = nullptr;
    for (Conn* c : conns_) {
      if (c->idle()) {
        idle = c;
        break;
      }
    }
    if (idle == nullptr && conns_.size() >= max_connections_) return;
    if (idle == nullptr) {
      idle = new Conn(this);
      conns_.push_back(idle);
    }
    Job job = std::move(queue_.front());
    queue_.pop_front();
    idle->Run(std::move(job));
  }
}

void ClientPool::OnIdle(Conn*) { Pump(); }

void ClientPool::OnConnClosed(Conn* conn) {
  for (size_t i = 0; i < conns_.size(); ++i) {
    if (conns_[i] == conn) {
      conns_.erase(conns_.begin() + static_cast<long>(i));
      break;
    }
  }
  delete conn;
  if (closing_) {
    if (conns_.empty() && closed_) {
      auto closed = std::move(closed_);
      closed_ = nullptr;
      closed();
    }
    return;
  }
  Pump();
}

void ClientPool::Close(std::function<void()> closed) {
  closing_ = true;
  auto queued = std::move(queue_);
  queue_.clear();
  for (Job& job : queued) {
    ClientResponse r;
    r.error = Closed("the webhook is being removed");
    job.done(std::move(r));
  }
  if (conns_.empty()) {
    if (closed) closed();
    return;
  }
  closed_ = std::move(closed);
  std::vector<Conn*> open = conns_;
  for (Conn* c : open) c->Close();
}

}  // namespace eventmesh::http
