// Timer: schedules pool tasks at a monotonic deadline (redelivery after
// ack_wait, nack delays). One thread sleeps until the earliest deadline.
// A task that is destroyed before its deadline is skipped.
//
// Thread-safe.

#ifndef EVENTMESH_SRC_MESH_TIMER_H_
#define EVENTMESH_SRC_MESH_TIMER_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include "mesh/callback_pool.h"

namespace eventmesh {

class Timer {
 public:
  explicit Timer(CallbackPool* pool);
  ~Timer();  // Stop()
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Schedules `task` on the pool at MonotonicNanos() >= `deadline_nanos`.
  void At(int64_t deadline_nanos, const std::shared_ptr<Task>& task);

  // Drops every pending deadline and joins the thread. Idempotent.
  void Stop();

 private:
  struct Entry {
    int64_t deadline;
    std::weak_ptr<Task> task;
    bool operator>(const Entry& o) const { return deadline > o.deadline; }
  };
  void Loop();

  CallbackPool* pool_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace eventmesh

#endif  // EVENTMESH_SRC_MESH_TIMER_H_
