// EventLoop: a libuv loop running on its own thread, with a task queue other
// threads post to.
//
// Posting is cheap and batched: tasks go into one locked vector and a single
// uv_async_t wakes the loop, which drains every task posted since the last
// wake-up together, so a burst of posts costs one wake-up. Listeners (the
// native TCP server, the HTTP listener) create their handles on loop() from
// the loop thread (inside a posted task, or before Start()).
//
// Thread-safety: Post(), RunSync(), Stop() and InLoopThread() may be called
// from any thread; loop() must only be used on the loop thread (or before
// Start()).

#ifndef EVENTMESH_SRC_NET_EVENT_LOOP_H_
#define EVENTMESH_SRC_NET_EVENT_LOOP_H_

#include <uv.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "eventmesh/status.h"

namespace eventmesh::net {

class EventLoop {
 public:
  using Task = std::function<void()>;

  EventLoop();
  // Stops the loop (see Stop()).
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Starts the loop thread. kInternal when libuv fails.
  Status Start(std::string name);

  // Runs `task` on the loop thread soon. Tasks run in the order posted.
  // After Stop() tasks are dropped (destroyed without running).
  void Post(Task task);

  // Runs `task` on the loop thread and waits for it to return. Runs it
  // directly when called on the loop thread. Returns false (without
  // running it) when the loop is stopped.
  bool RunSync(const Task& task);

  // Runs the remaining posted tasks, closes every handle still open on the
  // loop (their close callbacks run), and joins the thread. Idempotent.
  // Must not be called on the loop thread.
  void Stop();

  bool InLoopThread() const;
  bool running() const { return running_.load(std::memory_order_acquire); }
  uv_loop_t* loop() { return &loop_; }

 private:
  static void OnAsync(uv_async_t* handle);
  void Drain();
  void CloseEverything();

  uv_loop_t loop_;
  uv_async_t async_;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  std::atomic<bool> running_{false};

  std::mutex mu_;
  std::vector<Task> tasks_;    // guarded by mu_
  bool stopping_ = false;      // guarded by mu_
  bool wake_pending_ = false;  // guarded by mu_: an async send is due
};

// "127.0.0.1:10000" -> sockaddr; kInvalidArgument naming the problem.
Status ParseHostPort(std::string_view text, sockaddr_storage* addr);
// The address as "host:port".
std::string FormatAddress(const sockaddr* addr);
// A libuv error code as a Status (kUnavailable for connection errors,
// kResourceExhausted for EMFILE/ENOMEM, else kInternal), with context.
Status UvStatus(int uv_error, std::string_view context);

}  // namespace eventmesh::net

#endif  // EVENTMESH_SRC_NET_EVENT_LOOP_H_
