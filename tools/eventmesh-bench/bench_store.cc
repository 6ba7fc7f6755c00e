// Durable store workloads (docs/benchmarks.md, "Durable store").
//
// StoreAppendSync: publisher threads keep 65,536 single-event appends in
// flight between them on an LMDB store at Durability::kSync; events/s
// acknowledged. Its peer, RawLmdbAppend, writes records of the same size
// straight into LMDB in commits of 10,000 with one fdatasync per commit:
// the disk's ceiling for this record size. Each StoreAppendSync run
// measures the peer right before itself and reports its own rate as a
// fraction of it.
//
// StoreReplay: reads 10 million stored events from the earliest position
// with Store::Read; its peer RawLmdbScan walks the same log database with
// a bare LMDB cursor.

#include <benchmark/benchmark.h>
#include <lmdb.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eventmesh/mesh.h"
#include "eventmesh/store.h"
#include "publish_window.h"
#include "store/dedup_table.h"

namespace eventmesh {
namespace {

using Clock = std::chrono::steady_clock;

// A fresh directory under $TMPDIR, removed with its contents afterwards.
class BenchDir {
 public:
  BenchDir(const BenchDir&) = delete;
  BenchDir& operator=(const BenchDir&) = delete;
  BenchDir() {
    std::string templ =
        (std::filesystem::temp_directory_path() / "em-bench-store-XXXXXX")
            .string();
    if (mkdtemp(templ.data()) == nullptr) std::abort();
    path_ = templ;
  }
  ~BenchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An event whose binary encoding is about `size` bytes.
std::shared_ptr<Event> MakeEvent(const std::string& topic, uint64_t id,
                                 size_t size) {
  auto event = std::make_shared<Event>();
  event->id = std::to_string(id);
  event->source = "/bench";
  event->type = "bench.event";
  event->topic = topic;
  size_t overhead = EncodeBinary(*event).size();
  event->data.assign(size > overhead ? size - overhead : 1, 'x');
  return event;
}

// --- The raw LMDB peer ----------------------------------------------------

// Records/s of plain LMDB appends of `size`-byte values, 10,000 per commit,
// one fdatasync per commit.
double RawLmdbAppendRate(size_t size, size_t records) {
  BenchDir dir;
  MDB_env* env;
  mdb_env_create(&env);
  mdb_env_set_mapsize(env, 8ull << 30);
  if (mdb_env_open(env, dir.path().c_str(), MDB_NOSYNC, 0644) != 0) {
    std::abort();
  }
  MDB_dbi dbi;
  MDB_txn* txn;
  mdb_txn_begin(env, nullptr, 0, &txn);
  mdb_dbi_open(txn, nullptr, 0, &dbi);
  mdb_txn_commit(txn);
  std::string value(size, 'x');
  constexpr size_t kPerCommit = 10000;
  auto start = Clock::now();
  uint64_t key_counter = 0;
  for (size_t done = 0; done < records; done += kPerCommit) {
    mdb_txn_begin(env, nullptr, 0, &txn);
    for (size_t i = 0; i < kPerCommit; ++i) {
      char key_bytes[8];
      uint64_t k = ++key_counter;
      for (int b = 7; b >= 0; --b, k >>= 8) key_bytes[b] = char(k & 0xff);
      MDB_val key{8, key_bytes};
      MDB_val val{value.size(), value.data()};
      if (mdb_put(txn, dbi, &key, &val, MDB_APPEND) != 0) std::abort();
    }
    mdb_txn_commit(txn);
    mdb_env_sync(env, 1);
  }
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  mdb_env_close(env);
  return static_cast<double>(records) / seconds;
}

void BM_RawLmdbAppend(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  size_t records = size <= 128 ? 1000000 : 300000;
  for (auto _ : state) {
    double rate = RawLmdbAppendRate(size, records);
    state.counters["records_per_s"] = rate;
  }
}
BENCHMARK(BM_RawLmdbAppend)
    ->Arg(100)
    ->Arg(1024)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// --- Store appends at sync -------------------------------------------------

// CPU seconds (user and system) used so far by this process's threads
// named `name`, from /proc: the store names its writer thread.
double ThreadCpuSeconds(const std::string& name) {
  double total = 0;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string thread_name;
    std::getline(comm, thread_name);
    if (thread_name != name) continue;
    std::ifstream stat(task.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // Fields after the name in parentheses; utime and stime are the 14th
    // and 15th of the line, in clock ticks.
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::string skipped;
    for (int field = 3; field <= 13; ++field) fields >> skipped;
    unsigned long long utime = 0, stime = 0;
    fields >> utime >> stime;
    total += static_cast<double>(utime + stime) /
             static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return total;
}

// All publishers together keep this many appends in flight.
constexpr int kTotalWindow = 65536;

// One publisher: keeps up to `window` appends in flight.
class Publisher {
 public:
  explicit Publisher(int window) : window_(window) {}

  void Run(Store& store, const std::string& topic, uint64_t first_id,
           size_t count, size_t size) {
    for (size_t i = 0; i < count; ++i) {
      window_.Enter();
      store.Append({MakeEventFast(topic, first_id + i, size)},
                   Durability::kSync,
                   [this](std::vector<AppendOutcome>& outcomes) {
                     if (!outcomes[0].status.ok()) failed_ = true;
                     window_.Leave();
                   });
    }
    window_.Drain();
  }

  bool failed() const { return failed_; }

 private:
  // Like MakeEvent, with the payload size computed once per publisher.
  std::shared_ptr<Event> MakeEventFast(const std::string& topic, uint64_t id,
                                       size_t size) {
    auto event = std::make_shared<Event>();
    event->id = std::to_string(id);
    event->source = "/bench";
    event->type = "bench.event";
    event->topic = topic;
    if (payload_.empty()) {
      size_t overhead = EncodeBinary(*event).size();
      payload_.assign(size > overhead ? size - overhead : 1, 'x');
    }
    event->data = payload_;
    return event;
  }

  bench::PublishWindow window_;
  std::atomic<bool> failed_{false};
  std::string payload_;
};

void BM_StoreAppendSync(benchmark::State& state) {
  size_t size = static_cast<size_t>(state.range(0));
  int publishers = static_cast<int>(state.range(1));
  bool dedup = state.range(2) != 0;
  size_t total = size <= 128 ? 2000000 : 600000;
  if (const char* n = getenv("EVENTMESH_BENCH_STORE_EVENTS")) {
    total = std::strtoull(n, nullptr, 10);
  }
  for (auto _ : state) {
    // The peer runs right before, so both see the same disk and load.
    double raw = RawLmdbAppendRate(size, size <= 128 ? 500000 : 150000);
    BenchDir dir;
    StoreOptions options;
    options.initial_map_bytes = 1ull << 30;
    if (!dedup) options.dedup_window = std::chrono::milliseconds(0);
    auto store = OpenLmdbStore(dir.path(), options);
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      return;
    }
    // Closed below before they go: the store answers on its own thread.
    std::deque<Publisher> pubs;
    for (int p = 0; p < publishers; ++p) {
      pubs.emplace_back(kTotalWindow / publishers);
    }
    auto start = Clock::now();
    double writer_start = ThreadCpuSeconds("em-store-writer");
    std::vector<std::thread> threads;
    for (int p = 0; p < publishers; ++p) {
      threads.emplace_back([&, p] {
        pubs[p].Run(**store, "bench.store." + std::to_string(p),
                    uint64_t(p) << 40, total / publishers, size);
      });
    }
    for (auto& t : threads) t.join();
    double seconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    double writer_cpu = ThreadCpuSeconds("em-store-writer") - writer_start;
    StoreStats stats = (*store)->Stats();
    for (auto& p : pubs) {
      if (p.failed()) state.SkipWithError("an append failed");
    }
    double rate = static_cast<double>(stats.appended) / seconds;
    state.counters["events_per_s"] = rate;
    state.counters["raw_lmdb_per_s"] = raw;
    state.counters["vs_raw_lmdb"] = rate / raw;
    state.counters["events_per_commit"] = static_cast<double>(stats.appended) /
                                          std::max<uint64_t>(1, stats.commits);
    // The writer's CPU per event, and the share of the run it was on a
    // core: the rest it waited, mostly for fdatasync.
    state.counters["writer_cpu_ns_per_event"] =
        writer_cpu * 1e9 /
        static_cast<double>(std::max<uint64_t>(1, stats.appended));
    state.counters["writer_busy"] = writer_cpu / seconds;
    (*store)->Close().IgnoreError();
  }
}
// Arguments: event bytes, publishers, dedup (1, the default, or 0: off).
BENCHMARK(BM_StoreAppendSync)
    ->Args({100, 1, 1})
    ->Args({100, 16, 1})
    ->Args({100, 16, 0})
    ->Args({1024, 1, 1})
    ->Args({1024, 16, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// --- Replay ------------------------------------------------------------------

// Fills `dir` with `count` events of about 100 bytes, quickly: dedup off,
// no flushes, 10,000 events per append.
void FillForReplay(const std::string& dir, size_t count) {
  StoreOptions options;
  options.durability = Durability::kNone;
  options.dedup_window = std::chrono::milliseconds(0);
  options.initial_map_bytes = 4ull << 30;
  auto store = OpenLmdbStore(dir, options);
  if (!store.ok()) std::abort();
  constexpr size_t kBatch = 10000;
  std::atomic<size_t> in_flight{0};
  auto prototype = MakeEvent("bench.replay", 0, 100);
  for (size_t done = 0; done < count; done += kBatch) {
    std::vector<std::shared_ptr<Event>> events;
    events.reserve(kBatch);
    for (size_t i = 0; i < kBatch; ++i) {
      auto event = std::make_shared<Event>(*prototype);
      event->id = std::to_string(done + i);
      events.push_back(std::move(event));
    }
    while (in_flight.load() >= 8) {
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    in_flight.fetch_add(1);
    (*store)->Append(std::move(events), Durability::kNone,
                     [&](std::vector<AppendOutcome>&) { in_flight--; });
  }
  (*store)->Close().IgnoreError();  // finishes every queued append
}

// The replay store, filled on first use. A function-local static, so its
// directory is removed when the benchmark binary exits.
struct ReplayFixture {
  ReplayFixture() {
    if (const char* n = getenv("EVENTMESH_BENCH_REPLAY_EVENTS")) {
      count = std::strtoull(n, nullptr, 10);
    }
    FillForReplay(dir.path(), count);
  }
  BenchDir dir;
  size_t count = 10000000;
};

ReplayFixture& Replay() {
  static ReplayFixture fixture;
  return fixture;
}

void BM_StoreReplay(benchmark::State& state) {
  ReplayFixture& fixture = Replay();
  auto store = OpenLmdbStore(fixture.dir.path(), StoreOptions());
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  size_t delivered = 0;
  for (auto _ : state) {
    uint64_t next = 0;
    const size_t batch = static_cast<size_t>(state.range(0));
    std::vector<LogRecord> records;
    records.reserve(batch);
    for (;;) {
      records.clear();
      Status s = (*store)->Read(next, ">", batch, batch, &records, &next);
      if (!s.ok()) {
        state.SkipWithError(s.ToString().c_str());
        return;
      }
      if (records.empty()) break;
      delivered += records.size();
      benchmark::DoNotOptimize(records.back().event->data.size());
    }
  }
  state.counters["events_per_s"] =
      benchmark::Counter(double(delivered), benchmark::Counter::kIsRate);
  (*store)->Close().IgnoreError();
}
BENCHMARK(BM_StoreReplay)
    ->Arg(10000)
    ->Arg(1000)
    ->Arg(100)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// What an application sees: a durable subscription from the earliest
// position over the same store, acknowledging as its handler returns.
void BM_DurableReplay(benchmark::State& state) {
  ReplayFixture& fixture = Replay();
  MeshOptions options;
  options.durability = Durability::kNone;
  auto mesh = Mesh::Open(fixture.dir.path(), options);
  if (!mesh.ok()) {
    state.SkipWithError(mesh.status().ToString().c_str());
    return;
  }
  static int run = 0;
  std::atomic<uint64_t> delivered{0};
  double seconds = 0;
  for (auto _ : state) {
    delivered.store(0);
    SubscribeOptions sub_options;
    sub_options.durable = "replay-" + std::to_string(++run);
    sub_options.start = StartPosition::Earliest();
    auto start = Clock::now();
    auto sub = (*mesh)->SubscribeBatch(
        ">",
        [&delivered](const std::vector<Delivery>& batch) {
          delivered.fetch_add(batch.size(), std::memory_order_relaxed);
        },
        sub_options);
    if (!sub.ok()) {
      state.SkipWithError(sub.status().ToString().c_str());
      return;
    }
    while (delivered.load(std::memory_order_relaxed) < fixture.count) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    double elapsed =
        std::chrono::duration<double>(Clock::now() - start).count();
    state.SetIterationTime(elapsed);
    seconds += elapsed;
    (*sub)->Unsubscribe().IgnoreError();
  }
  state.counters["events_per_s"] =
      double(fixture.count * state.iterations()) / seconds;
  (*mesh)->Close().IgnoreError();
}

BENCHMARK(BM_DurableReplay)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// The peer: a bare cursor over the same log, touching each value.
void BM_RawLmdbScan(benchmark::State& state) {
  ReplayFixture& fixture = Replay();
  MDB_env* env;
  mdb_env_create(&env);
  mdb_env_set_maxdbs(env, 8);
  if (mdb_env_open(env, fixture.dir.path().c_str(), MDB_RDONLY, 0644) != 0) {
    state.SkipWithError("cannot open the replay store");
    return;
  }
  size_t scanned = 0;
  for (auto _ : state) {
    MDB_txn* txn;
    mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
    MDB_dbi dbi;
    mdb_dbi_open(txn, "log", 0, &dbi);
    MDB_cursor* cursor;
    mdb_cursor_open(txn, dbi, &cursor);
    MDB_val key, value;
    uint64_t sum = 0;
    for (int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)) {
      sum +=
          static_cast<const unsigned char*>(value.mv_data)[value.mv_size - 1];
      ++scanned;
    }
    benchmark::DoNotOptimize(sum);
    mdb_cursor_close(cursor);
    mdb_txn_abort(txn);
  }
  state.counters["events_per_s"] =
      benchmark::Counter(double(scanned), benchmark::Counter::kIsRate);
  mdb_env_close(env);
}
BENCHMARK(BM_RawLmdbScan)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// --- Opening a store ---------------------------------------------------------

// Opening a store rebuilds its dedup index from the events stored within
// the dedup window: here all of `count` events (5 million, or
// EVENTMESH_BENCH_OPEN_EVENTS), stored just before. Each iteration is
// one OpenLmdbStore; closing is not timed.
void BM_StoreOpen(benchmark::State& state) {
  size_t count = 5000000;
  if (const char* n = getenv("EVENTMESH_BENCH_OPEN_EVENTS")) {
    count = std::strtoull(n, nullptr, 10);
  }
  BenchDir dir;
  FillForReplay(dir.path(), count);
  for (auto _ : state) {
    auto store = OpenLmdbStore(dir.path(), StoreOptions());
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      return;
    }
    state.PauseTiming();
    (*store)->Close().IgnoreError();
    store->reset();
    state.ResumeTiming();
  }
  state.counters["events_in_window"] = static_cast<double>(count);
}
BENCHMARK(BM_StoreOpen)
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// --- The dedup table alone
// ------------------------------------------------------

// Two million inserts of random hashes into a new table, each slot loaded
// eight inserts ahead as the stores do, so the table grows through every
// doubling. Run it with --benchmark_repetitions: the first repetition
// works on memory new to the process, the later ones on memory the kernel
// has handed out before.
void BM_DedupTableInsert(benchmark::State& state) {
  constexpr size_t kInserts = 2000000;
  constexpr size_t kAhead = 8;
  std::vector<uint64_t> hashes(kInserts);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (uint64_t& h : hashes) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    h = x | 1;
  }
  for (auto _ : state) {
    store_internal::DedupTable table;
    for (size_t i = 0; i < kInserts; ++i) {
      if (i + kAhead < kInserts) table.Prefetch(hashes[i + kAhead]);
      auto* slot = table.Slot(hashes[i]);
      if (table.Found(*slot) == nullptr) {
        table.Put(slot, hashes[i], i + 1, i + 1, 0);
      }
    }
    benchmark::DoNotOptimize(table.size());
  }
  state.counters["ns_per_insert"] = benchmark::Counter(
      static_cast<double>(kInserts) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_DedupTableInsert)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace eventmesh
