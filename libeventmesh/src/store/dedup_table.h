// DedupTable: the stores' in-memory dedup index (LMDB and memory engines),
// from the hash of an event's source and id to where it was stored.
//
// An open-addressing table with linear probing over a flat array (the keys
// are already well-mixed hashes), so an insert or a lookup costs about one
// cache miss and no allocation. A slot holds only the hash and the log
// position; the sequence of each position in the window sits in a ring
// beside the table, written in order. An entry counts while its position
// is inside the window and not forgotten. Expired entries are erased by a
// sweep that moves a few slots on with each insert, and dropped when the
// table is rebuilt.
//
// Not thread-safe: its store serializes every use.

#ifndef EVENTMESH_SRC_STORE_DEDUP_TABLE_H_
#define EVENTMESH_SRC_STORE_DEDUP_TABLE_H_

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <new>
#include <utility>
#include <vector>

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
  // A slot: the hash of an event's source and id, and the log position it
  // was stored at. 16 bytes, four to a cache line: a lookup costs one miss.
  struct Entry {
    uint64_t hash = 0;  // 0 marks an empty slot; DedupHash never returns 0
    uint64_t position = 0;
  };

  DedupTable() : slots_(kMinSlots) {}

  // Remembers that the event hashing to `hash` was stored at `position`
  // with `sequence` (not 0) at `stored_at`. Positions must grow from one
  // insert to the next, and times must not go back.
  void Insert(uint64_t hash, uint64_t position, uint64_t sequence,
              int64_t stored_at) {
    Put(Slot(hash), hash, position, sequence, stored_at);
  }

  // The slot holding `hash`, or the empty one where an entry for it goes,
  // with room made for that entry: a lookup that may be followed by an
  // insert then probes the table once. The slot stays valid until the
  // table next changes. Its entry counts only if SequenceOf() says so.
  Entry* Slot(uint64_t hash) {
    if ((size_ + 1) * 2 > slots_.size()) MakeRoom();
    size_t i = hash & Mask();
    while (slots_[i].hash != 0 && slots_[i].hash != hash) {
      i = (i + 1) & Mask();
    }
    return &slots_[i];
  }

  // The sequence stored with `slot`'s entry, or 0 when there is none: an
  // empty slot, or an entry that expired or was forgotten.
  uint64_t SequenceOf(const Entry& slot) const {
    if (slot.hash == 0) return 0;
    return sequences_.Get(slot.position);
  }

  // Fills `slot`, which Slot(hash) returned, as Insert does.
  void Put(Entry* slot, uint64_t hash, uint64_t position, uint64_t sequence,
           int64_t stored_at) {
    if (slot->hash == 0) ++size_;
    *slot = {hash, position};
    sequences_.Set(position, sequence);
    if (in_transaction_) added_.push_back(hash);
    if (eras_.empty() || eras_.back().stored_at != stored_at) {
      eras_.push_back({stored_at, position + 1});
    }
    eras_.back().end = position + 1;
    if (expiring_) Sweep();
  }

  // Forgets entries stored before `horizon`. Their slots are reclaimed by
  // the sweep that follows inserts, a few slots at a time.
  void Expire(int64_t horizon) {
    uint64_t live_from = sequences_.begin();
    while (!eras_.empty() && eras_.front().stored_at < horizon) {
      live_from = eras_.front().end;
      eras_.pop_front();
    }
    if (live_from > sequences_.begin()) expiring_ = true;
    sequences_.DropBefore(live_from);
  }

  // Forgets the entry stored at `position`, if any: its event was deleted.
  // Its slot is reclaimed once the position leaves the window.
  void Forget(uint64_t position) {
    if (sequences_.Get(position) != 0) sequences_.Set(position, 0);
  }

  // Starts a transaction: RollBack undoes the inserts made after this.
  void Begin() {
    in_transaction_ = true;
    added_.clear();
  }

  // Drops the entries inserted since Begin() whose position is at least
  // `first_position`: an aborted transaction's, whose positions the next
  // transaction hands out again. Entries they replaced stay gone.
  void RollBack(uint64_t first_position) {
    for (auto it = added_.rbegin(); it != added_.rend(); ++it) {
      size_t i = Home(*it);
      while (slots_[i].hash != 0 && slots_[i].hash != *it) {
        i = (i + 1) & Mask();
      }
      if (slots_[i].hash != 0 && slots_[i].position >= first_position) {
        EraseAt(i);
      }
    }
    added_.clear();
    in_transaction_ = false;
    sequences_.DropFrom(first_position);
    while (!eras_.empty() && eras_.back().end > first_position) {
      uint64_t start =
          eras_.size() > 1 ? eras_[eras_.size() - 2].end : sequences_.begin();
      if (start >= first_position) {
        eras_.pop_back();
      } else {
        eras_.back().end = first_position;
      }
    }
  }

  // Starts loading the slot where `hash` lives, ahead of a Slot(): the
  // table outgrows the caches, so a lookup is otherwise a memory stall.
  void Prefetch(uint64_t hash) const {
    __builtin_prefetch(&slots_[Home(hash)]);
  }

  // Occupied slots, counting dead entries not reclaimed yet.
  size_t size() const { return size_; }
  // Slots in the table, empty or not.
  size_t capacity() const { return slots_.size(); }

 private:
  static constexpr size_t kMinSlots = 1024;
  static constexpr int kSweepPerInsert = 8;
  // The inserts at positions before `end`, and from the previous Era's
  // end on, were stored at `stored_at`: a commit stores many events at
  // one time, so times are kept per run of inserts, not per insert.
  struct Era {
    int64_t stored_at;
    uint64_t end;
  };

  // The sequence stored at each position of the window, in one power-of-
  // two ring indexed by position: positions come in order, so this costs
  // eight bytes written in sequence per event, and it tells at once
  // whether an entry's position is still inside the window.
  class SequenceRing {
   public:
    uint64_t begin() const { return begin_; }
    uint64_t Get(uint64_t position) const {
      if (position < begin_ || position >= end_) return 0;
      return ring_[position & (ring_.size() - 1)];
    }
    // Sets `position`'s sequence; positions after the last one set and
    // before this one read 0.
    void Set(uint64_t position, uint64_t sequence) {
      if (begin_ == end_) begin_ = end_ = position;
      if (position < begin_) return;  // already expired
      while (end_ <= position) {
        if (end_ - begin_ == ring_.size()) Grow();
        ring_[end_++ & (ring_.size() - 1)] = 0;
      }
      ring_[position & (ring_.size() - 1)] = sequence;
    }
    void DropBefore(uint64_t position) {
      begin_ = std::min(std::max(begin_, position), end_);
    }
    void DropFrom(uint64_t position) {
      end_ = std::max(std::min(end_, position), begin_);
    }

   private:
    void Grow() {
      ZeroedArray<uint64_t> bigger(ring_.size() * 2);
      for (uint64_t p = begin_; p < end_; ++p) {
        bigger[p & (bigger.size() - 1)] = ring_[p & (ring_.size() - 1)];
      }
      ring_.swap(bigger);
    }

    ZeroedArray<uint64_t> ring_{kMinSlots};
    uint64_t begin_ = 0;
    uint64_t end_ = 0;
  };

  size_t Mask() const { return slots_.size() - 1; }
  size_t Home(uint64_t hash) const { return hash & Mask(); }

  // Called when the table is half full: rebuilds it without its dead
  // entries, twice as large unless live ones fill under a quarter of it.
  void MakeRoom() {
    if (!expiring_) return Rehash(slots_.size() * 2);
    size_t live = 0;
    for (const Entry& e : slots_) {
      live += e.hash != 0 && e.position >= sequences_.begin() ? 1 : 0;
    }
    Rehash((live + 1) * 4 > slots_.size() ? slots_.size() * 2 : slots_.size());
  }

  // Looks at the next few slots in turn and erases those that expired.
  // Each insert once expiry has begun moves the sweep on by
  // kSweepPerInsert slots, so it passes over the whole table while a
  // fraction of it is inserted: expired entries cannot pile up until the
  // table looks full, and no pause is spent collecting them at once.
  void Sweep() {
    for (int step = 0; step < kSweepPerInsert; ++step) {
      size_t i = sweep_ & Mask();
      if (slots_[i].hash != 0 && slots_[i].position < sequences_.begin()) {
        EraseAt(i);  // a later entry may now sit at i: look again
      } else {
        ++sweep_;
      }
    }
  }

  // Empties slot `i`, then shifts later entries of its probe run back so
  // lookups stay correct.
  void EraseAt(size_t i) {
    --size_;
    for (size_t j = (i + 1) & Mask(); slots_[j].hash != 0;
         j = (j + 1) & Mask()) {
      size_t home = Home(slots_[j].hash);
      // Move j back to i when its home is not in the cyclic range (i, j].
      bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (stays) continue;
      slots_[i] = slots_[j];
      i = j;
    }
    slots_[i] = Entry{};
  }

  void Rehash(size_t slots) {
    ZeroedArray<Entry> old(slots);
    old.swap(slots_);
    size_ = 0;
    for (const Entry& e : old) {
      if (e.hash == 0 || SequenceOf(e) == 0) continue;
      size_t i = Home(e.hash);
      while (slots_[i].hash != 0) i = (i + 1) & Mask();
      slots_[i] = e;
      ++size_;
    }
  }

  ZeroedArray<Entry> slots_;
  size_t size_ = 0;
  SequenceRing sequences_;
  std::deque<Era> eras_;   // oldest first
  bool expiring_ = false;  // entries have expired: inserts sweep
  size_t sweep_ = 0;       // the next slot the sweep looks at, unmasked
  bool in_transaction_ = false;
  std::vector<uint64_t> added_;  // hashes inserted since Begin()
};

}  // namespace eventmesh::store_internal

#endif  // EVENTMESH_SRC_STORE_DEDUP_TABLE_H_
