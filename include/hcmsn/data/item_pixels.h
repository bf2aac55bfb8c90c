// One dataset item as the pixels a trainable backbone sees (issue 12, streaming input): decoded
// (image files) or rendered (QuickDraw drawings) on the fly, then either augmented for training
// (torchvision's RandomResizedCrop + horizontal flip, drawn from the item's own seed) or resized
// as for evaluation. Output: uint8 (3, size, size) RGB; normalisation is the backbone's
// (model::normalise_pixels).
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "hcmsn/data/dataset.h"
#include "hcmsn/data/drawing_reader.h"
#include "hcmsn/data/quickdraw_strokes.h"
#include "hcmsn/data/transforms.h"

namespace hcmsn::data {

struct ItemPixelOptions {
  int64_t size = 224;
  /// Train-time augmentation; false: eval_resize with `resize_mode`.
  bool augment = true;
  AugmentOptions augment_options;
  /// "squash" or "crop", as TransformOptions::mode.
  std::string resize_mode = "squash";
  RenderOptions render;
};

/// The item's pixels as stored: the decoded image file, or the drawing rendered with `render`
/// (uint8 (3, H, W)). Throws hcmsn::Error when it cannot be read. Training and extraction share it.
torch::Tensor decode_item(const DatasetItem& item, const RenderOptions& render,
                          DrawingReader& drawings);

/// A decoded image resized for evaluation as a streamed dataset's items are ("squash" or
/// "crop", TransformOptions::mode): uint8 (3, size, size). The embedder of a run trained on a
/// streamed dataset resizes query sketches and gallery photos with it too.
torch::Tensor eval_item_pixels(const torch::Tensor& image, int64_t size,
                               const std::string& resize_mode);

/// Throws hcmsn::Error naming the item when it cannot be read (missing or corrupt file, bad
/// drawing); `drawings` serves the .ndjson records.
torch::Tensor load_item_pixels(const DatasetItem& item, const ItemPixelOptions& options,
                               uint64_t seed, DrawingReader& drawings);

}  // namespace hcmsn::data
