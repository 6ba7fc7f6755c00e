// The byte layouts the LMDB engine stores. Kept apart from the engine so
// that tests and tools can read them without LMDB.
//
// Log record (database "log", key: position as 8 big-endian bytes):
//   u8  record version (kLogRecordVersion)
//   u8  topic length L, then L bytes of topic
//   u64 stored time, Unix nanoseconds          (little-endian)
//   u64 topic sequence                         (little-endian)
//   u64 dedup hash of source and id            (little-endian)
//   the event's binary encoding (event.h)
// The header lets a scan filter by topic, search by time, rebuild the dedup
// table and apply retention without decoding events. The mesh fields inside
// the encoding are those the event had when it was appended; the header's
// topic, sequence and stored time are the ones that count.
//
// Topic metadata (database "topics", key: the topic name):
//   u32 topic id, u64 first sequence (0 when empty), u64 last sequence,
//   u64 count, u64 bytes                       (all little-endian)
//
// Sequence index (database "seq"): key u32 topic id + u64 sequence (both
// big-endian, so a topic's entries are adjacent and in order), value the
// position (u64 little-endian). The index is sparse: it holds a topic's
// first record and then one record whenever kIndexEverySequences
// sequences have passed or the record lies more than kIndexMaxGap
// positions after the topic's last indexed one. So every record lies at
// most kIndexMaxGap positions after the index entry at or before its
// sequence, and a reader finds it by scanning the log from that entry,
// skipping other topics by their headers. One index put per
// kIndexEverySequences events instead of one per event halves the writer's
// B-tree work on busy topics; a quiet topic is indexed densely, as jumping
// is then cheaper than scanning.

#ifndef EVENTMESH_SRC_STORE_LOG_FORMAT_H_
#define EVENTMESH_SRC_STORE_LOG_FORMAT_H_

#include <cstdint>
#include <cstring>
#include <string_view>

namespace eventmesh::store_internal {

inline constexpr uint8_t kLogRecordVersion = 1;
inline constexpr size_t kLogHeaderFixed = 2 + 24;

inline void PutBigEndian64(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}
inline uint64_t GetBigEndian64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}
inline void PutBigEndian32(uint32_t v, char* out) {
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}
inline uint32_t GetBigEndian32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}
// Little-endian fixed-width values (the machines we build for are
// little-endian; memcpy keeps unaligned access defined).
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the store's formats assume a little-endian machine");
template <typename T>
inline void PutFixed(T v, char* out) {
  std::memcpy(out, &v, sizeof(T));
}
template <typename T>
inline T GetFixed(const char* in) {
  T v;
  std::memcpy(&v, in, sizeof(T));
  return v;
}

// A parsed view of a log record; points into the record's bytes.
struct LogRecordView {
  std::string_view topic;
  int64_t stored_at = 0;
  uint64_t sequence = 0;
  uint64_t dedup_hash = 0;
  std::string_view encoding;
};

inline size_t LogHeaderSize(size_t topic_size) {
  return kLogHeaderFixed + topic_size;
}

// Writes the header into `out` (LogHeaderSize(topic.size()) bytes).
inline void WriteLogHeader(std::string_view topic, int64_t stored_at,
                           uint64_t sequence, uint64_t dedup_hash, char* out) {
  out[0] = static_cast<char>(kLogRecordVersion);
  out[1] = static_cast<char>(topic.size());
  std::memcpy(out + 2, topic.data(), topic.size());
  char* p = out + 2 + topic.size();
  PutFixed<int64_t>(stored_at, p);
  PutFixed<uint64_t>(sequence, p + 8);
  PutFixed<uint64_t>(dedup_hash, p + 16);
}

// False when `bytes` is not a log record this version understands.
inline bool ParseLogRecord(std::string_view bytes, LogRecordView* view) {
  if (bytes.size() < kLogHeaderFixed ||
      static_cast<uint8_t>(bytes[0]) != kLogRecordVersion) {
    return false;
  }
  size_t topic_size = static_cast<uint8_t>(bytes[1]);
  if (bytes.size() < LogHeaderSize(topic_size)) return false;
  view->topic = bytes.substr(2, topic_size);
  const char* p = bytes.data() + 2 + topic_size;
  view->stored_at = GetFixed<int64_t>(p);
  view->sequence = GetFixed<uint64_t>(p + 8);
  view->dedup_hash = GetFixed<uint64_t>(p + 16);
  view->encoding = bytes.substr(LogHeaderSize(topic_size));
  return true;
}

// Topic metadata as stored.
struct TopicMeta {
  uint32_t id = 0;
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  uint64_t count = 0;
  uint64_t bytes = 0;
};
inline constexpr size_t kTopicMetaSize = 4 + 4 * 8;

inline void WriteTopicMeta(const TopicMeta& m, char* out) {
  PutFixed<uint32_t>(m.id, out);
  PutFixed<uint64_t>(m.first_sequence, out + 4);
  PutFixed<uint64_t>(m.last_sequence, out + 12);
  PutFixed<uint64_t>(m.count, out + 20);
  PutFixed<uint64_t>(m.bytes, out + 28);
}
inline bool ParseTopicMeta(std::string_view bytes, TopicMeta* m) {
  if (bytes.size() != kTopicMetaSize) return false;
  const char* p = bytes.data();
  m->id = GetFixed<uint32_t>(p);
  m->first_sequence = GetFixed<uint64_t>(p + 4);
  m->last_sequence = GetFixed<uint64_t>(p + 12);
  m->count = GetFixed<uint64_t>(p + 20);
  m->bytes = GetFixed<uint64_t>(p + 28);
  return true;
}

inline constexpr size_t kSeqKeySize = 12;
inline constexpr uint64_t kIndexEverySequences = 64;
inline constexpr uint64_t kIndexMaxGap = 1024;

inline void WriteSeqKey(uint32_t topic_id, uint64_t sequence, char* out) {
  PutBigEndian32(topic_id, out);
  PutBigEndian64(sequence, out + 4);
}
inline uint32_t SeqKeyTopic(const char* key) { return GetBigEndian32(key); }
inline uint64_t SeqKeySequence(const char* key) {
  return GetBigEndian64(key + 4);
}

}  // namespace eventmesh::store_internal

#endif  // EVENTMESH_SRC_STORE_LOG_FORMAT_H_
