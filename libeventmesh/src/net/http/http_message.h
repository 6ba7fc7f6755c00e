// HTTP/1.1 requests and responses as plain values, and the helpers that
// read URLs and write responses. No sockets: everything here works on
// byte buffers, so it is unit-tested and fuzzed on its own.
//
// Thread-safety: plain values and pure functions.

#ifndef EVENTMESH_SRC_NET_HTTP_HTTP_MESSAGE_H_
#define EVENTMESH_SRC_NET_HTTP_HTTP_MESSAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eventmesh::http {

struct Header {
  std::string name;  // lower-cased
  std::string value;
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: "/topics/a/events?durability=none"
  std::string path;    // percent-decoded path part of the target
  std::string query;   // the raw query after '?', without it
  std::vector<Header> headers;
  std::string body;
  int version_major = 1;
  int version_minor = 1;
  bool keep_alive = true;

  // The first header named `lower_name`, or nullptr.
  const std::string* FindHeader(std::string_view lower_name) const;
  // The value of query parameter `name` (percent-decoded), if present.
  std::optional<std::string> QueryParam(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;  // names as they should be sent
  std::string body;

  void SetHeader(std::string name, std::string value);
  // A JSON body with its Content-Type.
  static Response Json(int status, std::string json);
  // {"error": {"status": <status>, "message": "<message>"}}.
  static Response Error(int status, std::string_view message);
};

// "OK", "Not Found", ...; "Unknown" for codes it does not know.
std::string_view ReasonPhrase(int status);

// Appends the wire form of `response` to `*out`: the status line, the
// headers, Content-Length, "Connection: close" when `keep_alive` is false,
// and the body. A HEAD response (`head_only`) carries no body.
void SerializeResponse(const Response& response, bool keep_alive,
                       bool head_only, std::string* out);

// Percent-decodes `text`; with `plus_is_space`, '+' decodes to ' ' (query
// strings). Returns false on a malformed escape ("%4" or "%zz").
bool PercentDecode(std::string_view text, bool plus_is_space, std::string* out);
// Percent-encodes everything outside the characters CloudEvents' HTTP
// binding lets through unencoded (printable ASCII but space, '"' and '%').
std::string PercentEncodeHeaderValue(std::string_view text);

// Splits a query string into decoded name/value pairs. False when a part
// is not valid percent-encoding.
bool ParseQuery(std::string_view query,
                std::vector<std::pair<std::string, std::string>>* out);

// Splits a decoded path into its non-empty segments.
std::vector<std::string_view> SplitPath(std::string_view path);

// Parses a duration such as "500ms", "5s", "2m" or a bare number of
// milliseconds. Returns false when it is none of these.
bool ParseDurationMillis(std::string_view text, int64_t* millis);

}  // namespace eventmesh::http

#endif  // EVENTMESH_SRC_NET_HTTP_HTTP_MESSAGE_H_
