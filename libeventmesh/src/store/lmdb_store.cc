// The LMDB engine.
//
// One environment per directory, five named databases: "meta" (format
// record, next position, next topic id), "log", "topics", "seq" (the sparse
// per-topic sequence index) and "state"; their layouts are in log_format.h.
//
// One writer thread owns every write transaction. Publishers hand it
// operations through a bounded queue; it drains everything waiting into one
// transaction, commits, then runs the done callbacks of the group in order.
// The writer sizes each event once and encodes it straight into the page
// LMDB reserves for it: one encoding, no copy, no allocation per event.
// Groups that contain a kSync operation commit with LMDB's own synchronous
// commit (data flushed, then the meta page written and flushed), so a crash
// of the machine cannot leave a commit half on disk; other groups commit
// without flushing and kBatch ones are flushed within the batch window.
//
// The dedup table lives in memory (a hash of source and id, kept for the
// dedup window) and is rebuilt at open from the log's headers. An on-disk
// table keyed by a hash would dirty a random page per event.
//
// Retention and DeleteTopic remove records in small transactions between
// groups, so publishers never wait behind a large delete.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <variant>

#include "event/binary_codec.h"
#include "eventmesh/clock.h"
#include "eventmesh/store.h"
#include "eventmesh/topic.h"
#include "store/dedup_table.h"
#include "store/lmdb_util.h"
#include "store/log_format.h"
#include "store/store_common.h"
#include "util/log_internal.h"
#include "util/thread_name.h"

namespace eventmesh {
namespace {

using namespace store_internal;  // NOLINT: the store's own helpers

constexpr std::string_view kFormatKey = "format";
constexpr std::string_view kFormatPrefix = "eventmesh-store ";
// 2: the sequence index became sparse; a version-1 reader would miss
// records, so each refuses the other's stores.
constexpr int kFormatVersion = 2;
constexpr std::string_view kNextPositionKey = "next_position";
constexpr std::string_view kNextTopicIdKey = "next_topic_id";
constexpr const char* kDatabaseNames[] = {"meta", "log", "topics", "seq",
                                          "state"};
constexpr const char* kLockFileName = "eventmesh.lock";

// Publishers block in Append while this many events wait for the writer.
constexpr size_t kMaxQueuedEvents = size_t{1} << 18;
// Operations and outcome slots kept allocated between groups.
constexpr size_t kKeptOutcomes = size_t{1} << 16;
// Records removed per retention or DeleteTopic transaction.
constexpr size_t kTrimChunk = 2000;

// The store whose writer thread this is, if any.
thread_local const Store* tls_writer_of = nullptr;

struct AppendOp {
  std::vector<std::shared_ptr<Event>> events;
  Store::AppendDone done;
  bool check_duplicates = true;
  // Where this operation's outcomes start in the writer's group outcomes.
  size_t first_outcome = 0;
};

struct StateOp {
  std::string key;
  std::string value;  // empty deletes
  Status status;
  Store::StateDone done;
};

struct ControlOp {
  enum Kind { kFlush, kDeleteTopic, kPurgeTopic } kind;
  std::string topic;
  std::shared_ptr<std::promise<Status>> promise;
};

struct Op {
  Durability durability = Durability::kSync;
  std::variant<AppendOp, StateOp, ControlOp> body;
};

// What a group of operations asks of its commit: a flush before it is
// answered (kSync, or a Flush), or one within the batch window. Kept as
// operations are queued, so the writer need not walk the group for it.
struct GroupDurability {
  bool sync = false;
  bool batch = false;
};

struct TopicState {
  std::string name;
  TopicMeta meta;
  const RetentionRule* rule = nullptr;
  uint64_t touch_epoch = 0;  // the transaction that last saved its undo
  bool trim_queued = false;
  // The topic's last entry in the sparse sequence index (0: none).
  uint64_t index_sequence = 0;
  uint64_t index_position = 0;
};

// A removal of a topic's oldest records: by its retention rule, or (for
// DeleteTopic) every record up to `through_sequence`.
struct TrimJob {
  std::string topic;
  bool delete_topic = false;
  uint64_t through_sequence = 0;
  std::shared_ptr<std::promise<Status>> promise;
  bool keep_topic = false;  // PurgeTopic: the topic and its numbering stay
};

// What a transaction changed in the writer's memory, to put back when the
// transaction is aborted.
struct Undo {
  uint64_t next_position = 0;
  int64_t last_stored_at = 0;
  uint32_t next_topic_id = 0;
  std::vector<std::pair<std::string, std::optional<TopicState>>> topics;
};

class LmdbStore final : public Store {
 public:
  LmdbStore(std::string path, const StoreOptions& options)
      : path_(std::move(path)), options_(options) {}
  ~LmdbStore() override { Close().IgnoreError(); }

  Status Open();

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
  class ReadTxn;

  // --- open ---
  Status LockDirectory();
  Status OpenEnvironment();
  Status OpenDatabases();
  Status CheckFormat(MDB_txn* txn, bool* fresh);
  Status LoadState();
  Status LoadIndexEnds(MDB_txn* txn);
  Status RebuildDedup(MDB_txn* txn);

  // --- the writer thread ---
  bool OnWriterThread() const { return tls_writer_of == this; }
  void Enqueue(Op op, size_t events);
  void FailInline(Op& op, const Status& status);
  void WriterLoop();
  void ProcessGroup(std::vector<Op>& group, GroupDurability wants);
  void RetireGroup(std::vector<Op>& group);
  int ApplyGroup(MDB_txn* txn, std::vector<Op>& group, Undo* undo);
  void GatherEvents(const std::vector<Op>& group);
  void LookAhead(size_t next);
  void HashAhead(size_t index);
  int ApplyAppend(MDB_txn* txn, MDB_cursor* log, MDB_cursor* seq, AppendOp& op,
                  int64_t now, Undo* undo);
  int AppendEvent(MDB_cursor* log, MDB_cursor* seq, Event& event, uint64_t hash,
                  TopicState& topic, int64_t now, AppendOutcome* outcome);
  int FindDuplicate(MDB_txn* txn, const Event& event,
                    const DedupTable::Entry& slot, AppendOutcome* outcome);
  int ApplyState(MDB_txn* txn, StateOp& op);
  int WriteTouchedTopics(MDB_txn* txn);
  int WriteCounters(MDB_txn* txn);
  TopicState& TouchTopic(const std::string& name, Undo* undo);
  void SaveTopic(TopicState& topic, Undo* undo);
  void BeginUndo(Undo* undo);
  void RollBack(Undo& undo);
  void FinishGroup(std::vector<Op>& group, const Status& status);
  bool GrowMap();
  int CommitTxn(MDB_txn* txn, bool sync);
  void SyncNow();

  // --- retention and DeleteTopic ---
  void ScheduleRetention(int64_t now_mono);
  void ScheduleTrimIfOver(TopicState& topic);
  void RunTrimChunk();
  int ApplyTrims(MDB_txn* txn, size_t budget, size_t* finished_jobs,
                 std::vector<std::string>* emptied, Undo* undo);
  void CompleteTrims(size_t finished_jobs,
                     const std::vector<std::string>& emptied);
  int TrimTopic(MDB_txn* txn, TopicState& topic, const TrimJob& job,
                int64_t now, size_t* budget, bool* finished, Undo* undo);
  int ReindexTrimmed(MDB_txn* txn, TopicState& topic, uint64_t first_before,
                     uint64_t first_position);
  void FailTrims(const Status& status);
  void ReleaseFreedPages();
  void PruneDedup(int64_t now);

  // --- reads ---
  class EventChunks;
  Status DecodeRecord(const LogRecordView& view, uint64_t position,
                      EventChunks* chunks, std::vector<LogRecord>* out);
  Result<uint64_t> NextPositionIn(MDB_txn* txn);
  Result<uint64_t> PositionAtTimeIn(MDB_txn* txn, int64_t unix_nanos);

  const std::string path_;
  const StoreOptions options_;
  int lock_fd_ = -1;

  // Readers hold it shared for the life of their transaction; the writer
  // holds it exclusively to resize the map and Close() to close the
  // environment, since LMDB needs no transaction active for either.
  std::shared_mutex env_mu_;
  MDB_env* env_ = nullptr;
  MDB_dbi meta_db_ = 0, log_db_ = 0, topics_db_ = 0, seq_db_ = 0, state_db_ = 0;
  size_t max_key_size_ = 511;

  // The queue between publishers and the writer.
  std::mutex queue_mu_;
  std::condition_variable writer_cv_;
  std::condition_variable space_cv_;
  std::vector<Op> queue_;
  std::vector<Op> retired_;  // a finished group for a publisher to free
  std::vector<Op> spare_;    // an emptied one, kept for its capacity
  size_t queued_events_ = 0;
  GroupDurability queued_wants_;  // what the queued operations ask for
  bool writer_idle_ = false;
  bool closed_ = false;  // no more operations accepted
  std::thread writer_;

  // Owned by the writer thread (and by Open before it starts).
  std::unordered_map<std::string, TopicState> topics_;
  // Entries of topics_ by TopicCacheSlot(); cleared when one is erased.
  std::array<TopicState*, 64> topic_cache_{};
  uint64_t next_position_ = 1;
  int64_t last_stored_at_ = 0;
  uint32_t next_topic_id_ = 1;
  uint64_t map_size_ = 0;
  uint64_t txn_epoch_ = 0;
  std::vector<TopicState*> touched_;
  // The group's events in order, each with its dedup hash once computed,
  // so that the writer can work a few events ahead (see LookAhead).
  struct PendingEvent {
    Event* event = nullptr;
    uint64_t hash = 0;  // 0 when the caller vouched for the id
    bool check_duplicates = false;
  };
  std::vector<PendingEvent> pending_;
  size_t next_pending_ = 0;
  // The outcomes of the group being applied, and the one handed to a done.
  std::vector<AppendOutcome> outcomes_;
  std::vector<AppendOutcome> done_outcomes_;
  DedupTable dedup_;
  // Positions of records a deleting transaction removed, forgotten by the
  // dedup table once it commits.
  std::vector<uint64_t> forgotten_positions_;
  std::deque<TrimJob> trims_;
  bool removed_records_ = false;  // since the last ReleaseFreedPages
  int64_t unsynced_since_ = 0;    // monotonic time of the oldest unflushed
                                  // kBatch commit, 0 when none
  bool unsynced_ = false;         // any commit not flushed yet
  int64_t next_retention_ = 0;

  // Counters for Stats(), written by the writer.
  std::atomic<uint64_t> appended_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> map_bytes_{0};
  std::atomic<uint64_t> next_position_seen_{1};
};

// A read-only transaction held under the environment's shared lock.
class LmdbStore::ReadTxn {
 public:
  explicit ReadTxn(LmdbStore& store) : lock_(store.env_mu_) {
    if (store.env_ == nullptr) {
      status_ = Closed("the store is closed");
      return;
    }
    int rc = mdb_txn_begin(store.env_, nullptr, MDB_RDONLY, &txn_);
    if (rc != 0) status_ = LmdbStatus(rc, "begin a read transaction");
  }
  ~ReadTxn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;

  const Status& status() const { return status_; }
  MDB_txn* get() const { return txn_; }

 private:
  std::shared_lock<std::shared_mutex> lock_;
  MDB_txn* txn_ = nullptr;
  Status status_;
};

// Closes a cursor when leaving scope.
class CursorCloser {
 public:
  explicit CursorCloser(MDB_cursor* cursor) : cursor_(cursor) {}
  ~CursorCloser() {
    if (cursor_ != nullptr) mdb_cursor_close(cursor_);
  }
  CursorCloser(const CursorCloser&) = delete;
  CursorCloser& operator=(const CursorCloser&) = delete;

 private:
  MDB_cursor* cursor_;
};

// When `record` lies on another page than `*page`, starts loading that
// page and the three after it. A read goes through the log's records in
// order, some 30 to a page, and appended leaf pages mostly follow each
// other in the file; the hardware does not fetch ahead across pages, and
// a prefetch of a page not yet mapped into the process is dropped, so
// each new page asks again for the ones after it rather than only for
// the farthest.
void PrefetchPageOf(const void* record, uintptr_t* page) {
  constexpr uintptr_t kPage = 4096;
  constexpr uintptr_t kPages = 4;
  uintptr_t start = reinterpret_cast<uintptr_t>(record) & ~(kPage - 1);
  if (start == *page) return;
  *page = start;
  for (uintptr_t line = 0; line < kPages * kPage; line += 64) {
    __builtin_prefetch(reinterpret_cast<const char*>(start + line));
  }
}

// Walks one topic's records in sequence order. The sequence index is
// sparse (log_format.h): the walk jumps to indexed records and scans the
// log between them, skipping other topics' records by their headers.
// Methods return 0, MDB_NOTFOUND, or an LMDB error; MDB_CORRUPTED when the
// index and the log disagree.
class TopicCursor {
 public:
  TopicCursor(MDB_txn* txn, MDB_dbi log_db, MDB_dbi seq_db, uint32_t topic_id,
              std::string_view topic)
      : topic_id_(topic_id), topic_(topic) {
    rc_ = mdb_cursor_open(txn, log_db, &log_);
    if (rc_ == 0) rc_ = mdb_cursor_open(txn, seq_db, &seq_);
  }
  ~TopicCursor() {
    if (log_ != nullptr) mdb_cursor_close(log_);
    if (seq_ != nullptr) mdb_cursor_close(seq_);
  }
  TopicCursor(const TopicCursor&) = delete;
  TopicCursor& operator=(const TopicCursor&) = delete;

  // Moves to the topic's first record with a sequence >= `sequence`.
  int Seek(uint64_t sequence);
  // Moves to the topic's next record. Callers stop at the topic's last
  // sequence: past it the scan would run to the end of the log.
  int Next();
  // Deletes the current record; Next() then moves past where it was.
  int DeleteCurrent();

  uint64_t position() const { return position_; }
  const LogRecordView& record() const { return view_; }
  size_t record_size() const { return record_size_; }

 private:
  int FindEntry(uint64_t sequence, uint64_t* entry_position);
  int AdvanceEntry();
  int JumpTo(uint64_t position);
  int ScanFrom(MDB_cursor_op first_op, MDB_val* key, uint64_t min_sequence);
  bool Take(const MDB_val& key, const MDB_val& value);

  const uint32_t topic_id_;
  const std::string_view topic_;
  int rc_ = 0;
  MDB_cursor* log_ = nullptr;
  MDB_cursor* seq_ = nullptr;
  uint64_t next_entry_sequence_ = 0;  // the entry after the walk, 0: none
  uint64_t next_entry_position_ = 0;
  uint64_t position_ = 0;
  size_t record_size_ = 0;
  LogRecordView view_;
  bool deleted_ = false;
  uintptr_t page_ = 0;  // the page PrefetchPageOf loaded last
};

int TopicCursor::Seek(uint64_t sequence) {
  if (rc_ != 0) return rc_;
  uint64_t entry_position = 0;
  int rc = FindEntry(sequence, &entry_position);
  if (rc == 0) rc = AdvanceEntry();
  if (rc == 0) rc = JumpTo(entry_position);
  if (rc != 0 || view_.sequence >= sequence) return rc;
  return ScanFrom(MDB_NEXT, nullptr, sequence);
}

// Positions the index cursor on the topic's last entry at or before
// `sequence`, or on its first entry when `sequence` precedes them all.
int TopicCursor::FindEntry(uint64_t sequence, uint64_t* entry_position) {
  char key_bytes[kSeqKeySize];
  WriteSeqKey(topic_id_, sequence, key_bytes);
  MDB_val key{kSeqKeySize, key_bytes}, value;
  auto ours = [&] {
    return key.mv_size == kSeqKeySize &&
           SeqKeyTopic(static_cast<char*>(key.mv_data)) == topic_id_;
  };
  int rc = mdb_cursor_get(seq_, &key, &value, MDB_SET_RANGE);
  if (rc != 0 && rc != MDB_NOTFOUND) return rc;
  bool exact = rc == 0 && ours() &&
               SeqKeySequence(static_cast<char*>(key.mv_data)) == sequence;
  if (!exact) {
    rc = mdb_cursor_get(seq_, &key, &value, rc == 0 ? MDB_PREV : MDB_LAST);
    if (rc != 0 && rc != MDB_NOTFOUND) return rc;
    if (rc == MDB_NOTFOUND || !ours()) {
      WriteSeqKey(topic_id_, 0, key_bytes);
      key = MDB_val{kSeqKeySize, key_bytes};
      rc = mdb_cursor_get(seq_, &key, &value, MDB_SET_RANGE);
      if (rc != 0) return rc;
      if (!ours()) return MDB_NOTFOUND;
    }
  }
  if (value.mv_size != 8) return MDB_CORRUPTED;
  *entry_position = GetFixed<uint64_t>(static_cast<char*>(value.mv_data));
  return 0;
}

// Loads the index entry after the current one into next_entry_*.
int TopicCursor::AdvanceEntry() {
  MDB_val key, value;
  int rc = mdb_cursor_get(seq_, &key, &value, MDB_NEXT);
  next_entry_sequence_ = 0;
  if (rc == MDB_NOTFOUND) return 0;
  if (rc != 0) return rc;
  if (key.mv_size != kSeqKeySize || value.mv_size != 8 ||
      SeqKeyTopic(static_cast<char*>(key.mv_data)) != topic_id_) {
    return 0;
  }
  next_entry_sequence_ = SeqKeySequence(static_cast<char*>(key.mv_data));
  next_entry_position_ = GetFixed<uint64_t>(static_cast<char*>(value.mv_data));
  return 0;
}

int TopicCursor::Next() {
  uint64_t want = view_.sequence + 1;
  while (next_entry_sequence_ != 0 && next_entry_sequence_ < want) {
    int rc = AdvanceEntry();
    if (rc != 0) return rc;
  }
  if (next_entry_sequence_ == want) {
    uint64_t position = next_entry_position_;
    int rc = AdvanceEntry();
    return rc != 0 ? rc : JumpTo(position);
  }
  if (!deleted_) return ScanFrom(MDB_NEXT, nullptr, want);
  // After a delete, continue from the key after the deleted one.
  char key_bytes[8];
  PutBigEndian64(position_ + 1, key_bytes);
  MDB_val key{8, key_bytes};
  return ScanFrom(MDB_SET_RANGE, &key, want);
}

int TopicCursor::DeleteCurrent() {
  int rc = mdb_cursor_del(log_, 0);
  if (rc == 0) deleted_ = true;
  return rc;
}

// Moves to the record at `position`, which the index says is the topic's.
int TopicCursor::JumpTo(uint64_t position) {
  char key_bytes[8];
  PutBigEndian64(position, key_bytes);
  MDB_val key{8, key_bytes}, value;
  int rc = mdb_cursor_get(log_, &key, &value, MDB_SET_KEY);
  if (rc != 0) return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
  if (!Take(key, value) || view_.topic != topic_) return MDB_CORRUPTED;
  return 0;
}

// Steps through the log from `first_op` to the topic's next record with a
// sequence >= `min_sequence`.
int TopicCursor::ScanFrom(MDB_cursor_op first_op, MDB_val* key,
                          uint64_t min_sequence) {
  MDB_val k = key != nullptr ? *key : MDB_val{}, value;
  for (MDB_cursor_op op = first_op;; op = MDB_NEXT) {
    int rc = mdb_cursor_get(log_, &k, &value, op);
    if (rc != 0) return rc;
    if (!Take(k, value)) return MDB_CORRUPTED;
    if (view_.topic == topic_ && view_.sequence >= min_sequence) return 0;
  }
}

bool TopicCursor::Take(const MDB_val& key, const MDB_val& value) {
  PrefetchPageOf(value.mv_data, &page_);
  deleted_ = false;
  if (key.mv_size != 8) return false;
  position_ = GetBigEndian64(static_cast<char*>(key.mv_data));
  record_size_ = value.mv_size;
  return ParseLogRecord(ToView(value), &view_);
}

uint64_t RoundToPage(uint64_t bytes) {
  constexpr uint64_t kPage = 4096;
  return std::max(kPage, (bytes + kPage - 1) / kPage * kPage);
}

std::string PositionKey(uint64_t position) {
  std::string key(8, '\0');
  PutBigEndian64(position, key.data());
  return key;
}

// ===========================================================================
// Opening

Status LmdbStore::Open() {
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
  if (ec) {
    return LmdbStatus(ec.value(), "create store directory '" + path_ + "'");
  }
  EM_RETURN_IF_ERROR(LockDirectory());
  EM_RETURN_IF_ERROR(OpenEnvironment());
  EM_RETURN_IF_ERROR(OpenDatabases());
  EM_RETURN_IF_ERROR(LoadState());
  next_retention_ =
      MonotonicNanos() +
      std::chrono::nanoseconds(options_.retention_interval).count();
  writer_ = std::thread([this] { WriterLoop(); });
  return Status();
}

// An exclusive flock on a file in the directory keeps a second process out:
// LMDB itself would let it in and two writers' processes would then share
// the map with neither knowing of the other's in-memory state.
Status LmdbStore::LockDirectory() {
  std::string lock_path = path_ + "/" + kLockFileName;
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    return LmdbStatus(errno, "open lock file '" + lock_path + "'");
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (err == EWOULDBLOCK) {
      return FailedPrecondition("store directory '" + path_ +
                                "' is in use by another process or store; "
                                "close that one or use another directory");
    }
    return LmdbStatus(err, "lock '" + lock_path + "'");
  }
  return Status();
}

Status LmdbStore::OpenEnvironment() {
  int rc = mdb_env_create(&env_);
  if (rc != 0) return LmdbStatus(rc, "create LMDB environment");
  map_size_ = RoundToPage(
      std::min(options_.initial_map_bytes,
               std::max(options_.max_map_bytes, uint64_t{1} << 20)));
  mdb_env_set_maxdbs(env_, 8);
  mdb_env_set_maxreaders(env_, 1024);
  mdb_env_set_mapsize(env_, map_size_);
  rc = mdb_env_open(env_, path_.c_str(), MDB_NOSYNC | MDB_NOTLS, 0644);
  if (rc != 0) {
    mdb_env_close(env_);
    env_ = nullptr;
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
      return DataLoss("'" + path_ +
                      "' does not hold an LMDB environment this build can "
                      "read (" +
                      mdb_strerror(rc) + "); use another directory");
    }
    return LmdbStatus(rc, "open store '" + path_ + "'");
  }
  int dead = 0;
  mdb_reader_check(env_, &dead);
  if (dead > 0) {
    EM_LOG(kInfo, "store", "cleared " << dead << " stale reader slots");
  }
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  map_size_ = info.me_mapsize;
  map_bytes_ = map_size_;
  max_key_size_ = static_cast<size_t>(mdb_env_get_maxkeysize(env_));
  return Status();
}

Status LmdbStore::OpenDatabases() {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc != 0) return LmdbStatus(rc, "begin the open transaction");
  bool fresh = false;
  Status status = CheckFormat(txn, &fresh);
  MDB_dbi* dbis[] = {&meta_db_, &log_db_, &topics_db_, &seq_db_, &state_db_};
  for (size_t i = 0; status.ok() && i < 5; ++i) {
    rc = mdb_dbi_open(txn, kDatabaseNames[i], MDB_CREATE, dbis[i]);
    if (rc != 0) status = LmdbStatus(rc, "open database");
  }
  if (status.ok() && fresh) {
    std::string format =
        std::string(kFormatPrefix) + std::to_string(kFormatVersion);
    MDB_val key = ToVal(kFormatKey);
    MDB_val value = ToVal(format);
    rc = mdb_put(txn, meta_db_, &key, &value, 0);
    if (rc != 0) status = LmdbStatus(rc, "write the format record");
  }
  if (!status.ok()) {
    mdb_txn_abort(txn);
    return status;
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return LmdbStatus(rc, "commit the open transaction");
  return Status();
}

// Refuses environments that hold anything but this store's databases, and
// stores written in a newer format.
Status LmdbStore::CheckFormat(MDB_txn* txn, bool* fresh) {
  MDB_dbi main_db;
  int rc = mdb_dbi_open(txn, nullptr, 0, &main_db);
  if (rc != 0) return LmdbStatus(rc, "open the main database");
  MDB_cursor* cursor;
  rc = mdb_cursor_open(txn, main_db, &cursor);
  if (rc != 0) return LmdbStatus(rc, "open a cursor");
  CursorCloser closer(cursor);
  MDB_val key, value;
  size_t names = 0;
  for (rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
    std::string_view name = ToView(key);
    bool ours = false;
    for (const char* known : kDatabaseNames) ours = ours || name == known;
    if (!ours) {
      return DataLoss("'" + path_ +
                      "' holds LMDB data that is not an EventMesh store "
                      "(found '" +
                      std::string(name.substr(0, 64)) +
                      "'); use another directory");
    }
    ++names;
  }
  *fresh = names == 0;
  if (*fresh) return Status();

  MDB_dbi meta;
  rc = mdb_dbi_open(txn, "meta", 0, &meta);
  if (rc == 0) {
    MDB_val fkey = ToVal(kFormatKey);
    rc = mdb_get(txn, meta, &fkey, &value);
  }
  std::string_view format = rc == 0 ? ToView(value) : std::string_view();
  if (format.substr(0, kFormatPrefix.size()) != kFormatPrefix) {
    return DataLoss("'" + path_ +
                    "' has no EventMesh format record; it was not written "
                    "by EventMesh or is damaged");
  }
  int version =
      std::atoi(std::string(format.substr(kFormatPrefix.size())).c_str());
  if (version != kFormatVersion) {
    return DataLoss("'" + path_ + "' holds store format " +
                    std::to_string(version) + " but this build reads format " +
                    std::to_string(kFormatVersion) +
                    "; open it with the EventMesh version that wrote it");
  }
  return Status();
}

// Loads topics and counters into the writer's memory and rebuilds the
// dedup table.
Status LmdbStore::LoadState() {
  ReadTxn txn(*this);
  EM_RETURN_IF_ERROR(txn.status());
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), topics_db_, &cursor);
  if (rc != 0) return LmdbStatus(rc, "open a cursor");
  CursorCloser closer(cursor);
  MDB_val key, value;
  for (rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
    TopicState topic;
    topic.name = std::string(ToView(key));
    if (!ParseTopicMeta(ToView(value), &topic.meta)) {
      return DataLoss("topic record '" + topic.name + "' is damaged");
    }
    topic.rule = FindRetentionRule(options_, topic.name);
    std::string name = topic.name;
    topics_.emplace(std::move(name), std::move(topic));
  }
  EM_RETURN_IF_ERROR(LoadIndexEnds(txn.get()));

  EM_ASSIGN_OR_RETURN(next_position_, NextPositionIn(txn.get()));
  next_position_seen_ = next_position_;
  MDB_val id_key = ToVal(kNextTopicIdKey);
  if (mdb_get(txn.get(), meta_db_, &id_key, &value) == 0 &&
      value.mv_size == 4) {
    next_topic_id_ = GetFixed<uint32_t>(static_cast<char*>(value.mv_data));
  }

  // The last record's stored time: stored times never go backwards.
  MDB_cursor* log;
  rc = mdb_cursor_open(txn.get(), log_db_, &log);
  if (rc != 0) return LmdbStatus(rc, "open a cursor");
  CursorCloser log_closer(log);
  LogRecordView view;
  if (mdb_cursor_get(log, &key, &value, MDB_LAST) == 0 &&
      ParseLogRecord(ToView(value), &view)) {
    last_stored_at_ = view.stored_at;
  }
  return RebuildDedup(txn.get());
}

// Finds each topic's last sequence index entry, which decides where the
// writer puts the next one.
Status LmdbStore::LoadIndexEnds(MDB_txn* txn) {
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn, seq_db_, &cursor);
  if (rc != 0) return LmdbStatus(rc, "open a cursor");
  CursorCloser closer(cursor);
  for (auto& [name, topic] : topics_) {
    char key_bytes[kSeqKeySize];
    WriteSeqKey(topic.meta.id, UINT64_MAX, key_bytes);
    MDB_val key{kSeqKeySize, key_bytes}, value;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
    if (rc == 0 || rc == MDB_NOTFOUND) {
      rc = mdb_cursor_get(cursor, &key, &value, rc == 0 ? MDB_PREV : MDB_LAST);
    }
    if (rc == MDB_NOTFOUND) continue;
    if (rc != 0) return LmdbStatus(rc, "read the sequence index");
    if (key.mv_size != kSeqKeySize || value.mv_size != 8 ||
        SeqKeyTopic(static_cast<char*>(key.mv_data)) != topic.meta.id) {
      continue;
    }
    topic.index_sequence = SeqKeySequence(static_cast<char*>(key.mv_data));
    topic.index_position =
        GetFixed<uint64_t>(static_cast<char*>(value.mv_data));
  }
  return Status();
}

Status LmdbStore::RebuildDedup(MDB_txn* txn) {
  if (options_.dedup_window.count() <= 0) return Status();
  int64_t horizon =
      WallNanos() - std::chrono::nanoseconds(options_.dedup_window).count();
  EM_ASSIGN_OR_RETURN(uint64_t from, PositionAtTimeIn(txn, horizon));
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn, log_db_, &cursor);
  if (rc != 0) return LmdbStatus(rc, "open a cursor");
  CursorCloser closer(cursor);
  // The window's records are read first and inserted after, so the table
  // is sized once (no growing through ever larger copies) and each slot
  // can be loaded a few inserts ahead.
  struct Seen {
    uint64_t hash;
    uint64_t position;
    uint64_t sequence;
    int64_t stored_at;
  };
  std::vector<Seen> seen;
  constexpr uint64_t kMaxReserved = uint64_t{1} << 24;
  seen.reserve(
      std::min(next_position_ - std::min(from, next_position_), kMaxReserved));
  std::string start = PositionKey(from);
  MDB_val key = ToVal(start), value;
  uintptr_t page = 0;
  for (rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
    PrefetchPageOf(value.mv_data, &page);
    LogRecordView view;
    if (!ParseLogRecord(ToView(value), &view) || view.dedup_hash == 0) {
      continue;
    }
    seen.push_back({view.dedup_hash,
                    GetBigEndian64(static_cast<char*>(key.mv_data)),
                    view.sequence, view.stored_at});
  }
  dedup_.Reserve(seen.size());
  constexpr size_t kAhead = 8;
  for (size_t i = 0; i < seen.size(); ++i) {
    if (i + kAhead < seen.size()) dedup_.Prefetch(seen[i + kAhead].hash);
    dedup_.Insert(seen[i].hash, seen[i].position, seen[i].sequence,
                  seen[i].stored_at);
  }
  return Status();
}

// ===========================================================================
// Publishing side

void LmdbStore::Append(std::vector<std::shared_ptr<Event>> events,
                       Durability durability, AppendDone done,
                       bool check_duplicates) {
  // The writer checks, hashes and encodes each event straight into its
  // page: building records here would cost an allocation and a copy each.
  size_t count = events.size();
  AppendOp op{std::move(events), std::move(done), check_duplicates, 0};
  Enqueue(Op{durability, std::move(op)}, count);
}

void LmdbStore::PutState(std::string key, std::string value,
                         Durability durability, StateDone done) {
  StateOp op{std::move(key), std::move(value), Status(), std::move(done)};
  Enqueue(Op{durability, std::move(op)}, 1);
}

void LmdbStore::Enqueue(Op op, size_t events) {
  std::unique_lock<std::mutex> lock(queue_mu_);
  // Back-pressure, except for the writer itself (a done callback that
  // appends) which would otherwise wait for itself.
  if (!OnWriterThread()) {
    space_cv_.wait(
        lock, [&] { return closed_ || queued_events_ < kMaxQueuedEvents; });
  }
  if (closed_) {
    lock.unlock();
    FailInline(op, Closed("the store is closed"));
    return;
  }
  const auto* control = std::get_if<ControlOp>(&op.body);
  queued_wants_.sync =
      queued_wants_.sync || op.durability == Durability::kSync ||
      (control != nullptr && control->kind == ControlOp::kFlush);
  queued_wants_.batch =
      queued_wants_.batch || op.durability == Durability::kBatch;
  queue_.push_back(std::move(op));
  queued_events_ += events;
  if (writer_idle_) {
    writer_idle_ = false;
    writer_cv_.notify_one();
  }
  if (OnWriterThread() || retired_.empty()) return;

  // Free a finished group's events here, off the writer, then hand the
  // emptied vector back: regrowing a group-sized vector every group costs
  // page faults and copies.
  std::vector<Op> finished;
  finished.swap(retired_);
  lock.unlock();
  finished.clear();
  lock.lock();
  if (spare_.capacity() < finished.capacity() &&
      finished.capacity() <= kKeptOutcomes) {
    spare_.swap(finished);
  }
  lock.unlock();
}

// Completes an operation that never reached the writer.
void LmdbStore::FailInline(Op& op, const Status& status) {
  if (auto* append = std::get_if<AppendOp>(&op.body)) {
    std::vector<AppendOutcome> outcomes(append->events.size());
    for (auto& outcome : outcomes) outcome.status = status;
    if (append->done) append->done(outcomes);
  } else if (auto* state = std::get_if<StateOp>(&op.body)) {
    if (state->done) state->done(status);
  } else if (auto* control = std::get_if<ControlOp>(&op.body)) {
    control->promise->set_value(status);
  }
}

// ===========================================================================
// The writer thread

void LmdbStore::WriterLoop() {
  NameThisThread("em-store-writer");
  tls_writer_of = this;
  std::vector<Op> group;
  for (;;) {
    GroupDurability wants;
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      while (queue_.empty() && !closed_ && trims_.empty()) {
        int64_t now = MonotonicNanos();
        int64_t deadline = next_retention_;
        if (unsynced_since_ != 0) {
          deadline = std::min(
              deadline,
              unsynced_since_ +
                  std::chrono::nanoseconds(options_.batch_window).count());
        }
        if (deadline <= now) break;
        retired_.clear();  // nobody came to take it
        writer_idle_ = true;
        writer_cv_.wait_for(lock, std::chrono::nanoseconds(deadline - now));
        writer_idle_ = false;
      }
      group.swap(queue_);
      wants = queued_wants_;
      queued_wants_ = GroupDurability();
      bool was_full = queued_events_ >= kMaxQueuedEvents;
      queued_events_ = 0;
      if (was_full) space_cv_.notify_all();
      if (closed_ && group.empty()) break;
    }
    if (!group.empty()) ProcessGroup(group, wants);
    RetireGroup(group);

    int64_t now = MonotonicNanos();
    if (unsynced_since_ != 0 &&
        now - unsynced_since_ >=
            std::chrono::nanoseconds(options_.batch_window).count()) {
      SyncNow();
    }
    if (now >= next_retention_) ScheduleRetention(now);
    if (!trims_.empty()) RunTrimChunk();
  }
  // Closing: DeleteTopic calls still waiting are told so.
  for (TrimJob& job : trims_) {
    if (job.promise) job.promise->set_value(Closed("the store was closed"));
  }
  trims_.clear();
}

// Hands the finished group to the next publisher to free: releasing a
// group's events costs the writer several frees per event, and the
// publishers run on other cores. The done callbacks were already released.
// The writer keeps a spare vector's capacity for the next group.
void LmdbStore::RetireGroup(std::vector<Op>& group) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (retired_.empty()) {
      retired_.swap(group);
      group.swap(spare_);
    }
  }
  group.clear();
  if (group.capacity() > kKeptOutcomes) group = {};
}

void LmdbStore::ProcessGroup(std::vector<Op>& group, GroupDurability wants) {
  bool sync = wants.sync;
  bool batch = wants.batch;
  Status status;
  for (;;) {
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    Undo undo;
    if (rc == 0) {
      rc = ApplyGroup(txn, group, &undo);
      if (rc == 0) {
        rc = CommitTxn(txn, sync);
      } else {
        mdb_txn_abort(txn);
      }
      if (rc != 0) RollBack(undo);
    }
    if (rc == MDB_MAP_FULL && GrowMap()) continue;
    if (rc != 0) status = LmdbStatus(rc, "append to store '" + path_ + "'");
    break;
  }

  if (status.ok()) {
    // A flush-only group commits nothing, so LMDB does not flush for it.
    if (sync && unsynced_) SyncNow();
    if (!sync && batch && unsynced_since_ == 0) {
      unsynced_since_ = MonotonicNanos();
    }
    for (TopicState* topic : touched_) ScheduleTrimIfOver(*topic);
  } else {
    EM_LOG(kWarn, "store", status.ToString());
  }
  touched_.clear();
  FinishGroup(group, status);
}

// Commits; `sync` asks LMDB for its synchronous commit for this one.
int LmdbStore::CommitTxn(MDB_txn* txn, bool sync) {
  mdb_env_set_flags(env_, MDB_NOSYNC, sync ? 0 : 1);
  int rc = mdb_txn_commit(txn);
  if (rc != 0) return rc;
  commits_.fetch_add(1, std::memory_order_relaxed);
  if (sync) {
    syncs_.fetch_add(1, std::memory_order_relaxed);
    unsynced_since_ = 0;
    unsynced_ = false;
  } else {
    unsynced_ = true;
  }
  return 0;
}

void LmdbStore::SyncNow() {
  int rc = mdb_env_sync(env_, 1);
  if (rc != 0) {
    EM_LOG(kError, "store", LmdbStatus(rc, "flush store").ToString());
    return;
  }
  syncs_.fetch_add(1, std::memory_order_relaxed);
  unsynced_since_ = 0;
  unsynced_ = false;
}

// Starts a write transaction's bookkeeping: RollBack(undo) restores the
// counters as they are now.
void LmdbStore::BeginUndo(Undo* undo) {
  ++txn_epoch_;
  touched_.clear();
  undo->next_position = next_position_;
  undo->last_stored_at = last_stored_at_;
  undo->next_topic_id = next_topic_id_;
  forgotten_positions_.clear();
  dedup_.Begin();
}

int LmdbStore::ApplyGroup(MDB_txn* txn, std::vector<Op>& group, Undo* undo) {
  BeginUndo(undo);
  outcomes_.clear();
  GatherEvents(group);

  int64_t now = std::max(WallNanos(), last_stored_at_);
  last_stored_at_ = now;
  PruneDedup(now);
  MDB_cursor* log = nullptr;
  MDB_cursor* seq = nullptr;
  int rc = mdb_cursor_open(txn, log_db_, &log);
  if (rc == 0) rc = mdb_cursor_open(txn, seq_db_, &seq);
  for (size_t i = 0; rc == 0 && i < group.size(); ++i) {
    Op& op = group[i];
    if (auto* append = std::get_if<AppendOp>(&op.body)) {
      rc = ApplyAppend(txn, log, seq, *append, now, undo);
    } else if (auto* state = std::get_if<StateOp>(&op.body)) {
      rc = ApplyState(txn, *state);
    }
  }
  if (log != nullptr) mdb_cursor_close(log);
  if (seq != nullptr) mdb_cursor_close(seq);
  if (rc == 0) rc = WriteTouchedTopics(txn);
  if (rc == 0) rc = WriteCounters(txn);
  return rc;
}

// How far ahead the writer hashes events and starts loading their dedup
// slots; it starts loading the events themselves twice as far ahead.
constexpr size_t kHashAhead = 8;

void LmdbStore::GatherEvents(const std::vector<Op>& group) {
  pending_.clear();
  next_pending_ = 0;
  constexpr size_t kOpsAhead = 8;  // each op's vector is its own allocation
  for (size_t i = 0; i < group.size(); ++i) {
    if (i + kOpsAhead < group.size()) {
      const auto* ahead = std::get_if<AppendOp>(&group[i + kOpsAhead].body);
      if (ahead != nullptr) __builtin_prefetch(ahead->events.data());
    }
    const auto* append = std::get_if<AppendOp>(&group[i].body);
    if (append == nullptr) continue;
    for (const auto& event : append->events) {
      pending_.push_back({event.get(), 0, append->check_duplicates});
    }
  }
  for (size_t k = 0; k < 2 * kHashAhead && k < pending_.size(); ++k) {
    __builtin_prefetch(pending_[k].event);
  }
  for (size_t k = 0; k < kHashAhead && k < pending_.size(); ++k) HashAhead(k);
}

// Readies the events after `next`, which is about to be stored: the
// publishers built them on another core and the dedup table is larger
// than the caches, so each would otherwise stall the writer on memory.
void LmdbStore::LookAhead(size_t next) {
  size_t far = next + 2 * kHashAhead;
  if (far < pending_.size()) {
    const char* event = reinterpret_cast<const char*>(pending_[far].event);
    for (size_t offset = 0; offset < sizeof(Event); offset += 64) {
      __builtin_prefetch(event + offset);
    }
  }
  if (next + kHashAhead < pending_.size()) HashAhead(next + kHashAhead);
}

void LmdbStore::HashAhead(size_t index) {
  PendingEvent& pending = pending_[index];
  __builtin_prefetch(pending.event->data.data());
  // The writer stamps the event, whose lines the publisher's core owns.
  __builtin_prefetch(&pending.event->sequence, 1);
  if (!pending.check_duplicates) return;
  pending.hash = DedupHash(pending.event->source, pending.event->id);
  if (options_.dedup_window.count() > 0) dedup_.Prefetch(pending.hash);
}

int LmdbStore::ApplyAppend(MDB_txn* txn, MDB_cursor* log, MDB_cursor* seq,
                           AppendOp& op, int64_t now, Undo* undo) {
  bool dedup = options_.dedup_window.count() > 0 && op.check_duplicates;
  op.first_outcome = outcomes_.size();
  outcomes_.resize(outcomes_.size() + op.events.size());
  AppendOutcome* outcome = outcomes_.data() + op.first_outcome;
  TopicState* topic = nullptr;
  for (size_t i = 0; i < op.events.size(); ++i) {
    Event& event = *pending_[next_pending_].event;
    // A dedup hash of 0 marks a record the caller vouched for: it is
    // neither checked now nor remembered when the store reopens.
    uint64_t hash = pending_[next_pending_].hash;
    LookAhead(next_pending_++);
    if (event.topic.empty() || event.topic.size() > kMaxTopicBytes) {
      (outcome++)->status = CheckAppendable(event);
      continue;
    }
    DedupTable::Entry* slot = nullptr;
    if (dedup) {
      slot = dedup_.Slot(hash);
      int rc = FindDuplicate(txn, event, *slot, outcome);
      if (rc != 0) return rc;
      if (outcome->duplicate) {
        ++outcome;
        continue;
      }
    }
    if (topic == nullptr || topic->name != event.topic) {
      topic = &TouchTopic(event.topic, undo);
    }
    int rc = AppendEvent(log, seq, event, hash, *topic, now, outcome);
    if (rc != 0) return rc;
    if (dedup) {
      dedup_.Put(slot, hash, outcome->position, outcome->sequence, now);
    }
    ++outcome;
  }
  return 0;
}

// Stores one event as the log's next record: stamps it, sizes it once and
// encodes it into the page LMDB reserves; indexes it when the sparse index
// asks for an entry (log_format.h).
int LmdbStore::AppendEvent(MDB_cursor* log, MDB_cursor* seq, Event& event,
                           uint64_t hash, TopicState& topic, int64_t now,
                           AppendOutcome* outcome) {
  uint64_t sequence = topic.meta.last_sequence + 1;
  uint64_t position = next_position_;
  event.sequence = sequence;
  event.stored_at_nanos = now;
  size_t header = LogHeaderSize(event.topic.size());
  size_t encoded = internal::EncodedBinarySize(event);
  char key_bytes[8];
  PutBigEndian64(position, key_bytes);
  MDB_val key{8, key_bytes};
  MDB_val value{header + encoded, nullptr};
  int rc = mdb_cursor_put(log, &key, &value, MDB_APPEND | MDB_RESERVE);
  if (rc != 0) return rc;
  char* out = static_cast<char*>(value.mv_data);
  WriteLogHeader(event.topic, now, sequence, hash, out);
  internal::EncodeBinaryTo(event, out + header, encoded);

  if (topic.index_sequence == 0 ||
      sequence - topic.index_sequence >= kIndexEverySequences ||
      position - topic.index_position > kIndexMaxGap) {
    // Keys of the newest topic sort last, so its entries can be appended
    // without a search.
    char seq_key[kSeqKeySize];
    WriteSeqKey(topic.meta.id, sequence, seq_key);
    char seq_value[8];
    PutFixed<uint64_t>(position, seq_value);
    MDB_val skey{kSeqKeySize, seq_key};
    MDB_val sval{8, seq_value};
    rc = mdb_cursor_put(seq, &skey, &sval,
                        topic.meta.id + 1 == next_topic_id_ ? MDB_APPEND : 0);
    if (rc != 0) return rc;
    topic.index_sequence = sequence;
    topic.index_position = position;
  }

  ++next_position_;
  topic.meta.last_sequence = sequence;
  if (topic.meta.first_sequence == 0) topic.meta.first_sequence = sequence;
  ++topic.meta.count;
  topic.meta.bytes += header + encoded;
  outcome->sequence = sequence;
  outcome->position = position;
  return 0;
}

// Fills `*outcome` as a duplicate when `event` was stored within the
// window; `slot` is the dedup table's slot for its hash. A hash match is
// confirmed against the stored record when it is still there; one that
// retention removed counts as a match.
int LmdbStore::FindDuplicate(MDB_txn* txn, const Event& event,
                             const DedupTable::Entry& slot,
                             AppendOutcome* outcome) {
  const DedupTable::Stored* found = dedup_.Found(slot);
  if (found == nullptr) return 0;  // not seen within the window
  char key_bytes[8];
  PutBigEndian64(found->position, key_bytes);
  MDB_val key{8, key_bytes}, value;
  int rc = mdb_get(txn, log_db_, &key, &value);
  if (rc != 0 && rc != MDB_NOTFOUND) return rc;
  if (rc == 0) {
    LogRecordView view;
    if (!ParseLogRecord(ToView(value), &view)) return 0;
    auto stored = DecodeBinary(view.encoding);
    if (!stored.ok() || stored->source != event.source ||
        stored->id != event.id) {
      return 0;  // a different event with the same hash
    }
  }
  outcome->duplicate = true;
  outcome->sequence = found->sequence;
  outcome->position = found->position;
  duplicates_.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

int LmdbStore::ApplyState(MDB_txn* txn, StateOp& op) {
  if (op.key.empty() || op.key.size() > max_key_size_) {
    op.status = InvalidArgument("a state record key must have 1 to " +
                                std::to_string(max_key_size_) + " bytes; got " +
                                std::to_string(op.key.size()));
    return 0;
  }
  MDB_val key = ToVal(op.key);
  if (op.value.empty()) {
    int rc = mdb_del(txn, state_db_, &key, nullptr);
    return rc == MDB_NOTFOUND ? 0 : rc;
  }
  MDB_val value = ToVal(op.value);
  return mdb_put(txn, state_db_, &key, &value, 0);
}

// A cheap hash of a topic name for the writer's topic cache: its length
// and its first and last eight bytes.
size_t TopicCacheSlot(const std::string& name) {
  uint64_t head = 0;
  uint64_t tail = 0;
  size_t n = std::min<size_t>(name.size(), 8);
  std::memcpy(&head, name.data(), n);
  std::memcpy(&tail, name.data() + name.size() - n, n);
  uint64_t h = (head * 0x9E3779B97F4A7C15ull) ^ (tail * 0xC2B2AE3D27D4EB4Full) ^
               name.size();
  return static_cast<size_t>(h >> 58);  // 64 slots
}

TopicState& LmdbStore::TouchTopic(const std::string& name, Undo* undo) {
  // Interleaved publishers change topic at almost every event; the cache
  // saves the map's string hash and probe.
  TopicState*& cached = topic_cache_[TopicCacheSlot(name)];
  if (cached != nullptr && cached->name == name) {
    SaveTopic(*cached, undo);
    return *cached;
  }
  auto it = topics_.find(name);
  if (it != topics_.end()) {
    cached = &it->second;
    SaveTopic(it->second, undo);
    return it->second;
  }
  undo->topics.emplace_back(name, std::nullopt);
  TopicState& topic = topics_[name];
  topic.name = name;
  topic.meta.id = next_topic_id_++;
  topic.rule = FindRetentionRule(options_, name);
  topic.touch_epoch = txn_epoch_;
  touched_.push_back(&topic);
  return topic;
}

// Remembers the topic's state before this transaction changes it.
void LmdbStore::SaveTopic(TopicState& topic, Undo* undo) {
  if (topic.touch_epoch == txn_epoch_) return;
  undo->topics.emplace_back(topic.name, topic);
  topic.touch_epoch = txn_epoch_;
  touched_.push_back(&topic);
}

int LmdbStore::WriteTouchedTopics(MDB_txn* txn) {
  for (TopicState* topic : touched_) {
    char bytes[kTopicMetaSize];
    WriteTopicMeta(topic->meta, bytes);
    MDB_val key = ToVal(topic->name);
    MDB_val value{kTopicMetaSize, bytes};
    int rc = mdb_put(txn, topics_db_, &key, &value, 0);
    if (rc != 0) return rc;
  }
  return 0;
}

int LmdbStore::WriteCounters(MDB_txn* txn) {
  char position[8];
  PutFixed<uint64_t>(next_position_, position);
  MDB_val key = ToVal(kNextPositionKey);
  MDB_val value{8, position};
  int rc = mdb_put(txn, meta_db_, &key, &value, 0);
  if (rc != 0) return rc;
  char topic_id[4];
  PutFixed<uint32_t>(next_topic_id_, topic_id);
  key = ToVal(kNextTopicIdKey);
  value = MDB_val{4, topic_id};
  return mdb_put(txn, meta_db_, &key, &value, 0);
}

void LmdbStore::RollBack(Undo& undo) {
  next_position_ = undo.next_position;
  last_stored_at_ = undo.last_stored_at;
  next_topic_id_ = undo.next_topic_id;
  for (auto it = undo.topics.rbegin(); it != undo.topics.rend(); ++it) {
    if (it->second) {
      topics_[it->first] = std::move(*it->second);
    } else {
      topics_.erase(it->first);
      topic_cache_.fill(nullptr);
    }
  }
  dedup_.RollBack(undo.next_position);
  touched_.clear();
  ++txn_epoch_;  // saved copies are stale now
}

// Runs the callbacks of a group in order, with `status` when the group as
// a whole failed.
void LmdbStore::FinishGroup(std::vector<Op>& group, const Status& status) {
  // Readers woken by the callbacks must already see the new end.
  next_position_seen_.store(next_position_, std::memory_order_release);
  uint64_t appended = 0;
  for (Op& op : group) {
    if (auto* append = std::get_if<AppendOp>(&op.body)) {
      size_t n = append->events.size();
      if (!status.ok()) {
        done_outcomes_.assign(n, AppendOutcome{status});
      } else {
        auto first = outcomes_.begin() + append->first_outcome;
        done_outcomes_.assign(first, first + n);
        for (const auto& o : done_outcomes_) {
          appended += o.status.ok() && !o.duplicate ? 1 : 0;
        }
      }
      if (append->done) append->done(done_outcomes_);
      append->done = nullptr;  // its captures die on this thread
    } else if (auto* state = std::get_if<StateOp>(&op.body)) {
      if (state->done) state->done(status.ok() ? state->status : status);
      state->done = nullptr;
    } else if (auto* control = std::get_if<ControlOp>(&op.body)) {
      if (control->kind == ControlOp::kFlush) {
        control->promise->set_value(status);
        continue;
      }
      auto it = topics_.find(control->topic);
      if (it == topics_.end() || it->second.meta.count == 0) {
        control->promise->set_value(
            NotFound("topic '" + control->topic + "' has no events"));
      } else {
        trims_.push_back({control->topic, true, it->second.meta.last_sequence,
                          control->promise,
                          control->kind == ControlOp::kPurgeTopic});
      }
    }
  }
  appended_.fetch_add(appended, std::memory_order_relaxed);
  // A burst's outcomes need not stay allocated.
  if (outcomes_.capacity() > kKeptOutcomes) {
    outcomes_ = {};
    done_outcomes_ = {};
  }
}

// Doubles the map (up to max_map_bytes). Readers are held off meanwhile:
// LMDB resizes only with no transaction active in the process.
bool LmdbStore::GrowMap() {
  uint64_t max = RoundToPage(options_.max_map_bytes);
  if (map_size_ >= max) return false;
  uint64_t grown = std::min(map_size_ * 2, max);
  std::unique_lock<std::shared_mutex> lock(env_mu_);
  int rc = mdb_env_set_mapsize(env_, grown);
  if (rc != 0) {
    EM_LOG(kError, "store", LmdbStatus(rc, "grow the map").ToString());
    return false;
  }
  map_size_ = grown;
  map_bytes_ = grown;
  EM_LOG(kInfo, "store", "map of '" << path_ << "' grew to " << grown);
  return true;
}

void LmdbStore::PruneDedup(int64_t now) {
  dedup_.Expire(now - std::chrono::nanoseconds(options_.dedup_window).count());
}

// ===========================================================================
// Retention and DeleteTopic

void LmdbStore::ScheduleRetention(int64_t now_mono) {
  next_retention_ =
      now_mono + std::chrono::nanoseconds(options_.retention_interval).count();
  for (auto& [name, topic] : topics_) {
    if (!RuleLimits(topic.rule) || topic.trim_queued || topic.meta.count == 0) {
      continue;
    }
    topic.trim_queued = true;
    trims_.push_back({name, false, 0, nullptr});
  }
}

// Count and byte limits are checked after every group, so a topic does not
// overshoot them by more than one retention interval's worth.
void LmdbStore::ScheduleTrimIfOver(TopicState& topic) {
  if (!RuleLimits(topic.rule) || topic.trim_queued) return;
  const RetentionRule& rule = *topic.rule;
  bool over = (rule.max_events > 0 && topic.meta.count > rule.max_events) ||
              (rule.max_bytes > 0 && topic.meta.bytes > rule.max_bytes);
  if (!over) return;
  topic.trim_queued = true;
  trims_.push_back({topic.name, false, 0, nullptr});
}

// Runs one small transaction of pending removals; on a full map it grows
// the map or retries with fewer removals.
void LmdbStore::RunTrimChunk() {
  size_t chunk = kTrimChunk;
  for (;;) {
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc != 0) {
      FailTrims(LmdbStatus(rc, "begin removing old records"));
      return;
    }
    Undo undo;
    size_t finished_jobs = 0;
    std::vector<std::string> emptied;  // deleted topics to forget
    rc = ApplyTrims(txn, chunk, &finished_jobs, &emptied, &undo);
    if (rc == 0) {
      rc = CommitTxn(txn, false);
    } else {
      mdb_txn_abort(txn);
    }
    if (rc == 0) {
      CompleteTrims(finished_jobs, emptied);
      if (trims_.empty() && removed_records_) {
        ReleaseFreedPages();
        removed_records_ = false;
      }
      return;
    }
    RollBack(undo);
    if (rc == MDB_MAP_FULL && GrowMap()) continue;
    // At the map's limit a smaller transaction may still fit.
    if (rc == MDB_MAP_FULL && chunk > 1) {
      chunk = std::max<size_t>(1, chunk / 8);
      continue;
    }
    FailTrims(LmdbStatus(rc, "remove old records from '" + path_ + "'"));
    return;
  }
}

// LMDB hands out the pages a transaction freed only from the second
// transaction after it on. Once removals finish, one small commit makes
// their space available to the next append group, which matters when
// the map is at its limit and an operator just freed space.
void LmdbStore::ReleaseFreedPages() {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
  if (rc == 0) {
    rc = WriteCounters(txn);
    if (rc == 0) {
      rc = CommitTxn(txn, false);
    } else {
      mdb_txn_abort(txn);
    }
  }
  if (rc != 0) {
    EM_LOG(kDebug, "store",
           LmdbStatus(rc, "commit after removing records").ToString());
  }
}

// Works through the pending jobs in order, removing at most `budget`
// records. Counts the jobs it finished and names the topics it deleted.
int LmdbStore::ApplyTrims(MDB_txn* txn, size_t budget, size_t* finished_jobs,
                          std::vector<std::string>* emptied, Undo* undo) {
  // Without this a failed removal would roll the counters back to zero.
  BeginUndo(undo);
  int64_t now = WallNanos();
  int rc = 0;
  while (rc == 0 && budget > 0 && *finished_jobs < trims_.size()) {
    TrimJob& job = trims_[*finished_jobs];
    auto it = topics_.find(job.topic);
    bool finished = true;
    if (it != topics_.end()) {
      rc = TrimTopic(txn, it->second, job, now, &budget, &finished, undo);
    }
    if (!finished) break;
    if (rc == 0 && it != topics_.end() && job.delete_topic && !job.keep_topic &&
        it->second.meta.count == 0 &&
        it->second.meta.last_sequence == job.through_sequence) {
      MDB_val key = ToVal(job.topic);
      rc = mdb_del(txn, topics_db_, &key, nullptr);
      if (rc == 0) emptied->push_back(job.topic);
    }
    ++*finished_jobs;
  }
  // Emptied topics are gone from the database; do not write them back.
  std::erase_if(touched_, [&](TopicState* t) {
    return std::find(emptied->begin(), emptied->end(), t->name) !=
           emptied->end();
  });
  if (rc == 0) rc = WriteTouchedTopics(txn);
  return rc;
}

// After the commit: forgets deleted topics and the dedup entries of their
// records, and completes finished jobs.
void LmdbStore::CompleteTrims(size_t finished_jobs,
                              const std::vector<std::string>& emptied) {
  for (uint64_t position : forgotten_positions_) dedup_.Forget(position);
  forgotten_positions_.clear();
  for (const std::string& name : emptied) {
    auto it = topics_.find(name);
    if (it == topics_.end()) continue;
    topics_.erase(it);
    topic_cache_.fill(nullptr);
  }
  touched_.clear();
  for (size_t i = 0; i < finished_jobs; ++i) {
    TrimJob& job = trims_.front();
    auto it = topics_.find(job.topic);
    if (!job.delete_topic && it != topics_.end()) {
      it->second.trim_queued = false;
    }
    if (job.promise) job.promise->set_value(Status());
    trims_.pop_front();
  }
}

// Removes `topic`'s oldest records while `job` says so, spending at most
// `*budget` removals. `*finished` is false when the budget ran out first.
int LmdbStore::TrimTopic(MDB_txn* txn, TopicState& topic, const TrimJob& job,
                         int64_t now, size_t* budget, bool* finished,
                         Undo* undo) {
  const RetentionRule* rule = job.delete_topic ? nullptr : topic.rule;
  int64_t max_age = rule ? std::chrono::nanoseconds(rule->max_age).count() : 0;
  *finished = true;
  if (topic.meta.count == 0) return 0;
  uint64_t first_before = topic.meta.first_sequence;
  uint64_t first_position = 0;
  {
    TopicCursor walk(txn, log_db_, seq_db_, topic.meta.id, topic.name);
    int rc = walk.Seek(first_before);
    for (;;) {
      if (rc != 0) return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
      const LogRecordView& view = walk.record();
      if (view.sequence != topic.meta.first_sequence) return MDB_CORRUPTED;
      first_position = walk.position();
      bool remove =
          job.delete_topic ? view.sequence <= job.through_sequence
          : rule == nullptr
              ? false
              : (rule->max_events > 0 && topic.meta.count > rule->max_events) ||
                    (rule->max_bytes > 0 &&
                     topic.meta.bytes > rule->max_bytes) ||
                    (max_age > 0 && view.stored_at < now - max_age);
      if (!remove) break;
      if (*budget == 0) {
        *finished = false;
        break;
      }

      SaveTopic(topic, undo);
      uint64_t size = walk.record_size();
      uint64_t sequence = view.sequence;
      // A deleted topic's events are no longer duplicates of anything;
      // those removed by retention still are, within the window.
      if (job.delete_topic) forgotten_positions_.push_back(first_position);
      rc = walk.DeleteCurrent();
      if (rc != 0) return rc;
      removed_records_ = true;
      --topic.meta.count;
      topic.meta.bytes -= std::min(topic.meta.bytes, size);
      topic.meta.first_sequence = topic.meta.count == 0 ? 0 : sequence + 1;
      --*budget;
      if (topic.meta.count == 0) break;
      rc = walk.Next();
    }
  }
  return ReindexTrimmed(txn, topic, first_before, first_position);
}

// After records from `first_before` on were removed: drops their index
// entries and indexes the topic's new first record (at `first_position`),
// so every record still has an entry at or before it.
int LmdbStore::ReindexTrimmed(MDB_txn* txn, TopicState& topic,
                              uint64_t first_before, uint64_t first_position) {
  const TopicMeta& meta = topic.meta;
  if (meta.count > 0 && meta.first_sequence == first_before) return 0;
  uint64_t end = meta.count == 0 ? UINT64_MAX : meta.first_sequence;
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn, seq_db_, &cursor);
  if (rc != 0) return rc;
  CursorCloser closer(cursor);
  char key_bytes[kSeqKeySize];
  for (;;) {
    WriteSeqKey(meta.id, first_before, key_bytes);
    MDB_val key{kSeqKeySize, key_bytes}, value;
    rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND) break;
    if (rc != 0) return rc;
    const char* found = static_cast<char*>(key.mv_data);
    if (key.mv_size != kSeqKeySize || SeqKeyTopic(found) != meta.id ||
        SeqKeySequence(found) >= end) {
      break;
    }
    rc = mdb_cursor_del(cursor, 0);
    if (rc != 0) return rc;
  }
  if (meta.count == 0) {
    topic.index_sequence = 0;
    topic.index_position = 0;
    return 0;
  }
  WriteSeqKey(meta.id, meta.first_sequence, key_bytes);
  char position_bytes[8];
  PutFixed<uint64_t>(first_position, position_bytes);
  MDB_val key{kSeqKeySize, key_bytes}, value{8, position_bytes};
  rc = mdb_put(txn, seq_db_, &key, &value, 0);
  if (rc != 0) return rc;
  if (topic.index_sequence < meta.first_sequence) {
    topic.index_sequence = meta.first_sequence;
    topic.index_position = first_position;
  }
  return 0;
}

// Gives up on every pending removal: DeleteTopic callers get `status`,
// retention tries again at its next interval.
void LmdbStore::FailTrims(const Status& status) {
  EM_LOG(kWarn, "store", status.ToString());
  for (TrimJob& job : trims_) {
    auto it = topics_.find(job.topic);
    if (!job.delete_topic && it != topics_.end()) {
      it->second.trim_queued = false;
    }
    if (job.promise) job.promise->set_value(status);
  }
  trims_.clear();
}

// ===========================================================================
// Reads

// The events of one read, a few dozen to an allocation: each record
// shares its chunk through an aliasing pointer, so reading an event costs
// no allocation beyond its own strings. A chunk lives until the last of
// its events is released.
class LmdbStore::EventChunks {
 public:
  Event* Next() {
    if (chunk_ == nullptr || chunk_->size() == kEventsPerChunk) {
      chunk_ = std::make_shared<std::vector<Event>>();
      chunk_->reserve(kEventsPerChunk);  // never reallocated: see above
    }
    return &chunk_->emplace_back();
  }
  // The event Next() returned last, shared.
  EventPtr Last() const { return EventPtr(chunk_, &chunk_->back()); }
  void DropLast() { chunk_->pop_back(); }

 private:
  static constexpr size_t kEventsPerChunk = 32;
  std::shared_ptr<std::vector<Event>> chunk_;
};

// Decodes the record at `position` into the next event of `chunks` and
// appends it to `out`.
Status LmdbStore::DecodeRecord(const LogRecordView& view, uint64_t position,
                               EventChunks* chunks,
                               std::vector<LogRecord>* out) {
  Event* event = chunks->Next();
  Status decoded = internal::DecodeBinaryInto(view.encoding, event);
  if (!decoded.ok()) {
    chunks->DropLast();
    return DataLoss("log record at position " + std::to_string(position) +
                    " of '" + path_ +
                    "' cannot be decoded: " + decoded.message());
  }
  if (event->topic != view.topic) event->topic.assign(view.topic);
  event->sequence = view.sequence;
  event->stored_at_nanos = view.stored_at;
  out->push_back(LogRecord{position, chunks->Last()});
  return Status::Ok();
}

// The position the next append gets, as of `txn`'s snapshot.
Result<uint64_t> LmdbStore::NextPositionIn(MDB_txn* txn) {
  MDB_val key = ToVal(kNextPositionKey), value;
  int rc = mdb_get(txn, meta_db_, &key, &value);
  if (rc == MDB_NOTFOUND) return uint64_t{1};
  if (rc != 0) return LmdbStatus(rc, "read the next position");
  if (value.mv_size != 8)
    return DataLoss("the next-position record is damaged");
  return GetFixed<uint64_t>(static_cast<char*>(value.mv_data));
}

// Binary search over positions: stored times never decrease along the log.
// Positions may have gaps, so each probe lands on the first record at or
// after the probed position.
Result<uint64_t> LmdbStore::PositionAtTimeIn(MDB_txn* txn, int64_t unix_nanos) {
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn, log_db_, &cursor);
  if (rc != 0) return LmdbStatus(rc, "open a cursor");
  CursorCloser closer(cursor);
  MDB_val key, value;
  if (mdb_cursor_get(cursor, &key, &value, MDB_LAST) != 0) {
    return NextPositionIn(txn);
  }
  uint64_t hi = GetBigEndian64(static_cast<char*>(key.mv_data)) + 1;
  mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
  uint64_t lo = GetBigEndian64(static_cast<char*>(key.mv_data));
  std::optional<uint64_t> best;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    char probe[8];
    PutBigEndian64(mid, probe);
    key = MDB_val{8, probe};
    rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
    if (rc != 0) return LmdbStatus(rc, "search the log by time");
    uint64_t found = GetBigEndian64(static_cast<char*>(key.mv_data));
    LogRecordView view;
    if (!ParseLogRecord(ToView(value), &view)) {
      return DataLoss("log record at position " + std::to_string(found) +
                      " is damaged");
    }
    if (found >= hi) {
      hi = mid;
    } else if (view.stored_at >= unix_nanos) {
      best = found;
      hi = mid;
    } else {
      lo = found + 1;
    }
  }
  if (best) return *best;
  return NextPositionIn(txn);
}

Status LmdbStore::Read(uint64_t from_position, std::string_view pattern,
                       size_t max_records, size_t max_scan,
                       std::vector<LogRecord>* out, uint64_t* next_position) {
  EM_RETURN_IF_ERROR(ValidatePattern(pattern));
  PatternCache matcher(pattern);
  ReadTxn txn(*this);
  EM_RETURN_IF_ERROR(txn.status());
  EM_ASSIGN_OR_RETURN(uint64_t end, NextPositionIn(txn.get()));
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), log_db_, &cursor);
  if (rc != 0) return LmdbStatus(rc, "open a cursor");
  CursorCloser closer(cursor);

  std::string start = PositionKey(std::max<uint64_t>(from_position, 1));
  MDB_val key = ToVal(start), value;
  uint64_t next = std::max<uint64_t>(from_position, 1);
  size_t added = 0;
  size_t scanned = 0;
  EventChunks chunks;
  uintptr_t page = 0;
  for (rc = mdb_cursor_get(cursor, &key, &value, MDB_SET_RANGE);
       rc == 0 && added < max_records && scanned < max_scan;
       rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
    PrefetchPageOf(value.mv_data, &page);
    uint64_t position = GetBigEndian64(static_cast<char*>(key.mv_data));
    LogRecordView view;
    if (!ParseLogRecord(ToView(value), &view)) {
      return DataLoss("log record at position " + std::to_string(position) +
                      " of '" + path_ + "' is damaged");
    }
    next = position + 1;
    ++scanned;
    if (!matcher.Matches(view.topic)) continue;
    EM_RETURN_IF_ERROR(DecodeRecord(view, position, &chunks, out));
    ++added;
  }
  if (rc == MDB_NOTFOUND)
    next = std::max(next, end);  // read to the end
  else if (rc != 0)
    return LmdbStatus(rc, "read the log");
  *next_position = next;
  return Status();
}

Status LmdbStore::ReadTopic(std::string_view topic, uint64_t from_sequence,
                            size_t max_records, std::vector<LogRecord>* out) {
  ReadTxn txn(*this);
  EM_RETURN_IF_ERROR(txn.status());
  MDB_val key = ToVal(topic), value;
  int rc = mdb_get(txn.get(), topics_db_, &key, &value);
  if (rc == MDB_NOTFOUND) return Status();
  if (rc != 0) return LmdbStatus(rc, "read topic");
  TopicMeta meta;
  if (!ParseTopicMeta(ToView(value), &meta)) {
    return DataLoss("topic record '" + std::string(topic) + "' is damaged");
  }
  if (meta.count == 0 || from_sequence > meta.last_sequence ||
      max_records == 0) {
    return Status();
  }
  TopicCursor walk(txn.get(), log_db_, seq_db_, meta.id, topic);
  rc = walk.Seek(std::max<uint64_t>(from_sequence, 1));
  EventChunks chunks;
  for (size_t added = 0; rc == 0;) {
    EM_RETURN_IF_ERROR(
        DecodeRecord(walk.record(), walk.position(), &chunks, out));
    if (++added == max_records ||
        walk.record().sequence >= meta.last_sequence) {
      return Status();
    }
    rc = walk.Next();
  }
  if (rc != MDB_NOTFOUND && rc != MDB_CORRUPTED) {
    return LmdbStatus(rc, "read topic '" + std::string(topic) + "'");
  }
  return DataLoss("topic '" + std::string(topic) + "' of '" + path_ +
                  "' is missing records its index or metadata name");
}

Result<uint64_t> LmdbStore::PositionOfSequence(std::string_view topic,
                                               uint64_t sequence) {
  ReadTxn txn(*this);
  EM_RETURN_IF_ERROR(txn.status());
  Status not_found = NotFound("topic '" + std::string(topic) +
                              "' has no event with sequence " +
                              std::to_string(sequence) + " or later");
  MDB_val key = ToVal(topic), value;
  int rc = mdb_get(txn.get(), topics_db_, &key, &value);
  if (rc == MDB_NOTFOUND) return not_found;
  if (rc != 0) return LmdbStatus(rc, "read topic");
  TopicMeta meta;
  if (!ParseTopicMeta(ToView(value), &meta)) {
    return DataLoss("topic record '" + std::string(topic) + "' is damaged");
  }
  if (meta.count == 0 || sequence > meta.last_sequence) return not_found;
  TopicCursor walk(txn.get(), log_db_, seq_db_, meta.id, topic);
  rc = walk.Seek(std::max<uint64_t>(sequence, 1));
  if (rc == 0) return walk.position();
  if (rc != MDB_NOTFOUND && rc != MDB_CORRUPTED) {
    return LmdbStatus(rc, "read the sequence index");
  }
  return DataLoss("topic '" + std::string(topic) + "' of '" + path_ +
                  "' is missing records its index or metadata name");
}

Result<uint64_t> LmdbStore::PositionAtTime(int64_t unix_nanos) {
  ReadTxn txn(*this);
  EM_RETURN_IF_ERROR(txn.status());
  return PositionAtTimeIn(txn.get(), unix_nanos);
}

Result<std::vector<TopicInfo>> LmdbStore::Topics() {
  ReadTxn txn(*this);
  EM_RETURN_IF_ERROR(txn.status());
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), topics_db_, &cursor);
  if (rc != 0) return LmdbStatus(rc, "open a cursor");
  CursorCloser closer(cursor);
  std::vector<TopicInfo> out;
  MDB_val key, value;
  for (rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
    TopicMeta meta;
    if (!ParseTopicMeta(ToView(value), &meta)) {
      return DataLoss("topic record '" + std::string(ToView(key)) +
                      "' is damaged");
    }
    out.push_back({std::string(ToView(key)), meta.first_sequence,
                   meta.last_sequence, meta.count, meta.bytes});
  }
  return out;
}

Result<std::string> LmdbStore::GetState(std::string_view key_bytes) {
  ReadTxn txn(*this);
  EM_RETURN_IF_ERROR(txn.status());
  if (key_bytes.empty() || key_bytes.size() > max_key_size_) {
    return NotFound("no state record '" + std::string(key_bytes) + "'");
  }
  MDB_val key = ToVal(key_bytes), value;
  int rc = mdb_get(txn.get(), state_db_, &key, &value);
  if (rc == MDB_NOTFOUND) {
    return NotFound("no state record '" + std::string(key_bytes) + "'");
  }
  if (rc != 0) return LmdbStatus(rc, "read state record");
  return std::string(ToView(value));
}

Result<std::vector<std::pair<std::string, std::string>>> LmdbStore::ListState(
    std::string_view prefix) {
  ReadTxn txn(*this);
  EM_RETURN_IF_ERROR(txn.status());
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), state_db_, &cursor);
  if (rc != 0) return LmdbStatus(rc, "open a cursor");
  CursorCloser closer(cursor);
  std::vector<std::pair<std::string, std::string>> out;
  MDB_val key = ToVal(prefix), value;
  for (rc = mdb_cursor_get(cursor, &key, &value,
                           prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
       rc == 0; rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
    std::string_view k = ToView(key);
    if (k.substr(0, prefix.size()) != prefix) break;
    out.emplace_back(std::string(k), std::string(ToView(value)));
  }
  return out;
}

// ===========================================================================
// Control

Status LmdbStore::DeleteTopic(std::string_view topic) {
  if (OnWriterThread()) {
    return FailedPrecondition(
        "DeleteTopic cannot be called from an append's done callback");
  }
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  ControlOp op{ControlOp::kDeleteTopic, std::string(topic), promise};
  Enqueue(Op{Durability::kNone, std::move(op)}, 0);
  return future.get();
}

Status LmdbStore::PurgeTopic(std::string_view topic) {
  if (OnWriterThread()) {
    return FailedPrecondition(
        "PurgeTopic cannot be called from an append's done callback");
  }
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  ControlOp op{ControlOp::kPurgeTopic, std::string(topic), promise};
  Enqueue(Op{Durability::kNone, std::move(op)}, 0);
  return future.get();
}

Status LmdbStore::Flush() {
  if (OnWriterThread()) {
    return FailedPrecondition(
        "Flush cannot be called from an append's done callback");
  }
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  Enqueue(Op{Durability::kSync, ControlOp{ControlOp::kFlush, "", promise}}, 0);
  return future.get();
}

StoreStats LmdbStore::Stats() {
  StoreStats stats;
  stats.appended = appended_.load(std::memory_order_relaxed);
  stats.duplicates = duplicates_.load(std::memory_order_relaxed);
  stats.commits = commits_.load(std::memory_order_relaxed);
  stats.syncs = syncs_.load(std::memory_order_relaxed);
  stats.map_bytes = map_bytes_.load(std::memory_order_relaxed);
  stats.next_position = next_position_seen_.load(std::memory_order_relaxed);
  stats.first_position = stats.next_position;
  ReadTxn txn(*this);
  if (!txn.status().ok()) return stats;
  MDB_envinfo info;
  MDB_stat stat;
  mdb_env_info(env_, &info);
  mdb_env_stat(env_, &stat);
  stats.bytes_used = (info.me_last_pgno + 1) * uint64_t{stat.ms_psize};
  MDB_cursor* cursor;
  if (mdb_cursor_open(txn.get(), log_db_, &cursor) == 0) {
    MDB_val key, value;
    if (mdb_cursor_get(cursor, &key, &value, MDB_FIRST) == 0) {
      stats.first_position = GetBigEndian64(static_cast<char*>(key.mv_data));
    }
    mdb_cursor_close(cursor);
  }
  return stats;
}

Status LmdbStore::Close() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (closed_ && !writer_.joinable() && env_ == nullptr) return Status();
    closed_ = true;
    writer_cv_.notify_one();
    space_cv_.notify_all();
  }
  if (writer_.joinable()) {
    if (OnWriterThread()) {
      return FailedPrecondition(
          "Close cannot be called from an append's done callback");
    }
    writer_.join();
  }
  retired_.clear();
  Status status;
  std::unique_lock<std::shared_mutex> lock(env_mu_);
  if (env_ != nullptr) {
    int rc = mdb_env_sync(env_, 1);
    if (rc != 0) status = LmdbStatus(rc, "flush store '" + path_ + "'");
    mdb_env_close(env_);
    env_ = nullptr;
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);  // releases the flock
    lock_fd_ = -1;
  }
  return status;
}

}  // namespace

Result<std::unique_ptr<Store>> OpenLmdbStore(const std::string& path,
                                             const StoreOptions& options) {
  auto store = std::make_unique<LmdbStore>(path, options);
  Status status = store->Open();
  if (!status.ok()) {
    store->Close().IgnoreError();
    return status;
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace eventmesh
