// WordPiece tokeniser (hcmsn/semantic/wordpiece.h):
//  * WordPieceGolden: ids and byte spans of ~520 strings (every class name of the four
//    benchmarks, every QuickDraw word, tricky text: accents, punctuation, CJK, emoji, controls,
//    long words) against transformers' slow BertTokenizer and the Rust tokenizer's offsets
//    (tests/reference/make_wordpiece_golden.py → tests/fixtures/wordpiece_golden.json), on the
//    real bert-base-uncased vocabulary from ../shared/data/bert (skipped when absent);
//  * WordPieceVocab / WordPieceText: vocabulary errors, invalid UTF-8, greedy longest match on a
//    hand-made vocabulary.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hcmsn/semantic/wordpiece.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"

namespace hcmsn::semantic {
namespace {

std::string write_vocab(const std::string& tag, const std::vector<std::string>& tokens) {
  const std::string path = test::temp_dir(tag) + "/vocab.txt";
  std::ofstream out(path);
  for (const auto& t : tokens) out << t << "\n";
  return path;
}

std::vector<std::string> small_vocab() {
  return {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "un",  "##aff", "##able", "a",
          "##b",   "cafe",  "(",     ")",     "car", "sedan", "猫"};
}

TEST(WordPieceGolden, MatchesTransformersOnTheRealVocabulary) {
  const std::string vocab = test::shared("data/bert/vocab.txt");
  if (!std::filesystem::exists(vocab)) GTEST_SKIP() << "no " << vocab << " (../shared absent)";
  const auto tok = WordPieceTokenizer::from_file(vocab);
  EXPECT_EQ(tok.size(), 30522);
  EXPECT_EQ(tok.cls_id(), 101);
  EXPECT_EQ(tok.sep_id(), 102);
  EXPECT_EQ(tok.unk_id(), 100);
  EXPECT_EQ(tok.pad_id(), 0);
  std::ifstream in(test::fixture("wordpiece_golden.json"));
  ASSERT_TRUE(in) << "missing fixture";
  const auto golden = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& c : golden["cases"]) {
    const std::string text = c["text"];
    const Encoding e = tok.encode(text);
    EXPECT_EQ(e.ids, c["ids"].get<std::vector<int64_t>>()) << "text: \"" << text << "\"";
    if (c.contains("spans")) {
      std::vector<std::pair<size_t, size_t>> spans;
      for (const auto& s : c["spans"]) spans.emplace_back(s[0].get<size_t>(), s[1].get<size_t>());
      EXPECT_EQ(e.spans, spans) << "text: \"" << text << "\"";
    }
    ++checked;
  }
  EXPECT_GT(checked, 500);
}

TEST(WordPieceText, GreedyLongestMatchFirst) {
  const WordPieceTokenizer tok(small_vocab());
  EXPECT_EQ(tok.tokenize("unaffable"), (std::vector<std::string>{"un", "##aff", "##able"}));
  EXPECT_EQ(tok.tokenize("ab a"), (std::vector<std::string>{"a", "##b", "a"}));
  // "abc" has no piece for "c": the whole word is [UNK].
  EXPECT_EQ(tok.tokenize("abc unaffable"),
            (std::vector<std::string>{"[UNK]", "un", "##aff", "##able"}));
  EXPECT_EQ(tok.tokenize("CAFÉ (Sedan)"), (std::vector<std::string>{"cafe", "(", "sedan", ")"}));
  // "abab": after "a", "##b" there is no "##a" piece, so the whole word is unknown.
  EXPECT_EQ(tok.tokenize("abab"), (std::vector<std::string>{"[UNK]"}));
  EXPECT_EQ(tok.tokenize("car猫car"), (std::vector<std::string>{"car", "猫", "car"}));
  const Encoding e = tok.encode(" Café ");
  EXPECT_EQ(e.ids, (std::vector<int64_t>{2, 9, 3}));
  EXPECT_EQ(e.spans[1], (std::pair<size_t, size_t>{1, 6}));  // "Café" is 5 bytes
}

TEST(WordPieceText, OverlongWordIsUnknown) {
  WordPieceOptions options;
  options.max_chars_per_word = 3;
  const WordPieceTokenizer tok(small_vocab(), options);
  EXPECT_EQ(tok.tokenize("car"), (std::vector<std::string>{"car"}));     // 3 characters: kept
  EXPECT_EQ(tok.tokenize("cafe"), (std::vector<std::string>{"[UNK]"}));  // 4: too long
}

TEST(WordPieceText, InvalidUtf8IsAnError) {
  const WordPieceTokenizer tok(small_vocab());
  for (const std::string& bad : {std::string("caf\xC3"), std::string("\xFF"),
                                 std::string("\xC0\xAF"), std::string("\xED\xA0\x80")}) {
    EXPECT_TRUE(test::contains(test::error_of([&] { tok.encode(bad); }), "not valid UTF-8"));
  }
}

TEST(WordPieceVocab, RejectsBadVocabularies) {
  EXPECT_TRUE(test::contains(
      test::error_of([] { WordPieceTokenizer::from_file("/nonexistent/vocab.txt"); }),
      "cannot open"));
  auto dup = small_vocab();
  dup.push_back("car");
  const std::string msg =
      test::error_of([&] { WordPieceTokenizer::from_file(write_vocab("wp-dup", dup)); });
  EXPECT_TRUE(test::contains(msg, "duplicate")) << msg;
  EXPECT_TRUE(test::contains(msg, "'car' (line 16)")) << msg;
  const std::string missing = test::error_of([] {
    WordPieceTokenizer::from_file(write_vocab("wp-missing", {"[PAD]", "[UNK]", "a"}));
  });
  EXPECT_TRUE(test::contains(missing, "[CLS], [SEP]")) << missing;
  EXPECT_TRUE(test::contains(
      test::error_of([] { WordPieceTokenizer::from_file(write_vocab("wp-empty", {})); }), "empty"));
  const WordPieceTokenizer tok(small_vocab());
  EXPECT_EQ(tok.token_id("car"), 12);
  EXPECT_EQ(tok.token_id("bus"), -1);
  EXPECT_EQ(tok.token(12), "car");
  EXPECT_TRUE(test::contains(test::error_of([&] { tok.token(99); }), "outside"));
}

}  // namespace
}  // namespace hcmsn::semantic
