// Crash-safe file writes: data goes to a temporary file in the same directory, is flushed to
// disk, then renamed over the target, so readers see the old file or the new one, never half.
#pragma once

#include <string>
#include <string_view>

namespace hcmsn::util {

/// Atomically replaces `path` with `bytes`. Throws hcmsn::Error (naming the path) on failure.
/// The temporary is "PATH.tmp.<pid>.XXXXXX". Those a writer that died left (SIGKILL, power) are
/// removed first: the ones whose process id no longer exists on this machine, and unattributable
/// ones (other machines, older versions) after a day.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// Reads a whole file. Throws hcmsn::Error naming the path when it cannot be opened or read.
std::string read_file(const std::string& path);

}  // namespace hcmsn::util
