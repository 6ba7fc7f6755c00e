// eventmesh-cli sub: print events as they arrive.

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "commands.h"
#include "eventmesh/clock.h"
#include "eventmesh/topic.h"

namespace eventmesh::cli {
namespace {

constexpr char kSubUsage[] =
    "usage: eventmesh-cli sub PATTERN [options]\n"
    "Prints events whose topic matches PATTERN as they arrive, one per\n"
    "line: TOPIC SEQUENCE DATA (or, with --json, one CloudEvents JSON\n"
    "object with its topic and sequence).\n"
    "  --group NAME       share events with the group's other members\n"
    "  --durable NAME     keep the position and acks under NAME\n"
    "  --from POS         earliest, latest (default), a sequence or an\n"
    "                     RFC 3339 time\n"
    "  --count N          exit after N events\n"
    "  --timeout SECONDS  stop after SECONDS (exit 1 when --count events\n"
    "                     did not arrive by then)\n"
    "  --ack              durable: acknowledge each event only once it is\n"
    "                     written (otherwise on receipt)\n"
    "  --url URL, --json, -h as for every command\n";

// State shared by the delivery thread and the main thread.
struct SubState {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t received = 0;  // written
  uint64_t settled = 0;   // written and, when acking, acknowledged
  uint64_t limit = 0;     // 0: no limit
  bool write_failed = false;
  bool json = false;
  bool ack_after_write = false;
  bool durable = false;
};

void WriteEvent(const Event& e, bool json) {
  if (json) {
    std::string line = EncodeJson(e, /*include_mesh_fields=*/true);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
    return;
  }
  std::fprintf(stdout, "%s %llu ", e.topic.c_str(),
               static_cast<unsigned long long>(e.sequence));
  std::fwrite(e.data.data(), 1, e.data.size(), stdout);
  std::fputc('\n', stdout);
}

// Handles one batch: writes what is within --count and acks per the mode.
void OnBatch(SubState& st, const std::vector<Delivery>& batch) {
  std::vector<const Delivery*> written;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    for (const Delivery& d : batch) {
      // Beyond --count: left unacknowledged, so a durable subscription
      // hands them to the next reader once this one leaves.
      if (st.write_failed || (st.limit && st.received >= st.limit)) continue;
      if (st.durable && !st.ack_after_write) d.Ack().IgnoreError();
      WriteEvent(d.event(), st.json);
      written.push_back(&d);
      ++st.received;
    }
    if (std::fflush(stdout) != 0) st.write_failed = true;
  }
  if (st.durable && st.ack_after_write) {
    for (const Delivery* d : written) {
      if (!st.write_failed) d->Ack().IgnoreError();
    }
  }
  {
    // The main thread stops at --count only once these acks are done, so
    // closing the mesh cannot cut one short.
    std::lock_guard<std::mutex> lock(st.mu);
    st.settled += written.size();
  }
  st.cv.notify_all();
}

struct SubPlan {
  std::string pattern;
  SubscribeOptions options;
  uint64_t count = 0;
  double timeout = -1;  // seconds; negative: none
  bool replay = false;
};

int Plan(const Args& args, SubPlan* plan) {
  if (args.positional.size() != 1) return Usage("sub", "expected PATTERN");
  plan->pattern = args.positional[0];
  if (Status s = ValidatePattern(plan->pattern); !s.ok()) {
    return Usage("sub", s.message());
  }
  SubscribeOptions& o = plan->options;
  o.group = args.Get("group");
  o.durable = args.Get("durable");
  if (args.Has("from")) {
    auto start = StartPosition::Parse(args.Get("from"));
    if (!start.ok()) return Usage("sub", start.status().message());
    o.start = *start;
    plan->replay = o.start.kind != StartPosition::Kind::kLatest;
  }
  if (args.Has("count") &&
      (!ParseCount(args.Get("count"), &plan->count) || plan->count == 0)) {
    return Usage("sub", "--count needs a positive number");
  }
  if (args.Has("timeout") &&
      !ParseSeconds(args.Get("timeout"), &plan->timeout)) {
    return Usage("sub", "--timeout needs a number of seconds");
  }
  if (args.Has("ack") && o.durable.empty()) {
    return Usage("sub", "--ack needs --durable NAME");
  }
  // Durable events are acked by hand so that events beyond --count are
  // handed back instead of being acknowledged unseen.
  o.manual_ack = !o.durable.empty();
  return -1;
}

// Waits until --count, --timeout, a signal or a failed write ends the run;
// shows a progress line for replays on a terminal.
int Wait(SubState& st, const SubPlan& plan) {
  const int64_t start = MonotonicNanos();
  const bool progress = plan.replay && StderrIsTerminal();
  std::unique_lock<std::mutex> lock(st.mu);
  while (true) {
    if (st.write_failed) return kExitOk;  // the reader went away
    if (plan.count && st.settled >= plan.count) break;
    if (StopRequested()) break;
    double elapsed = (MonotonicNanos() - start) / 1e9;
    if (plan.timeout >= 0 && elapsed >= plan.timeout) {
      if (plan.count) {
        if (progress) std::fputc('\n', stderr);
        return Fail(Timeout("received " + std::to_string(st.received) + " of " +
                            std::to_string(plan.count) + " events in " +
                            std::to_string(plan.timeout) + " s"));
      }
      break;
    }
    if (progress) {
      std::fprintf(stderr, "\rreceived %llu events",
                   static_cast<unsigned long long>(st.received));
    }
    st.cv.wait_for(lock, std::chrono::milliseconds(100));
  }
  if (progress) std::fputc('\n', stderr);
  return kExitOk;
}

}  // namespace

int RunSub(const std::vector<std::string>& argv) {
  auto specs = CommonFlags();
  specs.insert(specs.end(), {{"group", true, false},
                             {"durable", true, false},
                             {"from", true, false},
                             {"count", true, false},
                             {"timeout", true, false},
                             {"ack", false, false}});
  Args args;
  UsageError error;
  if (!Parse(argv, specs, &args, &error)) return Usage("sub", error.message);
  if (args.help) {
    std::fputs(kSubUsage, stdout);
    return kExitOk;
  }
  SubPlan plan;
  if (int rc = Plan(args, &plan); rc >= 0) return rc;
  InstallStopSignals();
  auto mesh = OpenMesh(args);
  if (!mesh) return kExitFailed;

  SubState st;
  st.limit = plan.count;
  st.json = args.Has("json");
  st.ack_after_write = args.Has("ack");
  st.durable = !plan.options.durable.empty();
  auto sub = mesh->SubscribeBatch(
      plan.pattern, [&st](const std::vector<Delivery>& b) { OnBatch(st, b); },
      plan.options);
  if (!sub.ok()) return Fail(sub.status().WithContext("subscribing"));
  int rc = Wait(st, plan);
  (*sub)->Unsubscribe().IgnoreError();
  if (Status s = mesh->Close(); !s.ok() && rc == kExitOk) return Fail(s);
  return rc;
}

}  // namespace eventmesh::cli
