// The library's log: silent unless the host installs a sink.
//
// EventMesh never prints on its own. A host that wants messages calls
// SetLogSink() with a function and the lowest level it cares about. Nothing
// is logged per event at kInfo or above. Thread-safe: the sink may be
// replaced at any time, and is called from any of the library's threads,
// so it must be thread-safe itself and must not call back into the mesh.

#ifndef EVENTMESH_LOG_H_
#define EVENTMESH_LOG_H_

#include <functional>
#include <string_view>

namespace eventmesh {

enum class LogLevel : int {
  kTrace = 0,
  kDebug = 1,
  kInfo = 2,
  kWarn = 3,
  kError = 4,
  kOff = 5,
};

// "trace", "debug", "info", "warn", "error" or "off".
std::string_view LogLevelName(LogLevel level);

// `module` is the library module that speaks ("store", "net", ...).
using LogSink = std::function<void(LogLevel level, std::string_view module,
                                   std::string_view message)>;

// Installs `sink` for messages at `min_level` and above. An empty sink
// turns logging off again.
void SetLogSink(LogSink sink, LogLevel min_level = LogLevel::kInfo);

// A ready-made sink writing "<time> <level> <module>: <message>" lines to
// stderr, for servers and command-line tools.
LogSink StderrLogSink();

}  // namespace eventmesh

#endif  // EVENTMESH_LOG_H_
