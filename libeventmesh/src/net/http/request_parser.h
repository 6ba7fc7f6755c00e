// RequestParser: turns the bytes of one connection into HTTP/1.1 requests,
// with limits. Built on http-parser; it knows nothing of sockets, so the
// server, the unit tests and the fuzzer feed it buffers alike.
//
//   RequestParser parser(limits);
//   std::vector<Request> done;
//   if (!parser.Feed(bytes, &done)) Reply(parser.error());
//
// Several requests in one buffer (pipelining) come out in order. Once Feed()
// fails the parser stays failed: the connection cannot be resynchronised and
// must close after answering the error.
//
// Thread-safety: one parser per connection, used by one thread at a time.

#ifndef EVENTMESH_SRC_NET_HTTP_REQUEST_PARSER_H_
#define EVENTMESH_SRC_NET_HTTP_REQUEST_PARSER_H_

#include <http_parser.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/http_message.h"

namespace eventmesh::http {

struct ParseLimits {
  // Request line plus every header line, in bytes.
  size_t max_header_bytes = 16 << 10;
  size_t max_headers = 100;
  size_t max_body_bytes = 8 << 20;
};

struct ParseError {
  int status = 0;  // 400, 413, 431, 501 or 505
  std::string message;
};

class RequestParser {
 public:
  explicit RequestParser(const ParseLimits& limits);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses `bytes`, appending each completed request to `*out`. Returns
  // false on malformed input or a broken limit; error() says which.
  bool Feed(std::string_view bytes, std::vector<Request>* out);

  bool failed() const { return error_.status != 0; }
  const ParseError& error() const { return error_; }
  // True between the first byte of a request and its last.
  bool in_request() const { return in_request_; }
  // True once the current request's headers are complete.
  bool headers_done() const { return headers_done_; }
  // True once per request whose headers asked "Expect: 100-continue" and
  // whose body has not started: the caller may answer 100 Continue.
  bool TakeContinue() {
    bool wanted = continue_wanted_;
    continue_wanted_ = false;
    return wanted;
  }

 private:
  static int OnMessageBegin(http_parser* p);
  static int OnUrl(http_parser* p, const char* at, size_t n);
  static int OnHeaderField(http_parser* p, const char* at, size_t n);
  static int OnHeaderValue(http_parser* p, const char* at, size_t n);
  static int OnHeadersComplete(http_parser* p);
  static int OnBody(http_parser* p, const char* at, size_t n);
  static int OnMessageComplete(http_parser* p);

  bool CountHeaderBytes(size_t n);
  bool SplitTarget();
  int Fail(int status, std::string message);

  ParseLimits limits_;
  http_parser parser_;
  http_parser_settings settings_;
  Request current_;
  std::vector<Request>* out_ = nullptr;
  size_t header_bytes_ = 0;
  bool last_was_value_ = false;
  bool in_request_ = false;
  bool headers_done_ = false;
  bool continue_wanted_ = false;
  ParseError error_;
};

}  // namespace eventmesh::http

#endif  // EVENTMESH_SRC_NET_HTTP_REQUEST_PARSER_H_
