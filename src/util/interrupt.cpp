#include "hcmsn/util/interrupt.h"

#include <atomic>
#include <csignal>

namespace hcmsn::util {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_signal(int sig) {
  g_interrupted.store(true);
  // The next signal takes the default action.
  std::signal(sig, SIG_DFL);
}

}  // namespace

void install_interrupt_handler() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupt_requested() {
  return g_interrupted.load();
}

void set_interrupt_requested(bool value) {
  g_interrupted.store(value);
}

}  // namespace hcmsn::util
