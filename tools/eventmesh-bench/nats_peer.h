// The NATS peer of the network benchmarks: nats-server as a child process
// on a free loopback port, and connections to it through libnats. Only
// built with EVENTMESH_HAVE_NATS.

#ifndef EVENTMESH_TOOLS_BENCH_NATS_PEER_H_
#define EVENTMESH_TOOLS_BENCH_NATS_PEER_H_

#include <fcntl.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eventmesh/status.h"

namespace eventmesh::bench {

// A loopback port nobody listens on at the moment of asking.
inline int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

// nats-server on 127.0.0.1 with `extra_args`, stopped when destroyed;
// `remove_on_exit`, when set, is a directory deleted afterwards.
class NatsServer {
 public:
  explicit NatsServer(std::vector<std::string> extra_args,
                      std::string remove_on_exit = "")
      : port_(FreeLoopbackPort()), remove_on_exit_(std::move(remove_on_exit)) {
    std::vector<std::string> args = {"nats-server", "-a", "127.0.0.1", "-p",
                                     std::to_string(port_)};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null",
                                     O_WRONLY, 0);
    if (posix_spawnp(&pid_, "nats-server", &actions, nullptr, argv.data(),
                     environ) != 0) {
      Fatal("cannot start nats-server");
    }
    posix_spawn_file_actions_destroy(&actions);
    url_ = "nats://127.0.0.1:" + std::to_string(port_);

    // Wait until it accepts connections.
    for (int i = 0; i < 200; ++i) {
      natsConnection* nc = nullptr;
      if (natsConnection_ConnectTo(&nc, url_.c_str()) == NATS_OK) {
        natsConnection_Destroy(nc);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    Fatal("nats-server did not come up");
  }
  ~NatsServer() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    if (!remove_on_exit_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(remove_on_exit_, ec);
    }
  }
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  // CPU time (user + system) the server process has used so far, in
  // seconds; from /proc, 0 when it cannot be read.
  double CpuSeconds() const {
    std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)),
                     std::istreambuf_iterator<char>());
    // Fields after the command name (which may hold spaces), from field 3.
    size_t close = text.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
    }
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  }

  // A connection with no pending-message limit; the caller destroys it.
  natsConnection* Connect() {
    natsOptions* opts = nullptr;
    natsOptions_Create(&opts);
    natsOptions_SetURL(opts, url_.c_str());
    natsOptions_SetMaxPendingMsgs(opts, 1 << 20);
    natsConnection* nc = nullptr;
    if (natsConnection_Connect(&nc, opts) != NATS_OK) Fatal("nats connect");
    natsOptions_Destroy(opts);
    return nc;
  }

 private:
  pid_t pid_ = -1;
  int port_;
  std::string url_;
  std::string remove_on_exit_;
};

}  // namespace eventmesh::bench

#endif  // EVENTMESH_TOOLS_BENCH_NATS_PEER_H_
