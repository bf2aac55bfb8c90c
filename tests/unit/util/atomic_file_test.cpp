// Tests of the crash-safe file writer and the whole-file reader.
#include "hcmsn/util/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::util {
namespace {

namespace fs = std::filesystem;

using test::contains;
using test::error_of;

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> temp_leftovers(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& n : names_in(dir)) {
    if (n.find(".tmp.") != std::string::npos) out.push_back(n);
  }
  return out;
}

class AtomicFile : public ::testing::Test {
 protected:
  std::string dir_ = test::temp_dir("atomic_file");
};

TEST_F(AtomicFile, WriteThenReadBack) {
  const std::string path = dir_ + "/a.bin";
  std::string bytes = "hello\n";
  bytes += std::string("\0\x01\xff\r\n", 5);
  write_file_atomic(path, bytes);
  EXPECT_EQ(read_file(path), bytes);
  EXPECT_EQ(fs::file_size(path), bytes.size());
  // Read through an independent reader too.
  std::ifstream in(path, std::ios::binary);
  const std::string direct((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(direct, bytes);
}

TEST_F(AtomicFile, EmptyAndLargeContents) {
  const std::string empty = dir_ + "/empty";
  write_file_atomic(empty, "");
  EXPECT_TRUE(fs::exists(empty));
  EXPECT_EQ(read_file(empty), "");
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  const std::string path = dir_ + "/big";
  write_file_atomic(path, big);
  EXPECT_EQ(read_file(path), big);
}

TEST_F(AtomicFile, OverwriteReplacesContent) {
  const std::string path = dir_ + "/o.txt";
  write_file_atomic(path, std::string(10000, 'x'));
  write_file_atomic(path, "short");
  EXPECT_EQ(read_file(path), "short");
  // Also replaces a file that was created by someone else.
  const std::string other = dir_ + "/other.txt";
  std::ofstream(other) << "old old old old";
  write_file_atomic(other, "new");
  EXPECT_EQ(read_file(other), "new");
  EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"o.txt", "other.txt"}));
}

TEST_F(AtomicFile, ResultIsReadableByOthers) {
  const std::string path = dir_ + "/perm";
  write_file_atomic(path, "x");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(st.st_mode & S_IRUSR);
  EXPECT_TRUE(st.st_mode & S_IWUSR);
  EXPECT_TRUE(st.st_mode & S_IRGRP);  // not mkstemp's 0600
}

TEST_F(AtomicFile, NoTempFilesLeftAfterSuccess) {
  for (int i = 0; i < 5; ++i) write_file_atomic(dir_ + "/f" + std::to_string(i), std::to_string(i));
  EXPECT_TRUE(temp_leftovers(dir_).empty());
  EXPECT_EQ(names_in(dir_).size(), 5u);
}

// A writer SIGKILLed mid-write leaves PATH.tmp.<pid>.XXXXXX: the next write removes the ones of
// dead processes, keeps a live writer's, and removes unattributable ones only after a day.
TEST_F(AtomicFile, TheNextWriteRemovesTheTemporariesOfDeadWriters) {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);  // reaped: its pid names no process now
  const std::string path = dir_ + "/g.bin";
  const auto touch = [&](const std::string& name) { std::ofstream(dir_ + "/" + name) << "half"; };
  const std::string dead = "g.bin.tmp." + std::to_string(child) + ".AbC123";
  const std::string alive = "g.bin.tmp." + std::to_string(getpid()) + ".XyZ789";
  touch(dead);
  touch(alive);
  touch("g.bin.tmp.Old123");    // before pids were in the name, fresh: kept
  touch("g.bin.tmp.Older1");    // the same, two days old: removed
  touch("h.bin.tmp.1.AbC123");  // another file's: not ours to judge
  fs::last_write_time(dir_ + "/g.bin.tmp.Older1",
                      fs::file_time_type::clock::now() - std::chrono::hours(48));
  write_file_atomic(path, "new");
  EXPECT_EQ(read_file(path), "new");
  const auto left = temp_leftovers(dir_);
  EXPECT_EQ(left, (std::vector<std::string>{alive, "g.bin.tmp.Old123", "h.bin.tmp.1.AbC123"}));
}

TEST_F(AtomicFile, MissingDirectoryThrowsNamingPathAndLeavesNoTempFile) {
  const std::string path = dir_ + "/missing/sub/out.txt";
  const std::string msg = error_of([&] { write_file_atomic(path, "data"); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_FALSE(fs::exists(dir_ + "/missing"));
  EXPECT_TRUE(names_in(dir_).empty());
}

TEST_F(AtomicFile, TargetIsADirectoryThrowsAndLeavesNoTempFile) {
  const std::string path = dir_ + "/adir";
  fs::create_directory(path);
  fs::create_directory(path + "/child");  // a non-empty directory cannot be renamed over
  const std::string msg = error_of([&] { write_file_atomic(path, "data"); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  EXPECT_TRUE(fs::is_directory(path));
  EXPECT_TRUE(temp_leftovers(dir_).empty()) << temp_leftovers(dir_).front();
}

TEST_F(AtomicFile, FailedWriteKeepsTheOldFile) {
  // Failure after creating the temp file: replacing a directory's entry with a file fails at
  // rename time; the old content of an unrelated file in the same directory is untouched.
  const std::string keep = dir_ + "/keep.txt";
  write_file_atomic(keep, "old");
  fs::create_directory(dir_ + "/d");
  fs::create_directory(dir_ + "/d/x");
  error_of([&] { write_file_atomic(dir_ + "/d", "new"); });
  EXPECT_EQ(read_file(keep), "old");
  EXPECT_TRUE(temp_leftovers(dir_).empty());
}

TEST_F(AtomicFile, ReadMissingFileThrowsNamingPath) {
  const std::string path = dir_ + "/nope.txt";
  const std::string msg = error_of([&] { read_file(path); });
  EXPECT_TRUE(contains(msg, path)) << msg;
  const std::string in_missing_dir = dir_ + "/no/dir/nope.txt";
  EXPECT_TRUE(contains(error_of([&] { read_file(in_missing_dir); }), in_missing_dir));
}

// Disabled: read_file on a directory returns "" instead of throwing (std::ifstream opens a
// directory on Linux; the read error is not detected). So read_labels(<dir>) returns no labels.
TEST_F(AtomicFile, ReadDirectoryThrowsNamingPath) {
  const std::string msg = error_of([&] { read_file(dir_); });
  EXPECT_TRUE(contains(msg, dir_)) << msg;
}

}  // namespace
}  // namespace hcmsn::util
