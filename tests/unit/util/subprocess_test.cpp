// Child processes with logged output (hcmsn/util/subprocess.h): exit codes, signals, appended
// logs, start failures, and shell quoting.
#include "hcmsn/util/subprocess.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::util {
namespace {

using test::contains;

int run_shell(const std::string& script, const std::string& log) {
  return wait_for_process(start_logged_process({"/bin/sh", "-c", script}, log));
}

TEST(UtilSubprocess, ExitCodesAndBothStreamsAppendedToTheLog) {
  const std::string dir = test::temp_dir("subprocess");
  const std::string log = dir + "/job.log";
  EXPECT_EQ(run_shell("echo out; echo err >&2; exit 3", log), 3);
  EXPECT_EQ(run_shell("read line || echo stdin-is-empty", log), 0);
  EXPECT_EQ(read_file(log), "out\nerr\nstdin-is-empty\n");
  EXPECT_EQ(run_shell("kill -TERM $$", log), 128 + 15);
}

TEST(UtilSubprocess, TerminateReachesTheChild) {
  const std::string dir = test::temp_dir("subprocess_term");
  const auto child = start_logged_process({"/bin/sleep", "30"}, dir + "/sleep.log");
  terminate_process(child);
  EXPECT_EQ(wait_for_process(child), 128 + 15);
}

TEST(UtilSubprocess, StartFailuresNameWhatFailed) {
  const std::string dir = test::temp_dir("subprocess_fail");
  EXPECT_TRUE(contains(
      test::error_of([&] { start_logged_process({"/bin/true"}, dir + "/no/such/dir/x.log"); }),
      "cannot open the log"));
  EXPECT_TRUE(contains(
      test::error_of([&] { start_logged_process({dir + "/no-such-program"}, dir + "/x.log"); }),
      "no-such-program"));
  EXPECT_TRUE(std::filesystem::path(current_executable()).is_absolute());
}

TEST(UtilSubprocess, ShellQuote) {
  EXPECT_EQ(shell_quote({"hcmsn", "--k", "5,10", "/a/b.json"}), "hcmsn --k 5,10 /a/b.json");
  EXPECT_EQ(shell_quote({"a b", "", "it's"}), "'a b' '' 'it'\\''s'");
}

}  // namespace
}  // namespace hcmsn::util
