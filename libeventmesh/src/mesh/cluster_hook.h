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
#include <vector>

#include "eventmesh/event.h"

namespace eventmesh {

// What one live route wants: a pattern, and the non-durable group sharing
// it (empty: every subscriber gets every event, as for broadcast
// subscriptions and request inboxes). Durable consumers read their own
// node's store and are not interest.
struct Interest {
  std::string pattern;
  std::string group;

  // "<group>\n<pattern>": how groups are named between nodes.
  std::string GroupKey() const { return group + "\n" + pattern; }
  bool operator<(const Interest& o) const {
    return pattern != o.pattern ? pattern < o.pattern : group < o.group;
  }
  bool operator==(const Interest& o) const {
    return pattern == o.pattern && group == o.group;
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
};

}  // namespace eventmesh

#endif  // EVENTMESH_SRC_MESH_CLUSTER_HOOK_H_
