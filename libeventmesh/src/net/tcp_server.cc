#include "net/tcp_server.h"

#include <deque>
#include <optional>

#include "event/binary_codec.h"
#include "eventmesh/clock.h"
#include "eventmesh/topic.h"
#include "eventmesh/version.h"
#include "net/protocol.h"
#include "util/log_internal.h"
#include "util/thread_name.h"

namespace eventmesh::net {
namespace {

// The most publish frames of one read handed to the mesh at once.
constexpr size_t kMaxGatheredPublishes = 1024;

}  // namespace

// --- Worker ----------------------------------------------------------------

Worker::Worker() : thread_([this] { Run(); }) {}

Worker::~Worker() { Stop(); }

void Worker::Post(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return;
  bool wake = tasks_.empty();
  tasks_.push_back(std::move(task));
  if (wake) cv_.notify_one();
}

void Worker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Worker::Run() {
  NameThisThread("em-net-worker");
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
    std::vector<std::function<void()>> tasks;
    tasks.swap(tasks_);
    lock.unlock();
    for (auto& task : tasks) task();
    lock.lock();
    if (stopping_ && tasks_.empty()) return;
  }
}

// --- Connection --------------------------------------------------------------

// What a client asked for one delivery: an ack, or a nack with a delay.
struct Settlement {
  bool nack = false;
  std::chrono::milliseconds delay{0};
};

// A delivery waiting for credit, with its encoded size (counted in the
// connection's pending bytes).
struct HeldDelivery {
  Delivery delivery;
  size_t bytes = 0;
};

// What a subscription of one connection shares with the mesh thread that
// runs its handler. Guarded by the connection's mu_.
struct ServerSub {
  uint64_t sub_id = 0;
  bool durable = false;
  uint64_t credit = 0;
  std::deque<HeldDelivery> held;  // beyond the credit, oldest first
  std::unique_ptr<Subscription> subscription;  // loop thread only
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(TcpServer* server);
  ~Connection();

  // Loop thread: starts reading after uv_accept.
  Status Start();
  uv_tcp_t* tcp() { return &tcp_; }
  const std::string& peer() const { return peer_; }

  // Loop thread.
  void OnHeartbeat(int64_t now);
  void StopReading();
  void SayGoodbye(std::string_view reason);
  // Writes `status` as a connection-level error, then closes.
  void FailAndClose(const Status& status);
  // Closes at once, dropping unwritten output.
  void Abort();

 private:
  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnWritten(uv_write_t* req, int status);
  static void OnClosed(uv_handle_t* handle);

  void HandleBytes(const char* data, size_t size);
  Status HandleFrame(const Frame& frame);
  Status HandleHello(const Frame& frame);
  Status HandlePublish(const Frame& frame);
  // Publishes the publish frames gathered since the last call in one
  // hand-off to the mesh.
  void PublishGathered();
  Status HandlePublishBatch(const Frame& frame);
  Status HandleSubscribe(const Frame& frame);
  Status HandleUnsubscribe(const Frame& frame);
  Status HandleCredit(const Frame& frame);
  Status HandleAck(const Frame& frame);
  Status HandleNack(const Frame& frame);
  // Acks or nacks the deliveries of `tokens` and answers `request_id` (0:
  // no answer) with the first error.
  void Settle(uint64_t request_id,
              const std::vector<std::pair<uint64_t, Settlement>>& tokens);
  Status HandleRead(const Frame& frame);
  Status HandleAdmin(const Frame& frame);

  // Any thread: output.
  void AppendLocked(FrameType type, uint64_t request_id, std::string_view body);
  void AppendErrorLocked(uint64_t request_id, const Status& status);
  void ReplyError(uint64_t request_id, const Status& status);
  void ScheduleFlushLocked();
  void CutOffLocked(const Status& status);
  size_t PendingBytesLocked() const;

  // Mesh threads: publishes completed; deliveries arrived.
  void OnPublished(const std::vector<uint64_t>& request_ids,
                   const std::vector<Result<uint64_t>>& results);
  void OnDeliveries(const std::shared_ptr<ServerSub>& sub,
                    const std::vector<Delivery>& deliveries);
  void SendWithinCreditLocked(ServerSub* sub);
  void EncodeDeliveriesLocked(ServerSub* sub, const Delivery* deliveries,
                              size_t n);
  void AppendDeliveryLocked(ServerSub* sub, const Delivery& delivery,
                            DeliverWriter* writer);

  // Loop thread: writing and closing.
  void Flush();
  void ApplyBackpressure();
  void Close();
  void Teardown();

  TcpServer* server_;
  uv_tcp_t tcp_;
  uv_write_t write_req_;
  std::shared_ptr<Connection> self_while_open_;  // released by OnClosed
  std::string peer_;

  // Loop thread only.
  FrameDecoder decoder_;
  bool hello_done_ = false;
  bool closing_ = false;
  bool reading_ = false;       // uv_read_start is in effect
  bool read_stopped_ = false;  // for good: shutdown or closing
  bool paused_ = false;        // by backpressure, until output drains
  bool close_after_flush_ = false;
  const UserConfig* user_ = nullptr;
  int64_t opened_at_ = 0;
  int64_t last_read_ = 0;
  int64_t last_write_ = 0;
  std::string writing_;  // the bytes of the write in progress
  std::unordered_map<uint64_t, std::shared_ptr<ServerSub>> subs_;
  // Publish frames of the current read, not yet handed to the mesh: the
  // events, their request ids and their common durability.
  std::vector<Event> gathered_;
  std::vector<uint64_t> gathered_ids_;
  std::optional<Durability> gathered_durability_;

  // Shared with mesh and worker threads.
  mutable std::mutex mu_;
  std::string out_;           // frames not yet handed to uv_write
  size_t writing_bytes_ = 0;  // size of writing_
  size_t held_bytes_ = 0;     // encoded size of held deliveries
  bool flush_posted_ = false;
  bool closed_ = false;  // output no longer accepted
  uint64_t next_token_ = 0;
  std::unordered_map<uint64_t, Delivery> unacked_;
};

Connection::Connection(TcpServer* server)
    : server_(server), decoder_(server->options().max_frame_bytes) {
  tcp_.data = this;
  write_req_.data = this;
}

Connection::~Connection() = default;

Status Connection::Start() {
  self_while_open_ = shared_from_this();
  sockaddr_storage addr;
  int len = sizeof(addr);
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&addr), &len) ==
      0) {
    peer_ = FormatAddress(reinterpret_cast<sockaddr*>(&addr));
  }
  uv_tcp_nodelay(&tcp_, 1);
  opened_at_ = last_read_ = last_write_ = MonotonicNanos();
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_),
                         &Connection::OnAlloc, &Connection::OnRead);
  if (rc != 0) return UvStatus(rc, "start reading from " + peer_);
  reading_ = true;
  return Status::Ok();
}

// --- reading -----------------------------------------------------------------

void Connection::OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  // One buffer for the whole loop: a connection keeps only the bytes of
  // partial frames, so idle connections cost little memory.
  auto* self = static_cast<Connection*>(handle->data);
  buf->base = self->server_->read_buffer();
  buf->len = self->server_->read_buffer_size();
}

void Connection::OnRead(uv_stream_t* stream, ssize_t nread,
                        const uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(stream->data);
  if (nread < 0) {
    if (nread != UV_EOF) {
      EM_LOG(kDebug, "net",
             "read from " << self->peer_ << " failed: " << uv_strerror(nread));
    }
    self->Close();
    return;
  }
  if (nread == 0 || self->closing_) return;
  self->last_read_ = MonotonicNanos();
  self->HandleBytes(buf->base, static_cast<size_t>(nread));
}

void Connection::HandleBytes(const char* data, size_t size) {
  auto keep = shared_from_this();
  decoder_.Append(std::string_view(data, size));
  Frame frame;
  while (!closing_ && !close_after_flush_) {
    Result<bool> next = decoder_.Next(&frame);
    if (!next.ok()) {
      PublishGathered();
      FailAndClose(next.status());
      break;
    }
    if (!*next) break;
    // Publishes stay in order with everything else the client sends.
    if (frame.type != FrameType::kPublish) PublishGathered();
    Status status = HandleFrame(frame);
    if (!status.ok()) {
      PublishGathered();
      FailAndClose(status);
      break;
    }
  }
  PublishGathered();
  Flush();
  ApplyBackpressure();
}

// Dispatches one frame. A non-OK return is a connection-level error (the
// connection is closed); per-request errors are answered in place.
Status Connection::HandleFrame(const Frame& frame) {
  if (!hello_done_ && frame.type != FrameType::kHello) {
    return FailedPrecondition(std::string("expected hello, got ") +
                              FrameTypeName(frame.type));
  }
  switch (frame.type) {
    case FrameType::kHello:
      return HandleHello(frame);
    case FrameType::kPing: {
      std::lock_guard<std::mutex> lock(mu_);
      AppendLocked(FrameType::kPong, frame.request_id, {});
      return Status::Ok();
    }
    case FrameType::kPong:
      return Status::Ok();
    case FrameType::kPublish:
      return HandlePublish(frame);
    case FrameType::kPublishBatch:
      return HandlePublishBatch(frame);
    case FrameType::kSubscribe:
      return HandleSubscribe(frame);
    case FrameType::kUnsubscribe:
      return HandleUnsubscribe(frame);
    case FrameType::kCredit:
      return HandleCredit(frame);
    case FrameType::kAck:
      return HandleAck(frame);
    case FrameType::kNack:
      return HandleNack(frame);
    case FrameType::kRead:
      return HandleRead(frame);
    case FrameType::kTopics:
    case FrameType::kGroups:
    case FrameType::kStats:
    case FrameType::kRepublishDead:
    case FrameType::kDeleteTopic:
    case FrameType::kSeekGroup:
      return HandleAdmin(frame);
    case FrameType::kGoodbye:
      close_after_flush_ = true;
      return Status::Ok();
    default:
      return InvalidArgument(std::string("a client may not send ") +
                             FrameTypeName(frame.type) + " frames");
  }
}

Status Connection::HandleHello(const Frame& frame) {
  if (hello_done_) return FailedPrecondition("hello sent twice");
  HelloBody hello;
  EM_RETURN_IF_ERROR(DecodeHello(frame.body, &hello));
  bool speaks_ours = false;
  for (uint64_t v : hello.versions) speaks_ours |= v == kProtocolVersion;
  if (!speaks_ours) {
    return FailedPrecondition("no common protocol version: server speaks " +
                              std::to_string(kProtocolVersion) + ".." +
                              std::to_string(kProtocolVersion));
  }
  EM_ASSIGN_OR_RETURN(user_, server_->auth().Authenticate(
                                 hello.token, hello.user, hello.password));
  hello_done_ = true;

  WelcomeBody welcome;
  welcome.heartbeat_ms =
      static_cast<uint64_t>(server_->options().heartbeat.count());
  welcome.max_frame_bytes = server_->options().max_frame_bytes;
  welcome.node_id = server_->mesh()->node_id();
  welcome.server = std::string("eventmesh ") + EVENTMESH_VERSION_STRING;
  welcome.user = user_ ? user_->name : "";
  std::string body;
  EncodeWelcome(welcome, &body);
  std::lock_guard<std::mutex> lock(mu_);
  AppendLocked(FrameType::kWelcome, 0, body);
  return Status::Ok();
}

// --- publishing --------------------------------------------------------------

namespace {
// Decodes and checks one event to publish into `*event`, which is
// default-constructed; errors answer the request.
Status PrepareEvent(std::string_view topic, std::string_view bytes,
                    Event* event) {
  EM_RETURN_IF_ERROR(ValidateTopic(topic));
  EM_RETURN_IF_ERROR(internal::DecodeBinaryInto(bytes, event));
  event->topic.assign(topic);
  return Status::Ok();
}
}  // namespace

Status Connection::HandlePublish(const Frame& frame) {
  PublishBody body;
  EM_RETURN_IF_ERROR(DecodePublish(frame.body, &body));
  PublishOptions options;
  Status status = DurabilityFromWire(body.durability, &options.durability);
  if (status.ok() && !gathered_.empty() &&
      gathered_durability_ != options.durability) {
    PublishGathered();
  }
  // Decoded where it will wait for the rest of the read: an Event is a
  // dozen strings, and moving it in would copy each.
  if (status.ok()) {
    status = PrepareEvent(body.topic, body.event, &gathered_.emplace_back());
    if (status.ok()) status = server_->auth().MayPublish(user_, body.topic);
    if (!status.ok()) gathered_.pop_back();
  }
  if (!status.ok()) {
    ReplyError(frame.request_id, status);
    return Status::Ok();
  }
  gathered_durability_ = options.durability;
  gathered_ids_.push_back(frame.request_id);
  if (gathered_.size() >= kMaxGatheredPublishes) PublishGathered();
  return Status::Ok();
}

void Connection::PublishGathered() {
  if (gathered_.empty()) return;
  PublishOptions options;
  options.durability = gathered_durability_;
  std::vector<Event> events;
  events.swap(gathered_);
  std::vector<uint64_t> ids;
  ids.swap(gathered_ids_);
  gathered_.reserve(events.size());
  gathered_ids_.reserve(ids.size());
  server_->PublishStarted();
  server_->mesh()->PublishEachAsync(
      std::move(events),
      [self = shared_from_this(),
       ids = std::move(ids)](std::vector<Result<uint64_t>>& results) {
        self->OnPublished(ids, results);
      },
      options);
}

void Connection::OnPublished(const std::vector<uint64_t>& request_ids,
                             const std::vector<Result<uint64_t>>& results) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < results.size(); ++i) {
      if (!results[i].ok()) {
        AppendErrorLocked(request_ids[i], results[i].status());
      } else if (!closed_) {
        // Encoded straight into the output: no temporary per ack.
        size_t start = BeginFrame(FrameType::kPubAck, request_ids[i], &out_);
        EncodeVarintBody(*results[i], &out_);
        FinishFrame(start, &out_);
      }
    }
    if (!closed_) ScheduleFlushLocked();
  }
  server_->PublishFinished();
}

Status Connection::HandlePublishBatch(const Frame& frame) {
  PublishBatchBody body;
  EM_RETURN_IF_ERROR(DecodePublishBatch(frame.body, &body));
  PublishOptions options;
  Status status = DurabilityFromWire(body.durability, &options.durability);
  std::vector<Event> events(body.events.size());
  // All or nothing: check every event before publishing any.
  for (size_t i = 0; status.ok() && i < events.size(); ++i) {
    const auto& [topic, bytes] = body.events[i];
    status = PrepareEvent(topic, bytes, &events[i]);
    if (status.ok()) status = server_->auth().MayPublish(user_, topic);
    if (status.ok()) status = events[i].Validate();
    if (!status.ok()) status = status.WithContext("event " + std::to_string(i));
  }
  if (!status.ok() || events.empty()) {
    if (status.ok()) status = InvalidArgument("publish_batch with no events");
    ReplyError(frame.request_id, status);
    return Status::Ok();
  }
  uint64_t id = frame.request_id;
  server_->PublishStarted();
  server_->mesh()->PublishEachAsync(
      std::move(events),
      [self = shared_from_this(), id](std::vector<Result<uint64_t>>& results) {
        std::vector<uint64_t> sequences;
        sequences.reserve(results.size());
        Status first_error;
        for (size_t i = 0; i < results.size() && first_error.ok(); ++i) {
          if (results[i].ok()) {
            sequences.push_back(*results[i]);
          } else {
            first_error =
                results[i].status().WithContext("event " + std::to_string(i));
          }
        }
        std::string out;
        {
          std::lock_guard<std::mutex> lock(self->mu_);
          if (first_error.ok()) {
            EncodeSequences(sequences, &out);
            self->AppendLocked(FrameType::kPubAckBatch, id, out);
          } else {
            self->AppendErrorLocked(id, first_error);
          }
        }
        self->server_->PublishFinished();
      },
      options);
  return Status::Ok();
}

// --- subscriptions -----------------------------------------------------------

Status Connection::HandleSubscribe(const Frame& frame) {
  SubscribeBody body;
  Status status = DecodeSubscribe(frame.body, &body);
  if (!status.ok() && status.message().find("malformed") == 0) return status;
  if (status.ok() && subs_.count(body.sub_id) != 0) {
    status = AlreadyExists("subscription id " + std::to_string(body.sub_id) +
                           " is in use on this connection");
  }
  if (status.ok() &&
      subs_.size() >= server_->options().max_subscriptions_per_connection) {
    status = ResourceExhausted(
        "this connection has " + std::to_string(subs_.size()) +
        " subscriptions, the limit (limits.max_subscriptions_per_connection)");
  }
  if (status.ok()) status = ValidatePattern(body.pattern);
  if (status.ok()) status = server_->auth().MaySubscribe(user_, body.pattern);
  if (!status.ok()) {
    ReplyError(frame.request_id, status);
    return Status::Ok();
  }

  auto sub = std::make_shared<ServerSub>();
  sub->sub_id = body.sub_id;
  sub->durable = !body.options.durable.empty();
  sub->credit = body.credit;
  // Over the network the client acks durable deliveries itself.
  SubscribeOptions options = body.options;
  if (sub->durable) options.manual_ack = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    subs_[body.sub_id] = sub;
  }
  auto subscription = server_->mesh()->SubscribeBatch(
      body.pattern,
      [self = shared_from_this(), sub](const std::vector<Delivery>& batch) {
        self->OnDeliveries(sub, batch);
      },
      options);
  if (!subscription.ok()) {
    subs_.erase(body.sub_id);
    ReplyError(frame.request_id, subscription.status());
    return Status::Ok();
  }
  sub->subscription = std::move(subscription).value();
  std::lock_guard<std::mutex> lock(mu_);
  AppendLocked(FrameType::kOk, frame.request_id, {});
  return Status::Ok();
}

Status Connection::HandleUnsubscribe(const Frame& frame) {
  uint64_t sub_id = 0;
  EM_RETURN_IF_ERROR(DecodeVarintBody(frame.body, "unsubscribe", &sub_id));
  auto it = subs_.find(sub_id);
  if (it == subs_.end()) {
    ReplyError(frame.request_id,
               NotFound("no subscription " + std::to_string(sub_id)));
    return Status::Ok();
  }
  std::shared_ptr<ServerSub> sub = it->second;
  subs_.erase(it);
  // No handler of it runs after this returns. Destroying it also frees
  // the handler, which holds `sub` (a cycle otherwise).
  sub->subscription->Unsubscribe().IgnoreError();
  sub->subscription.reset();
  std::vector<Delivery> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (HeldDelivery& h : sub->held) {
      held_bytes_ -= std::min(held_bytes_, h.bytes);
      if (sub->durable) dropped.push_back(std::move(h.delivery));
    }
    sub->held.clear();
    AppendLocked(FrameType::kOk, frame.request_id, {});
  }
  if (!dropped.empty()) {
    server_->worker()->Post([dropped = std::move(dropped)] {
      for (const Delivery& d : dropped) d.Nack().IgnoreError();
    });
  }
  return Status::Ok();
}

Status Connection::HandleCredit(const Frame& frame) {
  CreditBody body;
  EM_RETURN_IF_ERROR(DecodeCredit(frame.body, &body));
  auto it = subs_.find(body.sub_id);
  if (it == subs_.end()) return Status::Ok();  // raced with unsubscribe
  std::lock_guard<std::mutex> lock(mu_);
  ServerSub* sub = it->second.get();
  sub->credit += body.credit;
  SendWithinCreditLocked(sub);
  return Status::Ok();
}

void Connection::OnDeliveries(const std::shared_ptr<ServerSub>& sub,
                              const std::vector<Delivery>& deliveries) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) {
    // Teardown nacks what it finds held; keep durable ones for it.
    if (sub->durable) {
      for (const Delivery& d : deliveries) sub->held.push_back({d, 0});
    }
    return;
  }
  // Within credit and with nothing held before them, deliveries are
  // encoded straight into the output: no queueing and no size accounting
  // per event. Only what exceeds the credit is held.
  size_t direct = 0;
  if (sub->held.empty() && sub->credit > 0) {
    direct =
        static_cast<size_t>(std::min<uint64_t>(sub->credit, deliveries.size()));
    EncodeDeliveriesLocked(sub.get(), deliveries.data(), direct);
  }
  for (size_t i = direct; i < deliveries.size(); ++i) {
    size_t bytes = deliveries[i].event().ByteSize();
    sub->held.push_back({deliveries[i], bytes});
    held_bytes_ += bytes;
  }
  SendWithinCreditLocked(sub.get());
  if (PendingBytesLocked() > server_->options().max_pending_bytes) {
    CutOffLocked(ResourceExhausted(
        "slow consumer: " + std::to_string(PendingBytesLocked()) +
        " bytes pending exceed limits.max_pending_bytes (" +
        std::to_string(server_->options().max_pending_bytes) + ")"));
  }
}

// Encodes `n` deliveries the credit covers into deliver frames.
void Connection::EncodeDeliveriesLocked(ServerSub* sub,
                                        const Delivery* deliveries, size_t n) {
  if (n == 0) return;
  // Frames stay under the frame limit (a single larger event goes alone).
  const size_t frame_budget = server_->options().max_frame_bytes / 2;
  DeliverWriter writer = BeginDeliver(sub->sub_id, &out_);
  for (size_t i = 0; i < n; ++i) {
    if (writer.count > 0 && out_.size() - writer.frame_start > frame_budget) {
      FinishDeliver(writer, &out_);
      writer = BeginDeliver(sub->sub_id, &out_);
    }
    AppendDeliveryLocked(sub, deliveries[i], &writer);
  }
  FinishDeliver(writer, &out_);
  sub->credit -= n;
  ScheduleFlushLocked();
}

// Moves held deliveries into one deliver frame, as far as credit allows.
void Connection::SendWithinCreditLocked(ServerSub* sub) {
  if (sub->held.empty() || sub->credit == 0 || closed_) return;
  // Frames stay under the frame limit (a single larger event goes alone).
  const size_t frame_budget = server_->options().max_frame_bytes / 2;
  DeliverWriter writer = BeginDeliver(sub->sub_id, &out_);
  while (!sub->held.empty() && sub->credit > 0) {
    if (writer.count > 0 && out_.size() - writer.frame_start > frame_budget) {
      FinishDeliver(writer, &out_);
      writer = BeginDeliver(sub->sub_id, &out_);
    }
    AppendDeliveryLocked(sub, sub->held.front().delivery, &writer);
    held_bytes_ -= std::min(held_bytes_, sub->held.front().bytes);
    sub->held.pop_front();
    --sub->credit;
  }
  FinishDeliver(writer, &out_);
  ScheduleFlushLocked();
}

void Connection::AppendDeliveryLocked(ServerSub* sub, const Delivery& delivery,
                                      DeliverWriter* writer) {
  uint64_t token = 0;
  if (sub->durable) {
    token = ++next_token_;
    unacked_.emplace(token, delivery);
  }
  AppendDelivery(token, delivery.attempt(), delivery.event(), writer, &out_);
}

// --- acks --------------------------------------------------------------------

namespace {
// Finds and removes the deliveries behind `tokens`.
// Moves the unacknowledged deliveries of `tokens` (one settlement per token,
// in order) out of `*unacked`. A token not found is skipped; the first one
// makes the result kNotFound.
Status TakeDeliveries(
    std::unordered_map<uint64_t, Delivery>* unacked,
    const std::vector<std::pair<uint64_t, Settlement>>& tokens,
    std::vector<std::pair<Delivery, Settlement>>* out) {
  Status status;
  for (const auto& [token, settlement] : tokens) {
    auto it = unacked->find(token);
    if (it == unacked->end()) {
      if (status.ok()) {
        status = NotFound("no unacknowledged delivery with token " +
                          std::to_string(token) + " on this connection");
      }
      continue;
    }
    out->emplace_back(std::move(it->second), settlement);
    unacked->erase(it);
  }
  return status;
}
}  // namespace

Status Connection::HandleAck(const Frame& frame) {
  std::vector<uint64_t> tokens;
  EM_RETURN_IF_ERROR(DecodeAck(frame.body, &tokens));
  std::vector<std::pair<uint64_t, Settlement>> settlements;
  settlements.reserve(tokens.size());
  for (uint64_t token : tokens) settlements.push_back({token, Settlement{}});
  Settle(frame.request_id, settlements);
  return Status::Ok();
}

Status Connection::HandleNack(const Frame& frame) {
  NackList nacks;
  EM_RETURN_IF_ERROR(DecodeNack(frame.body, &nacks));
  std::vector<std::pair<uint64_t, Settlement>> settlements;
  settlements.reserve(nacks.size());
  for (const auto& [token, delay_ms] : nacks) {
    std::chrono::milliseconds delay(
        static_cast<int64_t>(std::min<uint64_t>(delay_ms, uint64_t{1} << 40)));
    settlements.push_back({token, Settlement{true, delay}});
  }
  Settle(frame.request_id, settlements);
  return Status::Ok();
}

void Connection::Settle(
    uint64_t request_id,
    const std::vector<std::pair<uint64_t, Settlement>>& tokens) {
  std::vector<std::pair<Delivery, Settlement>> deliveries;
  Status found;
  {
    std::lock_guard<std::mutex> lock(mu_);
    found = TakeDeliveries(&unacked_, tokens, &deliveries);
  }
  // Acks wait for the store: on the worker, never on the loop thread.
  server_->worker()->Post([self = shared_from_this(), id = request_id, found,
                           deliveries = std::move(deliveries)] {
    Status status = found;
    for (const auto& [delivery, settlement] : deliveries) {
      Status s =
          settlement.nack ? delivery.Nack(settlement.delay) : delivery.Ack();
      if (status.ok() && !s.ok()) status = s;
    }
    if (id == 0) return;
    std::lock_guard<std::mutex> lock(self->mu_);
    if (status.ok()) {
      self->AppendLocked(FrameType::kOk, id, {});
    } else {
      self->AppendErrorLocked(id, status);
    }
  });
}

// --- read and admin ----------------------------------------------------------

Status Connection::HandleRead(const Frame& frame) {
  ReadBody body;
  EM_RETURN_IF_ERROR(DecodeRead(frame.body, &body));
  Status allowed = server_->auth().MaySubscribe(user_, body.topic);
  if (!allowed.ok()) {
    ReplyError(frame.request_id, allowed);
    return Status::Ok();
  }
  uint64_t id = frame.request_id;
  size_t max_events =
      static_cast<size_t>(std::min<uint64_t>(body.max_events, 1u << 20));
  server_->worker()->Post([self = shared_from_this(), id,
                           body = std::move(body), max_events] {
    auto events =
        self->server_->mesh()->Read(body.topic, body.from_sequence, max_events);
    std::string out;
    if (events.ok()) EncodeEvents(*events, &out);
    // Keep the answer under the client's frame limit.
    if (events.ok() && out.size() > self->server_->options().max_frame_bytes) {
      events = Result<std::vector<Event>>(ResourceExhausted(
          "read answer exceeds the frame limit; ask for fewer events"));
    }
    std::lock_guard<std::mutex> lock(self->mu_);
    if (events.ok()) {
      self->AppendLocked(FrameType::kReadResult, id, out);
    } else {
      self->AppendErrorLocked(id, events.status());
    }
  });
  return Status::Ok();
}

Status Connection::HandleAdmin(const Frame& frame) {
  std::string name;  // the durable, or the topic for delete_topic
  SeekGroupBody seek;
  if (frame.type == FrameType::kRepublishDead) {
    EM_RETURN_IF_ERROR(DecodeStringBody(frame.body, "republish_dead", &name));
  } else if (frame.type == FrameType::kDeleteTopic) {
    EM_RETURN_IF_ERROR(DecodeStringBody(frame.body, "delete_topic", &name));
  } else if (frame.type == FrameType::kSeekGroup) {
    EM_RETURN_IF_ERROR(DecodeSeekGroup(frame.body, &seek));
  } else if (!frame.body.empty()) {
    return InvalidArgument(std::string("malformed ") +
                           FrameTypeName(frame.type) +
                           " frame: trailing bytes");
  }
  Status allowed = server_->auth().MayAdmin(user_, FrameTypeName(frame.type));
  if (!allowed.ok()) {
    ReplyError(frame.request_id, allowed);
    return Status::Ok();
  }
  uint64_t id = frame.request_id;
  FrameType type = frame.type;
  server_->worker()->Post([self = shared_from_this(), id, type, name, seek] {
    Mesh* mesh = self->server_->mesh();
    std::string out;
    Status status;
    FrameType reply = FrameType::kCountResult;
    if (type == FrameType::kTopics) {
      auto r = mesh->Topics();
      status = r.status();
      if (r.ok()) EncodeTopics(*r, &out);
      reply = FrameType::kTopicsResult;
    } else if (type == FrameType::kGroups) {
      auto r = mesh->Groups();
      status = r.status();
      if (r.ok()) EncodeGroups(*r, &out);
      reply = FrameType::kGroupsResult;
    } else if (type == FrameType::kStats) {
      auto r = mesh->Stats();
      status = r.status();
      if (r.ok()) EncodeStats(*r, &out);
      reply = FrameType::kStatsResult;
    } else if (type == FrameType::kDeleteTopic) {
      status = mesh->DeleteTopic(name);
      reply = FrameType::kOk;
    } else if (type == FrameType::kSeekGroup) {
      status = mesh->SeekGroup(seek.durable, seek.position);
      reply = FrameType::kOk;
    } else {
      auto r = mesh->RepublishDeadLetters(name);
      status = r.status();
      if (r.ok()) EncodeVarintBody(*r, &out);
    }
    std::lock_guard<std::mutex> lock(self->mu_);
    if (status.ok()) {
      self->AppendLocked(reply, id, out);
    } else {
      self->AppendErrorLocked(id, status);
    }
  });
  return Status::Ok();
}

// --- output ------------------------------------------------------------------

void Connection::AppendLocked(FrameType type, uint64_t request_id,
                              std::string_view body) {
  if (closed_) return;
  AppendFrame(type, request_id, body, &out_);
  ScheduleFlushLocked();
}

void Connection::AppendErrorLocked(uint64_t request_id, const Status& status) {
  if (closed_) return;
  AppendErrorFrame(request_id, status, &out_);
  ScheduleFlushLocked();
}

void Connection::ReplyError(uint64_t request_id, const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  AppendErrorLocked(request_id, status);
}

// One posted flush per connection at a time, however many frames arrive
// before it runs.
void Connection::ScheduleFlushLocked() {
  if (flush_posted_) return;
  flush_posted_ = true;
  server_->loop()->Post([self = shared_from_this()] { self->Flush(); });
}

size_t Connection::PendingBytesLocked() const {
  return out_.size() + writing_bytes_ + held_bytes_;
}

// Any thread: the client is too slow; write the reason and close.
void Connection::CutOffLocked(const Status& status) {
  EM_LOG(kWarn, "net", "cutting off " << peer_ << ": " << status.message());
  out_.clear();
  AppendErrorFrame(0, status, &out_);
  closed_ = true;
  server_->loop()->Post([self = shared_from_this()] {
    self->close_after_flush_ = true;
    self->StopReading();
    self->Flush();
  });
}

void Connection::Flush() {
  if (closing_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    flush_posted_ = false;
    if (!writing_.empty()) return;  // OnWritten flushes again
    writing_.swap(out_);
    writing_bytes_ = writing_.size();
  }
  if (writing_.empty()) {
    if (close_after_flush_) Close();
    return;
  }
  uv_buf_t buf =
      uv_buf_init(writing_.data(), static_cast<unsigned>(writing_.size()));
  int rc = uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1,
                    &Connection::OnWritten);
  if (rc != 0) {
    writing_.clear();
    Close();
    return;
  }
  last_write_ = MonotonicNanos();
}

void Connection::OnWritten(uv_write_t* req, int status) {
  auto* self = static_cast<Connection*>(req->data);
  self->writing_.clear();
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    self->writing_bytes_ = 0;
  }
  if (status != 0) {
    self->Close();
    return;
  }
  self->Flush();
  self->ApplyBackpressure();
}

// A client that does not read what it is sent stops being read, so its
// answers and deliveries cannot grow the server's memory without bound.
void Connection::ApplyBackpressure() {
  if (closing_) return;
  size_t pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending = out_.size() + writing_bytes_;
  }
  size_t high = server_->options().max_pending_bytes / 2;
  if (reading_ && pending > high) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
    paused_ = true;
  } else if (paused_ && pending <= high / 4 && !read_stopped_) {
    paused_ = false;
    reading_ = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_),
                             &Connection::OnAlloc, &Connection::OnRead) == 0;
  }
}

// --- lifecycle ---------------------------------------------------------------

void Connection::OnHeartbeat(int64_t now) {
  if (closing_) return;
  const auto& o = server_->options();
  int64_t heartbeat = std::chrono::nanoseconds(o.heartbeat).count();
  if (!hello_done_ &&
      now - opened_at_ > std::chrono::nanoseconds(o.hello_timeout).count()) {
    FailAndClose(Timeout("no hello within " +
                         std::to_string(o.hello_timeout.count()) + " ms"));
    return;
  }
  if (now - last_read_ > 3 * heartbeat) {
    EM_LOG(kInfo, "net", peer_ << " sent nothing for 3 heartbeats; closing");
    Abort();
    return;
  }
  if (hello_done_ && now - last_write_ >= heartbeat) {
    std::lock_guard<std::mutex> lock(mu_);
    AppendLocked(FrameType::kPing, 0, {});
  }
}

void Connection::StopReading() {
  read_stopped_ = true;
  paused_ = false;
  if (reading_ && !closing_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
  }
}

void Connection::SayGoodbye(std::string_view reason) {
  std::string body;
  EncodeStringBody(reason, &body);
  {
    std::lock_guard<std::mutex> lock(mu_);
    AppendLocked(FrameType::kGoodbye, 0, body);
    closed_ = true;
  }
  close_after_flush_ = true;
  Flush();
}

void Connection::FailAndClose(const Status& status) {
  if (closing_) return;
  EM_LOG(kInfo, "net", "closing " << peer_ << ": " << status.ToString());
  {
    std::lock_guard<std::mutex> lock(mu_);
    AppendErrorLocked(0, status);
    closed_ = true;
  }
  StopReading();
  close_after_flush_ = true;
  Flush();
}

void Connection::Abort() { Close(); }

void Connection::Close() {
  if (closing_) return;
  closing_ = true;
  reading_ = false;
  Teardown();
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::OnClosed);
}

// Ends every subscription and hands unacknowledged durable deliveries
// back to the mesh at once, so another member gets them without waiting
// for ack_wait.
void Connection::Teardown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  for (auto& [id, sub] : subs_) {
    (void)id;
    sub->subscription->Unsubscribe().IgnoreError();
    sub->subscription.reset();  // frees the handler holding this connection
  }
  std::vector<Delivery> back;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, sub] : subs_) {
      (void)id;
      if (sub->durable) {
        for (HeldDelivery& h : sub->held) back.push_back(std::move(h.delivery));
      }
      sub->held.clear();
    }
    for (auto& [token, d] : unacked_) {
      (void)token;
      back.push_back(std::move(d));
    }
    unacked_.clear();
    held_bytes_ = 0;
  }
  subs_.clear();
  if (!back.empty()) {
    server_->worker()->Post([back = std::move(back)] {
      for (const Delivery& d : back) d.Nack().IgnoreError();
    });
  }
}

void Connection::OnClosed(uv_handle_t* handle) {
  auto* self = static_cast<Connection*>(handle->data);
  auto keep = std::move(self->self_while_open_);
  self->server_->Remove(self);
}

// --- TcpServer ---------------------------------------------------------------

TcpServer::TcpServer(EventLoop* loop, Mesh* mesh, TcpServerOptions options)
    : loop_(loop),
      mesh_(mesh),
      options_(std::move(options)),
      auth_(options_.users),
      read_buffer_(64 * 1024) {}

TcpServer::~TcpServer() { Stop(); }

Status TcpServer::Start() {
  if (started_) return FailedPrecondition("server already started");
  EM_RETURN_IF_ERROR(auth_.Validate());
  sockaddr_storage addr;
  EM_RETURN_IF_ERROR(ParseHostPort(options_.listen, &addr));
  Status status;
  bool ran = loop_->RunSync([&] {
    listener_ = new uv_tcp_t;
    uv_tcp_init(loop_->loop(), listener_);
    listener_->data = this;
    int rc = uv_tcp_bind(listener_, reinterpret_cast<sockaddr*>(&addr), 0);
    if (rc == 0) {
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_), 1024,
                     &TcpServer::OnConnection);
    }
    if (rc != 0) {
      status = UvStatus(rc, "cannot listen on " + options_.listen);
      uv_close(reinterpret_cast<uv_handle_t*>(listener_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
      listener_ = nullptr;
      return;
    }
    sockaddr_storage bound;
    int len = sizeof(bound);
    uv_tcp_getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &len);
    address_ = FormatAddress(reinterpret_cast<sockaddr*>(&bound));
    timer_ = new uv_timer_t;
    uv_timer_init(loop_->loop(), timer_);
    timer_->data = this;
    uint64_t tick = std::max<int64_t>(options_.heartbeat.count() / 2, 10);
    uv_timer_start(timer_, &TcpServer::OnTimer, tick, tick);
  });
  if (!ran) return FailedPrecondition("the event loop is not running");
  if (!status.ok()) return status;
  started_ = true;
  EM_LOG(kDebug, "net", "listening tcp " << address_);
  return Status::Ok();
}

std::string TcpServer::address() const { return address_; }

void TcpServer::OnConnection(uv_stream_t* listener, int status) {
  auto* self = static_cast<TcpServer*>(listener->data);
  if (status != 0) {
    EM_LOG(kWarn, "net", "accept failed: " << uv_strerror(status));
    return;
  }
  self->Accept();
}

void TcpServer::Accept() {
  auto connection = std::make_shared<Connection>(this);
  uv_tcp_init(loop_->loop(), connection->tcp());
  int rc = uv_accept(reinterpret_cast<uv_stream_t*>(listener_),
                     reinterpret_cast<uv_stream_t*>(connection->tcp()));
  connections_[connection.get()] = connection;
  connections_count_.store(connections_.size());
  Status status =
      rc == 0 ? connection->Start() : UvStatus(rc, "accepting a connection");
  if (status.ok() && connections_.size() > options_.max_connections) {
    status = ResourceExhausted(
        "the server has " + std::to_string(options_.max_connections) +
        " connections, its limit (limits.max_connections)");
  }
  if (!status.ok()) connection->FailAndClose(status);
}

void TcpServer::Remove(Connection* connection) {
  connections_.erase(connection);
  connections_count_.store(connections_.size());
}

void TcpServer::OnTimer(uv_timer_t* timer) {
  static_cast<TcpServer*>(timer->data)->Heartbeat();
}

void TcpServer::Heartbeat() {
  int64_t now = MonotonicNanos();
  std::vector<std::shared_ptr<Connection>> all;
  all.reserve(connections_.size());
  for (auto& [raw, connection] : connections_) {
    (void)raw;
    all.push_back(connection);
  }
  for (auto& connection : all) connection->OnHeartbeat(now);
}

void TcpServer::PublishFinished() {
  if (in_flight_publishes_.fetch_sub(1) == 1) {
    std::lock_guard<std::mutex> lock(drain_mu_);
    drain_cv_.notify_all();
  }
}

bool TcpServer::WaitFor(const std::function<bool()>& done,
                        std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(drain_mu_);
  return drain_cv_.wait_for(lock, timeout, done);
}

void TcpServer::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  // Stop accepting and reading: no new publishes from here on.
  loop_->RunSync([&] {
    uv_close(reinterpret_cast<uv_handle_t*>(listener_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    listener_ = nullptr;
    for (auto& [raw, connection] : connections_) {
      (void)raw;
      connection->StopReading();
    }
  });
  if (!WaitFor([&] { return in_flight_publishes_.load() == 0; },
               options_.drain_timeout)) {
    EM_LOG(kWarn, "net",
           in_flight_publishes_.load()
               << " publishes still unanswered at shutdown");
  }
  // Let the acks just appended reach the loop before the goodbyes.
  loop_->RunSync([&] {
    std::vector<std::shared_ptr<Connection>> all;
    for (auto& [raw, connection] : connections_) {
      (void)raw;
      all.push_back(connection);
    }
    for (auto& connection : all) connection->SayGoodbye("server stopping");
  });
  // Give the goodbyes a moment to be written, then close what remains.
  for (int i = 0; i < 100 && connection_count() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  loop_->RunSync([&] {
    std::vector<std::shared_ptr<Connection>> all;
    for (auto& [raw, connection] : connections_) {
      (void)raw;
      all.push_back(connection);
    }
    for (auto& connection : all) connection->Abort();
    if (timer_ != nullptr) {
      uv_close(reinterpret_cast<uv_handle_t*>(timer_),
               [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
      timer_ = nullptr;
    }
  });
  worker_.Stop();
}

}  // namespace eventmesh::net
