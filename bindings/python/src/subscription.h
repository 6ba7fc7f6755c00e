// eventmesh._core.Subscription: deliveries to a Python callback, or into a
// queue that Python reads with get() (iterators and asyncio build on it).

#ifndef EVENTMESH_BINDINGS_PYTHON_SUBSCRIPTION_H_
#define EVENTMESH_BINDINGS_PYTHON_SUBSCRIPTION_H_

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "common.h"

namespace eventmesh::python {

// Thread-safety: Python calls arrive with the GIL held; deliveries arrive
// on the mesh's callback threads without it. The queue is guarded by mu_.
class PySubscription {
 public:
  // `callback` None: deliveries are queued for Get(), at most `max_queued`
  // (beyond that the mesh's own flow control holds them back).
  PySubscription(std::shared_ptr<Mesh> mesh, py::object callback,
                 size_t max_queued);
  ~PySubscription();

  void Start(const std::string& pattern, const SubscribeOptions& options);

  // The next event, waiting up to `timeout` seconds (None: no limit) with
  // the GIL released; None on timeout. Raises Closed once unsubscribed and
  // drained.
  py::object Get(std::optional<double> timeout);
  // The next event or None, without waiting.
  py::object GetNowait();
  // Arms `waker` to be called once (with the GIL, on a mesh thread) when
  // an event is queued. Returns false, without arming, when an event is
  // already waiting or the subscription is closed.
  bool SetWaker(py::object waker);

  void Unsubscribe();
  py::dict Stats() const;
  std::string pattern() const;
  bool closed() const;

 private:
  void OnBatch(const std::vector<Delivery>& batch);
  void CallPython(const std::vector<Delivery>& batch);
  void Enqueue(const std::vector<Delivery>& batch);
  py::object PopLocked(std::unique_lock<std::mutex>& lock);

  std::shared_ptr<Mesh> mesh_;
  std::unique_ptr<Subscription> subscription_;
  py::object callback_;  // None in queue mode; touched with the GIL only
  const size_t max_queued_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Delivery> queue_;
  bool closed_ = false;
  py::object waker_;  // moved in and out under mu_, called with the GIL
};

}  // namespace eventmesh::python

#endif  // EVENTMESH_BINDINGS_PYTHON_SUBSCRIPTION_H_
