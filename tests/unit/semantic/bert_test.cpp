// BERT encoder and class embedder (hcmsn/semantic/bert.h, class_embedder.h) against
// transformers (tests/reference/make_bert_golden.py):
//  * BertTiny*: a random 2-layer BERT (tests/fixtures/bert_tiny) loaded from model.safetensors
//    and from pytorch_model.bin (older layout: "bert." prefix, position_ids buffer, pooler and
//    MLM head), last hidden states of a padded batch with token types to 1e-5;
//  * BertMiniLM*: the real all-MiniLM-L6-v2 from $HCMSN_MINILM_DIR (scripts/fetch_minilm.sh;
//    skipped when unset): token ids, hidden states and the three poolings of 10 class names;
//  * BertConfig* / BertLoad*: rejected configurations and folders, with clear messages.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hcmsn/semantic/bert.h"
#include "hcmsn/semantic/class_embedder.h"
#include "hcmsn/util/check.h"
#include "support/json_tensor.h"
#include "support/test_support.h"

namespace hcmsn::semantic {
namespace {

using test::max_abs_diff;
using test::read_json;

namespace fs = std::filesystem;

torch::Tensor ids_of(const nlohmann::json& j) {
  return test::to_tensor(j).to(torch::kInt64);
}

// A copy of the tiny fixture folder with only the given weight file.
std::string tiny_folder_with(const std::string& weights, const std::string& tag) {
  const std::string dir = test::temp_dir(tag);
  for (const std::string& f : std::vector<std::string>{"config.json", "vocab.txt", weights}) {
    fs::copy_file(test::fixture("bert_tiny/" + f), dir + "/" + f);
  }
  return dir;
}

void expect_tiny_golden(BertModel model) {
  const auto g = read_json(test::fixture("bert_tiny_golden.json"));
  torch::NoGradGuard no_grad;
  const auto got = model->forward(ids_of(g["input_ids"]), ids_of(g["attention_mask"]),
                                  ids_of(g["token_type_ids"]));
  const auto want = test::to_tensor(g["last_hidden_state"]);
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_EQ(got.scalar_type(), torch::kFloat32);
  EXPECT_LT(max_abs_diff(got, want), 1e-5);
  EXPECT_GT(want.abs().max().item<double>(), 0.5);  // the values are not trivially small
}

TEST(BertTiny, SafetensorsMatchesTransformers) {
  BertModel model = load_bert(test::fixture("bert_tiny"));
  EXPECT_FALSE(model->is_training());
  EXPECT_EQ(model->config().hidden_size, 32);
  EXPECT_EQ(model->config().num_hidden_layers, 2);
  expect_tiny_golden(model);
}

TEST(BertTiny, PytorchBinWithPrefixAndHeadsMatchesTransformers) {
  expect_tiny_golden(load_bert(tiny_folder_with("pytorch_model.bin", "bert-bin")));
}

TEST(BertTiny, PaddingDoesNotChangeRealTokens) {
  BertModel model = load_bert(test::fixture("bert_tiny"));
  torch::NoGradGuard no_grad;
  const auto ids = torch::tensor({2, 11, 17, 20, 18, 3}, torch::kInt64).unsqueeze(0);
  const auto alone = model->forward(ids);
  const auto padded = model->forward(torch::cat({ids, torch::zeros({1, 3}, torch::kInt64)}, 1),
                                     torch::tensor({1, 1, 1, 1, 1, 1, 0, 0, 0}).unsqueeze(0));
  EXPECT_LT(max_abs_diff(alone[0], padded[0].slice(0, 0, 6)), 1e-5);
}

TEST(BertTiny, RejectsBadInputs) {
  BertModel model = load_bert(test::fixture("bert_tiny"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               model->forward(torch::tensor({{2, 99}}, torch::kInt64));
                             }),
                             "input_ids must lie in [0, 40)"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               model->forward(torch::zeros({1, 17}, torch::kInt64));
                             }),
                             "1 to 16"));
  EXPECT_TRUE(test::contains(
      test::error_of([&] {
        model->forward(torch::zeros({1, 3}, torch::kInt64), torch::ones({1, 4}, torch::kInt64));
      }),
      "attention_mask"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               model->forward(torch::zeros({1, 3}, torch::kFloat32));
                             }),
                             "int64"));
}

TEST(BertConfig, RejectsUnsupportedConfigurations) {
  const std::string base = R"({"hidden_size": 32, "num_attention_heads": 4)";
  EXPECT_EQ(parse_bert_config(base + "}", "c").hidden_size, 32);
  EXPECT_TRUE(test::contains(
      test::error_of([&] { parse_bert_config(base + R"(, "hidden_act": "relu"})", "c"); }),
      "hidden_act \"relu\" is not supported"));
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               parse_bert_config(
                                   base + R"(, "position_embedding_type": "relative_key"})", "c");
                             }),
                             "position_embedding_type"));
  EXPECT_TRUE(test::contains(
      test::error_of([&] { parse_bert_config(base + R"(, "num_attention_heads": 5})", "c"); }),
      "not a multiple"));
  EXPECT_TRUE(test::contains(
      test::error_of([&] { parse_bert_config(base + R"(, "hidden_size": "big"})", "c"); }),
      "must be an integer"));
  EXPECT_TRUE(test::contains(
      test::error_of([&] { parse_bert_config(base + R"(, "model_type": "roberta"})", "c"); }),
      "roberta"));
  EXPECT_TRUE(test::contains(test::error_of([&] { parse_bert_config("{nope", "cfg.json"); }),
                             "cfg.json is not valid JSON"));
  EXPECT_TRUE(test::contains(
      test::error_of([&] { parse_bert_config(base + R"(, "num_hidden_layers": 0})", "c"); }),
      "positive"));
}

TEST(BertLoad, RejectsBadFolders) {
  EXPECT_TRUE(
      test::contains(test::error_of([] { load_bert("/nonexistent/bert"); }), "does not exist"));
  const std::string no_weights = test::temp_dir("bert-noweights");
  fs::copy_file(test::fixture("bert_tiny/config.json"), no_weights + "/config.json");
  EXPECT_TRUE(test::contains(test::error_of([&] { load_bert(no_weights); }),
                             "neither model.safetensors nor pytorch_model.bin"));
  const std::string no_config = test::temp_dir("bert-noconfig");
  EXPECT_TRUE(test::contains(test::error_of([&] { load_bert(no_config); }), "config.json"));
  // Weights that do not fit the config: a wider hidden size.
  const std::string wrong = tiny_folder_with("model.safetensors", "bert-wrong");
  auto cfg = read_json(wrong + "/config.json");
  cfg["intermediate_size"] = 48;
  std::ofstream(wrong + "/config.json") << cfg.dump();
  const std::string msg = test::error_of([&] { load_bert(wrong); });
  EXPECT_TRUE(test::contains(msg, "does not fit its config.json")) << msg;
  EXPECT_TRUE(test::contains(msg, "intermediate.dense.weight")) << msg;
}

// ---------------------------------------------------------------------------------------------
// Real weights
// ---------------------------------------------------------------------------------------------

std::string minilm_dir() {
  const char* env = std::getenv("HCMSN_MINILM_DIR");
  return env && fs::exists(fs::path(env) / "config.json") ? env : "";
}

TEST(BertMiniLM, MatchesTransformersOnClassNames) {
  const std::string dir = minilm_dir();
  if (dir.empty()) {
    GTEST_SKIP() << "set HCMSN_MINILM_DIR to an all-MiniLM-L6-v2 folder "
                    "(scripts/fetch_minilm.sh DIR) to run the real-weights check";
  }
  const auto g = read_json(test::fixture("bert_minilm_golden.json"));
  const auto names = g["names"].get<std::vector<std::string>>();
  ClassEmbedderOptions options;
  options.text_template = g["template"];
  for (const std::string pooling : {"name-mean", "mean", "cls"}) {
    options.pooling = parse_pooling(pooling);
    const auto embedder = ClassEmbedder::load(dir, options);
    if (pooling == "name-mean") {
      // Same tokens as transformers' tokenizer.
      for (size_t i = 0; i < names.size(); ++i) {
        const auto text = class_text(options.text_template, names[i]).text;
        EXPECT_EQ(text, g["texts"][i].get<std::string>());
        auto ids = embedder.tokenizer().encode(text).ids;
        auto want = g["input_ids"][i].get<std::vector<int64_t>>();
        want.resize(ids.size());
        EXPECT_EQ(ids, want) << text;
      }
    }
    const auto got = embedder.embed(names);
    const auto want = test::to_tensor(g["pooled"][pooling]);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_LT(max_abs_diff(got, want), 2e-5) << pooling;
  }
  BertModel model = load_bert(dir);
  torch::NoGradGuard no_grad;
  const auto hidden = model->forward(ids_of(g["input_ids"]), ids_of(g["attention_mask"]));
  EXPECT_LT(max_abs_diff(hidden.slice(0, 0, 2), test::to_tensor(g["hidden_first_two"])), 2e-5);
}

}  // namespace
}  // namespace hcmsn::semantic
