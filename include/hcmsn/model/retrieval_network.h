// The whole retrieval network: an optional backbone E followed by HCMSN (F, S, R, P, classifier,
// D). Without a backbone the inputs are cached backbone features (the frozen-backbone CPU
// path); with one, the inputs are uint8 images and E trains end to end with the rest.
//
// Inputs: features float (B, in_dim), or images uint8 (B, 3, H, W) RGB when has_backbone();
// modality int64 (B) of kSketch / kPhoto. Everything else follows hcmsn_model.h.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "hcmsn/model/backbone.h"
#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/util/precision.h"

namespace hcmsn::model {

class RetrievalNetworkImpl : public torch::nn::Module {
 public:
  /// `backbone` may be null (cached features). With a backbone, its out_dim must equal
  /// options.in_dim(); throws hcmsn::Error otherwise.
  RetrievalNetworkImpl(HCMSNModelOptions options, std::shared_ptr<BackboneImpl> backbone);

  /// Backbone features v (B, in_dim), float32: the backbone applied to normalised images (under
  /// autocast when the precision is bf16), or the input itself when there is no backbone.
  torch::Tensor backbone_features(const torch::Tensor& input);
  HCMSNOutput forward(const torch::Tensor& input, const torch::Tensor& modality);
  /// Retrieval embeddings h (B, hyp_dim); see HCMSNModelImpl::embed.
  torch::Tensor embed(const torch::Tensor& input, const torch::Tensor& modality);
  /// The parts of the fused embedding; see HCMSNModelImpl::embed_parts.
  EmbeddingParts embed_parts(const torch::Tensor& input, const torch::Tensor& modality);

  /// Knowledge preservation while the backbone trains (issue 12): a frozen copy of the initial
  /// backbone (no gradients, eval mode, saved with the checkpoint) whose features feed the
  /// teacher and the ConSE bridge. Null (the default) feeds them the trained backbone's features.
  void set_teacher_backbone(std::shared_ptr<BackboneImpl> frozen);
  BackboneImpl* teacher_backbone() const { return teacher_backbone_.get(); }
  /// The precision of the backbones' forward passes (util/precision.h); fp32 by default. Not a
  /// parameter: not saved with checkpoints.
  void set_precision(util::Precision precision) { precision_ = precision; }
  util::Precision precision() const { return precision_; }
  /// Module::train, except that the teacher backbone stays in eval mode.
  void train(bool on = true) override;

  bool has_backbone() const { return backbone_ != nullptr; }
  BackboneImpl* backbone() const { return backbone_.get(); }
  HCMSNModel& hcmsn() { return hcmsn_; }
  /// The generator's parameters: the backbone's plus HCMSNModel::generator_parameters().
  std::vector<torch::Tensor> generator_parameters() const;
  std::vector<torch::Tensor> discriminator_parameters() const;

 private:
  /// The frozen initial backbone's features, or undefined without one.
  torch::Tensor teacher_features(const torch::Tensor& input);

  std::shared_ptr<BackboneImpl> backbone_;
  std::shared_ptr<BackboneImpl> teacher_backbone_;
  HCMSNModel hcmsn_{nullptr};
  util::Precision precision_ = util::Precision::kFloat32;
};
TORCH_MODULE(RetrievalNetwork);

}  // namespace hcmsn::model
