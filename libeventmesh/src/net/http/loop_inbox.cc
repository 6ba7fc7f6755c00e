#include "net/http/loop_inbox.h"

#include <utility>

namespace eventmesh::http {

LoopInbox::LoopInbox(uv_loop_t* loop, std::function<void()> after_batch)
    : loop_(loop),
      after_batch_(std::move(after_batch)),
      core_(std::make_shared<Core>()),
      async_(new uv_async_t) {
  async_->data = this;
}

LoopInbox::~LoopInbox() {
  // Close() hands the handle to libuv, which frees it in the close
  // callback; an inbox never started still owns it.
  if (async_ != nullptr) delete async_;
}

int LoopInbox::Start() {
  int rc = uv_async_init(loop_, async_, &LoopInbox::OnAsync);
  if (rc != 0) return rc;
  std::lock_guard<std::mutex> lock(core_->mu_);
  core_->async_ = async_;
  return 0;
}

void LoopInbox::Core::Post(Work work) {
  std::lock_guard<std::mutex> lock(mu_);
  if (async_ == nullptr) return;
  bool was_empty = queue_.empty();
  queue_.push_back(std::move(work));
  if (was_empty) uv_async_send(async_);
}

void LoopInbox::OnAsync(uv_async_t* handle) {
  static_cast<LoopInbox*>(handle->data)->Drain();
}

void LoopInbox::Drain() {
  std::vector<Work> batch;
  {
    std::lock_guard<std::mutex> lock(core_->mu_);
    batch.swap(core_->queue_);
  }
  for (Work& work : batch) work();
  if (after_batch_) after_batch_();
}

void LoopInbox::Close(std::function<void()> closed) {
  std::vector<Work> dropped;
  {
    std::lock_guard<std::mutex> lock(core_->mu_);
    if (core_->async_ == nullptr) {
      if (closed) closed();
      return;
    }
    core_->async_ = nullptr;
    dropped.swap(core_->queue_);
  }
  closed_ = std::move(closed);
  uv_async_t* handle = async_;
  async_ = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle), [](uv_handle_t* h) {
    auto* self = static_cast<LoopInbox*>(h->data);
    delete reinterpret_cast<uv_async_t*>(h);
    if (self->closed_) self->closed_();
  });
}

}  // namespace eventmesh::http
