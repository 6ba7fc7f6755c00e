// A small metrics registry: counters, gauges and fixed-bucket histograms,
// rendered in the Prometheus text exposition format (version 0.0.4).
//
//   metrics::Registry registry;
//   auto* published = registry.AddCounter(
//       "eventmesh_http_requests_total", "HTTP requests handled",
//       {{"method", "POST"}});
//   published->Inc();
//   std::string text = registry.Render();
//
// Thread-safety: Inc/Add/Set/Observe are lock-free and may be called from
// any thread. Adding metrics and collectors and Render() take a mutex and
// may also be called from any thread. Metrics live as long as the registry;
// the pointers it hands out stay valid until it is destroyed.

#ifndef EVENTMESH_SRC_UTIL_METRICS_H_
#define EVENTMESH_SRC_UTIL_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eventmesh::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Counts observations into buckets with fixed upper bounds (plus +Inf).
class Histogram {
 public:
  // `bounds` must be increasing; an empty list keeps only +Inf.
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    uint64_t count = 0;
    double sum = 0;
  };
  Snapshot Take() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, from 50 microseconds to 10 seconds.
std::vector<double> LatencyBuckets();

// Receives samples from collectors at render time: values that are cheaper
// to read when asked (store size, group lag) than to keep up to date.
class SampleWriter {
 public:
  virtual ~SampleWriter() = default;
  virtual void Counter(std::string_view name, std::string_view help,
                       const Labels& labels, double value) = 0;
  virtual void Gauge(std::string_view name, std::string_view help,
                     const Labels& labels, double value) = 0;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each returns a metric owned by the registry. Adding the same name and
  // labels twice returns the first one. A name must keep one type; mixing
  // types under a name is a broken invariant (Fatal).
  metrics::Counter* AddCounter(std::string name, std::string help,
                               Labels labels = {});
  metrics::Gauge* AddGauge(std::string name, std::string help,
                           Labels labels = {});
  Histogram* AddHistogram(std::string name, std::string help,
                          std::vector<double> bounds, Labels labels = {});

  // A function called on every Render() (under the registry's mutex, so it
  // must not call back into the registry). Returns an id for removal.
  using Collector = std::function<void(SampleWriter*)>;
  uint64_t AddCollector(Collector collector);
  void RemoveCollector(uint64_t id);

  // Every metric and collected sample in the text format, families sorted
  // by name, one HELP and TYPE line each.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Entry {
    Type type;
    Labels labels;
    std::unique_ptr<metrics::Counter> counter;
    std::unique_ptr<metrics::Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    std::string help;
    Type type;
    std::vector<std::unique_ptr<Entry>> entries;
  };

  Entry* FindOrAdd(std::string name, std::string help, Type type, Labels labels,
                   bool* added);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
  std::map<uint64_t, Collector> collectors_;
  uint64_t next_collector_id_ = 1;
};

// Text-format helpers, exposed for tests and other renderers.
std::string EscapeLabelValue(std::string_view value);
std::string FormatLabels(const Labels& labels);
std::string FormatValue(double value);

}  // namespace eventmesh::metrics

#endif  // EVENTMESH_SRC_UTIL_METRICS_H_
