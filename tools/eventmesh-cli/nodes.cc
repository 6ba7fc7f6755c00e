// eventmesh-cli nodes: the mesh of nodes as the connected node sees it.
//
// The node answers the node-local request "$SYS.cluster.nodes" with JSON
// (docs/cluster.md, "Seeing the cluster"); a node without a [cluster]
// section has no responder, so the request times out.

#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"

namespace eventmesh::cli {
namespace {

using nlohmann::json;

constexpr char kNodesUsage[] =
    "usage: eventmesh-cli nodes [--json] [--timeout SECONDS]\n"
    "Lists the nodes of the mesh the server at --url belongs to: id, state,\n"
    "addresses, load, interest and link counters, and the least loaded\n"
    "node (where a new client should connect).\n"
    "  --timeout SECONDS  how long to wait for the node (default 3)\n"
    "  --url URL, --json, -h as for every command\n";

constexpr char kNodesTopic[] = "$SYS.cluster.nodes";

unsigned long long U(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number_unsigned()
             ? j[key].get<unsigned long long>()
             : 0;
}

std::string S(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

void PrintTable(const json& reply) {
  std::printf("%-16s %-5s %-24s %-22s %6s %8s %8s %9s %10s %10s %8s\n", "NODE",
              "STATE", "LINK_ADDRESS", "CLIENT_ADDRESS", "CONNS", "EVENTS/S",
              "INTEREST", "HEARD_MS", "SENT", "RECEIVED", "DROPPED");
  for (const json& n : reply.value("nodes", json::array())) {
    std::string id = S(n, "id");
    if (n.value("self", false)) id += "*";
    const json link = n.value("link", json::object());
    long long heard =
        n.contains("last_heard_ms") && n["last_heard_ms"].is_number()
            ? n["last_heard_ms"].get<long long>()
            : -1;
    std::printf(
        "%-16s %-5s %-24s %-22s %6llu %8llu %8llu %9lld %10llu %10llu "
        "%8llu\n",
        id.c_str(), S(n, "state").c_str(), S(n, "address").c_str(),
        S(n, "client_address").c_str(), U(n, "connections"),
        U(n, "events_per_s"), U(n, "interest"), heard, U(link, "events_sent"),
        U(link, "events_received"), U(link, "events_dropped"));
  }
  if (reply.contains("least_loaded")) {
    const json& best = reply["least_loaded"];
    std::printf("least loaded: %s %s\n", S(best, "id").c_str(),
                S(best, "client_address").c_str());
  }
}

}  // namespace

int RunNodes(const std::vector<std::string>& argv) {
  auto specs = CommonFlags();
  specs.push_back({"timeout", true, false});
  Args args;
  UsageError error;
  if (!Parse(argv, specs, &args, &error)) return Usage("nodes", error.message);
  if (args.help) {
    std::fputs(kNodesUsage, stdout);
    return kExitOk;
  }
  if (!args.positional.empty()) {
    return Usage("nodes",
                 "takes no arguments, got '" + args.positional[0] + "'");
  }
  double timeout = 3;
  if (args.Has("timeout") && !ParseSeconds(args.Get("timeout"), &timeout)) {
    return Usage("nodes", "--timeout needs a number of seconds");
  }
  std::string url = MeshUrl(args);
  if (url.rfind("tcp://", 0) != 0) {
    return Fail(FailedPrecondition(
        "'" + url +
        "' is an embedded mesh, which has no cluster; give --url "
        "tcp://HOST:PORT of a server with a [cluster] section"));
  }
  auto mesh = OpenMesh(args);
  if (!mesh) return kExitFailed;

  Event query;
  query.type = "eventmesh.cli.nodes";
  query.source = "eventmesh-cli";
  auto reply = mesh->Request(
      kNodesTopic, std::move(query),
      std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000)));
  mesh->Close().IgnoreError();
  if (!reply.ok()) {
    if (reply.status().code() == StatusCode::kTimeout) {
      return Fail(FailedPrecondition(
          "the node at " + url + " has no cluster (no answer to " +
          kNodesTopic + "); give the server a [cluster] section"));
    }
    return Fail(reply.status().WithContext("asking " + url + " for its nodes"));
  }
  json nodes = json::parse(reply->data, nullptr, false);
  if (nodes.is_discarded() || !nodes.is_object()) {
    return Fail(DataLoss("the node at " + url + " answered " + kNodesTopic +
                         " with something that is not a JSON object"));
  }
  if (args.Has("json")) {
    std::printf("%s\n", nodes.dump().c_str());
  } else {
    PrintTable(nodes);
  }
  return std::fflush(stdout) == 0 ? kExitOk : kExitFailed;
}

}  // namespace eventmesh::cli
