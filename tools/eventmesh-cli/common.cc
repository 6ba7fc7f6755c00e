// What every command shares: common flags, errors, opening the mesh,
// terminal detection and stop signals.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "commands.h"

namespace eventmesh::cli {

namespace {
std::atomic<bool> g_stop{false};

void OnStopSignal(int) { g_stop.store(true); }
}  // namespace

std::vector<FlagSpec> CommonFlags() {
  return {{"url", true, false}, {"json", false, false}};
}

int Fail(const Status& status) {
  std::string text = status.ToString();
  // One line, whatever the message holds.
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "eventmesh-cli: error: %s\n", text.c_str());
  return kExitFailed;
}

int Usage(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "eventmesh-cli %s: %s (see eventmesh-cli %s -h)\n",
               command.c_str(), message.c_str(), command.c_str());
  return kExitUsage;
}

std::string MeshUrl(const Args& args) {
  if (args.Has("url")) return args.Get("url");
  const char* env = std::getenv("EVENTMESH_URL");
  if (env != nullptr && *env != '\0') return env;
  return "./data";
}

std::unique_ptr<Mesh> OpenMesh(const Args& args) {
  std::string url = MeshUrl(args);
  auto mesh = Mesh::Open(url);
  if (!mesh.ok()) {
    Fail(mesh.status().WithContext("opening " + url));
    return nullptr;
  }
  return std::move(mesh).value();
}

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

void InstallStopSignals() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  // A closed stdout (sub | head -1) shows up as a failed write instead.
  signal(SIGPIPE, SIG_IGN);
}

bool StopRequested() { return g_stop.load(); }

}  // namespace eventmesh::cli
