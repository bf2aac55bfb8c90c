// Feature extraction: a dataset's sketches and photos through a frozen backbone into a
// feature cache (data/feature_cache.h), resumable after an interruption or a crash.
//
// Each item is decoded (image files) or rendered (QuickDraw drawings), resized per the
// transform, normalised with the backbone's own input statistics, and embedded in eval mode
// without gradients. Items that cannot be read are never dropped silently: they are returned
// in ExtractResult::unreadable (id and reason) and left out of the cache's rows.
//
// Resume: work is done in chunks of `chunk_size` items; every finished chunk is written to
// WORK_DIR/chunk-NNNNN.bin (a checked file) next to WORK_DIR/fingerprint.json, which names the
// items, backbone, weights and preprocessing. A rerun with the same fingerprint reuses the
// intact chunks; a different fingerprint or a corrupt chunk means recomputing it.
#pragma once

#include "hcmsn/data/drawing_reader.h"
#include "hcmsn/distributed/communicator.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hcmsn/data/dataset.h"
#include "hcmsn/data/feature_cache.h"
#include "hcmsn/data/quickdraw_strokes.h"
#include "hcmsn/data/transforms.h"
#include "hcmsn/model/backbone.h"

namespace hcmsn::features {

/// Augmented views of photos (issue 11: photo-domain robustness for a frozen backbone). A view
/// item (data::DatasetItem::view > 0) is decoded, cropped and flipped (torchvision's
/// RandomResizedCrop at the input size, instead of the evaluation resize) and colour-jittered,
/// drawn from a seed of `seed` and the item's id alone, so a view is the same in every run and
/// on every rank.
struct PhotoViewOptions {
  data::AugmentOptions crop{{0.5, 1.0}};
  data::ColorJitterOptions jitter{0.3, 0.3, 0.3};
  uint64_t seed = 0;
};

struct ExtractOptions {
  /// Resize mode and size; mean and std are taken from the backbone's input_options().
  data::TransformOptions transform;
  /// How QuickDraw drawings are rasterised before the transform.
  data::RenderOptions render;
  int64_t batch_size = 32;
  int64_t chunk_size = 1024;
  bool show_progress = true;
  /// Folder for resumable chunks; empty: no resume (nothing written until the end).
  std::string work_dir;
  /// Identifies the weights (e.g. their path, size and checksum) in the resume fingerprint.
  std::string weights_id;
  /// Where the backbone runs: "cpu", "cuda" or "cuda:N" (util/device.h); the backbone is moved
  /// there. Not in the fingerprint: chunks of either device are reused.
  std::string device = "cpu";
  /// "fp32" or "bf16" (util/precision.h): bf16 runs the backbone under bfloat16 autocast; its
  /// features are cast back to float32. bf16 is in the fingerprint and the cache's meta, so
  /// chunks of the two precisions never mix.
  std::string precision = "fp32";
  /// Sharded extraction (issue 13): with a communicator, rank r computes the chunks c with
  /// c mod world_size = r and saves them in `work_dir` (required; on storage every rank sees),
  /// then rank 0 assembles the cache from all chunks, exactly the single-process cache; the
  /// other ranks return a result with an empty cache. Not owned.
  distributed::Communicator* communicator = nullptr;
  /// How view items are made; in the fingerprint and the cache's meta when there are any.
  PhotoViewOptions views;
};

struct ExtractResult {
  data::FeatureCache cache;
  /// (item id, reason) of every item that could not be read, in item order.
  std::vector<std::pair<std::string, std::string>> unreadable;
  int64_t reused_items = 0;    // taken from chunks of an earlier run
  int64_t computed_items = 0;  // decoded and embedded in this run
  double seconds = 0;
  /// True when an interrupt (Ctrl-C) stopped the work early; finished chunks are kept.
  bool interrupted = false;
  /// False on the ranks other than 0 of a sharded extraction: `cache` is not assembled there.
  bool has_cache = true;
};

/// Embeds `items` (labels index `class_names` by name) with `backbone`. The cache's meta holds
/// the backbone, preprocessing and `meta` (merged). Throws hcmsn::Error on an item whose class
/// is not in `class_names`, duplicate ids, or bad options.
ExtractResult extract_features(const std::vector<data::DatasetItem>& items,
                               const std::vector<std::string>& class_names,
                               model::BackboneImpl& backbone, const ExtractOptions& options,
                               const nlohmann::json& meta = nlohmann::json::object());

/// Decodes or renders one item to uint8 (3, size, size) per the options (the pixels the
/// backbone sees, before normalisation). Throws hcmsn::Error naming the item when unreadable.
torch::Tensor load_item_pixels(const data::DatasetItem& item, const ExtractOptions& options);
/// The same with a shared reader of .ndjson drawings (extract_features keeps one for its run).
torch::Tensor load_item_pixels(const data::DatasetItem& item, const ExtractOptions& options,
                               data::DrawingReader& drawings);

/// `views` augmented views of every photo of `items` (sketches have none), photo by photo:
/// ids "<id>#view<k>" for k = 1 … views, DatasetItem::view = k. Throws hcmsn::Error when views
/// is not in [1, 100].
std::vector<data::DatasetItem> photo_view_items(const std::vector<data::DatasetItem>& items,
                                                int64_t views);

/// The pixels of view item `item` (view > 0) from its decoded image, uint8 (3, size, size).
torch::Tensor photo_view_pixels(const torch::Tensor& image, const data::DatasetItem& item,
                                int64_t size, const PhotoViewOptions& options);

/// The weights file of a cache's weights id ("PATH (N bytes, crc32 XXXXXXXX)", as `hcmsn
/// extract` records it): everything before the last " (".
std::string weights_path_of(const std::string& weights_id);

}  // namespace hcmsn::features
