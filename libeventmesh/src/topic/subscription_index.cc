#include "topic/subscription_index.h"

#include <algorithm>
#include <functional>
#include <string>

#include "eventmesh/status.h"

namespace eventmesh {
namespace {

// Hashes std::string keys and std::string_view probes alike, so a lookup
// by token builds no temporary string.
struct TokenHash {
  using is_transparent = void;
  size_t operator()(std::string_view token) const {
    return std::hash<std::string_view>{}(token);
  }
};

// Splits the next token off the front of `*rest`; an empty `*rest`
// afterwards means it was the last one.
std::string_view NextToken(std::string_view* rest) {
  size_t dot = rest->find('.');
  std::string_view token = rest->substr(0, dot);
  rest->remove_prefix(dot == std::string_view::npos ? rest->size() : dot + 1);
  return token;
}

// Removes the first `id` from `*ids`, keeping the others in order.
bool EraseOne(std::vector<uint64_t>* ids, uint64_t id) {
  auto it = std::find(ids->begin(), ids->end(), id);
  if (it == ids->end()) return false;
  ids->erase(it);
  if (ids->empty()) ids->shrink_to_fit();
  return true;
}

void AppendAll(const std::vector<uint64_t>& ids, std::vector<uint64_t>* out) {
  if (!ids.empty()) out->insert(out->end(), ids.begin(), ids.end());
}

}  // namespace

struct SubscriptionIndex::Node {
  // Read on every visit, so first.
  std::unique_ptr<Node> star;      // the child for '*'
  std::vector<uint64_t> ids;       // patterns that end at this node
  std::vector<uint64_t> tail_ids;  // patterns whose '>' follows this node
  std::unordered_map<std::string, std::unique_ptr<Node>, TokenHash,
                     std::equal_to<>>
      children;  // by exact token

  bool Empty() const {
    return !star && ids.empty() && tail_ids.empty() && children.empty();
  }
};

SubscriptionIndex::SubscriptionIndex() : root_(std::make_unique<Node>()) {}

SubscriptionIndex::~SubscriptionIndex() = default;

void SubscriptionIndex::Add(std::string_view pattern, uint64_t id) {
  Node* node = root_.get();
  std::string_view rest = pattern;
  while (!rest.empty()) {
    std::string_view token = NextToken(&rest);
    if (token == ">") {
      if (!rest.empty()) {
        Fatal("SubscriptionIndex::Add: '>' is not the last token of '" +
              std::string(pattern) + "'");
      }
      node->tail_ids.push_back(id);
      ++size_;
      ++generation_;
      return;
    }
    std::unique_ptr<Node>* child;
    if (token == "*") {
      child = &node->star;
    } else {
      auto it = node->children.find(token);
      if (it == node->children.end()) {
        it = node->children.emplace(std::string(token), nullptr).first;
      }
      child = &it->second;
    }
    if (!*child) {
      *child = std::make_unique<Node>();
      ++node_count_;
    }
    node = child->get();
  }
  node->ids.push_back(id);
  ++size_;
  ++generation_;
}

bool SubscriptionIndex::Remove(std::string_view pattern, uint64_t id) {
  if (!RemoveBelow(root_.get(), pattern, id)) return false;
  --size_;
  ++generation_;
  return true;
}

// Removes the entry for the pattern tokens in `rest` below `node`, then
// frees the child it went through if that child is left empty.
bool SubscriptionIndex::RemoveBelow(Node* node, std::string_view rest,
                                    uint64_t id) {
  if (rest.empty()) return EraseOne(&node->ids, id);
  std::string_view token = NextToken(&rest);
  if (token == ">" && rest.empty()) return EraseOne(&node->tail_ids, id);

  if (token == "*") {
    if (!node->star || !RemoveBelow(node->star.get(), rest, id)) return false;
    if (node->star->Empty()) {
      node->star.reset();
      --node_count_;
    }
    return true;
  }

  auto it = node->children.find(token);
  if (it == node->children.end()) return false;
  if (!RemoveBelow(it->second.get(), rest, id)) return false;
  if (it->second->Empty()) {
    node->children.erase(it);
    --node_count_;
  }
  return true;
}

void SubscriptionIndex::Match(std::string_view topic,
                              std::vector<uint64_t>* out) const {
  if (topic.empty()) return;
  MatchBelow(*root_, topic, out);
}

// Collects matches below `node` for the tokens left in `rest`. Recursion
// depth is at most the topic's token count.
void SubscriptionIndex::MatchBelow(const Node& node, std::string_view rest,
                                   std::vector<uint64_t>* out) {
  if (rest.empty()) {
    AppendAll(node.ids, out);
    return;
  }
  // At least one token is left, which is what '>' needs.
  AppendAll(node.tail_ids, out);
  std::string_view token = NextToken(&rest);
  if (!node.children.empty()) {
    auto it = node.children.find(token);
    if (it != node.children.end()) MatchBelow(*it->second, rest, out);
  }
  if (node.star) MatchBelow(*node.star, rest, out);
}

}  // namespace eventmesh
