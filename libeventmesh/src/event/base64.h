// Base64 (RFC 4648, standard alphabet) for `data_base64` in the CloudEvents
// JSON format and for the HTTP binding. Thread-safe.

#ifndef EVENTMESH_SRC_EVENT_BASE64_H_
#define EVENTMESH_SRC_EVENT_BASE64_H_

#include <string>
#include <string_view>

namespace eventmesh::internal {

// Appends the padded base64 encoding of `bytes` to `*out`.
void AppendBase64(std::string_view bytes, std::string* out);
std::string EncodeBase64(std::string_view bytes);

// Decodes `text`, padded or not, appending the bytes to `*out`. Returns
// false (leaving `*out` unspecified) on a character outside the alphabet,
// misplaced padding, an impossible length or non-zero unused bits.
bool DecodeBase64(std::string_view text, std::string* out);

}  // namespace eventmesh::internal

#endif  // EVENTMESH_SRC_EVENT_BASE64_H_
