// Tests of the output guard: every rule of io/output_guard.h, each with the spellings that must
// count as one path (relative and absolute, "..", symlinks, hard links), and what --force lifts.
#include "hcmsn/io/output_guard.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "hcmsn/io/checked_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::io {
namespace {

namespace fs = std::filesystem;
using test::contains;
using test::error_of;

constexpr char kJpegHead[] = "\xFF\xD8\xFF\xE0 not a whole jpeg";
const std::string kJpeg(kJpegHead, sizeof kJpegHead - 1);

class OutputGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir("output_guard");
    write("photo.jpg", kJpeg);
    write("old.json", "{\"map_all\": 0.5}\n");
    write("labels.txt", "cat\ndog\n");
    write("empty.json", "");
    write_npy(p("q.npy"), torch::zeros({2, 2}));
    write_checked_file(p("gallery.hcmsn"), "gallery", 1, "g");
    fs::create_directories(p("run"));
    write_checked_file(p("run/best.ckpt"), "checkpoint", 1, "c");
    write("run/config.json", "{}\n");
  }
  std::string p(const std::string& name) const { return dir_ + "/" + name; }
  void write(const std::string& name, const std::string& bytes) const {
    fs::create_directories(fs::path(p(name)).parent_path());
    std::ofstream(p(name), std::ios::binary) << bytes;
  }
  std::string dir_;
};

// Rule 1 ------------------------------------------------------------------------------------------

TEST_F(OutputGuardTest, StandardOutputOnlyWhereAllowedAndOnce) {
  EXPECT_NO_THROW(OutputGuard().output_or_stdout("--json", "-", OutputKind::json()).check());
  auto e = error_of([&] { OutputGuard().output("--out", "-", OutputKind::npy()).check(); });
  EXPECT_TRUE(contains(e, "--out cannot write to standard output")) << e;
  e = error_of([&] {
    OutputGuard(true)
        .output_or_stdout("--json", "-", OutputKind::json())
        .output_or_stdout("--stats-json", "-", OutputKind::json())
        .check();
  });
  EXPECT_TRUE(contains(e, "--json and --stats-json both write to standard output")) << e;
}

TEST_F(OutputGuardTest, EmptyPathsAreNotAskedFor) {
  EXPECT_NO_THROW(OutputGuard()
                      .input("--classes", "")
                      .output("--json", "", OutputKind::json())
                      .output("--per-query", "", OutputKind::npy())
                      .check());
}

// Rule 2 ------------------------------------------------------------------------------------------

TEST_F(OutputGuardTest, AnOutputIsNeverAnInputEvenWithForce) {
  for (const bool force : {false, true}) {
    const auto e = error_of([&] {
      OutputGuard(force)
          .input("image", p("photo.jpg"))
          .output_or_stdout("--json", p("photo.jpg"), OutputKind::json())
          .check();
    });
    EXPECT_TRUE(contains(e, "--json '" + p("photo.jpg") + "' would overwrite the input image"))
        << e;
    EXPECT_TRUE(contains(e, "--force does not allow this")) << e;
  }
  // Same kind does not help either: an input is never replaced.
  EXPECT_FALSE(error_of([&] {
                 OutputGuard()
                     .input("--queries", p("q.npy"))
                     .output("--per-query", p("q.npy"), OutputKind::npy())
                     .check();
               }).empty());
  // Nor does a missing input: both are compared by path.
  EXPECT_FALSE(error_of([&] {
                 OutputGuard()
                     .input("--scores", p("missing.npy"))
                     .output("--per-query", p("missing.npy"), OutputKind::npy())
                     .check();
               }).empty());
}

TEST_F(OutputGuardTest, SpellingsOfOnePathAreOnePath) {
  const fs::path saved = fs::current_path();
  fs::current_path(dir_);
  const auto refused = [](const std::string& in, const std::string& out) {
    try {
      OutputGuard().input("--labels", in).output("--out", out, OutputKind::text()).check();
    } catch (const Error& e) {
      return contains(e.what(), "would overwrite the input --labels");
    }
    return false;
  };
  EXPECT_TRUE(refused("labels.txt", p("labels.txt")));    // relative vs absolute
  EXPECT_TRUE(refused(p("labels.txt"), "./labels.txt"));  // "./"
  EXPECT_TRUE(refused("labels.txt", "run/../labels.txt"));
  EXPECT_TRUE(refused("labels.txt", "run/../missing/../labels.txt"));
  EXPECT_TRUE(refused("nothing.txt", "./run/../nothing.txt"));  // neither exists
  fs::create_symlink(p("labels.txt"), p("link.txt"));
  EXPECT_TRUE(refused("labels.txt", "link.txt"));  // a symlink to the input
  EXPECT_TRUE(refused("link.txt", "labels.txt"));  // an input given through a symlink
  fs::create_hard_link(p("labels.txt"), p("hard.txt"));
  EXPECT_TRUE(refused("labels.txt", "hard.txt"));  // a hard link: same file, other name
  EXPECT_FALSE(refused("labels.txt", "other.txt"));
  fs::current_path(saved);
}

TEST_F(OutputGuardTest, NothingIsWrittenInsideAnInputFolder) {
  for (const std::string& out : {p("run/best.ckpt"), p("run/config.json"), p("run/new.json"),
                                 p("run/sub/deeper.json"), p("run/./x/../new.json")}) {
    const auto e = error_of([&] {
      OutputGuard(true)
          .input("--run", p("run"))
          .output_or_stdout("--json", out, OutputKind::json())
          .check();
    });
    EXPECT_TRUE(contains(e, "lies inside --run '" + p("run") + "', a folder this command reads"))
        << out << ": " << e;
  }
  // The folder itself, through a symlink, and with a trailing slash.
  fs::create_directory_symlink(p("run"), p("run-link"));
  EXPECT_FALSE(error_of([&] {
                 OutputGuard()
                     .input("--run", p("run-link/"))
                     .output("--out", p("run/emb"), OutputKind::folder())
                     .check();
               }).empty());
  EXPECT_FALSE(error_of([&] {
                 OutputGuard()
                     .input("--run", p("run"))
                     .output("--out", p("run-link/emb"), OutputKind::folder())
                     .check();
               }).empty());
  EXPECT_FALSE(error_of([&] {
                 OutputGuard()
                     .input("--run", p("run"))
                     .output("--out", p("run/"), OutputKind::folder())
                     .check();
               }).empty());
  // A sibling whose name starts like the folder is outside it; so is the folder's parent.
  EXPECT_NO_THROW(OutputGuard()
                      .input("--run", p("run"))
                      .output("--json", p("run2.json"), OutputKind::json())
                      .output("--out", dir_, OutputKind::folder())
                      .check());
  // A file input protects only itself, not a folder of its name's prefix.
  EXPECT_NO_THROW(OutputGuard()
                      .input("--weights", p("q.npy"))
                      .output("--json", p("q.npy.json"), OutputKind::json())
                      .check());
}

TEST_F(OutputGuardTest, NoInputInsideAFolderTheCommandOwns) {
  for (const bool force : {false, true}) {
    const auto e = error_of([&] {
      OutputGuard(force)
          .input("--semantics", p("run/sem.npy"))
          .output("--out", p("run"), OutputKind::owned_folder("config.json"))
          .check();
    });
    EXPECT_TRUE(contains(e, "the input --semantics '" + p("run/sem.npy") + "' lies inside --out"))
        << e;
  }
  // A plain output folder may hold inputs: it only receives its declared files.
  EXPECT_NO_THROW(OutputGuard()
                      .input("--features", p("q.npy"))
                      .output("--out", dir_, OutputKind::folder())
                      .output("queries", p("queries.npy"), OutputKind::npy())
                      .check());
}

// Rule 3 ------------------------------------------------------------------------------------------

TEST_F(OutputGuardTest, TwoOutputsNeverShareAPath) {
  const fs::path saved = fs::current_path();
  fs::current_path(dir_);
  for (const bool force : {false, true}) {
    const auto e = error_of([&] {
      OutputGuard(force)
          .output_or_stdout("--json", "report.json", OutputKind::json())
          .output("--per-query", p("report.json"), OutputKind::npy())
          .check();
    });
    EXPECT_TRUE(contains(e, "--json and --per-query both write")) << e;
  }
  fs::current_path(saved);
}

// Rule 4 ------------------------------------------------------------------------------------------

TEST_F(OutputGuardTest, FilesAndFoldersAreNotExchanged) {
  for (const bool force : {false, true}) {
    auto e = error_of(
        [&] { OutputGuard(force).output("--json", p("run"), OutputKind::json()).check(); });
    EXPECT_TRUE(contains(e, "is a folder; give --json a file path")) << e;
    e = error_of(
        [&] { OutputGuard(force).output("--out", p("photo.jpg"), OutputKind::folder()).check(); });
    EXPECT_TRUE(contains(e, "is an existing file (a JPEG image), not a folder")) << e;
  }
}

// Rule 5 ------------------------------------------------------------------------------------------

TEST_F(OutputGuardTest, ExistingFilesAreReplacedByTheirOwnKindOnly) {
  const auto allowed = [&](const std::string& name, const OutputKind& kind, bool force = false) {
    return error_of([&] {
             OutputGuard(force).output("--out", p(name), kind).check();
             throw Error("");  // allowed: report an empty message
           })
        .empty();
  };
  EXPECT_TRUE(allowed("new.json", OutputKind::json()));  // nothing there
  EXPECT_TRUE(allowed("old.json", OutputKind::json()));
  EXPECT_TRUE(allowed("empty.json", OutputKind::npy()));  // an empty file holds nothing
  EXPECT_TRUE(allowed("q.npy", OutputKind::npy()));
  EXPECT_TRUE(allowed("labels.txt", OutputKind::text()));
  EXPECT_TRUE(allowed("gallery.hcmsn", OutputKind::hcmsn_file("gallery")));

  EXPECT_FALSE(allowed("photo.jpg", OutputKind::json()));
  EXPECT_FALSE(allowed("q.npy", OutputKind::json()));
  EXPECT_FALSE(allowed("old.json", OutputKind::npy()));
  EXPECT_FALSE(allowed("old.json", OutputKind::text()));  // text never replaces JSON
  EXPECT_FALSE(allowed("labels.txt", OutputKind::json()));
  EXPECT_FALSE(allowed("labels.txt", OutputKind::html()));
  EXPECT_FALSE(allowed("gallery.hcmsn", OutputKind::hcmsn_file("feature-cache")));
  EXPECT_FALSE(allowed("run/best.ckpt", OutputKind::hcmsn_file("gallery")));
  EXPECT_FALSE(allowed("gallery.hcmsn", OutputKind::png()));

  // --force replaces any file...
  EXPECT_TRUE(allowed("photo.jpg", OutputKind::json(), true));
  EXPECT_TRUE(allowed("run/best.ckpt", OutputKind::hcmsn_file("gallery"), true));
  // ... and the message says so, naming what is there and what would be written.
  const auto e = error_of([&] {
    OutputGuard().output_or_stdout("--json", p("photo.jpg"), OutputKind::json()).check();
  });
  EXPECT_TRUE(contains(e, "--json '" + p("photo.jpg") + "' already holds a JPEG image")) << e;
  EXPECT_TRUE(contains(e, "writes JSON there")) << e;
  EXPECT_TRUE(contains(e, "pass --force to replace the file")) << e;
}

TEST_F(OutputGuardTest, ASymlinkedOutputIsJudgedByItsTarget) {
  fs::create_symlink(p("photo.jpg"), p("report.json"));
  EXPECT_TRUE(
      contains(error_of([&] {
                 OutputGuard().output("--json", p("report.json"), OutputKind::json()).check();
               }),
               "a JPEG image"));
}

// Rule 6 ------------------------------------------------------------------------------------------

TEST_F(OutputGuardTest, AnOwnedFolderMustBeNewEmptyOrItsOwn) {
  const auto owned = OutputKind::owned_folder("config.json");
  fs::create_directories(p("empty-dir"));
  write("pictures/holiday.jpg", kJpeg);
  EXPECT_NO_THROW(OutputGuard().output("--out", p("new-run"), owned).check());
  EXPECT_NO_THROW(OutputGuard().output("--out", p("empty-dir"), owned).check());
  EXPECT_NO_THROW(OutputGuard().output("--out", p("run"), owned).check());  // holds config.json
  const auto e = error_of([&] { OutputGuard().output("--out", p("pictures"), owned).check(); });
  EXPECT_TRUE(contains(e, "--out '" + p("pictures") +
                              "' is a folder with other content (no "
                              "config.json"))
      << e;
  EXPECT_TRUE(contains(e, "pass --force")) << e;
  EXPECT_NO_THROW(OutputGuard(true).output("--out", p("pictures"), owned).check());
  // A plain output folder may hold anything.
  EXPECT_NO_THROW(OutputGuard().output("--out", p("pictures"), OutputKind::folder()).check());
}

TEST(OutputKindText, DescribesEveryKind) {
  EXPECT_EQ(describe(OutputKind::json()), "JSON");
  EXPECT_EQ(describe(OutputKind::hcmsn_file("feature-cache")), "an hcmsn feature-cache file");
  EXPECT_EQ(describe(OutputKind::owned_folder("x")), "a folder");
  EXPECT_TRUE(is_stdout_path("-"));
  EXPECT_FALSE(is_stdout_path("-x"));
}

}  // namespace
}  // namespace hcmsn::io
