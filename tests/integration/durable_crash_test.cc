// A durable group consumer killed with SIGKILL while it acks, over and
// over: no event whose ack returned success is delivered to the group
// again, the group's acknowledged floor never goes backwards, and no event
// the group has not acknowledged is lost.
//
// The consumer is this same binary re-executed with EVENTMESH_CRASH_CHILD
// set to the data directory; it reports on stdout "D <sequence>" for each
// delivery, "K <sequence>" as it starts an ack and "A <sequence>" once the
// ack succeeded. An event killed between K and A may or may not be acked.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "eventmesh/mesh.h"
#include "eventmesh/store.h"
#include "unit/test_util.h"

namespace eventmesh {
namespace {

constexpr char kChildEnv[] = "EVENTMESH_CRASH_CHILD";
constexpr char kTopic[] = "crash.jobs";
constexpr char kDurable[] = "crashers";

void WriteLine(const std::string& line) {
  std::string out = line + "\n";
  ssize_t n = write(STDOUT_FILENO, out.data(), out.size());
  (void)n;
}

SubscribeOptions ConsumerOptions() {
  SubscribeOptions o;
  o.durable = kDurable;
  o.manual_ack = true;
  o.start = StartPosition::Earliest();
  o.max_in_flight = 16;
  o.ack_wait = std::chrono::milliseconds(200);
  o.max_deliver = 0;  // never dead-letter here
  return o;
}

// The child: consume and ack until killed (or ten seconds pass).
int RunChild(const char* dir) {
  auto mesh = Mesh::Open(dir);
  if (!mesh.ok()) {
    std::fprintf(stderr, "child: %s\n", mesh.status().ToString().c_str());
    return 1;
  }
  auto sub = (*mesh)->Subscribe(
      kTopic,
      [](const Delivery& d) {
        std::string seq = std::to_string(d.event().sequence);
        WriteLine("D " + seq);
        WriteLine("K " + seq);  // acking: the outcome may be cut off
        if (d.Ack().ok()) WriteLine("A " + seq);
      },
      ConsumerOptions());
  if (!sub.ok()) return 1;
  std::this_thread::sleep_for(std::chrono::seconds(10));
  return 0;
}

// Runs before gtest: the re-executed binary becomes the child.
const int kChildMode = [] {
  if (const char* dir = std::getenv(kChildEnv)) std::exit(RunChild(dir));
  return 0;
}();

// The group's floor as stored: the smallest unacked position, or the next
// unread one.
uint64_t StoredFloor(const std::string& dir) {
  auto store = OpenLmdbStore(dir, StoreOptions{});
  if (!store.ok()) return 0;
  auto state = (*store)->GetState(std::string("consumer/") + kDurable);
  (*store)->Close().IgnoreError();
  if (!state.ok()) return 0;
  std::istringstream in(*state);
  std::string version, pattern, next, pending;
  std::getline(in, version);
  std::getline(in, pattern);
  std::getline(in, next);
  std::getline(in, pending);
  uint64_t floor = std::stoull(next);
  std::istringstream list(pending);
  uint64_t pos;
  while (list >> pos) floor = std::min(floor, pos);
  return floor;
}

TEST(DurableCrash, KilledWhileAckingNeverRedeliversAckedOrLosesUnacked) {
  eventmesh::testing::TempDir dir;
  std::mt19937 rng(12345);
  std::set<uint64_t> published, acked, maybe_acked;
  uint64_t last_floor = 0;
  int redelivered_after_ack = 0;

  for (int round = 0; round < 50; ++round) {
    // Publish a few more events with the directory to ourselves.
    {
      auto mesh = Mesh::Open(dir.path());
      ASSERT_TRUE(mesh.ok()) << mesh.status().ToString();
      for (int i = 0; i < 20; ++i) {
        auto seq = (*mesh)->Publish(kTopic, testing::MakeEvent("job"));
        ASSERT_TRUE(seq.ok()) << seq.status().ToString();
        published.insert(*seq);
      }
    }

    // Start the consumer, let it run a random while, kill it.
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      setenv(kChildEnv, dir.path().c_str(), 1);
      execl("/proc/self/exe", "durable_crash_child", nullptr);
      _exit(127);
    }
    close(out[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(
        std::uniform_int_distribution<int>(5, 60)(rng)));
    kill(pid, SIGKILL);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);

    // What the child said before it died.
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) > 0) text.append(buf, n);
    close(out[0]);
    std::istringstream lines(text);
    std::string kind;
    uint64_t seq;
    while (lines >> kind >> seq) {
      if (kind == "D" && acked.count(seq)) ++redelivered_after_ack;
      // Delivered again: an earlier cut-off ack did not take.
      if (kind == "D") maybe_acked.erase(seq);
      if (kind == "K") maybe_acked.insert(seq);
      if (kind == "A") acked.insert(seq);
    }

    uint64_t floor = StoredFloor(dir.path());
    EXPECT_GE(floor, last_floor) << "round " << round;
    last_floor = floor;
  }
  EXPECT_EQ(redelivered_after_ack, 0);
  EXPECT_FALSE(acked.empty()) << "the consumer never got to ack";

  // Drain: everything not acknowledged is still there for the group.
  auto mesh = Mesh::Open(dir.path());
  ASSERT_TRUE(mesh.ok());
  std::mutex mu;
  std::set<uint64_t> drained;
  auto sub = (*mesh)->Subscribe(
      kTopic,
      [&](const Delivery& d) {
        EXPECT_OK(d.Ack());
        std::lock_guard<std::mutex> lock(mu);
        drained.insert(d.event().sequence);
      },
      ConsumerOptions());
  ASSERT_TRUE(sub.ok());
  std::set<uint64_t> expected;
  for (uint64_t s : published) {
    if (!acked.count(s) && !maybe_acked.count(s)) expected.insert(s);
  }
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        for (uint64_t s : expected) {
          if (!drained.count(s)) return false;
        }
        return true;
      },
      std::chrono::seconds(30)));
  std::lock_guard<std::mutex> lock(mu);
  for (uint64_t s : expected) {
    EXPECT_EQ(drained.count(s), 1u) << "unacked event " << s << " was lost";
  }
  for (uint64_t s : drained) {
    EXPECT_EQ(acked.count(s), 0u) << "acked event " << s << " came back";
  }
  std::printf("published %zu, acked across kills %zu, drained %zu\n",
              published.size(), acked.size(), drained.size());
}

}  // namespace
}  // namespace eventmesh
