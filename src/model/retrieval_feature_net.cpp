#include "hcmsn/model/retrieval_feature_net.h"

#include "building_blocks.h"
#include "hcmsn/util/check.h"

namespace hcmsn::model {
namespace {

torch::nn::Sequential input_layer(const RetrievalFeatureNetOptions& o) {
  return torch::nn::Sequential(torch::nn::Linear(o.in_dim(), o.hidden()), torch::nn::ReLU(),
                               torch::nn::Dropout(o.dropout()));
}

}  // namespace

void check_modality(const torch::Tensor& modality, int64_t batch, const char* who) {
  HCMSN_CHECK(modality.defined() && modality.dim() == 1 && modality.size(0) == batch &&
                  modality.scalar_type() == torch::kInt64,
              who, ": modality must be an int64 tensor of shape (", batch,
              ") with one entry per row, got ",
              modality.defined() ? modality.sizes() : torch::IntArrayRef{});
  HCMSN_CHECK(((modality == kSketch) | (modality == kPhoto)).all().item<bool>(), who,
              ": modality values must be ", kSketch, " (sketch) or ", kPhoto, " (photo)");
}

RetrievalFeatureNetImpl::RetrievalFeatureNetImpl(RetrievalFeatureNetOptions options)
    : options_(options) {
  detail::check_sizes("RetrievalFeatureNet", {options_.in_dim(), options_.hidden(), options_.dim()},
                      options_.dropout());
  sketch_in_ = register_module("sketch_in", input_layer(options_));
  if (!options_.shared_input()) photo_in_ = register_module("photo_in", input_layer(options_));
  out_ = register_module("out", torch::nn::Linear(options_.hidden(), options_.dim()));
}

torch::Tensor RetrievalFeatureNetImpl::forward(const torch::Tensor& v,
                                               const torch::Tensor& modality) {
  detail::check_features(v, options_.in_dim(), out_->weight, "RetrievalFeatureNet: v");
  check_modality(modality, v.size(0), "RetrievalFeatureNet");
  // Each row goes through its own modality's input layer only (no wasted work, and dropout masks
  // are drawn for the rows that use them); the rows are then put back in their original order.
  const auto m = modality.to(v.device());
  auto hidden = torch::empty({v.size(0), options_.hidden()}, v.options());
  const auto route = [&](int64_t id, torch::nn::Sequential& layer) {
    const auto rows = (m == id).nonzero().squeeze(1);
    if (rows.numel() == 0) return;
    hidden = hidden.index_copy(0, rows, layer->forward(v.index_select(0, rows)));
  };
  if (options_.shared_input()) return out_->forward(sketch_in_->forward(v));
  route(kSketch, sketch_in_);
  route(kPhoto, photo_in_);
  return out_->forward(hidden);
}

}  // namespace hcmsn::model
