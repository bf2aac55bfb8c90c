// The rows a run trains or evaluates on: cached backbone features or decoded images in memory,
// or dataset items streamed from disk (decoded when a batch needs them), with a class id and a
// modality per row.
//
//   inputs:   float32 (N, D) backbone features, or uint8 (N, 3, S, S) RGB images; undefined for
//             streamed rows (items + source)
//   labels:   int64 (N), ids into class_names
//   modality: int64 (N), model::kSketch (0) / model::kPhoto (1)
//   item_ids: N strings (image paths or cache ids) or empty
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "hcmsn/data/batch_prefetcher.h"
#include "hcmsn/data/item_pixels.h"

namespace hcmsn::train {

/// Where streamed rows' pixels come from (issue 12): decoded or rendered on demand, never held
/// all at once. Shared by a set and every subset of it.
struct PixelSource {
  /// Train-time pixels (augment = true augments; evaluation always uses augment = false).
  data::ItemPixelOptions pixels;
  /// Loader threads and batches loaded ahead while training (data::BatchPrefetcher).
  data::PrefetchOptions prefetch;
  mutable data::DrawingReader drawings;
  /// uint8 (3, S, S) of one item; training pixels when `augment`, else evaluation pixels.
  torch::Tensor load(const data::DatasetItem& item, bool augment, uint64_t seed) const;
};

struct TrainingSet {
  torch::Tensor inputs;
  torch::Tensor labels;
  torch::Tensor modality;
  std::vector<std::string> class_names;
  std::vector<std::string> item_ids;
  /// Streamed rows: `items[row]` is loaded through `source` when needed and `inputs` stays
  /// undefined. Empty / null for rows held in memory.
  std::vector<data::DatasetItem> items;
  std::shared_ptr<const PixelSource> source;

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  bool is_images() const { return is_streamed() || (inputs.defined() && inputs.dim() == 4); }
  bool is_streamed() const { return source != nullptr; }
  /// The inputs of rows [start, start + n): a slice of `inputs`, or the streamed items'
  /// evaluation pixels uint8 (n, 3, S, S), loaded in parallel. Throws hcmsn::Error naming an
  /// item that cannot be read.
  torch::Tensor input_slice(int64_t start, int64_t n) const;
  /// Throws hcmsn::Error naming the first inconsistency (shapes, dtypes, label range, modality).
  void validate() const;
  /// The rows of the named classes, relabelled 0 … names.size() − 1 in the order given.
  /// Throws hcmsn::Error listing every name that is not a class of this set.
  TrainingSet subset_classes(const std::vector<std::string>& names) const;
  /// The given rows, in that order, labels unchanged. Throws hcmsn::Error on an out-of-range row.
  TrainingSet select_rows(const std::vector<int64_t>& rows) const;
  /// Rows of one modality (kSketch / kPhoto), labels unchanged.
  TrainingSet rows_of_modality(int64_t modality) const;
  /// The class name of every row, in row order (the labels as metrics::encode_labels reads them).
  std::vector<std::string> label_names() const;
  /// Number of rows per modality: {sketches, photos}.
  std::pair<int64_t, int64_t> modality_counts() const;
};

/// The rows of `a`, then those of `b`: both held in memory, with the same class list and input
/// shape (throws hcmsn::Error otherwise; item ids must stay unique, as validate() checks).
TrainingSet concat_rows(const TrainingSet& a, const TrainingSet& b);

/// Rows of `semantics` (float (M, D)) for each of `names`, looked up in `semantics_classes`
/// (M names): by exact name, else by normalised key (lower-case; runs of spaces, underscores and
/// hyphens alike, as ../shared/data/README.md), so "alarm clock" finds "alarm_clock". Throws
/// hcmsn::Error listing every class without a vector.
/// The `names` that have both sketches and photos in `set`, in the given order. Training pairs
/// the modalities and evaluation needs a gallery for every query, so the others are left out
/// with one warning naming them (`role`: "seen", "unseen"; nullptr: no warning, for a
/// caller that only looks for candidates), never silently. A name unknown to
/// `set` is kept (subset_classes reports it). Throws hcmsn::Error when none is left.
std::vector<std::string> classes_with_both_modalities(const TrainingSet& set,
                                                      const std::vector<std::string>& names,
                                                      const char* role);
/// The same with sketches alone required: training on every class that has sketches, photos or
/// not (issue 11).
std::vector<std::string> classes_with_sketches(const TrainingSet& set,
                                               const std::vector<std::string>& names,
                                               const char* role);

/// n of `eligible` spread evenly over its order: element ⌊(2k + 1)·M / 2n⌋ for k < n (the
/// validation classes: fixed by the data, the same for every seed). Throws hcmsn::Error unless
/// 0 ≤ n < M.
std::vector<std::string> spread_classes(const std::vector<std::string>& eligible, int64_t n);

/// Fold `fold` of `folds` over `eligible`: every element whose position i has i mod folds = fold
/// (interleaved, so each fold spreads over the order; the folds partition `eligible`). Throws
/// hcmsn::Error unless 2 ≤ folds ≤ M and 0 ≤ fold < folds.
std::vector<std::string> fold_classes(const std::vector<std::string>& eligible, int64_t folds,
                                      int64_t fold);

torch::Tensor class_embeddings_for(const std::vector<std::string>& names,
                                   const std::vector<std::string>& semantics_classes,
                                   const torch::Tensor& semantics);

}  // namespace hcmsn::train
