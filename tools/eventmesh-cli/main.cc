// eventmesh-cli: publish, subscribe, request and inspect an EventMesh from
// the command line. main() only picks the command; each lives in its own
// file.

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "eventmesh/log.h"
#include "eventmesh/version.h"

namespace {

constexpr char kUsage[] =
    "usage: eventmesh-cli [--url URL] COMMAND [ARGS...]\n"
    "\n"
    "Commands:\n"
    "  pub TOPIC [DATA]         publish an event (DATA from stdin when\n"
    "                           omitted) and print its sequence\n"
    "  sub PATTERN              print events as they arrive\n"
    "  request TOPIC DATA       send a request and print the reply\n"
    "  reply PATTERN -- CMD...  answer requests with CMD's output\n"
    "  topics                   list stored topics\n"
    "  topics delete TOPIC      delete a topic's stored events\n"
    "  groups                   list groups and durable subscriptions\n"
    "  groups seek DURABLE POS  move a durable group (earliest, latest,\n"
    "                           a sequence or an RFC 3339 time)\n"
    "  stats                    print the mesh's counters\n"
    "  nodes                    list the nodes of the server's cluster\n"
    "\n"
    "Options for every command:\n"
    "  --url URL   the mesh: a data directory, file://PATH, mem: or\n"
    "              tcp://HOST:PORT (default: $EVENTMESH_URL, else ./data)\n"
    "  --json      print data as JSON\n"
    "  -h, --help  help for the command\n"
    "  --version   print the version\n"
    "\n"
    "Exit status: 0 done, 1 failed, 2 usage error.\n";

using Runner = int (*)(const std::vector<std::string>&);

Runner FindCommand(const std::string& name) {
  using namespace eventmesh::cli;
  if (name == "pub") return RunPub;
  if (name == "sub") return RunSub;
  if (name == "request") return RunRequest;
  if (name == "reply") return RunReply;
  if (name == "topics") return RunTopics;
  if (name == "groups") return RunGroups;
  if (name == "stats") return RunStats;
  if (name == "nodes") return RunNodes;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);

  // Options before the command (--url, --json) are handed to it.
  std::vector<std::string> leading;
  size_t i = 0;
  for (; i < args.size() && args[i].rfind("-", 0) == 0; ++i) {
    const std::string& a = args[i];
    if (a == "--version") {
      std::printf("eventmesh-cli %s\n", eventmesh::Version());
      return eventmesh::cli::kExitOk;
    }
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return eventmesh::cli::kExitOk;
    }
    leading.push_back(a);
    if (a == "--url" && i + 1 < args.size()) leading.push_back(args[++i]);
  }
  if (i == args.size()) {
    std::fputs(kUsage, stderr);
    return eventmesh::cli::kExitUsage;
  }
  Runner run = FindCommand(args[i]);
  if (run == nullptr) {
    std::fprintf(stderr,
                 "eventmesh-cli: unknown command '%s' (see eventmesh-cli "
                 "-h)\n",
                 args[i].c_str());
    return eventmesh::cli::kExitUsage;
  }

  eventmesh::SetLogSink(eventmesh::StderrLogSink(), eventmesh::LogLevel::kWarn);
  std::vector<std::string> rest(leading);
  rest.insert(rest.end(), args.begin() + i + 1, args.end());
  return run(rest);
}
