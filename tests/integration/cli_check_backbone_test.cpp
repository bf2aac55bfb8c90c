// `hcmsn check-backbone` end to end with the shared MobileNetV2 weights: the JSON report names
// the README's top-1 classes, the table is printed, and bad images or weights fail with exit 1.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace hcmsn {
namespace {

class CliCheckBackbone : public ::testing::Test {
 protected:
  void SetUp() override {
    weights_ = test::shared("weights/mobilenet_v2_imagenet.safetensors");
    if (!std::filesystem::exists(weights_)) GTEST_SKIP() << "no shared weights at " << weights_;
    dir_ = test::temp_dir("cli_check_backbone");
  }
  std::string image(const std::string& name) const {
    return "'" + test::shared("weights/test_images/" + name) + "'";
  }
  std::string weights_, dir_;
};

TEST_F(CliCheckBackbone, JsonReportHasTheReadmeTop1) {
  const std::string json = dir_ + "/top5.json";
  const auto r = test::run_cli("check-backbone --backbone mobilenet_v2 --weights '" + weights_ +
                               "' " + image("grace_hopper.bmp") + " " + image("hot_dog.jpg") +
                               " --json '" + json + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(test::contains(r.output, "military uniform")) << r.output;
  std::ifstream in(json);
  const auto report = nlohmann::json::parse(in);
  ASSERT_EQ(report.size(), 2u);
  const std::string expected[2] = {"military uniform", "hotdog"};
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(test::contains(report[i]["image"].get<std::string>(),
                               i == 0 ? "grace_hopper.bmp" : "hot_dog.jpg"));
    const auto& top5 = report[i]["top5"];
    ASSERT_EQ(top5.size(), 5u);
    EXPECT_EQ(top5[0]["class"], expected[i]);
    // Probabilities descend and a softmax's top 5 sum to at most 1.
    double sum = 0;
    for (size_t k = 0; k < 5; ++k) {
      sum += top5[k]["prob"].get<double>();
      if (k > 0) {
        EXPECT_LE(top5[k]["prob"].get<double>(), top5[k - 1]["prob"].get<double>());
      }
      EXPECT_GE(top5[k]["index"].get<int64_t>(), 0);
      EXPECT_LT(top5[k]["index"].get<int64_t>(), 1000);
    }
    EXPECT_LE(sum, 1.0 + 1e-6);
    // README: military uniform 0.93, hotdog 0.88 (its resize; ours differs a little).
    EXPECT_GT(top5[0]["prob"].get<double>(), 0.7);
  }
}

TEST_F(CliCheckBackbone, BadImageOrWeightsFailWithAMessage) {
  const std::string bad = dir_ + "/broken.jpg";
  std::ofstream(bad) << "not a jpeg";
  auto r = test::run_cli("check-backbone --backbone mobilenet_v2 --weights '" + weights_ + "' '" +
                         bad + "'");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(test::contains(r.output, "broken.jpg")) << r.output;

  const std::string bad_weights = dir_ + "/w.safetensors";
  std::ofstream(bad_weights) << "garbage";
  r = test::run_cli("check-backbone --backbone mobilenet_v2 --weights '" + bad_weights + "' " +
                    image("cat.bmp"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(test::contains(r.output, "w.safetensors")) << r.output;

  r = test::run_cli("check-backbone --backbone vgg --weights '" + weights_ + "' " +
                    image("cat.bmp"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(test::contains(r.output, "mobilenet_v2")) << r.output;
}

}  // namespace
}  // namespace hcmsn
