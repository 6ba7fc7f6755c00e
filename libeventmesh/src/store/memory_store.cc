// The memory engine: the log, topics, dedup entries and state records live
// in memory behind one mutex.
//
// Append finishes at once: it assigns positions and sequences and runs
// `done` on the calling thread. To keep done calls in log order and never
// concurrent, Append holds `order_mu_` from assigning positions until its
// done has returned. `order_mu_` is recursive so that a done which appends
// again (the mesh may publish to a dead-letter topic from one) does not
// deadlock; the nested append's done then runs inside the outer one.

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "eventmesh/clock.h"
#include "eventmesh/store.h"
#include "eventmesh/topic.h"
#include "store/dedup_table.h"
#include "store/store_common.h"
#include "util/thread_name.h"

namespace eventmesh {
namespace {

using store_internal::CheckAppendable;
using store_internal::DedupHash;
using store_internal::DedupTable;
using store_internal::FindRetentionRule;
using store_internal::PatternCache;
using store_internal::RuleLimits;

// One record of a topic, with its size counted once.
struct TopicRecord {
  uint64_t position = 0;
  uint64_t bytes = 0;
  EventPtr event;
};

// One topic's records, oldest first; the front has `first_sequence`.
struct TopicLog {
  std::string name;
  std::deque<TopicRecord> records;
  uint64_t last_sequence = 0;
  uint64_t bytes = 0;
  const RetentionRule* rule = nullptr;

  uint64_t first_sequence() const {
    return records.empty() ? 0 : records.front().event->sequence;
  }
};

// Destroys retired events on a thread of its own, in bulk. An event leaves
// the store long after it was written, so destroying it means cache misses
// and several frees: work a publisher should not do inside Append.
class Reclaimer {
 public:
  Reclaimer() : thread_([this] { Loop(); }) {}
  ~Reclaimer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  Reclaimer(const Reclaimer&) = delete;
  Reclaimer& operator=(const Reclaimer&) = delete;

  void Add(std::vector<EventPtr> events) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(events));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    NameThisThread("em-reclaimer");
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is freed
      std::vector<std::vector<EventPtr>> work;
      work.swap(queue_);
      lock.unlock();
      work.clear();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<EventPtr>> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members above exist
};

// Retired events are handed to the Reclaimer in groups of this many.
constexpr size_t kReclaimBatch = 4096;

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(const StoreOptions& options)
      : options_(options), last_retention_nanos_(MonotonicNanos()) {}

  using Store::Append;
  void Append(std::vector<std::shared_ptr<Event>> events, Durability durability,
              AppendDone done, bool check_duplicates) override;
  void PutState(std::string key, std::string value, Durability durability,
                StateDone done) override;
  Result<std::string> GetState(std::string_view key) override;
  Result<std::vector<std::pair<std::string, std::string>>> ListState(
      std::string_view prefix) override;
  Status Read(uint64_t from_position, std::string_view pattern,
              size_t max_records, size_t max_scan, std::vector<LogRecord>* out,
              uint64_t* next_position) override;
  Status ReadTopic(std::string_view topic, uint64_t from_sequence,
                   size_t max_records, std::vector<LogRecord>* out) override;
  Result<uint64_t> PositionOfSequence(std::string_view topic,
                                      uint64_t sequence) override;
  Result<uint64_t> PositionAtTime(int64_t unix_nanos) override;
  Result<std::vector<TopicInfo>> Topics() override;
  Status DeleteTopic(std::string_view topic) override;
  Status PurgeTopic(std::string_view topic) override;
  Status Flush() override;
  StoreStats Stats() override;
  Status Close() override;

 private:
  // `dedup_hash` is the event's DedupHash, or 0 when duplicates are
  // neither looked for nor remembered.
  AppendOutcome AppendOneLocked(const std::shared_ptr<Event>& event,
                                int64_t now, uint64_t dedup_hash,
                                TopicLog** last_topic);
  bool FindDuplicateLocked(const DedupTable::Entry& slot,
                           AppendOutcome* outcome);
  TopicLog& TopicFor(const std::string& topic);
  void EnforceRuleLocked(TopicLog& topic, int64_t now);
  void RemoveOldestLocked(TopicLog& topic);
  // Hands the retired events to the reclaimer once there are enough, or
  // whatever there is when `all`.
  void ReclaimRetired(bool all = false);
  // DeleteTopic (or, with `keep_topic`, PurgeTopic) under the lock; the
  // caller then reclaims the removed events.
  Status RemoveTopic(std::string_view name, bool keep_topic);
  void MaybeRunRetentionLocked();
  void PruneDedupLocked(int64_t now);
  void CompactLogLocked();
  size_t LowerBoundLocked(uint64_t position) const;
  Status CheckOpenLocked() const;

  const StoreOptions options_;
  std::recursive_mutex order_mu_;  // see the file comment

  std::mutex mu_;  // guards everything below
  bool closed_ = false;
  // The log in position order. Records removed from the middle (retention
  // of one topic, DeleteTopic) stay as tombstones (null event) until
  // CompactLogLocked() drops them, so removal is O(log n).
  std::deque<LogRecord> log_;
  size_t tombstones_ = 0;
  std::map<std::string, TopicLog, std::less<>> topics_;
  // The hash of source and id of events stored within the dedup window.
  DedupTable dedup_;
  std::map<std::string, std::string, std::less<>> state_;
  uint64_t next_position_ = 1;
  int64_t last_stored_at_ = 0;
  int64_t last_retention_nanos_;
  uint64_t bytes_used_ = 0;
  uint64_t appended_ = 0;
  uint64_t duplicates_ = 0;
  std::vector<EventPtr> retired_;  // removed, not yet destroyed
  std::vector<uint64_t> hashes_;   // Append's dedup hashes, reused

  Reclaimer reclaimer_;  // last: destroyed first, freeing what it holds
};

Status MemoryStore::CheckOpenLocked() const {
  if (closed_) return Closed("the store is closed");
  return Status();
}

void MemoryStore::Append(std::vector<std::shared_ptr<Event>> events,
                         Durability /*durability*/, AppendDone done,
                         bool check_duplicates) {
  std::lock_guard<std::recursive_mutex> order(order_mu_);
  std::vector<AppendOutcome> outcomes(events.size());
  {
    std::lock_guard<std::mutex> lock(mu_);
    Status open = CheckOpenLocked();
    int64_t now = std::max(WallNanos(), last_stored_at_);
    // The dedup table outgrows the caches: hash the batch first and load
    // each event's slot a few events before it is looked up.
    constexpr size_t kAhead = 8;
    bool dedup =
        open.ok() && check_duplicates && options_.dedup_window.count() > 0;
    hashes_.assign(events.size(), 0);
    if (dedup) {
      PruneDedupLocked(now);
      for (size_t i = 0; i < events.size(); ++i) {
        hashes_[i] = DedupHash(events[i]->source, events[i]->id);
        if (i < kAhead) dedup_.Prefetch(hashes_[i]);
      }
    }
    TopicLog* last_topic = nullptr;  // batches mostly share one topic
    for (size_t i = 0; i < events.size(); ++i) {
      if (dedup && i + kAhead < events.size()) {
        dedup_.Prefetch(hashes_[i + kAhead]);
      }
      outcomes[i] =
          open.ok() ? AppendOneLocked(events[i], now, hashes_[i], &last_topic)
                    : AppendOutcome{open, 0, 0, false};
    }
    if (open.ok()) {
      last_stored_at_ = now;
      MaybeRunRetentionLocked();
    }
  }
  ReclaimRetired();
  if (done) done(outcomes);
}

void MemoryStore::ReclaimRetired(bool all) {
  std::vector<EventPtr> retired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (retired_.empty() || (!all && retired_.size() < kReclaimBatch)) return;
    retired.swap(retired_);
    retired_.reserve(kReclaimBatch);
  }
  reclaimer_.Add(std::move(retired));
}

AppendOutcome MemoryStore::AppendOneLocked(const std::shared_ptr<Event>& event,
                                           int64_t now, uint64_t dedup_hash,
                                           TopicLog** last_topic) {
  AppendOutcome outcome;
  outcome.status = CheckAppendable(*event);
  if (!outcome.status.ok()) return outcome;
  // The table's slot for the hash: the entry if seen, else where it goes.
  DedupTable::Entry* slot = nullptr;
  if (dedup_hash != 0) {
    slot = dedup_.Slot(dedup_hash);
    if (FindDuplicateLocked(*slot, &outcome)) return outcome;
  }

  if (*last_topic == nullptr || (*last_topic)->name != event->topic) {
    *last_topic = &TopicFor(event->topic);
  }
  TopicLog& topic = **last_topic;
  event->sequence = ++topic.last_sequence;
  event->stored_at_nanos = now;
  uint64_t size = event->ByteSize();
  topic.records.push_back({next_position_, size, event});
  topic.bytes += size;
  bytes_used_ += size;
  log_.push_back({next_position_++, event});
  ++appended_;

  if (slot != nullptr) {
    dedup_.Put(slot, dedup_hash, log_.back().position, event->sequence, now);
  }
  EnforceRuleLocked(topic, now);
  outcome.sequence = event->sequence;
  outcome.position = log_.back().position;
  return outcome;
}

// True (filling `*outcome`) when the event's source and id were stored
// within the dedup window.
bool MemoryStore::FindDuplicateLocked(const DedupTable::Entry& slot,
                                      AppendOutcome* outcome) {
  const DedupTable::Stored* found = dedup_.Found(slot);
  if (found == nullptr) return false;  // not seen within the window
  outcome->sequence = found->sequence;
  outcome->position = found->position;
  outcome->duplicate = true;
  ++duplicates_;
  return true;
}

void MemoryStore::PruneDedupLocked(int64_t now) {
  int64_t horizon =
      now - std::chrono::nanoseconds(options_.dedup_window).count();
  dedup_.Expire(horizon);
}

TopicLog& MemoryStore::TopicFor(const std::string& name) {
  auto it = topics_.find(name);
  if (it != topics_.end()) return it->second;
  TopicLog& topic = topics_[name];
  topic.name = name;
  topic.rule = FindRetentionRule(options_, name);
  return topic;
}

// Removes the oldest records of `topic` while its rule says it holds too
// many, too many bytes or too old ones.
void MemoryStore::EnforceRuleLocked(TopicLog& topic, int64_t now) {
  if (!RuleLimits(topic.rule)) return;
  const RetentionRule& rule = *topic.rule;
  int64_t max_age = std::chrono::nanoseconds(rule.max_age).count();
  while (!topic.records.empty()) {
    bool over_count =
        rule.max_events > 0 && topic.records.size() > rule.max_events;
    bool over_bytes = rule.max_bytes > 0 && topic.bytes > rule.max_bytes;
    bool too_old = max_age > 0 &&
                   topic.records.front().event->stored_at_nanos < now - max_age;
    if (!over_count && !over_bytes && !too_old) break;
    RemoveOldestLocked(topic);
  }
}

void MemoryStore::RemoveOldestLocked(TopicLog& topic) {
  const TopicRecord& oldest = topic.records.front();
  uint64_t size = oldest.bytes;
  topic.bytes -= size;
  bytes_used_ -= size;
  // The oldest record of a topic is usually the log's first one.
  size_t index = !log_.empty() && log_.front().position == oldest.position
                     ? 0
                     : LowerBoundLocked(oldest.position);
  if (index == log_.size() || log_[index].position != oldest.position) {
    Fatal("memory store: a topic's record is missing from the log");
  }
  retired_.push_back(std::move(log_[index].event));  // leaves a tombstone
  ++tombstones_;
  topic.records.pop_front();
  CompactLogLocked();
}

// Drops tombstones from the front at once, and from the middle when they
// are more than half the log, so the log's memory stays proportional to
// what it holds.
void MemoryStore::CompactLogLocked() {
  while (!log_.empty() && !log_.front().event) {
    log_.pop_front();
    --tombstones_;
  }
  if (tombstones_ < 1024 || tombstones_ * 2 < log_.size()) return;
  std::deque<LogRecord> live;
  for (LogRecord& record : log_) {
    if (record.event) live.push_back(std::move(record));
  }
  log_.swap(live);
  tombstones_ = 0;
}

void MemoryStore::MaybeRunRetentionLocked() {
  int64_t now = MonotonicNanos();
  int64_t interval =
      std::chrono::nanoseconds(options_.retention_interval).count();
  if (now - last_retention_nanos_ < interval) return;
  last_retention_nanos_ = now;
  int64_t wall = WallNanos();
  for (auto& [name, topic] : topics_) EnforceRuleLocked(topic, wall);
  PruneDedupLocked(wall);
}

size_t MemoryStore::LowerBoundLocked(uint64_t position) const {
  auto it = std::lower_bound(
      log_.begin(), log_.end(), position,
      [](const LogRecord& r, uint64_t p) { return r.position < p; });
  return static_cast<size_t>(it - log_.begin());
}

void MemoryStore::PutState(std::string key, std::string value,
                           Durability /*durability*/, StateDone done) {
  std::lock_guard<std::recursive_mutex> order(order_mu_);
  Status status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    status = CheckOpenLocked();
    if (status.ok() && key.empty()) {
      status = InvalidArgument("a state record needs a non-empty key");
    }
    if (status.ok()) {
      if (value.empty()) {
        state_.erase(key);
      } else {
        state_[std::move(key)] = std::move(value);
      }
    }
  }
  if (done) done(status);
}

Result<std::string> MemoryStore::GetState(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  EM_RETURN_IF_ERROR(CheckOpenLocked());
  auto it = state_.find(key);
  if (it == state_.end()) {
    return NotFound("no state record '" + std::string(key) + "'");
  }
  return it->second;
}

Result<std::vector<std::pair<std::string, std::string>>> MemoryStore::ListState(
    std::string_view prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  EM_RETURN_IF_ERROR(CheckOpenLocked());
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = state_.lower_bound(prefix);
       it != state_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    out.emplace_back(it->first, it->second);
  }
  return out;
}

Status MemoryStore::Read(uint64_t from_position, std::string_view pattern,
                         size_t max_records, size_t max_scan,
                         std::vector<LogRecord>* out, uint64_t* next_position) {
  EM_RETURN_IF_ERROR(ValidatePattern(pattern));
  PatternCache matcher(pattern);
  std::lock_guard<std::mutex> lock(mu_);
  EM_RETURN_IF_ERROR(CheckOpenLocked());
  MaybeRunRetentionLocked();
  uint64_t next = std::max(
      from_position, log_.empty() ? next_position_ : log_.front().position);
  size_t added = 0;
  size_t scanned = 0;
  for (size_t i = LowerBoundLocked(from_position);
       i < log_.size() && added < max_records && scanned < max_scan; ++i) {
    const LogRecord& record = log_[i];
    next = record.position + 1;
    if (!record.event) continue;
    ++scanned;
    if (!matcher.Matches(record.event->topic)) continue;
    out->push_back(record);
    ++added;
  }
  if (added < max_records && scanned < max_scan) {
    next = std::max(next, next_position_);  // reached the end of the log
  }
  *next_position = next;
  return Status();
}

Status MemoryStore::ReadTopic(std::string_view name, uint64_t from_sequence,
                              size_t max_records, std::vector<LogRecord>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  EM_RETURN_IF_ERROR(CheckOpenLocked());
  MaybeRunRetentionLocked();
  auto it = topics_.find(name);
  if (it == topics_.end() || it->second.records.empty()) return Status();
  const TopicLog& topic = it->second;
  uint64_t first = topic.first_sequence();
  size_t index = from_sequence > first ? from_sequence - first : 0;
  for (size_t added = 0; index < topic.records.size() && added < max_records;
       ++index, ++added) {
    const TopicRecord& record = topic.records[index];
    out->push_back({record.position, record.event});
  }
  return Status();
}

Result<uint64_t> MemoryStore::PositionOfSequence(std::string_view name,
                                                 uint64_t sequence) {
  std::lock_guard<std::mutex> lock(mu_);
  EM_RETURN_IF_ERROR(CheckOpenLocked());
  auto it = topics_.find(name);
  if (it != topics_.end() && !it->second.records.empty()) {
    const TopicLog& topic = it->second;
    uint64_t first = topic.first_sequence();
    size_t index = sequence > first ? sequence - first : 0;
    if (index < topic.records.size()) return topic.records[index].position;
  }
  return NotFound("topic '" + std::string(name) +
                  "' has no event with sequence " + std::to_string(sequence) +
                  " or later");
}

Result<uint64_t> MemoryStore::PositionAtTime(int64_t unix_nanos) {
  std::lock_guard<std::mutex> lock(mu_);
  EM_RETURN_IF_ERROR(CheckOpenLocked());
  // Stored times never decrease along the log, so a binary search works;
  // tombstones are skipped by looking at the next live record.
  size_t lo = 0;
  size_t hi = log_.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    size_t live = mid;
    while (live < hi && !log_[live].event) ++live;
    if (live == hi) {
      hi = mid;
    } else if (log_[live].event->stored_at_nanos < unix_nanos) {
      lo = live + 1;
    } else {
      hi = mid;
    }
  }
  while (lo < log_.size() && !log_[lo].event) ++lo;
  return lo < log_.size() ? log_[lo].position : next_position_;
}

Result<std::vector<TopicInfo>> MemoryStore::Topics() {
  std::lock_guard<std::mutex> lock(mu_);
  EM_RETURN_IF_ERROR(CheckOpenLocked());
  MaybeRunRetentionLocked();
  std::vector<TopicInfo> out;
  out.reserve(topics_.size());
  for (const auto& [name, topic] : topics_) {
    out.push_back({name, topic.first_sequence(), topic.last_sequence,
                   topic.records.size(), topic.bytes});
  }
  return out;
}

Status MemoryStore::DeleteTopic(std::string_view name) {
  Status status = RemoveTopic(name, /*keep_topic=*/false);
  ReclaimRetired(/*all=*/true);
  return status;
}

Status MemoryStore::RemoveTopic(std::string_view name, bool keep_topic) {
  std::lock_guard<std::mutex> lock(mu_);
  EM_RETURN_IF_ERROR(CheckOpenLocked());
  auto it = topics_.find(name);
  if (it == topics_.end() || it->second.records.empty()) {
    return NotFound("topic '" + std::string(name) + "' has no events");
  }
  // Forget the removed records' dedup entries: they are not duplicates of
  // anything now, unlike records retention removes.
  while (!it->second.records.empty()) {
    dedup_.Forget(it->second.records.front().position);
    RemoveOldestLocked(it->second);
  }
  // A purged topic stays, with its last sequence, so numbering goes on.
  if (!keep_topic) topics_.erase(it);
  return Status();
}

Status MemoryStore::PurgeTopic(std::string_view name) {
  Status status = RemoveTopic(name, /*keep_topic=*/true);
  ReclaimRetired(/*all=*/true);
  return status;
}

Status MemoryStore::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  return CheckOpenLocked();
}

StoreStats MemoryStore::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  StoreStats stats;
  stats.appended = appended_;
  stats.duplicates = duplicates_;
  stats.bytes_used = bytes_used_;
  stats.first_position = log_.empty() ? next_position_ : log_.front().position;
  stats.next_position = next_position_;
  return stats;
}

Status MemoryStore::Close() {
  std::lock_guard<std::recursive_mutex> order(order_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return Status();
  closed_ = true;
  log_.clear();
  topics_.clear();
  dedup_ = DedupTable();
  state_.clear();
  return Status();
}

}  // namespace

std::unique_ptr<Store> NewMemoryStore(const StoreOptions& options) {
  return std::make_unique<MemoryStore>(options);
}

}  // namespace eventmesh
