#include "mesh/callback_pool.h"

#include <chrono>

#include "eventmesh/clock.h"
#include "util/thread_name.h"

namespace eventmesh {
namespace {

thread_local const Task* t_current_task = nullptr;

// How long an idle worker polls for work before it sleeps: long enough to
// bridge the gap between a publisher's batches, short enough not to burn
// a core when the mesh is idle. It yields while it polls, so a publisher
// sharing its core loses little.
constexpr int64_t kSpinNanos = 20'000;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace

CallbackPool::CallbackPool(int threads) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
}

CallbackPool::~CallbackPool() { Stop(); }

const Task* CallbackPool::Current() { return t_current_task; }

void CallbackPool::Schedule(const std::shared_ptr<Task>& task) {
  int state = task->state_.load(std::memory_order_acquire);
  for (;;) {
    int next;
    switch (state) {
      case Task::kIdle:
        next = Task::kQueued;
        break;
      case Task::kRunning:
        next = Task::kRunningRequeue;
        break;
      default:
        return;  // already queued, or will run again
    }
    if (task->state_.compare_exchange_weak(state, next,
                                           std::memory_order_acq_rel)) {
      if (next == Task::kQueued) Push(task);
      return;
    }
  }
}

void CallbackPool::Push(std::shared_ptr<Task> task) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(task));
    queued_.store(queue_.size(), std::memory_order_release);
    wake = sleepers_ > 0;
  }
  if (wake) cv_.notify_one();
}

std::shared_ptr<Task> CallbackPool::Next() {
  // Poll without the lock for a while before sleeping.
  int64_t spin_until = MonotonicNanos() + kSpinNanos;
  while (queued_.load(std::memory_order_acquire) == 0) {
    if (MonotonicNanos() > spin_until) break;
    for (int i = 0; i < 16; ++i) CpuRelax();
    std::this_thread::yield();
  }

  std::unique_lock<std::mutex> lock(mu_);
  while (queue_.empty()) {
    if (stopping_) return nullptr;
    ++sleepers_;
    cv_.wait(lock);
    --sleepers_;
  }
  std::shared_ptr<Task> task = std::move(queue_.front());
  queue_.pop_front();
  queued_.store(queue_.size(), std::memory_order_release);
  return task;
}

void CallbackPool::RunOne(std::shared_ptr<Task> task) {
  task->state_.store(Task::kRunning, std::memory_order_release);
  t_current_task = task.get();
  task->Run();
  t_current_task = nullptr;

  // Run again when it was scheduled while running.
  int state = Task::kRunning;
  if (!task->state_.compare_exchange_strong(state, Task::kIdle,
                                            std::memory_order_acq_rel)) {
    task->state_.store(Task::kQueued, std::memory_order_release);
    Push(std::move(task));
  }
}

void CallbackPool::WorkerLoop() {
  NameThisThread("em-callback");
  while (std::shared_ptr<Task> task = Next()) RunOne(std::move(task));
}

void CallbackPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

}  // namespace eventmesh
