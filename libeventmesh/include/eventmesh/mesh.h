// Mesh: publish and subscribe CloudEvents.
//
//   auto mesh = eventmesh::Mesh::Open("./data");       // embedded, LMDB
//   auto mesh = eventmesh::Mesh::Open("mem:");         // embedded, memory
//   auto mesh = eventmesh::Mesh::Open("tcp://host:10000");  // a server
//
// The API is the same behind each transport.
//
// Threads. Every Mesh method is thread-safe. Subscriber handlers run on the
// mesh's callback pool, never on the publisher's thread; one subscription's
// handler never runs on two threads at once, and sees the events of one
// topic in sequence order. A handler may publish, ack and unsubscribe; it
// must not block for long, or its subscription falls behind (see
// SubscribeOptions::overflow).
//
// Lifetime. Unsubscribe(), destroying a Subscription, Close() and
// destroying the Mesh all guarantee that no handler of theirs runs after
// they return (called from inside the subscription's own handler, after
// that handler returns). A Subscription must not outlive its Mesh.

#ifndef EVENTMESH_MESH_H_
#define EVENTMESH_MESH_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eventmesh/event.h"
#include "eventmesh/filter.h"
#include "eventmesh/status.h"
#include "eventmesh/store.h"

namespace eventmesh {

struct MeshOptions {
  // Durability of publishes that do not name one.
  Durability durability = Durability::kSync;
  // Threads running subscriber handlers.
  int callback_threads = 1;
  // For embedded meshes: the store's settings.
  StoreOptions store;
  // This node's id; empty picks a random one at open.
  std::string node_id;
  // For tcp:// meshes: credentials (a token, or a user and password).
  std::string token;
  std::string user;
  std::string password;
  // For tcp:// meshes: how long connecting and each call may take before
  // failing with kUnavailable or kTimeout.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds call_timeout{std::chrono::seconds(30)};
};

struct PublishOptions {
  // Empty: the mesh's default.
  std::optional<Durability> durability;
};

// Where a new subscription starts reading.
struct StartPosition {
  enum class Kind { kLatest, kEarliest, kSequence, kTime };
  Kind kind = Kind::kLatest;
  uint64_t sequence = 0;   // with kSequence: per topic, the first delivered
  int64_t unix_nanos = 0;  // with kTime: events stored at or after it

  static StartPosition Latest() { return {}; }
  static StartPosition Earliest() { return {Kind::kEarliest, 0, 0}; }
  static StartPosition Sequence(uint64_t s) { return {Kind::kSequence, s, 0}; }
  static StartPosition Time(int64_t ns) { return {Kind::kTime, 0, ns}; }
  // Parses "latest", "earliest", a sequence number or an RFC 3339 time.
  static Result<StartPosition> Parse(std::string_view text);
};

// What a non-durable subscription does when its queue is full.
enum class OverflowPolicy {
  kBlock,  // the publisher waits up to `block_timeout`, then the event is
           // dropped for this subscription and counted (events from other
           // nodes wait at most half a cluster heartbeat interval)
  kDrop,   // the event is dropped for this subscription and counted
};

struct SubscribeOptions {
  // Members of one group share events: each goes to one member. Without a
  // group every subscriber gets every event.
  std::string group;
  // Non-empty makes the subscription durable under this name: its position
  // and unacknowledged events are kept in the store and survive restarts.
  // Subscriptions with the same durable name share its events like a group.
  // When `group` is also set it must equal `durable`.
  std::string durable;
  StartPosition start;
  // Durable only. False: an event is acknowledged when the handler returns.
  // True: the handler (or later code) calls Delivery::Ack() or Nack().
  bool manual_ack = false;
  // Durable only: redelivery after `ack_wait` without an ack, with the wait
  // doubling on each attempt (capped at 16 x ack_wait); after
  // `max_deliver` attempts (0: never) the event moves to
  // "$DLQ.<durable>.<topic>".
  std::chrono::milliseconds ack_wait{std::chrono::seconds(30)};
  int max_deliver = 5;
  // Durable only: unacknowledged events per member at most.
  size_t max_in_flight = 1024;
  // Non-durable only: events queued for the handler at most, and what
  // happens beyond that.
  size_t max_pending = 65536;
  OverflowPolicy overflow = OverflowPolicy::kBlock;
  std::chrono::milliseconds block_timeout{std::chrono::seconds(1)};
  // Only events the filter matches are delivered (and, when durable, the
  // others are acknowledged at once).
  Filter filter;
};

namespace detail {
// Receives acks for deliveries; implemented by each transport.
class Acker {
 public:
  virtual ~Acker() = default;
  virtual Status Ack(uint64_t token) = 0;
  virtual Status Nack(uint64_t token, std::chrono::milliseconds delay) = 0;
};
}  // namespace detail

// One event handed to a handler. Cheap to copy; copies may be kept after
// the handler returns, to ack later from any thread.
class Delivery {
 public:
  Delivery() = default;
  Delivery(EventPtr event, uint32_t attempt,
           std::shared_ptr<detail::Acker> acker, uint64_t token)
      : event_(std::move(event)),
        acker_(std::move(acker)),
        token_(token),
        attempt_(attempt) {}

  const Event& event() const { return *event_; }
  const EventPtr& event_ptr() const { return event_; }
  // 1 on the first delivery, 2 on the first redelivery, ...
  uint32_t attempt() const { return attempt_; }

  // Acknowledges a durable delivery: it will not be delivered again. OK
  // only once the ack is stored (for an event stored by another node of a
  // mesh of nodes: once the ack is on its way there; docs/cluster.md). For
  // non-durable deliveries: OK, no effect.
  Status Ack() const;
  // Asks for redelivery after `delay` (immediately by default).
  Status Nack(std::chrono::milliseconds delay = {}) const;

 private:
  EventPtr event_;
  std::shared_ptr<detail::Acker> acker_;
  uint64_t token_ = 0;
  uint32_t attempt_ = 1;
};

using Handler = std::function<void(const Delivery&)>;
// Receives several deliveries at once, in order; saves a call per event.
using BatchHandler = std::function<void(const std::vector<Delivery>&)>;

struct SubscriptionStats {
  uint64_t delivered = 0;  // handed to the handler
  uint64_t dropped = 0;    // lost to overflow (non-durable)
  uint64_t pending = 0;    // queued, not yet handed over
  uint64_t in_flight = 0;  // delivered, not yet acknowledged (durable)
  uint64_t acked = 0;
  uint64_t redelivered = 0;
  uint64_t dead_lettered = 0;
};

class Subscription {
 public:
  virtual ~Subscription() = default;
  // Stops delivery. Idempotent. See the lifetime rules at the top.
  virtual Status Unsubscribe() = 0;
  virtual SubscriptionStats Stats() const = 0;
  virtual const std::string& pattern() const = 0;
};

struct GroupInfo {
  std::string name;  // the group or durable name
  std::string pattern;
  bool durable = false;
  uint64_t members = 0;
  uint64_t ack_floor = 0;  // durable: every position below is settled
  uint64_t in_flight = 0;
  uint64_t lag = 0;  // durable: log positions not yet settled
  uint64_t delivered = 0;
  uint64_t redelivered = 0;
  uint64_t dead_lettered = 0;
};

// One link from this node to another node of the mesh (docs/cluster.md).
struct LinkStats {
  std::string node;            // the other node's id
  bool up = false;             // heard from within down_after
  int64_t last_heard_ms = -1;  // since its last message; -1: never
  uint64_t interest = 0;       // patterns and groups it wants from here
  uint64_t events_sent = 0;
  uint64_t events_received = 0;
  uint64_t events_dropped = 0;  // its queue was full or it was unreachable
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  // Durable deliveries sent to it and not yet acknowledged: its lag.
  uint64_t in_flight = 0;
};

struct MeshStats {
  uint64_t published = 0;
  uint64_t duplicates = 0;
  uint64_t delivered = 0;
  uint64_t dropped = 0;
  uint64_t acked = 0;
  uint64_t redelivered = 0;
  uint64_t dead_lettered = 0;
  uint64_t subscriptions = 0;
  StoreStats store;
  // Empty unless the node is part of a mesh of nodes.
  std::vector<LinkStats> links;
};

class Mesh {
 public:
  // Opens a mesh at `url`: a directory path or file:// URL (embedded, LMDB),
  // "mem:" (embedded, memory) or tcp://host:port (a server). Errors:
  // kInvalidArgument for a malformed URL, kUnavailable when a server cannot
  // be reached, and the store's errors for a data directory.
  static Result<std::unique_ptr<Mesh>> Open(std::string_view url,
                                            const MeshOptions& options = {});

  // Closes the mesh (see Close()).
  virtual ~Mesh() = default;

  // Stores `event` under `topic` and returns its sequence. Fills an empty
  // `id` with a fresh unique id; `source` and `type` are required. Returns once
  // the event is stored at the requested durability. A duplicate (same source
  // and id within the dedup window) returns the first event's sequence and
  // stores nothing.
  virtual Result<uint64_t> Publish(std::string_view topic, Event event,
                                   const PublishOptions& options = {}) = 0;

  // Like Publish, but does not wait: `done` runs with the sequence or the
  // error once the event is stored, on a mesh thread (or, for engines that
  // store at once such as "mem:", on the calling thread before
  // PublishAsync returns). It must be quick and must not block.
  using PublishDone = std::function<void(const Result<uint64_t>&)>;
  virtual void PublishAsync(std::string_view topic, Event event,
                            PublishDone done,
                            const PublishOptions& options = {}) = 0;

  // Publishes each event to its own `topic` field in one hand-off. Either
  // every event is valid and all are published (sequences in order), or
  // nothing is and the error names the first bad event.
  virtual Result<std::vector<uint64_t>> PublishBatch(
      std::vector<Event> events, const PublishOptions& options = {}) = 0;

  // Publishes each event to its own `topic` field without waiting, each
  // on its own: unlike PublishBatch, a bad event fails alone and the
  // others are published. `done` runs once, with one result per event in
  // the order given, under PublishAsync's rules for its callback. Engines
  // that store events in groups (every local mesh) take the whole batch in
  // one hand-off; others publish the events one by one.
  using PublishEachDone = std::function<void(std::vector<Result<uint64_t>>&)>;
  virtual void PublishEachAsync(std::vector<Event> events, PublishEachDone done,
                                const PublishOptions& options = {});

  // Delivers events whose topic matches `pattern` to `handler`.
  virtual Result<std::unique_ptr<Subscription>> Subscribe(
      std::string_view pattern, Handler handler,
      const SubscribeOptions& options = {});
  virtual Result<std::unique_ptr<Subscription>> SubscribeBatch(
      std::string_view pattern, BatchHandler handler,
      const SubscribeOptions& options = {}) = 0;

  // Publishes `request` to `topic` with a reply topic and correlation id,
  // and returns the first reply, or kTimeout after `timeout`.
  virtual Result<Event> Request(std::string_view topic, Event request,
                                std::chrono::milliseconds timeout) = 0;

  // Publishes `reply` as the answer to `request` (to its "replyto" topic,
  // with its "correlationid"). kInvalidArgument when `request` asked for
  // no reply.
  Status Reply(const Event& request, Event reply);

  // Up to `max_events` stored events of `topic` from `from_sequence`.
  virtual Result<std::vector<Event>> Read(std::string_view topic,
                                          uint64_t from_sequence,
                                          size_t max_events) = 0;

  virtual Result<std::vector<TopicInfo>> Topics() = 0;
  virtual Result<std::vector<GroupInfo>> Groups() = 0;
  virtual Result<MeshStats> Stats() = 0;

  // Publishes the dead letters of durable group `durable` back to their
  // original topics and removes them; returns how many.
  virtual Result<uint64_t> RepublishDeadLetters(std::string_view durable) = 0;

  // Removes every stored event of `topic` ("$DLQ." topics included: this is
  // how a dead-letter queue is cleared). The topic keeps its numbering, as
  // a NATS purge does: it stays listed with no events and its next event
  // gets the sequence after the last one removed. Durable groups reading
  // the topic forget its removed events (pending or unacknowledged) and go
  // on with the rest; live subscribers are not affected. Returns once the
  // events are gone. kInvalidArgument for an invalid topic name, kNotFound
  // when the topic has no stored events.
  virtual Status DeleteTopic(std::string_view topic) = 0;

  // Moves durable group `durable` to read from `position` next: earliest,
  // latest, a time (events stored at or after it) or, for a group whose
  // pattern is one topic (no wildcards), that topic's sequence (from 1 to
  // one past its last). The group's unacknowledged events are forgotten
  // (not redelivered unless the new position comes before them), and acks
  // of deliveries made before the move are ignored; its members keep
  // their subscriptions and continue from the new position.
  // Works for a durable with no member now as well. The position is
  // stored before this returns. kNotFound for an unknown durable,
  // kInvalidArgument for a sequence the group cannot seek to.
  virtual Status SeekGroup(std::string_view durable,
                           StartPosition position) = 0;

  // Stops every subscription, finishes or fails in-flight publishes and
  // releases the store or connection. Idempotent. Calls after it fail with
  // kClosed.
  virtual Status Close() = 0;

  // This node's id.
  virtual const std::string& node_id() const = 0;
};

// Extension attributes used by request/reply.
inline constexpr std::string_view kReplyToAttribute = "replyto";
inline constexpr std::string_view kCorrelationIdAttribute = "correlationid";

// Extension attributes set on dead letters.
inline constexpr std::string_view kDeadReasonAttribute = "deadreason";
inline constexpr std::string_view kDeadAttemptsAttribute = "deadattempts";
inline constexpr std::string_view kDeadTopicAttribute = "deadtopic";
inline constexpr std::string_view kDeadSequenceAttribute = "deadsequence";
// The dead letter's own id is new; this holds the original event's id.
inline constexpr std::string_view kDeadIdAttribute = "deadid";

// A fresh random id (UUID version 4 text). Thread-safe.
std::string NewEventId();

}  // namespace eventmesh

#endif  // EVENTMESH_MESH_H_
