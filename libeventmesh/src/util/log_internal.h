// Internal logging: EM_LOG(kWarn, "store", "map grew to " << bytes).
// The message is only built when a sink wants that level.

#ifndef EVENTMESH_SRC_UTIL_LOG_INTERNAL_H_
#define EVENTMESH_SRC_UTIL_LOG_INTERNAL_H_

#include <atomic>
#include <sstream>
#include <string_view>

#include "eventmesh/log.h"

namespace eventmesh::internal {

// The lowest level the installed sink wants (kOff without a sink).
extern std::atomic<int> g_log_level;

inline bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_log_level.load(std::memory_order_relaxed);
}

void EmitLog(LogLevel level, std::string_view module, std::string_view message);

}  // namespace eventmesh::internal

#define EM_LOG(level, module, stream_expr)                                 \
  do {                                                                     \
    if (::eventmesh::internal::LogEnabled(::eventmesh::LogLevel::level)) { \
      std::ostringstream em_log_stream_;                                   \
      em_log_stream_ << stream_expr;                                       \
      ::eventmesh::internal::EmitLog(::eventmesh::LogLevel::level, module, \
                                     em_log_stream_.str());                \
    }                                                                      \
  } while (0)

#endif  // EVENTMESH_SRC_UTIL_LOG_INTERNAL_H_
