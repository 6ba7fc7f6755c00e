// eventmesh._core.Mesh: open, publish (one or many), subscribe, request
// and reply, and the listings. Every call that can wait releases the GIL.

#include <pybind11/stl.h>

#include <chrono>

#include "common.h"
#include "eventmesh/filter.h"
#include "subscription.h"

namespace eventmesh::python {
namespace {

using std::chrono::milliseconds;

// Events are converted and published in slices of this many, so that the
// GIL is released for the store's work while memory stays bounded.
constexpr size_t kPublishSlice = 8192;

milliseconds Millis(double seconds) {
  return milliseconds(static_cast<int64_t>(seconds * 1000));
}

// Reads option `key` of `options` into `*out` when present.
template <typename T>
bool Take(const py::dict& options, const char* key, T* out) {
  if (!options.contains(key)) return false;
  py::object v = options[key];
  if (v.is_none()) return false;
  *out = v.cast<T>();
  return true;
}

Durability ParseDurabilityOrRaise(const std::string& name) {
  Durability d;
  if (!ParseDurability(name, &d)) {
    Raise(InvalidArgument(
        "durability must be 'sync', 'batch' or 'none', not '" + name + "'"));
  }
  return d;
}

MeshOptions ToMeshOptions(const py::dict& o) {
  MeshOptions m;
  std::string durability;
  if (Take(o, "durability", &durability)) {
    m.durability = ParseDurabilityOrRaise(durability);
    m.store.durability = m.durability;
  }
  Take(o, "callback_threads", &m.callback_threads);
  Take(o, "node_id", &m.node_id);
  Take(o, "token", &m.token);
  Take(o, "user", &m.user);
  Take(o, "password", &m.password);
  double seconds = 0;
  if (Take(o, "connect_timeout", &seconds)) m.connect_timeout = Millis(seconds);
  if (Take(o, "call_timeout", &seconds)) m.call_timeout = Millis(seconds);
  if (Take(o, "batch_window", &seconds)) m.store.batch_window = Millis(seconds);
  if (Take(o, "dedup_window", &seconds)) m.store.dedup_window = Millis(seconds);
  Take(o, "max_map_bytes", &m.store.max_map_bytes);
  return m;
}

SubscribeOptions ToSubscribeOptions(const py::dict& o) {
  SubscribeOptions s;
  Take(o, "group", &s.group);
  Take(o, "durable", &s.durable);
  std::string start;
  if (Take(o, "start", &start)) s.start = Unwrap(StartPosition::Parse(start));
  Take(o, "manual_ack", &s.manual_ack);
  double seconds = 0;
  if (Take(o, "ack_wait", &seconds)) s.ack_wait = Millis(seconds);
  if (Take(o, "block_timeout", &seconds)) s.block_timeout = Millis(seconds);
  Take(o, "max_deliver", &s.max_deliver);
  Take(o, "max_in_flight", &s.max_in_flight);
  Take(o, "max_pending", &s.max_pending);
  std::string overflow;
  if (Take(o, "overflow", &overflow)) {
    if (overflow == "block") {
      s.overflow = OverflowPolicy::kBlock;
    } else if (overflow == "drop") {
      s.overflow = OverflowPolicy::kDrop;
    } else {
      Raise(InvalidArgument("overflow must be 'block' or 'drop', not '" +
                            overflow + "'"));
    }
  }
  std::string filter;
  if (Take(o, "filter", &filter)) {
    auto parsed = Filter::FromJson(filter);
    if (!parsed.ok()) Raise(parsed.status().WithContext("filter"));
    s.filter = std::move(parsed).value();
  }
  return s;
}

// The bytes of `data` (bytes, bytearray or memoryview) into `*out`.
void CopyData(PyObject* data, std::string* out) {
  char* p = nullptr;
  Py_ssize_t n = 0;
  if (PyBytes_Check(data)) {
    PyBytes_AsStringAndSize(data, &p, &n);
    out->assign(p, n);
    return;
  }
  Py_buffer view;
  if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) != 0) {
    throw py::error_already_set();
  }
  out->assign(static_cast<const char*>(view.buf), view.len);
  PyBuffer_Release(&view);
}

// The event template of a publish: every attribute but the data.
Event Template(const py::dict& attrs) {
  Event e;
  Take(attrs, "type", &e.type);
  Take(attrs, "source", &e.source);
  Take(attrs, "id", &e.id);
  Take(attrs, "subject", &e.subject);
  Take(attrs, "datacontenttype", &e.datacontenttype);
  Take(attrs, "dataschema", &e.dataschema);
  Take(attrs, "time", &e.time);
  py::dict extensions;
  if (Take(attrs, "extensions", &extensions)) {
    for (auto item : extensions) {
      std::string name = py::str(item.first);
      if (!IsValidExtensionName(name)) {
        Raise(InvalidArgument("extension name '" + name +
                              "' must be 1 to 20 characters of [a-z0-9]"));
      }
      e.SetExtension(name, py::str(item.second).cast<std::string>());
    }
  }
  return e;
}

PublishOptions ToPublishOptions(const std::optional<std::string>& durability) {
  PublishOptions p;
  if (durability) p.durability = ParseDurabilityOrRaise(*durability);
  return p;
}

py::dict GroupDict(const GroupInfo& g) {
  py::dict d;
  d["name"] = g.name;
  d["pattern"] = g.pattern;
  d["durable"] = g.durable;
  d["members"] = g.members;
  d["ack_floor"] = g.ack_floor;
  d["in_flight"] = g.in_flight;
  d["lag"] = g.lag;
  d["delivered"] = g.delivered;
  d["redelivered"] = g.redelivered;
  d["dead_lettered"] = g.dead_lettered;
  return d;
}

// Thread-safety: like Mesh, every method may be called from any thread.
class PyMesh {
 public:
  static PyMesh Open(const std::string& url, const py::dict& options) {
    MeshOptions opts = ToMeshOptions(options);
    Result<std::unique_ptr<Mesh>> opened = Unavailable("not opened");
    {
      py::gil_scoped_release release;
      opened = Mesh::Open(url, opts);
    }
    return PyMesh(std::shared_ptr<Mesh>(Unwrap(std::move(opened))));
  }

  uint64_t Publish(const std::string& topic, py::object data,
                   const py::dict& attrs,
                   const std::optional<std::string>& durability) {
    Event e = Template(attrs);
    CopyData(data.ptr(), &e.data);
    PublishOptions options = ToPublishOptions(durability);
    Result<uint64_t> seq = Unavailable("not published");
    {
      py::gil_scoped_release release;
      seq = mesh_->Publish(topic, std::move(e), options);
    }
    return Unwrap(std::move(seq));
  }

  // Publishes every item of `items` (bytes-like) as one event's data, in
  // slices: converted with the GIL, published without it.
  py::list PublishMany(const std::string& topic, py::iterable items,
                       const py::dict& attrs,
                       const std::optional<std::string>& durability) {
    Event prototype = Template(attrs);
    prototype.topic = topic;
    PublishOptions options = ToPublishOptions(durability);
    py::list sequences;
    py::iterator it = py::iter(items);
    while (it != py::iterator::sentinel()) {
      std::vector<Event> slice;
      slice.reserve(kPublishSlice);
      for (; it != py::iterator::sentinel() && slice.size() < kPublishSlice;
           ++it) {
        slice.push_back(prototype);
        CopyData((*it).ptr(), &slice.back().data);
      }
      Result<std::vector<uint64_t>> seqs = Unavailable("not published");
      {
        py::gil_scoped_release release;
        seqs = mesh_->PublishBatch(std::move(slice), options);
      }
      for (uint64_t s : Unwrap(std::move(seqs))) sequences.append(s);
    }
    return sequences;
  }

  std::unique_ptr<PySubscription> Subscribe(const std::string& pattern,
                                            py::object callback,
                                            const py::dict& options) {
    SubscribeOptions opts = ToSubscribeOptions(options);
    size_t max_queued =
        opts.durable.empty() ? opts.max_pending : opts.max_in_flight;
    auto sub = std::make_unique<PySubscription>(mesh_, std::move(callback),
                                                max_queued);
    sub->Start(pattern, opts);
    return sub;
  }

  PyEvent Request(const std::string& topic, const PyEvent& request,
                  double timeout) {
    Event e = request.event();
    Result<Event> reply = Unavailable("no reply");
    {
      py::gil_scoped_release release;
      reply = mesh_->Request(topic, std::move(e), Millis(timeout));
    }
    return PyEvent(Unwrap(std::move(reply)));
  }

  void Reply(const PyEvent& request, const PyEvent& reply) {
    Status s;
    {
      py::gil_scoped_release release;
      s = mesh_->Reply(request.event(), reply.event());
    }
    Check(s);
  }

  py::list Topics() {
    Result<std::vector<TopicInfo>> topics = Unavailable("");
    {
      py::gil_scoped_release release;
      topics = mesh_->Topics();
    }
    py::list out;
    for (const TopicInfo& t : Unwrap(std::move(topics))) {
      py::dict d;
      d["topic"] = t.topic;
      d["first_sequence"] = t.first_sequence;
      d["last_sequence"] = t.last_sequence;
      d["count"] = t.count;
      d["bytes"] = t.bytes;
      out.append(d);
    }
    return out;
  }

  py::list Groups() {
    Result<std::vector<GroupInfo>> groups = Unavailable("");
    {
      py::gil_scoped_release release;
      groups = mesh_->Groups();
    }
    py::list out;
    for (const GroupInfo& g : Unwrap(std::move(groups))) {
      out.append(GroupDict(g));
    }
    return out;
  }

  void DeleteTopic(const std::string& topic) {
    Status s;
    {
      py::gil_scoped_release release;
      s = mesh_->DeleteTopic(topic);
    }
    Check(s);
  }

  // `position` as StartPosition::Parse reads it.
  void SeekGroup(const std::string& durable, const std::string& position) {
    StartPosition to = Unwrap(StartPosition::Parse(position));
    Status s;
    {
      py::gil_scoped_release release;
      s = mesh_->SeekGroup(durable, to);
    }
    Check(s);
  }

  py::dict Stats() {
    Result<MeshStats> got = Unavailable("");
    {
      py::gil_scoped_release release;
      got = mesh_->Stats();
    }
    MeshStats s = Unwrap(std::move(got));
    py::dict store;
    store["appended"] = s.store.appended;
    store["duplicates"] = s.store.duplicates;
    store["commits"] = s.store.commits;
    store["syncs"] = s.store.syncs;
    store["bytes_used"] = s.store.bytes_used;
    store["map_bytes"] = s.store.map_bytes;
    store["first_position"] = s.store.first_position;
    store["next_position"] = s.store.next_position;
    py::dict d;
    d["published"] = s.published;
    d["duplicates"] = s.duplicates;
    d["delivered"] = s.delivered;
    d["dropped"] = s.dropped;
    d["acked"] = s.acked;
    d["redelivered"] = s.redelivered;
    d["dead_lettered"] = s.dead_lettered;
    d["subscriptions"] = s.subscriptions;
    d["store"] = store;
    return d;
  }

  void Close() {
    Status s;
    {
      py::gil_scoped_release release;
      s = mesh_->Close();
    }
    Check(s);
  }

  std::string node_id() const { return mesh_->node_id(); }

 private:
  explicit PyMesh(std::shared_ptr<Mesh> mesh) : mesh_(std::move(mesh)) {}

  std::shared_ptr<Mesh> mesh_;
};

}  // namespace

void RegisterMesh(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<PyMesh>(m, "Mesh")
      .def_static("open", &PyMesh::Open, "url"_a, "options"_a = py::dict())
      .def("publish", &PyMesh::Publish, "topic"_a, "data"_a, "attrs"_a,
           "durability"_a = py::none())
      .def("publish_many", &PyMesh::PublishMany, "topic"_a, "items"_a,
           "attrs"_a, "durability"_a = py::none())
      .def("subscribe", &PyMesh::Subscribe, "pattern"_a, "callback"_a,
           "options"_a)
      .def("request", &PyMesh::Request, "topic"_a, "request"_a, "timeout"_a)
      .def("reply", &PyMesh::Reply, "request"_a, "reply"_a)
      .def("topics", &PyMesh::Topics)
      .def("groups", &PyMesh::Groups)
      .def("stats", &PyMesh::Stats)
      .def("delete_topic", &PyMesh::DeleteTopic, "topic"_a)
      .def("seek_group", &PyMesh::SeekGroup, "durable"_a, "position"_a)
      .def("close", &PyMesh::Close)
      .def_property_readonly("node_id", &PyMesh::node_id);
}

}  // namespace eventmesh::python
