// `hcmsn demo --quick`, the main job on a fresh machine: it must train to at least 3× the chance
// level on the unseen classes and leave a complete, usable output folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hcmsn/data/synthetic_images.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

using test::read_text;

namespace fs = std::filesystem;

TEST(Demo, QuickDemoBeatsThreeTimesChanceAndWritesEverything) {
  const std::string out = test::temp_dir("demo") + "/out";
  auto r = test::run_cli("demo --quick --quiet --out '" + out + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const auto metrics = nlohmann::json::parse(read_text(out + "/metrics.json"));
  const double chance = metrics.at("chance_map_all").get<double>();
  EXPECT_GT(chance, 0.0);
  EXPECT_LT(chance, 0.5);
  for (const char* run : {"hcmsn", "euclidean"}) {
    for (const char* key : {"map_all", "prec@100", "prec@200", "map@100", "map@200", "num_queries",
                            "num_gallery", "protocol", "metric", "curvature", "per_class"}) {
      EXPECT_TRUE(metrics.at(run).contains(key)) << run << " " << key;
    }
  }
  const double map = metrics["hcmsn"]["map_all"].get<double>();
  EXPECT_GE(map, 3.0 * chance) << "HCMSN unseen mAP@all " << map << ", chance " << chance;
  EXPECT_GT(metrics["hcmsn"]["curvature"].get<double>(), 0.0);
  EXPECT_EQ(metrics["euclidean"]["curvature"].get<double>(), 0.0);

  // The report has every section, with pictures inline.
  const std::string html = read_text(out + "/report.html");
  for (const char* piece :
       {"<table", "mAP@all", "chance", "<svg", "Poincar", "data:image/png", "Retrieval examples"}) {
    EXPECT_TRUE(test::contains(html, piece)) << piece;
  }

  // The generated images, one folder per class and modality.
  for (const auto& cls : data::synthetic_classes()) {
    EXPECT_TRUE(fs::is_directory(out + "/data/sketch/" + cls.name)) << cls.name;
    EXPECT_TRUE(fs::is_directory(out + "/data/photo/" + cls.name)) << cls.name;
  }

  // DIR/run works wherever --run is taken: eval reproduces metrics.json.
  r = test::run_cli("eval --quiet --run '" + out + "/run' --json '" + out + "/eval.json'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto eval = nlohmann::json::parse(read_text(out + "/eval.json"));
  EXPECT_EQ(eval["map_all"], metrics["hcmsn"]["map_all"]);
  EXPECT_EQ(eval["per_class"], metrics["hcmsn"]["per_class"]);

  // DIR/gallery.hcmsn holds every photo and answers a sketch query with photos of classes.
  const auto photos = std::distance(fs::recursive_directory_iterator(out + "/data/photo"),
                                    fs::recursive_directory_iterator{}) -
                      static_cast<std::ptrdiff_t>(data::synthetic_classes().size());
  const std::string sketch =
      fs::directory_iterator(out + "/data/sketch/" + data::synthetic_classes()[0].name)->path();
  r = test::run_cli("query --json - -k 3 --index '" + out + "/gallery.hcmsn' '" + sketch + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto found = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  ASSERT_EQ(found["results"].size(), 3u);
  EXPECT_TRUE(found["results"][0]["class"].is_string());
  r = test::run_cli("query -k 1 --index '" + out + "/gallery.hcmsn' '" + sketch + "'");
  EXPECT_TRUE(test::contains(r.output, "of " + std::to_string(photos) + " photos")) << r.output;
}

}  // namespace
}  // namespace hcmsn
