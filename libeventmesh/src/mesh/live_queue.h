// LiveQueue: a non-durable subscription (or one member of a non-durable
// group). Events are queued in memory and handed to the handler in batches
// on the callback pool; at most `max_pending` wait, and beyond that the
// subscription's OverflowPolicy decides between holding the publisher back
// and dropping (both counted).
//
// Thread-safe: Offer() from the dispatching thread, Run() from the pool,
// Close() and Stats() from anywhere.

#ifndef EVENTMESH_SRC_MESH_LIVE_QUEUE_H_
#define EVENTMESH_SRC_MESH_LIVE_QUEUE_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "eventmesh/mesh.h"
#include "mesh/callback_pool.h"
#include "mesh/route.h"

namespace eventmesh {

class LiveQueue : public Task, public Route {
 public:
  LiveQueue(CallbackPool* pool, BatchHandler handler,
            const SubscribeOptions& options);

  void Offer(const EventPtr& event, uint64_t position) override;
  void OfferRun(const std::shared_ptr<Event>* events, size_t count,
                uint64_t first_position) override;
  void OfferBefore(const EventPtr& event, uint64_t position,
                   std::chrono::steady_clock::time_point deadline) override;
  // Queues `event` only when its filter matches and there is room; false
  // when not taken.
  bool TryOffer(const EventPtr& event);
  bool HasRoom() const;

  void Run() override;

  // Stops delivery; when it returns no handler call of this queue is
  // running or will start (unless called from inside the handler, in which
  // case none starts after the handler returns). Idempotent.
  void Close();
  bool closed() const { return closed_.load(std::memory_order_acquire); }

  SubscriptionStats Stats() const;

 private:
  // Appends under mu_; true when the pool must be told.
  bool PushLocked(const EventPtr& event);
  // Offer() with kBlock's wait ending at `deadline` at the latest (none:
  // block_timeout from now).
  void OfferHolding(
      const EventPtr& event,
      std::optional<std::chrono::steady_clock::time_point> deadline);
  void Deliver(std::vector<EventPtr>& batch);

  CallbackPool* pool_;
  BatchHandler handler_;
  Filter filter_;
  size_t max_pending_;
  OverflowPolicy overflow_;
  std::chrono::milliseconds block_timeout_;

  mutable std::mutex mu_;
  std::condition_variable space_cv_;
  std::vector<EventPtr> pending_;
  int blocked_publishers_ = 0;

  std::mutex run_mu_;  // held while the handler runs
  std::atomic<bool> closed_{false};
  std::vector<EventPtr> running_;  // Run()'s batch, reused
  std::vector<Delivery> deliveries_;

  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> dropped_{0};
};

// A non-durable group: each event goes to one member, round-robin among
// those with room. Guarded by the mesh's routing lock.
class LiveGroup : public Route {
 public:
  void Offer(const EventPtr& event, uint64_t position) override;
  void OfferBefore(const EventPtr& event, uint64_t position,
                   std::chrono::steady_clock::time_point deadline) override;
  void Add(std::shared_ptr<LiveQueue> member);
  // Returns true when the group is now empty.
  bool Remove(const LiveQueue* member);
  size_t size() const { return members_.size(); }
  uint64_t delivered() const;

 private:
  // The first member from the round-robin point with room, or nullptr
  // (then next_ names the member whose overflow policy decides).
  LiveQueue* OfferToRoom(const EventPtr& event);

  std::vector<std::shared_ptr<LiveQueue>> members_;
  size_t next_ = 0;
};

}  // namespace eventmesh

#endif  // EVENTMESH_SRC_MESH_LIVE_QUEUE_H_
