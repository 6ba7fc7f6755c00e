// Shared by the pybind11 module's files: status-to-exception translation,
// the Python view of an event, and the module's registration functions.

#ifndef EVENTMESH_BINDINGS_PYTHON_COMMON_H_
#define EVENTMESH_BINDINGS_PYTHON_COMMON_H_

#include <pybind11/pybind11.h>

#include <optional>
#include <string>

#include "eventmesh/mesh.h"
#include "eventmesh/status.h"

namespace eventmesh::python {

namespace py = pybind11;

// Raises the Python exception class registered for `status`'s code
// (eventmesh.InvalidArgument, ...). Must be called with the GIL held.
[[noreturn]] void Raise(const Status& status);

// Returns the value or raises its error.
template <typename T>
T Unwrap(Result<T> result) {
  if (!result.ok()) Raise(result.status());
  return std::move(result).value();
}
inline void Check(const Status& status) {
  if (!status.ok()) Raise(status);
}

// An event as Python sees it: either built in Python (owned, writable) or
// delivered (a shared, read-only copy) together with its Delivery, so that
// the handler can ack and nack it.
class PyEvent {
 public:
  PyEvent() = default;
  explicit PyEvent(Event event)
      : event_(std::make_shared<const Event>(std::move(event))) {}
  explicit PyEvent(const Delivery& delivery)
      : event_(delivery.event_ptr()), delivery_(delivery) {}

  const Event& event() const { return *event_; }
  const std::optional<Delivery>& delivery() const { return delivery_; }

 private:
  EventPtr event_ = std::make_shared<const Event>();
  std::optional<Delivery> delivery_;
};

// True while Python can still run callbacks (not finalizing).
bool PythonAlive();

void RegisterErrors(py::module_& m);
void RegisterEvent(py::module_& m);
void RegisterSubscription(py::module_& m);
void RegisterMesh(py::module_& m);

}  // namespace eventmesh::python

#endif  // EVENTMESH_BINDINGS_PYTHON_COMMON_H_
