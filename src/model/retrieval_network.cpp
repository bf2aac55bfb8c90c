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

namespace {

torch::Tensor run_backbone(BackboneImpl& backbone, const torch::Tensor& pixels,
                           util::Precision precision) {
  const auto x = normalise_pixels(pixels, backbone.input_options());
  util::AutocastGuard autocast(x.device(), precision);
  return backbone.forward(x).to(torch::kFloat32);
}

}  // namespace

torch::Tensor RetrievalNetworkImpl::backbone_features(const torch::Tensor& input) {
  if (!backbone_) return input;
  return run_backbone(*backbone_, input, precision_);
}

void RetrievalNetworkImpl::set_teacher_backbone(std::shared_ptr<BackboneImpl> frozen) {
  HCMSN_CHECK(backbone_ != nullptr, "a teacher backbone needs a network with a backbone");
  HCMSN_CHECK(frozen != nullptr && frozen->out_dim() == backbone_->out_dim(),
              "the teacher backbone must give the backbone's ", backbone_->out_dim(), " features");
  for (auto& p : frozen->parameters()) p.set_requires_grad(false);
  frozen->eval();
  teacher_backbone_ = register_module("teacher_backbone", std::move(frozen));
}

void RetrievalNetworkImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (teacher_backbone_) teacher_backbone_->eval();
}

torch::Tensor RetrievalNetworkImpl::teacher_features(const torch::Tensor& input) {
  if (!teacher_backbone_) return {};
  torch::NoGradGuard no_grad;
  return run_backbone(*teacher_backbone_, input, precision_);
}

HCMSNOutput RetrievalNetworkImpl::forward(const torch::Tensor& input,
                                          const torch::Tensor& modality) {
  return hcmsn_->forward(backbone_features(input), modality, teacher_features(input));
}

torch::Tensor RetrievalNetworkImpl::embed(const torch::Tensor& input,
                                          const torch::Tensor& modality) {
  return hcmsn_->embed(backbone_features(input), modality, teacher_features(input));
}

EmbeddingParts RetrievalNetworkImpl::embed_parts(const torch::Tensor& input,
                                                 const torch::Tensor& modality) {
  return hcmsn_->embed_parts(backbone_features(input), modality, teacher_features(input));
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
