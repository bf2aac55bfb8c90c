// Progress reporting for long work: a redrawn bar with rate and ETA when stderr is a terminal,
// plain log lines (at most one every few seconds) otherwise, so CI logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hcmsn::util {

struct ProgressOptions {
  std::string label = "working";
  std::string unit = "items";
  bool enabled = true;
  double log_interval_seconds = 5.0;  // for non-terminal output
};

class Progress {
 public:
  explicit Progress(int64_t total, ProgressOptions options = {});
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Adds `n` finished items; cheap enough to call per item.
  void advance(int64_t n = 1);
  /// Prints the final line (idempotent; the destructor calls it too).
  void finish();

 private:
  void draw(bool final);

  int64_t total_;
  int64_t done_ = 0;
  ProgressOptions options_;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

/// Formats seconds as "1h02m", "3m05s" or "4.2s".
std::string format_duration(double seconds);

/// Seconds of the steady clock since `start`.
double seconds_since(std::chrono::steady_clock::time_point start);

}  // namespace hcmsn::util
