// The pretrained backbones by name ("mobilenet_v2", "resnet50"): construction and loading of
// torchvision-named weights (.pth from torch.save, or .safetensors) with strict checks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hcmsn/vision/classifier_backbone.h"

namespace hcmsn::vision {

/// The names make_backbone accepts, in a stable order.
std::vector<std::string> backbone_names();
/// Whether `name` is one of them (a pretrained ImageNet backbone, not "none" or "small-cnn").
bool is_pretrained_backbone(const std::string& name);

struct BackboneFactoryOptions {
  int64_t num_classes = 1000;
  /// MobileNetV2 only: TF-"SAME" padding (the shared TFLite-converted weights need it);
  /// false = torchvision's symmetric padding.
  bool tf_same_padding = true;
  /// Keep every BatchNorm in eval mode with frozen affine parameters even under train(true)
  /// (see ClassifierBackboneImpl::freeze_batch_norm). load_pretrained_backbone applies it;
  /// pretrained BN statistics (or folded BN, as in the shared weights) are not batch statistics.
  bool freeze_batch_norm = true;
};

/// A freshly initialised backbone. Throws hcmsn::Error listing the valid names for an unknown one.
std::shared_ptr<ClassifierBackboneImpl> make_backbone(const std::string& name,
                                                      const BackboneFactoryOptions& options = {});

/// make_backbone, then the weights of `weights_path` (io::read_state_dict; strict names and
/// shapes, BatchNorm's num_batches_tracked may be absent), then eval mode. Throws hcmsn::Error
/// naming the file and every missing, unexpected or mis-shaped tensor.
std::shared_ptr<ClassifierBackboneImpl> load_pretrained_backbone(
    const std::string& name, const std::string& weights_path,
    const BackboneFactoryOptions& options = {});

}  // namespace hcmsn::vision
