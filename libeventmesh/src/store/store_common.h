// Helpers shared by the store engines.

#ifndef EVENTMESH_SRC_STORE_STORE_COMMON_H_
#define EVENTMESH_SRC_STORE_STORE_COMMON_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "eventmesh/store.h"

namespace eventmesh::store_internal {

// The first rule of `options` whose pattern matches `topic`, or nullptr.
const RetentionRule* FindRetentionRule(const StoreOptions& options,
                                       std::string_view topic);

// True when `rule` limits anything.
inline bool RuleLimits(const RetentionRule* rule) {
  return rule != nullptr && (rule->max_age.count() > 0 || rule->max_bytes > 0 ||
                             rule->max_events > 0);
}

// The dedup key of an event: its source and id, which CloudEvents says
// identify it. A NUL separates them because neither may contain one in a
// way that makes two different pairs collide ("a" + "bc" vs "ab" + "c").
std::string DedupKey(std::string_view source, std::string_view id);

// A 64-bit hash of the dedup key, never 0, stable across builds and
// versions because the LMDB engine stores it in each log record.
uint64_t DedupHash(std::string_view source, std::string_view id);

// Checks an event handed to Append: it must have a valid topic.
Status CheckAppendable(const Event& event);

// Caches whether topics match one pattern, for scans that see the same
// topic many times in a row.
class PatternCache {
 public:
  explicit PatternCache(std::string_view pattern) : pattern_(pattern) {
    match_all_ = pattern_ == ">";
  }
  bool Matches(std::string_view topic);

 private:
  std::string pattern_;
  bool match_all_ = false;
  std::string last_topic_;
  bool last_result_ = false;
  bool has_last_ = false;
};

}  // namespace eventmesh::store_internal

#endif  // EVENTMESH_SRC_STORE_STORE_COMMON_H_
