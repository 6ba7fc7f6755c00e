// Fuzzes the HTTP request parser: arbitrary bytes, fed in pieces whose size
// the first input byte picks, must give requests within the limits or a
// clean error, never a crash. Parsed requests also go through the query
// and path helpers.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "eventmesh/status.h"
#include "net/http/http_message.h"
#include "net/http/request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eventmesh::http;
  if (size == 0) return 0;
  size_t piece = static_cast<size_t>(data[0] % 64) + 1;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  ParseLimits limits;
  limits.max_header_bytes = 2048;
  limits.max_headers = 16;
  limits.max_body_bytes = 4096;
  RequestParser parser(limits);
  std::vector<Request> requests;
  bool ok = true;
  while (ok && !input.empty()) {
    size_t n = piece < input.size() ? piece : input.size();
    ok = parser.Feed(input.substr(0, n), &requests);
    input.remove_prefix(n);
  }
  if (!ok) {
    int s = parser.error().status;
    if (s != 400 && s != 413 && s != 431 && s != 501 && s != 505) {
      eventmesh::Fatal("unexpected parse error status");
    }
  }
  for (const Request& r : requests) {
    if (r.body.size() > limits.max_body_bytes ||
        r.headers.size() > limits.max_headers || r.path.empty() ||
        r.path[0] != '/') {
      eventmesh::Fatal("a parsed request breaks the limits");
    }
    std::vector<std::pair<std::string, std::string>> query;
    (void)ParseQuery(r.query, &query);
    (void)SplitPath(r.path);
    (void)r.QueryParam("timeout");
    std::string encoded = PercentEncodeHeaderValue(r.body);
    std::string decoded;
    if (!PercentDecode(encoded, false, &decoded) || decoded != r.body) {
      eventmesh::Fatal("percent-encoding does not round-trip");
    }
  }
  return 0;
}
