// JSON helpers shared by the event codecs, filters and the HTTP layer.
//
// Parsing goes through nlohmann::json's SAX interface so that no exception
// is thrown, the error message says where the text went wrong, and nesting
// is bounded (serialising a deeply nested value recurses). Writing is done
// by hand: it is faster than building a DOM and lets a valid JSON payload be
// copied through byte for byte. All functions are thread-safe.

#ifndef EVENTMESH_SRC_EVENT_JSON_TEXT_H_
#define EVENTMESH_SRC_EVENT_JSON_TEXT_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace eventmesh::internal {

// Deepest nesting of arrays and objects accepted by ParseJson/IsJsonText.
inline constexpr int kMaxJsonDepth = 128;

// Parses `text` into `*out`. On failure returns false and sets `*error` to
// a one-line description ("syntax error at line 1, column 7: ...").
// The ordered_json form keeps object members in document order.
bool ParseJson(std::string_view text, nlohmann::json* out, std::string* error,
               int max_depth = kMaxJsonDepth);
bool ParseJson(std::string_view text, nlohmann::ordered_json* out,
               std::string* error, int max_depth = kMaxJsonDepth);

// True when `text` is one complete JSON value nested at most `max_depth`
// levels deep. Builds no DOM.
bool IsJsonText(std::string_view text, int max_depth = kMaxJsonDepth);

// True when `bytes` is well-formed UTF-8 (no overlong forms, surrogates or
// code points above U+10FFFF).
bool IsValidUtf8(std::string_view bytes);

// Appends `text` as a quoted JSON string. Bytes that are not valid UTF-8
// are written as U+FFFD, so the output is always valid JSON.
void AppendJsonString(std::string_view text, std::string* out);

// Appends `"key":` (the key quoted and escaped).
void AppendJsonKey(std::string_view key, std::string* out);

}  // namespace eventmesh::internal

#endif  // EVENTMESH_SRC_EVENT_JSON_TEXT_H_
