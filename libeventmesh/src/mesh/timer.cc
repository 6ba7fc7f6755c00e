#include "mesh/timer.h"

#include <chrono>

#include "eventmesh/clock.h"
#include "util/thread_name.h"

namespace eventmesh {

Timer::Timer(CallbackPool* pool) : pool_(pool) {
  thread_ = std::thread([this] { Loop(); });
}

Timer::~Timer() { Stop(); }

void Timer::At(int64_t deadline_nanos, const std::shared_ptr<Task>& task) {
  bool earliest;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    earliest = heap_.empty() || deadline_nanos < heap_.top().deadline;
    heap_.push(Entry{deadline_nanos, task});
  }
  if (earliest) cv_.notify_one();
}

void Timer::Loop() {
  NameThisThread("em-timer");
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (heap_.empty()) {
      cv_.wait(lock);
      continue;
    }
    int64_t now = MonotonicNanos();
    if (heap_.top().deadline > now) {
      cv_.wait_for(lock, std::chrono::nanoseconds(heap_.top().deadline - now));
      continue;
    }
    std::shared_ptr<Task> task = heap_.top().task.lock();
    heap_.pop();
    if (task) {
      lock.unlock();
      pool_->Schedule(task);
      lock.lock();
    }
  }
}

void Timer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    while (!heap_.empty()) heap_.pop();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace eventmesh
