// Backbone features computed once and cached on disk, so that frozen-backbone training reads
// vectors instead of decoding and running images every epoch.
//
// Contract of a FeatureCache with N rows, D feature dimensions and C classes (validate()):
//   features     float32 (N, D), CPU, every value finite
//   labels       int64 (N), each in [0, C): an index into class_names
//   modality     int64 (N), each model::kSketch (0) or model::kPhoto (1)
//   item_ids     N strings, unique, non-empty, valid UTF-8, no line break (e.g. relative image
//                paths: they name rows in reports and label files)
//   class_names  C strings, unique, non-empty, valid UTF-8, no line break; C may exceed the
//                classes present (a subset keeps the full class list)
//   meta         free-form JSON: backbone name, image size, preprocessing, source root, ...
// N = 0 is a valid (empty) cache; a default-constructed FeatureCache is one with D = 0.
//
// On disk: the io::checked_file envelope, kind "feature-cache", version 1, whose payload is
// (little-endian; H = JSON header length):
//
//   offset          size    field
//   0               8       H, uint64
//   8               H       JSON header, UTF-8: {"n": N, "d": D, "feature_dtype": "<f4",
//                           "label_dtype": "<i8", "modality_dtype": "<i8",
//                           "class_names": [...], "item_ids": [...], "meta": {...}}
//   8+H             4·N·D   features, float32, row-major
//   8+H+4ND         8·N     labels, int64
//   8+H+4ND+8N      8·N     modality, int64
//
// The payload ends there; loading rejects any disagreement between the header and the sizes.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hcmsn::data {

inline constexpr char kFeatureCacheKind[] = "feature-cache";
inline constexpr uint32_t kFeatureCacheVersion = 1;

struct FeatureCache {
  torch::Tensor features = torch::empty({0, 0}, torch::kFloat32);
  torch::Tensor labels = torch::empty({0}, torch::kInt64);
  torch::Tensor modality = torch::empty({0}, torch::kInt64);
  std::vector<std::string> item_ids;
  std::vector<std::string> class_names;
  nlohmann::json meta = nlohmann::json::object();

  /// N and D. Throw hcmsn::Error when `features` is not a 2-D tensor.
  int64_t size() const;
  int64_t dim() const;

  /// Checks the contract above; throws hcmsn::Error naming the first problem (a shape or dtype
  /// mismatch, a label out of range, a bad modality, the first row with a NaN/Inf feature, a
  /// duplicate or malformed id or class name).
  void validate() const;
};

/// Validates, then writes `cache` atomically (float32 values bit-exact, -0.0 and denormals too).
void save_feature_cache(const std::string& path, const FeatureCache& cache);

/// Reads a cache written by save_feature_cache. Throws hcmsn::Error naming the path when the
/// file is missing, not a feature cache, corrupt, or its contents break the contract.
/// The returned tensors are contiguous.
FeatureCache load_feature_cache(const std::string& path);

/// The rows at `indices` (int64, 1-D, each in [0, N), no repeats since item ids stay unique), in
/// that order; class_names and meta are kept.
FeatureCache select_rows(const FeatureCache& cache, const torch::Tensor& indices);

/// Only the rows whose class is in `keep_class_names`, in their original order; class_names
/// becomes `keep_class_names` (in the given order) and labels index into it. Throws
/// hcmsn::Error listing every name that is not a class of `cache`, or on a repeated name.
FeatureCache subset_classes(const FeatureCache& cache,
                            const std::vector<std::string>& keep_class_names);

/// The rows of `a`, then those of `b` (same D). class_names: those of `a`, then the names of `b`
/// that `a` lacks, matched by name; labels are re-indexed accordingly. meta is `a.meta` when
/// both metas are equal, else {"parts": [a.meta, b.meta]}, so a mix of sources stays visible.
/// Throws hcmsn::Error on a D mismatch or an item id present in both.
FeatureCache concat(const FeatureCache& a, const FeatureCache& b);

}  // namespace hcmsn::data
