// Framing of the native TCP protocol (docs/protocol.md): a 16-byte header
// (length, type, flags, reserved, request id) and a body built from
// varints and length-prefixed byte strings.
//
// FrameDecoder turns a byte stream into frames incrementally; BodyWriter
// and BodyReader build and parse bodies. None of these classes is
// thread-safe; each belongs to one connection's thread.

#ifndef EVENTMESH_SRC_NET_FRAME_H_
#define EVENTMESH_SRC_NET_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "eventmesh/status.h"

namespace eventmesh::net {

inline constexpr size_t kFrameHeaderSize = 16;
inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr size_t kDefaultMaxFrameBytes = 16u << 20;

enum class FrameType : uint8_t {
  kHello = 1,
  kWelcome = 2,
  kPing = 3,
  kPong = 4,
  kPublish = 5,
  kPubAck = 6,
  kPublishBatch = 7,
  kPubAckBatch = 8,
  kSubscribe = 9,
  kUnsubscribe = 10,
  kCredit = 11,
  kDeliver = 12,
  kAck = 13,
  kNack = 14,
  kRead = 15,
  kReadResult = 16,
  kTopics = 17,
  kTopicsResult = 18,
  kGroups = 19,
  kGroupsResult = 20,
  kStats = 21,
  kStatsResult = 22,
  kRepublishDead = 23,
  kCountResult = 24,
  kOk = 25,
  kError = 26,
  kGoodbye = 27,
  kSubscriptionEnd = 28,
  kDeleteTopic = 29,
  kSeekGroup = 30,
};

inline constexpr uint8_t kMaxFrameType = 30;

// "publish", "deliver", ... for messages; "unknown" otherwise.
const char* FrameTypeName(FrameType type);

// One decoded frame. `body` points into the decoder's buffer and stays
// valid until the next call to FrameDecoder::Append() or Next().
struct Frame {
  FrameType type = FrameType::kPing;
  uint8_t flags = 0;
  uint64_t request_id = 0;
  std::string_view body;
};

// Appends a frame header for a body of `body_size` bytes.
void AppendFrameHeader(FrameType type, uint64_t request_id, size_t body_size,
                       std::string* out);

// Starts a frame in `*out` whose body is appended afterwards; FinishFrame()
// with the returned offset writes the body length into the header.
size_t BeginFrame(FrameType type, uint64_t request_id, std::string* out);
void FinishFrame(size_t frame_start, std::string* out);

// Appends a whole frame with `body`.
void AppendFrame(FrameType type, uint64_t request_id, std::string_view body,
                 std::string* out);

// Splits a byte stream into frames.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame_bytes = kDefaultMaxFrameBytes)
      : max_frame_bytes_(max_frame_bytes) {}

  // Adds received bytes.
  void Append(std::string_view bytes);

  // Where the caller may write up to `want` received bytes directly
  // (then call Commit with how many it wrote): saves a copy per read.
  char* PrepareWrite(size_t want);
  void Commit(size_t written);

  // Sets `*frame` to the next complete frame and returns true; returns
  // false when more bytes are needed. A malformed header (non-zero
  // reserved bytes, unknown type, unknown flags) is kInvalidArgument; a
  // frame longer than the limit is kResourceExhausted. After an error the
  // decoder stays failed.
  Result<bool> Next(Frame* frame);

  // Bytes received but not yet returned as frames.
  size_t buffered() const { return end_ - begin_; }

 private:
  void Compact();

  size_t max_frame_bytes_;
  std::string buffer_;
  size_t begin_ = 0;  // the first byte not yet returned
  size_t end_ = 0;    // one past the last received byte
  Status failed_;
};

// Builds a body by appending to a string.
class BodyWriter {
 public:
  explicit BodyWriter(std::string* out) : out_(out) {}
  void U8(uint8_t value) { out_->push_back(static_cast<char>(value)); }
  void Varint(uint64_t value);
  void Svarint(int64_t value);
  void Bytes(std::string_view bytes);
  void Raw(std::string_view bytes) { out_->append(bytes); }
  std::string* out() { return out_; }

 private:
  std::string* out_;
};

// Parses a body. Each read returns false (and the reader stays failed)
// when the body is too short or a varint is malformed; Finish() checks
// every byte was consumed and names the first problem.
class BodyReader {
 public:
  BodyReader(std::string_view body, const char* what)
      : rest_(body), what_(what) {}

  bool U8(uint8_t* value);
  bool Varint(uint64_t* value);
  bool Svarint(int64_t* value);
  bool Bytes(std::string_view* bytes);
  bool Bytes(std::string* bytes);
  bool Raw(size_t size, std::string_view* bytes);
  // Reads a varint and checks it is at most `max`.
  bool Count(uint64_t max, uint64_t* value);

  bool ok() const { return error_ == nullptr; }
  size_t remaining() const { return rest_.size(); }
  // OK when nothing failed and nothing is left; else kInvalidArgument
  // naming the frame type and the problem.
  Status Finish();
  Status Fail(const char* problem);

 private:
  bool SetError(const char* problem);

  std::string_view rest_;
  const char* what_;
  const char* error_ = nullptr;
};

}  // namespace eventmesh::net

#endif  // EVENTMESH_SRC_NET_FRAME_H_
