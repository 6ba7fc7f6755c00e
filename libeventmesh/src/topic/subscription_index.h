// SubscriptionIndex: finds every subscription whose pattern matches a topic.
//
// A trie over tokens: each node has children by exact token, one child for
// '*', and a list of entries whose pattern ends in '>' there. Matching walks
// at most 2^(stars on the path) branches and never looks at subscriptions
// that cannot match, so its cost depends on the topic's depth and on the
// number of matches, not on how many subscriptions exist.
//
// Not thread-safe: the mesh guards it with its own lock.

#ifndef EVENTMESH_SRC_TOPIC_SUBSCRIPTION_INDEX_H_
#define EVENTMESH_SRC_TOPIC_SUBSCRIPTION_INDEX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace eventmesh {

class SubscriptionIndex {
 public:
  SubscriptionIndex();
  ~SubscriptionIndex();
  SubscriptionIndex(const SubscriptionIndex&) = delete;
  SubscriptionIndex& operator=(const SubscriptionIndex&) = delete;

  // Adds `id` under the (valid) `pattern`. The same id may be added under
  // several patterns; adding the same (pattern, id) twice stores it twice.
  void Add(std::string_view pattern, uint64_t id);

  // Removes one (pattern, id) entry; returns false when there was none.
  bool Remove(std::string_view pattern, uint64_t id);

  // Appends the id of every entry matching the (valid) `topic` to `*out`.
  // An id added under two matching patterns appears twice.
  void Match(std::string_view topic, std::vector<uint64_t>* out) const;

  // Number of (pattern, id) entries.
  size_t size() const { return size_; }

  // Increases on every Add and Remove; lets callers cache Match results.
  uint64_t generation() const { return generation_; }

 private:
  struct Node;
  std::unique_ptr<Node> root_;
  size_t size_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace eventmesh

#endif  // EVENTMESH_SRC_TOPIC_SUBSCRIPTION_INDEX_H_
