// Tests of the trainer: the learning-rate schedule, exact resume (features and images, mid-epoch
// and at an epoch boundary), that it learns a zero-shot task, the run folder's files and their
// corruption, input validation, and the loss ablations.
//
// The synthetic task: class c has a random "semantic" vector w_c; a sketch of c is A_s w_c +
// noise and a photo A_p w_c + noise, with two different random linear maps. Retrieval across
// modalities needs F to align the two maps, and since both are linear in w, what is learnt on the
// seen classes transfers to the unseen ones.
#include "hcmsn/train/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "hcmsn/io/checked_file.h"
#include "hcmsn/metrics/chance.h"
#include "hcmsn/train/checkpoint.h"
#include "hcmsn/train/retrieval_eval.h"
#include "hcmsn/train/run_loader.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/interrupt.h"
#include "support/test_support.h"

namespace hcmsn::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Problem {
  RunConfig config;
  TrainingSet seen;
  TrainingSet unseen;
  torch::Tensor seen_embeddings;  // (num_seen, sem_dim)
};

std::vector<std::string> names(int64_t from, int64_t to) {
  std::vector<std::string> out;
  for (int64_t c = from; c < to; ++c) out.push_back("class" + std::to_string(c));
  return out;
}

// Splits `all` (classes class0 … class{K−1}) into the first num_seen and the rest, and sets up a
// tiny model and a short run.
Problem make_problem(const TrainingSet& all, const torch::Tensor& semantics, int64_t num_seen) {
  const int64_t k = static_cast<int64_t>(all.class_names.size());
  Problem p;
  p.config.seen_classes = names(0, num_seen);
  p.config.unseen_classes = names(num_seen, k);
  p.seen = all.subset_classes(p.config.seen_classes);
  p.unseen = all.subset_classes(p.config.unseen_classes);
  p.seen_embeddings = semantics.narrow(0, 0, num_seen).clone();
  p.config.model = model::HCMSNModelOptions(num_seen)
                       .in_dim(8)
                       .hidden(16)
                       .dim(8)
                       .sem_dim(semantics.size(1))
                       .disc_hidden(8);
  auto& t = p.config.trainer;
  t.epochs = 3;
  t.sampler.classes_per_batch(4).per_class(2);
  t.seed = 3;
  t.sampler.seed(t.seed);
  t.checkpoint_every = 2;
  t.ks = {5};
  t.eval_batch = 7;  // several embedding batches
  t.progress = false;
  return p;
}

// K classes of `per_modality` sketches and photos each; features as described at the top.
Problem feature_problem(int64_t k, int64_t num_seen, int64_t per_modality, double noise,
                        uint64_t seed) {
  torch::manual_seed(seed);
  const int64_t sem_dim = 6, in_dim = 8;
  const auto semantics = torch::randn({k, sem_dim});
  const auto maps = torch::randn({2, sem_dim, in_dim}) / std::sqrt(double(sem_dim));
  TrainingSet all;
  all.class_names = names(0, k);
  all.labels = torch::arange(k).repeat_interleave(2 * per_modality);
  all.modality = torch::tensor({int64_t{0}, int64_t{1}}).repeat_interleave(per_modality).repeat(k);
  const auto w = semantics.index_select(0, all.labels).unsqueeze(1);  // (N, 1, sem)
  all.inputs = torch::bmm(w, maps.index_select(0, all.modality)).squeeze(1) +
               noise * torch::randn({all.labels.size(0), in_dim});
  all.validate();
  return make_problem(all, semantics, num_seen);
}

// 16-px images: class c has its own colour and stripe period; sketches are grey strokes on
// white, photos are coloured; plus pixel noise.
Problem image_problem() {
  torch::manual_seed(17);
  const int64_t k = 6, per_modality = 4, side = 16;
  TrainingSet all;
  all.class_names = names(0, k);
  all.labels = torch::arange(k).repeat_interleave(2 * per_modality);
  all.modality = torch::tensor({int64_t{0}, int64_t{1}}).repeat_interleave(per_modality).repeat(k);
  const int64_t n = all.labels.size(0);
  auto images = torch::empty({n, 3, side, side});
  const auto colours = torch::rand({k, 3});
  const auto ys = torch::arange(side).view({side, 1}).expand({side, side});
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = all.labels[i].item<int64_t>();
    const auto stripes = ((ys % (c + 2)) == 0).to(torch::kFloat32);
    if (all.modality[i].item<int64_t>() == 0) {
      images[i] = (1.0 - 0.8 * stripes).unsqueeze(0).expand({3, side, side});
    } else {
      images[i] = colours[c].view({3, 1, 1}) * (0.5 + 0.5 * stripes);
    }
  }
  images = (images * 230 + torch::rand({n, 3, side, side}) * 25).clamp(0, 255);
  all.inputs = images.to(torch::kUInt8);
  all.validate();
  Problem p = make_problem(all, torch::randn({k, 6}), 4);
  p.config.backbone.kind = "small-cnn";
  p.config.backbone.channels = {4, 8};
  p.config.backbone.out_dim = 8;
  p.config.backbone.input.image_size = side;
  p.config.data.kind = "images";
  p.config.trainer.epochs = 2;
  p.config.trainer.sampler.classes_per_batch(2);
  p.config.trainer.augment = true;
  return p;
}

struct TrainedRun {
  TrainResult result;
  model::RetrievalNetwork network{nullptr};
};

TrainedRun train_run(const Problem& p, const std::string& dir, bool resume, int64_t max_steps = 0,
                     const RunConfig* config_override = nullptr) {
  RunConfig config = config_override ? *config_override : p.config;
  config.trainer.max_steps = max_steps;
  Trainer trainer(dir, config, p.seen, p.unseen, p.seen_embeddings);
  TrainedRun run;
  run.result = trainer.train(resume);
  run.network = trainer.network();
  return run;
}

void expect_same_network(const model::RetrievalNetworkImpl& a,
                         const model::RetrievalNetworkImpl& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    ASSERT_TRUE(pb.contains(item.key())) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << "parameter " << item.key();
  }
  const auto ba = a.named_buffers(), bb = b.named_buffers();
  ASSERT_EQ(ba.size(), bb.size());
  for (const auto& item : ba) {
    ASSERT_TRUE(bb.contains(item.key())) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), bb[item.key()])) << "buffer " << item.key();
  }
}

// A record without its wall-clock fields.
json timeless(json record) {
  record.erase("seconds");
  record.erase("samples_per_second");
  if (record.contains("unseen")) record["unseen"].erase("seconds");
  return record;
}

void expect_same_history(const json& a, const json& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(timeless(a[i]), timeless(b[i])) << "epoch " << i + 1;
  }
}

bool same_tensors(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return true;
}

std::vector<torch::Tensor> snapshot(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params) out.push_back(p.detach().clone());
  return out;
}

std::string copy_run(const std::string& from, const std::string& tag) {
  const std::string to = test::temp_dir(tag);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  return to;
}

// ---------------------------------------------------------------------------------------------

TEST(TrainerLrFactorTest, WarmupRampsLinearly) {
  TrainerOptions o;
  o.schedule = LrSchedule::kConstant;
  o.warmup_steps = 4;
  EXPECT_DOUBLE_EQ(lr_factor(o, 0, 100), 0.25);
  EXPECT_DOUBLE_EQ(lr_factor(o, 1, 100), 0.5);
  EXPECT_DOUBLE_EQ(lr_factor(o, 3, 100), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(o, 4, 100), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(o, 99, 100), 1.0);
  o.schedule = LrSchedule::kCosine;
  EXPECT_DOUBLE_EQ(lr_factor(o, 1, 100), 0.5);
  EXPECT_DOUBLE_EQ(lr_factor(o, 4, 100), 1.0);  // the decay starts after the warm-up
}

TEST(TrainerLrFactorTest, CosineEndpointsAndMidpoint) {
  TrainerOptions o;
  o.schedule = LrSchedule::kCosine;
  o.min_lr_ratio = 0.02;
  for (const int64_t warmup : {0, 10}) {
    o.warmup_steps = warmup;
    const int64_t total = 100 + warmup;
    EXPECT_DOUBLE_EQ(lr_factor(o, warmup, total), 1.0);
    EXPECT_NEAR(lr_factor(o, warmup + 50, total), 0.5 * (1 + 0.02), 1e-12);
    EXPECT_NEAR(lr_factor(o, total, total), 0.02, 1e-12);
    EXPECT_NEAR(lr_factor(o, total + 40, total), 0.02, 1e-12);  // stays at the floor
    EXPECT_NEAR(lr_factor(o, warmup + 25, total), 0.02 + 0.98 * 0.5 * (1 + std::cos(M_PI / 4)),
                1e-12);
    double previous = 2.0;
    for (int64_t s = warmup; s < total; ++s) {
      const double f = lr_factor(o, s, total);
      EXPECT_LT(f, previous) << s;
      EXPECT_GT(f, 0.02) << s;
      previous = f;
    }
  }
}

TEST(TrainerLrFactorTest, StepScheduleBoundaries) {
  TrainerOptions o;
  o.schedule = LrSchedule::kStep;
  EXPECT_DOUBLE_EQ(lr_factor(o, 0, 100), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(o, 49, 100), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(o, 50, 100), 0.1);
  EXPECT_DOUBLE_EQ(lr_factor(o, 74, 100), 0.1);
  EXPECT_DOUBLE_EQ(lr_factor(o, 75, 100), 0.01);
  EXPECT_DOUBLE_EQ(lr_factor(o, 99, 100), 0.01);
  o.warmup_steps = 20;  // boundaries at 50% and 75% of the 100 steps after the warm-up
  EXPECT_DOUBLE_EQ(lr_factor(o, 20, 120), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(o, 69, 120), 1.0);
  EXPECT_DOUBLE_EQ(lr_factor(o, 70, 120), 0.1);
  EXPECT_DOUBLE_EQ(lr_factor(o, 94, 120), 0.1);
  EXPECT_DOUBLE_EQ(lr_factor(o, 95, 120), 0.01);
}

TEST(TrainerLrFactorTest, ConstantIsOneAndAllScheduleStayInRange) {
  TrainerOptions o;
  o.schedule = LrSchedule::kConstant;
  for (int64_t s = 0; s < 30; ++s) EXPECT_EQ(lr_factor(o, s, 30), 1.0);
  for (const auto schedule : {LrSchedule::kConstant, LrSchedule::kCosine, LrSchedule::kStep}) {
    o.schedule = schedule;
    o.min_lr_ratio = 0.0;
    o.warmup_steps = 3;
    for (int64_t s = 0; s < 17; ++s) {
      const double f = lr_factor(o, s, 17);
      EXPECT_GT(f, 0.0) << to_string(schedule) << " " << s;
      EXPECT_LE(f, 1.0) << to_string(schedule) << " " << s;
    }
    EXPECT_GT(lr_factor(o, 0, 1), 0.0);  // a one-step run
  }
}

// ---------------------------------------------------------------------------------------------
// One uninterrupted run on the 12-class feature problem, shared by the tests below.

class TrainerFeatureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    problem_ = std::make_unique<Problem>(feature_problem(12, 8, 6, 0.2, 5));
    dir_ = test::temp_dir("trainer_a");
    reference_ = std::make_unique<TrainedRun>(train_run(*problem_, dir_, false));
  }
  static void TearDownTestSuite() {
    fs::remove_all(dir_);
    reference_.reset();
    problem_.reset();
  }
  // 8 seen classes × 12 rows, 16 rows a batch: 6 steps an epoch, 18 in all.
  static constexpr int64_t kStepsPerEpoch = 6;

  static std::unique_ptr<Problem> problem_;
  static std::unique_ptr<TrainedRun> reference_;
  static std::string dir_;
};
std::unique_ptr<Problem> TrainerFeatureTest::problem_;
std::unique_ptr<TrainedRun> TrainerFeatureTest::reference_;
std::string TrainerFeatureTest::dir_;

TEST_F(TrainerFeatureTest, ReferenceRunFinishes) {
  const TrainResult& r = reference_->result;
  EXPECT_TRUE(r.finished);
  EXPECT_EQ(r.state.epoch, 3);
  EXPECT_EQ(r.state.step_in_epoch, 0);
  EXPECT_EQ(r.state.global_step, 3 * kStepsPerEpoch);
  ASSERT_EQ(r.state.history.size(), 3u);
  EXPECT_GE(r.state.best_epoch, 1);
  EXPECT_EQ(r.state.best_score,
            r.state.history[r.state.best_epoch - 1]["unseen"]["map_all"].get<double>());
}

TEST_F(TrainerFeatureTest, ResumeMidEpochEqualsUninterruptedRun) {
  const std::string dir = test::temp_dir("trainer_b");
  const TrainedRun first = train_run(*problem_, dir, false, 5);
  EXPECT_FALSE(first.result.finished);
  EXPECT_EQ(first.result.state.epoch, 0);
  EXPECT_EQ(first.result.state.step_in_epoch, 5);
  EXPECT_EQ(first.result.state.global_step, 5);
  EXPECT_TRUE(first.result.state.history.empty());
  const TrainedRun resumed = train_run(*problem_, dir, true);
  EXPECT_TRUE(resumed.result.finished);
  expect_same_network(*reference_->network, *resumed.network);
  expect_same_history(reference_->result.state.history, resumed.result.state.history);
  EXPECT_EQ(resumed.result.state.best_score, reference_->result.state.best_score);
  EXPECT_EQ(resumed.result.state.best_epoch, reference_->result.state.best_epoch);
  fs::remove_all(dir);
}

TEST_F(TrainerFeatureTest, ResumeAtEpochBoundaryAndTwiceEqualsUninterruptedRun) {
  const std::string dir = test::temp_dir("trainer_c");
  const TrainedRun first = train_run(*problem_, dir, false, kStepsPerEpoch);
  EXPECT_FALSE(first.result.finished);
  EXPECT_EQ(first.result.state.epoch, 1);
  EXPECT_EQ(first.result.state.step_in_epoch, 0);
  EXPECT_EQ(first.result.state.history.size(), 1u);
  // A second stop on an odd step (not a checkpoint_every multiple) of the next epoch.
  const TrainedRun second = train_run(*problem_, dir, true, kStepsPerEpoch + 3);
  EXPECT_FALSE(second.result.finished);
  EXPECT_EQ(second.result.state.global_step, kStepsPerEpoch + 3);
  const TrainedRun resumed = train_run(*problem_, dir, true);
  EXPECT_TRUE(resumed.result.finished);
  expect_same_network(*reference_->network, *resumed.network);
  expect_same_history(reference_->result.state.history, resumed.result.state.history);
  // log.jsonl holds the whole history, not just the resumed part.
  std::ifstream log(log_path(dir));
  std::string line;
  size_t lines = 0;
  while (std::getline(log, line)) ++lines;
  EXPECT_EQ(lines, 3u);
  fs::remove_all(dir);
}

TEST_F(TrainerFeatureTest, InterruptSavesAndResumes) {
  const std::string dir = test::temp_dir("trainer_interrupt");
  RunConfig config = problem_->config;
  Trainer trainer(dir, config, problem_->seen, problem_->unseen, problem_->seen_embeddings);
  trainer.on_epoch_end([](const json& record) {
    if (record["epoch"].get<int64_t>() == 2) util::set_interrupt_requested(true);
  });
  const TrainResult stopped = trainer.train(false);
  util::set_interrupt_requested(false);
  EXPECT_FALSE(stopped.finished);
  EXPECT_EQ(stopped.state.epoch, 2);
  const TrainedRun resumed = train_run(*problem_, dir, true);
  expect_same_network(*reference_->network, *resumed.network);
  fs::remove_all(dir);
}

TEST_F(TrainerFeatureTest, ConfigRoundTripTrainsIdentically) {
  // What `hcmsn train --resume` does: the configuration comes back from config.json. The batches
  // must not depend on anything that file does not keep.
  RunConfig config = problem_->config;
  config.trainer.sampler.seed(0);  // only trainer.seed is the run's seed
  config.trainer.epochs = 1;
  const RunConfig reread = RunConfig::from_json(config.to_json());
  const std::string a = test::temp_dir("trainer_cfg_a"), b = test::temp_dir("trainer_cfg_b");
  const TrainedRun ra = train_run(*problem_, a, false, 0, &config);
  const TrainedRun rb = train_run(*problem_, b, false, 0, &reread);
  expect_same_network(*ra.network, *rb.network);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST_F(TrainerFeatureTest, RunFolderFilesAndLog) {
  for (const auto& path : {config_path(dir_), last_checkpoint_path(dir_),
                           best_checkpoint_path(dir_), log_path(dir_)}) {
    EXPECT_TRUE(fs::exists(path)) << path;
  }
  EXPECT_EQ(read_run_config(dir_).to_json(), problem_->config.to_json());
  std::ifstream in(log_path(dir_));
  std::string line;
  std::vector<json> records;
  while (std::getline(in, line)) records.push_back(json::parse(line));
  ASSERT_EQ(records.size(), 3u);
  bool any_best = false;
  for (size_t i = 0; i < records.size(); ++i) {
    const json& r = records[i];
    EXPECT_EQ(r, reference_->result.state.history[i]);
    EXPECT_EQ(r.at("epoch").get<int64_t>(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(r.at("global_step").get<int64_t>(), static_cast<int64_t>(i + 1) * kStepsPerEpoch);
    EXPECT_GT(r.at("lr").get<double>(), 0.0);
    EXPECT_LE(r.at("lr").get<double>(), problem_->config.trainer.lr);
    for (const char* key : {"total", "cls", "adv", "align", "rec", "disc"}) {
      ASSERT_TRUE(r.at("loss").contains(key)) << key;
      EXPECT_TRUE(std::isfinite(r["loss"][key].get<double>())) << key;
    }
    EXPECT_FALSE(r["loss"].contains("triplet"));  // its weight is 0
    EXPECT_GE(r.at("seconds").get<double>(), 0.0);
    EXPECT_GE(r.at("samples_per_second").get<double>(), 0.0);
    ASSERT_TRUE(r.contains("unseen"));
    const double map = r["unseen"].at("map_all").get<double>();
    EXPECT_GE(map, 0.0);
    EXPECT_LE(map, 1.0);
    EXPECT_TRUE(r["unseen"].contains("map@5"));
    EXPECT_EQ(r["unseen"].at("num_queries").get<int64_t>(), 4 * 6);
    any_best = any_best || r.at("best").get<bool>();
  }
  EXPECT_TRUE(records[0]["best"].get<bool>());  // the first evaluation is always the best so far
  EXPECT_TRUE(any_best);
  // The lr in the log decreases under the cosine schedule.
  EXPECT_GT(records[0]["lr"].get<double>(), records[2]["lr"].get<double>());
}

TEST_F(TrainerFeatureTest, BestCheckpointReproducesTheRecordedScore) {
  LoadedRun best = load_run(dir_, "best");
  EXPECT_FALSE(best.network->is_training());
  const json& history = reference_->result.state.history;
  const int64_t best_epoch = reference_->result.state.best_epoch;
  EXPECT_EQ(best.state.best_epoch, best_epoch);
  metrics::EvaluationOptions options;
  options.ks = problem_->config.trainer.ks;
  const auto result = evaluate_split(embed_split(*best.network, problem_->unseen), options);
  EXPECT_NEAR(result.map_all, history[best_epoch - 1]["unseen"]["map_all"].get<double>(), 1e-12);
  // The last checkpoint holds the final weights.
  LoadedRun last = load_run(dir_, "last");
  expect_same_network(*last.network, *reference_->network);
  test::error_of([&] { load_run(dir_, "newest"); });
  const std::string not_a_run = test::temp_dir("not_a_run");
  test::error_of([&] { load_run(not_a_run, "best"); });
  fs::remove_all(not_a_run);
}

TEST_F(TrainerFeatureTest, CorruptCheckpointIsRejected) {
  const std::string dir = copy_run(dir_, "trainer_corrupt");
  std::string bytes = util::read_file(last_checkpoint_path(dir));
  bytes[bytes.size() / 2] ^= 0x10;
  util::write_file_atomic(last_checkpoint_path(dir), bytes);
  const std::string msg = test::error_of([&] { train_run(*problem_, dir, true); });
  EXPECT_TRUE(test::contains(msg, "corrupt")) << msg;
  // Truncated.
  util::write_file_atomic(last_checkpoint_path(dir), bytes.substr(0, bytes.size() - 9));
  test::error_of([&] { train_run(*problem_, dir, true); });
  fs::remove_all(dir);
}

TEST_F(TrainerFeatureTest, CheckpointDoesNotLoadIntoAnotherConfiguration) {
  RunConfig other = problem_->config;
  other.model.dim(10);
  auto net = build_network(other);
  const std::string msg =
      test::error_of([&] { load_checkpoint(last_checkpoint_path(dir_), *net, nullptr, nullptr); });
  EXPECT_TRUE(test::contains(msg, "does not fit")) << msg;
  // A checkpoint with a backbone does not load into a network without one, and a failed load
  // leaves the network as it was.
  RunConfig with_cnn = problem_->config;
  with_cnn.backbone.kind = "small-cnn";
  with_cnn.backbone.channels = {4};
  with_cnn.backbone.out_dim = 8;
  auto cnn = build_network(with_cnn);
  const std::string cnn_dir = test::temp_dir("trainer_cnn_ckpt");
  const std::string cnn_path = cnn_dir + "/cnn.ckpt";
  save_checkpoint(cnn_path, TrainerState{}, *cnn, nullptr, nullptr);
  auto plain = build_network(problem_->config);
  const auto before = snapshot(plain->parameters());
  const std::string extra =
      test::error_of([&] { load_checkpoint(cnn_path, *plain, nullptr, nullptr); });
  EXPECT_TRUE(test::contains(extra, "backbone")) << extra;
  EXPECT_TRUE(same_tensors(before, snapshot(plain->parameters())));
  EXPECT_TRUE(test::contains(
      test::error_of([&] { load_checkpoint(last_checkpoint_path(dir_), *cnn, nullptr, nullptr); }),
      "backbone"));
  fs::remove_all(cnn_dir);
  // A best checkpoint has no optimizer state to resume from; refused before anything loads.
  auto same = build_network(problem_->config);
  torch::optim::Adam g(same->generator_parameters()), d(same->discriminator_parameters());
  const auto untouched = snapshot(same->parameters());
  EXPECT_TRUE(test::contains(
      test::error_of([&] { load_checkpoint(best_checkpoint_path(dir_), *same, &g, &d); }),
      "weights only"));
  EXPECT_TRUE(same_tensors(untouched, snapshot(same->parameters())));
  // Not a checkpoint at all.
  test::error_of([&] { load_checkpoint(config_path(dir_), *same, nullptr, nullptr); });
}

TEST_F(TrainerFeatureTest, RejectsInconsistentInputs) {
  const Problem& p = *problem_;
  const std::string dir = test::temp_dir("trainer_bad");
  {
    TrainingSet seen = p.seen;
    std::swap(seen.class_names[0], seen.class_names[1]);
    EXPECT_TRUE(test::contains(
        test::error_of([&] { Trainer(dir, p.config, seen, p.unseen, p.seen_embeddings); }),
        "seen classes"));
  }
  {
    TrainingSet unseen = p.unseen;
    unseen.class_names.pop_back();
    unseen.labels = unseen.labels.clamp_max(2);
    test::error_of([&] { Trainer(dir, p.config, p.seen, unseen, p.seen_embeddings); });
  }
  for (const auto& w : {torch::zeros({8, 5}), torch::zeros({7, 6}), torch::zeros({8})}) {
    const std::string msg = test::error_of([&] { Trainer(dir, p.config, p.seen, p.unseen, w); });
    EXPECT_TRUE(test::contains(msg, "(8, 6)")) << msg;
  }
  {
    RunConfig c = p.config;
    c.model.num_seen_classes(9);
    test::error_of([&] { Trainer(dir, c, p.seen, p.unseen, p.seen_embeddings); });
  }
  {
    RunConfig c = p.config;
    c.trainer.epochs = 0;
    test::error_of([&] { Trainer(dir, c, p.seen, p.unseen, p.seen_embeddings); });
  }
  {
    TrainingSet seen = p.seen;
    seen.inputs = seen.inputs.clone();
    seen.inputs[3][0] = NAN;
    test::error_of([&] { Trainer(dir, p.config, seen, p.unseen, p.seen_embeddings); });
  }
  test::error_of([&] { Trainer("", p.config, p.seen, p.unseen, p.seen_embeddings); });
  // Resuming a run that never wrote last.ckpt.
  Trainer fresh(dir, p.config, p.seen, p.unseen, p.seen_embeddings);
  EXPECT_TRUE(test::contains(test::error_of([&] { fresh.train(true); }), "last.ckpt"));
  fs::remove_all(dir);
}

TEST_F(TrainerFeatureTest, ZeroWeightsFreezeTheirNetworks) {
  const Problem& p = *problem_;
  const std::string dir = test::temp_dir("trainer_ablation");
  RunConfig config = p.config;
  config.trainer.epochs = 1;
  {
    config.loss.lambda_adv(0.0);
    Trainer trainer(dir, config, p.seen, p.unseen, p.seen_embeddings);
    auto& net = trainer.network();
    const auto disc = snapshot(net->discriminator_parameters());
    const auto gen = snapshot(net->generator_parameters());
    const TrainResult r = trainer.train(false);
    EXPECT_TRUE(same_tensors(disc, snapshot(net->discriminator_parameters())));
    EXPECT_FALSE(same_tensors(gen, snapshot(net->generator_parameters())));
    EXPECT_FALSE(r.state.history[0]["loss"].contains("disc"));
    EXPECT_FALSE(r.state.history[0]["loss"].contains("adv"));
  }
  {
    config.loss.lambda_adv(1.0).lambda_rec(0.0);
    Trainer trainer(dir, config, p.seen, p.unseen, p.seen_embeddings);
    auto& net = trainer.network();
    const auto rec = snapshot(net->hcmsn()->reconstruction_net()->parameters());
    const auto feat = snapshot(net->hcmsn()->feature_net()->parameters());
    const auto disc = snapshot(net->discriminator_parameters());
    trainer.train(false);
    EXPECT_TRUE(same_tensors(rec, snapshot(net->hcmsn()->reconstruction_net()->parameters())));
    EXPECT_FALSE(same_tensors(feat, snapshot(net->hcmsn()->feature_net()->parameters())));
    EXPECT_FALSE(same_tensors(disc, snapshot(net->discriminator_parameters())));
  }
  fs::remove_all(dir);
}

TEST_F(TrainerFeatureTest, ResumeIsExactForOtherConfigurations) {
  // Options that add state to resume: no discriminator steps, a learnable curvature, the
  // prototype classifier, the triplet term, warm-up, the step schedule, weight decay.
  std::vector<RunConfig> variants(3, problem_->config);
  variants[0].loss.lambda_adv(0.0);
  variants[0].trainer.schedule = LrSchedule::kStep;
  variants[1].model.learn_curvature(true).classifier(model::ClassifierKind::kPrototype);
  variants[1].loss.lambda_triplet(0.5);
  variants[1].trainer.warmup_steps = 4;
  variants[2].model.curvature(0.0);  // Euclidean
  variants[2].trainer.weight_decay = 1e-3;
  variants[2].trainer.grad_clip = 0.0;
  variants[2].trainer.checkpoint_every = 0;
  for (RunConfig& config : variants) {
    config.trainer.epochs = 2;
    const std::string a = test::temp_dir("trainer_var_a"), b = test::temp_dir("trainer_var_b");
    const TrainedRun reference = train_run(*problem_, a, false, 0, &config);
    const TrainedRun first = train_run(*problem_, b, false, 3, &config);
    EXPECT_FALSE(first.result.finished);
    const TrainedRun resumed = train_run(*problem_, b, true, 0, &config);
    SCOPED_TRACE(config.to_json().dump());
    expect_same_network(*reference.network, *resumed.network);
    expect_same_history(reference.result.state.history, resumed.result.state.history);
    fs::remove_all(a);
    fs::remove_all(b);
  }
}

TEST_F(TrainerFeatureTest, EvaluationEveryFewEpochsOrNever) {
  RunConfig config = problem_->config;
  config.trainer.eval_every = 2;  // epochs 2 and 3 (the last one is always evaluated)
  const std::string dir = test::temp_dir("trainer_eval2");
  const TrainedRun run = train_run(*problem_, dir, false, 0, &config);
  const json& h = run.result.state.history;
  ASSERT_EQ(h.size(), 3u);
  EXPECT_FALSE(h[0].contains("unseen"));
  EXPECT_FALSE(h[0]["best"].get<bool>());
  EXPECT_TRUE(h[1].contains("unseen"));
  EXPECT_TRUE(h[1]["best"].get<bool>());
  EXPECT_TRUE(h[2].contains("unseen"));
  EXPECT_GE(run.result.state.best_epoch, 2);
  fs::remove_all(dir);

  // Never: no evaluation rows needed, and best.ckpt holds the final weights.
  config.trainer.eval_every = 0;
  Trainer trainer(dir, config, problem_->seen, TrainingSet{}, problem_->seen_embeddings);
  const TrainResult r = trainer.train(false);
  EXPECT_TRUE(r.finished);
  for (const auto& record : r.state.history) EXPECT_FALSE(record.contains("unseen"));
  EXPECT_EQ(r.state.best_epoch, -1);
  const LoadedRun best = load_run(dir, "best");
  expect_same_network(*best.network, *trainer.network());
  fs::remove_all(dir);
}

TEST_F(TrainerFeatureTest, WeightAveragingDeliversTheMeanOfTheAveragedSteps) {
  // average_from 0.5 of 18 steps: the weights after steps 10 … 18, nine sets.
  RunConfig config = problem_->config;
  config.trainer.average_from = 0.5;
  const std::string a = test::temp_dir("trainer_avg_a"), b = test::temp_dir("trainer_avg_b");
  const TrainedRun averaged = train_run(*problem_, a, false, 0, &config);
  ASSERT_TRUE(averaged.result.finished);
  // Averaging only reads the trajectory: the reference configuration's weights after each
  // averaged step, from a run stopped and resumed one step at a time, are the ones averaged.
  std::vector<std::vector<torch::Tensor>> sets;
  for (int64_t s = 10; s <= 18; ++s) {
    sets.push_back(snapshot(train_run(*problem_, b, s > 10, s < 18 ? s : 0).network->parameters()));
  }
  const auto delivered = snapshot(averaged.network->parameters());
  for (size_t i = 0; i < delivered.size(); ++i) {
    auto mean = torch::zeros_like(delivered[i], torch::kFloat64);
    for (const auto& set : sets) mean += set[i].to(torch::kFloat64);
    mean /= static_cast<double>(sets.size());
    EXPECT_TRUE(torch::allclose(delivered[i].to(torch::kFloat64), mean, 1e-5, 1e-6)) << i;
  }
  EXPECT_FALSE(same_tensors(delivered, sets.back()));  // not the last step's weights
  // last.ckpt holds the mean too; best.ckpt reproduces its score with the weights evaluated.
  expect_same_network(*load_run(a, "last").network, *averaged.network);
  const json& h = averaged.result.state.history;
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0]["averaged_steps"].get<int64_t>(), 0);
  EXPECT_EQ(h[1]["averaged_steps"].get<int64_t>(), 3);  // steps 10, 11, 12
  EXPECT_EQ(h[2]["averaged_steps"].get<int64_t>(), 9);
  json first = timeless(h[0]);
  first.erase("averaged_steps");
  EXPECT_EQ(first, timeless(reference_->result.state.history[0]));  // nothing averaged yet
  EXPECT_NE(h[2]["unseen"], reference_->result.state.history[2]["unseen"]);
  const int64_t best_epoch = averaged.result.state.best_epoch;
  metrics::EvaluationOptions options;
  options.ks = config.trainer.ks;
  LoadedRun best = load_run(a, "best");
  EXPECT_NEAR(evaluate_split(embed_split(*best.network, problem_->unseen), options).map_all,
              h[best_epoch - 1]["unseen"]["map_all"].get<double>(), 1e-12);
  // The last epoch evaluated the mean (whichever epoch was best).
  model::RetrievalNetwork delivered_network = averaged.network;
  EXPECT_NEAR(evaluate_split(embed_split(*delivered_network, problem_->unseen), options).map_all,
              h[2]["unseen"]["map_all"].get<double>(), 1e-12);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST_F(TrainerFeatureTest, ResumeWithWeightAveragingIsExact) {
  RunConfig config = problem_->config;
  config.trainer.average_from = 0.5;
  const std::string a = test::temp_dir("trainer_avgres_a"), b = test::temp_dir("trainer_avgres_b");
  const TrainedRun reference = train_run(*problem_, a, false, 0, &config);
  // Stopped before averaging starts, then inside it (mid-epoch, off a checkpoint_every step).
  EXPECT_FALSE(train_run(*problem_, b, false, 5, &config).result.finished);
  EXPECT_FALSE(train_run(*problem_, b, true, 13, &config).result.finished);
  const TrainedRun resumed = train_run(*problem_, b, true, 0, &config);
  EXPECT_TRUE(resumed.result.finished);
  expect_same_network(*reference.network, *resumed.network);
  expect_same_history(reference.result.state.history, resumed.result.state.history);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST_F(TrainerFeatureTest, VersionOneCheckpointsStillLoad) {
  // Version 1 is version 2 without the fifth section (empty when nothing was averaged).
  const io::CheckedFile v2 = io::read_checked_file(last_checkpoint_path(dir_), "checkpoint", 2);
  ASSERT_EQ(v2.version, 2u);
  ASSERT_EQ(v2.payload.substr(v2.payload.size() - 8), std::string(8, '\0'));
  const std::string dir = test::temp_dir("trainer_v1");
  const std::string path = dir + "/v1.ckpt";
  io::write_checked_file(path, "checkpoint", 1, v2.payload.substr(0, v2.payload.size() - 8));
  auto net = build_network(problem_->config);
  torch::optim::Adam g(net->generator_parameters()), d(net->discriminator_parameters());
  WeightAverage average(*net);
  const TrainerState state = load_checkpoint(path, *net, &g, &d, &average);
  EXPECT_EQ(state.global_step, 3 * kStepsPerEpoch);
  EXPECT_EQ(average.count(), 0);
  expect_same_network(*net, *reference_->network);
  fs::remove_all(dir);
}

TEST(TrainerLearningTest, LearnsZeroShotRetrievalAboveChance) {
  // 24 classes, 16 seen and 8 unseen: chance mAP@all is about 0.2.
  Problem p = feature_problem(24, 16, 6, 0.1, 21);
  p.config.trainer.epochs = 12;  // 72 steps
  p.config.trainer.sampler.classes_per_batch(8);
  p.config.trainer.lr = 1e-2;
  p.config.trainer.checkpoint_every = 0;
  p.config.model.dropout(0.0);
  const std::string dir = test::temp_dir("trainer_learn");
  Trainer trainer(dir, p.config, p.seen, p.unseen, p.seen_embeddings);
  metrics::EvaluationOptions options;
  options.ks = {5};
  const auto split = embed_split(*trainer.network(), p.unseen);
  const double before = evaluate_split(split, options).map_all;
  const double chance =
      metrics::chance_map_all(metrics::encode_labels(split.query_labels, split.gallery_labels));
  const TrainResult r = trainer.train(false);
  const json& h = r.state.history;
  const double after = h.back()["unseen"]["map_all"].get<double>();
  EXPECT_GT(after, 2 * chance) << "before training: " << before;
  EXPECT_GT(after, before + 0.1) << "chance: " << chance;
  EXPECT_GT(h.front()["loss"]["total"].get<double>(), h.back()["loss"]["total"].get<double>());
  fs::remove_all(dir);
}

TEST(TrainerImagesTest, ResumeEqualsUninterruptedRunWithBackbone) {
  const Problem p = image_problem();
  // 4 seen classes × 8 images, 8 rows a batch: 4 steps an epoch, 8 in all.
  const std::string a = test::temp_dir("trainer_img_a"), b = test::temp_dir("trainer_img_b");
  const TrainedRun reference = train_run(p, a, false);
  ASSERT_TRUE(reference.result.finished);
  EXPECT_EQ(reference.result.state.global_step, 8);
  const TrainedRun first = train_run(p, b, false, 3);
  EXPECT_FALSE(first.result.finished);
  const TrainedRun resumed = train_run(p, b, true);
  EXPECT_TRUE(resumed.result.finished);
  expect_same_network(*reference.network, *resumed.network);
  expect_same_history(reference.result.state.history, resumed.result.state.history);
  // The BatchNorm statistics moved, so the comparison above covered them.
  bool moved = false;
  for (const auto& buf : reference.network->named_buffers()) {
    if (buf.key().find("running_mean") != std::string::npos) {
      moved = moved || buf.value().abs().sum().item<double>() > 0;
    }
  }
  EXPECT_TRUE(moved);
  fs::remove_all(a);
  fs::remove_all(b);
}

}  // namespace
}  // namespace hcmsn::train
