#include "eventmesh/event.h"

#include <algorithm>
#include <array>

#include "event/binary_codec.h"
#include "eventmesh/clock.h"

namespace eventmesh {
namespace {

// Names an extension may not take: the CloudEvents context attributes, the
// JSON format's data members, and the mesh fields that the JSON format
// carries as extensions (see EncodeJson).
constexpr std::array<std::string_view, 13> kReservedNames = {
    "id",    "source",          "type",       "specversion", "subject",
    "time",  "datacontenttype", "dataschema", "data",        "data_base64",
    "topic", "sequence",        "storedat"};

constexpr size_t kMaxExtensionNameLength = 20;

// Longer values are cut short in error messages.
constexpr size_t kMaxQuotedLength = 64;

std::string Quote(std::string_view value) {
  std::string q = "'";
  if (value.size() > kMaxQuotedLength) {
    q.append(value.substr(0, kMaxQuotedLength)).append("...");
  } else {
    q.append(value);
  }
  return q + "'";
}

Status AttributeError(std::string_view name, std::string_view rule) {
  std::string message = "event attribute '";
  message.append(name).append("' ").append(rule);
  return InvalidArgument(std::move(message));
}

// RFC 7230 token characters, which media types and their parameters use.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Consumes a non-empty token at the front of `*s`.
bool ConsumeToken(std::string_view* s) {
  size_t n = 0;
  while (n < s->size() && IsTokenChar((*s)[n])) ++n;
  s->remove_prefix(n);
  return n > 0;
}

void ConsumeSpaces(std::string_view* s) {
  while (!s->empty() && (s->front() == ' ' || s->front() == '\t')) {
    s->remove_prefix(1);
  }
}

// Consumes a quoted-string: "..." with backslash escapes.
bool ConsumeQuoted(std::string_view* s) {
  if (s->empty() || s->front() != '"') return false;
  for (size_t i = 1; i < s->size(); ++i) {
    if ((*s)[i] == '\\') {
      ++i;
    } else if ((*s)[i] == '"') {
      s->remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

// type "/" subtype *( OWS ";" OWS name "=" ( token / quoted-string ) )
bool IsMediaType(std::string_view s) {
  if (!ConsumeToken(&s) || s.empty() || s.front() != '/') return false;
  s.remove_prefix(1);
  if (!ConsumeToken(&s)) return false;
  for (;;) {
    ConsumeSpaces(&s);
    if (s.empty()) return true;
    if (s.front() != ';') return false;
    s.remove_prefix(1);
    ConsumeSpaces(&s);
    if (!ConsumeToken(&s) || s.empty() || s.front() != '=') return false;
    s.remove_prefix(1);
    if (!ConsumeToken(&s) && !ConsumeQuoted(&s)) return false;
  }
}

Status ValidateRequired(const Event& e) {
  if (e.id.empty()) return AttributeError("id", "is required and empty");
  if (e.source.empty())
    return AttributeError("source", "is required and empty");
  if (e.type.empty()) return AttributeError("type", "is required and empty");
  if (e.specversion.empty()) {
    return AttributeError("specversion", "is required and empty");
  }
  if (e.specversion != "1.0") {
    return AttributeError("specversion",
                          "must be '1.0', not " + Quote(e.specversion));
  }
  return Status::Ok();
}

Status ValidateOptional(const Event& e) {
  int64_t nanos;
  if (!e.time.empty() && !ParseRfc3339(e.time, &nanos)) {
    return AttributeError("time",
                          "must be an RFC 3339 timestamp such as "
                          "'2026-12-03T13:45:00Z', not " +
                              Quote(e.time));
  }
  if (!e.datacontenttype.empty() && !IsMediaType(e.datacontenttype)) {
    return AttributeError("datacontenttype",
                          "must be a media type such as 'application/json' "
                          "or 'text/plain; charset=utf-8', not " +
                              Quote(e.datacontenttype));
  }
  return Status::Ok();
}

Status ValidateExtensions(const Event& e) {
  for (size_t i = 0; i < e.extensions.size(); ++i) {
    const std::string& name = e.extensions[i].first;
    if (!IsValidExtensionName(name)) {
      return InvalidArgument(
          "event extension name " + Quote(name) +
          " is not allowed: use 1 to 20 characters of a-z and 0-9, and not "
          "a CloudEvents attribute or a reserved name (data, data_base64, "
          "topic, sequence, storedat)");
    }
    for (size_t j = 0; j < i; ++j) {
      if (e.extensions[j].first == name) {
        return InvalidArgument("event extension " + Quote(name) +
                               " appears more than once");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

bool IsValidExtensionName(std::string_view name) {
  if (name.empty() || name.size() > kMaxExtensionNameLength) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return std::find(kReservedNames.begin(), kReservedNames.end(), name) ==
         kReservedNames.end();
}

const std::string* Event::Extension(std::string_view name) const {
  for (const auto& [key, value] : extensions) {
    if (key == name) return &value;
  }
  return nullptr;
}

void Event::SetExtension(std::string_view name, std::string_view value) {
  for (auto& [key, existing] : extensions) {
    if (key == name) {
      existing.assign(value.data(), value.size());
      return;
    }
  }
  extensions.emplace_back(std::string(name), std::string(value));
}

void Event::RemoveExtension(std::string_view name) {
  auto it = std::find_if(extensions.begin(), extensions.end(),
                         [&](const auto& kv) { return kv.first == name; });
  if (it != extensions.end()) extensions.erase(it);
}

const std::string* Event::Attribute(std::string_view name) const {
  const std::pair<std::string_view, const std::string*> core[] = {
      {"id", &id},
      {"source", &source},
      {"type", &type},
      {"specversion", &specversion},
      {"subject", &subject},
      {"time", &time},
      {"datacontenttype", &datacontenttype},
      {"dataschema", &dataschema}};
  for (const auto& [key, value] : core) {
    // An empty core attribute is absent.
    if (key == name) return value->empty() ? nullptr : value;
  }
  return Extension(name);
}

Status Event::Validate() const {
  EM_RETURN_IF_ERROR(ValidateRequired(*this));
  EM_RETURN_IF_ERROR(ValidateOptional(*this));
  return ValidateExtensions(*this);
}

size_t Event::ByteSize() const { return internal::EncodedBinarySize(*this); }

bool operator==(const Event& a, const Event& b) {
  return a.id == b.id && a.source == b.source && a.type == b.type &&
         a.specversion == b.specversion && a.subject == b.subject &&
         a.time == b.time && a.datacontenttype == b.datacontenttype &&
         a.dataschema == b.dataschema && a.extensions == b.extensions &&
         a.data == b.data && a.topic == b.topic && a.sequence == b.sequence &&
         a.stored_at_nanos == b.stored_at_nanos;
}

}  // namespace eventmesh
