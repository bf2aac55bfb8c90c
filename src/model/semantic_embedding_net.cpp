#include "hcmsn/model/semantic_embedding_net.h"

#include <cmath>

#include "building_blocks.h"
#include "hcmsn/util/check.h"

namespace hcmsn::model {

SemanticEmbeddingNetImpl::SemanticEmbeddingNetImpl(SemanticEmbeddingNetOptions options)
    : options_(options) {
  detail::check_sizes("SemanticEmbeddingNet",
                      {options_.dim(), options_.hidden(), options_.sem_dim()}, options_.dropout());
  mlp_ = register_module("mlp", detail::make_mlp(options_.dim(), options_.hidden(),
                                                 options_.sem_dim(), options_.dropout()));
}

torch::Tensor SemanticEmbeddingNetImpl::forward(const torch::Tensor& f) {
  detail::check_features(f, options_.dim(), mlp_->parameters().front(), "SemanticEmbeddingNet: f");
  return mlp_->forward(f);
}

DiscriminatorImpl::DiscriminatorImpl(DiscriminatorOptions options) : options_(options) {
  detail::check_sizes("Discriminator", {options_.sem_dim(), options_.hidden()}, 0.0);
  HCMSN_CHECK(std::isfinite(options_.negative_slope()) && options_.negative_slope() >= 0,
              "Discriminator: negative_slope must be >= 0, got ", options_.negative_slope());
  mlp_ = register_module(
      "mlp",
      torch::nn::Sequential(torch::nn::Linear(options_.sem_dim(), options_.hidden()),
                            torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(
                                options_.negative_slope())),
                            torch::nn::Linear(options_.hidden(), 1)));
}

torch::Tensor DiscriminatorImpl::forward(const torch::Tensor& s) {
  detail::check_features(s, options_.sem_dim(), mlp_->parameters().front(), "Discriminator: s");
  return mlp_->forward(s).squeeze(-1);
}

}  // namespace hcmsn::model
