// Class embedder (hcmsn/semantic/class_embedder.h) and `hcmsn embed-classes`, on the tiny random
// BERT of tests/fixtures/bert_tiny (its golden values are checked in bert_test.cpp): name
// normalisation and templates, each pooling recomputed by hand from the encoder's hidden states,
// batching, normalisation, the CLI's outputs and errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/semantic/class_embedder.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::semantic {
namespace {

using test::max_abs_diff;

TEST(ClassEmbedderText, NormalisesNamesAndFillsTheTemplate) {
  EXPECT_EQ(normalize_class_name("alarm_clock"), "alarm clock");
  EXPECT_EQ(normalize_class_name("  hot-air__balloon "), "hot-air balloon");
  EXPECT_EQ(normalize_class_name("car_(sedan)"), "car (sedan)");
  EXPECT_TRUE(test::contains(test::error_of([] { normalize_class_name(" _ "); }), "empty"));
  const ClassText t = class_text("a picture of a {}.", "teddy_bear");
  EXPECT_EQ(t.text, "a picture of a teddy bear.");
  EXPECT_EQ(t.text.substr(t.name_begin, t.name_end - t.name_begin), "teddy bear");
  EXPECT_TRUE(test::contains(test::error_of([] { class_text("no slot", "cat"); }), "exactly once"));
  EXPECT_TRUE(test::contains(test::error_of([] { class_text("{} {}", "cat"); }), "exactly once"));
  EXPECT_EQ(parse_pooling("cls"), Pooling::kCls);
  EXPECT_TRUE(test::contains(test::error_of([] { parse_pooling("max"); }), "name-mean"));
}

TEST(ClassEmbedderPooling, EachPoolingAveragesTheRightTokens) {
  const std::string dir = test::fixture("bert_tiny");
  ClassEmbedderOptions options;
  options.text_template = "a picture of a {}";
  options.batch_size = 2;  // 3 names: two batches, the first padded
  const std::vector<std::string> names = {"alarm_clock", "cat", "hot-air_balloon"};
  // Token ids of the tiny vocabulary: a=5 picture=6 of=7 cat=9 alarm=12 clock=13 hot=14 -=19
  // air=15 balloon=16; [CLS]=2 [SEP]=3.
  const std::vector<std::vector<int64_t>> ids = {
      {2, 5, 6, 7, 5, 12, 13, 3}, {2, 5, 6, 7, 5, 9, 3}, {2, 5, 6, 7, 5, 14, 19, 15, 16, 3}};
  const std::vector<std::pair<int64_t, int64_t>> name_tokens = {{5, 7}, {5, 6}, {5, 9}};
  BertModel model = load_bert(dir);
  torch::NoGradGuard no_grad;
  for (const auto pooling : {Pooling::kNameMean, Pooling::kMean, Pooling::kCls}) {
    options.pooling = pooling;
    const auto embedder = ClassEmbedder::load(dir, options);
    const auto got = embedder.embed(names);
    ASSERT_EQ(got.sizes(), (std::vector<int64_t>{3, 32}));
    for (size_t i = 0; i < names.size(); ++i) {
      ASSERT_EQ(embedder.tokenizer().encode(class_text(options.text_template, names[i]).text).ids,
                ids[i]);
      const auto h = model->forward(torch::tensor(ids[i], torch::kInt64).unsqueeze(0))[0];
      torch::Tensor want;
      if (pooling == Pooling::kNameMean) {
        want = h.slice(0, name_tokens[i].first, name_tokens[i].second).mean(0);
      } else if (pooling == Pooling::kMean) {
        want = h.mean(0);
      } else {
        want = h[0];
      }
      EXPECT_LT(max_abs_diff(got[static_cast<int64_t>(i)], want), 1e-5)
          << names[i] << " " << to_string(pooling);
    }
  }
  options.normalize = true;
  const auto unit = ClassEmbedder::load(dir, options).embed(names);
  EXPECT_LT(max_abs_diff(unit.norm(2, {1}), torch::ones({3})), 1e-6);
  EXPECT_EQ(ClassEmbedder::load(dir, options).embed({}).size(0), 0);
}

TEST(ClassEmbedderPooling, RejectsTooLongTexts) {
  ClassEmbedderOptions options;
  // [CLS] + 13 template tokens + the name's 3–4 tokens + [SEP] > 16 positions.
  options.text_template = "a picture of a picture of a picture of a picture of the {}";
  const auto embedder = ClassEmbedder::load(test::fixture("bert_tiny"), options);
  const std::string msg = test::error_of([&] { embedder.embed({"hot-air_balloon"}); });
  EXPECT_TRUE(test::contains(msg, "hot-air_balloon")) << msg;
  EXPECT_TRUE(test::contains(msg, "at most 16")) << msg;
}

TEST(EmbedClassesCli, WritesEmbeddingsAndClassList) {
  const std::string dir = test::temp_dir("embed-classes");
  io::write_labels(dir + "/classes.txt", {"alarm_clock", "cat", "hot-air_balloon"});
  const auto r = test::run_cli("embed-classes --classes " + dir + "/classes.txt --bert " +
                               test::fixture("bert_tiny") + " --out " + dir +
                               "/emb.npy --template 'a picture of a {}' --normalize");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto emb = io::read_npy(dir + "/emb.npy");
  EXPECT_EQ(emb.sizes(), (std::vector<int64_t>{3, 32}));
  EXPECT_EQ(emb.scalar_type(), torch::kFloat32);
  EXPECT_EQ(io::read_labels(dir + "/emb.classes.txt"),
            (std::vector<std::string>{"alarm_clock", "cat", "hot-air_balloon"}));
  ClassEmbedderOptions options;
  options.text_template = "a picture of a {}";
  options.normalize = true;
  const auto want = ClassEmbedder::load(test::fixture("bert_tiny"), options)
                        .embed({"alarm_clock", "cat", "hot-air_balloon"});
  EXPECT_LT(max_abs_diff(emb, want), 1e-6);
}

TEST(EmbedClassesCli, ClearErrors) {
  const std::string dir = test::temp_dir("embed-classes-err");
  const std::string bert = test::fixture("bert_tiny");
  std::ofstream(dir + "/gap.txt") << "cat\n\ndog\n";
  auto r = test::run_cli("embed-classes --classes " + dir + "/gap.txt --bert " + bert + " --out " +
                         dir + "/e.npy");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.output, "error:")) << r.output;
  EXPECT_TRUE(test::contains(r.output, "empty")) << r.output;
  std::ofstream(dir + "/dup.txt") << "cat\ndog\ncat\n";
  r = test::run_cli("embed-classes --classes " + dir + "/dup.txt --bert " + bert + " --out " + dir +
                    "/e.npy");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.output, "more than once")) << r.output;
  std::ofstream(dir + "/ok.txt") << "cat\n";
  r = test::run_cli("embed-classes --classes " + dir + "/ok.txt --bert " + dir + "/missing --out " +
                    dir + "/e.npy");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.output, "does not exist")) << r.output;
  r = test::run_cli("embed-classes --classes " + dir + "/ok.txt --bert " + bert + " --out " + dir +
                    "/e.npy --template 'no slot'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.output, "exactly once")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/e.npy"));
}

}  // namespace
}  // namespace hcmsn::semantic
