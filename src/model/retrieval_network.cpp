#include "hcmsn/model/retrieval_network.h"

#include "hcmsn/util/check.h"

namespace hcmsn::model {

RetrievalNetworkImpl::RetrievalNetworkImpl(HCMSNModelOptions options,
                                           std::shared_ptr<BackboneImpl> backbone)
    : backbone_(std::move(backbone)) {
  if (backbone_) {
    HCMSN_CHECK(backbone_->out_dim() == options.in_dim(), "the backbone's features have ",
                backbone_->out_dim(),
                " dimensions but the model expects in_dim = ", options.in_dim());
    register_module("backbone", backbone_);
  }
  hcmsn_ = register_module("hcmsn", HCMSNModel(options));
}

torch::Tensor RetrievalNetworkImpl::backbone_features(const torch::Tensor& input) {
  if (!backbone_) return input;
  return backbone_->forward(normalise_pixels(input, backbone_->input_options()));
}

HCMSNOutput RetrievalNetworkImpl::forward(const torch::Tensor& input,
                                          const torch::Tensor& modality) {
  return hcmsn_->forward(backbone_features(input), modality);
}

torch::Tensor RetrievalNetworkImpl::embed(const torch::Tensor& input,
                                          const torch::Tensor& modality) {
  return hcmsn_->embed(backbone_features(input), modality);
}

EmbeddingParts RetrievalNetworkImpl::embed_parts(const torch::Tensor& input,
                                                 const torch::Tensor& modality) {
  return hcmsn_->embed_parts(backbone_features(input), modality);
}

std::vector<torch::Tensor> RetrievalNetworkImpl::generator_parameters() const {
  std::vector<torch::Tensor> params;
  if (backbone_) params = backbone_->parameters();
  for (auto& p : hcmsn_->generator_parameters()) params.push_back(p);
  return params;
}

std::vector<torch::Tensor> RetrievalNetworkImpl::discriminator_parameters() const {
  return hcmsn_->discriminator_parameters();
}

}  // namespace hcmsn::model
