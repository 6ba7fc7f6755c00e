// The server's configuration: defaults, then the TOML file, then
// EVENTMESH_* environment variables, then command-line flags.
//
// Not thread-safe; built once by main().

#ifndef EVENTMESH_TOOLS_EVENTMESH_SERVER_SERVER_CONFIG_H_
#define EVENTMESH_TOOLS_EVENTMESH_SERVER_SERVER_CONFIG_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/cluster.h"
#include "eventmesh/log.h"
#include "eventmesh/mesh.h"
#include "eventmesh/status.h"
#include "net/http/http_server.h"
#include "net/tcp_server.h"

namespace eventmesh::server {

struct ServerConfig {
  // Where the mesh stores its data: a directory, or "mem:".
  std::string data = "./data";
  LogLevel log_level = LogLevel::kInfo;
  MeshOptions mesh;
  net::TcpServerOptions tcp;  // tcp.listen defaults to 127.0.0.1:10000
  // The HTTP listener ([http]); an empty `http_listen` turns it off.
  std::string http_listen = "127.0.0.1:10105";
  http::HttpOptions http;
  // [cluster]: present turns the mesh of nodes on (docs/cluster.md).
  bool cluster_enabled = false;
  cluster::ClusterOptions cluster;
};

// Applies the TOML document `text` (named `origin` in errors) to `config`.
// Unknown keys are errors, so a typo does not pass silently.
Status ApplyToml(std::string_view text, std::string_view origin,
                 ServerConfig* config);

// Splits "host:port" ("[::1]:80" for IPv6) into `*host` and `*port`.
Status SplitHostPort(std::string_view text, std::string* host, int* port);

// Applies EVENTMESH_LISTEN, EVENTMESH_HTTP_LISTEN, EVENTMESH_ADMIN_TOKEN,
// EVENTMESH_DATA, EVENTMESH_DURABILITY, EVENTMESH_LOG_LEVEL and
// EVENTMESH_MAX_CONNECTIONS from `env`.
Status ApplyEnvironment(const std::map<std::string, std::string>& env,
                        ServerConfig* config);

bool ParseLogLevel(std::string_view name, LogLevel* level);

}  // namespace eventmesh::server

#endif  // EVENTMESH_TOOLS_EVENTMESH_SERVER_SERVER_CONFIG_H_
