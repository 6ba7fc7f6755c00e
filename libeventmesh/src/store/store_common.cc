#include "store/store_common.h"

#include <cstring>

#include "eventmesh/topic.h"

namespace eventmesh {

std::string_view DurabilityName(Durability durability) {
  switch (durability) {
    case Durability::kSync:
      return "sync";
    case Durability::kBatch:
      return "batch";
    case Durability::kNone:
      return "none";
  }
  return "unknown";
}

bool ParseDurability(std::string_view name, Durability* durability) {
  if (name == "sync") {
    *durability = Durability::kSync;
  } else if (name == "batch") {
    *durability = Durability::kBatch;
  } else if (name == "none") {
    *durability = Durability::kNone;
  } else {
    return false;
  }
  return true;
}

namespace store_internal {

const RetentionRule* FindRetentionRule(const StoreOptions& options,
                                       std::string_view topic) {
  for (const RetentionRule& rule : options.retention) {
    if (rule.pattern == ">" || PatternMatches(rule.pattern, topic)) {
      return &rule;
    }
  }
  return nullptr;
}

std::string DedupKey(std::string_view source, std::string_view id) {
  std::string key;
  key.reserve(source.size() + id.size() + 1);
  key.append(source);
  key.push_back('\0');
  key.append(id);
  return key;
}

namespace {

// 64-bit multiply-and-fold mixing, eight bytes at a time.
inline uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v;
  h *= 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  return h;
}

// Words are read little-endian (bytes[i] in bits 8*i), the same on every
// machine the store builds for (log_format.h insists on little-endian), so
// stored hashes stay valid.
uint64_t HashBytes(uint64_t h, std::string_view bytes) {
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t v;
    std::memcpy(&v, bytes.data() + i, 8);
    h = Mix(h, v);
  }
  uint64_t tail = 0;
  if (i < bytes.size()) std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  return Mix(h, tail ^ (static_cast<uint64_t>(bytes.size()) << 56));
}

}  // namespace

uint64_t DedupHash(std::string_view source, std::string_view id) {
  uint64_t h = HashBytes(0x243F6A8885A308D3ull, source);
  h = HashBytes(h ^ 0x13198A2E03707344ull, id);
  // Final avalanche so that close inputs land far apart.
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  // 0 marks records that are not deduplicated and empty dedup-table slots.
  return h == 0 ? 1 : h;
}

Status CheckAppendable(const Event& event) {
  if (event.topic.empty()) {
    return InvalidArgument("event '" + event.id +
                           "' has no topic; set Event::topic before Append");
  }
  if (event.topic.size() > kMaxTopicBytes) {
    return InvalidArgument("event '" + event.id + "' has a topic of " +
                           std::to_string(event.topic.size()) +
                           " bytes; the limit is " +
                           std::to_string(kMaxTopicBytes));
  }
  return Status();
}

bool PatternCache::Matches(std::string_view topic) {
  if (match_all_) return true;
  if (has_last_ && topic == last_topic_) return last_result_;
  last_topic_.assign(topic);
  last_result_ = PatternMatches(pattern_, topic);
  has_last_ = true;
  return last_result_;
}

}  // namespace store_internal
}  // namespace eventmesh
