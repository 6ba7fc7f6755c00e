// SubscriptionIndex: finds every subscription whose pattern matches a topic.
//
// A trie over tokens: each node has children by exact token, one child for
// '*', and a list of entries whose pattern ends in '>' there. Matching walks
// at most 2^(stars on the path) branches and never looks at subscriptions
// that cannot match, so its cost depends on the topic's depth and on the
// number of matches, not on how many subscriptions exist.
//
// Layout, for speed. Match runs once per published event, so it allocates
// nothing of its own: the topic is split into std::string_view tokens as
// the walk goes, and exact children are found with a string_view lookup in
// a TokenMap, an open-addressing hash table keyed by std::string that holds
// each child node in its own slot (no temporary string, no separate node
// allocation). Descending one level therefore costs about one cache miss,
// where std::unordered_map<std::string, std::unique_ptr<Node>> costs four
// (bucket, previous node, map node, trie node); with a million
// subscriptions that made matching about four times slower (figures in
// docs/benchmarks.md). A node keeps what every visit reads (the '*' child
// and the two id lists) next to each other, hashes the token only when it
// has exact children, and keeps its ids in one array so copying matches
// out is a block copy; a single id, the usual case, sits in the node
// itself. Once the index outgrows the caches, page-table walks cost as
// much as the misses themselves; running with transparent huge pages
// (GLIBC_TUNABLES=glibc.malloc.hugetlb=1) removes most of them.
//
// Not thread-safe: the mesh guards it with its own lock. Concurrent calls
// to the const methods are safe when nothing modifies the index meanwhile.

#ifndef EVENTMESH_SRC_TOPIC_SUBSCRIPTION_INDEX_H_
#define EVENTMESH_SRC_TOPIC_SUBSCRIPTION_INDEX_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
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
  // A '>' that is not the last token is a broken invariant and stops the
  // process (callers validate patterns with ValidatePattern first).
  void Add(std::string_view pattern, uint64_t id);

  // Removes one (pattern, id) entry; returns false when there was none.
  // Nodes left without entries or children are freed, so an index whose
  // subscriptions come and go does not grow.
  bool Remove(std::string_view pattern, uint64_t id);

  // Appends the id of every entry matching the (valid) `topic` to `*out`.
  // An id added under two matching patterns appears twice. The order is
  // unspecified; within one pattern ids keep the order they were added in.
  void Match(std::string_view topic, std::vector<uint64_t>* out) const;

  // Number of (pattern, id) entries.
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Number of trie nodes, the root included; for tests and memory figures.
  size_t node_count() const { return node_count_; }

  // Increases on every Add and every Remove that removed an entry; lets
  // callers cache Match results.
  uint64_t generation() const { return generation_; }

 private:
  struct Node;

  Node* StarChild(Node* node);
  Node* ExactChild(Node* node, std::string_view token);
  bool RemoveBelow(Node* node, std::string_view rest, uint64_t id);
  static void MatchBelow(const Node& node, std::string_view rest,
                         std::vector<uint64_t>* out);

  std::unique_ptr<Node> root_;
  size_t size_ = 0;
  size_t node_count_ = 1;
  uint64_t generation_ = 0;
};

}  // namespace eventmesh

#endif  // EVENTMESH_SRC_TOPIC_SUBSCRIPTION_INDEX_H_
