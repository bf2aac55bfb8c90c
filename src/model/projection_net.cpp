#include "hcmsn/model/projection_net.h"

#include <cmath>

#include "building_blocks.h"
#include "hcmsn/util/check.h"

namespace hcmsn::model {

ProjectionNetImpl::ProjectionNetImpl(ProjectionNetOptions options) : options_(options) {
  detail::check_sizes("ProjectionNet", {options_.dim(), options_.out_dim()}, 0.0);
  HCMSN_CHECK(std::isfinite(options_.clip_r()), "ProjectionNet: clip_r must be finite, got ",
              options_.clip_r(), " (use a value <= 0 to disable clipping)");
  linear_ = register_module("linear", torch::nn::Linear(options_.dim(), options_.out_dim()));
}

torch::Tensor ProjectionNetImpl::tangent(const torch::Tensor& f) {
  detail::check_features(f, options_.dim(), linear_->weight, "ProjectionNet: f");
  const auto u = linear_->forward(f);
  return options_.clip_r() > 0 ? geometry::clip_features(u, options_.clip_r()) : u;
}

torch::Tensor ProjectionNetImpl::forward(const torch::Tensor& f, const geometry::Curvature& c) {
  return geometry::expmap0(tangent(f), c);
}

}  // namespace hcmsn::model
