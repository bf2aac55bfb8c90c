// Files under concurrent writers and damage (issue 14), through the CLI on a tiny trained run:
// two `index --add` at once keep every row (one waits for the other's lock), a writer that holds
// a run or gallery makes another refuse naming it, a dead writer's temporary is removed by the
// next write, the same photo under another path is skipped, a hand-edited config.json is refused
// naming the field, a gallery of another curvature is refused by query and serve alike, and a
// damaged checkpoint with a valid checksum names its file.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <thread>

#include "hcmsn/index/gallery.h"
#include "hcmsn/io/checked_file.h"
#include "hcmsn/serve/search_service.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/file_lock.h"
#include "support/test_support.h"
#include "support/tiny_gallery.h"

namespace hcmsn {
namespace {

namespace fs = std::filesystem;

class ConcurrentWriters : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir("concurrent_writers"));
    // The serve tests' tiny run (synthetic images, a small CNN): its data and run folder.
    const auto& tiny = test::tiny_gallery();
    ASSERT_GT(tiny.gallery.size(), 0) << "no tiny gallery";
    fs::create_directory_symlink(tiny.data, path("data"));
    run_ = new std::string(tiny.run);
    // Three disjoint photo folders of 12 classes each.
    std::vector<fs::path> classes;
    for (const auto& e : fs::directory_iterator(path("data/photo"))) classes.push_back(e.path());
    std::sort(classes.begin(), classes.end());
    ASSERT_EQ(classes.size(), 36U);
    for (size_t i = 0; i < classes.size(); ++i) {
      const std::string part = path("part" + std::to_string(i / 12));
      fs::create_directories(part);
      fs::copy(classes[i], part + "/" + classes[i].filename().string());
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete run_;
  }
  static std::string path(const std::string& name) { return *dir_ + "/" + name; }
  static std::string run() { return *run_; }
  static std::string index_args(const std::string& photos, const std::string& gallery) {
    return "--threads 1 --log-level warn index --quiet --run '" + run() + "' --photos '" + photos +
           "' --out '" + gallery + "'";
  }
  static std::string* dir_;
  static std::string* run_;
};
std::string* ConcurrentWriters::dir_ = nullptr;
std::string* ConcurrentWriters::run_ = nullptr;

TEST_F(ConcurrentWriters, TwoAddsAtOnceKeepEveryRow) {
  const std::string gallery = path("shared.hcmsn");
  ASSERT_EQ(test::run_cli(index_args(path("part0"), gallery)).exit_code, 0);
  test::CommandResult first, second;
  std::thread a([&] { first = test::run_cli(index_args(path("part1"), gallery) + " --add"); });
  std::thread b([&] { second = test::run_cli(index_args(path("part2"), gallery) + " --add"); });
  a.join();
  b.join();
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(second.exit_code, 0) << second.output;
  const index::Gallery g = index::load_gallery(gallery);
  EXPECT_EQ(g.size(), 36 * 3);  // none of either writer's 36 photos lost
  EXPECT_EQ(g.class_names().size(), 36U);
}

TEST_F(ConcurrentWriters, AHeldLockRefusesOrDelaysTheNextWriterNamingTheHolder) {
  const std::string gallery = path("held.hcmsn");
  ASSERT_EQ(test::run_cli(index_args(path("part0"), gallery)).exit_code, 0);
  {
    util::FileLockOptions o;
    o.what = "the test";
    const util::FileLock lock(util::lock_path_of_file(gallery), o);
    const auto r = test::run_cli(index_args(path("part1"), gallery) + " --add --lock-wait 0");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(
        test::contains(r.output, "is locked by pid " + std::to_string(getpid()) + " (the test)"))
        << r.output;
    // The run folder likewise: a --resume while another train holds it.
    const util::FileLock run_lock(util::lock_path_of_folder(run()), o);
    const auto t = test::run_cli("--log-level warn train --quiet --resume --out '" + run() + "'");
    EXPECT_EQ(t.exit_code, 1);
    EXPECT_TRUE(test::contains(t.output, "is locked by pid")) << t.output;
  }
  EXPECT_EQ(index::load_gallery(gallery).size(), 36);
  // A writer that waits gets in once the holder is done.
  std::unique_ptr<util::FileLock> lock =
      std::make_unique<util::FileLock>(util::lock_path_of_file(gallery));
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    lock.reset();
  });
  const auto r = test::run_cli(index_args(path("part1"), gallery) + " --add --lock-wait 60");
  release.join();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(index::load_gallery(gallery).size(), 72);
}

TEST_F(ConcurrentWriters, TheNextWriteRemovesADeadWritersTemporary) {
  const std::string gallery = path("tmp.hcmsn");
  ASSERT_EQ(test::run_cli(index_args(path("part0"), gallery)).exit_code, 0);
  const pid_t child = fork();
  if (child == 0) _exit(0);
  int status = 0;
  waitpid(child, &status, 0);  // a pid no process has now: a SIGKILLed writer's
  const std::string stale = gallery + ".tmp." + std::to_string(child) + ".Ab12Cd";
  std::ofstream(stale) << "half a gallery";
  ASSERT_EQ(test::run_cli(index_args(path("part1"), gallery) + " --add").exit_code, 0);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_EQ(index::load_gallery(gallery).size(), 72);
}

TEST_F(ConcurrentWriters, TheSamePhotosFromAnotherPathAreSkipped) {
  const std::string gallery = path("dedupe.hcmsn");
  ASSERT_EQ(test::run_cli(index_args(path("part0"), gallery)).exit_code, 0);
  fs::copy(path("part0"), path("part0_copy"), fs::copy_options::recursive);
  const auto r = test::run_cli("--threads 1 index --quiet --photos '" + path("part0_copy") +
                               "' --out '" + gallery + "' --add");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(test::contains(r.output, "36 of 36 photos have the same content")) << r.output;
  const index::Gallery g = index::load_gallery(gallery);
  EXPECT_EQ(g.size(), 36);
  for (const auto& e : g.entries) EXPECT_EQ(e.content_hash.size(), 16U) << e.path;
}

// A copy of the run whose config.json has `edit` applied.
std::string edited_run(const std::string& run, const std::string& name,
                       const std::function<void(nlohmann::json&)>& edit) {
  const std::string copy = fs::path(run).parent_path().string() + "/" + name;
  fs::copy(run, copy, fs::copy_options::recursive);
  fs::remove(copy + "/lock");
  auto config = nlohmann::json::parse(util::read_file(copy + "/config.json"));
  edit(config);
  util::write_file_atomic(copy + "/config.json", config.dump(2));
  return copy;
}

TEST_F(ConcurrentWriters, AHandEditedConfigIsRefusedNamingTheField) {
  const struct {
    const char* name;
    std::function<void(nlohmann::json&)> edit;
    const char* message;
  } cases[] = {
      {"version", [](nlohmann::json& c) { c["version"] = 1e308; }, "version must be an integer"},
      {"mean", [](nlohmann::json& c) { c["backbone"]["mean"][0] = 4.6e18; },
       "backbone.mean[0] must be a number in"},
      {"half", [](nlohmann::json& c) { c["trainer"]["eval_batch"] = 0.5; },
       "trainer.eval_batch must be an integer, got 0.5"},
      {"lr", [](nlohmann::json& c) { c["trainer"]["lr"] = "fast"; }, "trainer.lr must be a number"},
      {"missing", [](nlohmann::json& c) { c["model"].erase("dim"); }, "model.dim is missing"},
      {"classes", [](nlohmann::json& c) { c["seen_classes"].erase(0); }, "seen_classes holds"},
  };
  for (const auto& c : cases) {
    const std::string run_copy = edited_run(run(), std::string("edited_") + c.name, c.edit);
    const auto r = test::run_cli("eval --quiet --run '" + run_copy + "'");
    EXPECT_EQ(r.exit_code, 1) << c.name;
    EXPECT_TRUE(test::contains(r.output, c.message)) << c.name << ": " << r.output;
    EXPECT_TRUE(test::contains(r.output, run_copy + "/config.json")) << r.output;
  }
}

TEST_F(ConcurrentWriters, AGalleryOfAnotherCurvatureIsRefusedByQueryAndServe) {
  const std::string gallery = path("curved.hcmsn");
  ASSERT_EQ(test::run_cli(index_args(path("part0"), gallery)).exit_code, 0);
  index::Gallery g = index::load_gallery(gallery);
  ASSERT_GT(g.curvature, 0.0);
  g.curvature /= 2;  // rows stay inside the larger ball: a valid file, the wrong distance
  index::save_gallery(gallery, g);
  std::string sketch;
  for (const auto& e : fs::recursive_directory_iterator(path("data/sketch"))) {
    if (e.is_regular_file()) sketch = e.path().string();
  }
  const auto r = test::run_cli("query --index '" + gallery + "' '" + sketch + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.output, "differs from the gallery's")) << r.output;
  const std::string served = test::error_of([&] { serve::load_index(gallery); });
  EXPECT_TRUE(test::contains(served, "differs from the gallery's")) << served;
}

TEST_F(ConcurrentWriters, ADamagedCheckpointWithAValidChecksumNamesItsFile) {
  const std::string copy = edited_run(run(), "damaged", [](nlohmann::json&) {});
  const std::string ckpt = copy + "/best.ckpt";
  io::CheckedFile file = io::read_checked_file(ckpt, "checkpoint", 99);
  // Scribble over the network's pickle (its opcodes, not tensor data, whose damage would only
  // change weights), then checksum the file again.
  const size_t record = file.payload.find("data.pkl");
  ASSERT_NE(record, std::string::npos);
  const size_t pickle = file.payload.find('\x80', record);  // PROTO opcode
  ASSERT_NE(pickle, std::string::npos);
  for (size_t i = pickle + 2; i < pickle + 34; ++i) file.payload[i] = static_cast<char>(0xA5);
  io::write_checked_file(ckpt, "checkpoint", file.version, file.payload);
  const auto r = test::run_cli("eval --quiet --run '" + copy + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.output, ckpt)) << r.output;
  EXPECT_FALSE(test::contains(r.output, "terminate")) << r.output;
}

// A truncated PNG or JPEG sketch: one clear message from query (no second "libpng error" line,
// no grey half-decoded JPEG searched), and an unreadable photo listed by index.
TEST_F(ConcurrentWriters, CorruptImagesGetOneClearMessage) {
  const std::string gallery = path("corrupt.hcmsn");
  ASSERT_EQ(test::run_cli(index_args(path("part0"), gallery)).exit_code, 0);
  std::string png;
  for (const auto& e : fs::recursive_directory_iterator(path("data/sketch"))) {
    if (e.is_regular_file()) png = util::read_file(e.path().string());
  }
  util::write_file_atomic(path("cut.png"), png.substr(0, png.size() / 3));
  std::vector<uchar> buffer;
  ASSERT_TRUE(cv::imencode(".jpg", cv::Mat(48, 48, CV_8UC3, cv::Scalar(0, 0, 255)), buffer));
  util::write_file_atomic(path("cut.jpg"),
                          std::string(buffer.begin(), buffer.begin() + buffer.size() / 3));
  for (const char* name : {"cut.png", "cut.jpg"}) {
    const auto r = test::run_cli("query --index '" + gallery + "' '" + path(name) + "'");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(test::contains(r.output, "is truncated")) << r.output;
    EXPECT_FALSE(test::contains(r.output, "libpng")) << r.output;
    EXPECT_FALSE(test::contains(r.output, "Premature end")) << r.output;
  }
  fs::create_directories(path("photos_cut/cat"));
  fs::copy_file(path("cut.jpg"), path("photos_cut/cat/cut.jpg"));
  fs::copy_file(path("cut.png"), path("photos_cut/cat/cut.png"));
  fs::copy(path("part1"), path("photos_cut"), fs::copy_options::recursive);
  const auto r = test::run_cli(index_args(path("photos_cut"), gallery) + " --add");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(test::contains(r.output, "libpng")) << r.output;
  const std::string unreadable = util::read_file(gallery + ".unreadable.tsv");
  EXPECT_TRUE(test::contains(unreadable, "cut.jpg")) << unreadable;
  EXPECT_TRUE(test::contains(unreadable, "cut.png")) << unreadable;
  EXPECT_EQ(index::load_gallery(gallery).size(), 72);
}

}  // namespace
}  // namespace hcmsn
