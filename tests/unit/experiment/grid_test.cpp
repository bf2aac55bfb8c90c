// The grid of hcmsn experiment (hcmsn/experiment/grid.h): a full grid parses in the file's
// order with the defaults filled in, and every kind of mistake gets an error that names it.
#include "hcmsn/experiment/grid.h"

#include <gtest/gtest.h>

#include <string>

#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::experiment {
namespace {

using test::contains;
using test::error_of;

// A valid grid with `extra` spliced in before the closing brace (",\"key\": value").
std::string grid_with(
    const std::string& variants = R"({"hcmsn": [], "euclidean": ["--curvature", "0"]})",
    const std::string& extra = "") {
  return R"({"train": ["--features", "f.hfc", "--split", "quickdraw30", "--epochs", "2"],
             "variants": )" +
         variants + R"(, "seeds": [0, 1],
             "evaluations": {"standard": [], "generalised": ["--gallery", "all"]})" +
         extra + "}";
}

std::string message_of(const std::string& text) {
  return error_of([&] { parse_grid(text); });
}

TEST(ExperimentGrid, ParsesInTheFilesOrderWithDefaults) {
  const auto grid = parse_grid(R"({
    "title": "dimension sweep",
    "train": ["--features", "f.hfc", "--split", "quickdraw30"],
    "variants": {"dim-64": ["--dim", "64"], "dim-128": ["--dim", "128"], "dim-512": ["--dim", "512"]},
    "seeds": [2, 0],
    "evaluations": {"standard": [], "generalised": ["--gallery", "all"]},
    "baselines": {"backbone-cosine": {"generalised": ["--features", "f.hfc", "--gallery", "all"],
                                      "standard": ["--features", "f.hfc"]}}
  })");
  EXPECT_EQ(grid.title, "dimension sweep");
  ASSERT_EQ(grid.variants.size(), 3u);
  EXPECT_EQ(grid.variants[0].name, "dim-64");
  EXPECT_EQ(grid.variants[1].name, "dim-128");
  EXPECT_EQ(grid.variants[2].name, "dim-512");
  EXPECT_EQ(grid.variants[1].args, (std::vector<std::string>{"--dim", "128"}));
  EXPECT_EQ(grid.seeds, (std::vector<uint64_t>{2, 0}));
  ASSERT_EQ(grid.evaluations.size(), 2u);
  EXPECT_EQ(grid.evaluations[0].name, "standard");
  EXPECT_TRUE(grid.evaluations[0].args.empty());
  ASSERT_EQ(grid.baselines.size(), 1u);
  // A baseline's evaluations follow the grid's order of evaluations.
  ASSERT_EQ(grid.baselines[0].per_evaluation.size(), 2u);
  EXPECT_EQ(grid.baselines[0].per_evaluation[0].name, "standard");
  EXPECT_EQ(grid.baselines[0].per_evaluation[1].args,
            (std::vector<std::string>{"--features", "f.hfc", "--gallery", "all"}));
  EXPECT_EQ(grid.checkpoint, "last");
  EXPECT_EQ(grid.protocol, "standard");
  EXPECT_EQ(grid.ks, (std::vector<int64_t>{100, 200}));
}

TEST(ExperimentGrid, OptionalSettings) {
  const auto grid =
      parse_grid(grid_with(R"({"hcmsn": []})", R"(, "checkpoint": "best", "protocol": "sake",
                                                 "ks": [10, 5])"));
  EXPECT_EQ(grid.checkpoint, "best");
  EXPECT_EQ(grid.protocol, "sake");
  EXPECT_EQ(grid.ks, (std::vector<int64_t>{10, 5}));
  EXPECT_TRUE(grid.baselines.empty());
}

TEST(ExperimentGrid, RejectsMistakesWithAMessageNamingThem) {
  const auto expect_error = [](const std::string& text, const std::string& needle) {
    const std::string message = message_of(text);
    EXPECT_TRUE(contains(message, needle)) << "message: " << message << "\ngrid: " << text;
  };
  expect_error("{", "not valid JSON");
  expect_error("[1, 2]", "must be a JSON object");
  expect_error(grid_with(R"({"a": []})", R"(, "varients": {})"), "unknown key \"varients\"");
  expect_error(grid_with("{}"), "\"variants\" is empty");
  expect_error(grid_with("[]"), "\"variants\" must be an object");
  expect_error(R"({"variants": {"a": []}, "seeds": [0], "evaluations": {"s": []}})",
               "no \"train\"");
  expect_error(R"({"train": [], "variants": {"a": []}, "seeds": [0], "evaluations": {"s": []}})",
               "\"train\" is empty");
  expect_error(R"({"train": ["x"], "variants": {"a": []}, "seeds": [], "evaluations": {"s": []}})",
               "\"seeds\" must be a non-empty list");
  expect_error(
      R"({"train": ["x"], "variants": {"a": []}, "seeds": [0, 0], "evaluations": {"s": []}})",
      "lists 0 twice");
  expect_error(
      R"({"train": ["x"], "variants": {"a": []}, "seeds": [-1], "evaluations": {"s": []}})",
      "non-negative integers");
  expect_error(R"({"train": ["x"], "variants": {"a": []}, "seeds": [0], "evaluations": {}})",
               "\"evaluations\" is empty");
  // Duplicate names: JSON would silently keep one of them.
  expect_error(grid_with(R"({"hcmsn": [], "hcmsn": ["--no-adv"]})"),
               "\"variants\" has \"hcmsn\" twice");
  expect_error(grid_with(R"({"a": []})", R"(, "seeds": [1])"), "the grid has \"seeds\" twice");
  // Arguments are strings, and the runner's own flags are not among them.
  expect_error(grid_with(R"({"c": ["--curvature", 0.01]})"), "variants.c[1] is 0.01, not a string");
  expect_error(grid_with(R"({"c": "--no-adv"})"), "variants.c must be a list");
  expect_error(grid_with(R"({"c": ["--seed", "3"]})"), "variants.c contains --seed");
  expect_error(grid_with(R"({"c": ["--out=x"]})"), "variants.c contains --out");
  expect_error(grid_with(R"({"c": ["--max-steps", "5"]})"), "--max-steps");
  expect_error(grid_with(R"({"c": ["--epochs", "5"]})"), "variants.c repeats --epochs");
  expect_error(grid_with(R"({"a/b": []})"), "cannot name files");
  expect_error(
      R"({"train": ["x"], "variants": {"a": []}, "seeds": [0], "evaluations": {"x": ["--json", "y"]}})",
      "evaluations.x contains --json");
  // Baselines.
  expect_error(grid_with(R"({"a": []})", R"(, "baselines": {"b": {"nope": ["--features", "f"]}})"),
               "names the evaluation \"nope\"");
  expect_error(grid_with(R"({"a": []})", R"(, "baselines": {"b": {"standard": []}})"),
               "baselines.b.standard is empty");
  expect_error(grid_with(R"({"a": []})", R"(, "baselines": {"b": ["--features", "f"]})"),
               "baselines.b must map evaluation names");
  expect_error(grid_with(R"({"a": []})", R"(, "baselines": {"b": {"standard": ["--k", "5"]}})"),
               "baselines.b.standard contains --k");
  expect_error(
      grid_with(R"({"a": []})", R"(, "baselines": {"a": {"standard": ["--features", "f"]}})"),
      "both a variant and a baseline");
  // Settings.
  expect_error(grid_with(R"({"a": []})", R"(, "checkpoint": "first")"),
               "\"checkpoint\" must be \"best\" or \"last\"");
  expect_error(grid_with(R"({"a": []})", R"(, "protocol": "nope")"), "\"protocol\":");
  expect_error(grid_with(R"({"a": []})", R"(, "ks": [0])"), "positive integers");
  expect_error(grid_with(R"({"a": []})", R"(, "ks": [])"), "\"ks\" must be a non-empty list");
}

TEST(ExperimentGrid, ReadGridNamesTheFile) {
  const std::string dir = test::temp_dir("experiment_grid");
  const std::string message = error_of([&] { read_grid(dir + "/missing.json"); });
  EXPECT_TRUE(contains(message, "missing.json")) << message;
}

}  // namespace
}  // namespace hcmsn::experiment
