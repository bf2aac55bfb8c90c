// `hcmsn index` and `hcmsn query` end to end on a tiny trained run: gallery rows equal the
// embeddings `hcmsn embed` exports for the same photos, query answers equal an independent
// brute force over the gallery, --add keeps ids, and bad input gets a clear error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "hcmsn/data/image_decode.h"
#include "hcmsn/index/embedder.h"
#include "hcmsn/index/gallery.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/util/atomic_file.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

namespace fs = std::filesystem;

std::string canonical(const std::string& p) {
  return fs::weakly_canonical(p).string();
}

class CliIndex : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir("cli_index"));
    auto r = test::run_cli(
        "--log-level warn synth-images --quiet --image-size 24 "
        "--photos-per-class 4 --sketches-per-class 4 --out '" +
        path("data") + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = test::run_cli("--threads 2 --log-level warn train --quiet --images '" + path("data") +
                      "' --semantics '" + path("data/semantics.npy") + "' --semantics-classes '" +
                      path("data/classes.txt") + "' --unseen '" + path("data/unseen.txt") +
                      "' --out '" + run() +
                      "' --image-size 16 --cnn-channels 4,8 --cnn-out-dim 16 --dim 16 "
                      "--hidden 32 --classes-per-batch 6 --per-class 2 --epochs 2");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = test::run_cli("--log-level warn index --quiet --run '" + run() + "' --photos '" +
                      path("data/photo") + "' --out '" + gallery() + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string path(const std::string& name) { return *dir_ + "/" + name; }
  static std::string run() { return path("run"); }
  static std::string gallery() { return path("gallery.hcmsn"); }
  static std::string a_sketch() {
    for (const auto& e : fs::recursive_directory_iterator(path("data/sketch"))) {
      if (e.is_regular_file() && e.path().extension() == ".png") return e.path().string();
    }
    return "";
  }
  static std::string* dir_;
};
std::string* CliIndex::dir_ = nullptr;

TEST_F(CliIndex, GalleryRowsEqualTheRunsOwnEmbeddings) {
  const index::Gallery g = index::load_gallery(gallery());
  ASSERT_EQ(g.size(), 36 * 4);
  EXPECT_EQ(g.class_names().size(), 36u);
  auto r = test::run_cli("embed --quiet --run '" + run() + "' --out '" + path("emb") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const torch::Tensor exported = io::read_npy(path("emb/gallery.npy")).to(torch::kFloat32);
  const auto ids = io::read_labels(path("emb/gallery_ids.txt"));
  std::map<std::string, int64_t> row_of;
  for (int64_t i = 0; i < g.size(); ++i)
    row_of[canonical(g.entries[static_cast<size_t>(i)].path)] = i;
  ASSERT_GT(ids.size(), 0u);
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto it = row_of.find(canonical(ids[i]));
    ASSERT_NE(it, row_of.end()) << ids[i];
    EXPECT_TRUE(
        torch::allclose(g.embeddings[it->second], exported[static_cast<int64_t>(i)], 1e-5, 1e-6))
        << ids[i];
  }
}

TEST_F(CliIndex, QueryEqualsBruteForce) {
  const std::string sketch = a_sketch();
  auto r = test::run_cli("query --index '" + gallery() + "' -k 7 --json - '" + sketch + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto out = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  ASSERT_EQ(out["results"].size(), 7u);
  EXPECT_GE(out["seconds"].get<double>(), 0.0);

  // Independent: embed in-process, then every distance by the arcosh formula in double.
  const index::Gallery g = index::load_gallery(gallery());
  const auto embedder = index::Embedder::from_run(run());
  const torch::Tensor q =
      embedder->embed_images({data::decode_image_file(sketch)}, model::kSketch).to(torch::kFloat64);
  const torch::Tensor y = g.embeddings.to(torch::kFloat64);
  const double c = g.curvature;
  const torch::Tensor diff = (y - q).pow(2).sum(1);
  const torch::Tensor arg =
      1 + 2 * c * diff / ((1 - c * q.pow(2).sum()) * (1 - c * y.pow(2).sum(1)));
  const torch::Tensor d = c > 0 ? torch::acosh(arg) / std::sqrt(c) : 2 * diff.sqrt();
  const auto order = std::get<1>(d.sort());
  for (int64_t j = 0; j < 7; ++j) {
    const auto& res = out["results"][static_cast<size_t>(j)];
    const int64_t id = res["id"].get<int64_t>();
    EXPECT_NEAR(res["distance"].get<double>(), d[order[j]].item<double>(), 1e-4);
    EXPECT_NEAR(d[id].item<double>(), d[order[j]].item<double>(), 1e-6) << "rank " << j;
    EXPECT_EQ(res["path"], g.entries[static_cast<size_t>(id)].path);
    EXPECT_EQ(res["class"], g.entries[static_cast<size_t>(id)].class_name);
  }
  // The FAISS backend finds the same photos on this small gallery.
  r = test::run_cli("query --backend faiss --index '" + gallery() + "' -k 7 --json - '" + sketch +
                    "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto approx = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  for (size_t j = 0; j < 7; ++j) EXPECT_EQ(approx["results"][j]["id"], out["results"][j]["id"]);
  // The table form prints the same first result.
  r = test::run_cli("query --index '" + gallery() + "' -k 3 '" + sketch + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(test::contains(r.output, out["results"][0]["path"].get<std::string>()));
}

TEST_F(CliIndex, StrokesQuery) {
  std::ofstream(path("strokes.json")) << "[[[10, 200, 240], [20, 30, 220]], [[50, 60], [200, 10]]]";
  const auto r = test::run_cli("query --index '" + gallery() + "' -k 4 --json - '" +
                               path("strokes.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto out = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  ASSERT_EQ(out["results"].size(), 4u);
  for (size_t j = 1; j < 4; ++j) {
    EXPECT_LE(out["results"][j - 1]["distance"].get<double>(),
              out["results"][j]["distance"].get<double>());
  }
}

TEST_F(CliIndex, AddKeepsIdsAndSkipsKnownPhotos) {
  const index::Gallery full = index::load_gallery(gallery());
  // A list of the first ten photos, then --add of the whole folder.
  {
    std::ofstream list(path("first.txt"));
    for (size_t i = 0; i < 10; ++i)
      list << full.entries[i].path << "\t" << full.entries[i].class_name << "\n";
  }
  const std::string g2 = path("grown.hcmsn");
  auto r = test::run_cli("--log-level warn index --quiet --run '" + run() + "' --photos '" +
                         path("first.txt") + "' --out '" + g2 + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const index::Gallery small = index::load_gallery(g2);
  ASSERT_EQ(small.size(), 10);
  r = test::run_cli("index --quiet --photos '" + path("data/photo") + "' --out '" + g2 + "' --add");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(test::contains(r.output, "10 of 144 photos are already in the gallery")) << r.output;
  const index::Gallery grown = index::load_gallery(g2);
  ASSERT_EQ(grown.size(), full.size());
  EXPECT_TRUE(torch::equal(grown.embeddings.slice(0, 0, 10), small.embeddings));
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(grown.entries[i].path, small.entries[i].path);
}

TEST_F(CliIndex, UnreadablePhotosAreListedNotFatal) {
  const std::string photos = path("photos_bad");
  fs::create_directories(photos + "/cat");
  fs::copy_file(index::load_gallery(gallery()).entries[0].path, photos + "/cat/ok.png");
  util::write_file_atomic(photos + "/cat/broken.png", "\x89PNG\r\n\x1a\n truncated");
  const std::string out = path("bad.hcmsn");
  const auto r = test::run_cli("index --quiet --run '" + run() + "' --photos '" + photos +
                               "' --out '" + out + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(index::load_gallery(out).size(), 1);
  EXPECT_TRUE(test::contains(util::read_file(out + ".unreadable.tsv"), "broken.png"));
}

TEST_F(CliIndex, ClearErrors) {
  auto r = test::run_cli("index --quiet --run '" + run() + "' --photos '" + path("data/photo") +
                         "' --out '" + gallery() + "'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(test::contains(r.output, "pass --add")) << r.output;

  r = test::run_cli("index --quiet --run '" + path("no_run") + "' --photos '" + path("data/photo") +
                    "' --out '" + path("x.hcmsn") + "'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(test::contains(r.output, "not a run") || test::contains(r.output, "config.json"))
      << r.output;

  std::string bytes = util::read_file(gallery());
  bytes[bytes.size() / 2] ^= 0x01;
  util::write_file_atomic(path("corrupt.hcmsn"), bytes);
  r = test::run_cli("query --index '" + path("corrupt.hcmsn") + "' '" + a_sketch() + "'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(test::contains(r.output, "checksum")) << r.output;

  r = test::run_cli("query --index '" + gallery() + "' -k 0 '" + a_sketch() + "'");
  EXPECT_NE(r.exit_code, 0);

  util::write_file_atomic(path("bad.json"), "[[[1, 2], [3]]]");
  r = test::run_cli("query --index '" + gallery() + "' '" + path("bad.json") + "'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(test::contains(r.output, "terminate")) << r.output;

  // A run whose checkpoint changed after indexing: queries would not match the gallery.
  fs::copy(run(), path("run_copy"), fs::copy_options::recursive);
  r = test::run_cli("--log-level warn index --quiet --run '" + path("run_copy") + "' --photos '" +
                    path("data/photo") + "' --out '" + path("copy.hcmsn") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  fs::copy_file(path("run_copy/last.ckpt"), path("run_copy/best.ckpt"),
                fs::copy_options::overwrite_existing);
  std::string ckpt = util::read_file(path("run_copy/best.ckpt"));
  if (ckpt == util::read_file(run() + "/best.ckpt")) GTEST_SKIP() << "best == last";
  r = test::run_cli("query --index '" + path("copy.hcmsn") + "' '" + a_sketch() + "'");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(test::contains(r.output, "changed since the gallery was built")) << r.output;
}

}  // namespace
}  // namespace hcmsn
