#include "event/binary_codec.h"

#include <array>
#include <cstring>
#include <string>

namespace eventmesh {
namespace {

// The CloudEvents attributes in the order they are encoded.
constexpr std::string_view kAttributeOrder[] = {
    "id",   "source",          "type",      "specversion", "subject",
    "time", "datacontenttype", "dataschema"};

// Pointers to the attributes of `e` (const or not), in kAttributeOrder.
template <typename E>
auto Attributes(E& e) {
  return std::array{
      &e.id,   &e.source,          &e.type,      &e.specversion, &e.subject,
      &e.time, &e.datacontenttype, &e.dataschema};
}

// --- Writing ----------------------------------------------------------------

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

size_t StringSize(std::string_view s) {
  return VarintSize(s.size()) + s.size();
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

int64_t UnZigZag(uint64_t u) {
  return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
}

char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

char* PutString(char* p, std::string_view s) {
  p = PutVarint(p, s.size());
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// --- Reading ----------------------------------------------------------------

// Reads fields from the front of an encoded event. The first failure is
// kept in `error` and every later read fails.
class Reader {
 public:
  explicit Reader(std::string_view bytes)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  const Status& error() const { return error_; }

  bool Varint(std::string_view field, uint64_t* value) {
    // Most varints here are lengths under 128: one byte.
    if (p_ != end_ && static_cast<uint8_t>(*p_) < 0x80) [[likely]] {
      *value = static_cast<uint8_t>(*p_++);
      return true;
    }
    return LongVarint(field, value);
  }

  bool LongVarint(std::string_view field, uint64_t* value) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return Fail("is truncated in '", field, "'");
      const uint8_t b = static_cast<uint8_t>(*p_++);
      // The tenth byte may only hold the top bit of a 64-bit value.
      if (shift == 63 && b > 1) {
        return Fail("has an over-long varint in '", field, "'");
      }
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (b < 0x80) {
        // A zero last byte means a shorter encoding existed.
        if (b == 0 && shift > 0) {
          return Fail("has a non-minimal varint in '", field, "'");
        }
        *value = v;
        return true;
      }
    }
    return Fail("has an over-long varint in '", field, "'");
  }

  bool String(std::string_view field, std::string_view* value) {
    uint64_t n = 0;
    if (!Varint(field, &n)) return false;
    if (n > remaining()) [[unlikely]] {
      return FailTruncated(field, n);
    }
    *value = std::string_view(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }

  // Replay decodes ten strings per event, half of them usually empty, so
  // this path avoids the general assign where it can.
  bool String(std::string_view field, std::string* value) {
    std::string_view view;
    if (!String(field, &view)) return false;
    if (view.empty()) {
      value->clear();
    } else if (value->empty()) {
      *value = std::string(view);
    } else {
      value->assign(view.data(), view.size());
    }
    return true;
  }

  [[gnu::noinline, gnu::cold]] bool FailTruncated(std::string_view field,
                                                  uint64_t n) {
    return Fail("is truncated: '", field,
                "' needs " + std::to_string(n) + " bytes, " +
                    std::to_string(remaining()) + " are left");
  }

  // Records "encoded event <what><field><rest>" and returns false.
  [[gnu::noinline, gnu::cold]] bool Fail(std::string_view what,
                                         std::string_view field,
                                         std::string_view rest) {
    std::string message = "encoded event ";
    message.append(what).append(field).append(rest);
    error_ = InvalidArgument(std::move(message));
    p_ = end_;
    return false;
  }

 private:
  const char* p_;
  const char* end_;
  Status error_;
};

// Checks the size and the version byte.
Status CheckEnvelope(std::string_view bytes) {
  if (bytes.empty()) return InvalidArgument("encoded event is empty");
  if (bytes.size() > kMaxEncodedEventSize) {
    return InvalidArgument("encoded event is " + std::to_string(bytes.size()) +
                           " bytes, more than the limit of " +
                           std::to_string(kMaxEncodedEventSize));
  }
  const uint8_t version = static_cast<uint8_t>(bytes[0]);
  if (version != kBinaryFormatVersion) {
    return DataLoss("encoded event has format version " +
                    std::to_string(version) + "; this build reads only " +
                    std::to_string(kBinaryFormatVersion) +
                    " (was it written by a newer EventMesh?)");
  }
  return Status::Ok();
}

bool ReadHeader(Reader* r, internal::BinaryEventHeader* h) {
  uint64_t stored_at = 0;
  if (!r->String("topic", &h->topic) || !r->Varint("sequence", &h->sequence) ||
      !r->Varint("stored_at_nanos", &stored_at)) {
    return false;
  }
  h->stored_at_nanos = UnZigZag(stored_at);
  return true;
}

bool ReadExtensions(Reader* r, Event* e) {
  uint64_t count = 0;
  if (!r->Varint("extension count", &count)) return false;
  // Each extension takes at least two bytes; this bounds the reservation.
  if (count > r->remaining() / 2) {
    return r->Fail("is truncated: '", "extension count",
                   "' is " + std::to_string(count) + " but only " +
                       std::to_string(r->remaining()) + " bytes are left");
  }
  e->extensions.resize(static_cast<size_t>(count));
  for (auto& [name, value] : e->extensions) {
    if (!r->String("extension name", &name) ||
        !r->String("extension value", &value)) {
      return false;
    }
  }
  return true;
}

// Decodes well-formed input with bounds checks but no messages: replay
// decodes every stored event, and the careful Reader costs about twice as
// much. False means "not this way": the caller decodes again with the
// Reader, which says what is wrong. Accepts exactly what the Reader does.
class FastDecoder {
 public:
  explicit FastDecoder(std::string_view bytes)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool Decode(Event* e) {
    if (p_ == end_ || static_cast<uint8_t>(*p_++) != kBinaryFormatVersion) {
      return false;
    }
    uint64_t stored_at = 0;
    uint64_t extensions = 0;
    bool ok = String(&e->topic) && Varint(&e->sequence) && Varint(&stored_at) &&
              String(&e->id) && String(&e->source) && String(&e->type) &&
              String(&e->specversion) && String(&e->subject) &&
              String(&e->time) && String(&e->datacontenttype) &&
              String(&e->dataschema) && Varint(&extensions) &&
              Extensions(extensions, e) && String(&e->data);
    e->stored_at_nanos = UnZigZag(stored_at);
    return ok && p_ == end_;
  }

 private:
  bool Varint(uint64_t* value) {
    if (p_ == end_) return false;
    uint8_t b = static_cast<uint8_t>(*p_++);
    if (b < 0x80) {
      *value = b;
      return true;
    }
    uint64_t v = b & 0x7F;
    for (int shift = 7; shift < 64 && p_ != end_; shift += 7) {
      b = static_cast<uint8_t>(*p_++);
      if (shift == 63 && b > 1) return false;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (b < 0x80) {
        *value = v;
        return b != 0;  // a zero last byte is not minimal
      }
    }
    return false;
  }

  // Like ReadExtensions: each takes at least two bytes, which bounds
  // `count` before anything is reserved for it.
  bool Extensions(uint64_t count, Event* e) {
    if (count > static_cast<size_t>(end_ - p_) / 2) return false;
    e->extensions.resize(static_cast<size_t>(count));
    for (auto& [name, value] : e->extensions) {
      if (!String(&name) || !String(&value)) return false;
    }
    return true;
  }

  bool String(std::string* value) {
    uint64_t n = 0;
    if (!Varint(&n) || n > static_cast<size_t>(end_ - p_)) return false;
    // Appending to an empty string is the cheapest way in.
    value->clear();
    value->append(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }

  const char* p_;
  const char* end_;
};

bool FastDecode(std::string_view bytes, Event* e) {
  // Oversized input takes the careful path, which names the limit.
  if (bytes.size() > kMaxEncodedEventSize) return false;
  return FastDecoder(bytes).Decode(e);
}

}  // namespace

namespace internal {

size_t EncodedBinarySize(const Event& e) {
  size_t n = 1 + StringSize(e.topic) + VarintSize(e.sequence) +
             VarintSize(ZigZag(e.stored_at_nanos));
  for (const std::string* a : Attributes(e)) n += StringSize(*a);
  n += VarintSize(e.extensions.size());
  for (const auto& [name, value] : e.extensions) {
    n += StringSize(name) + StringSize(value);
  }
  return n + StringSize(e.data);
}

Result<BinaryEventHeader> PeekBinaryHeader(std::string_view bytes) {
  EM_RETURN_IF_ERROR(CheckEnvelope(bytes));
  Reader r(bytes.substr(1));
  BinaryEventHeader h;
  if (!ReadHeader(&r, &h)) return r.error();
  return h;
}

void EncodeBinaryTo(const Event& e, char* out, size_t size) {
  char* p = out;
  *p++ = static_cast<char>(kBinaryFormatVersion);
  p = PutString(p, e.topic);
  p = PutVarint(p, e.sequence);
  p = PutVarint(p, ZigZag(e.stored_at_nanos));
  for (const std::string* a : Attributes(e)) p = PutString(p, *a);
  p = PutVarint(p, e.extensions.size());
  for (const auto& [name, value] : e.extensions) {
    p = PutString(p, name);
    p = PutString(p, value);
  }
  p = PutString(p, e.data);
  if (p != out + size) Fatal("EncodeBinaryTo: size mismatch");
}

Status DecodeBinaryInto(std::string_view bytes, Event* e) {
  if (FastDecode(bytes, e)) return Status::Ok();
  EM_RETURN_IF_ERROR(CheckEnvelope(bytes));
  Reader r(bytes.substr(1));
  BinaryEventHeader h;
  if (!ReadHeader(&r, &h)) return r.error();

  e->topic.assign(h.topic.data(), h.topic.size());
  e->sequence = h.sequence;
  e->stored_at_nanos = h.stored_at_nanos;
  const auto attributes = Attributes(*e);
  for (size_t i = 0; i < attributes.size(); ++i) {
    if (!r.String(kAttributeOrder[i], attributes[i])) return r.error();
  }
  if (!ReadExtensions(&r, e) || !r.String("data", &e->data)) return r.error();
  if (r.remaining() != 0) {
    return InvalidArgument("encoded event has " +
                           std::to_string(r.remaining()) +
                           " bytes after its end; is it two events or a "
                           "corrupt length?");
  }
  return Status::Ok();
}

}  // namespace internal

void AppendBinary(const Event& e, std::string* out) {
  // Size once, grow once, then write through a pointer.
  const size_t start = out->size();
  const size_t size = internal::EncodedBinarySize(e);
  out->resize(start + size);
  internal::EncodeBinaryTo(e, out->data() + start, size);
}

std::string EncodeBinary(const Event& event) {
  std::string out;
  AppendBinary(event, &out);
  return out;
}

Result<Event> DecodeBinary(std::string_view bytes) {
  Event e;
  EM_RETURN_IF_ERROR(internal::DecodeBinaryInto(bytes, &e));
  return e;
}

}  // namespace eventmesh
