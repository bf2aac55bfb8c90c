#include "hcmsn/vision/pretrained.h"

#include <algorithm>

#include "hcmsn/io/state_dict.h"
#include "hcmsn/util/check.h"
#include "hcmsn/vision/mobilenet_v2.h"
#include "hcmsn/vision/resnet.h"

namespace hcmsn::vision {

std::vector<std::string> backbone_names() {
  return {"mobilenet_v2", "resnet50"};
}

bool is_pretrained_backbone(const std::string& name) {
  const auto names = backbone_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::shared_ptr<ClassifierBackboneImpl> make_backbone(const std::string& name,
                                                      const BackboneFactoryOptions& options) {
  std::shared_ptr<ClassifierBackboneImpl> backbone;
  if (name == "mobilenet_v2") {
    backbone = std::make_shared<MobileNetV2Impl>(MobileNetV2Options()
                                                     .num_classes(options.num_classes)
                                                     .tf_same_padding(options.tf_same_padding));
  } else if (name == "resnet50") {
    backbone = std::make_shared<ResNet50Impl>(ResNet50Options().num_classes(options.num_classes));
  } else {
    std::string valid;
    for (const auto& n : backbone_names()) valid += (valid.empty() ? "" : ", ") + n;
    HCMSN_CHECK(false, "unknown backbone '", name, "'; valid names: ", valid);
  }
  if (options.freeze_batch_norm) backbone->freeze_batch_norm(true);
  return backbone;
}

std::shared_ptr<ClassifierBackboneImpl> load_pretrained_backbone(
    const std::string& name, const std::string& weights_path,
    const BackboneFactoryOptions& options) {
  auto backbone = make_backbone(name, options);
  const io::StateDict dict = io::read_state_dict(weights_path);
  try {
    io::load_state_dict(*backbone, dict);
  } catch (const Error& e) {
    throw Error("weights '" + weights_path + "' do not fit backbone '" + name + "': " + e.what());
  }
  backbone->eval();
  return backbone;
}

}  // namespace hcmsn::vision
