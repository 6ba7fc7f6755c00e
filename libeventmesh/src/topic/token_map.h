// TokenMap<V>: a hash map from a token (std::string) to a V, looked up by
// std::string_view, for the children of a subscription trie node.
//
// Open addressing with linear probing: the entries live in one array, each
// slot holding the token's hash, the token and the value itself. A lookup
// touches one slot (rarely two) and compares the stored hash before the
// token, so finding a child costs about one cache miss, and the value is
// already in that cache line's neighbourhood. std::unordered_map would
// chase a bucket, the node before it and the node itself. A single entry
// gets a one-slot table (most trie nodes have one child); more keep the
// table at most three quarters full. Erasing shifts later entries back
// instead of leaving tombstones, and a table mostly emptied shrinks.
//
// Inserting and erasing may move every value: never keep a pointer to a
// value across them. V must be default-constructible and movable, and may
// be incomplete where TokenMap<V> is declared as a member (as in a trie
// node holding a TokenMap of its own children).
//
// Not thread-safe; const methods may run concurrently with each other.

#ifndef EVENTMESH_SRC_TOPIC_TOKEN_MAP_H_
#define EVENTMESH_SRC_TOPIC_TOKEN_MAP_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace eventmesh {

template <typename V>
class TokenMap {
 public:
  TokenMap() = default;
  TokenMap(TokenMap&& other) noexcept
      : slots_(std::move(other.slots_)),
        capacity_(std::exchange(other.capacity_, 0)),
        size_(std::exchange(other.size_, 0)) {}
  TokenMap& operator=(TokenMap&& other) noexcept {
    slots_ = std::move(other.slots_);
    capacity_ = std::exchange(other.capacity_, 0);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // Slots allocated; for tests and memory figures.
  size_t capacity() const { return capacity_; }

  // The value stored for `token`, or nullptr.
  const V* Find(std::string_view token) const {
    if (size_ == 0) return nullptr;
    size_t i = Probe(token, Hash(token));
    if (i == kFull || slots_[i].hash == 0) return nullptr;
    return &slots_[i].value;
  }
  V* Find(std::string_view token) {
    return const_cast<V*>(std::as_const(*this).Find(token));
  }

  // The value stored for `token`, inserting a default-constructed one
  // first when there is none.
  V& FindOrInsert(std::string_view token) {
    uint64_t hash = Hash(token);
    if (size_ != 0) {
      size_t i = Probe(token, hash);
      if (i != kFull && slots_[i].hash != 0) return slots_[i].value;
    }
    uint32_t wanted = CapacityFor(size_ + 1);
    if (wanted > capacity_) Resize(wanted);
    Slot& slot = slots_[Probe(token, hash)];
    slot.hash = hash;
    slot.token.assign(token);
    ++size_;
    return slot.value;
  }

  // Removes `token`'s entry; returns false when there was none.
  bool Erase(std::string_view token) {
    if (size_ == 0) return false;
    size_t hole = Probe(token, Hash(token));
    if (hole == kFull || slots_[hole].hash == 0) return false;
    CloseHole(hole);
    --size_;
    if (size_ == 0) {
      slots_.reset();
      capacity_ = 0;
    } else if (size_ * 8 < capacity_) {
      Resize(CapacityFor(size_));
    }
    return true;
  }

  // Calls f(token, value) for every entry, in no particular order.
  template <typename F>
  void ForEach(F&& f) const {
    for (size_t i = 0; i < capacity_; ++i) {
      if (slots_[i].hash != 0)
        f(std::string_view(slots_[i].token), slots_[i].value);
    }
  }

 private:
  // The hash comes first: a probe reads it before anything else.
  struct Slot {
    uint64_t hash = 0;  // 0: the slot is empty
    std::string token;
    V value;
  };

  // Probe's answer when the table is full and lacks the token.
  static constexpr size_t kFull = ~size_t{0};

  static uint64_t Hash(std::string_view token) {
    uint64_t hash = std::hash<std::string_view>{}(token);
    return hash == 0 ? 1 : hash;
  }

  // The table size for `entries`: a single entry fills a one-slot table
  // (most trie nodes have one child), more keep the table at most three
  // quarters full so probe runs stay short.
  static uint32_t CapacityFor(uint32_t entries) {
    if (entries <= 1) return 1;
    uint32_t capacity = 2;
    while (entries * 4 > capacity * 3) capacity *= 2;
    return capacity;
  }

  // The slot holding `token`, else the empty slot where it would go, else
  // kFull.
  size_t Probe(std::string_view token, uint64_t hash) const {
    size_t mask = capacity_ - 1;
    size_t i = hash & mask;
    for (size_t n = 0; n < capacity_; ++n, i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.hash == 0) return i;
      if (slot.hash == hash && slot.token == token) return i;
    }
    return kFull;
  }

  // Empties slot `hole` and moves later entries of its probe run back, so
  // every entry stays reachable from its home slot without tombstones.
  void CloseHole(size_t hole) {
    size_t mask = capacity_ - 1;
    for (size_t next = (hole + 1) & mask;
         next != hole && slots_[next].hash != 0; next = (next + 1) & mask) {
      size_t home = slots_[next].hash & mask;
      // The entry may fill the hole unless its home lies after the hole.
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        slots_[hole] = std::move(slots_[next]);
        hole = next;
      }
    }
    slots_[hole] = Slot();
  }

  void Resize(uint32_t capacity) {
    std::unique_ptr<Slot[]> old = std::move(slots_);
    uint32_t old_capacity = capacity_;
    slots_ = std::make_unique<Slot[]>(capacity);
    capacity_ = capacity;
    size_t mask = capacity_ - 1;
    for (uint32_t i = 0; i < old_capacity; ++i) {
      if (old[i].hash == 0) continue;
      size_t j = old[i].hash & mask;
      while (slots_[j].hash != 0) j = (j + 1) & mask;
      slots_[j] = std::move(old[i]);
    }
  }

  std::unique_ptr<Slot[]> slots_;
  uint32_t capacity_ = 0;  // 0 or a power of two
  uint32_t size_ = 0;
};

}  // namespace eventmesh

#endif  // EVENTMESH_SRC_TOPIC_TOKEN_MAP_H_
