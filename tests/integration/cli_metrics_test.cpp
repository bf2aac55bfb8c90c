// `hcmsn metrics` end to end: JSON contents equal the library's results, and bad input gets a
// clear message and a non-zero exit code (never a crash).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/metrics/retrieval_evaluator.h"
#include "support/test_support.h"

namespace hcmsn {
namespace {

class CliMetrics : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir("cli_metrics");
    const auto r = test::run_cli(
        "--log-level warn synth-embeddings --queries 300 --gallery 400 --dim 16 "
        "--classes 5 --curvature 0.5 --out '" +
        dir_ + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string base_args(const std::string& queries = "queries.npy",
                        const std::string& gallery = "gallery.npy") const {
    return "metrics --quiet --queries '" + path(queries) + "' --query-labels '" +
           path("query_labels.txt") + "' --gallery '" + path(gallery) + "' --gallery-labels '" +
           path("gallery_labels.txt") + "'";
  }
  void expect_failure(const std::string& args, const std::string& message) const {
    const auto r = test::run_cli(args);
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_LT(r.exit_code, 128) << "crashed: " << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << "output was: " << r.output;
  }
  std::string dir_;
};

TEST_F(CliMetrics, JsonHoldsTheRequiredFieldsAndMatchesTheLibrary) {
  const auto r =
      test::run_cli(base_args() + " --curvature 0.5 --k 10,50 --json '" + path("m.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(path("m.json"));
  const auto j = nlohmann::json::parse(in);
  for (const char* key :
       {"map_all", "prec@10", "map@10", "prec@50", "map@50", "num_queries", "num_gallery",
        "protocol", "metric", "curvature", "seconds", "per_class"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["num_queries"], 300);
  EXPECT_EQ(j["num_gallery"], 400);
  EXPECT_EQ(j["protocol"], "standard");
  EXPECT_EQ(j["metric"], "poincare");
  EXPECT_EQ(j["per_class"].size(), 5u);

  const auto labels = metrics::encode_labels(io::read_labels(path("query_labels.txt")),
                                             io::read_labels(path("gallery_labels.txt")));
  metrics::EvaluationOptions opt;
  opt.ks = {10, 50};
  const auto lib = metrics::evaluate_embeddings(io::read_npy(path("queries.npy")),
                                                io::read_npy(path("gallery.npy")), labels,
                                                {metrics::Metric::kPoincare, 0.5}, opt);
  EXPECT_DOUBLE_EQ(j["map_all"].get<double>(), lib.map_all);
  EXPECT_DOUBLE_EQ(j["prec@50"].get<double>(), lib.prec_at[1]);
  EXPECT_NE(r.output.find("mAP@all"), std::string::npos);
}

TEST_F(CliMetrics, PerQueryOutputAveragesToMapAll) {
  const auto r = test::run_cli(base_args() + " --curvature 0.5 --protocol voc --per-query '" +
                               path("ap.npy") + "' --json '" + path("m.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto ap = io::read_npy(path("ap.npy"));
  std::ifstream in(path("m.json"));
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["protocol"], "voc");
  EXPECT_NEAR(ap.mean().item<double>(), j["map_all"].get<double>(), 1e-12);
}

TEST_F(CliMetrics, PresetsAreNamedWithTheirRulesAndSource) {
  for (const std::string preset : {"sake", "zse-sbir", "sem-pcyc"}) {
    const auto r = test::run_cli(base_args() + " --curvature 0.5 --protocol " + preset +
                                 " --json '" + path(preset + ".json") + "'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::ifstream in(path(preset + ".json"));
    const auto j = nlohmann::json::parse(in);
    EXPECT_EQ(j["protocol"], preset);
    EXPECT_NE(j["protocol_source"].get<std::string>().find("github.com"), std::string::npos);
    EXPECT_NE(j["protocol_description"].get<std::string>().find("Prec@K"), std::string::npos);
    EXPECT_NE(r.output.find("source: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("protocol: " + preset), std::string::npos) << r.output;
  }
}

TEST_F(CliMetrics, ScoreMatrixInput) {
  const auto q = io::read_npy(path("queries.npy"));
  const auto g = io::read_npy(path("gallery.npy"));
  io::write_npy(path("scores.npy"), q.mm(g.t()));
  const auto r =
      test::run_cli("metrics --quiet --scores '" + path("scores.npy") + "' --query-labels '" +
                    path("query_labels.txt") + "' --gallery-labels '" + path("gallery_labels.txt") +
                    "' --json '" + path("s.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(path("s.json"));
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["metric"], "scores");
  const auto labels = metrics::encode_labels(io::read_labels(path("query_labels.txt")),
                                             io::read_labels(path("gallery_labels.txt")));
  const auto lib = metrics::evaluate_scores(q.mm(g.t()), labels, /*higher_is_better=*/true, {});
  EXPECT_DOUBLE_EQ(j["map_all"].get<double>(), lib.map_all);
  EXPECT_DOUBLE_EQ(j["prec@100"].get<double>(), lib.prec_at[0]);
  EXPECT_GT(lib.map_all, 0.0);
}

TEST_F(CliMetrics, BadInputGetsAClearError) {
  expect_failure(base_args("missing.npy"), "missing.npy");
  // Truncated .npy.
  {
    const std::string bytes = io::to_npy_bytes(io::read_npy(path("queries.npy")));
    std::ofstream(path("trunc.npy"), std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  expect_failure(base_args("trunc.npy"), "truncated");
  // Dimension mismatch.
  io::write_npy(path("narrow.npy"), io::read_npy(path("gallery.npy")).slice(1, 0, 8).contiguous());
  expect_failure(base_args("queries.npy", "narrow.npy") + " --curvature 0.5", "dimension");
  // NaN row.
  auto nan = io::read_npy(path("queries.npy"));
  nan[7][0] = std::numeric_limits<float>::quiet_NaN();
  io::write_npy(path("nan.npy"), nan);
  expect_failure(base_args("nan.npy"), "row 7");
  // Points outside the ball of the given curvature (generated for c = 0.5, checked with c = 100).
  expect_failure(base_args() + " --curvature 100", "outside the Poincare ball");
  expect_failure(base_args() + " --curvature -1", "curvature");
  expect_failure(base_args() + " --protocol sakee", "unknown protocol");
  expect_failure(base_args() + " --protocol voc+tie-groups", "do not combine");
  expect_failure(base_args() + " --metric manhattan", "manhattan");
  expect_failure(base_args() + " --k 0", "K must be positive");
  // Row/label count mismatch.
  io::write_labels(path("few.txt"), {"class_0", "class_1"});
  expect_failure("metrics --quiet --queries '" + path("queries.npy") + "' --query-labels '" +
                     path("few.txt") + "' --gallery '" + path("gallery.npy") +
                     "' --gallery-labels '" + path("gallery_labels.txt") + "'",
                 "labels");
  // Empty gallery.
  io::write_npy(path("empty.npy"), torch::zeros({0, 16}));
  std::ofstream(path("empty.txt")).close();
  expect_failure("metrics --quiet --queries '" + path("queries.npy") + "' --query-labels '" +
                     path("query_labels.txt") + "' --gallery '" + path("empty.npy") +
                     "' --gallery-labels '" + path("empty.txt") + "'",
                 "empty");
  // A query class absent from the gallery, with --empty-queries error.
  auto labels = io::read_labels(path("query_labels.txt"));
  labels[0] = "unicorn";
  io::write_labels(path("ql_unknown.txt"), labels);
  expect_failure("metrics --quiet --empty-queries error --curvature 0.5 --queries '" +
                     path("queries.npy") + "' --query-labels '" + path("ql_unknown.txt") +
                     "' --gallery '" + path("gallery.npy") + "' --gallery-labels '" +
                     path("gallery_labels.txt") + "'",
                 "unicorn");
}

}  // namespace
}  // namespace hcmsn
