// The commands of eventmesh-cli. Each takes its own arguments (after the
// command name) and returns the process exit code: kExitOk, kExitFailed or
// kExitUsage. Errors are printed as one line on stderr.

#ifndef EVENTMESH_TOOLS_CLI_COMMANDS_H_
#define EVENTMESH_TOOLS_CLI_COMMANDS_H_

#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "eventmesh/mesh.h"
#include "eventmesh/status.h"

namespace eventmesh::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Flags every command accepts.
std::vector<FlagSpec> CommonFlags();

// Prints "eventmesh-cli: error: <status>" and returns kExitFailed.
int Fail(const Status& status);
// Prints "eventmesh-cli: <message>" with a pointer to -h; returns kExitUsage.
int Usage(const std::string& command, const std::string& message);

// The mesh URL: --url, else $EVENTMESH_URL, else ./data.
std::string MeshUrl(const Args& args);
// Opens the mesh of `args`, printing the error on failure.
std::unique_ptr<Mesh> OpenMesh(const Args& args);

// True when stderr is a terminal (progress lines are shown only then).
bool StderrIsTerminal();

// Stops long-running commands on SIGINT and SIGTERM.
void InstallStopSignals();
bool StopRequested();

int RunPub(const std::vector<std::string>& argv);
int RunSub(const std::vector<std::string>& argv);
int RunRequest(const std::vector<std::string>& argv);
int RunReply(const std::vector<std::string>& argv);
int RunTopics(const std::vector<std::string>& argv);
int RunGroups(const std::vector<std::string>& argv);
int RunStats(const std::vector<std::string>& argv);
int RunNodes(const std::vector<std::string>& argv);
// Subcommands; `args` is parsed, positional[0] is the subcommand's name.
int RunTopicsDelete(const Args& args);
int RunGroupsSeek(const Args& args);

}  // namespace eventmesh::cli

#endif  // EVENTMESH_TOOLS_CLI_COMMANDS_H_
