// Subscription index: how long finding the subscriptions of one topic
// takes as the number of subscriptions grows from 10 to 1,000,000.
//
// The subscriptions look like a multi-tenant deployment: topics are
// "<tenant>.<domain>.<entity>.<event>", and each tenant holds about ten
// subscriptions, mostly exact, some with '*', one with '>'. The number of
// tenants grows with the number of subscriptions, so a topic matches about
// the same number of subscriptions at every size (half the topics matched
// are made to fit a subscription, half are random); a flat time then shows
// that the index never looks at subscriptions that cannot match.
//
// The peer is a linear scan that calls PatternMatches on every pattern,
// which is what matching costs without an index.

#include <benchmark/benchmark.h>
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "eventmesh/topic.h"
#include "topic/subscription_index.h"

namespace eventmesh {
namespace {

constexpr size_t kSubscriptionsPerTenant = 10;
constexpr size_t kQueryTopics = 4096;

constexpr std::array<std::string_view, 8> kDomains = {
    "orders", "payments", "shipping", "inventory",
    "users",  "billing",  "search",   "audit"};
constexpr std::array<std::string_view, 6> kEntities = {
    "order", "invoice", "parcel", "item", "account", "session"};
constexpr std::array<std::string_view, 6> kEvents = {
    "created", "updated", "deleted", "failed", "retried", "completed"};

struct Workload {
  std::vector<std::string> patterns;
  std::vector<std::string> topics;  // what the benchmark matches, in turn
  SubscriptionIndex index;
  size_t index_bytes = 0;  // heap the index took, by glibc's accounting
};

class NameSource {
 public:
  explicit NameSource(size_t tenants) : tenants_(tenants), rng_(42) {}

  std::string Tenant() { return "t" + std::to_string(Pick(tenants_)); }
  std::string Domain() { return std::string(kDomains[Pick(kDomains.size())]); }
  std::string Entity() {
    return std::string(kEntities[Pick(kEntities.size())]);
  }
  std::string EventName() { return std::string(kEvents[Pick(kEvents.size())]); }

  std::string Topic() {
    return Tenant() + "." + Domain() + "." + Entity() + "." + EventName();
  }

  // A topic `pattern` matches: each '*' and '>' replaced by tokens.
  std::string TopicFitting(std::string_view pattern) {
    std::string topic;
    while (!pattern.empty()) {
      size_t dot = pattern.find('.');
      std::string_view token = pattern.substr(0, dot);
      pattern.remove_prefix(dot == pattern.npos ? pattern.size() : dot + 1);
      if (!topic.empty()) topic += '.';
      if (token == "*") {
        topic += Entity();
      } else if (token == ">") {
        topic += Entity() + "." + EventName();
      } else {
        topic += token;
      }
    }
    return topic;
  }

  // 6 in 10 exact, 3 in 10 with one '*', 1 in 10 ending in '>'.
  std::string Pattern(const std::string& tenant) {
    size_t kind = Pick(10);
    if (kind < 6) {
      return tenant + "." + Domain() + "." + Entity() + "." + EventName();
    }
    if (kind < 8) return tenant + "." + Domain() + ".*." + EventName();
    if (kind < 9) return tenant + ".*." + Entity() + "." + EventName();
    return tenant + "." + Domain() + ".>";
  }

  size_t Pick(size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }

 private:
  size_t tenants_;
  std::mt19937_64 rng_;
};

std::unique_ptr<Workload> BuildWorkload(size_t subscriptions) {
  auto work = std::make_unique<Workload>();
  size_t tenants = std::max<size_t>(1, subscriptions / kSubscriptionsPerTenant);
  NameSource names(tenants);
  work->patterns.reserve(subscriptions);
  for (size_t i = 0; i < subscriptions; ++i) {
    // Tenants fill up in turn, so each holds about the same number.
    std::string tenant = "t" + std::to_string(i % tenants);
    work->patterns.push_back(names.Pattern(tenant));
  }
  size_t heap_before = mallinfo2().uordblks;
  for (size_t i = 0; i < subscriptions; ++i) {
    work->index.Add(work->patterns[i], i);
  }
  work->index_bytes = mallinfo2().uordblks - heap_before;
  // Half the topics are made to fit a subscription, as published topics
  // usually have a subscriber; the other half are random.
  for (size_t i = 0; i < kQueryTopics; ++i) {
    if (i % 2 == 0) {
      work->topics.push_back(names.Topic());
    } else {
      const std::string& pattern = work->patterns[names.Pick(subscriptions)];
      work->topics.push_back(names.TopicFitting(pattern));
    }
  }
  return work;
}

// Built once per size and kept, so repetitions and the peer share it.
const Workload& GetWorkload(size_t subscriptions) {
  static std::map<size_t, std::unique_ptr<Workload>> cache;
  auto& slot = cache[subscriptions];
  if (!slot) slot = BuildWorkload(subscriptions);
  return *slot;
}

// CPU time of the calling thread, which other work on a shared machine
// disturbs less than wall time.
int64_t ThreadCpuNanos() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Both figures are per CPU second, like the benchmark's CPU column.
void SetCounters(benchmark::State& state, const Workload& work, int64_t cpu_ns,
                 size_t ids) {
  double matches = static_cast<double>(state.iterations());
  state.counters["subscriptions"] = static_cast<double>(work.patterns.size());
  state.counters["ns_per_match"] =
      static_cast<double>(cpu_ns) / std::max(matches, 1.0);
  state.counters["matches_per_s"] =
      benchmark::Counter(matches, benchmark::Counter::kIsRate);
  state.counters["ids_per_match"] =
      static_cast<double>(ids) / std::max(matches, 1.0);
}

void BM_TopicIndexMatch(benchmark::State& state) {
  const Workload& work = GetWorkload(static_cast<size_t>(state.range(0)));
  std::vector<uint64_t> out;
  size_t next = 0;
  size_t ids = 0;
  int64_t start = ThreadCpuNanos();
  for (auto _ : state) {
    out.clear();
    work.index.Match(work.topics[next], &out);
    benchmark::DoNotOptimize(out.data());
    ids += out.size();
    next = (next + 1) % work.topics.size();
  }
  SetCounters(state, work, ThreadCpuNanos() - start, ids);
  state.counters["trie_nodes"] = static_cast<double>(work.index.node_count());
  state.counters["bytes_per_sub"] =
      static_cast<double>(work.index_bytes) / work.patterns.size();
}
BENCHMARK(BM_TopicIndexMatch)
    ->RangeMultiplier(10)
    ->Range(10, 1000000)
    ->MinTime(0.3);

// The peer: PatternMatches on every pattern. Stops at 100k, where one
// match already takes milliseconds.
void BM_TopicLinearScanMatch(benchmark::State& state) {
  const Workload& work = GetWorkload(static_cast<size_t>(state.range(0)));
  std::vector<uint64_t> out;
  size_t next = 0;
  size_t ids = 0;
  int64_t start = ThreadCpuNanos();
  for (auto _ : state) {
    out.clear();
    const std::string& topic = work.topics[next];
    for (size_t i = 0; i < work.patterns.size(); ++i) {
      if (PatternMatches(work.patterns[i], topic)) out.push_back(i);
    }
    benchmark::DoNotOptimize(out.data());
    ids += out.size();
    next = (next + 1) % work.topics.size();
  }
  SetCounters(state, work, ThreadCpuNanos() - start, ids);
}
BENCHMARK(BM_TopicLinearScanMatch)
    ->RangeMultiplier(10)
    ->Range(10, 100000)
    ->MinTime(0.3);

// ValidateTopic runs on every publish; an ordinary four-token topic.
void BM_TopicValidate(benchmark::State& state) {
  const std::string topic = "t4711.orders.order.created";
  for (auto _ : state) {
    Status s = ValidateTopic(topic);
    benchmark::DoNotOptimize(s);
  }
  state.counters["validations_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TopicValidate);

}  // namespace
}  // namespace eventmesh
