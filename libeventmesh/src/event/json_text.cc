#include "event/json_text.h"

#include <utility>

namespace eventmesh::internal {
namespace {

using nlohmann::json;

// Forwards every SAX call to `Inner` while counting nesting depth and
// keeping the parser's error message. Returning false stops the parse.
template <typename Inner>
class BoundedSax {
 public:
  BoundedSax(Inner* inner, int max_depth, std::string* error)
      : inner_(inner), max_depth_(max_depth), error_(error) {}

  bool null() { return inner_->null(); }
  bool boolean(bool v) { return inner_->boolean(v); }
  bool number_integer(json::number_integer_t v) {
    return inner_->number_integer(v);
  }
  bool number_unsigned(json::number_unsigned_t v) {
    return inner_->number_unsigned(v);
  }
  bool number_float(json::number_float_t v, const json::string_t& s) {
    return inner_->number_float(v, s);
  }
  bool string(json::string_t& v) { return inner_->string(v); }
  bool binary(json::binary_t& v) { return inner_->binary(v); }
  bool start_object(std::size_t n) {
    return Enter() && inner_->start_object(n);
  }
  bool key(json::string_t& v) { return inner_->key(v); }
  bool end_object() {
    --depth_;
    return inner_->end_object();
  }
  bool start_array(std::size_t n) { return Enter() && inner_->start_array(n); }
  bool end_array() {
    --depth_;
    return inner_->end_array();
  }
  template <typename Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& ex) {
    SetError(ex.what());
    return false;
  }

 private:
  bool Enter() {
    if (++depth_ <= max_depth_) return true;
    SetError("nesting deeper than " + std::to_string(max_depth_) + " levels");
    return false;
  }

  // nlohmann's messages start with "[json.exception.parse_error.101] ",
  // which means nothing to a user; keep what follows.
  void SetError(std::string_view what) {
    if (error_ == nullptr) return;
    size_t pos = what.find("] ");
    if (what.substr(0, 1) == "[" && pos != std::string_view::npos) {
      what.remove_prefix(pos + 2);
    }
    error_->assign(what);
  }

  Inner* inner_;
  int max_depth_;
  int depth_ = 0;
  std::string* error_;
};

// A SAX consumer that keeps nothing: used to check text is JSON.
struct NullSax {
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) {
    return true;
  }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool start_object(std::size_t) { return true; }
  bool key(json::string_t&) { return true; }
  bool end_object() { return true; }
  bool start_array(std::size_t) { return true; }
  bool end_array() { return true; }
};

// The length of the well-formed UTF-8 sequence starting at s[i], or 0.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t n;
  uint8_t lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

// ASCII that goes into a JSON string as it is.
bool IsPlainAscii(uint8_t c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

// Appends the escape sequence of an ASCII byte that needs one.
void AppendEscaped(uint8_t c, std::string* out) {
  // JSON's two-character escapes where they exist, else \u00XX.
  static constexpr std::string_view kFrom = "\"\\\n\r\t\b\f";
  static constexpr std::string_view kTo = "\"\\nrtbf";
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t k = kFrom.find(static_cast<char>(c));
  if (k != std::string_view::npos) {
    const char esc[] = {'\\', kTo[k]};
    out->append(esc, sizeof esc);
    return;
  }
  const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
  out->append(esc, sizeof esc);
}

// nlohmann's lexer takes a NUL byte for the end of the input, which would
// let anything follow one. No JSON text contains a NUL, so refuse it here.
bool HasNul(std::string_view text) {
  return text.find('\0') != std::string_view::npos;
}

template <typename Json>
bool ParseInto(std::string_view text, Json* out, std::string* error,
               int max_depth) {
  *out = Json();
  if (HasNul(text)) {
    if (error != nullptr) {
      *error = "a NUL byte at offset " + std::to_string(text.find('\0'));
    }
    return false;
  }
  nlohmann::detail::json_sax_dom_parser<Json> dom(*out,
                                                  /*allow_exceptions=*/false);
  BoundedSax<decltype(dom)> sax(&dom, max_depth, error);
  if (Json::sax_parse(text.begin(), text.end(), &sax)) return true;
  *out = Json();
  return false;
}

}  // namespace

bool ParseJson(std::string_view text, nlohmann::json* out, std::string* error,
               int max_depth) {
  return ParseInto(text, out, error, max_depth);
}

bool ParseJson(std::string_view text, nlohmann::ordered_json* out,
               std::string* error, int max_depth) {
  return ParseInto(text, out, error, max_depth);
}

bool IsJsonText(std::string_view text, int max_depth) {
  if (HasNul(text)) return false;
  NullSax sink;
  BoundedSax<NullSax> sax(&sink, max_depth, nullptr);
  return nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
}

bool IsValidUtf8(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    // Runs of ASCII are the common case.
    if (static_cast<uint8_t>(bytes[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = Utf8SequenceLength(bytes, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    // Copy the longest run that needs no escaping in one go.
    size_t end = i;
    while (end < text.size()) {
      const uint8_t c = static_cast<uint8_t>(text[end]);
      size_t n = IsPlainAscii(c) ? 1
                 : c >= 0x80     ? Utf8SequenceLength(text, end)
                                 : 0;
      if (n == 0) break;
      end += n;
    }
    out->append(text.data() + i, end - i);
    if (end == text.size()) break;

    const uint8_t c = static_cast<uint8_t>(text[end]);
    if (c >= 0x80) {
      out->append("\\ufffd");  // not UTF-8
    } else {
      AppendEscaped(c, out);
    }
    i = end + 1;
  }
  out->push_back('"');
}

void AppendJsonKey(std::string_view key, std::string* out) {
  AppendJsonString(key, out);
  out->push_back(':');
}

}  // namespace eventmesh::internal
