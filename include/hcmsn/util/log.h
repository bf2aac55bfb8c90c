// Leveled log lines on stderr ("[12:03:04] [info] ..."), formatted with fmt.
// (Debian 12's spdlog 1.10 does not compile as C++20 against its fmt 9, and C++20 is required by
// LibTorch >= 2.10, so hcmsn logs through this small layer instead.)
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>

namespace hcmsn::util {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

void set_log_level(LogLevel level);
LogLevel log_level();
/// "trace", "debug", "info", "warn", "error" or "off"; throws hcmsn::Error otherwise.
LogLevel parse_log_level(const std::string& name);
/// Writes one line (thread-safe, whole lines).
void log_line(LogLevel level, std::string_view message);

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level >= log_level() && level != LogLevel::kOff) {
    log_line(level, fmt::format(format, std::forward<Args>(args)...));
  }
}
template <typename... Args>
void log_debug(fmt::format_string<Args...> f, Args&&... a) {
  log(LogLevel::kDebug, f, std::forward<Args>(a)...);
}
template <typename... Args>
void log_info(fmt::format_string<Args...> f, Args&&... a) {
  log(LogLevel::kInfo, f, std::forward<Args>(a)...);
}
template <typename... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... a) {
  log(LogLevel::kWarn, f, std::forward<Args>(a)...);
}

}  // namespace hcmsn::util
