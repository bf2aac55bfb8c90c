// Photos to index: folder layouts, list files, and the errors for what is missing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "hcmsn/index/photo_list.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

namespace fs = std::filesystem;

void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "x";
}

TEST(PhotoList, FolderGivesClassesFromTheFirstSubfolder) {
  const fs::path root = test::temp_dir("photo_list");
  touch(root / "cat/a.jpg");
  touch(root / "cat/more/b.PNG");
  touch(root / "dog/c.jpeg");
  touch(root / "loose.bmp");
  touch(root / "notes.txt");
  touch(root / ".hidden/d.jpg");
  touch(root / "dog/.e.jpg");
  const auto photos = index::list_photos(root.string());
  ASSERT_EQ(photos.size(), 4u);
  EXPECT_EQ(photos[0].path, (root / "cat/a.jpg").lexically_normal().string());
  EXPECT_EQ(photos[0].class_name, "cat");
  EXPECT_EQ(photos[1].class_name, "cat");  // cat/more/b.PNG
  EXPECT_EQ(photos[2].class_name, "dog");
  EXPECT_EQ(photos[3].path, (root / "loose.bmp").lexically_normal().string());
  EXPECT_EQ(photos[3].class_name, "");
}

TEST(PhotoList, ListFileWithRelativePathsAndClasses) {
  const fs::path root = test::temp_dir("photo_list_file");
  touch(root / "img/a.jpg");
  touch(root / "img/b.jpg");
  std::ofstream(root / "list.txt") << "# photos\nimg/a.jpg\tsea turtle\r\n\n"
                                   << (root / "img/b.jpg").string() << "\n";
  const auto photos = index::list_photos((root / "list.txt").string());
  ASSERT_EQ(photos.size(), 2u);
  EXPECT_EQ(photos[0].path, (root / "img/a.jpg").lexically_normal().string());
  EXPECT_EQ(photos[0].class_name, "sea turtle");
  EXPECT_EQ(photos[1].class_name, "");
}

TEST(PhotoList, MissingThingsAreNamed) {
  const fs::path root = test::temp_dir("photo_list_bad");
  std::ofstream(root / "list.txt") << "gone1.jpg\ngone2.jpg\n";
  const std::string e = test::error_of([&] { index::list_photos((root / "list.txt").string()); });
  EXPECT_TRUE(test::contains(e, "2 file(s) that do not exist")) << e;
  EXPECT_TRUE(test::contains(e, "line 2")) << e;
  EXPECT_TRUE(test::contains(test::error_of([&] { index::list_photos((root / "nope").string()); }),
                             "do not exist"));
  fs::create_directories(root / "empty");
  EXPECT_TRUE(test::contains(test::error_of([&] { index::list_photos((root / "empty").string()); }),
                             "no photos found"));
}

}  // namespace
}  // namespace hcmsn
