// The narrow seam between LocalMesh and the mesh of nodes (src/cluster).
//
// A LocalMesh with no hook attached pays one null check per dispatched
// event. With a hook, the mesh reports every event it accepts from a local
// publisher (after it is stored) and every change to the set of patterns
// its live subscribers want; the cluster forwards what peers want and
// injects what peers send with LocalMesh::InjectRemote.

#ifndef EVENTMESH_SRC_MESH_CLUSTER_HOOK_H_
#define EVENTMESH_SRC_MESH_CLUSTER_HOOK_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "eventmesh/event.h"
#include "eventmesh/mesh.h"

namespace eventmesh {

// What the members of a durable subscription on one node ask of the
// consumer that every other node runs for them over its own store: the
// SubscribeOptions that the storing node applies. The first member's
// terms are the ones advertised.
struct DurableTerms {
  uint64_t ack_wait_ms = 30000;
  uint64_t max_deliver = 5;
  uint64_t max_in_flight = 1024;
  uint8_t start_kind = 0;    // StartPosition::Kind
  uint64_t start_value = 0;  // the sequence, or the time in Unix nanos
};

// What one live route wants: a pattern, and the non-durable group sharing
// it (empty: every subscriber gets every event, as for broadcast
// subscriptions and request inboxes). With `durable`, `group` is a durable
// name with members on this node: every node runs a consumer of that name
// over its own store and sends what it reads here (mesh/consumer.h).
struct Interest {
  Interest() = default;
  Interest(std::string pattern_in, std::string group_in,
           bool durable_in = false, DurableTerms terms_in = {})
      : pattern(std::move(pattern_in)),
        group(std::move(group_in)),
        durable(durable_in),
        terms(terms_in) {}

  std::string pattern;
  std::string group;
  bool durable = false;
  DurableTerms terms;  // durable only; not part of what identifies it

  // "<group>\n<pattern>": how groups are named between nodes.
  std::string GroupKey() const { return group + "\n" + pattern; }
  bool operator<(const Interest& o) const {
    if (durable != o.durable) return durable < o.durable;
    return pattern != o.pattern ? pattern < o.pattern : group < o.group;
  }
  bool operator==(const Interest& o) const {
    return durable == o.durable && pattern == o.pattern && group == o.group;
  }
};

// An event received from a peer node, and which local routes get it.
struct RemoteEvent {
  EventPtr event;
  bool broadcast = false;           // live routes without a group
  std::vector<std::string> groups;  // group keys (Interest::GroupKey)
};

// Called under the mesh's routing lock: implementations must only queue
// and return, and must not call back into the mesh.
class ClusterHook {
 public:
  virtual ~ClusterHook() = default;
  // An event accepted from a local publisher, stored at `position` (0 for
  // replies, which are not stored).
  virtual void OnLocalEvent(const EventPtr& event, uint64_t position) = 0;
  // One route with `interest` was added (true) or removed (false). Routes
  // may repeat an interest; the hook counts them.
  virtual void OnInterest(const Interest& interest, bool added) = 0;
  // Appends one entry per other node. Called by Mesh::Stats() without the
  // routing lock.
  virtual void AppendLinkStats(std::vector<LinkStats>* links) const = 0;
};

}  // namespace eventmesh

#endif  // EVENTMESH_SRC_MESH_CLUSTER_HOOK_H_
