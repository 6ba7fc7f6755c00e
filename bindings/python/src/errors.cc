// Status codes become Python exceptions. The classes are defined in pure
// Python (eventmesh/errors.py) and handed over at import, one per code.

#include <array>

#include "common.h"

namespace eventmesh::python {
namespace {

// Borrowed from the eventmesh.errors module, which outlives every call.
std::array<PyObject*, kStatusCodeCount> g_classes{};

}  // namespace

void Raise(const Status& status) {
  int code = static_cast<int>(status.code());
  PyObject* cls = (code > 0 && code < kStatusCodeCount && g_classes[code])
                      ? g_classes[code]
                      : PyExc_RuntimeError;
  PyErr_SetString(cls, status.ToString().c_str());
  throw py::error_already_set();
}

bool PythonAlive() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsInitialized() && !Py_IsFinalizing();
#else
  return Py_IsInitialized() && !_Py_IsFinalizing();
#endif
}

void RegisterErrors(py::module_& m) {
  m.attr("STATUS_CODE_COUNT") = kStatusCodeCount;
  m.def(
      "_set_error_classes",
      [](py::list classes) {
        if (classes.size() != static_cast<size_t>(kStatusCodeCount)) {
          throw py::value_error("need one class per status code");
        }
        for (int i = 0; i < kStatusCodeCount; ++i) {
          py::object cls = classes[i];
          g_classes[i] = cls.inc_ref().ptr();  // kept for the process
        }
      },
      "Registers the exception class of each status code (by index).");
  m.def("status_code_name", [](int code) {
    if (code < 0 || code >= kStatusCodeCount) {
      throw py::value_error("no such status code");
    }
    return std::string(StatusCodeName(static_cast<StatusCode>(code)));
  });
}

}  // namespace eventmesh::python
