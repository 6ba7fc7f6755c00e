// eventmesh._core.Event: a CloudEvent with its attributes as properties,
// and for delivered events ack() and nack().

#include <pybind11/stl.h>

#include <chrono>

#include "common.h"

namespace eventmesh::python {
namespace {

py::object OptionalText(const std::string& s) {
  if (s.empty()) return py::none();
  return py::str(s);
}

PyEvent MakeEvent(const std::string& type, const std::string& source,
                  py::bytes data, const std::string& id,
                  const std::string& subject, const std::string& content_type,
                  const std::string& dataschema, const std::string& time,
                  const std::string& specversion, const py::dict& extensions) {
  Event e;
  e.type = type;
  e.source = source;
  e.data = data;
  e.id = id;
  e.subject = subject;
  e.datacontenttype = content_type;
  e.dataschema = dataschema;
  e.time = time;
  e.specversion = specversion;
  for (auto item : extensions) {
    std::string name = py::str(item.first);
    if (!IsValidExtensionName(name)) {
      Raise(InvalidArgument("extension name '" + name +
                            "' must be 1 to 20 characters of [a-z0-9]"));
    }
    e.SetExtension(name, py::str(item.second).cast<std::string>());
  }
  return PyEvent(std::move(e));
}

const Delivery& DeliveryOf(const PyEvent& e) {
  if (!e.delivery()) {
    Raise(FailedPrecondition(
        "this event was not delivered by a subscription; only delivered "
        "events can be acked or nacked"));
  }
  return *e.delivery();
}

void Ack(const PyEvent& e) {
  const Delivery& d = DeliveryOf(e);
  Status s;
  {
    py::gil_scoped_release release;
    s = d.Ack();
  }
  Check(s);
}

void Nack(const PyEvent& e, double delay_seconds) {
  const Delivery& d = DeliveryOf(e);
  auto delay =
      std::chrono::milliseconds(static_cast<int64_t>(delay_seconds * 1000));
  Status s;
  {
    py::gil_scoped_release release;
    s = d.Nack(delay);
  }
  Check(s);
}

py::dict Extensions(const PyEvent& e) {
  py::dict out;
  for (const auto& [name, value] : e.event().extensions) {
    out[py::str(name)] = py::str(value);
  }
  return out;
}

std::string Repr(const PyEvent& e) {
  const Event& ev = e.event();
  std::string out = "Event(type='" + ev.type + "', source='" + ev.source +
                    "', id='" + ev.id + "'";
  if (!ev.topic.empty()) {
    out +=
        ", topic='" + ev.topic + "', sequence=" + std::to_string(ev.sequence);
  }
  return out + ", data=" + std::to_string(ev.data.size()) + " bytes)";
}

}  // namespace

void RegisterEvent(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<PyEvent>(m, "Event", "A CloudEvents 1.0 event.")
      .def(py::init(&MakeEvent), py::kw_only(), "type"_a = "", "source"_a = "",
           "data"_a = py::bytes(), "id"_a = "", "subject"_a = "",
           "datacontenttype"_a = "", "dataschema"_a = "", "time"_a = "",
           "specversion"_a = "1.0", "extensions"_a = py::dict())
      .def_property_readonly("id",
                             [](const PyEvent& e) { return e.event().id; })
      .def_property_readonly("source",
                             [](const PyEvent& e) { return e.event().source; })
      .def_property_readonly("type",
                             [](const PyEvent& e) { return e.event().type; })
      .def_property_readonly(
          "specversion", [](const PyEvent& e) { return e.event().specversion; })
      .def_property_readonly(
          "subject",
          [](const PyEvent& e) { return OptionalText(e.event().subject); })
      .def_property_readonly(
          "time", [](const PyEvent& e) { return OptionalText(e.event().time); })
      .def_property_readonly("datacontenttype",
                             [](const PyEvent& e) {
                               return OptionalText(e.event().datacontenttype);
                             })
      .def_property_readonly(
          "dataschema",
          [](const PyEvent& e) { return OptionalText(e.event().dataschema); })
      .def_property_readonly(
          "data", [](const PyEvent& e) { return py::bytes(e.event().data); })
      .def_property_readonly("extensions", &Extensions)
      .def_property_readonly("topic",
                             [](const PyEvent& e) { return e.event().topic; })
      .def_property_readonly(
          "sequence", [](const PyEvent& e) { return e.event().sequence; })
      .def_property_readonly(
          "stored_at_ns",
          [](const PyEvent& e) { return e.event().stored_at_nanos; })
      .def_property_readonly("attempt",
                             [](const PyEvent& e) -> py::object {
                               if (!e.delivery()) return py::none();
                               return py::int_(e.delivery()->attempt());
                             })
      .def(
          "get",
          [](const PyEvent& e, const std::string& name) -> py::object {
            const std::string* v = e.event().Attribute(name);
            if (v == nullptr || v->empty()) return py::none();
            return py::str(*v);
          },
          "name"_a, "The attribute `name` (context or extension), or None.")
      .def("ack", &Ack, "Acknowledges this delivered event.")
      .def("nack", &Nack, "delay"_a = 0.0,
           "Asks for redelivery after `delay` seconds.")
      .def("validate", [](const PyEvent& e) { Check(e.event().Validate()); })
      .def(
          "to_json",
          [](const PyEvent& e, bool mesh_fields) {
            return EncodeJson(e.event(), mesh_fields);
          },
          "mesh_fields"_a = false)
      .def_static("from_json",
                  [](const std::string& json) {
                    return PyEvent(Unwrap(DecodeJson(json)));
                  })
      .def("__eq__", [](const PyEvent& a,
                        const PyEvent& b) { return a.event() == b.event(); })
      .def("__repr__", &Repr);
}

}  // namespace eventmesh::python
