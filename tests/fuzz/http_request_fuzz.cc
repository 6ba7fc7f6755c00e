// The HTTP request parser on arbitrary bytes, fed in pieces whose size the
// first byte picks: it must give requests within the limits or an error
// with one of the expected statuses. Each parsed request then goes through
// the query helpers and the CloudEvents binding; an event decoded in
// binary mode must come back unchanged through EncodeBinaryMode.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "net/http/cloudevents_binding.h"
#include "net/http/http_message.h"
#include "net/http/request_parser.h"

namespace eventmesh::http {
namespace {

void CheckBinding(const Request& r) {
  Result<BindingMode> mode = DetectMode(r);
  if (!mode.ok() || *mode != BindingMode::kBinary) {
    (void)DecodeEvents(r);
    return;
  }
  Result<Event> event = DecodeBinaryMode(r.headers, r.body);
  if (!event.ok() || !event->Validate().ok()) return;
  std::vector<Header> headers;
  std::string body = EncodeBinaryMode(*event, false, &headers);
  for (Header& h : headers) {
    for (char& c : h.name) c = static_cast<char>(std::tolower(c));
    for (char c : h.value) {
      FUZZ_CHECK(c != '\r' && c != '\n', "a header value holds a line break");
    }
  }
  Result<Event> back = DecodeBinaryMode(headers, body);
  FUZZ_CHECK(back.ok(), "binary mode refused its own encoding: " +
                            back.status().ToString());
  if (event->datacontenttype.find_first_of("\r\n") == std::string::npos) {
    FUZZ_CHECK(*back == *event, "binary mode round trip changed the event");
  }
}

void CheckRequest(const Request& r, const ParseLimits& limits) {
  FUZZ_CHECK(r.body.size() <= limits.max_body_bytes, "body over the limit");
  FUZZ_CHECK(r.headers.size() <= limits.max_headers, "too many headers");
  FUZZ_CHECK(!r.path.empty() && r.path[0] == '/', "path without '/'");
  std::vector<std::pair<std::string, std::string>> query;
  (void)ParseQuery(r.query, &query);
  (void)SplitPath(r.path);
  std::string decoded;
  FUZZ_CHECK(PercentDecode(PercentEncodeHeaderValue(r.body), false, &decoded) &&
                 decoded == r.body,
             "percent-encoding does not round-trip");
  CheckBinding(r);
}

}  // namespace
}  // namespace eventmesh::http

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
    FUZZ_CHECK(s == 400 || s == 413 || s == 431 || s == 501 || s == 505,
               "unexpected error status " + std::to_string(s));
    FUZZ_CHECK(!parser.error().message.empty(), "an error without a reason");
  }
  for (const Request& r : requests) CheckRequest(r, limits);
  return 0;
}
