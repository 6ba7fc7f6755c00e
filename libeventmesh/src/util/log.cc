#include <cstdio>
#include <memory>
#include <mutex>

#include "eventmesh/clock.h"
#include "util/log_internal.h"

namespace eventmesh {
namespace internal {

std::atomic<int> g_log_level{static_cast<int>(LogLevel::kOff)};

namespace {
std::mutex g_sink_mutex;
std::shared_ptr<LogSink> g_sink;
}  // namespace

void EmitLog(LogLevel level, std::string_view module,
             std::string_view message) {
  std::shared_ptr<LogSink> sink;
  {
    std::lock_guard<std::mutex> lock(g_sink_mutex);
    sink = g_sink;
  }
  if (sink) (*sink)(level, module, message);
}

}  // namespace internal

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "?";
}

void SetLogSink(LogSink sink, LogLevel min_level) {
  std::lock_guard<std::mutex> lock(internal::g_sink_mutex);
  if (!sink) {
    internal::g_sink.reset();
    internal::g_log_level = static_cast<int>(LogLevel::kOff);
    return;
  }
  internal::g_sink = std::make_shared<LogSink>(std::move(sink));
  internal::g_log_level = static_cast<int>(min_level);
}

LogSink StderrLogSink() {
  return [](LogLevel level, std::string_view module, std::string_view msg) {
    std::string line = FormatRfc3339(WallNanos());
    line += ' ';
    line += LogLevelName(level);
    line += ' ';
    line += module;
    line += ": ";
    line += msg;
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
  };
}

}  // namespace eventmesh
