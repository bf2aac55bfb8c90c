// `hcmsn dataset` end to end: the project's real-data set (QuickDraw drawings + TU-Berlin sketches
// + photos under the QuickDraw-Ext split) agrees with the library and with the data's known
// counts; a list with a missing file is reported; bad input exits 1 with a clear message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "hcmsn/data/dataset.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

using test::read_json;

namespace fs = std::filesystem;
using test::contains;

void write(const fs::path& path, const std::string& text = "x") {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

TEST(CliDataset, RealQuickDrawTuBerlinAndPhotosUnderQuickDraw30) {
  const std::string shared = test::shared("data");
  if (!fs::is_directory(shared + "/quickdraw")) GTEST_SKIP() << "no ../shared/data";
  const std::string json = test::temp_dir("cli_dataset_real") + "/summary.json";
  const auto r = test::run_cli("dataset --ndjson-dir '" + shared + "/quickdraw' --sketch-dir '" +
                               shared + "/tuberlin40' --photo-dir '" + shared +
                               "/photos' --split quickdraw30 --json '" + json + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "split: quickdraw30; 110 classes (80 seen, 30 unseen)"))
      << r.output;
  const auto j = read_json(json);
  // Every QuickDraw-Ext class has its 25 drawings; the other 234 words are outside the split.
  ASSERT_EQ(j["sources"].size(), 3u);
  EXPECT_EQ(j["sources"][2]["kind"], "ndjson");
  EXPECT_EQ(j["sources"][2]["items"], 110 * 25);
  int64_t outside = 0;
  for (const auto& kv : j["sources"][2]["out_of_split"].items())
    outside += kv.value().get<int64_t>();
  EXPECT_EQ(outside, 234 * 25);
  EXPECT_EQ(j["sources"][2]["out_of_split"].size(), 234u);
  EXPECT_EQ(j["missing"], 0);
  // The CLI prints exactly what the library computes.
  data::DatasetSpec spec;
  spec.ndjson_dirs = {shared + "/quickdraw"};
  spec.sketch_dirs = {shared + "/tuberlin40"};
  spec.photo_dirs = {shared + "/photos"};
  spec.split = "quickdraw30";
  const auto summary = data::summarize(data::build_dataset(spec));
  EXPECT_EQ(j, summary.to_json());
  // Every unseen class has its drawings; the 13 photo classes of README's table are unseen.
  int64_t unseen_with_photos = 0;
  for (const auto& c : j["per_class"]) {
    if (!c["unseen"].get<bool>()) continue;
    EXPECT_GE(c["sketches"].get<int64_t>(), 25) << c["name"];
    if (c["photos"].get<int64_t>() > 0) ++unseen_with_photos;
  }
  EXPECT_EQ(unseen_with_photos, 13);
}

TEST(CliDataset, ListWithMissingFileIsReportedAndBadInputExitsOne) {
  const fs::path root = test::temp_dir("cli_dataset_list");
  write(root / "sketches/alarm clock/1.png");
  write(root / "images/alarm clock/2.jpg");
  write(root / "list.txt", "sketches/alarm clock/1.png 0\nsketches/alarm clock/9.png 0\n");
  write(root / "map.txt", "alarm clock 0\n");
  write(root / "unseen.txt", "Alarm_Clock\n");
  const std::string json = (root / "s.json").string();
  auto r =
      test::run_cli("dataset --layout quickdraw --root '" + root.string() + "' --sketch-list '" +
                    (root / "list.txt").string() + "' --class-map '" + (root / "map.txt").string() +
                    "' --unseen '" + (root / "unseen.txt").string() + "' --json '" + json + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = read_json(json);
  EXPECT_EQ(j["counts"]["unseen"]["sketch"], 1);
  EXPECT_EQ(j["counts"]["unseen"]["photo"], 1);
  EXPECT_EQ(j["missing"], 1);
  EXPECT_EQ(j["sources"][0]["missing"][0], (root / "sketches/alarm clock/9.png").string());
  EXPECT_TRUE(contains(r.output, "1 missing")) << r.output;

  r = test::run_cli("dataset --layout generic --root '" + root.string() + "' --split sketchy");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "error: unknown split 'sketchy'; the standard splits are"))
      << r.output;
  write(root / "bad.txt", "sketches/alarm clock/1.png\n");
  r = test::run_cli("dataset --sketch-list '" + (root / "bad.txt").string() + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, (root / "bad.txt").string() + ":1: malformed line")) << r.output;
}

}  // namespace
}  // namespace hcmsn
