// Training throughput of the real product path (train::Trainer on cached backbone features):
// 1280-d features, d = 512, batch 128 (16 classes × 4 per class × 2 modalities), the default
// model and losses (MLR classifier, c = 0.01, every λ = 1, triplet off). One warm-up epoch, then
// one timed epoch of --steps steps; the figure is the Trainer's own "samples_per_second" of the
// second epoch (the step loop only: no evaluation, and checkpoints are written between epochs).
//
//   build/bench/bench_train [--steps 30] [--threads 0] [--rows 20000] [--seed 0]
// prints one JSON line: {"impl": "hcmsn", "samples_per_second", "steps", "threads", ...}.
//
//   build/bench/bench_train --check DIR
// instead runs one forward/backward of the same network on a fixed batch (dropout off, non-zero
// MLR offsets) and writes the weights, the batch, the loss terms and the gradient norms to DIR,
// so that bench/compare_train.py can verify that its PyTorch model computes the same function.
#include <unistd.h>

#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hcmsn/io/npy.h"
#include "hcmsn/model/losses.h"
#include "hcmsn/train/run_config.h"
#include "hcmsn/train/trainer.h"
#include "hcmsn/train/training_set.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"
#include "hcmsn/util/threads.h"

namespace {

constexpr int64_t kClasses = 100;
constexpr int64_t kInDim = 1280;
constexpr int64_t kSemDim = 768;
constexpr int64_t kClassesPerBatch = 16;
constexpr int64_t kPerClass = 4;
constexpr const char* kUsage = "flags: --steps N --threads N --rows N --seed N, or --check DIR";

struct Args {
  int64_t steps = 30;
  int threads = 0;
  int64_t rows = 20000;
  uint64_t seed = 0;
  std::string check_dir;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    HCMSN_CHECK(i + 1 < argc, flag, " needs a value; ", kUsage);
    const std::string value = argv[++i];
    if (flag == "--steps") {
      a.steps = std::stoll(value);
    } else if (flag == "--threads") {
      a.threads = std::stoi(value);
    } else if (flag == "--rows") {
      a.rows = std::stoll(value);
    } else if (flag == "--seed") {
      a.seed = std::stoull(value);
    } else if (flag == "--check") {
      a.check_dir = value;
    } else {
      throw hcmsn::Error("unknown flag " + flag + "; " + kUsage);
    }
  }
  HCMSN_CHECK(a.steps > 0, "--steps must be > 0");
  HCMSN_CHECK(a.rows >= 2 * kClasses, "--rows must be >= ", 2 * kClasses);
  return a;
}

std::vector<std::string> class_names() {
  std::vector<std::string> names;
  for (int64_t k = 0; k < kClasses; ++k) names.push_back(fmt::format("class_{:03d}", k));
  return names;
}

// The run of issue 3: default model, batch 128, two epochs of `steps`, nothing but training.
hcmsn::train::RunConfig bench_config(const Args& args) {
  hcmsn::train::RunConfig config;
  config.model = hcmsn::model::HCMSNModelOptions(kClasses);  // in 1280, hidden 1024, d 512 …
  config.backbone.kind = "none";
  config.seen_classes = class_names();
  auto& t = config.trainer;
  t.epochs = 2;
  t.sampler.classes_per_batch(kClassesPerBatch)
      .per_class(kPerClass)
      .batches_per_epoch(args.steps)
      .seed(args.seed);
  t.seed = args.seed;
  t.eval_every = 0;
  t.checkpoint_every = 0;
  t.progress = false;
  return config;
}

// Class-structured features: row = class centre + modality shift + noise, non-negative like
// pooled ReLU features. Half sketches, half photos, classes assigned round-robin.
hcmsn::train::TrainingSet make_features(int64_t rows) {
  const auto centres = torch::randn({kClasses, kInDim});
  const auto shift = torch::randn({2, kInDim}) * 0.5;
  hcmsn::train::TrainingSet set;
  set.labels = torch::arange(rows, torch::kInt64).remainder(kClasses);
  set.modality = torch::arange(rows, torch::kInt64).div(kClasses, "floor").remainder(2);
  set.inputs = torch::relu(centres.index_select(0, set.labels) +
                           shift.index_select(0, set.modality) + torch::randn({rows, kInDim}))
                   .contiguous();
  set.class_names = class_names();
  return set;
}

nlohmann::json run_benchmark(const Args& args) {
  auto seen = make_features(args.rows);
  const auto semantics = torch::randn({kClasses, kSemDim});
  const auto run_dir = std::filesystem::temp_directory_path() /
                       fmt::format("hcmsn_bench_train_{}", static_cast<long>(::getpid()));
  std::filesystem::remove_all(run_dir);
  nlohmann::json out;
  out["impl"] = "hcmsn";
  {
    hcmsn::train::Trainer trainer(run_dir.string(), bench_config(args), std::move(seen), {},
                                  semantics);
    int64_t generator = 0;
    int64_t discriminator = 0;
    for (const auto& p : trainer.network()->generator_parameters()) generator += p.numel();
    for (const auto& p : trainer.network()->discriminator_parameters()) discriminator += p.numel();
    const auto result = trainer.train(/*resume=*/false);
    HCMSN_ASSERT(result.finished && result.state.history.size() == 2,
                 "the benchmark run stopped early");
    const auto& timed = result.state.history[1];
    out["samples_per_second"] = timed["samples_per_second"];
    out["seconds"] = timed["seconds"];
    out["loss"] = timed["loss"];
    out["generator_parameters"] = generator;
    out["discriminator_parameters"] = discriminator;
  }
  std::filesystem::remove_all(run_dir);
  out["steps"] = args.steps;
  out["batch"] = 2 * kClassesPerBatch * kPerClass;
  return out;
}

// One training-mode step's computation with dropout off, through the same functions as
// Trainer::step (discriminator_loss, total_loss), on weights and a batch written to `dir`.
nlohmann::json write_check(const Args& args) {
  namespace fs = std::filesystem;
  const fs::path dir = args.check_dir;
  fs::create_directories(dir);
  torch::manual_seed(args.seed);
  auto network = hcmsn::train::build_network(bench_config(args));
  auto& model = *network->hcmsn();
  model.eval();
  {
    // Offsets away from the origin, so the check covers the whole gyroplane formula.
    torch::NoGradGuard no_grad;
    for (auto& item : model.named_parameters()) {
      if (item.key() == "classifier.p_raw") item.value().normal_(0.0, 0.5);
    }
  }
  const auto labels = torch::arange(kClassesPerBatch, torch::kInt64)
                          .mul(kClasses / kClassesPerBatch)
                          .repeat_interleave(2 * kPerClass);
  const auto one_class = torch::cat(
      {torch::zeros({kPerClass}, torch::kInt64), torch::ones({kPerClass}, torch::kInt64)});
  const auto modality = one_class.repeat({kClassesPerBatch});
  const auto x = torch::relu(torch::randn({labels.size(0), kInDim}) * 2);
  const auto w = torch::randn({kClasses, kSemDim});
  for (const auto& item : model.named_parameters()) {
    hcmsn::io::write_npy((dir / ("param." + item.key() + ".npy")).string(), item.value());
  }
  hcmsn::io::write_npy((dir / "x.npy").string(), x);
  hcmsn::io::write_npy((dir / "labels.npy").string(), labels);
  hcmsn::io::write_npy((dir / "modality.npy").string(), modality);
  hcmsn::io::write_npy((dir / "semantics.npy").string(), w);

  const auto out = model.forward(x, modality);
  const auto w_y = hcmsn::model::class_embeddings_of(w, labels);
  const auto disc = hcmsn::model::discriminator_loss(model.discriminator(), w_y, out.s);
  const auto terms = hcmsn::model::total_loss(model, out, labels, modality, w, {});
  terms.total.backward();
  nlohmann::json result;
  result["loss"] = {{"disc", disc.item<double>()},     {"cls", terms.cls.item<double>()},
                    {"adv", terms.adv.item<double>()}, {"align", terms.align.item<double>()},
                    {"rec", terms.rec.item<double>()}, {"total", terms.total.item<double>()}};
  for (const auto& item : model.named_parameters()) {
    const auto& g = item.value().grad();
    result["grad_norm"][item.key()] = g.defined() ? g.norm().item<double>() : 0.0;
  }
  std::ofstream(dir / "expected.json") << result.dump(1) << "\n";
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args = parse_args(argc, argv);
    const int threads = hcmsn::util::set_num_threads(args.threads);
    hcmsn::util::set_log_level(hcmsn::util::LogLevel::kWarn);
    torch::manual_seed(args.seed);
    if (!args.check_dir.empty()) {
      write_check(args);
      return 0;
    }
    auto out = run_benchmark(args);
    out["threads"] = threads;
    std::cout << out.dump() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_train: " << e.what() << "\n";
    return 1;
  }
}
