// The CloudEvents 1.0 event and its codecs.
//
// An Event is a plain value: copy it, move it, hand it to another thread.
// Concurrent reads of one Event are safe; a write needs exclusive access.
// The mesh shares accepted events as std::shared_ptr<const Event>, so a
// subscriber sees an event that nobody changes any more.

#ifndef EVENTMESH_EVENT_H_
#define EVENTMESH_EVENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventmesh/status.h"

namespace eventmesh {

class Event {
 public:
  // --- CloudEvents context attributes -----------------------------------
  // Required: non-empty id, source and type; specversion "1.0".
  std::string id;
  std::string source;  // a URI-reference
  std::string type;
  std::string specversion = "1.0";
  // Optional; empty means absent.
  std::string subject;
  std::string time;  // RFC 3339
  std::string datacontenttype;
  std::string dataschema;  // a URI
  // Extension attributes: names of 1 to 20 characters from [a-z0-9], none
  // of them a core attribute name, "data", or a name the JSON format uses
  // for the mesh fields ("topic", "sequence", "storedat"); string values.
  // Kept in the order set.
  std::vector<std::pair<std::string, std::string>> extensions;
  // The payload as bytes; empty means no data.
  std::string data;

  // --- Set by the mesh when it accepts the event -------------------------
  std::string topic;
  uint64_t sequence = 0;        // per topic, from 1; 0 before acceptance
  int64_t stored_at_nanos = 0;  // Unix nanoseconds when stored

  // The value of extension `name`, or nullptr.
  const std::string* Extension(std::string_view name) const;
  // Sets (or replaces) extension `name`. Does not validate; Validate() does.
  void SetExtension(std::string_view name, std::string_view value);
  // Removes extension `name` if present.
  void RemoveExtension(std::string_view name);

  // Any attribute by its CloudEvents name ("id", "subject", an extension,
  // ...), or nullptr when absent. Used by subscription filters.
  const std::string* Attribute(std::string_view name) const;

  // OK when the event follows CloudEvents 1.0; otherwise kInvalidArgument
  // naming the attribute and the rule it breaks.
  Status Validate() const;

  // The encoded size estimate used for limits and metrics.
  size_t ByteSize() const;

  // Compares every field above, mesh fields included.
  friend bool operator==(const Event& a, const Event& b);
  friend bool operator!=(const Event& a, const Event& b) { return !(a == b); }
};

using EventPtr = std::shared_ptr<const Event>;

// True when `name` is a valid extension attribute name.
bool IsValidExtensionName(std::string_view name);

// --- Binary codec -----------------------------------------------------------
// A compact, versioned encoding of every field above, mesh fields included,
// used by the store and every wire protocol. The first byte is the format
// version; a decoder refuses versions it does not know.

inline constexpr uint8_t kBinaryFormatVersion = 1;
// Largest encoded event accepted by the decoder.
inline constexpr size_t kMaxEncodedEventSize = 64u << 20;

// Appends the encoding of `event` to `*out`.
void AppendBinary(const Event& event, std::string* out);
std::string EncodeBinary(const Event& event);

// Decodes exactly one event occupying all of `bytes`. Truncated, oversized
// or corrupt input yields kInvalidArgument (or kDataLoss for an unknown
// version) saying what was wrong; it never crashes.
Result<Event> DecodeBinary(std::string_view bytes);

// --- CloudEvents JSON format -----------------------------------------------
// `data` is written as JSON when datacontenttype is JSON (application/json,
// text/json or a +json suffix) and holds valid JSON; as a string for text/*
// content; as `data_base64` otherwise. Mesh fields are not part of the
// format and are written only when `include_mesh_fields` is true, as the
// extensions "topic", "sequence" and "storedat".

std::string EncodeJson(const Event& event, bool include_mesh_fields = false);
// One event from a JSON object. Errors say which attribute was wrong.
Result<Event> DecodeJson(std::string_view json);
// A JSON array of events (the batch format).
Result<std::vector<Event>> DecodeJsonBatch(std::string_view json);
std::string EncodeJsonBatch(const std::vector<Event>& events);

}  // namespace eventmesh

#endif  // EVENTMESH_EVENT_H_
