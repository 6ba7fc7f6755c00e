// The CloudEvents JSON event format (and its batch form).
//
// Writing is done by hand (event/json_text.h); reading parses with
// nlohmann::json without exceptions. The mesh fields travel as the
// extensions "topic", "sequence" (a JSON number) and "storedat" (an
// RFC 3339 string); they are always read back when present.

#include <cctype>
#include <string>

#include "event/base64.h"
#include "event/json_text.h"
#include "eventmesh/clock.h"
#include "eventmesh/event.h"

namespace eventmesh {
namespace {

using Json = nlohmann::ordered_json;
using internal::AppendJsonKey;
using internal::AppendJsonString;

// --- Content types ----------------------------------------------------------

// The media type without parameters, lower-cased: "application/json".
std::string MediaTypeEssence(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') {
    content_type.remove_suffix(1);
  }
  std::string essence(content_type);
  for (char& c : essence) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return essence;
}

bool IsJsonContentType(std::string_view content_type) {
  const std::string e = MediaTypeEssence(content_type);
  return e == "application/json" || e == "text/json" ||
         (e.size() > 5 && e.compare(e.size() - 5, 5, "+json") == 0);
}

bool IsTextContentType(std::string_view content_type) {
  return MediaTypeEssence(content_type).compare(0, 5, "text/") == 0;
}

// --- Writing ----------------------------------------------------------------

void AppendMember(std::string_view key, std::string_view value,
                  std::string* out) {
  out->push_back(',');
  AppendJsonKey(key, out);
  AppendJsonString(value, out);
}

void AppendOptionalMember(std::string_view key, std::string_view value,
                          std::string* out) {
  if (!value.empty()) AppendMember(key, value, out);
}

// The event object and a batch's array nest JSON data two levels deeper
// than it is on its own; the decoder's limit must still hold.
constexpr int kMaxEmbeddedDataDepth = internal::kMaxJsonDepth - 2;

// JSON data is copied through as it is, unless it is the literal null,
// which the format reads as "no data"; that goes as base64 to keep it.
bool CanEmbedAsJson(const Event& e) {
  if (!IsJsonContentType(e.datacontenttype)) return false;
  if (!internal::IsJsonText(e.data, kMaxEmbeddedDataDepth)) return false;
  std::string_view d = e.data;
  while (!d.empty() && std::isspace(static_cast<unsigned char>(d.front()))) {
    d.remove_prefix(1);
  }
  return d.substr(0, 4) != "null";
}

void AppendData(const Event& e, std::string* out) {
  if (e.data.empty()) return;
  out->push_back(',');
  if (CanEmbedAsJson(e)) {
    AppendJsonKey("data", out);
    out->append(e.data);
  } else if (IsTextContentType(e.datacontenttype) &&
             internal::IsValidUtf8(e.data)) {
    AppendJsonKey("data", out);
    AppendJsonString(e.data, out);
  } else {
    AppendJsonKey("data_base64", out);
    out->push_back('"');
    internal::AppendBase64(e.data, out);
    out->push_back('"');
  }
}

void AppendMeshFields(const Event& e, std::string* out) {
  AppendMember("topic", e.topic, out);
  out->push_back(',');
  AppendJsonKey("sequence", out);
  out->append(std::to_string(e.sequence));
  AppendMember("storedat", FormatRfc3339(e.stored_at_nanos), out);
}

void AppendEventJson(const Event& e, bool include_mesh_fields,
                     std::string* out) {
  out->reserve(out->size() + e.ByteSize() * 4 / 3 + 160);
  out->push_back('{');
  AppendJsonKey("specversion", out);
  AppendJsonString(e.specversion, out);
  AppendMember("id", e.id, out);
  AppendMember("source", e.source, out);
  AppendMember("type", e.type, out);
  AppendOptionalMember("subject", e.subject, out);
  AppendOptionalMember("time", e.time, out);
  AppendOptionalMember("datacontenttype", e.datacontenttype, out);
  AppendOptionalMember("dataschema", e.dataschema, out);
  for (const auto& [name, value] : e.extensions) {
    AppendMember(name, value, out);
  }
  if (include_mesh_fields) AppendMeshFields(e, out);
  AppendData(e, out);
  out->push_back('}');
}

// --- Reading ----------------------------------------------------------------

Status MemberError(std::string_view name, std::string_view problem) {
  std::string message = "event attribute '";
  message.append(name).append("' ").append(problem);
  return InvalidArgument(std::move(message));
}

std::string* CoreAttribute(Event* e, std::string_view name) {
  const std::pair<std::string_view, std::string*> core[] = {
      {"id", &e->id},
      {"source", &e->source},
      {"type", &e->type},
      {"specversion", &e->specversion},
      {"subject", &e->subject},
      {"time", &e->time},
      {"datacontenttype", &e->datacontenttype},
      {"dataschema", &e->dataschema}};
  for (const auto& [key, field] : core) {
    if (key == name) return field;
  }
  return nullptr;
}

// An extension value of any JSON scalar type, as its canonical text.
Status ScalarText(std::string_view name, const Json& v, std::string* out) {
  switch (v.type()) {
    case Json::value_t::string:
      *out = v.get_ref<const std::string&>();
      return Status::Ok();
    case Json::value_t::boolean:
      *out = v.get<bool>() ? "true" : "false";
      return Status::Ok();
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      *out = v.dump();
      return Status::Ok();
    default:
      return MemberError(name, std::string("must be a string, number or "
                                           "boolean, not ") +
                                   v.type_name());
  }
}

Status ReadSequence(const Json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return Status::Ok();
  }
  // Also accept the number as a decimal string, as extensions often are.
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    uint64_t n = 0;
    bool ok = !s.empty() && s.size() <= 20;
    for (char c : s) {
      if (c < '0' || c > '9' || n > (UINT64_MAX - (c - '0')) / 10) {
        ok = false;
        break;
      }
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    if (ok) {
      *out = n;
      return Status::Ok();
    }
  }
  return MemberError("sequence", "must be an unsigned 64-bit integer");
}

Status ReadMeshField(std::string_view key, const Json& v, Event* e) {
  if (key == "sequence") return ReadSequence(v, &e->sequence);
  if (!v.is_string()) {
    return MemberError(key,
                       std::string("must be a string, not ") + v.type_name());
  }
  const std::string& s = v.get_ref<const std::string&>();
  if (key == "topic") {
    e->topic = s;
  } else if (!ParseRfc3339(s, &e->stored_at_nanos)) {
    return MemberError(key, "must be an RFC 3339 timestamp");
  }
  return Status::Ok();
}

bool IsMeshField(std::string_view key) {
  return key == "topic" || key == "sequence" || key == "storedat";
}

Status ReadData(const Json* data, const Json* data_base64, Event* e) {
  if (data != nullptr && data_base64 != nullptr) {
    return InvalidArgument(
        "event has both 'data' and 'data_base64'; send only one");
  }
  if (data_base64 != nullptr) {
    if (!data_base64->is_string() ||
        !internal::DecodeBase64(data_base64->get_ref<const std::string&>(),
                                &e->data)) {
      return InvalidArgument(
          "event member 'data_base64' is not a base64 "
          "string (RFC 4648, standard alphabet)");
    }
    return Status::Ok();
  }
  if (data == nullptr) return Status::Ok();

  // Without a content type the format implies application/json.
  if (e->datacontenttype.empty() || IsJsonContentType(e->datacontenttype)) {
    e->data = data->dump(-1, ' ', false, Json::error_handler_t::replace);
  } else if (data->is_string()) {
    e->data = data->get_ref<const std::string&>();
  } else {
    return InvalidArgument(
        std::string("event member 'data' is a JSON ") + data->type_name() +
        " but datacontenttype '" + e->datacontenttype +
        "' is not JSON; send the data as a string or as data_base64");
  }
  return Status::Ok();
}

Status ReadMember(const std::string& key, const Json& value, Event* e) {
  if (std::string* field = CoreAttribute(e, key)) {
    if (!value.is_string()) {
      return MemberError(
          key, std::string("must be a string, not ") + value.type_name());
    }
    *field = value.get_ref<const std::string&>();
    return Status::Ok();
  }
  if (IsMeshField(key)) return ReadMeshField(key, value, e);
  std::string text;
  EM_RETURN_IF_ERROR(ScalarText(key, value, &text));
  e->extensions.emplace_back(key, std::move(text));
  return Status::Ok();
}

Result<Event> EventFromJson(const Json& j) {
  if (!j.is_object()) {
    return InvalidArgument(std::string("a CloudEvent in JSON is an object, "
                                       "not ") +
                           j.type_name());
  }
  Event e;
  e.specversion.clear();  // it must come from the input
  const Json* data = nullptr;
  const Json* data_base64 = nullptr;
  for (const auto& [key, value] : j.items()) {
    if (value.is_null()) continue;  // null means absent
    if (key == "data") {
      data = &value;
    } else if (key == "data_base64") {
      data_base64 = &value;
    } else {
      EM_RETURN_IF_ERROR(ReadMember(key, value, &e));
    }
  }
  EM_RETURN_IF_ERROR(ReadData(data, data_base64, &e));
  EM_RETURN_IF_ERROR(e.Validate());
  return e;
}

Status ParseDocument(std::string_view text, Json* out) {
  std::string error;
  if (internal::ParseJson(text, out, &error)) return Status::Ok();
  return InvalidArgument("event is not valid JSON: " + error);
}

}  // namespace

std::string EncodeJson(const Event& event, bool include_mesh_fields) {
  std::string out;
  AppendEventJson(event, include_mesh_fields, &out);
  return out;
}

std::string EncodeJsonBatch(const std::vector<Event>& events) {
  std::string out = "[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendEventJson(events[i], /*include_mesh_fields=*/false, &out);
  }
  out.push_back(']');
  return out;
}

Result<Event> DecodeJson(std::string_view json) {
  Json j;
  EM_RETURN_IF_ERROR(ParseDocument(json, &j));
  return EventFromJson(j);
}

Result<std::vector<Event>> DecodeJsonBatch(std::string_view json) {
  Json j;
  EM_RETURN_IF_ERROR(ParseDocument(json, &j));
  if (!j.is_array()) {
    return InvalidArgument(std::string("a batch of CloudEvents in JSON is an "
                                       "array, not ") +
                           j.type_name());
  }
  std::vector<Event> events;
  events.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    Result<Event> e = EventFromJson(j[i]);
    if (!e.ok()) {
      return e.status().WithContext("event " + std::to_string(i) +
                                    " of the batch");
    }
    events.push_back(std::move(e).value());
  }
  return events;
}

}  // namespace eventmesh
