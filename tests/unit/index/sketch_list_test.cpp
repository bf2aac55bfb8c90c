// Query sketches from files, folders, list files and .ndjson files: ids, classes (folder, list,
// or the drawing's "word"), the cap per file, lazy loading, and what is reported rather than
// dropped.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hcmsn/index/sketch_list.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

namespace fs = std::filesystem;

const char kCat[] = R"({"word": "Cat", "drawing": [[[10, 200, 240], [20, 30, 220]]]})";
const char kDog[] = R"({"word": "hot dog", "drawing": [[[0, 50], [0, 90]], [[5, 9], [60, 1]]]})";
const char kBare[] = R"([[[1, 2, 3], [3, 2, 1]]])";

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

std::string norm(const fs::path& p) {
  return fs::absolute(p).lexically_normal().string();
}

TEST(SketchList, FolderGivesClassesFromTheFirstSubfolderAndWords) {
  const fs::path root = test::temp_dir("sketch_list");
  write(root / "cat/a.png", "x");
  write(root / "cat/more/b.json", kBare);
  write(root / "dog/c.ndjson", std::string(kCat) + "\n\n" + kDog + "\n");  // the folder wins
  write(root / "loose.ndjson", std::string(kDog) + "\r\n" + kBare + "\r\n");
  write(root / "notes.txt", "x");
  write(root / ".hidden/d.png", "x");
  const auto s = index::list_sketches(root.string());
  ASSERT_EQ(s.size(), 6u);
  EXPECT_EQ(s[0].id, norm(root / "cat/a.png"));
  EXPECT_EQ(s[0].class_name, "cat");
  EXPECT_EQ(s[0].format, index::SketchFormat::kImage);
  EXPECT_EQ(s[1].format, index::SketchFormat::kStrokes);
  EXPECT_EQ(s[1].class_name, "cat");
  EXPECT_EQ(s[2].id, norm(root / "dog/c.ndjson") + ":1");
  EXPECT_EQ(s[2].class_name, "dog");
  EXPECT_EQ(s[3].id, norm(root / "dog/c.ndjson") + ":3");  // the blank line 2 is no drawing
  EXPECT_EQ(s[3].line, 3);
  EXPECT_EQ(s[3].class_name, "dog");
  EXPECT_EQ(s[4].id, norm(root / "loose.ndjson") + ":1");
  EXPECT_EQ(s[4].class_name, "hot dog");  // the word, as spelled
  EXPECT_EQ(s[5].class_name, "");         // a bare strokes array has no word
  for (const auto& q : s) EXPECT_TRUE(q.problem.empty()) << q.id;
}

TEST(SketchList, ListFileWithRelativePathsClassesAndNdjson) {
  const fs::path root = test::temp_dir("sketch_list_file");
  write(root / "img/a.png", "x");
  write(root / "q.ndjson", std::string(kCat) + "\n" + kDog + "\n" + kBare + "\n");
  write(root / "one.json", kCat);
  write(root / "list.txt",
        "# sketches\nimg/a.png\tsea turtle\r\n\nq.ndjson\n" + norm(root / "one.json") + "\tlion\n");
  const auto s = index::list_sketches((root / "list.txt").string());
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].class_name, "sea turtle");
  EXPECT_EQ(s[1].class_name, "Cat");
  EXPECT_EQ(s[2].class_name, "hot dog");
  EXPECT_EQ(s[3].class_name, "");
  EXPECT_EQ(s[3].id, norm(root / "q.ndjson") + ":3");
  EXPECT_EQ(s[4].class_name, "lion");  // the list's class wins over the word
  // A .json file named alone takes its word.
  EXPECT_EQ(index::list_sketch_file((root / "one.json").string(), "")[0].class_name, "Cat");
}

TEST(SketchList, CapPerNdjsonFile) {
  const fs::path root = test::temp_dir("sketch_list_cap");
  std::string text;
  for (int i = 0; i < 10; ++i) text += std::string(kCat) + "\n";
  write(root / "many.ndjson", text);
  index::SketchListOptions options;
  options.max_per_file = 3;
  const auto s = index::list_sketch_file((root / "many.ndjson").string(), "", options);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[2].line, 3);
  EXPECT_EQ(index::list_sketch_file((root / "many.ndjson").string(), "").size(), 10u);
}

TEST(SketchList, LoadsLazilyWhatItListed) {
  const fs::path root = test::temp_dir("sketch_list_load");
  write(root / "q.ndjson", std::string(kCat) + "\r\n" + kDog + "\n");
  write(root / "one.json", kBare);
  const auto s =
      index::collect_sketches({(root / "q.ndjson").string(), (root / "one.json").string()}, {});
  ASSERT_EQ(s.size(), 3u);
  const data::RenderOptions render{32, 1.0, 0.05};
  const auto expect = [&](const index::QuerySketch& q, const char* json) {
    const torch::Tensor want = data::render_drawing(data::parse_drawing(json), render);
    EXPECT_TRUE(torch::equal(index::load_sketch(q, render), want)) << q.id;
  };
  expect(s[0], kCat);
  expect(s[1], kDog);
  expect(s[2], kBare);
}

TEST(SketchList, MalformedSketchesAreListedWithTheirReason) {
  const fs::path root = test::temp_dir("sketch_list_bad");
  write(root / "q.ndjson", std::string(kCat) + "\n{not json\n" + R"({"word": "x"})" + "\n");
  write(root / "empty.ndjson", "\n\n");
  write(root / "broken.png", "not a png");
  const auto s = index::collect_sketches({}, {root.string()});
  ASSERT_EQ(s.size(), 5u);  // broken.png, empty.ndjson, q.ndjson:1..3
  const data::RenderOptions render{32, 1.0, 0.05};
  EXPECT_FALSE(test::error_of([&] { index::load_sketch(s[0], render); }).empty());
  EXPECT_EQ(s[1].id, norm(root / "empty.ndjson"));
  EXPECT_TRUE(test::contains(s[1].problem, "no drawing")) << s[1].problem;
  EXPECT_TRUE(
      test::contains(test::error_of([&] { index::load_sketch(s[1], render); }), "no drawing"));
  EXPECT_TRUE(s[2].problem.empty());
  EXPECT_TRUE(test::contains(s[3].problem, "not valid JSON")) << s[3].problem;
  EXPECT_TRUE(
      test::contains(test::error_of([&] { index::load_sketch(s[3], render); }), "not valid JSON"));
  EXPECT_EQ(s[4].class_name, "x");  // parses, but has no drawing: fails when loaded
  EXPECT_TRUE(test::contains(test::error_of([&] { index::load_sketch(s[4], render); }), "drawing"));
}

TEST(SketchList, MissingThingsAreNamed) {
  const fs::path root = test::temp_dir("sketch_list_missing");
  fs::create_directories(root / "empty");
  write(root / "list.txt", "gone1.png\ngone2.png\n");
  write(root / "notes.txt", "x");
  auto e = test::error_of([&] { index::list_sketches((root / "empty").string()); });
  EXPECT_TRUE(test::contains(e, "no sketches found")) << e;
  e = test::error_of([&] { index::list_sketches((root / "list.txt").string()); });
  EXPECT_TRUE(test::contains(e, "sketch list")) << e;
  EXPECT_TRUE(test::contains(e, "2 file(s) that do not exist")) << e;
  e = test::error_of([&] { index::list_sketches((root / "nope").string()); });
  EXPECT_TRUE(test::contains(e, "do not exist")) << e;
  e = test::error_of([&] { index::collect_sketches({(root / "nope.png").string()}, {}); });
  EXPECT_TRUE(test::contains(e, "does not exist")) << e;
  e = test::error_of([&] { index::collect_sketches({(root / "empty").string()}, {}); });
  EXPECT_TRUE(test::contains(e, "is a folder")) << e;
  e = test::error_of([&] { index::collect_sketches({(root / "notes.txt").string()}, {}); });
  EXPECT_TRUE(test::contains(e, "not a sketch file")) << e;
  e = test::error_of([&] { index::collect_sketches({}, {}); });
  EXPECT_TRUE(test::contains(e, "no sketches given")) << e;
}

}  // namespace
}  // namespace hcmsn
