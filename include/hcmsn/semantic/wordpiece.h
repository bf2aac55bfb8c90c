// BERT's WordPiece tokeniser: the BasicTokenizer (clean, lower-case and strip accents, split on
// whitespace and punctuation, CJK ideographs as single tokens) followed by greedy
// longest-match-first WordPiece with "##" continuations, as in Google's BERT and transformers'
// slow BertTokenizer (do_lower_case=True). Token ids are vocabulary line numbers (0-based).
//
// Text is UTF-8 (invalid UTF-8 is an error) and is handled as Unicode code points. Unicode
// properties come from small built-in tables instead of a full Unicode database:
//  * lower-casing: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic capitals;
//  * accent stripping (uncased only): the letters of Latin-1 and Latin Extended-A, Greek letters
//    with tonos/dialytika and the common Cyrillic letters with breve/diaeresis map to their base
//    letter; combining marks U+0300–036F, U+1AB0–1AFF, U+1DC0–1DFF, U+20D0–20FF, U+FE20–FE2F
//    are dropped (so decomposed and precomposed accents give the same tokens); Hangul
//    syllables decompose into their jamo, as NFD does;
//  * punctuation: ASCII non-alphanumerics and the Unicode punctuation of Latin-1, General
//    Punctuation, Supplemental Punctuation, CJK Symbols and Punctuation and the full-width forms;
//  * removed as control/format characters: C0/C1 controls, soft hyphen, zero-width and bidi
//    marks, BOM, private-use planes; unassigned code points are not recognised.
// Outside these tables the result can differ from transformers (e.g. accents of Vietnamese
// letters from Latin Extended Additional are kept), which only matters for uncased vocabularies.
// Special-token strings in the text ("[CLS]") are ordinary text here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hcmsn::semantic {

struct WordPieceOptions {
  /// Lower-case and strip accents (uncased vocabularies such as bert-base-uncased).
  bool lower_case = true;
  /// Words longer than this (in code points, after basic tokenisation) become [UNK].
  int64_t max_chars_per_word = 100;
};

/// One encoded text: token ids with [CLS] first and [SEP] last, and for each token the byte range
/// [begin, end) of the text it came from ({0, 0} for [CLS] and [SEP]).
struct Encoding {
  std::vector<int64_t> ids;
  std::vector<std::pair<size_t, size_t>> spans;
};

class WordPieceTokenizer {
 public:
  /// `vocab[i]` is the token of id i. Requires [PAD], [UNK], [CLS] and [SEP] and no duplicates.
  explicit WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options = {});

  /// Reads a vocab.txt (one token per line). Errors: missing/unreadable file, an empty file,
  /// duplicate tokens, missing special tokens.
  static WordPieceTokenizer from_file(const std::string& path, WordPieceOptions options = {});

  /// [CLS] tokens… [SEP] with byte spans.
  Encoding encode(const std::string& text) const;
  /// The word pieces of `text` as strings (no [CLS]/[SEP]).
  std::vector<std::string> tokenize(const std::string& text) const;

  /// Id of `token`, or -1 if it is not in the vocabulary.
  int64_t token_id(const std::string& token) const;
  const std::string& token(int64_t id) const;
  int64_t size() const { return static_cast<int64_t>(vocab_.size()); }
  int64_t pad_id() const { return pad_id_; }
  int64_t unk_id() const { return unk_id_; }
  int64_t cls_id() const { return cls_id_; }
  int64_t sep_id() const { return sep_id_; }
  const WordPieceOptions& options() const { return options_; }

 private:
  struct Piece {
    int64_t id;
    size_t begin, end;
  };
  std::vector<Piece> pieces(const std::string& text) const;

  WordPieceOptions options_;
  std::vector<std::string> vocab_;
  std::unordered_map<std::string, int64_t> index_;
  int64_t pad_id_ = -1, unk_id_ = -1, cls_id_ = -1, sep_id_ = -1;
};

}  // namespace hcmsn::semantic
