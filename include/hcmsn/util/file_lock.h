// One writer at a time for a gallery, a run or a cache (issue 14): an exclusive OS lock (flock)
// on a lock file beside what is changed, `TARGET.lock` (or `RUN_DIR/lock` for a folder). The OS
// drops the lock when its holder exits, killed or not, so a lock never goes stale; the file
// stays (removing it would race with a waiter). Readers take no lock: every write is an atomic
// rename (util/atomic_file.h), so they see the old state or the new one.
//
// The holder writes "pid N: what" into the file, so a refused or waiting writer can name it.
#pragma once

#include <chrono>
#include <string>

namespace hcmsn::util {

struct FileLockOptions {
  /// How long to wait for another holder to finish; 0: refuse at once.
  std::chrono::milliseconds wait{0};
  /// What the holder is doing, for the others' messages ("hcmsn index --add"). A process that
  /// waits says once, in the log, whom it waits for.
  std::string what = "hcmsn";
};

class FileLock {
 public:
  /// Takes the lock on `lock_path` (created with its folder if missing). Throws hcmsn::Error
  /// naming the file and its holder when it stays taken beyond options.wait, or when the file
  /// cannot be created.
  FileLock(std::string lock_path, const FileLockOptions& options = {});
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

/// The name of a folder's lock file; a folder holding only it counts as empty.
inline constexpr char kFolderLockName[] = "lock";

/// The lock file of a file that is changed in place: "PATH.lock".
std::string lock_path_of_file(const std::string& path);
/// The lock file of a folder (a run): "DIR/lock".
std::string lock_path_of_folder(const std::string& dir);

}  // namespace hcmsn::util
