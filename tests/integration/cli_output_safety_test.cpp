// Every writing command of the CLI against the output rules of io/output_guard.h, end to end: an
// output that is an input, or lies in a folder the command reads, is refused with exit 1 and the
// input's bytes stay as they were; two outputs on one path are refused; an existing file of
// another kind (an image, weights, an .npy) is refused without --force and replaced with it; and
// `--json -` leaves only JSON on standard output. Refusals happen before any work, so most cases
// cost one process start; the tiny run and data of support/tiny_gallery.h serve every command.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hcmsn/data/feature_cache.h"
#include "hcmsn/io/file_content.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/util/atomic_file.h"
#include "support/test_support.h"
#include "support/tiny_gallery.h"

namespace hcmsn {
namespace {

namespace fs = std::filesystem;
using test::contains;

// The first bytes of a JPEG photo and of a safetensors weights file: what the guard sniffs.
constexpr char kJpeg[] = "\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01 a photo";
constexpr char kWeights[] = "\x02\0\0\0\0\0\0\0{}";
const std::string kJpegBytes(kJpeg, sizeof kJpeg - 1);
const std::string kWeightsBytes(kWeights, sizeof kWeights - 1);

std::string q(const std::string& path) {
  return "'" + path + "'";
}

io::FileContent content_of(const std::string& path) {
  return io::sniff_file(path).content;
}

// Every regular file under `path` (or `path` itself) with its bytes.
std::map<std::string, std::string> snapshot(const std::string& path) {
  std::map<std::string, std::string> files;
  if (fs::is_regular_file(path)) {
    files[path] = util::read_file(path);
  } else if (fs::is_directory(path)) {
    for (const auto& e : fs::recursive_directory_iterator(path)) {
      if (e.is_regular_file()) files[e.path().string()] = util::read_file(e.path().string());
    }
  }
  return files;
}

class CliOutputSafety : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir("cli_output_safety"));
    const auto r = test::run_cli(
        "--log-level warn synth-embeddings --queries 12 --gallery 18 --dim 4 --classes 3 --out " +
        q(emb("")));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() { delete dir_; }

  void SetUp() override {
    if (HasFatalFailure()) return;
    tmp_ = test::temp_dir("cli_output_safety_case");
    util::write_file_atomic(tmp("photo.jpg"), kJpegBytes);
    util::write_file_atomic(tmp("weights.safetensors"), kWeightsBytes);
  }

  static std::string emb(const std::string& name) { return *dir_ + "/emb/" + name; }
  std::string tmp(const std::string& name) const { return tmp_ + "/" + name; }
  static const test::TinyGallery& tiny() { return test::tiny_gallery(); }
  static std::string run() { return tiny().run; }
  static std::string data() { return tiny().data; }
  // A photo of the tiny data set (an input of the commands that read it).
  static std::string a_photo() { return tiny().gallery.entries.front().path; }

  static std::string metrics_args() {
    return "metrics --quiet --metric euclidean --queries " + q(emb("queries.npy")) +
           " --query-labels " + q(emb("query_labels.txt")) + " --gallery " + q(emb("gallery.npy")) +
           " --gallery-labels " + q(emb("gallery_labels.txt"));
  }

  // Runs `args`, expects exit code 1 with `message` in the output, and every file under
  // `protected_paths` byte for byte as before.
  static void expect_refused(const std::string& args, const std::string& message,
                             const std::vector<std::string>& protected_paths) {
    std::map<std::string, std::string> before;
    for (const auto& p : protected_paths) before.merge(snapshot(p));
    ASSERT_FALSE(before.empty() && !protected_paths.empty()) << "nothing to protect";
    const auto r = test::run_cli(args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "error: ")) << r.output;
    EXPECT_TRUE(contains(r.output, message)) << "expected '" << message << "' in:\n" << r.output;
    std::map<std::string, std::string> after;
    for (const auto& p : protected_paths) after.merge(snapshot(p));
    EXPECT_TRUE(before == after) << "an input changed: " << args;
  }

  // Runs `args` (which sends its JSON to '-'), expects exit 0 and standard output that parses as
  // JSON on its own; returns it.
  static nlohmann::json json_from_stdout(const std::string& args) {
    const auto r = test::run_cli_split(args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    try {
      return nlohmann::json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "standard output of `" << args << "` is not JSON (" << e.what() << "):\n"
                    << r.out;
      return nullptr;
    }
  }

  static std::string* dir_;
  std::string tmp_;
};
std::string* CliOutputSafety::dir_ = nullptr;

const char* const kRefusedInput = "would overwrite the input";

// metrics ----------------------------------------------------------------------------------------

TEST_F(CliOutputSafety, MetricsNeverWritesOverItsInputs) {
  const std::vector<std::string> inputs = {emb("queries.npy"), emb("query_labels.txt"),
                                           emb("gallery.npy"), emb("gallery_labels.txt")};
  // The cases: --json over the embeddings or labels, --per-query over labels; --force
  // changes nothing.
  expect_refused(metrics_args() + " --json " + q(emb("queries.npy")),
                 "--json '" + emb("queries.npy") + "' would overwrite the input --queries", inputs);
  expect_refused(metrics_args() + " --json " + q(emb("query_labels.txt")) + " --force",
                 kRefusedInput, inputs);
  expect_refused(metrics_args() + " --per-query " + q(emb("gallery_labels.txt")), kRefusedInput,
                 inputs);
  // Another spelling of the same file.
  expect_refused(
      metrics_args() + " --per-query " + q(*dir_ + "/emb/../emb/./gallery.npy") + " --force",
      kRefusedInput, inputs);
  // Through a symlink.
  fs::create_symlink(emb("queries.npy"), tmp("link.npy"));
  expect_refused(metrics_args() + " --per-query " + q(tmp("link.npy")), kRefusedInput, inputs);
}

TEST_F(CliOutputSafety, MetricsOutputsNeedTheirOwnPaths) {
  expect_refused(
      metrics_args() + " --json " + q(tmp("x")) + " --per-query " + q(tmp("x")) + " --force",
      "--json and --per-query both write", {tmp("photo.jpg")});
  EXPECT_FALSE(fs::exists(tmp("x")));
  expect_refused(metrics_args() + " --per-query -", "--per-query cannot write to standard output",
                 {tmp("photo.jpg")});
}

TEST_F(CliOutputSafety, MetricsReplacesOtherKindsOnlyWithForce) {
  expect_refused(metrics_args() + " --json " + q(tmp("photo.jpg")), "already holds a JPEG image",
                 {tmp("photo.jpg")});
  expect_refused(metrics_args() + " --per-query " + q(tmp("weights.safetensors")),
                 "already holds a safetensors weights file", {tmp("weights.safetensors")});
  // The same kind is replaced as before: JSON over JSON, .npy over .npy.
  util::write_file_atomic(tmp("old.json"), "{\"old\": true}\n");
  io::write_npy(tmp("old.npy"), torch::zeros({3}));
  auto r = test::run_cli(metrics_args() + " --json " + q(tmp("old.json")) + " --per-query " +
                         q(tmp("old.npy")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(nlohmann::json::parse(util::read_file(tmp("old.json"))).contains("map_all"));
  EXPECT_EQ(io::read_npy(tmp("old.npy")).size(0), 12);
  // --force replaces any other kind.
  r = test::run_cli(metrics_args() + " --json " + q(tmp("photo.jpg")) + " --per-query " +
                    q(tmp("weights.safetensors")) + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(content_of(tmp("photo.jpg")), io::FileContent::kJson);
  EXPECT_EQ(content_of(tmp("weights.safetensors")), io::FileContent::kNpy);
}

TEST_F(CliOutputSafety, MetricsJsonToStandardOutput) {
  const auto r = test::run_cli_split(metrics_args() + " --per-class --json -");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["num_queries"], 12);
  EXPECT_TRUE(contains(r.err, "mAP@all")) << r.err;  // the table moved to standard error
}

// eval and embed ---------------------------------------------------------------------------------

TEST_F(CliOutputSafety, EvalNeverWritesIntoTheRunItReads) {
  ASSERT_FALSE(HasFatalFailure());
  const std::string eval = "eval --quiet --run " + q(run()) + " --json ";
  expect_refused(eval + q(run() + "/best.ckpt"), "lies inside --run '" + run() + "'", {run()});
  expect_refused(eval + q(run() + "/config.json") + " --force", "lies inside --run", {run()});
  expect_refused(eval + q(run() + "/new.json") + " --force", "lies inside --run", {run()});
  EXPECT_FALSE(fs::exists(run() + "/new.json"));
  expect_refused(eval + q(run()), kRefusedInput, {run()});
  // The run's data (its image folder) is read too.
  expect_refused(eval + q(data() + "/eval.json"), "lies inside the run's data",
                 {data() + "/classes.txt"});
}

TEST_F(CliOutputSafety, EvalJsonToStandardOutputOrOverAnImageWithForce) {
  ASSERT_FALSE(HasFatalFailure());
  const auto j = json_from_stdout("eval --quiet --run " + q(run()) + " --json -");
  EXPECT_TRUE(j.contains("map_all")) << j;
  expect_refused("eval --quiet --run " + q(run()) + " --json " + q(tmp("photo.jpg")),
                 "already holds a JPEG image", {tmp("photo.jpg")});
  const auto r = test::run_cli("eval --quiet --run " + q(run()) + " --json " + q(tmp("photo.jpg")) +
                               " --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(nlohmann::json::parse(util::read_file(tmp("photo.jpg"))).contains("map_all"));
}

TEST_F(CliOutputSafety, EmbedWritesOutsideTheRunAndItsData) {
  ASSERT_FALSE(HasFatalFailure());
  const std::string embed = "embed --quiet --run " + q(run()) + " --out ";
  expect_refused(embed + q(run()) + " --force", "--out '" + run() + "' would overwrite the input",
                 {run()});
  expect_refused(embed + q(run() + "/emb") + " --force", "lies inside --run", {run()});
  expect_refused(embed + q(data() + "/emb"), "lies inside the run's data",
                 {data() + "/classes.txt"});
  EXPECT_FALSE(fs::exists(run() + "/emb"));
  // A folder whose queries.npy is a photo: refused without --force, replaced with it.
  fs::create_directories(tmp("emb"));
  fs::copy_file(tmp("photo.jpg"), tmp("emb/queries.npy"));
  expect_refused(embed + q(tmp("emb")),
                 "--out's queries.npy '" + tmp("emb/queries.npy") + "' already holds a JPEG image",
                 {tmp("emb")});
  EXPECT_FALSE(fs::exists(tmp("emb/gallery.npy")));  // refused before writing anything
  const auto r = test::run_cli(embed + q(tmp("emb")) + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(content_of(tmp("emb/queries.npy")), io::FileContent::kNpy);
  // An --out that is a file is no folder, --force or not.
  expect_refused(embed + q(tmp("photo.jpg")) + " --force", "not a folder", {tmp("photo.jpg")});
}

// report -----------------------------------------------------------------------------------------

TEST_F(CliOutputSafety, ReportWritesOutsideItsRunsAndOverHtmlOnly) {
  ASSERT_FALSE(HasFatalFailure());
  const std::string report = "report --quiet --run " + q(run()) + " --out ";
  expect_refused(report + q(run() + "/report.html") + " --force", "lies inside --run", {run()});
  expect_refused(report + q(run() + "/best.ckpt") + " --force", "lies inside --run", {run()});
  expect_refused(report + q(tmp("photo.jpg")), "already holds a JPEG image", {tmp("photo.jpg")});
  const auto r = test::run_cli(report + q(tmp("photo.jpg")) + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(content_of(tmp("photo.jpg")), io::FileContent::kHtml);
}

// index ------------------------------------------------------------------------------------------

TEST_F(CliOutputSafety, IndexNeverWritesOverItsPhotosOrIntoItsRun) {
  ASSERT_FALSE(HasFatalFailure());
  util::write_file_atomic(tmp("photos.txt"), a_photo() + "\n");
  const std::string index = "index --quiet --run " + q(run()) + " --photos ";
  // A listed photo as the gallery: refused even with --force.
  expect_refused(index + q(tmp("photos.txt")) + " --out " + q(a_photo()) + " --force",
                 "--out '" + a_photo() + "' would overwrite the input photo", {a_photo()});
  expect_refused(index + q(tmp("photos.txt")) + " --out " + q(tmp("photos.txt")) + " --force",
                 kRefusedInput, {tmp("photos.txt")});
  expect_refused(index + q(tmp("photos.txt")) + " --out " + q(run() + "/g.hcmsn"),
                 "lies inside --run", {run()});
  expect_refused(index + q(data() + "/photo") + " --out " + q(data() + "/photo/g.hcmsn"),
                 "lies inside --photos", {data() + "/photo"});
  // An image that is not an input: refused without --force, replaced by a gallery with it.
  expect_refused(index + q(tmp("photos.txt")) + " --out " + q(tmp("photo.jpg")),
                 "already holds a JPEG image", {tmp("photo.jpg")});
  const auto r =
      test::run_cli(index + q(tmp("photos.txt")) + " --out " + q(tmp("photo.jpg")) + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(io::sniff_file(tmp("photo.jpg")).hcmsn_kind, "gallery");
}

// train ------------------------------------------------------------------------------------------

TEST_F(CliOutputSafety, TrainNeverWritesOverItsInputsOrIntoAForeignFolder) {
  ASSERT_FALSE(HasFatalFailure());
  const auto train = [&](const std::string& out, const std::string& semantics) {
    return "--threads 2 --log-level warn train --quiet --images " + q(data()) + " --semantics " +
           q(semantics) + " --semantics-classes " + q(data() + "/classes.txt") + " --unseen " +
           q(data() + "/unseen.txt") + " --out " + q(out) +
           " --image-size 16 --cnn-channels 4,8 --cnn-out-dim 16 --dim 16 --hidden 32 "
           "--classes-per-batch 6 --per-class 2 --epochs 1 --max-steps 1";
  };
  const std::string semantics = data() + "/semantics.npy";
  expect_refused(train(semantics, semantics) + " --force",
                 "--out '" + semantics + "' would overwrite the input --semantics", {semantics});
  expect_refused(train(data() + "/run", semantics) + " --force", "lies inside --images",
                 {data() + "/classes.txt"});
  EXPECT_FALSE(fs::exists(data() + "/run"));
  // An input inside the run folder: refused even with --force.
  fs::create_directories(tmp("run"));
  fs::copy_file(semantics, tmp("run/sem.npy"));
  expect_refused(train(tmp("run"), tmp("run/sem.npy")) + " --force",
                 "the input --semantics '" + tmp("run/sem.npy") + "' lies inside --out",
                 {tmp("run")});
  // A folder of other files: refused without --force; with it the run joins them.
  fs::create_directories(tmp("pictures"));
  fs::copy_file(tmp("photo.jpg"), tmp("pictures/holiday.jpg"));
  expect_refused(train(tmp("pictures"), semantics), "is a folder with other content",
                 {tmp("pictures")});
  EXPECT_FALSE(fs::exists(tmp("pictures/config.json")));
  const auto r = test::run_cli(train(tmp("pictures"), semantics) + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(tmp("pictures/config.json")));
  EXPECT_EQ(util::read_file(tmp("pictures/holiday.jpg")), kJpegBytes);
}

// dataset, extract, eval-features ---------------------------------------------------------------

TEST_F(CliOutputSafety, DatasetNeverWritesOverItsFiles) {
  ASSERT_FALSE(HasFatalFailure());
  const std::string dataset = "dataset --layout generic --root " + q(data()) + " --unseen " +
                              q(data() + "/unseen.txt") + " --json ";
  expect_refused(dataset + q(a_photo()) + " --force", "would overwrite the input dataset file",
                 {a_photo()});
  expect_refused(dataset + q(data() + "/unseen.txt") + " --force",
                 "would overwrite the input --unseen", {data() + "/unseen.txt"});
  expect_refused(dataset + q(tmp("weights.safetensors")), "already holds a safetensors",
                 {tmp("weights.safetensors")});
  // JSON beside the data is fine (a dataset's root also holds lists and summaries).
  auto r = test::run_cli(dataset + q(tmp("summary.json")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = json_from_stdout(dataset + "-");
  EXPECT_EQ(j["counts"], nlohmann::json::parse(util::read_file(tmp("summary.json")))["counts"]);
  EXPECT_FALSE(j["counts"].is_null()) << j;
  r = test::run_cli(dataset + q(tmp("weights.safetensors")) + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(content_of(tmp("weights.safetensors")), io::FileContent::kJson);
}

TEST_F(CliOutputSafety, ExtractGuardsItsCacheSideFilesAndResumeFolder) {
  ASSERT_FALSE(HasFatalFailure());
  // Refused before the weights are read: a stand-in weights file is enough.
  const std::string weights = tmp("weights.safetensors");
  const std::string extract = "extract --quiet --layout generic --root " + q(data()) +
                              " --unseen " + q(data() + "/unseen.txt") + " --weights " +
                              q(weights) + " --out ";
  expect_refused(extract + q(weights) + " --force", "would overwrite the input --weights",
                 {weights});
  expect_refused(extract + q(a_photo()) + " --force", "would overwrite the input dataset file",
                 {a_photo()});
  expect_refused(extract + q(tmp("f.cache")) + " --stats-json " + q(weights) + " --force",
                 "would overwrite the input --weights", {weights});
  expect_refused(extract + q(tmp("f.cache")) + " --stats-json " + q(tmp("f.cache")) + " --force",
                 "--out and --stats-json both write", {weights});
  expect_refused(extract + q(tmp("photo.jpg")), "already holds a JPEG image", {tmp("photo.jpg")});
  // The resume folder is deleted at the end: one extract did not make is refused.
  fs::create_directories(tmp("f.cache.partial"));
  util::write_file_atomic(tmp("f.cache.partial/notes.txt"), "mine\n");
  expect_refused(extract + q(tmp("f.cache")),
                 "resume folder '" + tmp("f.cache.partial") + "' is a folder with other content",
                 {tmp("f.cache.partial")});
  // The same with a real backbone, --force and the statistics on standard output.
  const std::string real = test::shared("weights/mobilenet_v2_imagenet.safetensors");
  if (!fs::exists(real)) GTEST_SKIP() << "no " << real;
  fs::create_directories(tmp("small/sketch/a"));
  fs::create_directories(tmp("small/photo/a"));
  fs::copy_file(a_photo(), tmp("small/sketch/a/1.png"));
  fs::copy_file(a_photo(), tmp("small/photo/a/1.png"));
  const auto j = json_from_stdout("--threads 2 extract --quiet --layout generic --root " +
                                  q(tmp("small")) + " --weights " + q(real) + " --out " +
                                  q(tmp("photo.jpg")) + " --force --stats-json -");
  EXPECT_EQ(j["rows"], 2);
  EXPECT_EQ(io::sniff_file(tmp("photo.jpg")).hcmsn_kind, data::kFeatureCacheKind);
}

TEST_F(CliOutputSafety, EvalFeaturesNeverWritesOverItsInputs) {
  // A cache of 3 classes, 2 sketches and 2 photos each.
  data::FeatureCache cache;
  cache.features = torch::randn({12, 4});
  cache.labels = torch::arange(12, torch::kInt64).div(4, "floor");
  cache.modality = torch::arange(12, torch::kInt64).remainder(2);
  for (int i = 0; i < 12; ++i) cache.item_ids.push_back("item" + std::to_string(i));
  cache.class_names = {"a", "b", "c"};
  data::save_feature_cache(tmp("f.cache"), cache);
  util::write_file_atomic(tmp("unseen.txt"), "a\nb\nc\n");
  const std::string eval =
      "eval-features --features " + q(tmp("f.cache")) + " --unseen " + q(tmp("unseen.txt"));
  expect_refused(eval + " --json " + q(tmp("f.cache")) + " --force",
                 "would overwrite the input --features", {tmp("f.cache")});
  expect_refused(eval + " --json " + q(tmp("unseen.txt")) + " --force",
                 "would overwrite the input --unseen", {tmp("unseen.txt")});
  expect_refused(eval + " --json " + q(tmp("photo.jpg")), "already holds a JPEG image",
                 {tmp("photo.jpg")});
  const auto r = test::run_cli(eval + " --json " + q(tmp("photo.jpg")) + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto file = nlohmann::json::parse(util::read_file(tmp("photo.jpg")));
  const auto j = json_from_stdout(eval + " --json -");
  EXPECT_EQ(j["num_queries"], 6);
  EXPECT_EQ(j["map_all"], file["map_all"]);
}

// check-backbone ---------------------------------------------------------------------------------

TEST_F(CliOutputSafety, CheckBackboneNeverWritesOverItsImagesOrWeights) {
  // The command: --json meant as a flag takes a.jpg as its file. Refused before the
  // weights are read, so a stand-in weights file is enough.
  util::write_file_atomic(tmp("a.jpg"), kJpegBytes);
  util::write_file_atomic(tmp("b.jpg"), kJpegBytes);
  const std::string check =
      "check-backbone --backbone mobilenet_v2 --weights " + q(tmp("weights.safetensors"));
  expect_refused(check + " --json " + q(tmp("a.jpg")) + " " + q(tmp("b.jpg")),
                 "--json '" + tmp("a.jpg") + "' already holds a JPEG image", {tmp("a.jpg")});
  expect_refused(check + " --json " + q(tmp("b.jpg")) + " " + q(tmp("a.jpg")) + " " +
                     q(tmp("b.jpg")) + " --force",
                 "would overwrite the input image", {tmp("b.jpg")});
  expect_refused(
      check + " --json " + q(tmp("weights.safetensors")) + " " + q(tmp("a.jpg")) + " --force",
      "would overwrite the input --weights", {tmp("weights.safetensors")});

  const std::string real = test::shared("weights/mobilenet_v2_imagenet.safetensors");
  if (!fs::exists(real)) GTEST_SKIP() << "no " << real;
  const std::string image = test::shared("weights/test_images/cat.bmp");
  const std::string check_real = "check-backbone --backbone mobilenet_v2 --weights " + q(real);
  // --json -: only the JSON on standard output, the table on standard error.
  const auto r = test::run_cli_split(check_real + " --json - " + q(image));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["top5"].size(), 5u);
  EXPECT_TRUE(contains(r.err, "cat.bmp")) << r.err;
  // The photo replaced with --force.
  const auto forced =
      test::run_cli(check_real + " --json " + q(tmp("a.jpg")) + " --force " + q(image));
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_EQ(content_of(tmp("a.jpg")), io::FileContent::kJson);
}

// embed-classes ----------------------------------------------------------------------------------

TEST_F(CliOutputSafety, EmbedClassesNeverWritesOverItsInputs) {
  const std::string bert = test::fixture("bert_tiny");
  util::write_file_atomic(tmp("classes.txt"), "cat\ndog\n");
  const std::string embed =
      "embed-classes --classes " + q(tmp("classes.txt")) + " --bert " + q(bert) + " --out ";
  expect_refused(embed + q(tmp("classes.txt")) + " --force", "would overwrite the input --classes",
                 {tmp("classes.txt")});
  expect_refused(embed + q(bert + "/emb.npy") + " --force", "lies inside --bert", {bert});
  EXPECT_FALSE(fs::exists(bert + "/emb.npy"));
  // The class list beside --out: text never replaces JSON.
  util::write_file_atomic(tmp("emb.classes.txt"), "{\"keep\": 1}\n");
  expect_refused(embed + q(tmp("emb.npy")),
                 "--out's class list '" + tmp("emb.classes.txt") + "' already holds JSON",
                 {tmp("emb.classes.txt")});
  expect_refused(embed + q(tmp("photo.jpg")), "already holds a JPEG image", {tmp("photo.jpg")});
  const auto r = test::run_cli(embed + q(tmp("photo.jpg")) + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(content_of(tmp("photo.jpg")), io::FileContent::kNpy);
  EXPECT_EQ(util::read_file(tmp("photo.jpg.classes.txt")), "cat\ndog\n");
}

// synth-embeddings, synth-images, demo (no inputs: only what is already there) -------------------

TEST_F(CliOutputSafety, SynthEmbeddingsReplacesOtherKindsOnlyWithForce) {
  const std::string synth =
      "--log-level warn synth-embeddings --queries 6 --gallery 6 --dim 2 --classes 2 --out ";
  fs::create_directories(tmp("ex"));
  fs::copy_file(tmp("photo.jpg"), tmp("ex/gallery.npy"));
  expect_refused(synth + q(tmp("ex")),
                 "--out's gallery.npy '" + tmp("ex/gallery.npy") + "' already holds a JPEG image",
                 {tmp("ex")});
  EXPECT_FALSE(fs::exists(tmp("ex/queries.npy")));
  const auto r = test::run_cli(synth + q(tmp("ex")) + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(content_of(tmp("ex/gallery.npy")), io::FileContent::kNpy);
  expect_refused(synth + q(tmp("photo.jpg")) + " --force", "not a folder", {tmp("photo.jpg")});
}

TEST_F(CliOutputSafety, SynthImagesReplacesOtherKindsOnlyWithForce) {
  const std::string synth =
      "--log-level warn synth-images --quiet --image-size 16 --photos-per-class 1 "
      "--sketches-per-class 1 --out ";
  fs::create_directories(tmp("s"));
  util::write_file_atomic(tmp("s/classes.txt"), "{\"not\": \"a class list\"}\n");
  expect_refused(synth + q(tmp("s")),
                 "--out's classes.txt '" + tmp("s/classes.txt") + "' already holds JSON",
                 {tmp("s")});
  EXPECT_FALSE(fs::exists(tmp("s/photo")));
  const auto r = test::run_cli(synth + q(tmp("s")) + " --force");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(content_of(tmp("s/classes.txt")), io::FileContent::kText);
  expect_refused(synth + q(tmp("photo.jpg")) + " --force", "not a folder", {tmp("photo.jpg")});
}

TEST_F(CliOutputSafety, DemoRefusesFoldersAndFilesItDidNotWrite) {
  // Refused at the start; a successful demo takes minutes (demo_test.cpp runs one).
  fs::create_directories(tmp("out/data"));
  fs::copy_file(tmp("photo.jpg"), tmp("out/data/holiday.jpg"));
  expect_refused("demo --quick --quiet --out " + q(tmp("out")),
                 "OUT/data '" + tmp("out/data") + "' is a folder with other content (no stamp.txt",
                 {tmp("out")});
  fs::remove_all(tmp("out/data"));
  fs::create_directories(tmp("out/run"));
  util::write_file_atomic(tmp("out/run/notes.txt"), "mine\n");
  expect_refused("demo --quick --quiet --out " + q(tmp("out")), "OUT/run", {tmp("out")});
  fs::remove_all(tmp("out/run"));
  fs::copy_file(tmp("photo.jpg"), tmp("out/report.html"));
  expect_refused("demo --quick --quiet --out " + q(tmp("out")),
                 "OUT/report.html '" + tmp("out/report.html") + "' already holds a JPEG image",
                 {tmp("out")});
  EXPECT_FALSE(fs::exists(tmp("out/data")));
}

}  // namespace
}  // namespace hcmsn
