#include "topic/subscription_index.h"

#include <algorithm>
#include <string>
#include <utility>

#include "eventmesh/status.h"
#include "topic/token_map.h"

namespace eventmesh {
namespace {

// Splits the next token off the front of `*rest`; an empty `*rest`
// afterwards means it was the last one.
std::string_view NextToken(std::string_view* rest) {
  size_t dot = rest->find('.');
  std::string_view token = rest->substr(0, dot);
  rest->remove_prefix(dot == std::string_view::npos ? rest->size() : dot + 1);
  return token;
}

// The ids of one node. One id, the usual case, is kept inline; more go
// to a heap array. Half the size of a std::vector, and reading a single id
// costs no extra cache miss.
class IdList {
 public:
  IdList() : one_(0) {}
  IdList(IdList&& other) noexcept { Take(&other); }
  IdList& operator=(IdList&& other) noexcept {
    if (this != &other) {
      Release();
      Take(&other);
    }
    return *this;
  }
  ~IdList() { Release(); }

  bool empty() const { return size_ == 0; }
  const uint64_t* begin() const { return capacity_ > 1 ? heap_ : &one_; }
  const uint64_t* end() const { return begin() + size_; }

  void Add(uint64_t id) {
    if (size_ == capacity_) Grow();
    data()[size_++] = id;
  }

  // Removes the first `id`, keeping the others in order.
  bool EraseOne(uint64_t id) {
    uint64_t* first = data();
    uint64_t* last = first + size_;
    uint64_t* it = std::find(first, last, id);
    if (it == last) return false;
    std::copy(it + 1, last, it);
    --size_;
    if (size_ <= 1 && capacity_ > 1) MoveInline();
    return true;
  }

  void AppendTo(std::vector<uint64_t>* out) const {
    if (size_ != 0) out->insert(out->end(), begin(), end());
  }

 private:
  uint64_t* data() { return capacity_ > 1 ? heap_ : &one_; }

  void Grow() {
    uint32_t capacity = capacity_ * 2;
    uint64_t* heap = new uint64_t[capacity];
    std::copy(begin(), end(), heap);
    Release();
    heap_ = heap;
    capacity_ = capacity;
  }

  void MoveInline() {
    uint64_t kept = size_ == 1 ? heap_[0] : 0;
    Release();
    one_ = kept;
  }

  void Release() {
    if (capacity_ > 1) delete[] heap_;
    capacity_ = 1;
  }

  // Leaves `other` empty.
  void Take(IdList* other) {
    size_ = std::exchange(other->size_, 0);
    capacity_ = std::exchange(other->capacity_, 1);
    if (capacity_ > 1) {
      heap_ = other->heap_;
    } else {
      one_ = other->one_;
    }
  }

  union {
    uint64_t one_;    // when capacity_ == 1
    uint64_t* heap_;  // when capacity_ > 1
  };
  uint32_t size_ = 0;
  uint32_t capacity_ = 1;
};

}  // namespace

struct SubscriptionIndex::Node {
  // Read on every visit, so first.
  std::unique_ptr<Node> star;  // the child for '*'
  IdList ids;                  // patterns that end at this node
  IdList tail_ids;             // patterns whose '>' follows this node
  TokenMap<Node> children;     // by exact token, held in place

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
      node->tail_ids.Add(id);
      ++size_;
      ++generation_;
      return;
    }
    node = token == "*" ? StarChild(node) : ExactChild(node, token);
  }
  node->ids.Add(id);
  ++size_;
  ++generation_;
}

SubscriptionIndex::Node* SubscriptionIndex::StarChild(Node* node) {
  if (!node->star) {
    node->star = std::make_unique<Node>();
    ++node_count_;
  }
  return node->star.get();
}

SubscriptionIndex::Node* SubscriptionIndex::ExactChild(Node* node,
                                                       std::string_view token) {
  size_t before = node->children.size();
  Node* child = &node->children.FindOrInsert(token);
  node_count_ += node->children.size() - before;
  return child;
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
  if (rest.empty()) return node->ids.EraseOne(id);
  std::string_view token = NextToken(&rest);
  if (token == ">" && rest.empty()) return node->tail_ids.EraseOne(id);

  if (token == "*") {
    if (!node->star || !RemoveBelow(node->star.get(), rest, id)) return false;
    if (node->star->Empty()) {
      node->star.reset();
      --node_count_;
    }
    return true;
  }

  Node* child = node->children.Find(token);
  if (child == nullptr || !RemoveBelow(child, rest, id)) return false;
  if (child->Empty()) {
    node->children.Erase(token);
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
    node.ids.AppendTo(out);
    return;
  }
  // At least one token is left, which is what '>' needs.
  node.tail_ids.AppendTo(out);
  std::string_view token = NextToken(&rest);
  if (!node.children.empty()) {
    const Node* child = node.children.Find(token);
    if (child != nullptr) MatchBelow(*child, rest, out);
  }
  if (node.star) MatchBelow(*node.star, rest, out);
}

}  // namespace eventmesh
