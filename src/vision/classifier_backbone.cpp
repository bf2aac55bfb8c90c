#include "hcmsn/vision/classifier_backbone.h"

namespace hcmsn::vision {
namespace {

// Every BatchNorm2d below `module`, found by type (the names differ per architecture).
std::vector<torch::nn::BatchNorm2dImpl*> batch_norms(torch::nn::Module& module) {
  std::vector<torch::nn::BatchNorm2dImpl*> out;
  for (const auto& child : module.modules(/*include_self=*/false)) {
    if (auto* bn = child->as<torch::nn::BatchNorm2dImpl>()) out.push_back(bn);
  }
  return out;
}

}  // namespace

void ClassifierBackboneImpl::freeze_batch_norm(bool frozen, bool freeze_affine) {
  batch_norm_frozen_ = frozen;
  for (auto* bn : batch_norms(*this)) {
    const bool train_affine = !(frozen && freeze_affine);
    if (bn->weight.defined()) bn->weight.set_requires_grad(train_affine);
    if (bn->bias.defined()) bn->bias.set_requires_grad(train_affine);
    bn->train(frozen ? false : is_training());
  }
}

void ClassifierBackboneImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (!batch_norm_frozen_) return;
  for (auto* bn : batch_norms(*this)) bn->train(false);
}

}  // namespace hcmsn::vision
