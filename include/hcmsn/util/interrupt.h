// Ctrl-C / SIGTERM as a request, not a kill: long jobs (training, extraction) poll
// interrupt_requested() at safe points, save their state and return, so nothing is lost.
#pragma once

namespace hcmsn::util {

/// Installs SIGINT and SIGTERM handlers that set the flag; a second signal ends the process at
/// once (the default action), for a job that does not reach a safe point.
void install_interrupt_handler();
bool interrupt_requested();
/// Sets or clears the flag (tests, and jobs that run one after another in one process).
void set_interrupt_requested(bool value);

}  // namespace hcmsn::util
