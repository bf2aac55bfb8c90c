#include "hcmsn/semantic/class_embedder.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hcmsn/util/check.h"

namespace hcmsn::semantic {

Pooling parse_pooling(const std::string& name) {
  if (name == "name-mean") return Pooling::kNameMean;
  if (name == "mean") return Pooling::kMean;
  if (name == "cls") return Pooling::kCls;
  throw Error("unknown pooling '" + name + "'; use name-mean, mean or cls");
}

std::string to_string(Pooling pooling) {
  switch (pooling) {
    case Pooling::kNameMean:
      return "name-mean";
    case Pooling::kMean:
      return "mean";
    case Pooling::kCls:
      return "cls";
  }
  HCMSN_ASSERT(false, "unhandled pooling");
}

std::string normalize_class_name(const std::string& name) {
  std::string out;
  bool space = false;
  for (char c : name) {
    const bool blank = c == '_' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (blank) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  HCMSN_CHECK(!out.empty(), "class name '", name, "' is empty; every class needs a name");
  return out;
}

ClassText class_text(const std::string& text_template, const std::string& name) {
  const size_t at = text_template.find("{}");
  HCMSN_CHECK(at != std::string::npos && text_template.find("{}", at + 2) == std::string::npos,
              "the template '", text_template,
              "' must contain \"{}\" exactly once (where the class name goes)");
  ClassText t;
  const std::string n = normalize_class_name(name);
  t.text = text_template.substr(0, at) + n + text_template.substr(at + 2);
  t.name_begin = at;
  t.name_end = at + n.size();
  return t;
}

ClassEmbedder::ClassEmbedder(WordPieceTokenizer tokenizer, BertModel model,
                             ClassEmbedderOptions options)
    : tokenizer_(std::move(tokenizer)), model_(std::move(model)), options_(std::move(options)) {
  HCMSN_CHECK(options_.batch_size > 0, "the batch size must be positive");
  HCMSN_CHECK(tokenizer_.size() == model_->config().vocab_size, "the vocabulary has ",
              tokenizer_.size(), " tokens but the model's vocab_size is ",
              model_->config().vocab_size, "; use the vocab.txt that came with the model");
  class_text(options_.text_template, "x");  // validates the template early
  model_->eval();
}

ClassEmbedder ClassEmbedder::load(const std::string& bert_dir, ClassEmbedderOptions options) {
  namespace fs = std::filesystem;
  BertModel model = load_bert(bert_dir);
  WordPieceOptions wp;
  const auto tok_config = fs::path(bert_dir) / "tokenizer_config.json";
  if (fs::exists(tok_config)) {
    std::ifstream in(tok_config);
    std::ostringstream text;
    text << in.rdbuf();
    const auto j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    HCMSN_CHECK(!j.is_discarded(), tok_config.string(), " is not valid JSON");
    if (j.is_object() && j.contains("do_lower_case") && j["do_lower_case"].is_boolean()) {
      wp.lower_case = j["do_lower_case"].get<bool>();
    }
  }
  auto tokenizer = WordPieceTokenizer::from_file((fs::path(bert_dir) / "vocab.txt").string(), wp);
  return ClassEmbedder(std::move(tokenizer), std::move(model), std::move(options));
}

torch::Tensor ClassEmbedder::embed(const std::vector<std::string>& class_names) const {
  torch::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(class_names.size());
  const int64_t max_len = model_->config().max_position_embeddings;
  std::vector<torch::Tensor> rows;
  for (int64_t start = 0; start < n; start += options_.batch_size) {
    const int64_t end = std::min(n, start + options_.batch_size);
    std::vector<Encoding> encodings;
    std::vector<ClassText> texts;
    int64_t longest = 0;
    for (int64_t i = start; i < end; ++i) {
      texts.push_back(class_text(options_.text_template, class_names[static_cast<size_t>(i)]));
      encodings.push_back(tokenizer_.encode(texts.back().text));
      const auto len = static_cast<int64_t>(encodings.back().ids.size());
      HCMSN_CHECK(len <= max_len, "class '", class_names[static_cast<size_t>(i)], "' gives ", len,
                  " tokens in its template but the model takes at most ", max_len);
      longest = std::max(longest, len);
    }
    const int64_t b = end - start;
    auto ids = torch::full({b, longest}, tokenizer_.pad_id(), torch::kInt64);
    auto mask = torch::zeros({b, longest}, torch::kInt64);
    auto weights = torch::zeros({b, longest}, torch::kFloat32);  // pooling weights per token
    for (int64_t r = 0; r < b; ++r) {
      const auto& e = encodings[static_cast<size_t>(r)];
      const auto& t = texts[static_cast<size_t>(r)];
      int64_t pooled = 0;
      for (size_t k = 0; k < e.ids.size(); ++k) {
        const auto kk = static_cast<int64_t>(k);
        ids[r][kk] = e.ids[k];
        mask[r][kk] = 1;
        const auto [s0, s1] = e.spans[k];
        bool use = false;
        switch (options_.pooling) {
          case Pooling::kNameMean:
            use = s1 > s0 && s0 < t.name_end && s1 > t.name_begin;
            break;
          case Pooling::kMean:
            use = true;
            break;
          case Pooling::kCls:
            use = k == 0;
            break;
        }
        if (use) {
          weights[r][kk] = 1.0f;
          ++pooled;
        }
      }
      HCMSN_CHECK(pooled > 0, "class '", class_names[static_cast<size_t>(start + r)],
                  "' yields no token to pool (only characters the tokeniser drops)");
    }
    const auto hidden = model_->forward(ids, mask);
    const auto w = weights / weights.sum(1, true);
    rows.push_back((hidden * w.unsqueeze(-1)).sum(1));
  }
  if (rows.empty()) return torch::zeros({0, model_->config().hidden_size}, torch::kFloat32);
  auto out = torch::cat(rows, 0);
  if (options_.normalize) out = out / out.norm(2, {1}, true).clamp_min(1e-12);
  return out.contiguous();
}

}  // namespace hcmsn::semantic
