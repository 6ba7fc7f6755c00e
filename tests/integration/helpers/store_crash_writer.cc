// store_crash_writer DIR REPORT_FD SEED
//
// Appends to the LMDB store in DIR with Durability::kSync as fast as it
// can, keeping many appends in flight, and writes one line per
// acknowledged event ("E topic sequence hash") and per acknowledged state
// record ("S key value") to REPORT_FD. It runs until it is killed; the
// store crash test kills it with SIGKILL at random moments.

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>

#include "eventmesh/store.h"
#include "integration/helpers/store_crash_common.h"

namespace eventmesh::crash_test {
namespace {

constexpr int kMaxInFlight = 32;

// Writes `text` in pieces of whole lines no longer than PIPE_BUF, so each
// write is atomic and a kill never leaves half a line.
void Report(int fd, const std::string& text) {
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = std::min(text.size(), begin + 4000);
    if (end < text.size()) end = text.rfind('\n', end - 1) + 1;
    ssize_t n = ::write(fd, text.data() + begin, end - begin);
    if (n <= 0) std::_Exit(3);  // the test is gone
    begin += static_cast<size_t>(n);
  }
}

int Run(const std::string& dir, int fd, unsigned seed) {
  StoreOptions options;
  options.initial_map_bytes = 4ull << 20;
  auto opened = OpenLmdbStore(dir, options);
  if (!opened.ok()) {
    std::fprintf(stderr, "store_crash_writer: %s\n",
                 opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<Store> store = std::move(opened).value();
  std::mt19937 rng(seed);
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  uint64_t next_id = 0;
  uint64_t state_value = static_cast<uint64_t>(seed) << 20;

  for (uint64_t round = 0;; ++round) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight < kMaxInFlight; });
      ++in_flight;
    }
    auto release = [&] {
      std::lock_guard<std::mutex> lock(mu);
      --in_flight;
      cv.notify_one();
    };
    if (round % 16 == 15) {
      std::string value = std::to_string(++state_value);
      store->PutState(kStateKey, value, Durability::kSync,
                      [fd, value, release](Status s) {
                        if (s.ok()) Report(fd, "S " + value + "\n");
                        release();
                      });
      continue;
    }
    std::vector<std::shared_ptr<Event>> events(1 + rng() % 8);
    for (auto& event : events) {
      event = std::make_shared<Event>();
      event->id = std::to_string(seed) + "-" + std::to_string(next_id++);
      event->source = "/crash";
      event->type = "crash.test";
      event->topic = "crash.t" + std::to_string(rng() % kTopics);
      event->data.assign(rng() % 1500, static_cast<char>('a' + rng() % 26));
    }
    auto kept = events;
    store->Append(std::move(events), Durability::kSync,
                  [fd, kept, release](std::vector<AppendOutcome>& outcomes) {
                    std::string lines;
                    for (size_t i = 0; i < outcomes.size(); ++i) {
                      if (!outcomes[i].status.ok()) continue;
                      const Event& e = *kept[i];
                      lines += "E " + e.topic + " " +
                               std::to_string(outcomes[i].sequence) + " " +
                               std::to_string(ContentHash(EncodeBinary(e))) +
                               "\n";
                    }
                    Report(fd, lines);
                    release();
                  });
  }
}

}  // namespace
}  // namespace eventmesh::crash_test

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: store_crash_writer DIR REPORT_FD SEED\n");
    return 2;
  }
  return eventmesh::crash_test::Run(argv[1], std::atoi(argv[2]),
                                    static_cast<unsigned>(std::atol(argv[3])));
}
