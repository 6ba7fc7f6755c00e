// The tcp:// transport behind Mesh::Open: a Mesh served by a remote
// eventmesh-server over the native protocol (docs/protocol.md).
//
// The client runs its own EventLoop thread for the connection and one
// callback thread for subscriber handlers (never the loop thread, never a
// publisher's thread). Publishes are pipelined: PublishAsync appends a
// frame to the outbound buffer and returns; a burst of publishes from any
// threads costs one wake-up of the loop. Heartbeats detect a dead server;
// the client then reconnects with backoff (100 ms doubling to 5 s) and
// restores its subscriptions; a durable member resumes where its group
// stands on the server.
//
// Publishes not acknowledged when the link breaks complete with
// kUnavailable, and publishes made while reconnecting fail at once with
// kUnavailable: nothing is dropped silently. Retrying the same Event (the
// client fills an empty id before sending) within the store's dedup window
// is safe: a copy that was stored returns the first sequence.
//
// Thread-safety: as Mesh (every method thread-safe).

#ifndef EVENTMESH_SRC_NET_TCP_CLIENT_H_
#define EVENTMESH_SRC_NET_TCP_CLIENT_H_

#include <memory>
#include <string_view>

#include "eventmesh/mesh.h"

namespace eventmesh {

// Connects to the server named by `url` ("tcp://host:port") and returns
// once the hello is answered. kInvalidArgument for a malformed URL,
// kUnavailable when the server cannot be reached within
// options.connect_timeout, kUnauthenticated for refused credentials.
Result<std::unique_ptr<Mesh>> OpenTcpMesh(std::string_view url,
                                          const MeshOptions& options);

}  // namespace eventmesh

#endif  // EVENTMESH_SRC_NET_TCP_CLIENT_H_
