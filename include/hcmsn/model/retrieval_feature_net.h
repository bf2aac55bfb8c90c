// F, the retrieval feature network of HCMSN (DESIGN §2): backbone features v of sketches and
// photos → retrieval features f ∈ R^d. The input layer is modality-specific (a sketch and a
// photo of the same object have very different backbone statistics); the output layer is shared,
// so both modalities land in one space and the modality gap is bridged inside F.
//
//   v ─┬─ sketch rows ─ Linear(in_dim, hidden) ─ ReLU ─ Dropout ─┬─ Linear(hidden, dim) ─> f
//      └─ photo rows  ─ Linear(in_dim, hidden) ─ ReLU ─ Dropout ─┘
//
// Contract (for every module of hcmsn::model): features are float32 or float64 with the dtype
// of the module's parameters, batch-first (B, ·); a modality vector is int64 (B) holding
// kSketch (0) or kPhoto (1) per row, so one batch may mix both modalities.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace hcmsn::model {

/// Modality ids, the values of a modality tensor.
inline constexpr int64_t kSketch = 0;
inline constexpr int64_t kPhoto = 1;

/// "sketch" for kSketch, "photo" otherwise (messages and reports).
inline const char* modality_name(int64_t modality) {
  return modality == kSketch ? "sketch" : "photo";
}

struct RetrievalFeatureNetOptions {
  RetrievalFeatureNetOptions(int64_t in_dim, int64_t hidden, int64_t dim)
      : in_dim_(in_dim), hidden_(hidden), dim_(dim) {}
  TORCH_ARG(int64_t, in_dim);
  TORCH_ARG(int64_t, hidden);
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(double, dropout) = 0.2;
  /// One input layer for both modalities. Meant for a backbone trained end to end from scratch:
  /// there a shared layer makes the backbone itself map sketches and photos of a class together,
  /// which is what transfers to unseen classes; per-modality layers learn the alignment for the
  /// seen classes only. With a frozen pretrained backbone keep them separate (the default).
  TORCH_ARG(bool, shared_input) = false;
};

class RetrievalFeatureNetImpl : public torch::nn::Module {
 public:
  /// Throws hcmsn::Error unless every size is > 0 and 0 ≤ dropout < 1.
  explicit RetrievalFeatureNetImpl(RetrievalFeatureNetOptions options);

  /// v (B, in_dim), modality (B) → f (B, dim). Throws hcmsn::Error on a wrong shape or dtype or
  /// a modality value other than 0/1.
  torch::Tensor forward(const torch::Tensor& v, const torch::Tensor& modality);

  const RetrievalFeatureNetOptions& options() const { return options_; }

 private:
  RetrievalFeatureNetOptions options_;
  torch::nn::Sequential sketch_in_{nullptr};
  torch::nn::Sequential photo_in_{nullptr};
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(RetrievalFeatureNet);

/// Throws hcmsn::Error unless `modality` is an int64 (batch) tensor of 0s and 1s. `who` names
/// the caller in the message.
void check_modality(const torch::Tensor& modality, int64_t batch, const char* who);

}  // namespace hcmsn::model
