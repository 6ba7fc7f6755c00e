#include "net/frame.h"

#include <cstring>

namespace eventmesh::net {
namespace {

void PutLe32(uint32_t value, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(value >> (8 * i));
}

void PutLe64(uint64_t value, char* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(value >> (8 * i));
}

uint64_t GetLe(const char* in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<uint64_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  }
  return value;
}

}  // namespace

const char* FrameTypeName(FrameType type) {
  static const char* const kNames[] = {"unknown",
                                       "hello",
                                       "welcome",
                                       "ping",
                                       "pong",
                                       "publish",
                                       "puback",
                                       "publish_batch",
                                       "puback_batch",
                                       "subscribe",
                                       "unsubscribe",
                                       "credit",
                                       "deliver",
                                       "ack",
                                       "nack",
                                       "read",
                                       "read_result",
                                       "topics",
                                       "topics_result",
                                       "groups",
                                       "groups_result",
                                       "stats",
                                       "stats_result",
                                       "republish_dead",
                                       "count_result",
                                       "ok",
                                       "error",
                                       "goodbye",
                                       "subscription_end",
                                       "delete_topic",
                                       "seek_group"};
  auto index = static_cast<uint8_t>(type);
  return index <= kMaxFrameType ? kNames[index] : "unknown";
}

void AppendFrameHeader(FrameType type, uint64_t request_id, size_t body_size,
                       std::string* out) {
  char header[kFrameHeaderSize] = {};
  PutLe32(static_cast<uint32_t>(body_size), header);
  header[4] = static_cast<char>(type);
  PutLe64(request_id, header + 8);
  out->append(header, sizeof(header));
}

size_t BeginFrame(FrameType type, uint64_t request_id, std::string* out) {
  size_t start = out->size();
  AppendFrameHeader(type, request_id, 0, out);
  return start;
}

void FinishFrame(size_t frame_start, std::string* out) {
  size_t body = out->size() - frame_start - kFrameHeaderSize;
  PutLe32(static_cast<uint32_t>(body), out->data() + frame_start);
}

void AppendFrame(FrameType type, uint64_t request_id, std::string_view body,
                 std::string* out) {
  AppendFrameHeader(type, request_id, body.size(), out);
  out->append(body);
}

// --- FrameDecoder ----------------------------------------------------------

void FrameDecoder::Append(std::string_view bytes) {
  char* dst = PrepareWrite(bytes.size());
  if (!bytes.empty()) std::memcpy(dst, bytes.data(), bytes.size());
  Commit(bytes.size());
}

char* FrameDecoder::PrepareWrite(size_t want) {
  Compact();
  if (buffer_.size() < end_ + want) buffer_.resize(end_ + want);
  return buffer_.data() + end_;
}

void FrameDecoder::Commit(size_t written) { end_ += written; }

// Moves unread bytes to the front once the consumed part dominates, so the
// buffer does not grow with the stream.
void FrameDecoder::Compact() {
  if (begin_ == 0) return;
  if (begin_ == end_) {
    begin_ = end_ = 0;
    return;
  }
  if (begin_ < buffer_.size() / 2) return;
  std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
  end_ -= begin_;
  begin_ = 0;
}

Result<bool> FrameDecoder::Next(Frame* frame) {
  if (!failed_.ok()) return failed_;
  if (end_ - begin_ < kFrameHeaderSize) return false;
  const char* header = buffer_.data() + begin_;
  uint64_t length = GetLe(header, 4);
  auto type = static_cast<uint8_t>(header[4]);
  auto flags = static_cast<uint8_t>(header[5]);
  if (type == 0 || type > kMaxFrameType) {
    failed_ = InvalidArgument("malformed frame: unknown frame type " +
                              std::to_string(type));
  } else if (header[6] != 0 || header[7] != 0) {
    failed_ = InvalidArgument("malformed frame: reserved header bytes are " +
                              std::string("not zero"));
  } else if (flags != 0) {
    failed_ = InvalidArgument("malformed frame: unknown flags " +
                              std::to_string(flags));
  } else if (length > max_frame_bytes_) {
    failed_ = ResourceExhausted("frame of " + std::to_string(length) +
                                " bytes exceeds the limit of " +
                                std::to_string(max_frame_bytes_) + " bytes");
  }
  if (!failed_.ok()) return failed_;
  if (end_ - begin_ < kFrameHeaderSize + length) return false;

  frame->type = static_cast<FrameType>(type);
  frame->flags = flags;
  frame->request_id = GetLe(header + 8, 8);
  frame->body = std::string_view(header + kFrameHeaderSize, length);
  begin_ += kFrameHeaderSize + length;
  return true;
}

// --- BodyWriter ------------------------------------------------------------

void BodyWriter::Varint(uint64_t value) {
  char buf[10];
  int n = 0;
  while (value >= 0x80) {
    buf[n++] = static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  buf[n++] = static_cast<char>(value);
  out_->append(buf, n);
}

void BodyWriter::Svarint(int64_t value) {
  uint64_t bits = static_cast<uint64_t>(value);
  Varint((bits << 1) ^ static_cast<uint64_t>(value >> 63));
}

void BodyWriter::Bytes(std::string_view bytes) {
  Varint(bytes.size());
  out_->append(bytes);
}

// --- BodyReader ------------------------------------------------------------

bool BodyReader::SetError(const char* problem) {
  if (error_ == nullptr) error_ = problem;
  rest_ = {};
  return false;
}

bool BodyReader::U8(uint8_t* value) {
  if (error_ != nullptr) return false;
  if (rest_.empty()) return SetError("body ends early");
  *value = static_cast<uint8_t>(rest_[0]);
  rest_.remove_prefix(1);
  return true;
}

bool BodyReader::Varint(uint64_t* value) {
  if (error_ != nullptr) return false;
  uint64_t result = 0;
  for (size_t i = 0; i < 10; ++i) {
    if (i >= rest_.size()) return SetError("body ends inside a varint");
    auto byte = static_cast<uint8_t>(rest_[i]);
    if (i == 9 && byte > 1) return SetError("varint exceeds 64 bits");
    result |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      rest_.remove_prefix(i + 1);
      *value = result;
      return true;
    }
  }
  return SetError("varint longer than 10 bytes");
}

bool BodyReader::Svarint(int64_t* value) {
  uint64_t bits = 0;
  if (!Varint(&bits)) return false;
  *value = static_cast<int64_t>(bits >> 1) ^ -static_cast<int64_t>(bits & 1);
  return true;
}

bool BodyReader::Raw(size_t size, std::string_view* bytes) {
  if (error_ != nullptr) return false;
  if (size > rest_.size()) return SetError("byte string runs past the body");
  *bytes = rest_.substr(0, size);
  rest_.remove_prefix(size);
  return true;
}

bool BodyReader::Bytes(std::string_view* bytes) {
  uint64_t size = 0;
  if (!Varint(&size)) return false;
  if (size > rest_.size()) return SetError("byte string runs past the body");
  return Raw(static_cast<size_t>(size), bytes);
}

bool BodyReader::Bytes(std::string* bytes) {
  std::string_view view;
  if (!Bytes(&view)) return false;
  bytes->assign(view);
  return true;
}

bool BodyReader::Count(uint64_t max, uint64_t* value) {
  if (!Varint(value)) return false;
  if (*value > max) return SetError("count larger than the body can hold");
  return true;
}

Status BodyReader::Fail(const char* problem) {
  SetError(problem);
  return Finish();
}

Status BodyReader::Finish() {
  if (error_ == nullptr && !rest_.empty()) error_ = "trailing bytes";
  if (error_ == nullptr) return Status::Ok();
  return InvalidArgument(std::string("malformed ") + what_ +
                         " frame: " + error_);
}

}  // namespace eventmesh::net
