// Class semantics lookup (train::class_embeddings_for): exact names, names that differ only by
// case and separators, one error listing every class without a vector; and the real GloVe /
// word2vec / WordNet files of ../shared/data/embeddings against the split class lists of
// ../shared/data/splits (skipped when ../shared is absent).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hcmsn/train/run_loader.h"
#include "hcmsn/train/training_set.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::train {
namespace {

// Class names of a "name id" split file (names may contain spaces: split at the last one).
std::vector<std::string> split_names(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    names.push_back(line.substr(0, line.rfind(' ')));
  }
  return names;
}

TEST(ClassSemantics, MatchesByNormalisedKeyAndListsEveryMissingClass) {
  const auto sem = torch::arange(12, torch::kFloat32).view({4, 3});
  const std::vector<std::string> classes = {"alarm_clock", "hot-air_balloon", "cat", "Teddy Bear"};
  const auto got =
      class_embeddings_for({"cat", "alarm clock", "hot air balloon", "teddy-bear"}, classes, sem);
  EXPECT_TRUE(torch::equal(got, sem.index_select(0, torch::tensor({2, 0, 1, 3}))));
  const std::string msg = test::error_of([&] {
    class_embeddings_for({"CAT", "dog", "alarm", "t-shirt"}, classes, sem);
  });
  EXPECT_TRUE(test::contains(msg, "3 class(es) have no semantic vector: dog, alarm, t-shirt"))
      << msg;
  // A key shared by two semantics classes is ambiguous: no fallback match.
  EXPECT_TRUE(test::contains(test::error_of([&] {
                               class_embeddings_for({"a b"}, {"a_b", "A-B"}, torch::zeros({2, 3}));
                             }),
                             "a b"));
  // Every missing class is named, however many.
  std::vector<std::string> many;
  for (int i = 0; i < 30; ++i) many.push_back("class" + std::to_string(i));
  const std::string all = test::error_of([&] { class_embeddings_for(many, classes, sem); });
  EXPECT_TRUE(test::contains(all, "class0, ")) << all;
  EXPECT_TRUE(test::contains(all, ", class29.")) << all;
}

TEST(ClassSemantics, RealEmbeddingFilesCoverTheSplitClasses) {
  const std::string data = test::shared("data");
  if (!std::filesystem::exists(data + "/embeddings")) {
    GTEST_SKIP() << "no " << data << "/embeddings (../shared absent)";
  }
  auto names_of = [&](const std::string& split) {
    auto names = split_names(data + "/splits/" + split + "_cname_cid_seen.txt");
    const auto unseen = split_names(data + "/splits/" + split + "_cname_cid_unseen.txt");
    names.insert(names.end(), unseen.begin(), unseen.end());
    return names;
  };
  const auto sketchy = names_of("sketchy_zeroshot0");
  const auto tuberlin = names_of("tuberlin");
  ASSERT_EQ(sketchy.size(), 125u);
  ASSERT_EQ(tuberlin.size(), 250u);
  for (const std::string source :
       {"sempcyc_glove", "sempcyc_word2vec", "sempcyc_hieremb_path", "tcn_word2vec"}) {
    const std::string base = data + "/embeddings/" + source;
    const auto s = read_class_semantics(base + "_sketchy125.npy", base + "_sketchy125.classes.txt");
    const auto e = class_embeddings_for(sketchy, s.class_names, s.embeddings);
    EXPECT_EQ(e.size(0), 125) << source;
    const auto t =
        read_class_semantics(base + "_tuberlin250.npy", base + "_tuberlin250.classes.txt");
    if (source.rfind("sempcyc", 0) == 0) {
      // The one known leftover (../shared/data/README.md): SEM-PCYC's table_lamp vs tablelamp.
      const std::string msg =
          test::error_of([&] { class_embeddings_for(tuberlin, t.class_names, t.embeddings); });
      EXPECT_TRUE(test::contains(msg, "1 class(es) have no semantic vector: tablelamp."))
          << source << ": " << msg;
    } else {
      EXPECT_EQ(class_embeddings_for(tuberlin, t.class_names, t.embeddings).size(0), 250) << source;
    }
  }
}

}  // namespace
}  // namespace hcmsn::train
