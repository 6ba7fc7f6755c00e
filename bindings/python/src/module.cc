// The eventmesh._core extension module. The public API is the pure-Python
// package around it (bindings/python/eventmesh).

#include "common.h"
#include "eventmesh/log.h"
#include "eventmesh/version.h"

namespace eventmesh::python {
namespace {

// Forwards the library's log to a Python callable. Called from library
// threads: takes the GIL, and gives up quietly once Python is finalizing.
void SetLogHandler(py::object handler, int min_level) {
  if (handler.is_none()) {
    SetLogSink(nullptr);
    return;
  }
  // The last copy of the sink may die on a library thread: drop the
  // Python reference with the GIL (or leak it when Python is gone).
  std::shared_ptr<py::object> shared(new py::object(std::move(handler)),
                                     [](py::object* o) {
                                       if (!PythonAlive()) return;
                                       py::gil_scoped_acquire gil;
                                       delete o;
                                     });
  SetLogSink(
      [shared](LogLevel level, std::string_view module,
               std::string_view message) {
        if (!PythonAlive()) return;
        py::gil_scoped_acquire gil;
        try {
          (*shared)(static_cast<int>(level), std::string(module),
                    std::string(message));
        } catch (py::error_already_set& e) {
          e.discard_as_unraisable("eventmesh log handler");
        }
      },
      static_cast<LogLevel>(min_level));
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "EventMesh's C++ core; use the eventmesh package instead.";
  m.attr("__version__") = Version();
  m.def("set_log_handler", &SetLogHandler, py::arg("handler"),
        py::arg("min_level") = static_cast<int>(LogLevel::kInfo));
  RegisterErrors(m);
  RegisterEvent(m);
  RegisterSubscription(m);
  RegisterMesh(m);
}

}  // namespace eventmesh::python
