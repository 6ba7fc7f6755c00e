// eventmesh-cli topics, groups and stats.

#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "util/info_json.h"

namespace eventmesh::cli {
namespace {

using nlohmann::json;

// A subcommand of `topics` or `groups`.
struct Subcommand {
  const char* name;
  int (*run)(const Args& args);
};

// Parses the arguments of a command that takes none but its subcommands
// (runs the one named); -1 to go on.
int ParseNoArgs(const std::string& name, const char* usage,
                const std::vector<std::string>& argv, Args* args,
                Subcommand sub = {nullptr, nullptr}) {
  UsageError error;
  if (!Parse(argv, CommonFlags(), args, &error)) {
    return Usage(name, error.message);
  }
  if (args->help) {
    std::fputs(usage, stdout);
    return kExitOk;
  }
  if (!args->positional.empty()) {
    if (sub.name != nullptr && args->positional[0] == sub.name) {
      return sub.run(*args);
    }
    return Usage(name, "takes no arguments, got '" + args->positional[0] + "'");
  }
  return -1;
}

unsigned long long U(uint64_t v) { return v; }

}  // namespace

int RunTopics(const std::vector<std::string>& argv) {
  Args args;
  if (int rc = ParseNoArgs("topics",
                           "usage: eventmesh-cli topics [--json]\n"
                           "       eventmesh-cli topics delete TOPIC "
                           "[--json]\n"
                           "Lists stored topics: name, first and last "
                           "sequence, events, bytes.\n"
                           "'delete' removes every stored event of TOPIC "
                           "($DLQ. topics too);\n"
                           "the topic keeps its numbering.\n",
                           argv, &args, {"delete", RunTopicsDelete});
      rc >= 0) {
    return rc;
  }
  auto mesh = OpenMesh(args);
  if (!mesh) return kExitFailed;
  auto topics = mesh->Topics();
  if (!topics.ok()) return Fail(topics.status().WithContext("listing topics"));
  if (args.Has("json")) {
    json out = json::array();
    for (const TopicInfo& t : *topics) {
      out.push_back(TopicInfoJson(t));
    }
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%-40s %10s %10s %10s %12s\n", "TOPIC", "FIRST", "LAST",
                "EVENTS", "BYTES");
    for (const TopicInfo& t : *topics) {
      std::printf("%-40s %10llu %10llu %10llu %12llu\n", t.topic.c_str(),
                  U(t.first_sequence), U(t.last_sequence), U(t.count),
                  U(t.bytes));
    }
  }
  return mesh->Close().ok() ? kExitOk : kExitFailed;
}

int RunGroups(const std::vector<std::string>& argv) {
  Args args;
  if (int rc = ParseNoArgs("groups",
                           "usage: eventmesh-cli groups [--json]\n"
                           "       eventmesh-cli groups seek DURABLE "
                           "POSITION [--json]\n"
                           "Lists groups and durable subscriptions with "
                           "their members, lag and counters.\n"
                           "'seek' moves a durable group to POSITION: "
                           "earliest, latest, an RFC 3339\n"
                           "time or (for a group on one topic) a sequence; "
                           "its unacknowledged\n"
                           "events are forgotten.\n",
                           argv, &args, {"seek", RunGroupsSeek});
      rc >= 0) {
    return rc;
  }
  auto mesh = OpenMesh(args);
  if (!mesh) return kExitFailed;
  auto groups = mesh->Groups();
  if (!groups.ok()) return Fail(groups.status().WithContext("listing groups"));
  if (args.Has("json")) {
    json out = json::array();
    for (const GroupInfo& g : *groups) {
      out.push_back(GroupInfoJson(g));
    }
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("%-24s %-24s %-7s %7s %10s %9s %10s\n", "NAME", "PATTERN",
                "DURABLE", "MEMBERS", "ACK_FLOOR", "IN_FLIGHT", "LAG");
    for (const GroupInfo& g : *groups) {
      std::printf("%-24s %-24s %-7s %7llu %10llu %9llu %10llu\n",
                  g.name.c_str(), g.pattern.c_str(), g.durable ? "yes" : "no",
                  U(g.members), U(g.ack_floor), U(g.in_flight), U(g.lag));
    }
  }
  return mesh->Close().ok() ? kExitOk : kExitFailed;
}

int RunStats(const std::vector<std::string>& argv) {
  Args args;
  if (int rc = ParseNoArgs("stats",
                           "usage: eventmesh-cli stats [--json]\n"
                           "Prints the mesh's and its store's counters, and\n"
                           "on a node of a mesh of nodes each link's state,\n"
                           "traffic and durable deliveries in flight.\n",
                           argv, &args);
      rc >= 0) {
    return rc;
  }
  auto mesh = OpenMesh(args);
  if (!mesh) return kExitFailed;
  auto stats = mesh->Stats();
  if (!stats.ok()) return Fail(stats.status().WithContext("reading stats"));
  const MeshStats& s = *stats;
  json out = {{"published", s.published},
              {"duplicates", s.duplicates},
              {"delivered", s.delivered},
              {"dropped", s.dropped},
              {"acked", s.acked},
              {"redelivered", s.redelivered},
              {"dead_lettered", s.dead_lettered},
              {"subscriptions", s.subscriptions},
              {"store",
               {{"appended", s.store.appended},
                {"duplicates", s.store.duplicates},
                {"commits", s.store.commits},
                {"syncs", s.store.syncs},
                {"bytes_used", s.store.bytes_used},
                {"map_bytes", s.store.map_bytes},
                {"first_position", s.store.first_position},
                {"next_position", s.store.next_position}}},
              {"links", json::array()}};
  for (const LinkStats& l : s.links) {
    out["links"].push_back({{"node", l.node},
                            {"state", l.up ? "up" : "down"},
                            {"last_heard_ms", l.last_heard_ms},
                            {"interest", l.interest},
                            {"events_sent", l.events_sent},
                            {"events_received", l.events_received},
                            {"events_dropped", l.events_dropped},
                            {"messages_sent", l.messages_sent},
                            {"messages_received", l.messages_received},
                            {"in_flight", l.in_flight}});
  }
  if (args.Has("json")) {
    std::printf("%s\n", out.dump().c_str());
  } else {
    for (auto& [key, value] : out.items()) {
      if (value.is_array()) {  // links, one line per field
        for (const json& l : value) {
          std::string node = l["node"].get<std::string>();
          for (auto& [k2, v2] : l.items()) {
            if (k2 == "node") continue;
            std::string text =
                v2.is_string() ? v2.get<std::string>() : v2.dump();
            std::printf("%s.%s.%s %s\n", key.c_str(), node.c_str(), k2.c_str(),
                        text.c_str());
          }
        }
      } else if (value.is_object()) {
        for (auto& [k2, v2] : value.items()) {
          std::printf("%s.%s %s\n", key.c_str(), k2.c_str(), v2.dump().c_str());
        }
      } else {
        std::printf("%s %s\n", key.c_str(), value.dump().c_str());
      }
    }
  }
  return mesh->Close().ok() ? kExitOk : kExitFailed;
}

}  // namespace eventmesh::cli
