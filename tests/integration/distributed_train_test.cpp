// Data parallelism on c10d (issue 13), with 2 processes on loopback: `train --nproc 2` ends with
// the parameters of one process trained on the same global batches (dropout off), to 1e-5, also
// fine-tuning on streamed images; a run stopped under 2 ranks resumes in 1 process and one
// stopped in 1 process resumes under 2, both ending where the uninterrupted run does;
// `extract --nproc 2` writes the single-process cache bit for bit; `eval` and `metrics --nproc 2`
// and the evaluation while training give the single-process figures; a rank whose partner never
// comes stops with an error within --dist-timeout; misuse is refused with a message.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "hcmsn/data/feature_cache.h"
#include "hcmsn/distributed/launcher.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/io/safetensors.h"
#include "hcmsn/train/run_loader.h"
#include "hcmsn/vision/pretrained.h"
#include "support/feature_fixture.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

class DistributedTrain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir("distributed_train"));
    test::FeatureFixtureOptions features;
    features.per_modality = 8;
    features.seed = 5;
    test::write_feature_fixture(*dir_, features);
    // Images and "pretrained" weights (a random MobileNetV2) for the streamed and extraction
    // tests.
    ASSERT_EQ(test::run_cli("--log-level warn synth-images --quiet --image-size 24 "
                            "--photos-per-class 2 --sketches-per-class 2 --out '" +
                            path("images") + "'")
                  .exit_code,
              0);
    torch::manual_seed(2);
    auto backbone = vision::make_backbone("mobilenet_v2");
    io::NamedTensors tensors;
    for (const auto& p : backbone->named_parameters()) tensors.emplace_back(p.key(), p.value());
    for (const auto& b : backbone->named_buffers()) {
      if (b.key().find("num_batches_tracked") == std::string::npos) {
        tensors.emplace_back(b.key(), b.value());
      }
    }
    io::write_safetensors(path("mobilenet.safetensors"), tensors);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string path(const std::string& name) { return *dir_ + "/" + name; }
  // Dropout off: its masks would differ between a rank's share and the whole batch.
  static std::string train_args(const std::string& run, const std::string& extra,
                                int classes_per_batch = 4, int epochs = 2) {
    return "--threads 1 --log-level warn train --quiet --features '" + path("features.hfc") +
           "' --semantics '" + path("semantics.npy") + "' --semantics-classes '" +
           path("classes.txt") + "' --unseen '" + path("unseen.txt") + "' --out '" + run +
           "' --dim 16 --hidden 32 --epochs " + std::to_string(epochs) +
           " --batches-per-epoch 4 "
           "--classes-per-batch " +
           std::to_string(classes_per_batch) + " --per-class 2 --dropout 0 --eval-every 0 " + extra;
  }
  static double max_difference(const std::string& a, const std::string& b) {
    const auto x = train::load_run(a, "last");
    const auto y = train::load_run(b, "last");
    const auto theirs = y.network->named_parameters();
    double worst = 0;
    for (const auto& p : x.network->named_parameters()) {
      worst = std::max(worst, (p.value() - theirs[p.key()]).abs().max().item<double>());
    }
    return worst;
  }
  static std::string* dir_;
};
std::string* DistributedTrain::dir_ = nullptr;

TEST_F(DistributedTrain, TwoRanksEqualOneProcessAndResumeAcrossWorldSizes) {
  ASSERT_EQ(test::run_cli(train_args(path("one"), "")).exit_code, 0);
  const auto two = test::run_cli(train_args(path("two"), "--nproc 2"));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  const double two_vs_one = max_difference(path("one"), path("two"));
  EXPECT_LT(two_vs_one, 1e-5);
  EXPECT_GT(two_vs_one, 0.0);  // two processes really ran: sums in another order

  // Stopped under 2 ranks, finished in 1; stopped in 1, finished under 2.
  ASSERT_EQ(test::run_cli(train_args(path("2to1"), "--nproc 2 --max-steps 3")).exit_code, 0);
  ASSERT_EQ(test::run_cli("--threads 1 --log-level warn train --quiet --resume --out '" +
                          path("2to1") + "'")
                .exit_code,
            0);
  EXPECT_LT(max_difference(path("one"), path("2to1")), 1e-5);
  ASSERT_EQ(test::run_cli(train_args(path("1to2"), "--max-steps 5")).exit_code, 0);
  const auto resumed = test::run_cli("--threads 1 --log-level warn train --quiet --resume --out '" +
                                     path("1to2") + "' --nproc 2");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_LT(max_difference(path("one"), path("1to2")), 1e-5);
}

// Fine-tuning on streamed images: each rank augments its share with the seeds of the items'
// places in the global batch, and BatchNorm is frozen, so 2 ranks again equal 1 process.
TEST_F(DistributedTrain, StreamedFineTuningTwoRanksEqualOneProcess) {
  const std::string data = path("images");
  const auto args = [&](const std::string& run, const std::string& extra) {
    return "--threads 1 --log-level warn train --quiet --layout generic --root '" + data +
           "' --semantics '" + data + "/semantics.npy' --semantics-classes '" + data +
           "/classes.txt' --unseen '" + data + "/unseen.txt' --out '" + path(run) +
           "' --backbone mobilenet_v2 --weights '" + path("mobilenet.safetensors") +
           "' --image-size 32 --dim 16 --hidden 32 --classes-per-batch 4 --per-class 1 "
           "--dropout 0 --epochs 1 --batches-per-epoch 2 --eval-every 0 --workers 1 " +
           extra;
  };
  ASSERT_EQ(test::run_cli(args("streamed_one", "")).exit_code, 0);
  const auto r = test::run_cli(args("streamed_two", "--nproc 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Adam's first steps are about ±lr·sign(g): where a convolution's gradient is within float
  // rounding of zero, the two sums' orders may flip it. So, as in the fine-tuning test: all but
  // a few elements per thousand agree to 1e-6 (pixels or seeds that differed would move most
  // of them), none by more than two steps' worth.
  const auto one = train::load_run(path("streamed_one"), "last");
  const auto two = train::load_run(path("streamed_two"), "last");
  const auto theirs = two.network->named_parameters();
  int64_t off = 0, total = 0;
  double worst = 0;
  for (const auto& p : one.network->named_parameters()) {
    const auto diff = (p.value() - theirs[p.key()]).abs();
    off += (diff > 1e-6).sum().item<int64_t>();
    total += diff.numel();
    worst = std::max(worst, diff.max().item<double>());
  }
  std::cout << "streamed, 2 ranks vs 1: " << off << " of " << total
            << " elements differ by more than 1e-6, the most by " << worst << "\n";
  EXPECT_LT(static_cast<double>(off) / static_cast<double>(total), 2e-3);
  EXPECT_LT(worst, 4e-3);  // 2 steps of at most lr = 1e-3 each, twice
}

// Sharded extraction: each rank embeds every other chunk into the resume folder, rank 0
// assembles them: the cache equals the single-process one bit for bit.
TEST_F(DistributedTrain, ShardedExtractionEqualsOneProcess) {
  const std::string extract =
      "--threads 1 --log-level warn extract --quiet --layout generic "
      "--root '" +
      path("images") + "' --backbone mobilenet_v2 --weights '" + path("mobilenet.safetensors") +
      "' --chunk-size 16 --out '";
  ASSERT_EQ(test::run_cli(extract + path("one.cache") + "'").exit_code, 0);
  const auto r = test::run_cli(extract + path("two.cache") + "' --nproc 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto one = data::load_feature_cache(path("one.cache"));
  const auto two = data::load_feature_cache(path("two.cache"));
  ASSERT_GT(one.size(), 32);  // several chunks of 16
  EXPECT_TRUE(torch::equal(one.features, two.features));
  EXPECT_TRUE(torch::equal(one.labels, two.labels));
  EXPECT_TRUE(torch::equal(one.modality, two.modality));
  EXPECT_EQ(one.item_ids, two.item_ids);
  EXPECT_EQ(one.class_names, two.class_names);
  EXPECT_FALSE(std::filesystem::exists(path("two.cache.partial")));
  // Chunks pass through the resume folder: --no-resume is refused.
  const auto refused = test::run_cli(extract + path("three.cache") + "' --nproc 2 --no-resume");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(test::contains(refused.output, "drop --no-resume")) << refused.output;
}

// Sharded evaluation: `metrics --nproc 2` splits the queries and merges every query's figures:
// the JSON equals the single-process one but for the wall-clock time.
TEST_F(DistributedTrain, ShardedMetricsEqualOneProcess) {
  torch::manual_seed(9);
  const auto queries = torch::randn({101, 8});
  const auto gallery = torch::randn({150, 8});
  std::vector<std::string> query_labels, gallery_labels;
  for (int64_t i = 0; i < 101; ++i) query_labels.push_back("c" + std::to_string(i % 7));
  for (int64_t i = 0; i < 150; ++i) gallery_labels.push_back("c" + std::to_string(i % 9));
  io::write_npy(path("q.npy"), queries);
  io::write_npy(path("g.npy"), gallery);
  io::write_labels(path("q.txt"), query_labels);
  io::write_labels(path("g.txt"), gallery_labels);
  const std::string args =
      "--threads 1 metrics --quiet --metric cosine --protocol sake --k 5,20 "
      "--per-class --queries '" +
      path("q.npy") + "' --gallery '" + path("g.npy") + "' --query-labels '" + path("q.txt") +
      "' --gallery-labels '" + path("g.txt") + "' --json '";
  ASSERT_EQ(test::run_cli(args + path("one.json") + "'").exit_code, 0);
  const auto r = test::run_cli(args + path("two.json") + "' --nproc 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto read = [](const std::string& file) {
    std::ifstream in(file);
    auto json = nlohmann::json::parse(in);
    json.erase("seconds");
    return json;
  };
  const auto one = read(path("one.json"));
  EXPECT_EQ(one, read(path("two.json")));
  EXPECT_EQ(one["num_queries"], 101);
}

// The records of a run's log.jsonl.
std::vector<nlohmann::json> read_log(const std::string& run) {
  std::ifstream in(run + "/log.jsonl");
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(in, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

// `object` without its wall-clock fields, recursively.
nlohmann::json without_seconds(nlohmann::json object) {
  if (!object.is_object()) return object;
  object.erase("seconds");
  object.erase("samples_per_second");
  object.erase("allreduce_share");
  for (auto& [key, value] : object.items()) value = without_seconds(value);
  return object;
}

// Evaluation while training is sharded too: each rank embeds every other block of --eval-batch
// rows and ranks half the queries; the untrained network's figures (epoch0: the same weights in
// both runs) equal the single process's exactly, later ones to the parameters' 1e-5, for the
// plain evaluation and for the fusion weights chosen on validation classes.
TEST_F(DistributedTrain, EvaluationWhileTrainingIsShardedAndMatchesOneProcess) {
  for (const std::string extra : {"", "--fusion --val-classes 2"}) {
    const std::string tag = extra.empty() ? "eval" : "fused";
    const auto args = [&](const std::string& run, const std::string& more) {
      std::string line = train_args(path(run), "--eval-batch 5 " + extra + more);
      return line.replace(line.find("--eval-every 0"), 14, "--eval-every 1");
    };
    const auto single = test::run_cli(args(tag + "_one", ""));
    ASSERT_EQ(single.exit_code, 0) << single.output;
    const auto r = test::run_cli(args(tag + "_two", " --nproc 2"));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto one = read_log(path(tag + "_one"));
    const auto two = read_log(path(tag + "_two"));
    ASSERT_EQ(one.size(), 2U);
    ASSERT_EQ(two.size(), 2U);
    const std::string key = extra.empty() ? "unseen" : "validation";
    ASSERT_TRUE(one[0].contains("epoch0") && one[0].contains(key)) << one[0].dump();
    EXPECT_EQ(without_seconds(one[0]["epoch0"]), without_seconds(two[0]["epoch0"])) << tag;
    for (size_t e = 0; e < one.size(); ++e) {
      const double a = one[e][key]["map_all"].get<double>();
      const double b = two[e][key]["map_all"].get<double>();
      EXPECT_NEAR(a, b, 1e-4) << tag << " epoch " << e + 1;
    }
    if (!extra.empty()) {
      EXPECT_EQ(one[1][key]["fusion"], two[1][key]["fusion"]);
    }
  }
}

// `eval --nproc 2`: the rows are embedded in shares (the run's own features, --batch 5 rows a
// pass) and the queries ranked in shares; the JSON equals one process's. Through the run's front
// end (images decoded, --batch 4 a pass) too, where an unreadable photo is left out the same way
// and rank 0 alone names it.
TEST_F(DistributedTrain, ShardedEvalEqualsOneProcess) {
  const auto read = [](const std::string& file) {
    std::ifstream in(file);
    return without_seconds(nlohmann::json::parse(in));
  };
  const std::string run = path("eval_run");
  ASSERT_EQ(test::run_cli(train_args(run, "", 4, 1)).exit_code, 0);
  const std::string features =
      "--threads 1 eval --quiet --run '" + run + "' --gallery all --batch 5 --json '";
  ASSERT_EQ(test::run_cli(features + path("eval_one.json") + "'").exit_code, 0);
  auto r = test::run_cli(features + path("eval_two.json") + "' --nproc 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto one = read(path("eval_one.json"));
  EXPECT_EQ(one, read(path("eval_two.json")));
  EXPECT_EQ(one["num_queries"], 24);  // 3 unseen classes x 8 sketches

  const std::string data = path("images");
  const std::string images_run = path("eval_images_run");
  ASSERT_EQ(
      test::run_cli("--threads 1 --log-level warn train --quiet --layout generic --root '" + data +
                    "' --semantics '" + data + "/semantics.npy' --semantics-classes '" + data +
                    "/classes.txt' --unseen '" + data + "/unseen.txt' --out '" + images_run +
                    "' --backbone mobilenet_v2 --weights '" + path("mobilenet.safetensors") +
                    "' --image-size 32 --dim 16 --hidden 32 --classes-per-batch 4 "
                    "--per-class 1 --epochs 1 --batches-per-epoch 1 --eval-every 0")
          .exit_code,
      0);
  // A copy of the images with one photo cut short: unreadable.
  const std::string copy = path("eval_images");
  std::filesystem::copy(data, copy, std::filesystem::copy_options::recursive);
  std::string broken;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(copy + "/photo")) {
    if (entry.is_regular_file()) broken = entry.path().string();
  }
  ASSERT_FALSE(broken.empty());
  std::filesystem::resize_file(broken, 20);
  const std::string dataset = "--threads 1 eval --quiet --run '" + images_run +
                              "' --layout generic --root '" + copy +
                              "' --classes all --batch 4 --json '";
  r = test::run_cli(dataset + path("images_one.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto two_ranks = test::run_cli(dataset + path("images_two.json") + "' --nproc 2");
  ASSERT_EQ(two_ranks.exit_code, 0) << two_ranks.output;
  const auto images_one = read(path("images_one.json"));
  EXPECT_EQ(images_one, read(path("images_two.json")));
  EXPECT_GT(images_one["num_queries"].get<int64_t>(), 8);  // several passes of 4 per rank
  const std::string warning = "unreadable, left out: " + broken;
  for (const std::string& output : {r.output, two_ranks.output}) {
    const size_t at = output.find(warning);
    EXPECT_NE(at, std::string::npos) << output;
    EXPECT_EQ(output.find(warning, at + 1), std::string::npos) << output;  // named once
  }
}

// The processes of this machine whose command line contains `needle` and whose environment
// holds `variable` (e.g. "RANK=1").
std::vector<pid_t> processes_with(const std::string& needle, const std::string& variable) {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cmdline(entry.path() / "cmdline", std::ios::binary);
    std::ifstream environ(entry.path() / "environ", std::ios::binary);
    const std::string command((std::istreambuf_iterator<char>(cmdline)), {});
    const std::string env((std::istreambuf_iterator<char>(environ)), {});
    if (command.find(needle) != std::string::npos &&
        ("\0" + env).find(std::string("\0") + variable + '\0', 0) != std::string::npos) {
      found.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  return found;
}

// A rank killed mid-run (SIGKILL): --nproc stops the other rank and says which one died; the
// run's last checkpoint is a whole one (or none), never half written.
TEST_F(DistributedTrain, AKilledRankEndsTheRunWithAnErrorNamingIt) {
  const std::string run = path("killed");
  const std::string log = path("killed.log");
  const std::string command = std::string("'") + HCMSN_CLI_PATH + "' " +
                              train_args(run, "--nproc 2 --checkpoint-every 1", 4, 400) + " > '" +
                              log + "' 2>&1";
  std::thread launcher([&command] { std::system(command.c_str()); });
  std::vector<pid_t> victims;
  for (int i = 0; i < 600 && victims.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::filesystem::exists(run + "/last.ckpt")) victims = processes_with(run, "RANK=1");
  }
  ASSERT_FALSE(victims.empty()) << "rank 1 never started";
  ::kill(victims[0], SIGKILL);
  launcher.join();  // the launcher returns once both ranks are gone
  std::ifstream in(log);
  const std::string output((std::istreambuf_iterator<char>(in)), {});
  EXPECT_TRUE(test::contains(output, "rank 1 of 2 failed (exit code 137)")) << output;
  EXPECT_TRUE(processes_with(run, "RANK=0").empty());
  EXPECT_NO_THROW(train::load_run(run, "last"));
}

TEST_F(DistributedTrain, AMissingRankEndsTheOtherWithinTheTimeout) {
  // Rank 0 of 2 alone: the rendezvous never completes.
  setenv("WORLD_SIZE", "2", 1);
  setenv("RANK", "0", 1);
  setenv("MASTER_ADDR", "127.0.0.1", 1);
  setenv("MASTER_PORT", std::to_string(distributed::free_port()).c_str(), 1);
  const auto start = std::chrono::steady_clock::now();
  const auto r = test::run_cli(train_args(path("alone"), "--dist-timeout 3"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Under torchrun's variables, --nproc is refused.
  const auto nested = test::run_cli(train_args(path("nested"), "--nproc 2"));
  for (const char* name : {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(name);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(test::contains(r.output, "rank 0 of 2 could not join")) << r.output;
  EXPECT_LT(seconds, 60.0);
  EXPECT_FALSE(std::filesystem::exists(path("alone/last.ckpt")));
  EXPECT_EQ(nested.exit_code, 1) << nested.output;
  EXPECT_TRUE(test::contains(nested.output, "use one launcher")) << nested.output;
}

TEST_F(DistributedTrain, MisuseIsRefused) {
  // 3 classes per batch cannot be split evenly over 2 ranks.
  auto r = test::run_cli(train_args(path("odd"), "--nproc 2", 3));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(test::contains(r.output, "must be a multiple of the number of processes"))
      << r.output;
  EXPECT_TRUE(test::contains(r.output, "rank")) << r.output;  // the launcher names the rank
  // NCCL: this CPU build has none (a CUDA build with NCCL wants --device cuda).
  r = test::run_cli(train_args(path("nccl"), "--nproc 2 --dist-backend nccl"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(test::contains(r.output, "this build has no NCCL") ||
              test::contains(r.output, "give --device cuda"))
      << r.output;
  EXPECT_FALSE(std::filesystem::exists(path("nccl/last.ckpt")));
  setenv("WORLD_SIZE", "2", 1);
  setenv("RANK", "2", 1);
  r = test::run_cli(train_args(path("badrank"), ""));
  unsetenv("WORLD_SIZE");
  unsetenv("RANK");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.output, "RANK=2 lies outside")) << r.output;
}

}  // namespace
}  // namespace hcmsn
