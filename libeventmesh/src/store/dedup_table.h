// DedupTable: the stores' in-memory dedup index (LMDB and memory engines),
// from the hash of an event's source and id to where it was stored.
//
// An open-addressing table with linear probing over a flat array (the keys
// are already well-mixed hashes), so an insert or a lookup costs about one
// cache miss and no allocation. Entries leave in the order they came, by
// the dedup window, through a FIFO kept beside the table.
//
// Not thread-safe: its store serializes every use.

#ifndef EVENTMESH_SRC_STORE_DEDUP_TABLE_H_
#define EVENTMESH_SRC_STORE_DEDUP_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace eventmesh::store_internal {

class DedupTable {
 public:
  struct Entry {
    uint64_t hash = 0;  // 0 marks an empty slot; DedupHash never returns 0
    uint64_t position = 0;
    uint64_t sequence = 0;
    uint32_t topic_id = 0;
  };

  DedupTable() { slots_.resize(kMinSlots); }

  // The entry for `hash`, or nullptr.
  const Entry* Find(uint64_t hash) const {
    for (size_t i = hash & Mask();; i = (i + 1) & Mask()) {
      const Entry& slot = slots_[i];
      if (slot.hash == hash) return &slot;
      if (slot.hash == 0) return nullptr;
    }
  }

  // Inserts `entry` (replacing one with the same hash) and remembers it,
  // stored at `stored_at`, for expiry.
  void Insert(const Entry& entry, int64_t stored_at) {
    if ((size_ + 1) * 2 > slots_.size()) Rehash(slots_.size() * 2);
    size_t i = entry.hash & Mask();
    while (slots_[i].hash != 0 && slots_[i].hash != entry.hash) {
      i = (i + 1) & Mask();
    }
    if (slots_[i].hash == 0) ++size_;
    slots_[i] = entry;
    order_.push_back({stored_at, entry.hash, entry.position});
  }

  // Drops entries stored before `horizon`.
  void Expire(int64_t horizon) {
    while (!order_.empty() && order_.front().stored_at < horizon) {
      Erase(order_.front().hash, order_.front().position);
      order_.pop_front();
    }
  }

  // Drops the entries inserted since the table held `order_size` of them
  // whose position is at least `first_position`: an aborted transaction's.
  void RollBack(size_t order_size, uint64_t first_position) {
    while (order_.size() > order_size) {
      if (order_.back().position >= first_position) {
        Erase(order_.back().hash, order_.back().position);
      }
      order_.pop_back();
    }
  }

  // Removes every entry of `topic_id`.
  void EraseTopic(uint32_t topic_id) {
    std::vector<Entry> old;
    old.swap(slots_);
    slots_.assign(old.size(), Entry{});
    size_ = 0;
    for (const Entry& e : old) {
      if (e.hash != 0 && e.topic_id != topic_id) Place(e);
    }
  }

  // Starts loading the slot where `hash` lives, ahead of a Find: the
  // table outgrows the caches, so a lookup is otherwise a memory stall.
  void Prefetch(uint64_t hash) const {
    __builtin_prefetch(&slots_[hash & Mask()]);
  }

  size_t order_size() const { return order_.size(); }
  size_t size() const { return size_; }

 private:
  static constexpr size_t kMinSlots = 1024;
  struct Stamp {
    int64_t stored_at;
    uint64_t hash;
    uint64_t position;
  };

  size_t Mask() const { return slots_.size() - 1; }

  // Removes the entry for `hash` if it still describes `position`, then
  // shifts later entries of the probe run back so lookups stay correct.
  void Erase(uint64_t hash, uint64_t position) {
    size_t i = hash & Mask();
    while (slots_[i].hash != hash) {
      if (slots_[i].hash == 0) return;
      i = (i + 1) & Mask();
    }
    if (slots_[i].position != position) return;
    --size_;
    for (size_t j = (i + 1) & Mask(); slots_[j].hash != 0;
         j = (j + 1) & Mask()) {
      size_t home = slots_[j].hash & Mask();
      // Move j back to i when its home is not in the cyclic range (i, j].
      bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (stays) continue;
      slots_[i] = slots_[j];
      i = j;
    }
    slots_[i] = Entry{};
  }

  void Place(const Entry& e) {
    size_t i = e.hash & Mask();
    while (slots_[i].hash != 0) i = (i + 1) & Mask();
    slots_[i] = e;
    ++size_;
  }

  void Rehash(size_t slots) {
    std::vector<Entry> old;
    old.swap(slots_);
    slots_.assign(slots, Entry{});
    size_ = 0;
    for (const Entry& e : old) {
      if (e.hash != 0) Place(e);
    }
  }

  std::vector<Entry> slots_;
  size_t size_ = 0;
  std::deque<Stamp> order_;  // oldest first
};

}  // namespace eventmesh::store_internal

#endif  // EVENTMESH_SRC_STORE_DEDUP_TABLE_H_
