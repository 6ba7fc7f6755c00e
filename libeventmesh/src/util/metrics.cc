#include "util/metrics.h"

#include <cmath>
#include <cstdio>

#include "eventmesh/status.h"

namespace eventmesh::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i + 1 < bounds_.size(); ++i) {
    if (!(bounds_[i] < bounds_[i + 1])) {
      Fatal("metrics: histogram bounds must increase");
    }
  }
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  // Few buckets: a linear scan beats a binary search's branches.
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> LatencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatLabels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].first;
    out += "=\"";
    out += EscapeLabelValue(labels[i].second);
    out += '"';
  }
  out += '}';
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Integers (counts, bytes) print exactly; others with enough digits.
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", value);
  } else {
    std::snprintf(buf, sizeof buf, "%.9g", value);
  }
  return buf;
}

namespace {

const char* TypeName(int type) {
  switch (type) {
    case 0:
      return "counter";
    case 1:
      return "gauge";
    default:
      return "histogram";
  }
}

// Families as text lines, gathered before rendering so that registry
// metrics and collected samples of one name share HELP and TYPE.
struct TextFamily {
  std::string help;
  std::string type;
  std::vector<std::string> lines;
};
using TextFamilies = std::map<std::string, TextFamily, std::less<>>;

void AddLine(TextFamilies* families, std::string_view name,
             std::string_view help, const char* type, std::string line) {
  auto it = families->find(name);
  if (it == families->end()) {
    it = families->emplace(std::string(name), TextFamily{}).first;
    it->second.help = std::string(help);
    it->second.type = type;
  }
  it->second.lines.push_back(std::move(line));
}

class TextSampleWriter : public SampleWriter {
 public:
  explicit TextSampleWriter(TextFamilies* families) : families_(families) {}
  void Counter(std::string_view name, std::string_view help,
               const Labels& labels, double value) override {
    Add(name, help, "counter", labels, value);
  }
  void Gauge(std::string_view name, std::string_view help, const Labels& labels,
             double value) override {
    Add(name, help, "gauge", labels, value);
  }

 private:
  void Add(std::string_view name, std::string_view help, const char* type,
           const Labels& labels, double value) {
    std::string line(name);
    line += FormatLabels(labels) + " " + FormatValue(value);
    AddLine(families_, name, help, type, std::move(line));
  }
  TextFamilies* families_;
};

void RenderHistogram(const std::string& name, const Labels& labels,
                     const Histogram::Snapshot& s,
                     std::vector<std::string>* out) {
  for (size_t i = 0; i <= s.bounds.size(); ++i) {
    Labels with_le = labels;
    with_le.emplace_back(
        "le", i < s.bounds.size() ? FormatValue(s.bounds[i]) : "+Inf");
    out->push_back(name + "_bucket" + FormatLabels(with_le) + " " +
                   FormatValue(static_cast<double>(s.cumulative[i])));
  }
  out->push_back(name + "_sum" + FormatLabels(labels) + " " +
                 FormatValue(s.sum));
  out->push_back(name + "_count" + FormatLabels(labels) + " " +
                 FormatValue(static_cast<double>(s.count)));
}

}  // namespace

Registry::Entry* Registry::FindOrAdd(std::string name, std::string help,
                                     Type type, Labels labels, bool* added) {
  Family& family = families_[name];
  if (family.entries.empty()) {
    family.help = std::move(help);
    family.type = type;
  } else if (family.type != type) {
    Fatal("metrics: '" + name + "' registered with two types");
  }
  for (auto& entry : family.entries) {
    if (entry->labels == labels) {
      *added = false;
      return entry.get();
    }
  }
  family.entries.push_back(std::make_unique<Entry>());
  Entry* entry = family.entries.back().get();
  entry->type = type;
  entry->labels = std::move(labels);
  *added = true;
  return entry;
}

Counter* Registry::AddCounter(std::string name, std::string help,
                              Labels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  bool added;
  Entry* e = FindOrAdd(std::move(name), std::move(help), Type::kCounter,
                       std::move(labels), &added);
  if (added) e->counter = std::make_unique<metrics::Counter>();
  return e->counter.get();
}

Gauge* Registry::AddGauge(std::string name, std::string help, Labels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  bool added;
  Entry* e = FindOrAdd(std::move(name), std::move(help), Type::kGauge,
                       std::move(labels), &added);
  if (added) e->gauge = std::make_unique<metrics::Gauge>();
  return e->gauge.get();
}

Histogram* Registry::AddHistogram(std::string name, std::string help,
                                  std::vector<double> bounds, Labels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  bool added;
  Entry* e = FindOrAdd(std::move(name), std::move(help), Type::kHistogram,
                       std::move(labels), &added);
  if (added) e->histogram = std::make_unique<Histogram>(std::move(bounds));
  return e->histogram.get();
}

uint64_t Registry::AddCollector(Collector collector) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = next_collector_id_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void Registry::RemoveCollector(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.erase(id);
}

std::string Registry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  TextFamilies text;
  for (const auto& [name, family] : families_) {
    const char* type = TypeName(static_cast<int>(family.type));
    for (const auto& entry : family.entries) {
      std::vector<std::string> lines;
      if (entry->counter) {
        lines.push_back(
            name + FormatLabels(entry->labels) + " " +
            FormatValue(static_cast<double>(entry->counter->value())));
      } else if (entry->gauge) {
        lines.push_back(
            name + FormatLabels(entry->labels) + " " +
            FormatValue(static_cast<double>(entry->gauge->value())));
      } else {
        RenderHistogram(name, entry->labels, entry->histogram->Take(), &lines);
      }
      for (auto& line : lines) {
        AddLine(&text, name, family.help, type, std::move(line));
      }
    }
  }
  TextSampleWriter writer(&text);
  for (const auto& [id, collector] : collectors_) collector(&writer);

  std::string out;
  for (const auto& [name, family] : text) {
    out += "# HELP " + name + " " + family.help + "\n";
    out += "# TYPE " + name + " " + family.type + "\n";
    for (const auto& line : family.lines) out += line + "\n";
  }
  return out;
}

}  // namespace eventmesh::metrics
