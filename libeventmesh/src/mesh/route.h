// Routes: what the mesh hands an accepted event to.
//
// The subscription index maps a topic to routes. Dispatch (Route::Offer)
// runs one event at a time, in log order, under the mesh's routing lock;
// a route must take the event quickly and leave the handler calls to the
// callback pool.

#ifndef EVENTMESH_SRC_MESH_ROUTE_H_
#define EVENTMESH_SRC_MESH_ROUTE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "eventmesh/event.h"

namespace eventmesh {

class Route {
 public:
  virtual ~Route() = default;
  // Takes `event`, stored at log `position` (0 for events that are not
  // stored, such as replies).
  virtual void Offer(const EventPtr& event, uint64_t position) = 0;
  // Takes `count` events of one topic stored at consecutive positions from
  // `first_position`. Routes that can take a run at once (one lock, one
  // wake-up) override it.
  virtual void OfferRun(const std::shared_ptr<Event>* events, size_t count,
                        uint64_t first_position) {
    for (size_t i = 0; i < count; ++i) Offer(events[i], first_position + i);
  }
  // As Offer(), but a full queue that holds its publisher back (kBlock)
  // holds it no later than `deadline`. For callers that must not stall,
  // such as the cluster link with its heartbeats.
  virtual void OfferBefore(const EventPtr& event, uint64_t position,
                           std::chrono::steady_clock::time_point deadline) {
    (void)deadline;
    Offer(event, position);
  }
};

}  // namespace eventmesh

#endif  // EVENTMESH_SRC_MESH_ROUTE_H_
