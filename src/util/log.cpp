#include "hcmsn/util/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "hcmsn/util/check.h"

namespace hcmsn::util {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};  // the process-wide verbosity
std::mutex g_mutex;

const char* name_of(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warning";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "?";
}

}  // namespace

void set_log_level(LogLevel level) {
  g_level = level;
}
LogLevel log_level() {
  return g_level;
}

LogLevel parse_log_level(const std::string& name) {
  for (LogLevel l : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn,
                     LogLevel::kError, LogLevel::kOff}) {
    if (name == name_of(l) || (l == LogLevel::kWarn && name == "warn")) return l;
  }
  HCMSN_CHECK(false, "unknown log level '", name, "': use trace, debug, info, warn, error or off");
  return LogLevel::kInfo;
}

void log_line(LogLevel level, std::string_view message) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[16];
  std::strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
  const std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "[%s] [%s] %.*s\n", stamp, name_of(level), static_cast<int>(message.size()),
               message.data());
}

}  // namespace hcmsn::util
