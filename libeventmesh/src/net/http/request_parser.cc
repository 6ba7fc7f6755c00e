#include "net/http/request_parser.h"

#include <cctype>
#include <climits>
#include <string>

namespace eventmesh::http {

namespace {

RequestParser* Self(http_parser* p) {
  return static_cast<RequestParser*>(p->data);
}

void TrimTrailingSpace(std::string* s) {
  while (!s->empty() && (s->back() == ' ' || s->back() == '\t')) s->pop_back();
}

}  // namespace

RequestParser::RequestParser(const ParseLimits& limits) : limits_(limits) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_message_begin = &RequestParser::OnMessageBegin;
  settings_.on_url = &RequestParser::OnUrl;
  settings_.on_header_field = &RequestParser::OnHeaderField;
  settings_.on_header_value = &RequestParser::OnHeaderValue;
  settings_.on_headers_complete = &RequestParser::OnHeadersComplete;
  settings_.on_body = &RequestParser::OnBody;
  settings_.on_message_complete = &RequestParser::OnMessageComplete;
}

bool RequestParser::Feed(std::string_view bytes, std::vector<Request>* out) {
  if (failed()) return false;
  out_ = out;
  // http-parser stops after a request that asks for a protocol upgrade;
  // the server ignores upgrades (as RFC 9110 allows), so parsing goes on.
  while (!bytes.empty()) {
    size_t n =
        http_parser_execute(&parser_, &settings_, bytes.data(), bytes.size());
    if (failed()) return false;
    if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK) {
      Fail(400, std::string("malformed HTTP request: ") +
                    http_errno_description(HTTP_PARSER_ERRNO(&parser_)));
      return false;
    }
    if (parser_.upgrade) {
      if (parser_.method == HTTP_CONNECT) {
        Fail(501, "CONNECT is not supported");
        return false;
      }
      parser_.upgrade = 0;
    } else if (n < bytes.size()) {
      Fail(400, "malformed HTTP request: the parser stopped early");
      return false;
    }
    if (n == 0) break;
    bytes.remove_prefix(n);
  }
  return true;
}

int RequestParser::Fail(int status, std::string message) {
  if (!failed()) {
    error_.status = status;
    error_.message = std::move(message);
  }
  return -1;
}

bool RequestParser::CountHeaderBytes(size_t n) {
  header_bytes_ += n;
  if (header_bytes_ <= limits_.max_header_bytes) return true;
  Fail(431, "the request line and headers exceed " +
                std::to_string(limits_.max_header_bytes) + " bytes");
  return false;
}

int RequestParser::OnMessageBegin(http_parser* p) {
  RequestParser* self = Self(p);
  self->current_ = Request();
  self->header_bytes_ = 0;
  self->last_was_value_ = false;
  self->in_request_ = true;
  self->headers_done_ = false;
  return 0;
}

int RequestParser::OnUrl(http_parser* p, const char* at, size_t n) {
  RequestParser* self = Self(p);
  if (!self->CountHeaderBytes(n)) return -1;
  self->current_.target.append(at, n);
  return 0;
}

int RequestParser::OnHeaderField(http_parser* p, const char* at, size_t n) {
  RequestParser* self = Self(p);
  // Each header line costs its bytes plus ": " and CRLF.
  if (!self->CountHeaderBytes(n + 4)) return -1;
  auto& headers = self->current_.headers;
  if (headers.empty() || self->last_was_value_) {
    if (headers.size() >= self->limits_.max_headers) {
      return self->Fail(431, "the request has more than " +
                                 std::to_string(self->limits_.max_headers) +
                                 " headers");
    }
    headers.emplace_back();
  }
  self->last_was_value_ = false;
  for (size_t i = 0; i < n; ++i) {
    headers.back().name +=
        static_cast<char>(std::tolower(static_cast<unsigned char>(at[i])));
  }
  return 0;
}

int RequestParser::OnHeaderValue(http_parser* p, const char* at, size_t n) {
  RequestParser* self = Self(p);
  if (!self->CountHeaderBytes(n)) return -1;
  if (self->current_.headers.empty()) return self->Fail(400, "bad header");
  self->last_was_value_ = true;
  self->current_.headers.back().value.append(at, n);
  return 0;
}

int RequestParser::OnHeadersComplete(http_parser* p) {
  RequestParser* self = Self(p);
  Request& r = self->current_;
  self->headers_done_ = true;
  for (Header& h : r.headers) TrimTrailingSpace(&h.value);
  r.method = http_method_str(static_cast<http_method>(p->method));
  r.version_major = p->http_major;
  r.version_minor = p->http_minor;
  if (p->http_major != 1) {
    return self->Fail(505, "only HTTP/1.0 and HTTP/1.1 are supported");
  }
  if (p->content_length != ULLONG_MAX &&
      p->content_length > self->limits_.max_body_bytes) {
    return self->Fail(413, "the body of " + std::to_string(p->content_length) +
                               " bytes exceeds the limit of " +
                               std::to_string(self->limits_.max_body_bytes) +
                               " bytes");
  }
  if (!self->SplitTarget()) return -1;
  const std::string* expect = r.FindHeader("expect");
  self->continue_wanted_ =
      expect != nullptr && p->http_minor >= 1 &&
      (*expect == "100-continue" || *expect == "100-Continue");
  return 0;
}

bool RequestParser::SplitTarget() {
  Request& r = current_;
  std::string_view target = r.target;
  if (target.empty() || target.front() != '/') {
    // Absolute-form targets ("http://host/path") are for proxies.
    Fail(400, "the request target must be a path starting with '/'");
    return false;
  }
  size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
  size_t hash = r.query.find('#');
  if (hash != std::string::npos) r.query.resize(hash);
  if (!PercentDecode(raw_path, false, &r.path)) {
    Fail(400, "the request path has a malformed percent-escape");
    return false;
  }
  return true;
}

int RequestParser::OnBody(http_parser* p, const char* at, size_t n) {
  RequestParser* self = Self(p);
  Request& r = self->current_;
  if (r.body.size() + n > self->limits_.max_body_bytes) {
    return self->Fail(413, "the body exceeds the limit of " +
                               std::to_string(self->limits_.max_body_bytes) +
                               " bytes");
  }
  r.body.append(at, n);
  self->continue_wanted_ = false;
  return 0;
}

int RequestParser::OnMessageComplete(http_parser* p) {
  RequestParser* self = Self(p);
  self->current_.keep_alive = http_should_keep_alive(p) != 0;
  self->out_->push_back(std::move(self->current_));
  self->current_ = Request();
  self->in_request_ = false;
  self->headers_done_ = false;
  self->continue_wanted_ = false;
  return 0;
}

}  // namespace eventmesh::http
