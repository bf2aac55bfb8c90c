#include "hcmsn/semantic/bert.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hcmsn/io/state_dict.h"
#include "hcmsn/util/check.h"

namespace hcmsn::semantic {
namespace {

using nlohmann::json;

std::shared_ptr<torch::nn::Module> child(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Hugging Face checkpoint keys → this module's names (see load_bert's contract).
io::StateDict bert_keys(const io::StateDict& raw) {
  io::StateDict out;
  for (const auto& [raw_key, tensor] : raw) {
    std::string key = raw_key;
    if (starts_with(key, "bert.")) key = key.substr(5);
    if (key == "embeddings.position_ids" || key == "embeddings.token_type_ids" ||
        starts_with(key, "pooler.") || starts_with(key, "cls.")) {
      continue;
    }
    if (ends_with(key, "LayerNorm.gamma")) key = key.substr(0, key.size() - 5) + "weight";
    if (ends_with(key, "LayerNorm.beta")) key = key.substr(0, key.size() - 4) + "bias";
    out.emplace_back(key, tensor);
  }
  return out;
}

}  // namespace

void BertConfig::validate() const {
  HCMSN_CHECK(
      vocab_size > 0 && hidden_size > 0 && num_hidden_layers > 0 && num_attention_heads > 0 &&
          intermediate_size > 0 && max_position_embeddings > 0 && type_vocab_size > 0,
      "BERT config: every size must be positive (vocab_size ", vocab_size, ", hidden_size ",
      hidden_size, ", num_hidden_layers ", num_hidden_layers, ", num_attention_heads ",
      num_attention_heads, ", intermediate_size ", intermediate_size, ", max_position_embeddings ",
      max_position_embeddings, ", type_vocab_size ", type_vocab_size, ")");
  HCMSN_CHECK(hidden_size % num_attention_heads == 0, "BERT config: hidden_size ", hidden_size,
              " is not a multiple of num_attention_heads ", num_attention_heads);
  HCMSN_CHECK(std::isfinite(layer_norm_eps) && layer_norm_eps > 0,
              "BERT config: layer_norm_eps must be positive, got ", layer_norm_eps);
}

BertConfig parse_bert_config(const std::string& json_text, const std::string& what) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    throw Error(what + " is not valid JSON: " + e.what());
  }
  HCMSN_CHECK(j.is_object(), what, " must hold a JSON object (a Hugging Face config.json)");
  BertConfig c;
  auto get_int = [&](const char* name, int64_t& field) {
    if (!j.contains(name)) return;
    HCMSN_CHECK(j[name].is_number_integer(), what, ": \"", name, "\" must be an integer, got ",
                j[name].dump());
    field = j[name].get<int64_t>();
  };
  auto get_string = [&](const char* name, const std::string& fallback) {
    if (!j.contains(name) || j[name].is_null()) return fallback;
    HCMSN_CHECK(j[name].is_string(), what, ": \"", name, "\" must be a string, got ",
                j[name].dump());
    return j[name].get<std::string>();
  };
  const std::string model_type = get_string("model_type", "bert");
  HCMSN_CHECK(model_type == "bert", what, ": model_type \"", model_type,
              "\" is not supported; only BERT checkpoints (model_type \"bert\") load");
  get_int("vocab_size", c.vocab_size);
  get_int("hidden_size", c.hidden_size);
  get_int("num_hidden_layers", c.num_hidden_layers);
  get_int("num_attention_heads", c.num_attention_heads);
  get_int("intermediate_size", c.intermediate_size);
  get_int("max_position_embeddings", c.max_position_embeddings);
  get_int("type_vocab_size", c.type_vocab_size);
  if (j.contains("layer_norm_eps")) {
    HCMSN_CHECK(j["layer_norm_eps"].is_number(), what, ": \"layer_norm_eps\" must be a number");
    c.layer_norm_eps = j["layer_norm_eps"].get<double>();
  }
  const std::string act = get_string("hidden_act", "gelu");
  HCMSN_CHECK(act == "gelu", what, ": hidden_act \"", act,
              "\" is not supported; only \"gelu\" (exact erf GELU) is implemented");
  const std::string position = get_string("position_embedding_type", "absolute");
  HCMSN_CHECK(position == "absolute", what, ": position_embedding_type \"", position,
              "\" is not supported; only \"absolute\" is implemented");
  HCMSN_CHECK(!j.value("is_decoder", false) && !j.value("add_cross_attention", false), what,
              ": decoder configurations (is_decoder / add_cross_attention) are not supported");
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(what + ": " + e.what());
  }
  return c;
}

BertConfig read_bert_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  HCMSN_CHECK(in, "cannot open ", path, "; a BERT folder needs the model's config.json");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_bert_config(text.str(), path);
}

BertLayerImpl::BertLayerImpl(const BertConfig& c) : heads_(c.num_attention_heads) {
  const auto norm = torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps);
  auto attention = child(*this, "attention");
  auto self = child(*attention, "self");
  query_ = self->register_module("query", torch::nn::Linear(c.hidden_size, c.hidden_size));
  key_ = self->register_module("key", torch::nn::Linear(c.hidden_size, c.hidden_size));
  value_ = self->register_module("value", torch::nn::Linear(c.hidden_size, c.hidden_size));
  auto attention_output = child(*attention, "output");
  attention_out_ =
      attention_output->register_module("dense", torch::nn::Linear(c.hidden_size, c.hidden_size));
  attention_norm_ = attention_output->register_module("LayerNorm", torch::nn::LayerNorm(norm));
  intermediate_ =
      child(*this, "intermediate")
          ->register_module("dense", torch::nn::Linear(c.hidden_size, c.intermediate_size));
  auto output = child(*this, "output");
  output_ = output->register_module("dense", torch::nn::Linear(c.intermediate_size, c.hidden_size));
  output_norm_ = output->register_module("LayerNorm", torch::nn::LayerNorm(norm));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& mask_bias) {
  const int64_t b = x.size(0), t = x.size(1), h = x.size(2), d = h / heads_;
  auto split = [&](const torch::Tensor& y) { return y.view({b, t, heads_, d}).transpose(1, 2); };
  const auto q = split(query_(x)), k = split(key_(x)), v = split(value_(x));
  const auto scores = torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(static_cast<double>(d));
  const auto context =
      torch::matmul(torch::softmax(scores + mask_bias, -1), v).transpose(1, 2).reshape({b, t, h});
  const auto a = attention_norm_(attention_out_(context) + x);
  return output_norm_(output_(torch::gelu(intermediate_(a))) + a);
}

BertModelImpl::BertModelImpl(BertConfig config) : config_(config) {
  config_.validate();
  auto embeddings = child(*this, "embeddings");
  word_embeddings_ = embeddings->register_module(
      "word_embeddings", torch::nn::Embedding(config_.vocab_size, config_.hidden_size));
  position_embeddings_ = embeddings->register_module(
      "position_embeddings",
      torch::nn::Embedding(config_.max_position_embeddings, config_.hidden_size));
  token_type_embeddings_ = embeddings->register_module(
      "token_type_embeddings", torch::nn::Embedding(config_.type_vocab_size, config_.hidden_size));
  embeddings_norm_ = embeddings->register_module(
      "LayerNorm",
      torch::nn::LayerNorm(
          torch::nn::LayerNormOptions({config_.hidden_size}).eps(config_.layer_norm_eps)));
  torch::nn::ModuleList list;
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    layers_.emplace_back(config_);
    list->push_back(layers_.back());
  }
  child(*this, "encoder")->register_module("layer", list);
}

torch::Tensor BertModelImpl::forward(const torch::Tensor& input_ids,
                                     const torch::Tensor& attention_mask,
                                     const torch::Tensor& token_type_ids) {
  HCMSN_CHECK(
      input_ids.defined() && input_ids.dim() == 2 && input_ids.scalar_type() == torch::kInt64,
      "BERT input_ids must be an int64 (batch, tokens) tensor");
  const int64_t b = input_ids.size(0), t = input_ids.size(1);
  HCMSN_CHECK(t > 0 && t <= config_.max_position_embeddings, "BERT input has ", t,
              " tokens; this model takes 1 to ", config_.max_position_embeddings);
  if (input_ids.numel() > 0) {
    HCMSN_CHECK(input_ids.min().item<int64_t>() >= 0 &&
                    input_ids.max().item<int64_t>() < config_.vocab_size,
                "BERT input_ids must lie in [0, ", config_.vocab_size,
                "); does the tokeniser's vocabulary match the model?");
  }
  torch::Tensor mask = attention_mask.defined() ? attention_mask : torch::ones_like(input_ids);
  HCMSN_CHECK(mask.sizes() == input_ids.sizes(), "BERT attention_mask has shape ", mask.sizes(),
              " but input_ids has ", input_ids.sizes());
  torch::Tensor types = token_type_ids.defined() ? token_type_ids : torch::zeros_like(input_ids);
  HCMSN_CHECK(types.sizes() == input_ids.sizes() && types.scalar_type() == torch::kInt64,
              "BERT token_type_ids must be int64 with the shape of input_ids");
  if (types.numel() > 0) {
    HCMSN_CHECK(
        types.min().item<int64_t>() >= 0 && types.max().item<int64_t>() < config_.type_vocab_size,
        "BERT token_type_ids must lie in [0, ", config_.type_vocab_size, ")");
  }
  const auto positions = torch::arange(t, input_ids.options()).unsqueeze(0);
  torch::Tensor x = embeddings_norm_(word_embeddings_(input_ids) + position_embeddings_(positions) +
                                     token_type_embeddings_(types));
  // As transformers: masked keys get the lowest float added to their scores.
  const auto keep = mask.to(torch::kFloat32).view({b, 1, 1, t});
  const auto mask_bias = (1.0f - keep) * std::numeric_limits<float>::lowest();
  for (auto& layer : layers_) x = layer->forward(x, mask_bias);
  return x;
}

BertModel load_bert(const std::string& dir) {
  namespace fs = std::filesystem;
  HCMSN_CHECK(fs::is_directory(dir), "BERT folder ", dir,
              " does not exist; give a Hugging Face model folder with config.json and "
              "model.safetensors or pytorch_model.bin");
  const BertConfig config = read_bert_config((fs::path(dir) / "config.json").string());
  std::string weights;
  for (const char* name : {"model.safetensors", "pytorch_model.bin"}) {
    const auto path = fs::path(dir) / name;
    if (fs::exists(path)) {
      weights = path.string();
      break;
    }
  }
  HCMSN_CHECK(!weights.empty(), "BERT folder ", dir,
              " has neither model.safetensors nor pytorch_model.bin");
  BertModel model(config);
  try {
    io::load_state_dict(*model, bert_keys(io::read_state_dict(weights)));
  } catch (const Error& e) {
    throw Error(weights + " does not fit its config.json: " + e.what());
  }
  model->eval();
  return model;
}

}  // namespace hcmsn::semantic
