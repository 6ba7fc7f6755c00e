// eventmesh-server: an embedded mesh with the native TCP listener on.
//
//   eventmesh-server [--config FILE] [--listen HOST:PORT] [--data DIR]
//
// Settings come from defaults, then the TOML file, then EVENTMESH_*
// environment variables, then flags. Logs go to stderr. SIGTERM or SIGINT
// stop it cleanly: no new connections or publishes, every accepted publish
// answered (or failed), the store closed; exit code 0.

#include <signal.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <sstream>

#include "cluster/cluster.h"
#include "eventmesh/log.h"
#include "eventmesh/mesh.h"
#include "eventmesh/version.h"
#include "mesh/local_mesh.h"
#include "net/event_loop.h"
#include "net/http/http_server.h"
#include "net/tcp_server.h"
#include "server_config.h"

extern char** environ;

namespace {

using eventmesh::Status;
using eventmesh::server::ServerConfig;

constexpr char kUsage[] =
    "usage: eventmesh-server [--config FILE] [--listen HOST:PORT] "
    "[--data DIR|mem:]\n"
    "                        [--durability sync|batch|none] "
    "[--log-level LEVEL]\n"
    "\n"
    "Serves an EventMesh over the native TCP protocol (default\n"
    "127.0.0.1:10000, data in ./data) and HTTP ([http] listen, default\n"
    "127.0.0.1:10105). Environment: EVENTMESH_CONFIG, EVENTMESH_HTTP_LISTEN,\n"
    "EVENTMESH_ADMIN_TOKEN,\n"
    "EVENTMESH_LISTEN, EVENTMESH_DATA, EVENTMESH_DURABILITY,\n"
    "EVENTMESH_LOG_LEVEL, EVENTMESH_MAX_CONNECTIONS. Flags win over the\n"
    "environment, which wins over the file.\n";

struct Flags {
  std::string config;
  std::string listen, data, durability, log_level;
};

// Exit code 2 and a one-line error for bad usage.
int UsageError(const std::string& message) {
  std::fprintf(stderr, "eventmesh-server: %s (see --help)\n", message.c_str());
  return 2;
}

// Returns -1 to go on, or an exit code.
int ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--version") {
      std::printf("eventmesh-server %s\n", EVENTMESH_VERSION_STRING);
      return 0;
    }
    std::string* target = nullptr;
    std::string name = arg, value;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (name == "--config") target = &flags->config;
    if (name == "--listen") target = &flags->listen;
    if (name == "--data") target = &flags->data;
    if (name == "--durability") target = &flags->durability;
    if (name == "--log-level") target = &flags->log_level;
    if (target == nullptr) return UsageError("unknown argument '" + arg + "'");
    if (eq == std::string::npos) {
      if (i + 1 >= argc) return UsageError(name + " needs a value");
      value = argv[++i];
    }
    *target = value;
  }
  return -1;
}

std::map<std::string, std::string> Environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    size_t eq = entry.find('=');
    if (eq != std::string::npos && entry.rfind("EVENTMESH_", 0) == 0) {
      env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  return env;
}

Status LoadConfig(const Flags& flags, ServerConfig* config) {
  auto env = Environment();
  std::string path = flags.config;
  if (path.empty() && env.count("EVENTMESH_CONFIG")) {
    path = env["EVENTMESH_CONFIG"];
  }
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) {
      return eventmesh::InvalidArgument("cannot read config file '" + path +
                                        "': " + std::strerror(errno));
    }
    std::stringstream text;
    text << in.rdbuf();
    EM_RETURN_IF_ERROR(eventmesh::server::ApplyToml(text.str(), path, config));
  }
  EM_RETURN_IF_ERROR(eventmesh::server::ApplyEnvironment(env, config));
  std::map<std::string, std::string> from_flags;
  if (!flags.listen.empty()) from_flags["EVENTMESH_LISTEN"] = flags.listen;
  if (!flags.data.empty()) from_flags["EVENTMESH_DATA"] = flags.data;
  if (!flags.durability.empty()) {
    from_flags["EVENTMESH_DURABILITY"] = flags.durability;
  }
  if (!flags.log_level.empty()) {
    from_flags["EVENTMESH_LOG_LEVEL"] = flags.log_level;
  }
  return eventmesh::server::ApplyEnvironment(from_flags, config)
      .WithContext("flags");
}

// Blocks SIGINT and SIGTERM in every thread (call before starting any),
// so the main thread can wait for them with sigwait.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return set;
}

// Stops the HTTP listener on its loop and waits until its handles are
// closed and its pending work is done.
void StopHttp(eventmesh::net::EventLoop* loop,
              eventmesh::http::HttpServer* http) {
  std::promise<void> stopped;
  bool posted =
      loop->RunSync([&] { http->Stop([&stopped] { stopped.set_value(); }); });
  if (posted) stopped.get_future().wait();
}

// The node's part of the mesh of nodes, and the node-local
// "$SYS.cluster.nodes" request that answers with the cluster's state.
struct ClusterPart {
  std::unique_ptr<eventmesh::cluster::Cluster> cluster;
  std::unique_ptr<eventmesh::Subscription> nodes_query;

  Status Start(const ServerConfig& config, eventmesh::Mesh* mesh,
               eventmesh::net::TcpServer* server) {
    auto* local = dynamic_cast<eventmesh::LocalMesh*>(mesh);
    eventmesh::cluster::ClusterOptions options = config.cluster;
    options.client_address = server->address();
    options.connections = [server] { return server->connection_count(); };
    auto started = eventmesh::cluster::Cluster::Start(local, options);
    if (!started.ok()) return started.status();
    cluster = std::move(started).value();
    eventmesh::cluster::Cluster* c = cluster.get();
    auto sub = mesh->Subscribe(
        "$SYS.cluster.nodes", [mesh, c](const eventmesh::Delivery& d) {
          eventmesh::Event reply;
          reply.datacontenttype = "application/json";
          reply.data = c->StatsJson();
          mesh->Reply(d.event(), std::move(reply)).IgnoreError();
        });
    if (!sub.ok()) return sub.status();
    nodes_query = std::move(sub).value();
    std::fprintf(stderr, "eventmesh-server: cluster node %s listening %s\n",
                 cluster->node_id().c_str(), cluster->address().c_str());
    return Status::Ok();
  }
  void Stop() {
    if (nodes_query) nodes_query->Unsubscribe().IgnoreError();
    if (cluster) cluster->Stop();
  }
};

int Serve(const ServerConfig& config, const sigset_t& stop_signals) {
  auto mesh = eventmesh::Mesh::Open(config.data, config.mesh);
  if (!mesh.ok()) {
    std::fprintf(stderr, "eventmesh-server: cannot open '%s': %s\n",
                 config.data.c_str(), mesh.status().ToString().c_str());
    return 1;
  }
  eventmesh::net::EventLoop loop;
  Status started = loop.Start("em-net-loop");
  eventmesh::net::TcpServer server(&loop, mesh->get(), config.tcp);
  if (started.ok()) started = server.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "eventmesh-server: %s\n", started.ToString().c_str());
    (*mesh)->Close().IgnoreError();
    return 1;
  }
  // The HTTP listener shares the loop; its handles are made on the loop
  // thread.
  std::unique_ptr<eventmesh::http::HttpServer> http;
  if (!config.http_listen.empty()) {
    eventmesh::http::HttpOptions options = config.http;
    Status split = eventmesh::server::SplitHostPort(
        config.http_listen, &options.host, &options.port);
    http = std::make_unique<eventmesh::http::HttpServer>(loop.loop(),
                                                         mesh->get(), options);
    Status http_started = split;
    if (split.ok()) loop.RunSync([&] { http_started = http->Start(); });
    if (!http_started.ok()) {
      std::fprintf(stderr, "eventmesh-server: http: %s\n",
                   http_started.ToString().c_str());
      StopHttp(&loop, http.get());
      server.Stop();
      (*mesh)->Close().IgnoreError();
      return 1;
    }
    std::fprintf(stderr, "eventmesh-server: listening http %s:%d\n",
                 options.host.c_str(), http->port());
  }
  ClusterPart cluster;
  if (config.cluster_enabled) {
    started = cluster.Start(config, mesh->get(), &server);
  }
  if (!started.ok()) {
    std::fprintf(stderr, "eventmesh-server: %s\n", started.ToString().c_str());
    cluster.Stop();
    if (http) StopHttp(&loop, http.get());
    server.Stop();
    (*mesh)->Close().IgnoreError();
    loop.Stop();
    return 1;
  }
  std::fprintf(stderr, "eventmesh-server: listening tcp %s (data %s)\n",
               server.address().c_str(), config.data.c_str());
  std::fflush(stderr);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "eventmesh-server: %s received, stopping\n",
               strsignal(signal_number));
  if (http) StopHttp(&loop, http.get());
  cluster.Stop();
  server.Stop();
  Status closed = (*mesh)->Close();
  loop.Stop();
  if (!closed.ok()) {
    std::fprintf(stderr, "eventmesh-server: closing the mesh: %s\n",
                 closed.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "eventmesh-server: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t stop_signals = BlockStopSignals();
  Flags flags;
  int code = ParseFlags(argc, argv, &flags);
  if (code >= 0) return code;
  ServerConfig config;
  config.tcp.listen = "127.0.0.1:10000";
  Status loaded = LoadConfig(flags, &config);
  if (!loaded.ok()) return UsageError(loaded.message());
  eventmesh::SetLogSink(eventmesh::StderrLogSink(), config.log_level);
  return Serve(config, stop_signals);
}
