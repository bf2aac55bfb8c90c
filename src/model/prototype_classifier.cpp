#include "hcmsn/model/prototype_classifier.h"

#include <cmath>

#include "building_blocks.h"
#include "hcmsn/util/check.h"

namespace hcmsn::model {

PrototypeClassifierImpl::PrototypeClassifierImpl(PrototypeClassifierOptions options)
    : options_(options) {
  detail::check_sizes("PrototypeClassifier", {options_.dim(), options_.num_classes()}, 0.0);
  HCMSN_CHECK(std::isfinite(options_.temperature()) && options_.temperature() > 0,
              "PrototypeClassifier: temperature must be > 0, got ", options_.temperature());
  raw_ = register_parameter("raw", torch::empty({options_.num_classes(), options_.dim()}));
  reset_parameters();
}

void PrototypeClassifierImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  // Distinct prototypes at ‖raw_k‖ ≈ 1, about where the clipped features start: all at the
  // origin would give every class the same logit and the same gradient direction at first.
  raw_.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(options_.dim())));
}

torch::Tensor PrototypeClassifierImpl::prototypes(const geometry::Curvature& c) const {
  return geometry::expmap0(raw_, c);
}

torch::Tensor PrototypeClassifierImpl::forward(const torch::Tensor& h,
                                               const geometry::Curvature& c) {
  detail::check_features(h, options_.dim(), raw_, "PrototypeClassifier: h");
  return -geometry::distance_matrix(h, prototypes(c), c) / options_.temperature();
}

}  // namespace hcmsn::model
