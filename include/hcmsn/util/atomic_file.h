// Crash-safe file writes: data goes to a temporary file in the same directory, is flushed to
// disk, then renamed over the target, so readers see the old file or the new one, never half.
#pragma once

#include <string>
#include <string_view>

namespace hcmsn::util {

/// Atomically replaces `path` with `bytes`. Throws hcmsn::Error (naming the path) on failure.
/// The temporary is "PATH.tmp.<pid>.XXXXXX"; those of writers that died first are removed.
void write_file_atomic(const std::string& path, std::string_view bytes);

/// Removes the temporaries of `path` whose writer is gone: those whose process id no longer
/// exists on this machine, and unattributable ones (other machines, older versions) after a day.
/// Never throws.
void remove_stale_temporaries(const std::string& path);

/// Reads a whole file. Throws hcmsn::Error naming the path when it cannot be opened or read.
std::string read_file(const std::string& path);

}  // namespace hcmsn::util
