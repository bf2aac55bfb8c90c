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
  HCMSN_CHECK(o.teacher_classes() >= 0, "HCMSNModel: teacher_classes must be >= 0, got ",
              o.teacher_classes());
  if (o.teacher_classes() > 0) {
    transfer_ = register_module(
        "transfer", KnowledgeTransfer(KnowledgeTransferOptions(o.in_dim(), o.dim(), o.sem_dim(),
                                                               o.teacher_classes())
                                          .top_m(o.conse_top())));
  }
  if (o.fused_embedding()) {
    fusion_weights_ =
        register_buffer("fusion_weights", torch::tensor({0.0F, 0.0F, 1.0F, 1.0F}, torch::kFloat32));
  }
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

HCMSNOutput HCMSNModelImpl::forward(const torch::Tensor& v, const torch::Tensor& modality,
                                    const torch::Tensor& teacher_v) {
  HCMSNOutput out;
  out.f = feature_net_->forward(v, modality);
  out.s = semantic_net_->forward(out.f);
  out.h = projection_net_->forward(out.f, curvature());
  out.logits = classify(out.h);
  if (transfer_ && transfer_->has_teacher()) {
    out.student_logits = transfer_->student_logits(out.f);
    const auto& tv = teacher_v.defined() ? teacher_v : v;
    out.teacher_logits = transfer_->teacher_logits(tv);
    out.bridge = transfer_->bridge(tv);
  }
  return out;
}

EmbeddingParts HCMSNModelImpl::embed_parts(const torch::Tensor& v, const torch::Tensor& modality,
                                           const torch::Tensor& teacher_v) {
  const auto f = feature_net_->forward(v, modality);
  EmbeddingParts parts{v, semantic_net_->forward(f), projection_net_->forward(f, curvature())};
  if (transfer_ && transfer_->has_teacher()) {
    // A photo's semantics come from the teacher, which knows 1000 classes, not from S, which saw
    // the few photo classes of training only.
    const auto is_photo = (modality == kPhoto).view({-1, 1});
    const auto& tv = teacher_v.defined() ? teacher_v : v;
    parts.s = torch::where(is_photo, transfer_->bridge(tv).to(parts.s.dtype()), parts.s);
  }
  return parts;
}

torch::Tensor HCMSNModelImpl::embed(const torch::Tensor& v, const torch::Tensor& modality,
                                    const torch::Tensor& teacher_v) {
  if (!options_.fused_embedding()) {
    return projection_net_->forward(feature_net_->forward(v, modality), curvature());
  }
  const auto parts = embed_parts(v, modality, teacher_v);
  return fuse_embedding(parts.v, parts.s, parts.h, fusion(), curvature().value());
}

int64_t HCMSNModelImpl::embedding_dim() const {
  const int64_t hyp = options_.hyp_dim() > 0 ? options_.hyp_dim() : options_.dim();
  return options_.fused_embedding() ? options_.in_dim() + options_.sem_dim() + hyp : hyp;
}

FusionWeights HCMSNModelImpl::fusion() const {
  HCMSN_CHECK(fusion_weights_.defined(), "the model retrieves by h alone (no fused embedding)");
  const auto w = fusion_weights_.to(torch::kFloat64);
  return {w[0].item<double>(), w[1].item<double>(), w[2].item<double>(), w[3].item<double>()};
}

void HCMSNModelImpl::set_fusion(const FusionWeights& weights) {
  HCMSN_CHECK(fusion_weights_.defined(),
              "fusion weights need a model built with fused_embedding (train --fusion)");
  check_fusion_weights(weights);
  torch::NoGradGuard no_grad;
  fusion_weights_.copy_(torch::tensor(
      {static_cast<float>(weights.backbone), static_cast<float>(weights.semantic),
       static_cast<float>(weights.hyperbolic), static_cast<float>(weights.hyperbolic_scale)}));
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
