// The ImageNet classifier of a pretrained backbone as a frozen linear teacher on its pooled
// features: logits = v Wᵀ + b, W (classes, feature_dim), b (classes). For cached features (the
// frozen-backbone path) this is exactly the backbone's own classifier (MobileNetV2's
// classifier.1 after a Dropout that is the identity in eval mode; ResNet-50's fc), so knowledge
// preservation needs no image pass.
#pragma once

#include <torch/torch.h>

#include <string>

namespace hcmsn::vision {

struct ClassifierHead {
  torch::Tensor weight;  // float32 (classes, feature_dim)
  torch::Tensor bias;    // float32 (classes)

  /// v float (N, feature_dim) → float32 logits (N, classes). Throws on a width mismatch.
  torch::Tensor logits(const torch::Tensor& v) const;
};

/// The classifier tensors of `backbone` ("mobilenet_v2": classifier.1.*, "resnet50": fc.*) read
/// from a weights file (io::read_state_dict). Throws hcmsn::Error naming the file and tensor when
/// one is missing, mis-shaped or not finite, or for another backbone name.
ClassifierHead read_classifier_head(const std::string& backbone, const std::string& weights_path);

}  // namespace hcmsn::vision
