// A BERT encoder (Devlin et al. 2019) in the layout of Hugging Face's BertModel, so that its
// checkpoints load by parameter name: embeddings.{word,position,token_type}_embeddings,
// embeddings.LayerNorm, encoder.layer.N.attention.self.{query,key,value},
// encoder.layer.N.attention.output.{dense,LayerNorm}, encoder.layer.N.intermediate.dense,
// encoder.layer.N.output.{dense,LayerNorm}. Post-layer-norm blocks, exact (erf) GELU, absolute
// position embeddings; no pooler (the [CLS] pooler and the pre-training heads are not needed for
// embeddings). Inference only: dropout is not applied.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hcmsn::semantic {

/// The fields of a Hugging Face BERT config.json this encoder uses. Other values (a hidden_act
/// other than "gelu", relative position embeddings, a decoder) are rejected when read.
struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;

  /// Throws hcmsn::Error when a size is not positive or hidden_size is not a multiple of the
  /// number of heads.
  void validate() const;
};

/// Parses config.json text; `what` names the source in errors.
BertConfig parse_bert_config(const std::string& json_text, const std::string& what);
BertConfig read_bert_config(const std::string& path);

/// One encoder block: self-attention and feed-forward, each followed by residual + LayerNorm.
class BertLayerImpl : public torch::nn::Module {
 public:
  explicit BertLayerImpl(const BertConfig& config);
  /// x (B, T, H) float; mask_bias (B, 1, 1, T): 0 for tokens attended to, very negative else.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask_bias);

 private:
  int64_t heads_;
  torch::nn::Linear query_{nullptr}, key_{nullptr}, value_{nullptr}, attention_out_{nullptr};
  torch::nn::LayerNorm attention_norm_{nullptr};
  torch::nn::Linear intermediate_{nullptr}, output_{nullptr};
  torch::nn::LayerNorm output_norm_{nullptr};
};
TORCH_MODULE(BertLayer);

class BertModelImpl : public torch::nn::Module {
 public:
  explicit BertModelImpl(BertConfig config);

  /// input_ids int64 (B, T) with T ≤ max_position_embeddings and ids < vocab_size;
  /// attention_mask (B, T) of 0/1 (any integer or bool dtype; undefined = all ones);
  /// token_type_ids int64 (B, T) (undefined = all zeros).
  /// Returns the last hidden state, float32 (B, T, hidden_size). Rows of padded positions are
  /// computed like any other (as in transformers) but are meaningless.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {},
                        const torch::Tensor& token_type_ids = {});

  const BertConfig& config() const { return config_; }

 private:
  BertConfig config_;
  torch::nn::Embedding word_embeddings_{nullptr}, position_embeddings_{nullptr},
      token_type_embeddings_{nullptr};
  torch::nn::LayerNorm embeddings_norm_{nullptr};
  std::vector<BertLayer> layers_;
};
TORCH_MODULE(BertModel);

/// Reads a Hugging Face BERT folder: config.json and model.safetensors (preferred) or
/// pytorch_model.bin. Keys may carry a "bert." prefix; "embeddings.position_ids",
/// "embeddings.token_type_ids" buffers and the "pooler." and "cls." heads are dropped, old
/// "LayerNorm.gamma/beta" names are renamed; anything else must match exactly (strict load: the
/// error lists every missing or unexpected key and every shape mismatch). Returns the model in
/// eval mode on the CPU.
BertModel load_bert(const std::string& dir);

}  // namespace hcmsn::semantic
