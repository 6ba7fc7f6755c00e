#include "util/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace eventmesh::metrics {
namespace {

bool Contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(Metrics, CountersAndGaugesRender) {
  Registry r;
  Counter* c = r.AddCounter("em_requests_total", "Requests", {{"code", "2xx"}});
  Gauge* g = r.AddGauge("em_open", "Open things");
  c->Inc();
  c->Inc(2);
  g->Set(7);
  g->Add(-2);
  std::string text = r.Render();
  EXPECT_TRUE(Contains(text, "# HELP em_requests_total Requests\n"));
  EXPECT_TRUE(Contains(text, "# TYPE em_requests_total counter\n"));
  EXPECT_TRUE(Contains(text, "em_requests_total{code=\"2xx\"} 3\n"));
  EXPECT_TRUE(Contains(text, "# TYPE em_open gauge\nem_open 5\n"));
}

TEST(Metrics, SameNameAndLabelsReturnTheSameMetric) {
  Registry r;
  Counter* a = r.AddCounter("x_total", "X", {{"k", "v"}});
  Counter* b = r.AddCounter("x_total", "X", {{"k", "v"}});
  Counter* other = r.AddCounter("x_total", "X", {{"k", "w"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, other);
  std::string text = r.Render();
  // One HELP and TYPE for the family, one line per label set.
  EXPECT_EQ(text.find("# TYPE x_total"), text.rfind("# TYPE x_total"));
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Registry r;
  Histogram* h = r.AddHistogram("lat_seconds", "Latency", {0.1, 1});
  h->Observe(0.05);
  h->Observe(0.1);  // on the bound: counts in le="0.1"
  h->Observe(0.5);
  h->Observe(3);
  Histogram::Snapshot s = h->Take();
  EXPECT_EQ(s.count, 4u);
  EXPECT_DOUBLE_EQ(s.sum, 3.65);
  std::string text = r.Render();
  EXPECT_TRUE(Contains(text, "# TYPE lat_seconds histogram\n"));
  EXPECT_TRUE(Contains(text, "lat_seconds_bucket{le=\"0.1\"} 2\n"));
  EXPECT_TRUE(Contains(text, "lat_seconds_bucket{le=\"1\"} 3\n"));
  EXPECT_TRUE(Contains(text, "lat_seconds_bucket{le=\"+Inf\"} 4\n"));
  EXPECT_TRUE(Contains(text, "lat_seconds_count 4\n"));
  EXPECT_TRUE(Contains(text, "lat_seconds_sum 3.65\n"));
}

TEST(Metrics, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(FormatLabels({{"a", "1"}, {"b", "x\"y"}}),
            "{a=\"1\",b=\"x\\\"y\"}");
  EXPECT_EQ(FormatLabels({}), "");
}

TEST(Metrics, CollectorsAddSamplesAtRenderTime) {
  Registry r;
  int value = 1;
  uint64_t id = r.AddCollector([&](SampleWriter* out) {
    out->Gauge("em_lag", "Lag", {{"group", "g1"}}, value);
    out->Counter("em_done_total", "Done", {}, 10);
  });
  EXPECT_TRUE(Contains(r.Render(), "em_lag{group=\"g1\"} 1\n"));
  value = 42;
  std::string text = r.Render();
  EXPECT_TRUE(Contains(text, "em_lag{group=\"g1\"} 42\n"));
  EXPECT_TRUE(
      Contains(text, "# TYPE em_done_total counter\nem_done_total 10\n"));
  r.RemoveCollector(id);
  EXPECT_FALSE(Contains(r.Render(), "em_lag"));
}

TEST(Metrics, IncrementsFromManyThreadsAddUp) {
  Registry r;
  Counter* c = r.AddCounter("n_total", "N");
  Histogram* h = r.AddHistogram("h", "H", LatencyBuckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->Inc();
        h->Observe(0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->value(), 40000u);
  EXPECT_EQ(h->Take().count, 40000u);
}

TEST(Metrics, FormatsValues) {
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
}

}  // namespace
}  // namespace eventmesh::metrics
