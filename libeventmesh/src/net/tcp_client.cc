#include "net/tcp_client.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "event/binary_codec.h"
#include "eventmesh/clock.h"
#include "eventmesh/version.h"
#include "net/event_loop.h"
#include "net/frame.h"
#include "net/protocol.h"
#include "util/log_internal.h"
#include "util/thread_name.h"

namespace eventmesh {
namespace net {
namespace {

constexpr std::chrono::milliseconds kMinBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr uint64_t kDefaultHeartbeatMs = 5000;
// Publishes sent and not yet answered, per connection, beyond which
// PublishAsync waits for answers (docs/protocol.md, "Pipelining"). It
// waits until half of them are answered, so waking costs little.
constexpr int64_t kMaxUnackedPublishes = 16384;
// The most credit one subscription grants (docs/protocol.md, "Deliveries
// and credit"): enough that a busy subscriber is rarely held back by the
// round trip of its credit frames.
constexpr uint64_t kMaxCreditWindow = 16384;

// A subscription as the client keeps it, to restore after a reconnect.
struct ClientSub {
  uint64_t id = 0;
  std::string pattern;
  SubscribeOptions options;
  BatchHandler handler;
  bool durable = false;
  bool internal = false;  // handler runs on the loop thread (the inbox)
  uint64_t window = 0;    // credit granted per (re)subscribe
  std::atomic<bool> active{true};
  uint64_t processed = 0;  // guarded by the mesh's mu_: since last credit
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> redelivered{0};
  std::atomic<uint64_t> acked{0};
};

// Runs subscriber handlers on one thread, in order.
class CallbackThread {
 public:
  CallbackThread() : thread_([this] { Run(); }) {}
  ~CallbackThread() { Stop(); }

  void Post(const ClientSub* sub, std::function<void()> task) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    tasks_.emplace_back(sub, std::move(task));
    cv_.notify_all();
  }

  // Waits until no handler of `sub` runs, unless called from a handler.
  void WaitIdle(const ClientSub* sub) {
    if (std::this_thread::get_id() == thread_.get_id()) return;
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return running_ != sub; });
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      cv_.notify_all();
    }
    if (std::this_thread::get_id() == thread_.get_id()) {
      Fatal("Mesh closed from inside one of its own handlers");
    }
    thread_.join();
  }

 private:
  void Run() {
    NameThisThread("em-tcp-callback");
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      auto [sub, task] = std::move(tasks_.front());
      tasks_.pop_front();
      running_ = sub;
      lock.unlock();
      task();
      task = nullptr;
      lock.lock();
      running_ = nullptr;
      cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<const ClientSub*, std::function<void()>>> tasks_;
  const ClientSub* running_ = nullptr;
  bool stopping_ = false;
  std::thread thread_;
};

// A reply to a call, delivered on the loop thread.
using CallDone = std::function<void(const Status&, const Frame*)>;

struct PendingCall {
  FrameType expect = FrameType::kOk;
  CallDone done;
};

// Publishes waiting for their answers, by request id. Answers come back
// mostly in the order the publishes went out, so a window of ids replaces
// a hash map node and a wrapped callback per publish. Ids of other calls
// in between stay empty.
class PublishWaiters {
 public:
  using Done = Mesh::PublishDone;

  void Add(uint64_t id, Done done) {
    if (ring_.empty()) first_ = id;
    while (first_ + ring_.size() < id) ring_.emplace_back();
    ring_.push_back(std::move(done));
  }

  // The callback of publish `id`, taken out; empty when `id` is not a
  // publish waiting here.
  Done Take(uint64_t id) {
    if (id < first_ || id - first_ >= ring_.size()) return nullptr;
    Done done = std::move(ring_[id - first_]);
    ring_[id - first_] = nullptr;
    while (!ring_.empty() && !ring_.front()) {
      ring_.pop_front();
      ++first_;
    }
    return done;
  }

  // Every waiting callback, oldest first; none waits afterwards.
  std::vector<Done> TakeAll() {
    std::vector<Done> all;
    for (Done& done : ring_) {
      if (done) all.push_back(std::move(done));
    }
    ring_.clear();
    return all;
  }

 private:
  std::deque<Done> ring_;  // ring_[i] waits for id first_ + i
  uint64_t first_ = 0;
};

// What an answer to a call expecting `expect` says: OK when it is one, the
// server's error when it is an error frame, else that it is the wrong kind.
Status AnswerStatus(const Frame& frame, FrameType expect) {
  if (frame.type == FrameType::kError) {
    Status error;
    Status decoded = DecodeError(frame.body, &error);
    return decoded.ok() ? error : decoded;
  }
  if (frame.type != expect) {
    return Internal(std::string("expected ") + FrameTypeName(expect) +
                    ", got " + FrameTypeName(frame.type));
  }
  return Status::Ok();
}

// Waits for one call's answer on the caller's thread.
struct CallWaiter {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
  std::string body;

  void Set(const Status& s, const Frame* frame) {
    std::lock_guard<std::mutex> lock(mu);
    status = s;
    if (frame != nullptr) body.assign(frame->body);
    done = true;
    cv.notify_all();
  }
  Status Wait(std::chrono::milliseconds timeout, const char* what) {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, timeout, [&] { return done; })) {
      return Timeout(std::string(what) + " got no answer within " +
                     std::to_string(timeout.count()) + " ms");
    }
    return status;
  }
};

class RemoteMesh;

// Sends acks of deliveries received on one connection. A connection that
// broke makes its acks fail: the server gives those deliveries to others.
class RemoteAcker : public detail::Acker {
 public:
  RemoteAcker(RemoteMesh* mesh, uint64_t generation)
      : mesh_(mesh), generation_(generation) {}
  Status Ack(uint64_t token) override;
  Status Nack(uint64_t token, std::chrono::milliseconds delay) override;
  // Called when the mesh closes: later acks fail with kClosed.
  void Detach() {
    std::lock_guard<std::mutex> lock(mu_);
    mesh_ = nullptr;
  }

 private:
  std::mutex mu_;
  RemoteMesh* mesh_;
  uint64_t generation_;
};

class RemoteSubscription;

class RemoteMesh final : public Mesh {
 public:
  RemoteMesh(std::string url, std::string address, MeshOptions options);
  ~RemoteMesh() override;

  Status Connect();

  Result<uint64_t> Publish(std::string_view topic, Event event,
                           const PublishOptions& options) override;
  void PublishAsync(std::string_view topic, Event event, PublishDone done,
                    const PublishOptions& options) override;
  Result<std::vector<uint64_t>> PublishBatch(
      std::vector<Event> events, const PublishOptions& options) override;
  Result<std::unique_ptr<Subscription>> SubscribeBatch(
      std::string_view pattern, BatchHandler handler,
      const SubscribeOptions& options) override;
  Result<Event> Request(std::string_view topic, Event request,
                        std::chrono::milliseconds timeout) override;
  Result<std::vector<Event>> Read(std::string_view topic,
                                  uint64_t from_sequence,
                                  size_t max_events) override;
  Result<std::vector<TopicInfo>> Topics() override;
  Result<std::vector<GroupInfo>> Groups() override;
  Result<MeshStats> Stats() override;
  Result<uint64_t> RepublishDeadLetters(std::string_view durable) override;
  Status DeleteTopic(std::string_view topic) override;
  Status SeekGroup(std::string_view durable, StartPosition position) override;
  Status Close() override;
  const std::string& node_id() const override { return node_id_; }

  // Used by RemoteAcker and RemoteSubscription.
  Status SendAck(uint64_t generation, uint64_t token, bool nack,
                 std::chrono::milliseconds delay);
  Status Unsubscribe(const std::shared_ptr<ClientSub>& sub);

 private:
  // Any thread: queue a call; `done` runs on the loop thread.
  Status StartCallLocked(FrameType type, FrameType expect,
                         std::string_view body, CallDone done);
  Result<std::string> Call(FrameType type, FrameType expect,
                           std::string_view body, const char* what);
  void ScheduleFlushLocked();
  Status NotConnectedLocked() const;
  void AppendSubscribeLocked(ClientSub* sub, bool restoring);
  std::shared_ptr<RemoteAcker> AckerLocked();

  // Loop thread: the connection.
  void StartConnect();
  void OnConnected(int status);
  void OnRead(ssize_t nread, const uv_buf_t* buf);
  Status HandleFrame(const Frame& frame);
  void HandleWelcome(const Frame& frame);
  void HandleConnectionError(const Frame& frame);
  void HandleDeliver(const Frame& frame);
  void CompleteCall(const Frame& frame);
  void CompletePublish(const Frame& frame, const PublishWaiters::Done& done);
  void Flush();
  void LinkDown(const Status& why);
  void ScheduleReconnect();
  void OnTick();
  void RunHandler(const std::shared_ptr<ClientSub>& sub, uint64_t generation,
                  std::vector<Delivery> deliveries,
                  std::vector<uint64_t> tokens);

  // Any thread but the loop's: waits while too many publishes are
  // unanswered. One answered (or failed) publish: PublishAnswered().
  void WaitForPublishRoom();
  void PublishAnswered();

  // The inbox for Request().
  Status EnsureInbox();
  void OnReplies(const std::vector<Delivery>& deliveries);

  struct Link;

  const std::string url_;
  const std::string address_;
  const MeshOptions options_;
  const std::string node_id_;
  EventLoop loop_;
  CallbackThread callbacks_;

  // Loop thread only.
  Link* link_ = nullptr;
  uv_timer_t* tick_ = nullptr;
  uv_timer_t* reconnect_ = nullptr;
  FrameDecoder decoder_;
  std::string writing_;
  std::chrono::milliseconds backoff_ = kMinBackoff;
  int64_t last_read_ = 0;
  int64_t last_write_ = 0;
  bool hello_done_ = false;

  enum class State { kConnecting, kReady, kDown, kClosed };
  mutable std::mutex mu_;
  std::condition_variable state_cv_;
  State state_ = State::kConnecting;  // guarded by mu_
  Status connect_error_;              // guarded by mu_: the last refusal
  uint64_t generation_ = 1;           // guarded by mu_
  uint64_t heartbeat_ms_ = kDefaultHeartbeatMs;        // guarded by mu_
  std::string out_;                                    // guarded by mu_
  bool flush_posted_ = false;                          // guarded by mu_
  uint64_t next_request_id_ = 0;                       // guarded by mu_
  uint64_t next_sub_id_ = 0;                           // guarded by mu_
  std::unordered_map<uint64_t, PendingCall> pending_;  // mu_
  PublishWaiters publishes_;                           // guarded by mu_
  std::unordered_map<uint64_t, std::shared_ptr<ClientSub>> subs_;  // mu_
  std::shared_ptr<RemoteAcker> acker_;                    // guarded by mu_
  std::vector<std::shared_ptr<RemoteAcker>> old_ackers_;  // guarded by mu_

  // Publish flow control: publishes sent and not yet answered.
  std::atomic<int64_t> unacked_publishes_{0};
  std::atomic<int> publish_waiters_{0};
  std::mutex room_mu_;
  std::condition_variable room_cv_;

  // Request/reply.
  std::mutex inbox_mu_;
  std::unique_ptr<Subscription> inbox_;  // guarded by inbox_mu_
  std::string inbox_prefix_;
  std::atomic<uint64_t> next_reply_{0};
  std::mutex replies_mu_;
  std::unordered_map<std::string, std::shared_ptr<CallWaiter>> waiting_;
};

struct RemoteMesh::Link {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_write_t write;
  RemoteMesh* mesh;
  bool closing = false;
};

class RemoteSubscription final : public Subscription {
 public:
  RemoteSubscription(RemoteMesh* mesh, std::shared_ptr<ClientSub> sub)
      : mesh_(mesh), sub_(std::move(sub)) {}
  ~RemoteSubscription() override { Unsubscribe().IgnoreError(); }
  Status Unsubscribe() override {
    if (done_.exchange(true)) return Status::Ok();
    return mesh_->Unsubscribe(sub_);
  }
  SubscriptionStats Stats() const override {
    SubscriptionStats stats;
    stats.delivered = sub_->delivered.load();
    stats.redelivered = sub_->redelivered.load();
    stats.acked = sub_->acked.load();
    return stats;
  }
  const std::string& pattern() const override { return sub_->pattern; }

 private:
  RemoteMesh* mesh_;
  std::shared_ptr<ClientSub> sub_;
  std::atomic<bool> done_{false};
};

Status RemoteAcker::Ack(uint64_t token) {
  std::lock_guard<std::mutex> lock(mu_);
  if (mesh_ == nullptr) return Closed("the mesh is closed");
  return mesh_->SendAck(generation_, token, false, {});
}

Status RemoteAcker::Nack(uint64_t token, std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(mu_);
  if (mesh_ == nullptr) return Closed("the mesh is closed");
  return mesh_->SendAck(generation_, token, true, delay);
}

// --- construction and connection --------------------------------------------

RemoteMesh::RemoteMesh(std::string url, std::string address,
                       MeshOptions options)
    : url_(std::move(url)),
      address_(std::move(address)),
      options_(std::move(options)),
      node_id_(options_.node_id.empty() ? NewEventId() : options_.node_id) {
  inbox_prefix_ = "$INBOX." + node_id_ + ".";
  std::replace(inbox_prefix_.begin(), inbox_prefix_.end(), '-', '_');
  acker_ = std::make_shared<RemoteAcker>(this, generation_);
}

RemoteMesh::~RemoteMesh() { Close().IgnoreError(); }

Status RemoteMesh::Connect() {
  EM_RETURN_IF_ERROR(loop_.Start("em-tcp-client"));
  loop_.Post([this] {
    tick_ = new uv_timer_t;
    uv_timer_init(loop_.loop(), tick_);
    tick_->data = this;
    uv_timer_start(
        tick_,
        [](uv_timer_t* t) { static_cast<RemoteMesh*>(t->data)->OnTick(); }, 200,
        200);
    reconnect_ = new uv_timer_t;
    uv_timer_init(loop_.loop(), reconnect_);
    reconnect_->data = this;
    StartConnect();
  });
  std::unique_lock<std::mutex> lock(mu_);
  bool ready = state_cv_.wait_for(lock, options_.connect_timeout, [&] {
    return state_ == State::kReady ||
           connect_error_.code() == StatusCode::kUnauthenticated ||
           connect_error_.code() == StatusCode::kFailedPrecondition;
  });
  if (ready && state_ == State::kReady) return Status::Ok();
  Status error = connect_error_;
  lock.unlock();
  if (error.code() != StatusCode::kUnauthenticated &&
      error.code() != StatusCode::kFailedPrecondition) {
    error =
        Unavailable("cannot reach " + url_ + " within " +
                    std::to_string(options_.connect_timeout.count()) + " ms" +
                    (error.ok() ? std::string() : ": " + error.message()));
  }
  Close().IgnoreError();
  return error;
}

void RemoteMesh::StartConnect() {
  sockaddr_storage addr;
  Status parsed = ParseHostPort(address_, &addr);
  if (!parsed.ok()) Fatal("tcp address checked at open: " + parsed.message());
  auto* link = new Link;
  link->mesh = this;
  link->tcp.data = link;
  link->connect.data = link;
  link->write.data = link;
  uv_tcp_init(loop_.loop(), &link->tcp);
  uv_tcp_nodelay(&link->tcp, 1);
  link_ = link;
  int rc = uv_tcp_connect(&link->connect, &link->tcp,
                          reinterpret_cast<sockaddr*>(&addr),
                          [](uv_connect_t* req, int status) {
                            auto* l = static_cast<Link*>(req->data);
                            if (l->closing) return;
                            l->mesh->OnConnected(status);
                          });
  if (rc != 0) OnConnected(rc);
}

void RemoteMesh::OnConnected(int status) {
  if (status != 0) {
    LinkDown(UvStatus(status, "connecting to " + address_));
    return;
  }
  // Accept any frame a server may send: one event of the largest size
  // the codec allows, with room for the frame around it.
  decoder_ = FrameDecoder(kMaxEncodedEventSize + (1u << 20));
  hello_done_ = false;
  last_read_ = last_write_ = MonotonicNanos();
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&link_->tcp),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* l = static_cast<Link*>(h->data);
        size_t want = 64 * 1024;
        buf->base = l->mesh->decoder_.PrepareWrite(want);
        buf->len = want;
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
        auto* l = static_cast<Link*>(s->data);
        if (l->closing) return;
        l->mesh->OnRead(nread, buf);
      });
  HelloBody hello;
  hello.versions = {kProtocolVersion};
  hello.client = std::string("eventmesh-cpp ") + EVENTMESH_VERSION_STRING;
  hello.token = options_.token;
  hello.user = options_.user;
  hello.password = options_.password;
  std::string body;
  EncodeHello(hello, &body);
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Whatever was queued belonged to the previous connection.
    out_.clear();
    AppendFrame(FrameType::kHello, 0, body, &out_);
  }
  Flush();
}

void RemoteMesh::OnRead(ssize_t nread, const uv_buf_t*) {
  if (nread < 0) {
    LinkDown(UvStatus(static_cast<int>(nread), "reading from " + address_));
    return;
  }
  decoder_.Commit(static_cast<size_t>(nread));
  last_read_ = MonotonicNanos();
  Frame frame;
  for (;;) {
    Result<bool> next = decoder_.Next(&frame);
    if (!next.ok()) {
      LinkDown(next.status().WithContext("from " + address_));
      return;
    }
    if (!*next) break;
    Status status = HandleFrame(frame);
    if (!status.ok()) {
      LinkDown(status);
      return;
    }
    if (link_ == nullptr || link_->closing) return;
  }
  Flush();
}

Status RemoteMesh::HandleFrame(const Frame& frame) {
  switch (frame.type) {
    case FrameType::kWelcome:
      HandleWelcome(frame);
      return Status::Ok();
    case FrameType::kPing: {
      std::lock_guard<std::mutex> lock(mu_);
      AppendFrame(FrameType::kPong, frame.request_id, {}, &out_);
      return Status::Ok();
    }
    case FrameType::kPong:
      return Status::Ok();
    case FrameType::kDeliver:
      HandleDeliver(frame);
      return Status::Ok();
    case FrameType::kGoodbye:
      return Unavailable("the server said goodbye");
    case FrameType::kError:
      if (frame.request_id == 0) {
        HandleConnectionError(frame);
        return Unavailable("the server closed the connection");
      }
      CompleteCall(frame);
      return Status::Ok();
    case FrameType::kSubscriptionEnd: {
      SubscriptionEndBody end;
      EM_RETURN_IF_ERROR(DecodeSubscriptionEnd(frame.body, &end));
      EM_LOG(kWarn, "net",
             "server ended subscription " << end.sub_id << ": "
                                          << end.status.ToString());
      return Status::Ok();
    }
    default:
      CompleteCall(frame);
      return Status::Ok();
  }
}

void RemoteMesh::HandleWelcome(const Frame& frame) {
  WelcomeBody welcome;
  Status status = DecodeWelcome(frame.body, &welcome);
  if (!status.ok()) {
    LinkDown(status);
    return;
  }
  hello_done_ = true;
  backoff_ = kMinBackoff;
  std::lock_guard<std::mutex> lock(mu_);
  heartbeat_ms_ = std::max<uint64_t>(welcome.heartbeat_ms, 10);
  state_ = State::kReady;
  connect_error_ = Status::Ok();
  // Restore every subscription on the new connection.
  for (auto& [id, sub] : subs_) {
    (void)id;
    AppendSubscribeLocked(sub.get(), true);
  }
  state_cv_.notify_all();
}

void RemoteMesh::HandleConnectionError(const Frame& frame) {
  Status error;
  Status decoded = DecodeError(frame.body, &error);
  if (!decoded.ok()) error = decoded;
  EM_LOG(kWarn, "net", url_ << " refused the connection: " << error.ToString());
  std::lock_guard<std::mutex> lock(mu_);
  connect_error_ = error;
  state_cv_.notify_all();
}

void RemoteMesh::CompleteCall(const Frame& frame) {
  PendingCall call;
  PublishWaiters::Done publish;
  {
    std::lock_guard<std::mutex> lock(mu_);
    publish = publishes_.Take(frame.request_id);
    if (!publish) {
      auto it = pending_.find(frame.request_id);
      if (it == pending_.end()) return;  // e.g. an answer after a timeout
      call = std::move(it->second);
      pending_.erase(it);
    }
  }
  if (publish) {
    CompletePublish(frame, publish);
    return;
  }
  Status status = AnswerStatus(frame, call.expect);
  call.done(status, status.ok() ? &frame : nullptr);
}

// --- deliveries --------------------------------------------------------------

void RemoteMesh::HandleDeliver(const Frame& frame) {
  DeliverBody body;
  Status status = DecodeDeliver(frame.body, &body);
  if (!status.ok()) {
    LinkDown(status);
    return;
  }
  std::shared_ptr<ClientSub> sub;
  std::shared_ptr<RemoteAcker> acker;
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = subs_.find(body.sub_id);
    if (it != subs_.end()) sub = it->second;
    acker = acker_;
    generation = generation_;
  }
  if (!sub) return;  // unsubscribed meanwhile
  // One allocation holds the frame's events; each delivery shares it
  // through an aliasing pointer, so a batch costs no allocation per event
  // beyond the event's own strings.
  auto events = std::make_shared<std::vector<Event>>();
  events->reserve(body.items.size());
  for (const DeliveryItem& item : body.items) {
    Status decoded =
        internal::DecodeBinaryInto(item.event, &events->emplace_back());
    if (!decoded.ok()) {
      LinkDown(decoded.WithContext("a delivery from " + address_));
      return;
    }
  }
  std::vector<Delivery> deliveries;
  std::vector<uint64_t> tokens;
  deliveries.reserve(body.items.size());
  for (size_t i = 0; i < body.items.size(); ++i) {
    const DeliveryItem& item = body.items[i];
    deliveries.emplace_back(EventPtr(events, &(*events)[i]), item.attempt,
                            item.token != 0 ? acker : nullptr, item.token);
    if (item.token != 0) tokens.push_back(item.token);
    if (item.attempt > 1) sub->redelivered.fetch_add(1);
  }
  if (sub->internal) {
    RunHandler(sub, generation, std::move(deliveries), std::move(tokens));
    return;
  }
  callbacks_.Post(
      sub.get(), [this, sub, generation, deliveries = std::move(deliveries),
                  tokens = std::move(tokens)]() mutable {
        RunHandler(sub, generation, std::move(deliveries), std::move(tokens));
      });
}

// Runs the handler, then acks (unless manual) and tops up the credit in
// one go.
void RemoteMesh::RunHandler(const std::shared_ptr<ClientSub>& sub,
                            uint64_t generation,
                            std::vector<Delivery> deliveries,
                            std::vector<uint64_t> tokens) {
  if (!sub->active.load()) return;
  sub->handler(deliveries);
  sub->delivered.fetch_add(deliveries.size());
  std::lock_guard<std::mutex> lock(mu_);
  if (generation != generation_ || state_ != State::kReady ||
      !sub->active.load()) {
    return;
  }
  if (sub->durable && !sub->options.manual_ack && !tokens.empty()) {
    size_t start = BeginFrame(FrameType::kAck, 0, &out_);
    EncodeAck(tokens, &out_);
    FinishFrame(start, &out_);
    sub->acked.fetch_add(tokens.size());
  }
  sub->processed += deliveries.size();
  if (sub->processed * 2 >= sub->window) {
    size_t start = BeginFrame(FrameType::kCredit, 0, &out_);
    EncodeCredit({sub->id, sub->processed}, &out_);
    FinishFrame(start, &out_);
    sub->processed = 0;
  }
  ScheduleFlushLocked();
}

Status RemoteMesh::SendAck(uint64_t generation, uint64_t token, bool nack,
                           std::chrono::milliseconds delay) {
  auto waiter = std::make_shared<CallWaiter>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::kClosed) return Closed("the mesh is closed");
    if (generation != generation_ || state_ != State::kReady) {
      return Unavailable(
          "the connection that delivered this event was lost; the server "
          "redelivers it");
    }
    std::string body;
    if (nack) {
      EncodeNack({{token, static_cast<uint64_t>(delay.count())}}, &body);
    } else {
      EncodeAck({token}, &body);
    }
    EM_RETURN_IF_ERROR(StartCallLocked(
        nack ? FrameType::kNack : FrameType::kAck, FrameType::kOk, body,
        [waiter](const Status& s, const Frame* f) { waiter->Set(s, f); }));
  }
  return waiter->Wait(options_.call_timeout, nack ? "nack" : "ack");
}

// --- output ------------------------------------------------------------------

void RemoteMesh::ScheduleFlushLocked() {
  if (flush_posted_) return;
  flush_posted_ = true;
  loop_.Post([this] { Flush(); });
}

void RemoteMesh::Flush() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    flush_posted_ = false;
    if (link_ == nullptr || link_->closing || !writing_.empty()) return;
    writing_.swap(out_);
  }
  if (writing_.empty()) return;
  uv_buf_t buf =
      uv_buf_init(writing_.data(), static_cast<unsigned>(writing_.size()));
  int rc = uv_write(&link_->write, reinterpret_cast<uv_stream_t*>(&link_->tcp),
                    &buf, 1, [](uv_write_t* req, int status) {
                      auto* l = static_cast<Link*>(req->data);
                      if (l->closing) return;
                      RemoteMesh* self = l->mesh;
                      self->writing_.clear();
                      if (status != 0) {
                        self->LinkDown(UvStatus(status, "writing"));
                        return;
                      }
                      self->Flush();
                    });
  if (rc != 0) {
    writing_.clear();
    LinkDown(UvStatus(rc, "writing to " + address_));
    return;
  }
  last_write_ = MonotonicNanos();
}

void RemoteMesh::CompletePublish(const Frame& frame,
                                 const PublishWaiters::Done& done) {
  PublishAnswered();
  Status status = AnswerStatus(frame, FrameType::kPubAck);
  if (!status.ok()) return done(status);
  uint64_t sequence = 0;
  Status decoded = DecodeVarintBody(frame.body, "puback", &sequence);
  if (!decoded.ok()) return done(decoded);
  done(sequence);
}

Status RemoteMesh::NotConnectedLocked() const {
  if (state_ == State::kClosed) return Closed("the mesh is closed");
  return Unavailable("not connected to " + url_ + "; reconnecting");
}

Status RemoteMesh::StartCallLocked(FrameType type, FrameType expect,
                                   std::string_view body, CallDone done) {
  if (state_ != State::kReady) return NotConnectedLocked();
  uint64_t id = ++next_request_id_;
  pending_.emplace(id, PendingCall{expect, std::move(done)});
  AppendFrame(type, id, body, &out_);
  ScheduleFlushLocked();
  return Status::Ok();
}

Result<std::string> RemoteMesh::Call(FrameType type, FrameType expect,
                                     std::string_view body, const char* what) {
  auto waiter = std::make_shared<CallWaiter>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    EM_RETURN_IF_ERROR(StartCallLocked(
        type, expect, body,
        [waiter](const Status& s, const Frame* f) { waiter->Set(s, f); }));
  }
  EM_RETURN_IF_ERROR(waiter->Wait(options_.call_timeout, what));
  std::lock_guard<std::mutex> lock(waiter->mu);
  return std::move(waiter->body);
}

// --- the broken link ---------------------------------------------------------

// Closes the connection, fails every call waiting on it, and schedules a
// reconnect (unless the mesh is closing).
void RemoteMesh::LinkDown(const Status& why) {
  if (link_ != nullptr && !link_->closing) {
    link_->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&link_->tcp),
             [](uv_handle_t* h) { delete static_cast<Link*>(h->data); });
  }
  link_ = nullptr;
  writing_.clear();
  std::unordered_map<uint64_t, PendingCall> failed;
  std::vector<PublishWaiters::Done> failed_publishes;
  bool closed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed = state_ == State::kClosed;
    if (!closed) {
      if (state_ == State::kReady) {
        EM_LOG(kWarn, "net", "lost " << url_ << ": " << why.ToString());
      }
      state_ = State::kDown;
      if (connect_error_.ok()) connect_error_ = why;
    }
    ++generation_;
    old_ackers_.push_back(acker_);
    acker_ = std::make_shared<RemoteAcker>(this, generation_);
    out_.clear();
    failed.swap(pending_);
    failed_publishes = publishes_.TakeAll();
    state_cv_.notify_all();
  }
  Status lost =
      closed ? Closed("the mesh is closed")
             : Unavailable("connection to " + url_ +
                           " lost before an answer came: " + why.message() +
                           " (a publish may or may not be stored)");
  for (auto& [id, call] : failed) {
    (void)id;
    call.done(lost, nullptr);
  }
  for (auto& done : failed_publishes) {
    PublishAnswered();
    done(lost);
  }
  if (!closed) ScheduleReconnect();
}

void RemoteMesh::ScheduleReconnect() {
  uint64_t delay = static_cast<uint64_t>(backoff_.count());
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  uv_timer_start(
      reconnect_,
      [](uv_timer_t* t) {
        auto* self = static_cast<RemoteMesh*>(t->data);
        {
          std::lock_guard<std::mutex> lock(self->mu_);
          if (self->state_ == State::kClosed) return;
          self->state_ = State::kConnecting;
        }
        self->StartConnect();
      },
      delay, 0);
}

// Heartbeats: ping when quiet, give up on a silent server.
void RemoteMesh::OnTick() {
  if (link_ == nullptr || link_->closing || !hello_done_) return;
  uint64_t heartbeat_ms = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    heartbeat_ms = heartbeat_ms_;
  }
  int64_t heartbeat = static_cast<int64_t>(heartbeat_ms) * 1000000;
  int64_t now = MonotonicNanos();
  if (now - last_read_ > 3 * heartbeat) {
    LinkDown(Unavailable("the server sent nothing for 3 heartbeats"));
    return;
  }
  if (now - last_write_ >= heartbeat) {
    std::lock_guard<std::mutex> lock(mu_);
    AppendFrame(FrameType::kPing, 0, {}, &out_);
    ScheduleFlushLocked();
  }
}

// --- publishing --------------------------------------------------------------

namespace {
// The client names the event before sending, so a retry has the same id.
void FillIdentity(Event* event) {
  if (event->id.empty()) event->id = NewEventId();
  if (event->time.empty()) event->time = FormatRfc3339(WallNanos());
}
}  // namespace

Result<uint64_t> RemoteMesh::Publish(std::string_view topic, Event event,
                                     const PublishOptions& options) {
  auto waiter = std::make_shared<CallWaiter>();
  uint64_t sequence = 0;
  PublishAsync(
      topic, std::move(event),
      [waiter, &sequence](const Result<uint64_t>& result) {
        if (result.ok()) sequence = *result;
        waiter->Set(result.status(), nullptr);
      },
      options);
  EM_RETURN_IF_ERROR(waiter->Wait(options_.call_timeout, "publish"));
  return sequence;
}

// A publisher that runs far ahead of the answers waits here, so the
// pipeline (and the memory behind it) stays bounded.
void RemoteMesh::WaitForPublishRoom() {
  if (unacked_publishes_.load() < kMaxUnackedPublishes ||
      loop_.InLoopThread()) {
    return;
  }
  std::unique_lock<std::mutex> lock(room_mu_);
  publish_waiters_.fetch_add(1);
  // Bounded waits: a link that goes down fails every answer, which wakes
  // this too, but a closing mesh is noticed by the timeout.
  while (unacked_publishes_.load() > kMaxUnackedPublishes / 2) {
    room_cv_.wait_for(lock, std::chrono::milliseconds(50));
    std::lock_guard<std::mutex> state_lock(mu_);
    if (state_ != State::kReady) break;
  }
  publish_waiters_.fetch_sub(1);
}

void RemoteMesh::PublishAnswered() {
  int64_t before = unacked_publishes_.fetch_sub(1);
  if (before == kMaxUnackedPublishes / 2 + 1 && publish_waiters_.load() > 0) {
    std::lock_guard<std::mutex> lock(room_mu_);
    room_cv_.notify_all();
  }
}

void RemoteMesh::PublishAsync(std::string_view topic, Event event,
                              PublishDone done, const PublishOptions& options) {
  FillIdentity(&event);
  WaitForPublishRoom();
  Status status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kReady) {
      status = NotConnectedLocked();
    } else {
      uint64_t id = ++next_request_id_;
      unacked_publishes_.fetch_add(1);
      // A caller may pass no callback; the window still needs an entry.
      if (!done) done = [](const Result<uint64_t>&) {};
      publishes_.Add(id, std::move(done));
      // Replies are not worth an fsync (docs/protocol.md).
      std::optional<Durability> durability = options.durability;
      if (!durability && topic.substr(0, 7) == "$INBOX.") {
        durability = Durability::kNone;
      }
      AppendPublishFrame(id, DurabilityToWire(durability), topic, event, &out_);
      ScheduleFlushLocked();
      return;
    }
  }
  done(status);
}

Result<std::vector<uint64_t>> RemoteMesh::PublishBatch(
    std::vector<Event> events, const PublishOptions& options) {
  if (events.empty()) return std::vector<uint64_t>();
  for (Event& event : events) FillIdentity(&event);
  auto waiter = std::make_shared<CallWaiter>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kReady) return NotConnectedLocked();
    uint64_t id = ++next_request_id_;
    pending_.emplace(id, PendingCall{FrameType::kPubAckBatch,
                                     [waiter](const Status& s, const Frame* f) {
                                       waiter->Set(s, f);
                                     }});
    AppendPublishBatchFrame(id, DurabilityToWire(options.durability), events,
                            &out_);
    ScheduleFlushLocked();
  }
  EM_RETURN_IF_ERROR(waiter->Wait(options_.call_timeout, "publish batch"));
  std::vector<uint64_t> sequences;
  std::lock_guard<std::mutex> lock(waiter->mu);
  EM_RETURN_IF_ERROR(DecodeSequences(waiter->body, &sequences));
  return sequences;
}

// --- subscribing -------------------------------------------------------------

void RemoteMesh::AppendSubscribeLocked(ClientSub* sub, bool restoring) {
  SubscribeBody body;
  body.sub_id = sub->id;
  body.pattern = sub->pattern;
  body.options = sub->options;
  // A non-durable subscription restored after an outage starts from now:
  // replaying its original start again would deliver duplicates.
  if (restoring && !sub->durable) body.options.start = StartPosition::Latest();
  body.credit = sub->window;
  sub->processed = 0;
  std::string encoded;
  EncodeSubscribe(body, &encoded);
  uint64_t id = ++next_request_id_;
  std::string pattern = sub->pattern;
  pending_.emplace(
      id, PendingCall{FrameType::kOk, [pattern](const Status& s, const Frame*) {
                        if (!s.ok()) {
                          EM_LOG(kWarn, "net",
                                 "restoring subscription to "
                                     << pattern << " failed: " << s.ToString());
                        }
                      }});
  AppendFrame(FrameType::kSubscribe, id, encoded, &out_);
  ScheduleFlushLocked();
}

Result<std::unique_ptr<Subscription>> RemoteMesh::SubscribeBatch(
    std::string_view pattern, BatchHandler handler,
    const SubscribeOptions& options) {
  if (!handler) return InvalidArgument("subscribe needs a handler");
  auto sub = std::make_shared<ClientSub>();
  sub->pattern.assign(pattern);
  sub->options = options;
  sub->handler = std::move(handler);
  sub->durable = !options.durable.empty();
  sub->internal = pattern.substr(0, inbox_prefix_.size()) == inbox_prefix_;
  size_t cap = sub->durable ? options.max_in_flight : options.max_pending;
  sub->window =
      std::max<uint64_t>(64, std::min<uint64_t>(cap, kMaxCreditWindow));

  auto waiter = std::make_shared<CallWaiter>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ != State::kReady) return NotConnectedLocked();
    sub->id = ++next_sub_id_;
    SubscribeBody body;
    body.sub_id = sub->id;
    body.pattern = sub->pattern;
    body.options = options;
    body.credit = sub->window;
    std::string encoded;
    EncodeSubscribe(body, &encoded);
    subs_[sub->id] = sub;
    EM_RETURN_IF_ERROR(StartCallLocked(
        FrameType::kSubscribe, FrameType::kOk, encoded,
        [waiter](const Status& s, const Frame* f) { waiter->Set(s, f); }));
  }
  Status status = waiter->Wait(options_.call_timeout, "subscribe");
  if (!status.ok()) {
    sub->active.store(false);
    std::lock_guard<std::mutex> lock(mu_);
    subs_.erase(sub->id);
    return status;
  }
  return std::unique_ptr<Subscription>(
      std::make_unique<RemoteSubscription>(this, sub));
}

Status RemoteMesh::Unsubscribe(const std::shared_ptr<ClientSub>& sub) {
  sub->active.store(false);
  auto waiter = std::make_shared<CallWaiter>();
  Status sent;
  {
    std::lock_guard<std::mutex> lock(mu_);
    subs_.erase(sub->id);
    std::string body;
    EncodeVarintBody(sub->id, &body);
    sent = state_ == State::kReady
               ? StartCallLocked(FrameType::kUnsubscribe, FrameType::kOk, body,
                                 [waiter](const Status& s, const Frame* f) {
                                   waiter->Set(s, f);
                                 })
               : NotConnectedLocked();
  }
  // From the loop thread (the inbox) nobody may wait for the answer.
  if (sent.ok() && !loop_.InLoopThread()) {
    waiter->Wait(options_.call_timeout, "unsubscribe").IgnoreError();
  }
  callbacks_.WaitIdle(sub.get());
  return Status::Ok();
}

// --- request / reply ---------------------------------------------------------

Status RemoteMesh::EnsureInbox() {
  std::lock_guard<std::mutex> lock(inbox_mu_);
  if (inbox_) return Status::Ok();
  SubscribeOptions options;
  options.max_pending = 65536;
  options.overflow = OverflowPolicy::kDrop;
  EM_ASSIGN_OR_RETURN(inbox_,
                      SubscribeBatch(
                          inbox_prefix_ + ">",
                          [this](const std::vector<Delivery>& deliveries) {
                            OnReplies(deliveries);
                          },
                          options));
  return Status::Ok();
}

void RemoteMesh::OnReplies(const std::vector<Delivery>& deliveries) {
  for (const Delivery& d : deliveries) {
    const std::string* correlation =
        d.event().Extension(kCorrelationIdAttribute);
    if (correlation == nullptr) continue;
    std::shared_ptr<CallWaiter> waiter;
    {
      std::lock_guard<std::mutex> lock(replies_mu_);
      auto it = waiting_.find(*correlation);
      if (it == waiting_.end()) continue;  // late or duplicate reply
      waiter = std::move(it->second);
      waiting_.erase(it);
    }
    std::string bytes;
    AppendBinary(d.event(), &bytes);
    std::lock_guard<std::mutex> lock(waiter->mu);
    waiter->body = std::move(bytes);
    waiter->done = true;
    waiter->cv.notify_all();
  }
}

Result<Event> RemoteMesh::Request(std::string_view topic, Event request,
                                  std::chrono::milliseconds timeout) {
  EM_RETURN_IF_ERROR(EnsureInbox());
  std::string correlation = NewEventId();
  request.SetExtension(kReplyToAttribute,
                       inbox_prefix_ + std::to_string(++next_reply_));
  request.SetExtension(kCorrelationIdAttribute, correlation);
  auto waiter = std::make_shared<CallWaiter>();
  {
    std::lock_guard<std::mutex> lock(replies_mu_);
    waiting_[correlation] = waiter;
  }
  PublishOptions options;
  options.durability = Durability::kNone;
  PublishAsync(
      topic, std::move(request),
      [waiter](const Result<uint64_t>& result) {
        if (result.ok()) return;
        std::lock_guard<std::mutex> lock(waiter->mu);
        if (waiter->done) return;
        waiter->status = result.status();
        waiter->done = true;
        waiter->cv.notify_all();
      },
      options);
  Status status = waiter->Wait(timeout, "request");
  {
    std::lock_guard<std::mutex> lock(replies_mu_);
    waiting_.erase(correlation);
  }
  if (status.code() == StatusCode::kTimeout) {
    return Timeout("no reply to the request on '" + std::string(topic) +
                   "' within " + std::to_string(timeout.count()) + " ms");
  }
  EM_RETURN_IF_ERROR(status);
  std::lock_guard<std::mutex> lock(waiter->mu);
  return DecodeBinary(waiter->body);
}

// --- reads and admin ---------------------------------------------------------

Result<std::vector<Event>> RemoteMesh::Read(std::string_view topic,
                                            uint64_t from_sequence,
                                            size_t max_events) {
  std::string body;
  EncodeRead({std::string(topic), from_sequence, max_events}, &body);
  EM_ASSIGN_OR_RETURN(
      std::string reply,
      Call(FrameType::kRead, FrameType::kReadResult, body, "read"));
  std::vector<Event> events;
  EM_RETURN_IF_ERROR(DecodeEvents(reply, &events));
  return events;
}

Result<std::vector<TopicInfo>> RemoteMesh::Topics() {
  EM_ASSIGN_OR_RETURN(
      std::string reply,
      Call(FrameType::kTopics, FrameType::kTopicsResult, {}, "topics"));
  std::vector<TopicInfo> topics;
  EM_RETURN_IF_ERROR(DecodeTopics(reply, &topics));
  return topics;
}

Result<std::vector<GroupInfo>> RemoteMesh::Groups() {
  EM_ASSIGN_OR_RETURN(
      std::string reply,
      Call(FrameType::kGroups, FrameType::kGroupsResult, {}, "groups"));
  std::vector<GroupInfo> groups;
  EM_RETURN_IF_ERROR(DecodeGroups(reply, &groups));
  return groups;
}

Result<MeshStats> RemoteMesh::Stats() {
  EM_ASSIGN_OR_RETURN(
      std::string reply,
      Call(FrameType::kStats, FrameType::kStatsResult, {}, "stats"));
  MeshStats stats;
  EM_RETURN_IF_ERROR(DecodeStats(reply, &stats));
  return stats;
}

Result<uint64_t> RemoteMesh::RepublishDeadLetters(std::string_view durable) {
  std::string body;
  EncodeStringBody(durable, &body);
  EM_ASSIGN_OR_RETURN(std::string reply,
                      Call(FrameType::kRepublishDead, FrameType::kCountResult,
                           body, "republish_dead"));
  uint64_t count = 0;
  EM_RETURN_IF_ERROR(DecodeVarintBody(reply, "count_result", &count));
  return count;
}

Status RemoteMesh::DeleteTopic(std::string_view topic) {
  std::string body;
  EncodeStringBody(topic, &body);
  return Call(FrameType::kDeleteTopic, FrameType::kOk, body, "delete_topic")
      .status();
}

Status RemoteMesh::SeekGroup(std::string_view durable, StartPosition position) {
  std::string body;
  EncodeSeekGroup({std::string(durable), position}, &body);
  return Call(FrameType::kSeekGroup, FrameType::kOk, body, "seek_group")
      .status();
}

// --- closing -----------------------------------------------------------------

Status RemoteMesh::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::kClosed) return Status::Ok();
  }
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    if (inbox_) inbox_->Unsubscribe().IgnoreError();
  }
  std::vector<std::shared_ptr<ClientSub>> subs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = State::kClosed;
    for (auto& [id, sub] : subs_) {
      (void)id;
      sub->active.store(false);
      subs.push_back(sub);
    }
    subs_.clear();
    state_cv_.notify_all();
  }
  // Say goodbye after what is queued, then close the link and timers.
  loop_.RunSync([this] {
    if (link_ != nullptr && !link_->closing && hello_done_) {
      std::string body;
      EncodeStringBody("client closing", &body);
      std::lock_guard<std::mutex> lock(mu_);
      AppendFrame(FrameType::kGoodbye, 0, body, &out_);
    }
    Flush();
    LinkDown(Closed("the mesh is closed"));
    for (uv_timer_t* timer : {tick_, reconnect_}) {
      if (timer == nullptr) continue;
      uv_close(reinterpret_cast<uv_handle_t*>(timer),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    }
    tick_ = reconnect_ = nullptr;
  });
  loop_.Stop();
  callbacks_.Stop();
  // Detached outside mu_: an Ack holds the acker's lock, then takes mu_.
  std::vector<std::shared_ptr<RemoteAcker>> ackers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ackers = old_ackers_;
    ackers.push_back(acker_);
  }
  for (auto& acker : ackers) acker->Detach();
  return Status::Ok();
}

}  // namespace
}  // namespace net

Result<std::unique_ptr<Mesh>> OpenTcpMesh(std::string_view url,
                                          const MeshOptions& options) {
  constexpr std::string_view kScheme = "tcp://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgument("'" + std::string(url) + "' is not a tcp:// URL");
  }
  std::string address(url.substr(kScheme.size()));
  while (!address.empty() && address.back() == '/') address.pop_back();
  if (address.find(':') == std::string::npos) address += ":10000";
  sockaddr_storage addr;
  EM_RETURN_IF_ERROR(net::ParseHostPort(address, &addr)
                         .WithContext("bad URL '" + std::string(url) + "'"));
  auto mesh =
      std::make_unique<net::RemoteMesh>(std::string(url), address, options);
  EM_RETURN_IF_ERROR(mesh->Connect());
  return std::unique_ptr<Mesh>(std::move(mesh));
}

}  // namespace eventmesh
