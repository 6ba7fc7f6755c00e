// DedupTable: the stores' in-memory dedup index (LMDB and memory engines),
// from the hash of an event's source and id to where it was stored.
//
// An open-addressing table with linear probing over a flat array (the keys
// are already well-mixed hashes), so an insert or a lookup costs about one
// cache miss and no allocation. A slot holds only the hash and the number
// of the insert; what each insert in the window stored (position and
// sequence) sits in a ring beside the table, written in order. An entry
// counts while its insert is inside the window and was neither rolled
// back nor forgotten. Expired entries are erased by a sweep that moves a
// few slots on with each insert, and dropped when the table is rebuilt.
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
  // A slot: the hash of an event's source and id, and the number of the
  // insert that put it there (inserts are counted from 0 and never reuse
  // a number). 16 bytes, four to a cache line: a lookup costs one miss.
  struct Entry {
    uint64_t hash = 0;  // 0 marks an empty slot; DedupHash never returns 0
    uint64_t insert = 0;
  };
  // What an insert remembers: where the event was stored.
  struct Stored {
    uint64_t position = 0;
    uint64_t sequence = 0;  // 0 once rolled back or forgotten
  };

  DedupTable() : slots_(kMinSlots) {}

  // Remembers that the event hashing to `hash` was stored at `position`
  // with `sequence` (not 0) at `stored_at`. Positions must grow from one
  // insert to the next (after a RollBack, from its `first_position`), and
  // times must not go back.
  void Insert(uint64_t hash, uint64_t position, uint64_t sequence,
              int64_t stored_at) {
    Put(Slot(hash), hash, position, sequence, stored_at);
  }

  // The slot holding `hash`, or the empty one where an entry for it goes,
  // with room made for that entry: a lookup that may be followed by an
  // insert then probes the table once. The slot stays valid until the
  // table next changes. Its entry counts only if Found() says so.
  Entry* Slot(uint64_t hash) {
    if ((size_ + 1) * 2 > slots_.size()) MakeRoom();
    size_t i = hash & Mask();
    while (slots_[i].hash != 0 && slots_[i].hash != hash) {
      i = (i + 1) & Mask();
    }
    return &slots_[i];
  }

  // Where `slot`'s event was stored, or nullptr when there is none: an
  // empty slot, or an entry that expired, was rolled back or forgotten.
  const Stored* Found(const Entry& slot) const {
    if (slot.hash == 0) return nullptr;
    const Stored* stored = inserts_.At(slot.insert);
    return stored != nullptr && stored->sequence != 0 ? stored : nullptr;
  }

  // Fills `slot`, which Slot(hash) returned, as Insert does.
  void Put(Entry* slot, uint64_t hash, uint64_t position, uint64_t sequence,
           int64_t stored_at) {
    if (slot->hash == 0) ++size_;
    *slot = {hash, inserts_.Push({position, sequence})};
    if (eras_.empty() || eras_.back().stored_at != stored_at) {
      eras_.push_back({stored_at, inserts_.end()});
    }
    eras_.back().end = inserts_.end();
    if (Expiring()) Sweep();
  }

  // Forgets entries stored before `horizon`. Their slots are reclaimed by
  // the sweep that follows inserts, a few slots at a time.
  void Expire(int64_t horizon) {
    uint64_t live_from = inserts_.begin();
    while (!eras_.empty() && eras_.front().stored_at < horizon) {
      live_from = eras_.front().end;
      eras_.pop_front();
    }
    inserts_.DropBefore(live_from);
  }

  // Forgets the entry of the event stored at `position`, if any: it was
  // deleted. Its slot is reclaimed once the entry expires.
  void Forget(uint64_t position) {
    Stored* stored = inserts_.FindPosition(position);
    if (stored != nullptr) stored->sequence = 0;
  }

  // Starts a transaction: RollBack undoes the inserts made after this.
  void Begin() { transaction_begin_ = inserts_.end(); }

  // Forgets the entries inserted since Begin() at `first_position` or
  // later: an aborted transaction's, whose positions the next transaction
  // hands out again. Entries they replaced stay gone. The forgotten
  // inserts take the position before `first_position`, which keeps the
  // ring's positions in order for the ones that reuse theirs.
  void RollBack(uint64_t first_position) {
    for (uint64_t i = std::max(transaction_begin_, inserts_.begin());
         i < inserts_.end(); ++i) {
      Stored* stored = inserts_.At(i);
      if (stored->position >= first_position) {
        *stored = {first_position - 1, 0};
      }
    }
  }

  // Makes room for `inserts` more entries, so that inserting them grows
  // nothing on the way.
  void Reserve(size_t inserts) {
    size_t slots = slots_.size();
    while ((size_ + inserts + 1) * 2 > slots) slots *= 2;
    if (slots != slots_.size()) Rehash(slots);
    inserts_.Reserve(inserts);
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
  // The inserts numbered before `end`, and from the previous Era's end
  // on, were stored at `stored_at`: a commit stores many events at one
  // time, so times are kept per run of inserts, not per insert.
  struct Era {
    int64_t stored_at;
    uint64_t end;
  };

  // What each insert still in the window remembers, in one power-of-two
  // ring indexed by the insert's number: 16 bytes written in order per
  // insert, and the number tells at once whether it is still inside the
  // window. Positions grow along the ring.
  class InsertRing {
   public:
    uint64_t begin() const { return begin_; }
    uint64_t end() const { return end_; }
    Stored* At(uint64_t insert) {
      return insert >= begin_ && insert < end_ ? &Get(insert) : nullptr;
    }
    const Stored* At(uint64_t insert) const {
      return insert >= begin_ && insert < end_ ? &Get(insert) : nullptr;
    }
    uint64_t Push(const Stored& stored) {
      if (end_ - begin_ == ring_.size()) Grow(ring_.size() * 2);
      Get(end_) = stored;
      return end_++;
    }
    void Reserve(size_t more) {
      size_t size = ring_.size();
      while (end_ - begin_ + more > size) size *= 2;
      if (size != ring_.size()) Grow(size);
    }
    void DropBefore(uint64_t insert) {
      begin_ = std::min(std::max(begin_, insert), end_);
    }
    // The first insert of the event stored at `position`, by binary
    // search over positions, which never decrease along the ring.
    Stored* FindPosition(uint64_t position) {
      // Most records a deleted topic had lie before the window.
      if (begin_ == end_ || position < Get(begin_).position) return nullptr;
      uint64_t low = begin_;
      uint64_t high = end_;
      while (low < high) {
        uint64_t middle = low + (high - low) / 2;
        if (Get(middle).position < position) {
          low = middle + 1;
        } else {
          high = middle;
        }
      }
      return low < end_ && Get(low).position == position ? &Get(low) : nullptr;
    }

   private:
    Stored& Get(uint64_t insert) { return ring_[insert & (ring_.size() - 1)]; }
    const Stored& Get(uint64_t insert) const {
      return ring_[insert & (ring_.size() - 1)];
    }
    void Grow(size_t size) {
      ZeroedArray<Stored> bigger(size);
      for (uint64_t i = begin_; i < end_; ++i) {
        bigger[i & (bigger.size() - 1)] = Get(i);
      }
      ring_.swap(bigger);
    }

    ZeroedArray<Stored> ring_{kMinSlots};
    uint64_t begin_ = 0;
    uint64_t end_ = 0;
  };

  size_t Mask() const { return slots_.size() - 1; }
  size_t Home(uint64_t hash) const { return hash & Mask(); }
  // Whether any entry has expired yet: the window's start has moved on
  // from the first insert.
  bool Expiring() const { return inserts_.begin() != 0; }

  // Called when the table is half full: rebuilds it without its dead
  // entries, twice as large unless live ones fill under a quarter of it.
  void MakeRoom() {
    if (!Expiring()) return Rehash(slots_.size() * 2);
    size_t live = 0;
    for (const Entry& e : slots_) {
      live += e.hash != 0 && e.insert >= inserts_.begin() ? 1 : 0;
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
      if (slots_[i].hash != 0 && slots_[i].insert < inserts_.begin()) {
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
      if (Found(e) == nullptr) continue;
      size_t i = Home(e.hash);
      while (slots_[i].hash != 0) i = (i + 1) & Mask();
      slots_[i] = e;
      ++size_;
    }
  }

  ZeroedArray<Entry> slots_;
  size_t size_ = 0;
  InsertRing inserts_;
  std::deque<Era> eras_;            // oldest first
  size_t sweep_ = 0;                // the next slot the sweep looks at
  uint64_t transaction_begin_ = 0;  // inserts_.end() at Begin()
};

}  // namespace eventmesh::store_internal

#endif  // EVENTMESH_SRC_STORE_DEDUP_TABLE_H_
