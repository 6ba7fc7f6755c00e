// Cluster: this node's part of the mesh of nodes (DESIGN.md).
//
// Links. One ZeroMQ thread per node. It binds a ROUTER socket (default
// 127.0.0.1:10300) that receives everything peers send, and connects one
// DEALER socket to each known peer, over which it sends. Every pair of
// nodes therefore has two one-way links; nothing is ever answered on the
// socket it arrived on, so a slow or hung peer only fills its own DEALER
// queue (ZMQ_SNDHWM; beyond it events for that peer are dropped and
// counted, never blocking the node).
//
// Registry. Nodes start from seed addresses and send hello/heartbeat
// messages carrying their addresses, load and the nodes they know
// (gossip), so every node learns every other. A node not heard from for
// `down_after` is marked down and its interest dropped; a message with a
// new incarnation (a restarted process) replaces the old node entirely.
//
// Interest. The local mesh reports the patterns its live routes want
// (mesh/cluster_hook.h). They are sent to every peer as versioned changes;
// a peer whose view does not match (a gap, a restart, a node back from
// down) asks for the full set (kResync). Heartbeats carry the version, so
// a lost change is noticed within one heartbeat.
//
// Routing. Each event a local publisher stores is forwarded once to each
// up peer whose interest matches: with the broadcast flag for patterns
// without a group, and with group keys for groups. A group the local node
// has members of is served locally only; otherwise exactly one peer
// advertising it gets the event, round-robin. Events from peers are
// delivered to local live routes and never forwarded again.
//
// Durable groups. A node with members of a durable advertises it as
// interest; every other node then adds a remote member for it to its own
// consumer of that name (over its own store). Deliveries to a remote
// member travel as kDurableEvents, the receiving node hands them to its
// local members, and their acks travel back as kDurableAcks (by log
// position). A node marked down loses its remote members, so what was in
// flight to it goes back to the members still reachable.
//
// Thread-safe: every public method may be called from any thread.

#ifndef EVENTMESH_SRC_CLUSTER_CLUSTER_H_
#define EVENTMESH_SRC_CLUSTER_CLUSTER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/wire.h"
#include "eventmesh/status.h"

namespace eventmesh {
class LocalMesh;
}

namespace eventmesh::cluster {

// ZeroMQ CURVE keys, Z85 text (40 characters each). When server_public is
// set, links are encrypted: every node serves with the cluster's server
// key pair and connects with its own client key pair, and a node accepts
// only clients whose public key is in `allowed` (empty: any client that
// knows the server key).
struct CurveOptions {
  std::string server_public;
  std::string server_secret;
  std::string public_key;
  std::string secret_key;
  std::vector<std::string> allowed;

  bool enabled() const { return !server_public.empty(); }
};

struct ClusterOptions {
  // "host:port" or "tcp://host:port"; port 0 picks a free one.
  std::string listen = "127.0.0.1:10300";
  // What peers should connect to; empty: the bound listen address (a
  // wildcard host is then an error: set `advertise`).
  std::string advertise;
  // Where clients reach this node (its TCP listener), for "least loaded".
  std::string client_address;
  std::vector<std::string> seeds;
  std::chrono::milliseconds down_after{3000};
  // 0: down_after / 4.
  std::chrono::milliseconds heartbeat_interval{0};
  CurveOptions curve;
  // Events per multipart message at most.
  size_t max_batch = 512;
  // Messages queued per peer before events for it are dropped.
  int send_hwm = 10000;
  // Optional: this node's client connections, for load reports.
  std::function<uint64_t()> connections;
};

struct NodeStatus {
  std::string node_id;
  uint64_t incarnation = 0;
  std::string address;
  std::string client_address;
  bool self = false;
  bool up = false;
  int64_t last_heard_ms = -1;  // milliseconds ago; -1: never
  Load load;
  size_t interest = 0;  // patterns it wants
  // The link from this node to it.
  uint64_t events_sent = 0;
  uint64_t events_received = 0;
  uint64_t events_dropped = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
};

struct ClusterStats {
  std::vector<NodeStatus> nodes;  // this node first
  uint64_t bad_messages = 0;
  uint64_t auth_refused = 0;  // CURVE clients refused
};

class Cluster {
 public:
  // Binds, attaches to `mesh` and starts the link thread. `mesh` must
  // outlive the cluster (call Stop() before closing the mesh).
  static Result<std::unique_ptr<Cluster>> Start(LocalMesh* mesh,
                                                ClusterOptions options);
  ~Cluster();

  // Detaches from the mesh and stops the thread. Idempotent.
  void Stop();

  const std::string& node_id() const;
  // The endpoint peers connect to ("tcp://127.0.0.1:41234").
  const std::string& address() const;
  ClusterStats Stats() const;
  // The nodes and stats as JSON, with "least_loaded": the up node with the
  // fewest connections (then events/s).
  std::string StatsJson() const;

  class Impl;

 private:
  explicit Cluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Generates a CURVE key pair (Z85) into `public_key` and `secret_key`.
Status NewCurveKeyPair(std::string* public_key, std::string* secret_key);

}  // namespace eventmesh::cluster

#endif  // EVENTMESH_SRC_CLUSTER_CLUSTER_H_
