#include "hcmsn/model/hcmsn_model.h"

#include <cmath>

#include "hcmsn/util/check.h"

namespace hcmsn::model {
namespace {

constexpr const char* kDiscriminatorName = "discriminator";

// softplus⁻¹(c) = log(eᶜ − 1), written to stay finite for large c.
double inverse_softplus(double c) {
  return c > 20 ? c + std::log(-std::expm1(-c)) : std::log(std::expm1(c));
}

bool is_discriminator_parameter(const std::string& name) {
  return name.rfind(std::string(kDiscriminatorName) + ".", 0) == 0;
}

}  // namespace

std::string to_string(ClassifierKind kind) {
  switch (kind) {
    case ClassifierKind::kHyperbolicMLR:
      return "mlr";
    case ClassifierKind::kPrototype:
      return "prototype";
  }
  HCMSN_ASSERT(false, "unhandled ClassifierKind ", static_cast<int>(kind));
}

ClassifierKind parse_classifier_kind(const std::string& name) {
  if (name == "mlr") return ClassifierKind::kHyperbolicMLR;
  if (name == "prototype") return ClassifierKind::kPrototype;
  throw Error("unknown classifier '" + name + "'; use 'mlr' or 'prototype'");
}

HCMSNModelImpl::HCMSNModelImpl(HCMSNModelOptions options) : options_(options) {
  const auto& o = options_;
  HCMSN_CHECK(o.num_seen_classes() > 0, "HCMSNModel: num_seen_classes must be > 0, got ",
              o.num_seen_classes());
  HCMSN_CHECK(o.hyp_dim() >= 0, "HCMSNModel: hyp_dim must be >= 0 (0 means dim), got ",
              o.hyp_dim());
  HCMSN_CHECK(std::isfinite(o.curvature()) && o.curvature() >= 0,
              "HCMSNModel: curvature must be finite and >= 0 (0 is Euclidean), got ",
              o.curvature());
  HCMSN_CHECK(!o.learn_curvature() || o.curvature() > 0,
              "HCMSNModel: a learnable curvature starts from options.curvature, which must be > 0 "
              "(softplus never reaches 0); got ",
              o.curvature());
  const int64_t hyp_dim = o.hyp_dim() > 0 ? o.hyp_dim() : o.dim();

  feature_net_ = register_module(
      "feature_net", RetrievalFeatureNet(RetrievalFeatureNetOptions(o.in_dim(), o.hidden(), o.dim())
                                             .dropout(o.dropout())
                                             .shared_input(o.shared_feature_input())));
  semantic_net_ = register_module(
      "semantic_net", SemanticEmbeddingNet(SemanticEmbeddingNetOptions(o.dim(), o.sem_dim())
                                               .hidden(o.hidden())
                                               .dropout(o.dropout())));
  reconstruction_net_ = register_module(
      "reconstruction_net",
      ReconstructionNet(
          ReconstructionNetOptions(o.sem_dim(), o.dim()).hidden(o.hidden()).dropout(o.dropout())));
  projection_net_ = register_module(
      "projection_net",
      ProjectionNet(ProjectionNetOptions(o.dim()).out_dim(hyp_dim).clip_r(o.clip_r())));
  switch (o.classifier()) {
    case ClassifierKind::kHyperbolicMLR:
      mlr_ = register_module("classifier", geometry::HyperbolicMLR(geometry::HyperbolicMLROptions(
                                               hyp_dim, o.num_seen_classes())));
      break;
    case ClassifierKind::kPrototype:
      prototypes_ = register_module(
          "classifier",
          PrototypeClassifier(PrototypeClassifierOptions(hyp_dim, o.num_seen_classes())
                                  .temperature(o.temperature())));
      break;
  }
  discriminator_ = register_module(
      kDiscriminatorName, Discriminator(DiscriminatorOptions(o.sem_dim()).hidden(o.disc_hidden())));
  if (o.learn_curvature()) {
    curvature_raw_ = register_parameter(
        "curvature_raw", torch::scalar_tensor(inverse_softplus(o.curvature()), torch::kFloat32));
  }
}

geometry::Curvature HCMSNModelImpl::curvature() const {
  if (curvature_raw_.defined()) return geometry::Curvature(torch::softplus(curvature_raw_, 1, 20));
  return geometry::Curvature(options_.curvature());
}

torch::Tensor HCMSNModelImpl::classify(const torch::Tensor& h) {
  if (mlr_) return mlr_->forward(h, curvature());
  HCMSN_ASSERT(prototypes_, "HCMSNModel has no classifier");
  return prototypes_->forward(h, curvature());
}

HCMSNOutput HCMSNModelImpl::forward(const torch::Tensor& v, const torch::Tensor& modality) {
  HCMSNOutput out;
  out.f = feature_net_->forward(v, modality);
  out.s = semantic_net_->forward(out.f);
  out.h = projection_net_->forward(out.f, curvature());
  out.logits = classify(out.h);
  return out;
}

torch::Tensor HCMSNModelImpl::embed(const torch::Tensor& v, const torch::Tensor& modality) {
  return projection_net_->forward(feature_net_->forward(v, modality), curvature());
}

std::shared_ptr<torch::nn::Module> HCMSNModelImpl::classifier() const {
  if (mlr_) return mlr_.ptr();
  return prototypes_.ptr();
}

std::vector<torch::Tensor> HCMSNModelImpl::generator_parameters() const {
  std::vector<torch::Tensor> params;
  for (const auto& item : named_parameters(/*recurse=*/true))
    if (!is_discriminator_parameter(item.key())) params.push_back(item.value());
  return params;
}

std::vector<torch::Tensor> HCMSNModelImpl::discriminator_parameters() const {
  return discriminator_->parameters();
}

}  // namespace hcmsn::model
