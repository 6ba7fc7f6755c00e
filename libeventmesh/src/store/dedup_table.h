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

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <new>
#include <utility>

namespace eventmesh::store_internal {

// A zeroed, fixed-size array of trivially copyable `T` taken straight
// from the kernel. Large ones ask for transparent huge pages: a dedup
// lookup lands on a random page of a table far larger than the TLB covers,
// and a page walk per event was a large part of the table's cost.
template <typename T>
class ZeroedArray {
 public:
  ZeroedArray() = default;
  explicit ZeroedArray(size_t size) : size_(size) {
    if (size == 0) return;
    bytes_ = size * sizeof(T);
    size_t mapped = bytes_ >= kHugePage ? bytes_ + kHugePage : bytes_;
    void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    char* base = static_cast<char*>(p);
    if (mapped != bytes_) {
      // Keep the 2 MiB-aligned part, so every page of it can be huge.
      uintptr_t at = reinterpret_cast<uintptr_t>(base);
      size_t head = (kHugePage - at % kHugePage) % kHugePage;
      if (head != 0) munmap(base, head);
      size_t tail = mapped - head - bytes_;
      if (tail != 0) munmap(base + head + bytes_, tail);
      base += head;
      madvise(base, bytes_, MADV_HUGEPAGE);
    }
    data_ = reinterpret_cast<T*>(base);
  }
  ZeroedArray(ZeroedArray&& other) noexcept { swap(other); }
  ZeroedArray& operator=(ZeroedArray&& other) noexcept {
    ZeroedArray(std::move(other)).swap(*this);
    return *this;
  }
  ~ZeroedArray() {
    if (data_ != nullptr) munmap(data_, bytes_);
  }

  void swap(ZeroedArray& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    std::swap(bytes_, other.bytes_);
  }

  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  size_t size() const { return size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

 private:
  static constexpr size_t kHugePage = size_t(2) << 20;
  T* data_ = nullptr;
  size_t size_ = 0;
  size_t bytes_ = 0;
};

class DedupTable {
 public:
  struct Entry {
    uint64_t hash = 0;  // 0 marks an empty slot; DedupHash never returns 0
    uint64_t position = 0;
    uint64_t sequence = 0;
    uint32_t topic_id = 0;
  };

  DedupTable() : slots_(kMinSlots) {}

  // Inserts `entry` (replacing one with the same hash) and remembers it,
  // stored at `stored_at`, for expiry.
  void Insert(const Entry& entry, int64_t stored_at) {
    Put(Slot(entry.hash), entry, stored_at);
  }

  // The slot holding `hash`, or the empty one where an entry for it goes,
  // with room made for that entry: a lookup that may be followed by an
  // insert then probes the table once. The slot stays valid until the
  // table next changes.
  Entry* Slot(uint64_t hash) {
    if ((size_ + 1) * 2 > slots_.size()) Rehash(slots_.size() * 2);
    size_t i = hash & Mask();
    while (slots_[i].hash != 0 && slots_[i].hash != hash) {
      i = (i + 1) & Mask();
    }
    return &slots_[i];
  }

  // Fills `slot`, which Slot(entry.hash) returned, as Insert does.
  void Put(Entry* slot, const Entry& entry, int64_t stored_at) {
    if (slot->hash == 0) ++size_;
    *slot = entry;
    order_.Push({entry.hash, entry.position});
    if (eras_.empty() || eras_.back().stored_at != stored_at) {
      eras_.push_back({stored_at, order_.end()});
    }
    eras_.back().end = order_.end();
  }

  // Drops entries stored before `horizon`.
  void Expire(int64_t horizon) {
    while (!eras_.empty() && eras_.front().stored_at < horizon) {
      while (order_.begin() < eras_.front().end) {
        Erase(order_.Front().hash, order_.Front().position);
        order_.PopFront();
      }
      eras_.pop_front();
    }
  }

  // How many inserts the table has seen: a mark for RollBack.
  uint64_t mark() const { return order_.end(); }

  // Drops the entries inserted since mark() returned `mark` whose position
  // is at least `first_position`: an aborted transaction's. An expiry in
  // between does not move the mark.
  void RollBack(uint64_t mark, uint64_t first_position) {
    while (order_.end() > mark && order_.end() > order_.begin()) {
      const Stamp& last = order_.Back();
      if (last.position >= first_position) Erase(last.hash, last.position);
      order_.PopBack();
    }
    while (!eras_.empty() && eras_.back().end > order_.end()) {
      uint64_t begin =
          eras_.size() > 1 ? eras_[eras_.size() - 2].end : order_.begin();
      if (begin >= order_.end()) {
        eras_.pop_back();
      } else {
        eras_.back().end = order_.end();
      }
    }
  }

  // Removes every entry of `topic_id`.
  void EraseTopic(uint32_t topic_id) {
    ZeroedArray<Entry> old(slots_.size());
    old.swap(slots_);
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

  size_t size() const { return size_; }

 private:
  static constexpr size_t kMinSlots = 1024;
  // One insert, in the order they came.
  struct Stamp {
    uint64_t hash;
    uint64_t position;
  };
  // The inserts counted before `end`, and after the previous Era's end,
  // were stored at `stored_at`: a commit stores many events at one time,
  // so times are kept per run of inserts, not per insert.
  struct Era {
    int64_t stored_at;
    uint64_t end;
  };

  // A FIFO of stamps in one power-of-two ring, addressed by how many were
  // ever pushed, so that growing it is its only allocation.
  class StampRing {
   public:
    uint64_t begin() const { return begin_; }
    uint64_t end() const { return end_; }
    const Stamp& Front() const { return ring_[begin_ & (ring_.size() - 1)]; }
    const Stamp& Back() const { return ring_[(end_ - 1) & (ring_.size() - 1)]; }
    void PopFront() { ++begin_; }
    void PopBack() { --end_; }
    void Push(const Stamp& stamp) {
      if (end_ - begin_ == ring_.size()) Grow();
      ring_[end_++ & (ring_.size() - 1)] = stamp;
    }

   private:
    void Grow() {
      ZeroedArray<Stamp> bigger(ring_.size() * 2);
      for (uint64_t i = begin_; i < end_; ++i) {
        bigger[i & (bigger.size() - 1)] = ring_[i & (ring_.size() - 1)];
      }
      ring_.swap(bigger);
    }

    ZeroedArray<Stamp> ring_{kMinSlots};
    uint64_t begin_ = 0;
    uint64_t end_ = 0;
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
    ZeroedArray<Entry> old(slots);
    old.swap(slots_);
    size_ = 0;
    for (const Entry& e : old) {
      if (e.hash != 0) Place(e);
    }
  }

  ZeroedArray<Entry> slots_;
  size_t size_ = 0;
  StampRing order_;
  std::deque<Era> eras_;  // oldest first
};

}  // namespace eventmesh::store_internal

#endif  // EVENTMESH_SRC_STORE_DEDUP_TABLE_H_
