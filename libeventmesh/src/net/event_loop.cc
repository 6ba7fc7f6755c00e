#include "net/event_loop.h"

#include <condition_variable>
#include <cstring>

#include "util/thread_name.h"

namespace eventmesh::net {

EventLoop::EventLoop() {
  if (uv_loop_init(&loop_) != 0) Fatal("uv_loop_init failed");
  if (uv_async_init(&loop_, &async_, &EventLoop::OnAsync) != 0) {
    Fatal("uv_async_init failed");
  }
  async_.data = this;
}

EventLoop::~EventLoop() {
  Stop();
  if (!thread_.joinable() &&
      !uv_is_closing(reinterpret_cast<uv_handle_t*>(&async_))) {
    // Never started: close the async handle and let the loop finish.
    CloseEverything();
    uv_run(&loop_, UV_RUN_DEFAULT);
  }
  if (uv_loop_close(&loop_) != 0) Fatal("event loop closed with live handles");
}

Status EventLoop::Start(std::string name) {
  if (running_.load()) return FailedPrecondition("event loop already started");
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this, name = std::move(name)] {
    thread_id_.store(std::this_thread::get_id());
    NameThisThread(name);
    uv_run(&loop_, UV_RUN_DEFAULT);
  });
  return Status::Ok();
}

void EventLoop::Post(Task task) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
    wake = !wake_pending_;
    wake_pending_ = true;
  }
  // One send per batch: later posts see wake_pending_ and skip it.
  if (wake) uv_async_send(&async_);
}

bool EventLoop::RunSync(const Task& task) {
  if (InLoopThread()) {
    task();
    return true;
  }
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || !running_.load()) return false;
  }
  Post([&] {
    task();
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_one();
  });
  std::unique_lock<std::mutex> lock(mu);
  // A task dropped by Stop() never sets done; Stop() joins the thread, so
  // waiting for running_ to fall is enough to not hang.
  while (!done) {
    if (cv.wait_for(lock, std::chrono::milliseconds(50),
                    [&] { return done; })) {
      break;
    }
    if (!running_.load()) return done;
  }
  return true;
}

void EventLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (!thread_.joinable()) return;
  if (InLoopThread()) Fatal("EventLoop::Stop called on the loop thread");
  uv_async_send(&async_);
  thread_.join();
  running_.store(false, std::memory_order_release);
}

bool EventLoop::InLoopThread() const {
  return std::this_thread::get_id() == thread_id_.load();
}

void EventLoop::OnAsync(uv_async_t* handle) {
  static_cast<EventLoop*>(handle->data)->Drain();
}

void EventLoop::Drain() {
  std::vector<Task> tasks;
  bool stopping = false;
  // Tasks may post more tasks; those wait for the next wake-up so one
  // producer cannot starve the loop's I/O.
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks.swap(tasks_);
    wake_pending_ = false;
    stopping = stopping_;
  }
  for (Task& task : tasks) task();
  if (!stopping) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks.clear();
    tasks.swap(tasks_);
  }
  for (Task& task : tasks) task();
  CloseEverything();
}

void EventLoop::CloseEverything() {
  uv_walk(
      &loop_,
      [](uv_handle_t* handle, void*) {
        if (!uv_is_closing(handle)) uv_close(handle, nullptr);
      },
      nullptr);
}

Status ParseHostPort(std::string_view text, sockaddr_storage* addr) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) {
    return InvalidArgument("address '" + std::string(text) +
                           "' has no port; use host:port");
  }
  std::string host(text.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  int port = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) {
      return InvalidArgument("address '" + std::string(text) +
                             "' has a bad port");
    }
    port = port * 10 + (c - '0');
  }
  if (port > 65535) {
    return InvalidArgument("port in '" + std::string(text) +
                           "' is above 65535");
  }
  std::memset(addr, 0, sizeof(*addr));
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(addr)) ==
      0) {
    return Status::Ok();
  }
  if (uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(addr)) ==
      0) {
    return Status::Ok();
  }
  return InvalidArgument("host '" + host +
                         "' is not an IP address (names are not resolved; "
                         "use e.g. 127.0.0.1)");
}

std::string FormatAddress(const sockaddr* addr) {
  char host[64] = {};
  int port = 0;
  if (addr->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    uv_ip6_name(in6, host, sizeof(host));
    port = ntohs(in6->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  auto* in = reinterpret_cast<const sockaddr_in*>(addr);
  uv_ip4_name(in, host, sizeof(host));
  port = ntohs(in->sin_port);
  return std::string(host) + ":" + std::to_string(port);
}

Status UvStatus(int uv_error, std::string_view context) {
  std::string message = std::string(context) + ": " + uv_strerror(uv_error);
  switch (uv_error) {
    case UV_ECONNREFUSED:
    case UV_ECONNRESET:
    case UV_ETIMEDOUT:
    case UV_EPIPE:
    case UV_ENETUNREACH:
    case UV_EHOSTUNREACH:
    case UV_EOF:
    case UV_EADDRINUSE:
    case UV_EADDRNOTAVAIL:
      return Unavailable(std::move(message));
    case UV_EMFILE:
    case UV_ENFILE:
    case UV_ENOMEM:
    case UV_ENOBUFS:
      return ResourceExhausted(std::move(message));
    default:
      return Internal(std::move(message));
  }
}

}  // namespace eventmesh::net
