// LoopInbox: hands work from any thread to one libuv loop, in batches.
//
// Post() queues a function and wakes the loop only when the queue was
// empty, so a burst of completions (publish acks, deliveries) costs one
// wake-up and runs as one batch on the loop thread.
//
// Thread-safety: Post() from any thread, also after Close() (the work is
// then dropped). Start() and Close() on the loop thread.

#ifndef EVENTMESH_SRC_NET_HTTP_LOOP_INBOX_H_
#define EVENTMESH_SRC_NET_HTTP_LOOP_INBOX_H_

#include <uv.h>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace eventmesh::http {

class LoopInbox {
 public:
  using Work = std::function<void()>;

  // `after_batch` runs on the loop thread after each batch (to flush
  // writes the batch produced).
  LoopInbox(uv_loop_t* loop, std::function<void()> after_batch);
  ~LoopInbox();
  LoopInbox(const LoopInbox&) = delete;
  LoopInbox& operator=(const LoopInbox&) = delete;

  int Start();
  // Drops queued work and closes the handle; `closed` runs once it is.
  void Close(std::function<void()> closed);

  // The part that outlives the inbox: producers hold it, so a late Post()
  // after Close() is harmless.
  class Core {
   public:
    void Post(Work work);

   private:
    friend class LoopInbox;
    std::mutex mu_;
    std::vector<Work> queue_;
    uv_async_t* async_ = nullptr;  // null once closed
  };
  const std::shared_ptr<Core>& core() const { return core_; }
  void Post(Work work) { core_->Post(std::move(work)); }

 private:
  static void OnAsync(uv_async_t* handle);
  void Drain();

  uv_loop_t* loop_;
  std::function<void()> after_batch_;
  std::function<void()> closed_;
  std::shared_ptr<Core> core_;
  uv_async_t* async_;
};

}  // namespace eventmesh::http

#endif  // EVENTMESH_SRC_NET_HTTP_LOOP_INBOX_H_
