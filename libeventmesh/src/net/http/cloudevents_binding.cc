#include "net/http/cloudevents_binding.h"

#include <cctype>
#include <utility>

#include "eventmesh/clock.h"

namespace eventmesh::http {

namespace {

constexpr std::string_view kStructuredPrefix = "application/cloudevents";
constexpr std::string_view kStructuredJson = "application/cloudevents+json";
constexpr std::string_view kBatchJson = "application/cloudevents-batch+json";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Stores one decoded ce- attribute into `event`.
Status SetAttribute(std::string_view name, std::string value, Event* event) {
  if (name == "id") {
    event->id = std::move(value);
  } else if (name == "source") {
    event->source = std::move(value);
  } else if (name == "type") {
    event->type = std::move(value);
  } else if (name == "specversion") {
    event->specversion = std::move(value);
  } else if (name == "subject") {
    event->subject = std::move(value);
  } else if (name == "time") {
    event->time = std::move(value);
  } else if (name == "dataschema") {
    event->dataschema = std::move(value);
  } else if (name == "topic" || name == "sequence" || name == "storedat") {
    // The mesh's own fields, as this server sends them to webhooks: an
    // event passed on from a webhook gets new ones when it is stored.
  } else if (name == "datacontenttype") {
    return InvalidArgument(
        "binary mode carries datacontenttype in Content-Type, not in "
        "ce-datacontenttype");
  } else if (!IsValidExtensionName(name)) {
    return InvalidArgument("header 'ce-" + std::string(name) +
                           "' is not a valid CloudEvents attribute name "
                           "(1 to 20 characters from a-z and 0-9)");
  } else if (event->Extension(name) != nullptr) {
    return InvalidArgument("attribute '" + std::string(name) +
                           "' is given twice");
  } else {
    event->SetExtension(name, value);
  }
  return Status::Ok();
}

bool HasControlCharacters(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

void AddHeader(std::vector<Header>* headers, std::string name,
               std::string_view value) {
  headers->push_back({std::move(name), PercentEncodeHeaderValue(value)});
}

}  // namespace

std::string MediaType(std::string_view content_type) {
  std::string out;
  for (char c : content_type.substr(0, content_type.find(';'))) {
    if (c == ' ' || c == '\t') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

Result<BindingMode> DetectMode(const Request& request) {
  const std::string* content_type = request.FindHeader("content-type");
  std::string media = content_type ? MediaType(*content_type) : "";
  if (media == kBatchJson) return BindingMode::kBatch;
  if (media == kStructuredJson) return BindingMode::kStructured;
  if (StartsWith(media, kStructuredPrefix)) {
    return InvalidArgument("event format '" + media +
                           "' is not supported; use "
                           "application/cloudevents+json or binary mode");
  }
  if (request.FindHeader("ce-specversion") != nullptr) {
    return BindingMode::kBinary;
  }
  return InvalidArgument(
      "the request is not a CloudEvent: send ce-specversion, ce-id, "
      "ce-source and ce-type headers (binary mode) or a Content-Type of "
      "application/cloudevents+json (structured mode)");
}

Result<Event> DecodeBinaryMode(const std::vector<Header>& headers,
                               std::string body) {
  Event event;
  event.specversion.clear();
  for (const Header& h : headers) {
    if (h.name == "content-type") {
      event.datacontenttype = h.value;
      continue;
    }
    if (!StartsWith(h.name, "ce-")) continue;
    std::string value;
    if (!PercentDecode(h.value, false, &value)) {
      return InvalidArgument("header '" + h.name +
                             "' has a malformed percent-escape");
    }
    EM_RETURN_IF_ERROR(SetAttribute(std::string_view(h.name).substr(3),
                                    std::move(value), &event));
  }
  if (event.specversion.empty()) {
    return InvalidArgument("binary mode needs the ce-specversion header");
  }
  event.data = std::move(body);
  return event;
}

Result<std::vector<Event>> DecodeEvents(const Request& request) {
  EM_ASSIGN_OR_RETURN(BindingMode mode, DetectMode(request));
  std::vector<Event> events;
  switch (mode) {
    case BindingMode::kBinary: {
      EM_ASSIGN_OR_RETURN(Event e,
                          DecodeBinaryMode(request.headers, request.body));
      events.push_back(std::move(e));
      break;
    }
    case BindingMode::kStructured: {
      EM_ASSIGN_OR_RETURN(Event e, DecodeJson(request.body));
      events.push_back(std::move(e));
      break;
    }
    case BindingMode::kBatch: {
      EM_ASSIGN_OR_RETURN(events, DecodeJsonBatch(request.body));
      break;
    }
  }
  return events;
}

std::string EncodeBinaryMode(const Event& event, bool include_mesh_fields,
                             std::vector<Header>* headers) {
  AddHeader(headers, "ce-specversion", event.specversion);
  AddHeader(headers, "ce-id", event.id);
  AddHeader(headers, "ce-source", event.source);
  AddHeader(headers, "ce-type", event.type);
  if (!event.subject.empty()) AddHeader(headers, "ce-subject", event.subject);
  if (!event.time.empty()) AddHeader(headers, "ce-time", event.time);
  if (!event.dataschema.empty()) {
    AddHeader(headers, "ce-dataschema", event.dataschema);
  }
  for (const auto& [name, value] : event.extensions) {
    AddHeader(headers, "ce-" + name, value);
  }
  if (include_mesh_fields && event.sequence != 0) {
    AddHeader(headers, "ce-topic", event.topic);
    AddHeader(headers, "ce-sequence", std::to_string(event.sequence));
    AddHeader(headers, "ce-storedat", FormatRfc3339(event.stored_at_nanos));
  }
  // A content type with control characters would split the header block.
  if (!event.datacontenttype.empty() &&
      !HasControlCharacters(event.datacontenttype)) {
    headers->push_back({"Content-Type", event.datacontenttype});
  }
  return event.data;
}

}  // namespace eventmesh::http
