// Store: where a mesh keeps its log of events and its consumer state.
//
// The log holds every accepted event in the order it was stored. Each record
// has a position (global, increasing, with gaps where retention removed
// records) and, within its topic, a sequence (from 1, no gaps until
// retention removes the oldest). Beside the log the store keeps small
// key/value state records (durable group positions, acks) that commit
// together with appends.
//
// Engines: NewMemoryStore() keeps everything in memory; OpenLmdbStore()
// keeps it in an LMDB environment in a directory.
//
// Thread-safety: every method may be called from any thread. Writes are
// ordered by one writer; reads never block the writer.
//
// Callbacks: the done callbacks of Append and PutState run one at a time,
// in log order. The LMDB engine runs them on its writer thread; the memory
// engine runs them on the calling thread before Append returns, holding
// its ordering lock (a done that appends again runs that append's done
// inside its own). A done must not call Flush, DeleteTopic or Close, and
// must not wait for another append.
//
// Caveats of the LMDB engine (they follow from LMDB itself):
// - One process at a time: the directory is locked while open, and a second
//   process opening it gets kFailedPrecondition.
// - The map (the file's address space) grows on demand up to
//   StoreOptions::max_map_bytes; reaching it, or a full disk, fails appends
//   with kResourceExhausted until retention or the operator frees space.
//   Nothing accepted before is lost.
// - Do not put the directory on a network filesystem: LMDB's locking and
//   memory map need a local one.
// - A long-running read (a slow replay) keeps old pages alive, so the file
//   can grow while it runs.
// - With Durability::kNone an operating-system crash (not a process crash)
//   can lose acknowledged events; with kBatch, those of the last window.
//   Those commits skip LMDB's flush ordering, so such a crash can also
//   damage the file (LMDB's MDB_NOSYNC caveat); kSync commits use LMDB's
//   synchronous commit and are safe.
// - The dedup index is kept in memory (48 to 80 bytes per event checked
//   for duplicates within StoreOptions::dedup_window: a 16-byte slot in a
//   table kept a quarter to half full, and 16 bytes of position and
//   sequence; at 100,000 events/s a two-minute window holds 12 million
//   events, 0.6 to 1 GB) and rebuilt at open by reading the log's last
//   window; a long window at a high rate costs memory and opening time.
//   Set dedup_window to zero to turn it off.
// - Retention and DeleteTopic remove records in small transactions between
//   append groups, so a topic can briefly hold more than its rule allows.
//   DeleteTopic and PurgeTopic return when the records are gone; a topic
//   deleted completely starts again from sequence 1, a purged one goes on.
// - Appends block when about 256k events wait for the writer.

#ifndef EVENTMESH_STORE_H_
#define EVENTMESH_STORE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eventmesh/event.h"
#include "eventmesh/status.h"

namespace eventmesh {

enum class Durability : int {
  kSync = 0,   // flushed to disk before the publish is acknowledged
  kBatch = 1,  // acknowledged, then flushed within the batch window
  kNone = 2,   // never flushed explicitly; the OS writes back when it likes
};

// "sync", "batch", "none"; and back (false for an unknown name).
std::string_view DurabilityName(Durability durability);
bool ParseDurability(std::string_view name, Durability* durability);

// Limits on how much a set of topics keeps. Zero means no limit.
struct RetentionRule {
  std::string pattern = ">";  // which topics it applies to
  std::chrono::milliseconds max_age{0};
  uint64_t max_bytes = 0;   // per topic
  uint64_t max_events = 0;  // per topic
};

struct StoreOptions {
  // The default durability of appends that do not name one.
  Durability durability = Durability::kSync;
  // With kBatch, the longest an acknowledged event waits for its flush.
  std::chrono::milliseconds batch_window{10};
  // LMDB map: starts at `initial_map_bytes` and doubles when full, up to
  // `max_map_bytes`.
  uint64_t initial_map_bytes = 64ull << 20;
  uint64_t max_map_bytes = 1ull << 40;
  // A publish whose source and id were stored within this window stores
  // nothing and returns the first sequence. Zero turns dedup off.
  std::chrono::milliseconds dedup_window{std::chrono::minutes(2)};
  // The first rule whose pattern matches a topic applies to it.
  std::vector<RetentionRule> retention;
  // How often retention runs in the background.
  std::chrono::milliseconds retention_interval{std::chrono::seconds(1)};
};

// What happened to one appended event.
struct AppendOutcome {
  Status status;           // OK, or why it was not stored
  uint64_t sequence = 0;   // the topic sequence (the first one if duplicate)
  uint64_t position = 0;   // the log position (of the first if duplicate)
  bool duplicate = false;  // true when dedup found it already stored
};

// One record read back from the log.
struct LogRecord {
  uint64_t position = 0;
  EventPtr event;  // topic, sequence and stored_at_nanos are set
};

struct TopicInfo {
  std::string topic;
  uint64_t first_sequence = 0;  // 0 when empty
  uint64_t last_sequence = 0;
  uint64_t count = 0;
  uint64_t bytes = 0;
};

struct StoreStats {
  uint64_t appended = 0;    // events stored since open
  uint64_t duplicates = 0;  // appends answered by dedup
  uint64_t commits = 0;     // write transactions committed since open
  uint64_t syncs = 0;       // flushes to disk since open
  uint64_t bytes_used = 0;  // of the map or memory
  uint64_t map_bytes = 0;   // current map size (0 for memory)
  uint64_t first_position = 0;
  uint64_t next_position = 0;  // the position the next event will get
};

class Store {
 public:
  // Called once per Append() call with one outcome per event, in order.
  using AppendDone = std::function<void(std::vector<AppendOutcome>&)>;
  using StateDone = std::function<void(Status)>;

  virtual ~Store() = default;

  // Stores `events` (each with `topic` set and already validated): assigns
  // each its topic sequence, position and stored time (writing them into
  // the event), and, once stored at `durability`, calls `done`.
  //
  // `done` calls of all Append()s run one at a time, in log order, on the
  // writer thread (or, for engines that finish at once, on the calling
  // thread). They must be quick and must not wait on the store.
  // After Close() every Append fails with kClosed.
  //
  // Dedup looks at events whose id the publisher chose. With
  // `check_duplicates` false the caller vouches that every id is new (the
  // mesh made it), and the store neither looks the events up nor
  // remembers them: dedup then costs nothing per event.
  virtual void Append(std::vector<std::shared_ptr<Event>> events,
                      Durability durability, AppendDone done,
                      bool check_duplicates) = 0;
  // Append() with duplicates checked.
  void Append(std::vector<std::shared_ptr<Event>> events, Durability durability,
              AppendDone done) {
    Append(std::move(events), durability, std::move(done), true);
  }

  // Writes (or, with an empty value, deletes) state record `key`. Commits
  // with appends in the same group; `done` runs like AppendDone.
  virtual void PutState(std::string key, std::string value,
                        Durability durability, StateDone done) = 0;

  // The state record `key`, or kNotFound.
  virtual Result<std::string> GetState(std::string_view key) = 0;

  // Every state record whose key starts with `prefix`, in key order.
  virtual Result<std::vector<std::pair<std::string, std::string>>> ListState(
      std::string_view prefix) = 0;

  // Appends to `*out` up to `max_records` records at positions >=
  // `from_position` whose topic matches `pattern` (a topic pattern; ">"
  // for all), in position order, examining at most `max_scan` records.
  // Sets `*next_position` to the position to continue from.
  virtual Status Read(uint64_t from_position, std::string_view pattern,
                      size_t max_records, size_t max_scan,
                      std::vector<LogRecord>* out, uint64_t* next_position) = 0;

  // Appends to `*out` up to `max_records` records of `topic` with
  // sequence >= `from_sequence`, in sequence order. A topic with no
  // records is not an error: nothing is appended.
  virtual Status ReadTopic(std::string_view topic, uint64_t from_sequence,
                           size_t max_records, std::vector<LogRecord>* out) = 0;

  // The position of `topic`'s record with `sequence`, or of the first one
  // after it; kNotFound when there is none.
  virtual Result<uint64_t> PositionOfSequence(std::string_view topic,
                                              uint64_t sequence) = 0;

  // The first position stored at or after `unix_nanos`, or the next
  // position when there is none.
  virtual Result<uint64_t> PositionAtTime(int64_t unix_nanos) = 0;

  // Topics with their sequence range, count and bytes, sorted by name.
  virtual Result<std::vector<TopicInfo>> Topics() = 0;

  // Removes every record of `topic` and forgets the topic, so its next
  // event gets sequence 1 again; kNotFound when it has none. Blocks until
  // done; do not call it from a done callback.
  virtual Status DeleteTopic(std::string_view topic) = 0;

  // Removes every record of `topic` like DeleteTopic, but keeps the topic
  // and its numbering (NATS "purge"): it stays listed with no events, and
  // its next event gets the sequence after the last one removed. Dedup
  // forgets the removed events. kNotFound when it has none. Blocks until
  // done; do not call it from a done callback.
  virtual Status PurgeTopic(std::string_view topic) = 0;

  // Blocks until everything accepted so far is flushed to disk.
  virtual Status Flush() = 0;

  virtual StoreStats Stats() = 0;

  // Finishes (or fails with kClosed) every accepted write, flushes and
  // releases the engine. Idempotent.
  virtual Status Close() = 0;
};

// An engine that keeps everything in memory, bounded by `options.retention`.
std::unique_ptr<Store> NewMemoryStore(const StoreOptions& options);

// Opens (creating if needed) an LMDB store in directory `path`.
// kFailedPrecondition when another process has it open; kDataLoss when it
// holds a foreign or newer format.
Result<std::unique_ptr<Store>> OpenLmdbStore(const std::string& path,
                                             const StoreOptions& options);

}  // namespace eventmesh

#endif  // EVENTMESH_STORE_H_
