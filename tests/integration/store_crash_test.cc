// Kills a process appending to an LMDB store with SIGKILL at random
// moments, at least 50 times, and checks after every kill that the store
// opens, that every event the writer saw acknowledged is there and
// byte-identical, that sequences have no gaps, and that the state record
// it saw acknowledged is intact.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "eventmesh/store.h"
#include "integration/helpers/store_crash_common.h"
#include "unit/store_test_util.h"

extern char** environ;

namespace eventmesh::crash_test {
namespace {

struct Acked {
  std::string topic;
  uint64_t sequence;
  uint64_t hash;
};

// A running writer process and the read end of its report pipe.
struct Writer {
  pid_t pid = -1;
  int fd = -1;
  std::string pending;  // an incomplete last line
};

Writer StartWriter(const std::string& dir, unsigned seed) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::string fd_arg = std::to_string(fds[1]);
  std::string seed_arg = std::to_string(seed);
  const char* argv[] = {EVENTMESH_STORE_CRASH_WRITER, dir.c_str(),
                        fd_arg.c_str(), seed_arg.c_str(), nullptr};
  Writer writer;
  int rc = posix_spawn(&writer.pid, EVENTMESH_STORE_CRASH_WRITER, &actions,
                       nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return {};
  }
  writer.fd = fds[0];
  return writer;
}

// Reads what is in the pipe until `deadline` (or end of file), parsing
// complete lines into `*events` and `*state`.
void Collect(Writer& writer, std::chrono::steady_clock::time_point deadline,
             std::vector<Acked>* events, uint64_t* state) {
  char buffer[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{writer.fd, POLLIN, 0};
    int timeout = std::max<int>(0, static_cast<int>(left.count()));
    if (poll(&pfd, 1, timeout) <= 0) return;
    ssize_t n = read(writer.fd, buffer, sizeof(buffer));
    if (n <= 0) return;
    writer.pending.append(buffer, static_cast<size_t>(n));
    size_t begin = 0;
    for (size_t end;
         (end = writer.pending.find('\n', begin)) != std::string::npos;
         begin = end + 1) {
      std::istringstream line(writer.pending.substr(begin, end - begin));
      std::string kind;
      line >> kind;
      if (kind == "E") {
        Acked acked;
        line >> acked.topic >> acked.sequence >> acked.hash;
        events->push_back(acked);
      } else if (kind == "S") {
        line >> *state;
      }
    }
    writer.pending.erase(0, begin);
  }
}

TEST(StoreCrash, KilledWriterLosesNothingAcknowledged) {
  testing::TempDir dir;
  std::mt19937 rng(12345);
  constexpr int kKills = 50;
  auto test_deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(50);
  uint64_t acked_state = 0;
  size_t total_acked = 0;
  std::map<std::string, uint64_t> verified_last;  // per topic

  for (int round = 0; round < kKills; ++round) {
    ASSERT_LT(std::chrono::steady_clock::now(), test_deadline)
        << "too slow: only " << round << " kills";
    Writer writer = StartWriter(dir.path(), 1000 + round);
    ASSERT_GT(writer.pid, 0) << "could not start the writer";
    std::vector<Acked> acked;

    // Wait for the first acknowledgement, so the kill lands while the
    // store is busy, then a random while longer.
    auto first_deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (acked.empty() && std::chrono::steady_clock::now() < first_deadline) {
      Collect(writer,
              std::chrono::steady_clock::now() + std::chrono::milliseconds(5),
              &acked, &acked_state);
    }
    ASSERT_FALSE(acked.empty()) << "round " << round << ": no acknowledgement";
    if (round % 10 == 0) {
      // While the writer has the directory, nobody else may open it.
      auto second = OpenLmdbStore(dir.path(), StoreOptions());
      ASSERT_FALSE(second.ok());
      EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
    }
    Collect(writer,
            std::chrono::steady_clock::now() +
                std::chrono::milliseconds(5 + rng() % 120),
            &acked, &acked_state);
    kill(writer.pid, SIGKILL);
    int wstatus = 0;
    waitpid(writer.pid, &wstatus, 0);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the writer exited by itself";
    Collect(writer, std::chrono::steady_clock::now(), &acked, &acked_state);
    close(writer.fd);
    total_acked += acked.size();

    // The store opens and holds every acknowledged event, unchanged.
    auto opened = OpenLmdbStore(dir.path(), StoreOptions());
    ASSERT_TRUE(opened.ok())
        << "round " << round << ": " << opened.status().ToString();
    std::unique_ptr<Store> store = std::move(opened).value();
    for (const Acked& a : acked) {
      std::vector<LogRecord> out;
      ASSERT_TRUE(store->ReadTopic(a.topic, a.sequence, 1, &out).ok());
      ASSERT_EQ(out.size(), 1u) << a.topic << " " << a.sequence;
      ASSERT_EQ(out[0].event->sequence, a.sequence);
      ASSERT_EQ(ContentHash(EncodeBinary(*out[0].event)), a.hash)
          << "round " << round << ": " << a.topic << " " << a.sequence
          << " differs";
    }

    // Sequences run from 1 without gaps; check the new ones.
    auto topics = store->Topics();
    ASSERT_TRUE(topics.ok()) << topics.status().ToString();
    for (const TopicInfo& topic : *topics) {
      EXPECT_EQ(topic.first_sequence, 1u);
      EXPECT_EQ(topic.count, topic.last_sequence) << topic.topic;
      uint64_t from = verified_last[topic.topic] + 1;
      std::vector<LogRecord> out;
      ASSERT_TRUE(store->ReadTopic(topic.topic, from, 1u << 20, &out).ok());
      for (const LogRecord& r : out) {
        ASSERT_EQ(r.event->sequence, from++) << topic.topic;
      }
      verified_last[topic.topic] = topic.last_sequence;
    }

    // The state record holds at least the last acknowledged value.
    if (acked_state != 0) {
      auto value = store->GetState(kStateKey);
      ASSERT_TRUE(value.ok()) << value.status().ToString();
      EXPECT_GE(std::stoull(*value), acked_state);
    }
    ASSERT_TRUE(store->Close().ok());
  }
  std::printf("%d kills, %zu acknowledged events verified\n", kKills,
              total_acked);
}

}  // namespace
}  // namespace eventmesh::crash_test
