// Class-name embeddings from a BERT encoder: the semantic vectors w_y of HCMSN (DESIGN §2).
//
// Each class name is normalised (underscores → spaces, whitespace runs → one space, trimmed;
// hyphens, parentheses and case stay, the tokeniser handles them), put into a template
// ("{}" = the name alone; e.g. "a picture of a {}"), tokenised with [CLS]/[SEP] and encoded;
// the last hidden states are pooled:
//   name-mean  mean over the tokens that come from the class name only (default: the template
//              gives context but not content, so "a picture of a cat" and "a picture of a dog"
//              differ only where the names do);
//   mean       mean over all tokens incl. [CLS] and [SEP] (sentence-transformers' mean pooling);
//   cls        the [CLS] token's state.
// Optionally L2-normalised. Output float32 (N, hidden_size), row i = names[i].
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hcmsn/semantic/bert.h"
#include "hcmsn/semantic/wordpiece.h"

namespace hcmsn::semantic {

enum class Pooling { kNameMean, kMean, kCls };
/// "name-mean", "mean" or "cls"; anything else is an hcmsn::Error.
Pooling parse_pooling(const std::string& name);
std::string to_string(Pooling pooling);

struct ClassEmbedderOptions {
  /// Must contain "{}" exactly once.
  std::string text_template = "{}";
  Pooling pooling = Pooling::kNameMean;
  bool normalize = false;
  int64_t batch_size = 64;
};

/// "alarm_clock " → "alarm clock". Errors on a name that is empty after normalisation.
std::string normalize_class_name(const std::string& name);

/// The text of one class and the byte range [name_begin, name_end) of the name inside it.
struct ClassText {
  std::string text;
  size_t name_begin = 0, name_end = 0;
};
ClassText class_text(const std::string& text_template, const std::string& name);

class ClassEmbedder {
 public:
  ClassEmbedder(WordPieceTokenizer tokenizer, BertModel model, ClassEmbedderOptions options = {});

  /// A Hugging Face BERT folder (load_bert) with its vocab.txt; do_lower_case is taken from
  /// tokenizer_config.json when present (default true).
  static ClassEmbedder load(const std::string& bert_dir, ClassEmbedderOptions options = {});

  /// float32 (N, hidden_size). Errors name the class: empty names, texts longer than the model's
  /// positions, a name that yields no token.
  torch::Tensor embed(const std::vector<std::string>& class_names) const;

  const ClassEmbedderOptions& options() const { return options_; }
  const WordPieceTokenizer& tokenizer() const { return tokenizer_; }

 private:
  WordPieceTokenizer tokenizer_;
  // mutable: forward() is not const in LibTorch, but embedding changes no state (eval, no grad).
  mutable BertModel model_;
  ClassEmbedderOptions options_;
};

}  // namespace hcmsn::semantic
