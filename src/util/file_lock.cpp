#include "hcmsn/util/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"

namespace hcmsn::util {
namespace {

// What the holder wrote, trimmed; "another process" when it is empty or unreadable.
std::string holder_of(int fd) {
  char text[256];
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  std::string holder = n > 0 ? std::string(text, static_cast<size_t>(n)) : "";
  while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
  return holder.empty() ? "another process" : holder;
}

}  // namespace

FileLock::FileLock(std::string lock_path, const FileLockOptions& options)
    : path_(std::move(lock_path)) {
  const auto parent = std::filesystem::path(path_).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  HCMSN_CHECK(fd_ >= 0, "cannot create the lock file '", path_, "': ", std::strerror(errno),
              " (is its folder writable?)");
  const auto deadline = std::chrono::steady_clock::now() + options.wait;
  bool said = false;
  while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EINTR) continue;
    if (err != EWOULDBLOCK || std::chrono::steady_clock::now() >= deadline) {
      const std::string holder = holder_of(fd_);
      ::close(fd_);
      fd_ = -1;
      HCMSN_CHECK(err == EWOULDBLOCK, "cannot lock '", path_, "': ", std::strerror(err));
      HCMSN_CHECK(false, "'", path_, "' is locked by ", holder,
                  ", which is changing the same files; wait for it to finish (or stop it) and "
                  "run this again",
                  options.wait.count() > 0
                      ? " (waited " + std::to_string(options.wait.count() / 1000) + " s)"
                      : "");
    }
    if (!said) {
      log_info("waiting for {} to release '{}'", holder_of(fd_), path_);
      said = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Ours now: say who holds it.
  const std::string holder = "pid " + std::to_string(::getpid()) + " (" + options.what + ")\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] const ssize_t n = ::pwrite(fd_, holder.data(), holder.size(), 0);
  }
}

FileLock::~FileLock() {
  if (fd_ < 0) return;
  // Closing releases the flock; the content is left for nobody (the next holder rewrites it).
  ::close(fd_);
}

std::string lock_path_of_file(const std::string& path) {
  return path + ".lock";
}

std::string lock_path_of_folder(const std::string& dir) {
  return (std::filesystem::path(dir) / kFolderLockName).string();
}

}  // namespace hcmsn::util
