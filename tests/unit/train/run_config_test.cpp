// Tests of the run configuration: a JSON round trip that keeps every field, rejection of newer,
// incomplete or foreign files, the run folder's files, and build_network for each backbone.
#include "hcmsn/train/run_config.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "hcmsn/model/small_cnn.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::train {
namespace {

using nlohmann::json;

// Every field away from its default, so a field the round trip drops shows up.
RunConfig unusual_config() {
  RunConfig c;
  c.model = model::HCMSNModelOptions(3)
                .in_dim(12)
                .hidden(20)
                .dim(10)
                .hyp_dim(7)
                .sem_dim(5)
                .disc_hidden(9)
                .curvature(0.3)
                .learn_curvature(true)
                .clip_r(1.7)
                .classifier(model::ClassifierKind::kPrototype)
                .temperature(0.4)
                .dropout(0.15)
                .shared_feature_input(true)
                .teacher_classes(11)
                .conse_top(4)
                .fused_embedding(true);
  c.backbone.kind = "small-cnn";
  c.backbone.channels = {5, 6};
  c.backbone.convs_per_stage = 3;
  c.backbone.out_dim = 12;
  c.backbone.input.image_size = 24;
  c.backbone.input.mean = {0.1, 0.2, 0.3};
  c.backbone.input.std = {0.4, 0.5, 0.6};
  c.loss.lambda_cls(0.5)
      .lambda_adv(0.25)
      .lambda_align(2.0)
      .lambda_rec(0.0)
      .lambda_triplet(0.7)
      .margin(0.3)
      .lambda_kd(0.6)
      .kd_temperature(3.5)
      .lambda_bridge(0.45);
  auto& t = c.trainer;
  t.epochs = 7;
  t.sampler.classes_per_batch(3).per_class(5).batches_per_epoch(11).seed(99);
  t.lr = 3e-4;
  t.disc_lr = 7e-5;
  t.beta1 = 0.8;
  t.beta2 = 0.95;
  t.weight_decay = 1e-5;
  t.schedule = LrSchedule::kStep;
  t.min_lr_ratio = 0.05;
  t.warmup_steps = 13;
  t.grad_clip = 2.5;
  t.seed = 99;
  t.augment = false;
  t.checkpoint_every = 17;
  t.eval_every = 2;
  t.ks = {3, 9, 27};
  t.max_steps = 123;
  t.eval_batch = 64;
  t.fusion_weights = "0.5,0.25,0.25";
  t.average_from = 0.625;
  t.checkpoint_rule = CheckpointRule::kEarliestWithinOneSe;
  t.fusion_grid_steps = 4;
  c.data.kind = "images";
  c.data.path = "/some/where";
  c.seen_classes = {"a", "b", "c"};
  c.unseen_classes = {"d", "e"};
  c.validation_classes = {"f"};
  return c;
}

TEST(RunConfigTest, JsonRoundTripKeepsEveryField) {
  const RunConfig c = unusual_config();
  const json j = c.to_json();
  const RunConfig back = RunConfig::from_json(j);
  EXPECT_EQ(back.to_json(), j) << back.to_json().dump(1);
  // Spot checks on the structs themselves, in case to_json and from_json share a blind spot.
  EXPECT_EQ(back.model.hyp_dim(), 7);
  EXPECT_EQ(back.model.classifier(), model::ClassifierKind::kPrototype);
  EXPECT_TRUE(back.model.learn_curvature());
  EXPECT_TRUE(back.model.shared_feature_input());
  EXPECT_EQ(back.backbone.channels, (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(back.backbone.convs_per_stage, 3);
  EXPECT_EQ(back.backbone.input.std[2], 0.6);
  EXPECT_EQ(back.loss.lambda_rec(), 0.0);
  EXPECT_EQ(back.loss.margin(), 0.3);
  EXPECT_EQ(back.trainer.sampler.per_class(), 5);
  EXPECT_EQ(back.trainer.sampler.seed(), 99u);
  EXPECT_EQ(back.trainer.schedule, LrSchedule::kStep);
  EXPECT_EQ(back.trainer.ks, (std::vector<int64_t>{3, 9, 27}));
  EXPECT_EQ(back.trainer.lr, 3e-4);
  EXPECT_FALSE(back.trainer.augment);
  EXPECT_EQ(back.data.path, "/some/where");
  EXPECT_EQ(back.unseen_classes, (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(back.model.teacher_classes(), 11);
  EXPECT_TRUE(back.model.fused_embedding());
  EXPECT_EQ(back.loss.kd_temperature(), 3.5);
  EXPECT_EQ(back.loss.lambda_bridge(), 0.45);
  EXPECT_EQ(back.trainer.fusion_weights, "0.5,0.25,0.25");
  EXPECT_EQ(back.trainer.average_from, 0.625);
  EXPECT_EQ(back.trainer.checkpoint_rule, CheckpointRule::kEarliestWithinOneSe);
  EXPECT_EQ(back.validation_classes, (std::vector<std::string>{"f"}));
  // The defaults survive too.
  const RunConfig d;
  EXPECT_EQ(RunConfig::from_json(d.to_json()).to_json(), d.to_json());
}

TEST(RunConfigTest, RunsFromBeforeKnowledgeTransferLoadWithItOff) {
  // A config written before issue 11 has none of its keys: no teacher, no fusion, no terms.
  json j = unusual_config().to_json();
  for (const char* key : {"teacher_classes", "conse_top", "fused_embedding"}) {
    j["model"].erase(key);
  }
  for (const char* key : {"lambda_kd", "kd_temperature", "lambda_bridge"}) j["loss"].erase(key);
  for (const char* key :
       {"fusion_weights", "fusion_grid_steps", "average_from", "checkpoint_rule"}) {
    j["trainer"].erase(key);
  }
  j.erase("validation_classes");
  const RunConfig c = RunConfig::from_json(j);
  EXPECT_EQ(c.model.teacher_classes(), 0);
  EXPECT_FALSE(c.model.fused_embedding());
  EXPECT_EQ(c.loss.lambda_kd(), 0.0);
  EXPECT_EQ(c.loss.lambda_bridge(), 0.0);
  EXPECT_TRUE(c.trainer.fusion_weights.empty());
  EXPECT_TRUE(c.validation_classes.empty());
  EXPECT_EQ(c.trainer.average_from, 1.0);  // no weight averaging
  EXPECT_EQ(c.trainer.checkpoint_rule, CheckpointRule::kBest);
  EXPECT_EQ(c.model.hyp_dim(), 7);  // everything else as written
}

TEST(RunConfigTest, ExtraPhotosRoundTripAndNeedAFeatureCache) {
  RunConfig c = unusual_config();
  c.data.kind = "features";
  c.data.extra_photos = "/some/views.cache";
  const json j = c.to_json();
  EXPECT_EQ(j["data"]["extra_photos"], "/some/views.cache");
  EXPECT_EQ(RunConfig::from_json(j).data.extra_photos, "/some/views.cache");
  // Absent (every run before issue 11's photo views): none.
  json before = j;
  before["data"].erase("extra_photos");
  EXPECT_TRUE(RunConfig::from_json(before).data.extra_photos.empty());
  EXPECT_FALSE(unusual_config().to_json()["data"].contains("extra_photos"));
  json images = j;
  images["data"]["kind"] = "images";
  EXPECT_TRUE(test::contains(test::error_of([&] { RunConfig::from_json(images); }),
                             "extra_photos needs data.kind features"));
}

TEST(RunConfigTest, RunFolderRoundTrip) {
  const std::string dir = test::temp_dir("run_config");
  const RunConfig c = unusual_config();
  write_run_config(dir, c);
  EXPECT_EQ(config_path(dir), (std::filesystem::path(dir) / "config.json").string());
  EXPECT_EQ(read_run_config(dir).to_json(), c.to_json());
  const std::string empty = test::temp_dir("run_config_empty");
  EXPECT_TRUE(test::contains(test::error_of([&] { read_run_config(empty); }), "config.json"));
  util::write_file_atomic(config_path(empty), "{ not json");
  EXPECT_TRUE(test::contains(test::error_of([&] { read_run_config(empty); }), "JSON"));
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(empty);
}

TEST(RunConfigTest, FromJsonRejectsNewerIncompleteOrForeignConfigs) {
  const json good = unusual_config().to_json();
  {
    json j = good;
    j["version"] = RunConfig::kVersion + 1;
    EXPECT_TRUE(test::contains(test::error_of([&] { RunConfig::from_json(j); }), "newer"));
  }
  {
    json j = good;
    j["model"].erase("dim");
    const std::string msg = test::error_of([&] { RunConfig::from_json(j); });
    EXPECT_TRUE(test::contains(msg, "dim")) << msg;
  }
  for (const char* key : {"trainer", "loss", "backbone", "data", "seen_classes", "version"}) {
    json j = good;
    j.erase(key);
    test::error_of([&] { RunConfig::from_json(j); });
  }
  {
    json j = good;
    j["trainer"].erase("ks");
    test::error_of([&] { RunConfig::from_json(j); });
  }
  {
    json j = good;
    j["format"] = "something-else";
    EXPECT_TRUE(test::contains(test::error_of([&] { RunConfig::from_json(j); }), "not an hcmsn"));
    j.erase("format");
    test::error_of([&] { RunConfig::from_json(j); });
  }
  {
    json j = good;
    j["model"]["in_dim"] = "twelve";  // wrong type
    test::error_of([&] { RunConfig::from_json(j); });
  }
  {
    json j = good;
    j["trainer"]["schedule"] = "exponential";
    EXPECT_TRUE(test::contains(test::error_of([&] { RunConfig::from_json(j); }), "exponential"));
  }
  {
    json j = good;
    j["model"]["classifier"] = "svm";
    test::error_of([&] { RunConfig::from_json(j); });
  }
  test::error_of([] { RunConfig::from_json(json::array()); });
  test::error_of([] { RunConfig::from_json(json(3)); });
}

TEST(RunConfigTest, LrScheduleNames) {
  for (const auto s : {LrSchedule::kConstant, LrSchedule::kCosine, LrSchedule::kStep}) {
    EXPECT_EQ(parse_lr_schedule(to_string(s)), s);
  }
  test::error_of([] { parse_lr_schedule("Cosine"); });
}

TEST(RunConfigTest, BuildNetworkForEachBackbone) {
  RunConfig c;
  c.model = model::HCMSNModelOptions(4).in_dim(8).hidden(16).dim(8).sem_dim(6).disc_hidden(8);
  c.backbone.kind = "none";
  auto plain = build_network(c);
  EXPECT_FALSE(plain->has_backbone());
  const auto x = torch::randn({3, 8});
  const auto m = torch::tensor({0, 1, 0}, torch::kInt64);
  plain->eval();
  EXPECT_EQ(plain->embed(x, m).sizes(), (std::vector<int64_t>{3, 8}));

  c.backbone.kind = "small-cnn";
  c.backbone.channels = {4, 8};
  c.backbone.convs_per_stage = 2;
  c.backbone.out_dim = 8;
  c.backbone.input.image_size = 16;
  auto cnn = build_network(c);
  ASSERT_TRUE(cnn->has_backbone());
  EXPECT_EQ(cnn->backbone()->kind(), "small-cnn");
  EXPECT_EQ(cnn->backbone()->out_dim(), 8);
  EXPECT_EQ(cnn->backbone()->input_options().image_size, 16);
  const auto* small = dynamic_cast<model::SmallCNNImpl*>(cnn->backbone());
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(small->options().channels(), (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(small->options().convs_per_stage(), 2);
  // 2 stages × 2 convs × (conv weight, BatchNorm weight and bias) + the head's weight and bias.
  EXPECT_EQ(cnn->backbone()->parameters().size(), 2u * 2 * 3 + 2);
  // The backbone's parameters train with the generator.
  EXPECT_EQ(cnn->generator_parameters().size(),
            plain->generator_parameters().size() + cnn->backbone()->parameters().size());
  cnn->eval();
  const auto images = torch::randint(0, 256, {3, 3, 16, 16}, torch::kUInt8);
  EXPECT_EQ(cnn->embed(images, m).sizes(), (std::vector<int64_t>{3, 8}));

  c.backbone.out_dim = 0;  // the pooled features: channels.back() = 8 = in_dim
  EXPECT_EQ(build_network(c)->backbone()->out_dim(), 8);
  c.backbone.out_dim = 9;  // does not feed in_dim = 8
  EXPECT_TRUE(test::contains(test::error_of([&] { build_network(c); }), "in_dim"));
  c.backbone.out_dim = 0;
  c.backbone.channels = {4, 16};
  EXPECT_TRUE(test::contains(test::error_of([&] { build_network(c); }), "in_dim"));
  c.backbone.kind = "resnet-7";
  EXPECT_TRUE(test::contains(test::error_of([&] { build_network(c); }), "resnet-7"));
}

}  // namespace
}  // namespace hcmsn::train
