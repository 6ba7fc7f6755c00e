// PublishWindow: bounds how many of one publisher's publishes are
// unanswered, for the workloads that pipeline publishes.
//
// A publisher that finds its window full sleeps until half of it has been
// answered, so it wakes once per half window rather than once per answer
// (a publisher that polls instead takes CPU from the threads it waits
// for). Leave() may run on any thread; the window must outlive the last
// Leave(), not just Drain().

#ifndef EVENTMESH_TOOLS_BENCH_PUBLISH_WINDOW_H_
#define EVENTMESH_TOOLS_BENCH_PUBLISH_WINDOW_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace eventmesh::bench {

class PublishWindow {
 public:
  explicit PublishWindow(int64_t size) : size_(size < 2 ? 2 : size) {}
  PublishWindow(const PublishWindow&) = delete;
  PublishWindow& operator=(const PublishWindow&) = delete;

  // Before each publish: waits while `size` publishes are unanswered.
  void Enter() {
    if (in_flight_.fetch_add(1) < size_) return;
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return in_flight_.load() <= size_ / 2; });
  }

  // When a publish is answered, whatever the answer.
  void Leave() {
    int64_t left = in_flight_.fetch_sub(1) - 1;
    if (left == size_ / 2 || left == 0) {
      std::lock_guard<std::mutex> lock(mu_);
      cv_.notify_one();
    }
  }

  // Waits until every publish has been answered.
  void Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return in_flight_.load() == 0; });
  }

 private:
  const int64_t size_;
  std::atomic<int64_t> in_flight_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace eventmesh::bench

#endif  // EVENTMESH_TOOLS_BENCH_PUBLISH_WINDOW_H_
