#include "subscription.h"

#include <pybind11/stl.h>

#include <chrono>

namespace eventmesh::python {

PySubscription::PySubscription(std::shared_ptr<Mesh> mesh, py::object callback,
                               size_t max_queued)
    : mesh_(std::move(mesh)),
      callback_(std::move(callback)),
      max_queued_(max_queued ? max_queued : 1) {}

PySubscription::~PySubscription() {
  // Handlers may be waiting for the GIL: stop them without holding it.
  py::gil_scoped_release release;
  if (subscription_) {
    subscription_->Unsubscribe().IgnoreError();
    subscription_.reset();
  }
}

void PySubscription::Start(const std::string& pattern,
                           const SubscribeOptions& options) {
  Result<std::unique_ptr<Subscription>> sub = Unavailable("not started");
  {
    py::gil_scoped_release release;
    sub = mesh_->SubscribeBatch(
        pattern, [this](const std::vector<Delivery>& b) { OnBatch(b); },
        options);
  }
  subscription_ = Unwrap(std::move(sub));
}

void PySubscription::OnBatch(const std::vector<Delivery>& batch) {
  if (!PythonAlive()) return;
  if (callback_.is_none()) {
    Enqueue(batch);
  } else {
    CallPython(batch);
  }
}

// One GIL acquisition per batch. The Python layer catches the callback's
// own exceptions; anything escaping it still must not stop delivery.
void PySubscription::CallPython(const std::vector<Delivery>& batch) {
  py::gil_scoped_acquire gil;
  for (const Delivery& d : batch) {
    try {
      callback_(PyEvent(d));
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("eventmesh subscription callback");
    }
  }
}

void PySubscription::Enqueue(const std::vector<Delivery>& batch) {
  py::object waker;
  {
    std::unique_lock<std::mutex> lock(mu_);
    for (const Delivery& d : batch) {
      // Hold back while the reader is behind; the mesh's flow control
      // (max_pending / max_in_flight) takes over from here.
      cv_.wait(lock, [&] { return closed_ || queue_.size() < max_queued_; });
      if (closed_) return;
      queue_.push_back(d);
    }
    waker = std::move(waker_);
    waker_ = py::object();
  }
  cv_.notify_all();
  if (waker) {
    py::gil_scoped_acquire gil;
    try {
      waker();
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("eventmesh subscription waker");
    }
    waker = py::object();  // released with the GIL held
  }
}

py::object PySubscription::PopLocked(std::unique_lock<std::mutex>& lock) {
  Delivery d = std::move(queue_.front());
  queue_.pop_front();
  lock.unlock();
  cv_.notify_all();
  return py::cast(PyEvent(d));
}

// The item is taken with the GIL released and mu_ unlocked before the GIL
// is taken back: whoever holds mu_ never waits for the GIL.
py::object PySubscription::Get(std::optional<double> timeout) {
  std::optional<Delivery> item;
  bool closed = false;
  {
    py::gil_scoped_release release;
    std::unique_lock<std::mutex> lock(mu_);
    auto ready = [&] { return closed_ || !queue_.empty(); };
    if (timeout) {
      cv_.wait_for(lock, std::chrono::duration<double>(*timeout), ready);
    } else {
      // The Python layer waits in short slices so that Ctrl-C gets through.
      cv_.wait(lock, ready);
    }
    if (!queue_.empty()) {
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    closed = closed_;
  }
  cv_.notify_all();
  if (item) return py::cast(PyEvent(*item));
  if (closed) Raise(Closed("the subscription is closed"));
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  return py::none();
}

py::object PySubscription::GetNowait() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!queue_.empty()) return PopLocked(lock);
  if (closed_) Raise(Closed("the subscription is closed"));
  return py::none();
}

bool PySubscription::SetWaker(py::object waker) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || !queue_.empty()) return false;
  waker_ = std::move(waker);
  return true;
}

void PySubscription::Unsubscribe() {
  py::object waker;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    waker = std::move(waker_);
    waker_ = py::object();
  }
  cv_.notify_all();
  Status s;
  if (subscription_) {
    py::gil_scoped_release release;
    s = subscription_->Unsubscribe();
  }
  if (waker) waker();
  Check(s);
}

py::dict PySubscription::Stats() const {
  SubscriptionStats s;
  if (subscription_) s = subscription_->Stats();
  py::dict out;
  out["delivered"] = s.delivered;
  out["dropped"] = s.dropped;
  out["pending"] = s.pending;
  out["in_flight"] = s.in_flight;
  out["acked"] = s.acked;
  out["redelivered"] = s.redelivered;
  out["dead_lettered"] = s.dead_lettered;
  std::lock_guard<std::mutex> lock(mu_);
  out["queued"] = queue_.size();
  return out;
}

std::string PySubscription::pattern() const {
  return subscription_ ? subscription_->pattern() : "";
}

bool PySubscription::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

void RegisterSubscription(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<PySubscription>(m, "Subscription")
      .def("get", &PySubscription::Get, "timeout"_a = py::none())
      .def("get_nowait", &PySubscription::GetNowait)
      .def("set_waker", &PySubscription::SetWaker, "waker"_a)
      .def("unsubscribe", &PySubscription::Unsubscribe)
      .def("stats", &PySubscription::Stats)
      .def_property_readonly("pattern", &PySubscription::pattern)
      .def_property_readonly("closed", &PySubscription::closed);
}

}  // namespace eventmesh::python
