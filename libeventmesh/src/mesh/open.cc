// Mesh::Open: picks the transport for a URL.

#include <string>

#include "eventmesh/mesh.h"
#include "mesh/local_mesh.h"
#include "net/tcp_client.h"

namespace eventmesh {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Memory meshes keep a bounded history unless the caller set retention:
// without a disk behind it, an unbounded log would only grow.
constexpr uint64_t kDefaultMemoryEventsPerTopic = 100000;

}  // namespace

Result<std::unique_ptr<Mesh>> Mesh::Open(std::string_view url,
                                         const MeshOptions& options) {
  if (url == "mem:" || url == "mem://") {
    StoreOptions store_options = options.store;
    if (store_options.retention.empty()) {
      RetentionRule rule;
      rule.max_events = kDefaultMemoryEventsPerTopic;
      store_options.retention.push_back(rule);
    }
    return std::unique_ptr<Mesh>(
        new LocalMesh(NewMemoryStore(store_options), options));
  }
  if (StartsWith(url, "tcp://")) {
    return OpenTcpMesh(url, options);
  }

  std::string path(url);
  if (StartsWith(url, "file://")) {
    path = std::string(url.substr(7));
  } else if (url.find("://") != std::string_view::npos) {
    return InvalidArgument("unknown mesh URL '" + std::string(url) +
                           "': use a directory path, file://PATH, mem: or "
                           "tcp://HOST:PORT");
  }
  if (path.empty()) {
    return InvalidArgument(
        "the mesh URL is empty: use a directory path, "
        "file://PATH, mem: or tcp://HOST:PORT");
  }
  EM_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                      OpenLmdbStore(path, options.store));
  return std::unique_ptr<Mesh>(new LocalMesh(std::move(store), options));
}

}  // namespace eventmesh
