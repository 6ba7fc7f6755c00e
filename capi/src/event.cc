// Event handles: building and reading CloudEvents from C.

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include "internal.h"

using eventmesh::Event;
using eventmesh::capi::Check;
using eventmesh::capi::Fail;
using eventmesh::capi::FailInvalid;

namespace {

// The context attribute `name` of `event`, or nullptr for an extension.
std::string* CoreAttribute(Event& event, std::string_view name) {
  if (name == "id") return &event.id;
  if (name == "source") return &event.source;
  if (name == "type") return &event.type;
  if (name == "specversion") return &event.specversion;
  if (name == "subject") return &event.subject;
  if (name == "time") return &event.time;
  if (name == "datacontenttype") return &event.datacontenttype;
  if (name == "dataschema") return &event.dataschema;
  return nullptr;
}

// Delivered events are views of the mesh's shared copy and stay read-only.
int CheckWritable(const em_event* event) {
  if (event == nullptr) return FailInvalid("event is NULL");
  if (event->shared) {
    return FailInvalid("a delivered event is read-only; em_event_clone() it");
  }
  return EM_OK;
}

// A malloc'd NUL-terminated copy of `text`, or nullptr.
char* CopyOut(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out != nullptr) std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

}  // namespace

extern "C" {

em_event* em_event_new(void) { return new (std::nothrow) em_event(); }

void em_event_free(em_event* event) { delete event; }

em_event* em_event_clone(const em_event* event) {
  if (event == nullptr) return nullptr;
  em_event* copy = new (std::nothrow) em_event();
  if (copy != nullptr) copy->owned = event->get();
  return copy;
}

int em_event_set(em_event* event, const char* name, const char* value) {
  if (int rc = CheckWritable(event); rc != EM_OK) return rc;
  if (name == nullptr || *name == '\0') {
    return FailInvalid("attribute name is NULL or empty");
  }
  std::string_view v = value ? value : "";
  if (std::string* core = CoreAttribute(event->owned, name)) {
    core->assign(v);
    return EM_OK;
  }
  if (!eventmesh::IsValidExtensionName(name)) {
    return FailInvalid(std::string("extension name '") + name +
                       "' must be 1 to 20 characters of [a-z0-9]");
  }
  if (v.empty()) {
    event->owned.RemoveExtension(name);
  } else {
    event->owned.SetExtension(name, v);
  }
  return EM_OK;
}

const char* em_event_get(const em_event* event, const char* name) {
  if (event == nullptr || name == nullptr) return nullptr;
  const std::string* value = event->get().Attribute(name);
  if (value == nullptr) return nullptr;
  // Optional context attributes are absent when empty.
  if (value->empty() && std::strcmp(name, "specversion") != 0) return nullptr;
  return value->c_str();
}

int em_event_set_id(em_event* event, const char* id) {
  return em_event_set(event, "id", id);
}
int em_event_set_source(em_event* event, const char* source) {
  return em_event_set(event, "source", source);
}
int em_event_set_type(em_event* event, const char* type) {
  return em_event_set(event, "type", type);
}
int em_event_set_subject(em_event* event, const char* subject) {
  return em_event_set(event, "subject", subject);
}

int em_event_set_data(em_event* event, const void* data, size_t size) {
  if (int rc = CheckWritable(event); rc != EM_OK) return rc;
  if (data == nullptr && size != 0) {
    return FailInvalid("data is NULL but size is " + std::to_string(size));
  }
  event->owned.data.assign(static_cast<const char*>(data), size);
  return EM_OK;
}

const void* em_event_data(const em_event* event, size_t* size) {
  if (event == nullptr) {
    if (size) *size = 0;
    return nullptr;
  }
  const std::string& data = event->get().data;
  if (size) *size = data.size();
  return data.data();
}

size_t em_event_extension_count(const em_event* event) {
  return event ? event->get().extensions.size() : 0;
}

int em_event_extension_at(const em_event* event, size_t index,
                          const char** name, const char** value) {
  if (event == nullptr || name == nullptr || value == nullptr) {
    return FailInvalid("event, name and value must not be NULL");
  }
  const auto& extensions = event->get().extensions;
  if (index >= extensions.size()) {
    return FailInvalid("extension index " + std::to_string(index) +
                       " is out of range; the event has " +
                       std::to_string(extensions.size()));
  }
  *name = extensions[index].first.c_str();
  *value = extensions[index].second.c_str();
  return EM_OK;
}

const char* em_event_topic(const em_event* event) {
  return event ? event->get().topic.c_str() : "";
}

uint64_t em_event_sequence(const em_event* event) {
  return event ? event->get().sequence : 0;
}

int64_t em_event_stored_at(const em_event* event) {
  return event ? event->get().stored_at_nanos : 0;
}

int em_event_validate(const em_event* event) {
  if (event == nullptr) return FailInvalid("event is NULL");
  return Check(event->get().Validate());
}

int em_event_to_json(const em_event* event, int mesh_fields, char** json) {
  if (event == nullptr || json == nullptr) {
    return FailInvalid("event and json must not be NULL");
  }
  char* out = CopyOut(eventmesh::EncodeJson(event->get(), mesh_fields != 0));
  if (out == nullptr) {
    return Fail(eventmesh::ResourceExhausted("out of memory"));
  }
  *json = out;
  return EM_OK;
}

int em_event_from_json(const char* json, size_t size, em_event** event) {
  if (json == nullptr || event == nullptr) {
    return FailInvalid("json and event must not be NULL");
  }
  auto decoded = eventmesh::DecodeJson(std::string_view(json, size));
  if (!decoded.ok()) return Fail(decoded.status());
  em_event* out = new (std::nothrow) em_event();
  if (out == nullptr) {
    return Fail(eventmesh::ResourceExhausted("out of memory"));
  }
  out->owned = std::move(decoded).value();
  *event = out;
  return EM_OK;
}

}  // extern "C"
