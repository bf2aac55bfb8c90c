// Fine-tuning a pretrained backbone end to end on a streamed dataset (issue 12), on a tiny
// generated image set and a randomly initialised MobileNetV2 written as a weights file:
// one step equals a hand-written LibTorch step (same pixels, same loss, Adam with the backbone's
// learning-rate factor), frozen BatchNorm stays frozen (statistics and affine) while the convs
// train, --train-bn lets it move, a run killed mid-epoch and resumed repeats the uninterrupted
// one exactly, and misuse gets a clear error.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "hcmsn/data/batch_prefetcher.h"
#include "hcmsn/data/feature_cache.h"
#include "hcmsn/index/gallery.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/io/safetensors.h"
#include "hcmsn/model/losses.h"
#include "hcmsn/train/balanced_sampler.h"
#include "hcmsn/train/run_loader.h"
#include "hcmsn/train/training_set.h"
#include "hcmsn/vision/pretrained.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

using test::read_json_lines;

namespace fs = std::filesystem;

torch::Tensor param(const torch::nn::Module& m, const std::string& name) {
  for (const auto& p : m.named_parameters()) {
    if (p.key() == name) return p.value();
  }
  for (const auto& b : m.named_buffers()) {
    if (b.key() == name) return b.value();
  }
  ADD_FAILURE() << "no tensor " << name;
  return {};
}

class FineTune : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir("fine_tune"));
    const auto r = test::run_cli(
        "--log-level warn synth-images --quiet --image-size 40 --photos-per-class 4 "
        "--sketches-per-class 4 --out '" +
        data() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    // "Pretrained" weights: a random MobileNetV2 with non-trivial BatchNorm statistics.
    torch::manual_seed(11);
    auto backbone = vision::make_backbone("mobilenet_v2");
    io::NamedTensors tensors;
    torch::NoGradGuard no_grad;
    for (const auto& p : backbone->named_parameters()) tensors.emplace_back(p.key(), p.value());
    for (const auto& b : backbone->named_buffers()) {
      if (b.key().find("num_batches_tracked") != std::string::npos) continue;
      auto value = b.value();
      if (b.key().find("running_mean") != std::string::npos) value.uniform_(-0.1, 0.1);
      if (b.key().find("running_var") != std::string::npos) value.uniform_(0.5, 1.5);
      tensors.emplace_back(b.key(), value);
    }
    io::write_safetensors(weights(), tensors);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string data() { return *dir_ + "/data"; }
  static std::string weights() { return *dir_ + "/mobilenet.safetensors"; }
  static std::string path(const std::string& name) { return *dir_ + "/" + name; }
  static std::string train_args(const std::string& run, const std::string& extra) {
    return "--threads 2 --log-level warn train --quiet --layout generic --root '" + data() +
           "' --semantics '" + data() + "/semantics.npy' --semantics-classes '" + data() +
           "/classes.txt' --unseen '" + data() + "/unseen.txt' --out '" + run +
           "' --backbone mobilenet_v2 --weights '" + weights() +
           "' --image-size 32 --dim 16 --hidden 32 --classes-per-batch 3 --per-class 2 " + extra;
  }
  static std::string* dir_;
};
std::string* FineTune::dir_ = nullptr;

TEST_F(FineTune, OneStepEqualsAHandWrittenStepAndFrozenBatchNormStaysFrozen) {
  const std::string run = path("run_step");
  const auto r = test::run_cli(
      train_args(run,
                 "--epochs 1 --max-steps 1 --dropout 0 --no-adv --grad-clip 0 --warmup-steps 0 "
                 "--backbone-lr-factor 0.1 --workers 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto trained = train::load_run(run, "last");
  const auto& config = trained.config;
  EXPECT_TRUE(config.backbone.freeze_batch_norm);
  EXPECT_EQ(config.data.kind, "dataset");

  // The reference: the same network from the same seed, the same rows and pixels, the loss of
  // the library, and torch's own Adam with two groups.
  torch::manual_seed(config.trainer.seed);
  auto network = train::build_network(config, /*load_pretrained=*/true);
  auto rows_all = train::load_rows(config.data, config.backbone, false);
  auto seen = rows_all.subset_classes(config.seen_classes);
  const train::BalancedSampler sampler(
      seen.labels, seen.modality,
      train::BalancedSamplerOptions(config.trainer.sampler).seed(config.trainer.seed));
  const auto rows = sampler.epoch_batches(0)[0];
  std::vector<torch::Tensor> pixels;
  for (int64_t i = 0; i < rows.size(0); ++i) {
    const auto row = rows[i].item<int64_t>();
    pixels.push_back(seen.source->load(seen.items[static_cast<size_t>(row)], true,
                                       data::item_seed(config.trainer.seed, 0, i)));
  }
  const auto x = torch::stack(pixels);
  const auto labels = seen.labels.index_select(0, rows);
  const auto modality = seen.modality.index_select(0, rows);
  std::vector<torch::Tensor> backbone_params;
  for (const auto& p : network->backbone()->parameters()) {
    if (p.requires_grad()) backbone_params.push_back(p);
  }
  const double lr = config.trainer.lr * train::lr_factor(config.trainer, 0, 1);
  const auto adam = torch::optim::AdamOptions(lr)
                        .betas(std::make_tuple(config.trainer.beta1, config.trainer.beta2))
                        .weight_decay(config.trainer.weight_decay);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(backbone_params, std::make_unique<torch::optim::AdamOptions>(
                                           torch::optim::AdamOptions(adam).lr(lr * 0.1)));
  groups.emplace_back(network->hcmsn()->generator_parameters(),
                      std::make_unique<torch::optim::AdamOptions>(adam));
  torch::optim::Adam optimizer(std::move(groups), adam);
  auto semantics = train::read_run_semantics(run);
  const auto w =
      train::class_embeddings_for(config.seen_classes, semantics.class_names, semantics.embeddings);
  network->train();
  const auto out = network->forward(x, modality);
  optimizer.zero_grad();
  model::total_loss(*network->hcmsn(), out, labels, modality, w, config.loss).total.backward();
  optimizer.step();

  int64_t compared = 0;
  const auto initial = vision::load_pretrained_backbone("mobilenet_v2", weights());
  for (const auto& p : network->named_parameters()) {
    const auto got = param(*trained.network, p.key());
    // Adam's first step is ±lr·g/(|g| + eps): where a gradient is within float rounding of
    // zero, the two runs' summation orders (2 threads there, 1 here) may flip it. So: all but
    // a few elements per thousand agree to 1e-6, and none differs by more than two steps.
    const auto diff = (got - p.value()).abs();
    const double off = (diff > 1e-6).to(torch::kFloat64).mean().item<double>();
    EXPECT_LT(off, 2e-3) << p.key();
    EXPECT_LE(diff.max().item<double>(), 2 * lr + 1e-7) << p.key();
    ++compared;
  }
  EXPECT_GT(compared, 100);
  // Frozen BatchNorm: running statistics and affine parameters are the file's, bit for bit;
  // the convolutions moved.
  const auto* bb = trained.network->backbone();
  ASSERT_NE(bb, nullptr);
  for (const char* name : {"features.1.conv.0.1.running_mean", "features.1.conv.0.1.running_var",
                           "features.1.conv.0.1.weight", "features.18.1.bias"}) {
    EXPECT_TRUE(torch::equal(param(*trained.network, std::string("backbone.") + name),
                             param(*initial, name)))
        << name;
  }
  EXPECT_FALSE(torch::equal(param(*trained.network, "backbone.features.0.0.weight"),
                            param(*initial, "features.0.0.weight")));
}

TEST_F(FineTune, TrainBatchNormLetsTheStatisticsMove) {
  const std::string run = path("run_bn");
  const auto r = test::run_cli(train_args(run, "--epochs 1 --max-steps 1 --train-bn"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto trained = train::load_run(run, "last");
  EXPECT_FALSE(trained.config.backbone.freeze_batch_norm);
  const auto initial = vision::load_pretrained_backbone("mobilenet_v2", weights());
  EXPECT_FALSE(torch::equal(param(*trained.network, "backbone.features.1.conv.0.1.running_mean"),
                            param(*initial, "features.1.conv.0.1.running_mean")));
}

TEST_F(FineTune, KilledMidEpochAndResumedEqualsUninterrupted) {
  const std::string flags = "--epochs 2 --checkpoint-every 1 --workers 2 --prefetch 2";
  const std::string full = path("run_full");
  auto r = test::run_cli(train_args(full, flags));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string killed = path("run_killed");
  r = test::run_cli(train_args(killed, flags + " --max-steps 3"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // A SIGKILL right after the step-3 checkpoint leaves the same state: resume from it with
  // another number of workers (speed only).
  r = test::run_cli("--threads 2 --log-level warn train --quiet --resume --workers 1 --out '" +
                    killed + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto a = read_json_lines(full + "/log.jsonl");
  const auto b = read_json_lines(killed + "/log.jsonl");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t e = 0; e < a.size(); ++e) {
    EXPECT_EQ(a[e]["loss"], b[e]["loss"]) << e;
    EXPECT_EQ(a[e]["unseen"]["map_all"], b[e]["unseen"]["map_all"]) << e;
    EXPECT_TRUE(a[e].contains("data_wait_share"));
    EXPECT_EQ(a[e]["unreadable_items"], 0);
  }
  const auto x = train::load_run(full, "last");
  const auto y = train::load_run(killed, "last");
  for (const auto& p : x.network->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), param(*y.network, p.key()))) << p.key();
  }
}

TEST_F(FineTune, UnreadableImagesAreSkippedAndReported) {
  // A copy of the data with one corrupt photo.
  const std::string copy = path("data_corrupt");
  fs::copy(data(), copy, fs::copy_options::recursive);
  std::string victim;
  for (const auto& e : fs::recursive_directory_iterator(copy + "/photo")) {
    if (e.is_regular_file()) {
      victim = e.path().string();
      break;
    }
  }
  ASSERT_FALSE(victim.empty());
  std::ofstream(victim, std::ios::trunc) << "not a png";
  std::string args = train_args(path("run_corrupt"), "--epochs 1 --eval-every 0");
  args.replace(args.find(data()), data().size(), copy);
  const auto r = test::run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto log = read_json_lines(path("run_corrupt") + "/log.jsonl");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_GE(log[0]["unreadable_items"].get<int64_t>(), 1);
  EXPECT_TRUE(test::contains(r.output, fs::path(victim).filename().string())) << r.output;
}

TEST_F(FineTune, OnCudaTheStepMatchesTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const std::string flags =
      "--epochs 1 --max-steps 2 --dropout 0 --no-adv --grad-clip 0 --eval-every 0 --device ";
  ASSERT_EQ(test::run_cli(train_args(path("run_cpu"), flags + "cpu")).exit_code, 0);
  ASSERT_EQ(test::run_cli(train_args(path("run_cuda"), flags + "cuda")).exit_code, 0);
  // The CUDA run's checkpoint loads on the CPU; its parameters agree with the CPU run's to
  // float rounding of two steps (the same pixels: augmentation is on the CPU).
  const auto cpu = train::load_run(path("run_cpu"), "last");
  const auto cuda = train::load_run(path("run_cuda"), "last");
  for (const auto& p : cpu.network->named_parameters()) {
    const auto diff = (p.value() - param(*cuda.network, p.key())).abs();
    EXPECT_LT((diff > 1e-5).to(torch::kFloat64).mean().item<double>(), 5e-3) << p.key();
  }
}

TEST_F(FineTune, EveryCommandThatRunsANetworkRefusesCudaWithoutIt) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "this machine has CUDA";
  const std::string run = path("run_small");
  const std::string small =
      "--threads 2 --log-level warn train --quiet --images '" + data() + "' --semantics '" +
      data() + "/semantics.npy' --semantics-classes '" + data() + "/classes.txt' --unseen '" +
      data() + "/unseen.txt' --out '" + run +
      "' --image-size 16 --cnn-channels 4,8 --dim 16 --hidden 32 --classes-per-batch 3 "
      "--per-class 2 --epochs 1";
  ASSERT_EQ(test::run_cli(small).exit_code, 0);
  const std::string gallery = path("small.hgal");
  ASSERT_EQ(test::run_cli("index --quiet --run '" + run + "' --photos '" + data() +
                          "/photo' --out '" + gallery + "'")
                .exit_code,
            0);
  std::string sketch;
  for (const auto& e : fs::recursive_directory_iterator(data() + "/sketch")) {
    if (e.is_regular_file()) sketch = e.path().string();
  }
  const std::vector<std::string> commands = {
      "eval --quiet --run '" + run + "'",
      "embed --quiet --run '" + run + "' --out '" + path("emb_cuda") + "'",
      "index --quiet --run '" + run + "' --photos '" + data() + "/photo' --out '" +
          path("cuda.hgal") + "'",
      "query --index '" + gallery + "' '" + sketch + "'",
      "eval-gallery --quiet --index '" + gallery + "' --sketches '" + data() + "/sketch'",
      "serve --index '" + gallery + "' --port 0",
      "extract --quiet --layout generic --root '" + data() +
          "' --backbone mobilenet_v2 --weights '" + weights() + "' --out '" + path("cuda.cache") +
          "'",
      "metrics --query-labels q.txt --gallery-labels g.txt --queries q.npy --gallery g.npy",
  };
  for (const auto& command : commands) {
    const auto r = test::run_cli(command + " --device cuda");
    EXPECT_EQ(r.exit_code, 1) << command << "\n" << r.output;
    EXPECT_TRUE(test::contains(r.output, "no CUDA device")) << command << "\n" << r.output;
  }
  EXPECT_FALSE(fs::exists(path("cuda.hgal")));
  EXPECT_FALSE(fs::exists(path("cuda.cache")));
}

// --precision bf16: extraction marks its cache (and fingerprint) and its features follow the
// float32 ones row by row; fine-tuning runs under it without saving it in the run.
TEST_F(FineTune, Bf16ExtractionAndTraining) {
  const std::string extract = "--threads 2 extract --quiet --layout generic --root '" + data() +
                              "' --backbone mobilenet_v2 --weights '" + weights() + "' --out '";
  ASSERT_EQ(test::run_cli(extract + path("fp32.cache") + "'").exit_code, 0);
  ASSERT_EQ(test::run_cli(extract + path("bf16.cache") + "' --precision bf16").exit_code, 0);
  const auto fp32 = data::load_feature_cache(path("fp32.cache"));
  const auto bf16 = data::load_feature_cache(path("bf16.cache"));
  EXPECT_FALSE(fp32.meta.contains("precision"));
  EXPECT_EQ(bf16.meta.value("precision", ""), "bf16");
  ASSERT_EQ(fp32.features.sizes(), bf16.features.sizes());
  EXPECT_EQ(bf16.features.scalar_type(), torch::kFloat32);
  EXPECT_GT((fp32.features - bf16.features).abs().max().item<double>(), 0.0);
  const auto cos = torch::cosine_similarity(fp32.features.to(torch::kFloat64),
                                            bf16.features.to(torch::kFloat64), 1);
  EXPECT_GT(cos.min().item<double>(), 0.995);

  // One Adam step from the same weights in each precision: the first step is about
  // lr·sign(g), so the two updates agree where the gradients' signs do.
  const std::string step = "--epochs 1 --max-steps 1 --dropout 0 --no-adv --warmup-steps 0";
  ASSERT_EQ(test::run_cli(train_args(path("step_fp32"), step)).exit_code, 0);
  const auto r = test::run_cli(train_args(path("step_bf16"), step + " --precision bf16"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto a = train::load_run(path("step_fp32"), "last");
  const auto b = train::load_run(path("step_bf16"), "last");
  const auto initial = vision::load_pretrained_backbone("mobilenet_v2", weights());
  std::vector<torch::Tensor> delta_a, delta_b;
  for (const auto& p : initial->named_parameters()) {
    const std::string name = "backbone." + p.key();
    delta_a.push_back((param(*a.network, name) - p.value()).flatten());
    delta_b.push_back((param(*b.network, name) - p.value()).flatten());
  }
  const auto da = torch::cat(delta_a).to(torch::kFloat64);
  const auto db = torch::cat(delta_b).to(torch::kFloat64);
  ASSERT_TRUE(torch::isfinite(db).all().item<bool>());
  const double agree = (da.dot(db) / (da.norm() * db.norm())).item<double>();
  std::cout << "bf16 vs fp32 first-step update cosine " << agree << "\n";
  EXPECT_GT(agree, 0.7);
  std::ifstream config(path("step_bf16") + "/config.json");
  const std::string config_text((std::istreambuf_iterator<char>(config)),
                                std::istreambuf_iterator<char>());
  EXPECT_FALSE(test::contains(config_text, "bf16"));
  const auto bad = test::run_cli(train_args(path("run_fp16"), "--precision fp16"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(test::contains(bad.output, "--precision")) << bad.output;
}

// A fine-tuned run is a run like any other: eval equals metrics on embed's export, the gallery
// index holds embed's photo rows, and query ranks that gallery.
TEST_F(FineTune, EveryRunCommandTakesAFineTunedRun) {
  const std::string run = path("run_commands");
  ASSERT_EQ(test::run_cli(train_args(run, "--epochs 1 --max-steps 2 --eval-every 0")).exit_code, 0);
  auto r = test::run_cli("eval --quiet --run '" + run + "' --checkpoint last --json '" +
                         path("commands_eval.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_cli("embed --quiet --run '" + run + "' --checkpoint last --out '" +
                    path("commands_emb") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream info_in(path("commands_emb/embedding.json"));
  const auto info = nlohmann::json::parse(info_in);
  char curvature[64];
  std::snprintf(curvature, sizeof curvature, "%.17g", info["curvature"].get<double>());
  const std::string emb = path("commands_emb");
  r = test::run_cli("metrics --quiet --queries '" + emb + "/queries.npy' --query-labels '" + emb +
                    "/query_labels.txt' --gallery '" + emb + "/gallery.npy' --gallery-labels '" +
                    emb + "/gallery_labels.txt' --curvature " + curvature + " --json '" +
                    path("commands_metrics.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream eval_in(path("commands_eval.json")), metrics_in(path("commands_metrics.json"));
  const auto eval = nlohmann::json::parse(eval_in);
  const auto metrics = nlohmann::json::parse(metrics_in);
  EXPECT_EQ(eval["map_all"], metrics["map_all"]);
  EXPECT_EQ(eval["num_queries"], metrics["num_queries"]);

  const std::string gallery = path("commands.hgal");
  r = test::run_cli("index --quiet --run '" + run + "' --checkpoint last --photos '" + data() +
                    "/photo' --out '" + gallery + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const index::Gallery g = index::load_gallery(gallery);
  std::map<std::string, int64_t> row_of;
  for (int64_t i = 0; i < g.size(); ++i) {
    row_of[fs::weakly_canonical(g.entries[static_cast<size_t>(i)].path).string()] = i;
  }
  const torch::Tensor exported = io::read_npy(emb + "/gallery.npy").to(torch::kFloat32);
  const auto ids = io::read_labels(emb + "/gallery_ids.txt");
  ASSERT_FALSE(ids.empty());
  for (size_t i = 0; i < ids.size(); ++i) {
    // A streamed run's item ids are paths relative to the dataset's root.
    const auto it = row_of.find(fs::weakly_canonical(fs::path(data()) / ids[i]).string());
    ASSERT_NE(it, row_of.end()) << ids[i];
    EXPECT_TRUE(
        torch::allclose(g.embeddings[it->second], exported[static_cast<int64_t>(i)], 1e-4, 1e-5))
        << ids[i];
  }
  std::string sketch;
  for (const auto& e : fs::recursive_directory_iterator(data() + "/sketch")) {
    if (e.is_regular_file()) sketch = e.path().string();
  }
  r = test::run_cli("query --index '" + gallery + "' -k 3 --json - '" + sketch + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto out = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  ASSERT_EQ(out["results"].size(), 3u);
  EXPECT_LE(out["results"][0]["distance"].get<double>(),
            out["results"][2]["distance"].get<double>());
}

TEST_F(FineTune, MisuseGetsAClearError) {
  struct Case {
    std::string flags, message;
  };
  const std::vector<Case> cases = {
      {"--backbone mobilenet_v2", "--weights"},
      {"--backbone small-cnn --weights x.safetensors", "--weights is for a pretrained"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string run = path("bad" + std::to_string(i));
    std::string args =
        "--threads 2 --log-level warn train --quiet --layout generic --root '" + data() +
        "' --semantics '" + data() + "/semantics.npy' --semantics-classes '" + data() +
        "/classes.txt' --unseen '" + data() + "/unseen.txt' --out '" + run + "' " + cases[i].flags;
    const auto r = test::run_cli(args);
    EXPECT_EQ(r.exit_code, 1) << cases[i].flags;
    EXPECT_TRUE(test::contains(r.output, cases[i].message)) << cases[i].flags << "\n" << r.output;
  }
  // CUDA asked for where there is none, before any work.
  if (!torch::cuda::is_available()) {
    const auto r = test::run_cli(train_args(path("bad_cuda"), "--device cuda"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(test::contains(r.output, "no CUDA device")) << r.output;
    EXPECT_FALSE(fs::exists(path("bad_cuda")));
  }
  // --images and the dataset flags at once.
  const auto r = test::run_cli(train_args(path("bad_both"), "--images '" + data() + "'"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.output, "exactly one of")) << r.output;
}

}  // namespace
}  // namespace hcmsn
