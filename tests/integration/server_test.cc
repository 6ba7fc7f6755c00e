// eventmesh-server as a real process on an ephemeral loopback port, with
// clients reaching it through Mesh::Open("tcp://..."): pub/sub and groups,
// durable groups across a SIGKILL of the server, a client process killed
// mid-delivery, garbage from other sockets, permissions, clean SIGTERM.
//
// Client processes are this binary re-executed with EVENTMESH_TCP_CHILD
// set to the server's URL: the child joins durable group "crew" with
// manual acks, never acks, and prints "D <data>" per delivery.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eventmesh/mesh.h"
#include "unit/test_util.h"

extern char** environ;

namespace eventmesh {
namespace {

using eventmesh::testing::MakeEvent;
using eventmesh::testing::TempDir;
using eventmesh::testing::WaitFor;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kChildEnv[] = "EVENTMESH_TCP_CHILD";

SubscribeOptions CrewOptions() {
  SubscribeOptions o;
  o.durable = "crew";
  o.manual_ack = true;
  o.start = StartPosition::Earliest();
  o.ack_wait = seconds(60);  // longer than the test: only a close frees them
  return o;
}

int RunChild(const char* url) {
  auto mesh = Mesh::Open(url);
  if (!mesh.ok()) return 1;
  auto sub = (*mesh)->Subscribe(
      "crew.jobs",
      [](const Delivery& d) {
        std::string line = "D " + d.event().data + "\n";
        ssize_t n = write(STDOUT_FILENO, line.data(), line.size());
        (void)n;
      },
      CrewOptions());
  if (!sub.ok()) return 1;
  std::this_thread::sleep_for(seconds(30));
  return 0;
}

const int kChildMode = [] {
  if (const char* url = std::getenv(kChildEnv)) std::exit(RunChild(url));
  return 0;
}();

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A process whose stdout and stderr go to files.
class Process {
 public:
  Process(std::vector<std::string> argv, std::vector<std::string> env,
          const std::string& out_path)
      : out_path_(out_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args, envp;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(),
                    envp.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Wait();
    }
  }
  std::string Output() const { return ReadFile(out_path_); }
  void Signal(int sig) { kill(pid_, sig); }
  // The exit code, or 128 + signal.
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  bool started() const { return pid_ > 0; }

 private:
  std::string out_path_;
  pid_t pid_ = -1;
};

// Servers started here listen for HTTP on an ephemeral port, so that tests
// running side by side do not compete for the default one.
const int kHttpOnAnyPort = setenv("EVENTMESH_HTTP_LISTEN", "127.0.0.1:0", 1);

// EVENTMESH_SERVER, else the build tree's binary (ctest passes only the
// first variable of a list to gtest-discovered tests).
std::string ServerBinary() {
  if (const char* path = std::getenv("EVENTMESH_SERVER")) return path;
  if (const char* build = std::getenv("EVENTMESH_BUILD_DIR")) {
    return std::string(build) + "/tools/eventmesh-server/eventmesh-server";
  }
  return "eventmesh-server";
}

// eventmesh-server on `listen` with data in `data`.
class Server {
 public:
  Server(const TempDir& dir, std::string data, std::string listen,
         std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {ServerBinary(), "--listen", listen,
                                     "--data", std::move(data)};
    for (auto& e : extra) argv.push_back(e);
    log_ = dir.path() + "/server" + std::to_string(++count_) + ".log";
    process_ =
        std::make_unique<Process>(argv, std::vector<std::string>{}, log_);
    WaitFor(
        [&] {
          std::string log = process_->Output();
          size_t at = log.find("listening tcp ");
          if (at == std::string::npos) return false;
          size_t end = log.find(' ', at + 14);
          address_ = log.substr(at + 14, end - at - 14);
          return true;
        },
        seconds(20));
  }
  const std::string& address() const { return address_; }
  std::string url() const { return "tcp://" + address_; }
  Process* process() { return process_.get(); }
  std::string Log() const { return process_->Output(); }

 private:
  static inline int count_ = 0;
  std::string log_;
  std::unique_ptr<Process> process_;
  std::string address_;
};

std::unique_ptr<Mesh> Connect(const std::string& url,
                              MeshOptions options = {}) {
  options.connect_timeout = seconds(10);
  options.call_timeout = seconds(20);
  auto mesh = Mesh::Open(url, options);
  EXPECT_TRUE(mesh.ok()) << mesh.status().ToString();
  return mesh.ok() ? std::move(mesh).value() : nullptr;
}

struct Collected {
  std::mutex mu;
  std::multiset<std::string> data;
  Handler handler() {
    return [this](const Delivery& d) {
      std::lock_guard<std::mutex> lock(mu);
      data.insert(d.event().data);
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return data.size();
  }
  size_t distinct() {
    std::lock_guard<std::mutex> lock(mu);
    return std::set<std::string>(data.begin(), data.end()).size();
  }
};

TEST(Server, PubSubAndGroupsAcrossConnections) {
  TempDir dir;
  Server server(dir, dir.path() + "/data", "127.0.0.1:0");
  ASSERT_FALSE(server.address().empty()) << server.Log();
  auto member_a = Connect(server.url());
  auto member_b = Connect(server.url());
  auto watcher = Connect(server.url());
  auto publisher = Connect(server.url());
  ASSERT_TRUE(member_a && member_b && watcher && publisher);
  Collected a, b, all;
  SubscribeOptions group;
  group.group = "workers";
  auto sa = member_a->Subscribe("jobs.>", a.handler(), group);
  auto sb = member_b->Subscribe("jobs.>", b.handler(), group);
  auto sw = watcher->Subscribe("jobs.*", all.handler());
  ASSERT_OK(sa.status());
  ASSERT_OK(sb.status());
  ASSERT_OK(sw.status());
  for (int i = 0; i < 300; ++i) {
    ASSERT_OK(
        publisher->Publish("jobs.x", MakeEvent(std::to_string(i))).status());
  }
  ASSERT_TRUE(WaitFor([&] { return all.size() == 300; }));
  ASSERT_TRUE(WaitFor([&] { return a.size() + b.size() == 300; }));
  EXPECT_GT(a.size(), 0u);
  EXPECT_GT(b.size(), 0u);
}

// The server dies with SIGKILL and comes back on the same data directory
// and address: clients reconnect by themselves, the durable group resumes,
// and every event whose publish was acknowledged reaches the group.
TEST(Server, DurableGroupSurvivesServerKill) {
  TempDir dir;
  std::string data = dir.path() + "/data";
  auto server = std::make_unique<Server>(dir, data, "127.0.0.1:0");
  std::string address = server->address();
  ASSERT_FALSE(address.empty()) << server->Log();
  auto consumer = Connect(server->url());
  auto publisher = Connect(server->url());
  ASSERT_TRUE(consumer && publisher);
  Collected got;
  SubscribeOptions options;
  options.durable = "ledger";
  options.start = StartPosition::Earliest();
  options.ack_wait = seconds(1);
  auto sub = consumer->Subscribe("ledger.entries", got.handler(), options);
  ASSERT_OK(sub.status());

  std::set<std::string> acknowledged;
  for (int i = 0; i < 200; ++i) {
    std::string data_i = "e" + std::to_string(i);
    if (publisher->Publish("ledger.entries", MakeEvent(data_i)).ok()) {
      acknowledged.insert(data_i);
    }
  }
  server->process()->Signal(SIGKILL);
  server->process()->Wait();
  server.reset();
  server = std::make_unique<Server>(dir, data, address);
  ASSERT_EQ(server->address(), address) << server->Log();

  // Publishing again succeeds once the client has reconnected.
  for (int i = 200; i < 300; ++i) {
    std::string data_i = "e" + std::to_string(i);
    bool ok = WaitFor(
        [&] {
          return publisher->Publish("ledger.entries", MakeEvent(data_i)).ok();
        },
        seconds(20));
    ASSERT_TRUE(ok) << "no reconnect";
    acknowledged.insert(data_i);
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard<std::mutex> lock(got.mu);
        for (const std::string& d : acknowledged) {
          if (got.data.count(d) == 0) return false;
        }
        return true;
      },
      seconds(30)))
      << "acknowledged events missing after the restart: got " << got.distinct()
      << " of " << acknowledged.size();
}

// A member process killed with unacknowledged deliveries: the server
// hands them to the other member at once, not after ack_wait (60 s).
TEST(Server, KilledClientsInFlightEventsGoToAnotherMember) {
  TempDir dir;
  Server server(dir, dir.path() + "/data", "127.0.0.1:0");
  ASSERT_FALSE(server.address().empty()) << server.Log();
  auto publisher = Connect(server.url());
  ASSERT_NE(publisher, nullptr);
  char self[4096] = {};
  ASSERT_GT(readlink("/proc/self/exe", self, sizeof(self) - 1), 0);
  Process child({self}, {std::string(kChildEnv) + "=" + server.url()},
                dir.path() + "/child.out");
  ASSERT_TRUE(child.started());
  // Wait for the child's member to join, then publish.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto groups = publisher->Groups();
        if (!groups.ok()) return false;
        for (const GroupInfo& g : *groups) {
          if (g.name == "crew" && g.members == 1) return true;
        }
        return false;
      },
      seconds(20)));
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(
        publisher->Publish("crew.jobs", MakeEvent(std::to_string(i))).status());
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        std::string out = child.Output();
        return std::count(out.begin(), out.end(), '\n') == 20;
      },
      seconds(20)))
      << child.Output();
  child.Signal(SIGKILL);
  child.Wait();

  auto rescuer = Connect(server.url());
  Collected got;
  SubscribeOptions options = CrewOptions();
  options.manual_ack = false;
  auto sub = rescuer->Subscribe("crew.jobs", got.handler(), options);
  ASSERT_OK(sub.status());
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return got.distinct() == 20; }, seconds(20)));
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(20));
}

// Random bytes and truncated frames from other sockets never disturb a
// good client publishing at the same time.
TEST(Server, GarbageConnectionsDoNotDisturbAGoodClient) {
  TempDir dir;
  Server server(dir, "mem:", "127.0.0.1:0");
  ASSERT_FALSE(server.address().empty()) << server.Log();
  auto good = Connect(server.url());
  ASSERT_NE(good, nullptr);
  std::atomic<int> acked{0}, failed{0};
  std::thread publisher([&] {
    for (int i = 0; i < 3000; ++i) {
      if (good->Publish("good.topic", MakeEvent("x")).ok()) {
        ++acked;
      } else {
        ++failed;
      }
    }
  });
  std::string host = server.address().substr(0, server.address().find(':'));
  int port = std::stoi(server.address().substr(server.address().find(':') + 1));
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      std::string bytes(1 + rng() % 300, '\0');
      for (char& c : bytes) c = static_cast<char>(rng());
      if (i % 3 == 0) {
        // A valid-looking header promising a body that never comes.
        bytes = std::string("\x40\x00\x00\x00\x05\x00\x00\x00", 8) +
                std::string(8, '\x01') + "partial";
      }
      ssize_t n = write(fd, bytes.data(), bytes.size());
      (void)n;
    }
    close(fd);
  }
  publisher.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(acked.load(), 3000);
  EXPECT_OK(good->Publish("good.topic", MakeEvent("after")).status());
}

TEST(Server, UsersAndPermissionsFromTheConfigFile) {
  TempDir dir;
  std::string config = dir.path() + "/eventmesh.toml";
  std::ofstream(config) << "[[users]]\nname = \"alice\"\n"
                           "password = \"s3cret\"\n"
                           "publish = [\"orders.>\"]\n"
                           "subscribe = [\"orders.*\"]\n";
  Server server(dir, "mem:", "127.0.0.1:0", {"--config", config});
  ASSERT_FALSE(server.address().empty()) << server.Log();
  MeshOptions wrong;
  wrong.user = "alice";
  wrong.password = "guess";
  wrong.connect_timeout = seconds(5);
  auto refused = Mesh::Open(server.url(), wrong);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(refused.status().message().find("wrong password"),
            std::string::npos)
      << refused.status().ToString();

  MeshOptions right = wrong;
  right.password = "s3cret";
  auto alice = Connect(server.url(), right);
  ASSERT_NE(alice, nullptr);
  EXPECT_OK(alice->Publish("orders.new", MakeEvent("x")).status());
  auto denied = alice->Publish("audit.log", MakeEvent("x"));
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.status().message().find("audit.log"), std::string::npos);
}

TEST(Server, SigtermAnswersEveryAcceptedPublishAndExitsZero) {
  TempDir dir;
  Server server(dir, dir.path() + "/data", "127.0.0.1:0");
  ASSERT_FALSE(server.address().empty()) << server.Log();
  auto client = Connect(server.url());
  ASSERT_NE(client, nullptr);
  std::atomic<int> answered{0}, ok{0};
  constexpr int kCount = 5000;
  for (int i = 0; i < kCount; ++i) {
    client->PublishAsync("shutdown.t", MakeEvent("x"),
                         [&](const Result<uint64_t>& r) {
                           if (r.ok()) ++ok;
                           ++answered;
                         });
  }
  server.process()->Signal(SIGTERM);
  EXPECT_TRUE(WaitFor([&] { return answered == kCount; }, seconds(30)))
      << answered.load() << " of " << kCount << " publishes answered";
  EXPECT_EQ(server.process()->Wait(), 0) << server.Log();
  EXPECT_NE(server.Log().find("stopped"), std::string::npos);

  // Every publish that was acknowledged is in the store.
  Server again(dir, dir.path() + "/data", "127.0.0.1:0");
  auto reader = Connect(again.url());
  ASSERT_NE(reader, nullptr);
  auto topics = reader->Topics();
  ASSERT_OK(topics.status());
  uint64_t stored = topics->empty() ? 0 : (*topics)[0].count;
  EXPECT_GE(stored, static_cast<uint64_t>(ok.load()));
}

TEST(Server, BadConfigurationExitsWithUsageError) {
  TempDir dir;
  std::string config = dir.path() + "/bad.toml";
  std::ofstream(config) << "listen = 12\n";
  Process bad({ServerBinary(), "--config", config}, {},
              dir.path() + "/bad.out");
  EXPECT_EQ(bad.Wait(), 2);
  EXPECT_NE(bad.Output().find("'listen' must be a string"), std::string::npos)
      << bad.Output();
  Process unknown({ServerBinary(), "--frobnicate"}, {},
                  dir.path() + "/unknown.out");
  EXPECT_EQ(unknown.Wait(), 2);
  Process help({ServerBinary(), "--help"}, {}, dir.path() + "/help.out");
  EXPECT_EQ(help.Wait(), 0);
  EXPECT_NE(help.Output().find("usage: eventmesh-server"), std::string::npos);
}

}  // namespace
}  // namespace eventmesh
