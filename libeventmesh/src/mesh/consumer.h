// Consumer: a subscription that reads the store's log instead of being
// handed events live. Durable subscriptions are consumers that keep their
// state in the store; a non-durable subscription that starts anywhere but
// "latest" (a replay) is an ephemeral consumer.
//
// State. `next_read_` is the first log position not yet read. `pending_`
// holds every read event not yet settled: waiting to be delivered, or
// delivered and waiting for its ack. Everything below the smallest pending
// position (or below next_read_ when nothing is pending) is settled: the
// ack floor. A durable consumer stores {next_read_, pending positions}
// after every change that settles an event, so after a restart exactly the
// unsettled events are delivered again.
//
// Members. Subscriptions with the same durable name are the consumer's
// members; each event goes to one member with fewer than max_in_flight
// unacknowledged events, round-robin, members on this node first. A
// remote member stands for the members of the durable on another node of
// the mesh (src/cluster): its deliveries travel over the link, and acks
// come back by log position (AckPositions, Nack).
//
// Foreign deliveries. The other way round, deliveries that another node's
// consumer of the same name sends here are handed to this consumer's
// local members (OfferForeign), each carrying the acker that sends its
// ack back to the node that stores the event.
//
// Thread-safe. The consumer runs as one pool task; acks come from any
// thread.

#ifndef EVENTMESH_SRC_MESH_CONSUMER_H_
#define EVENTMESH_SRC_MESH_CONSUMER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "eventmesh/mesh.h"
#include "eventmesh/store.h"
#include "mesh/callback_pool.h"
#include "mesh/route.h"
#include "mesh/timer.h"

namespace eventmesh {

class Consumer : public Task, public Route, public detail::Acker {
 public:
  // Publishes a dead letter; provided by the mesh.
  using PublishFn = std::function<Status(std::string topic, Event event)>;

  struct Config {
    std::string name;  // the durable name (or an internal one)
    std::string pattern;
    bool persistent = true;
    SubscribeOptions options;  // ack_wait, max_deliver, filter, start, ...
    Durability durability = Durability::kSync;  // of state writes
  };

  // Loads the consumer's state from the store, or starts it at
  // config.options.start and stores that start.
  static Result<std::shared_ptr<Consumer>> Open(Config config, Store* store,
                                                CallbackPool* pool,
                                                Timer* timer,
                                                PublishFn publish);

  const Config& config() const { return config_; }

  // A durable consumer's stored state, as kept under "consumer/<name>".
  struct StoredState {
    std::string pattern;
    uint64_t next_read = 0;
    std::vector<uint64_t> pending;  // read, not yet settled
  };
  // Parses a state record; false when this version cannot read it.
  static bool ParseState(const std::string& blob, StoredState* state);
  // The state record for `state`.
  static std::string EncodeState(const StoredState& state);

  // Receives a remote member's deliveries and their log positions; runs
  // on the pool and must only queue them.
  using RemoteSink = std::function<void(const std::vector<Delivery>&,
                                        const std::vector<uint64_t>&)>;

  // Adds a member; returns its id. `manual_ack`: its handler (or later
  // code) acks; otherwise its deliveries settle when the handler returns.
  uint64_t AddMember(BatchHandler handler, size_t max_in_flight,
                     bool manual_ack);
  // Adds a member that stands for another node's members (always manual
  // acks); it gets events only when no local member has room.
  uint64_t AddRemoteMember(RemoteSink sink, size_t max_in_flight);
  // Members on this node.
  size_t LocalMembers() const;

  // Hands deliveries from another node's consumer of this name to the
  // local members. False (nothing taken) when there is no local member.
  bool OfferForeign(std::vector<Delivery> deliveries);
  // Settles these log positions (acks that came over a link); does not
  // wait for the state to be stored.
  void AckPositions(const std::vector<uint64_t>& positions);
  // Removes a member; its unacknowledged events go to the others. When it
  // returns the member's handler is not running (unless called from it).
  // Returns the number of members left.
  size_t RemoveMember(uint64_t member_id);

  // New events were stored; read them soon.
  void Offer(const EventPtr& event, uint64_t position) override;
  // A consumer reads from the store, so a run only moves its known end.
  void OfferRun(const std::shared_ptr<Event>* events, size_t count,
                uint64_t first_position) override {
    if (count > 0) Offer(events[count - 1], first_position + count - 1);
  }

  void Run() override;

  // detail::Acker: `token` is the log position, tagged with the seek
  // generation (an ack made before the last Seek is ignored).
  Status Ack(uint64_t token) override;
  Status Nack(uint64_t token, std::chrono::milliseconds delay) override;

  // Forgets the read, unsettled events of `topic` with a sequence up to
  // `through_sequence` (the store removed them), then stores the state.
  Status DropTopic(const std::string& topic, uint64_t through_sequence);

  // Forgets every read, unsettled event (deliveries already handed to a
  // handler are not taken back) and reads from log `position` on; stores
  // the state before returning. Members stay. Acks and nacks of
  // deliveries made before the seek are ignored.
  Status Seek(uint64_t position);

  // Stores the state now and waits for it. Further acks fail with kClosed.
  Status Close();

  GroupInfo Info() const;
  uint64_t acked() const {
    std::lock_guard<std::mutex> lock(mu_);
    return acked_;
  }
  SubscriptionStats MemberStats(uint64_t member_id) const;

 private:
  struct Entry {
    EventPtr event;
    uint32_t attempts = 0;
    int64_t deadline = 0;  // when in flight: redeliver at this time
    uint64_t member = 0;   // when in flight: to whom; 0 = not in flight
  };
  struct Member {
    BatchHandler handler;
    RemoteSink remote;  // set for a remote member
    bool manual_ack = false;
    size_t max_in_flight = 0;
    size_t in_flight = 0;
    uint64_t delivered = 0;
    uint64_t acked = 0;
    std::shared_ptr<std::mutex> run_mu = std::make_shared<std::mutex>();
  };
  struct Batch {
    uint64_t member_id;
    BatchHandler handler;
    std::shared_ptr<std::mutex> run_mu;
    std::vector<Delivery> deliveries;
    std::vector<uint64_t> positions;  // of each delivery
    RemoteSink remote;
    bool manual_ack = false;
    bool foreign = false;     // deliveries from another node's consumer
    uint64_t seek_epoch = 0;  // seek_epoch_ when it was made
  };

  Consumer(Config config, Store* store, CallbackPool* pool, Timer* timer,
           PublishFn publish);
  Status Load();

  // Run()'s steps.
  void ExpireLocked(int64_t now, std::vector<uint64_t>* dead);
  void ReadMore();
  void AssignLocked(int64_t now, std::vector<Batch>* batches);
  // Picks the next member with room, local ones first; nullptr if none.
  Member* NextMemberLocked(const std::vector<uint64_t>& ids, uint64_t* id);
  void AssignForeignLocked(std::vector<Batch>* batches,
                           std::vector<Delivery>* filtered,
                           std::vector<Delivery>* unwanted);
  void SettleForeign(Batch& batch, bool handled);
  void RunBatch(Batch& batch);
  void DeadLetter(const std::vector<uint64_t>& positions);

  bool Admits(const Event& event) const;
  int64_t AckWaitNanos(uint32_t attempts) const;
  // Removes a pending entry as settled. mu_ held.
  void SettleLocked(std::map<uint64_t, Entry>::iterator it);
  // The ack token of a delivery of `position`, and back (false for a
  // token of a delivery made before the last Seek). mu_ held.
  uint64_t TokenLocked(uint64_t position) const;
  bool PositionOfTokenLocked(uint64_t token, uint64_t* position) const;
  // Stores the state; with `wait`, returns once it is stored.
  Status Persist(bool wait);
  std::string EncodeStateLocked() const;
  std::string StateKey() const { return "consumer/" + config_.name; }

  const Config config_;
  Store* const store_;
  CallbackPool* const pool_;
  Timer* const timer_;
  const PublishFn publish_;

  mutable std::mutex mu_;
  std::condition_variable persisted_cv_;
  uint64_t next_read_ = 0;
  std::map<uint64_t, Entry> pending_;
  std::deque<uint64_t> ready_;    // pending positions to (re)deliver
  std::deque<Delivery> foreign_;  // from other nodes, for local members
  uint64_t foreign_round_robin_ = 0;
  std::map<uint64_t, Member> members_;
  uint64_t next_member_id_ = 1;
  uint64_t round_robin_ = 0;
  int64_t earliest_deadline_ = INT64_MAX;
  int64_t timer_armed_for_ = INT64_MAX;
  bool closed_ = false;
  // Events of a topic with a lower sequence are skipped (a sequence start).
  uint64_t min_sequence_ = 0;
  // Raised by Seek and DropTopic: a read that began before is stale.
  uint64_t read_epoch_ = 0;
  // Raised by Seek: batches made before are not delivered or acked.
  uint64_t seek_epoch_ = 0;
  // One past the last log position known to exist; Offer() raises it.
  std::atomic<uint64_t> known_end_{0};

  // State writes: one in flight at a time; later changes ride the next.
  uint64_t state_version_ = 0;
  uint64_t persisted_version_ = 0;
  bool writing_ = false;
  Status write_error_;
  uint64_t failed_version_ = 0;

  uint64_t delivered_ = 0;
  uint64_t redelivered_ = 0;
  uint64_t dead_lettered_ = 0;
  uint64_t acked_ = 0;
};

}  // namespace eventmesh

#endif  // EVENTMESH_SRC_MESH_CONSUMER_H_
