#include "hcmsn/model/reconstruction_net.h"

#include "building_blocks.h"

namespace hcmsn::model {

ReconstructionNetImpl::ReconstructionNetImpl(ReconstructionNetOptions options) : options_(options) {
  detail::check_sizes("ReconstructionNet", {options_.sem_dim(), options_.hidden(), options_.dim()},
                      options_.dropout());
  mlp_ = register_module("mlp", detail::make_mlp(options_.sem_dim(), options_.hidden(),
                                                 options_.dim(), options_.dropout()));
}

torch::Tensor ReconstructionNetImpl::forward(const torch::Tensor& s) {
  detail::check_features(s, options_.sem_dim(), mlp_->parameters().front(), "ReconstructionNet: s");
  return mlp_->forward(s);
}

}  // namespace hcmsn::model
