#include "hcmsn/vision/classifier_head.h"

#include "hcmsn/io/state_dict.h"
#include "hcmsn/util/check.h"

namespace hcmsn::vision {

torch::Tensor ClassifierHead::logits(const torch::Tensor& v) const {
  HCMSN_CHECK(v.dim() == 2 && v.size(1) == weight.size(1), "the teacher classifier takes (N, ",
              weight.size(1), ") features, got ", v.sizes(),
              "; use features of the backbone the weights belong to");
  torch::NoGradGuard no_grad;
  return torch::addmm(bias, v.to(torch::kFloat32), weight.t());
}

ClassifierHead read_classifier_head(const std::string& backbone, const std::string& weights_path) {
  std::string prefix;
  if (backbone == "mobilenet_v2") {
    prefix = "classifier.1.";
  } else if (backbone == "resnet50") {
    prefix = "fc.";
  } else {
    HCMSN_CHECK(false, "no ImageNet classifier is known for backbone '", backbone,
                "': use mobilenet_v2 or resnet50");
  }
  ClassifierHead head;
  for (const auto& [name, tensor] : io::read_state_dict(weights_path)) {
    if (name == prefix + "weight") head.weight = tensor.to(torch::kFloat32).contiguous();
    if (name == prefix + "bias") head.bias = tensor.to(torch::kFloat32).contiguous();
  }
  HCMSN_CHECK(head.weight.defined() && head.bias.defined(), weights_path, " has no ", prefix,
              "weight and ", prefix, "bias: it is not a full ", backbone,
              " checkpoint with its ImageNet classifier");
  HCMSN_CHECK(
      head.weight.dim() == 2 && head.bias.dim() == 1 && head.bias.size(0) == head.weight.size(0),
      weights_path, ": ", prefix, "weight ", head.weight.sizes(), " and ", prefix, "bias ",
      head.bias.sizes(), " do not form a linear classifier");
  HCMSN_CHECK(torch::isfinite(head.weight).all().item<bool>() &&
                  torch::isfinite(head.bias).all().item<bool>(),
              weights_path, ": the classifier holds NaN or Inf values");
  return head;
}

}  // namespace hcmsn::vision
