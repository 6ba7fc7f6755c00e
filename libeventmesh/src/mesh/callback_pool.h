// CallbackPool: the threads that run subscriber handlers.
//
// Work is a Task: an object the pool runs when it is scheduled. A task is
// never run on two threads at once, and scheduling a task that is already
// queued or running only makes it run once more afterwards, so a burst of
// events costs one hand-off, not one per event. Idle threads spin briefly
// before sleeping, so a steady stream of work does not pay a wake-up per
// batch.
//
// Thread-safe. Schedule() may be called from any thread, including from
// inside a running task.

#ifndef EVENTMESH_SRC_MESH_CALLBACK_POOL_H_
#define EVENTMESH_SRC_MESH_CALLBACK_POOL_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace eventmesh {

class Task : public std::enable_shared_from_this<Task> {
 public:
  virtual ~Task() = default;
  // Runs on a pool thread. Should return after a bounded amount of work
  // and reschedule itself when more is left, so other tasks get a turn.
  virtual void Run() = 0;

 private:
  friend class CallbackPool;
  enum State : int { kIdle, kQueued, kRunning, kRunningRequeue };
  std::atomic<int> state_{kIdle};
};

class CallbackPool {
 public:
  explicit CallbackPool(int threads);
  ~CallbackPool();  // Stop()
  CallbackPool(const CallbackPool&) = delete;
  CallbackPool& operator=(const CallbackPool&) = delete;

  // Makes `task` run soon. Cheap when it is already queued or running.
  void Schedule(const std::shared_ptr<Task>& task);

  // Runs what is queued, then joins the threads. Idempotent; must not be
  // called from a pool thread.
  void Stop();

  // The task running on the calling thread, or nullptr off the pool.
  static const Task* Current();

 private:
  void Push(std::shared_ptr<Task> task);
  void WorkerLoop();
  std::shared_ptr<Task> Next();
  void RunOne(std::shared_ptr<Task> task);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Task>> queue_;
  std::atomic<size_t> queued_{0};
  int sleepers_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace eventmesh

#endif  // EVENTMESH_SRC_MESH_CALLBACK_POOL_H_
