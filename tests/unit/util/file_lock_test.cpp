// The writers' lock (issue 14): one holder at a time across processes, a second one refused
// naming the holder or let in once the holder ends, and the lock gone with a killed holder.
#include "hcmsn/util/file_lock.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include "support/test_support.h"

namespace hcmsn::util {
namespace {

// A child process that takes the lock, then sleeps `hold_ms` (or forever), creates `done` (when
// given) and exits, which releases the lock.
pid_t hold_in_child(const std::string& path, int hold_ms, const std::string& done = "") {
  int ready[2];
  if (pipe(ready) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    FileLockOptions o;
    o.what = "the test's child";
    FileLock lock(path, o);
    [[maybe_unused]] const ssize_t n = write(ready[1], "x", 1);
    if (hold_ms < 0) pause();
    std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
    if (!done.empty()) close(open(done.c_str(), O_CREAT | O_WRONLY, 0644));
    _exit(0);
  }
  close(ready[1]);
  char c = 0;
  [[maybe_unused]] const ssize_t n = read(ready[0], &c, 1);  // the child holds it now
  close(ready[0]);
  return pid;
}

TEST(FileLock, ASecondWriterIsRefusedNamingTheHolderOrWaitsForIt) {
  const std::string dir = test::temp_dir("file_lock");
  const std::string path = dir + "/gallery.hgi.lock";
  const std::string done = dir + "/holder_done";
  const pid_t holder = hold_in_child(path, 600, done);
  ASSERT_GT(holder, 0);
  const std::string refused = test::error_of([&] { FileLock lock(path); });
  EXPECT_TRUE(
      test::contains(refused, "is locked by pid " + std::to_string(holder) + " (the test's child)"))
      << refused;
  // Waiting: let in once the holder is done (it marks that just before it exits).
  FileLockOptions wait;
  wait.wait = std::chrono::seconds(60);
  {
    FileLock lock(path, wait);
    EXPECT_TRUE(std::filesystem::exists(done));
  }
  int status = 0;
  waitpid(holder, &status, 0);
  // Released: taken at once again.
  EXPECT_NO_THROW(FileLock lock(path));
}

TEST(FileLock, AKilledHolderLeavesNoStaleLock) {
  const std::string path = test::temp_dir("file_lock") + "/run/lock";
  const pid_t holder = hold_in_child(path, -1);
  ASSERT_GT(holder, 0);
  EXPECT_FALSE(test::error_of([&] { FileLock lock(path); }).empty());
  kill(holder, SIGKILL);
  int status = 0;
  waitpid(holder, &status, 0);
  EXPECT_NO_THROW(FileLock lock(path));
}

TEST(FileLock, AnUncreatableLockFileIsAClearError) {
  const std::string error = test::error_of([] { FileLock lock("/proc/hcmsn_no/lock"); });
  EXPECT_TRUE(test::contains(error, "cannot create the lock file '/proc/hcmsn_no/lock'")) << error;
}

}  // namespace
}  // namespace hcmsn::util
