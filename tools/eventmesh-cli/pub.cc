// eventmesh-cli pub: publish one event, or --count N of them.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <sstream>

#include "commands.h"
#include "eventmesh/clock.h"
#include "eventmesh/topic.h"

namespace eventmesh::cli {
namespace {

constexpr char kPubUsage[] =
    "usage: eventmesh-cli pub TOPIC [DATA] [options]\n"
    "Publishes DATA (or all of stdin when DATA is omitted) as a CloudEvent\n"
    "and prints each stored sequence, one per line.\n"
    "  --type TYPE          CloudEvents type (default: eventmesh.cli)\n"
    "  --source SOURCE      CloudEvents source (default: eventmesh-cli)\n"
    "  --id ID              event id (default: a fresh one; with --count,\n"
    "                       ID-1, ID-2, ...)\n"
    "  --attr KEY=VALUE     subject, datacontenttype, dataschema, time or\n"
    "                       an extension attribute; repeatable\n"
    "  --count N            publish N events with the same data\n"
    "  --durability LEVEL   sync, batch or none (default: the mesh's)\n"
    "  --url URL, --json, -h as for every command\n";

// Events are published in batches of this many with --count.
constexpr uint64_t kBatch = 1024;

struct PubPlan {
  std::string topic;
  Event event;
  uint64_t count = 1;
  PublishOptions options;
  std::string id_prefix;
};

// Applies one --attr KEY=VALUE; false with `*error` set when malformed.
bool ApplyAttr(const std::string& kv, Event* event, std::string* error) {
  size_t eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) {
    *error = "--attr needs KEY=VALUE, not '" + kv + "'";
    return false;
  }
  std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
  if (key == "subject") {
    event->subject = value;
  } else if (key == "datacontenttype") {
    event->datacontenttype = value;
  } else if (key == "dataschema") {
    event->dataschema = value;
  } else if (key == "time") {
    event->time = value;
  } else if (IsValidExtensionName(key)) {
    event->SetExtension(key, value);
  } else {
    *error = "--attr '" + key +
             "' is not an attribute name (1 to 20 characters of [a-z0-9])";
    return false;
  }
  return true;
}

// Builds the plan from the arguments; returns an exit code or -1 for OK.
int Plan(const Args& args, PubPlan* plan) {
  if (args.positional.empty() || args.positional.size() > 2) {
    return Usage("pub", "expected TOPIC [DATA]");
  }
  plan->topic = args.positional[0];
  if (Status s = ValidateTopic(plan->topic); !s.ok()) {
    return Usage("pub", s.message());
  }
  Event& e = plan->event;
  e.type = args.Get("type", "eventmesh.cli");
  e.source = args.Get("source", "eventmesh-cli");
  plan->id_prefix = args.Get("id");
  std::string error;
  for (const std::string& kv : args.All("attr")) {
    if (!ApplyAttr(kv, &e, &error)) return Usage("pub", error);
  }
  if (args.Has("count") &&
      (!ParseCount(args.Get("count"), &plan->count) || plan->count == 0)) {
    return Usage("pub", "--count needs a positive number, not '" +
                            args.Get("count") + "'");
  }
  if (args.Has("durability")) {
    Durability d;
    if (!ParseDurability(args.Get("durability"), &d)) {
      return Usage("pub", "--durability must be sync, batch or none");
    }
    plan->options.durability = d;
  }
  if (args.positional.size() == 2) {
    e.data = args.positional[1];
  } else {
    e.data.assign(std::istreambuf_iterator<char>(std::cin), {});
  }
  return -1;
}

void PrintSequence(const std::string& topic, uint64_t seq, bool json) {
  if (json) {
    std::printf("{\"topic\":\"%s\",\"sequence\":%llu}\n", topic.c_str(),
                static_cast<unsigned long long>(seq));
  } else {
    std::printf("%llu\n", static_cast<unsigned long long>(seq));
  }
}

// Writes "published N/M (R events/s)" over itself on stderr.
class Progress {
 public:
  explicit Progress(uint64_t total)
      : total_(total), enabled_(total > 1 && StderrIsTerminal()) {}
  void Update(uint64_t done) {
    if (!enabled_) return;
    int64_t now = MonotonicNanos();
    if (now - last_ < 250'000'000 && done != total_) return;
    last_ = now;
    double secs = (now - start_) / 1e9;
    std::fprintf(stderr, "\rpublished %llu/%llu (%.0f events/s)",
                 static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total_),
                 secs > 0 ? done / secs : 0.0);
  }
  void Finish() {
    if (enabled_) std::fputc('\n', stderr);
  }

 private:
  uint64_t total_;
  bool enabled_;
  int64_t start_ = MonotonicNanos();
  int64_t last_ = 0;
};

int Publish(Mesh& mesh, const PubPlan& plan, bool json) {
  Progress progress(plan.count);
  for (uint64_t done = 0; done < plan.count && !StopRequested();) {
    uint64_t n = std::min(kBatch, plan.count - done);
    std::vector<Event> batch(n, plan.event);
    for (uint64_t i = 0; i < n; ++i) {
      batch[i].topic = plan.topic;
      if (!plan.id_prefix.empty()) {
        batch[i].id = plan.count == 1
                          ? plan.id_prefix
                          : plan.id_prefix + "-" + std::to_string(done + i + 1);
      }
    }
    auto seqs = mesh.PublishBatch(std::move(batch), plan.options);
    if (!seqs.ok()) {
      progress.Finish();
      return Fail(seqs.status().WithContext("publishing to " + plan.topic));
    }
    for (uint64_t seq : *seqs) PrintSequence(plan.topic, seq, json);
    done += n;
    progress.Update(done);
  }
  progress.Finish();
  if (std::fflush(stdout) != 0) {
    return Fail(Unavailable("writing to stdout failed"));
  }
  return StopRequested() ? kExitFailed : kExitOk;
}

}  // namespace

int RunPub(const std::vector<std::string>& argv) {
  auto specs = CommonFlags();
  specs.insert(specs.end(), {{"type", true, false},
                             {"source", true, false},
                             {"id", true, false},
                             {"attr", true, true},
                             {"count", true, false},
                             {"durability", true, false}});
  Args args;
  UsageError error;
  if (!Parse(argv, specs, &args, &error)) return Usage("pub", error.message);
  if (args.help) {
    std::fputs(kPubUsage, stdout);
    return kExitOk;
  }
  PubPlan plan;
  if (int rc = Plan(args, &plan); rc >= 0) return rc;
  InstallStopSignals();
  auto mesh = OpenMesh(args);
  if (!mesh) return kExitFailed;
  int rc = Publish(*mesh, plan, args.Has("json"));
  if (Status s = mesh->Close(); !s.ok() && rc == kExitOk) return Fail(s);
  return rc;
}

}  // namespace eventmesh::cli
