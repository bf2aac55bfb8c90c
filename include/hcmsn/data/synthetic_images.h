// A synthetic zero-shot sketch/photo image dataset: the built-in data of `hcmsn demo`, small
// enough to train a CNN from scratch on two cores, structured so that retrieval transfers to
// unseen classes.
//
// Each of the 36 classes is a combination of two visual attributes: a family (the outer
// silhouette: circle, triangle, square, hexagon, star, cross) and an inner mark (plain, ring,
// bar, dots, tri, xmark), named "<family>_<mark>" (e.g. "star_ring"). The hierarchy has two
// levels: class → family. The 10 unseen classes are new combinations of a family and a mark that
// both occur among the seen classes, so features learned on seen classes can transfer.
//
// Photos are filled, textured, coloured objects on varied backgrounds with lighting and noise;
// sketches are wobbly black outlines on white. Both share the pose ranges (rotation ±30°, scale
// 0.6–1.0 of the largest size that fits, translation within the frame). Rendering is a pure
// function of (class, seed, size), so datasets are reproducible even when generated in parallel.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hcmsn::data {

struct SyntheticClass {
  std::string name;    // "<family>_<mark>", folder-safe ASCII
  std::string parent;  // the family name (level 1 of the hierarchy)
  int family = 0;      // index into synthetic_family_names()
  int mark = 0;        // index into synthetic_mark_names()
  // Class semantics, synthetic_attribute_dim() floats: family one-hot (6) ⊕ mark one-hot (6) ⊕
  // [corner count / 12, convex outline (0/1), has an inner mark (0/1)].
  std::vector<float> attributes;
};

/// "circle", "triangle", "square", "hexagon", "star", "cross".
const std::vector<std::string>& synthetic_family_names();
/// "plain", "ring", "bar", "dots", "tri", "xmark".
const std::vector<std::string>& synthetic_mark_names();
/// Length of SyntheticClass::attributes (15).
int64_t synthetic_attribute_dim();

/// All 36 classes, family-major then mark (the row order of semantics.npy and classes.txt).
std::vector<SyntheticClass> synthetic_classes();

/// The 10 unseen class names, in class order: the cells (f, f) and (f, (f + 3) mod 6) for
/// f < 4 of the family × mark grid, so every family and every mark keeps ≥ 4 seen classes.
std::vector<std::string> synthetic_unseen_classes();

/// Looks a class up by name; throws hcmsn::Error listing the valid names otherwise.
const SyntheticClass& synthetic_class(const std::string& name);

/// A photo of `cls`: CV_8UC3 BGR, size × size (size ≥ 16). Deterministic in (cls.name, seed, size).
cv::Mat render_photo(const SyntheticClass& cls, uint64_t seed, int64_t size);
/// A sketch of `cls`: CV_8UC3 BGR, dark strokes on white. Deterministic in (cls.name, seed, size).
cv::Mat render_sketch(const SyntheticClass& cls, uint64_t seed, int64_t size);

struct SyntheticImageOptions {
  int64_t image_size = 64;          // pixels per side, ≥ 16
  int64_t photos_per_class = 60;    // ≥ 1 (the quick demo uses ~30)
  int64_t sketches_per_class = 60;  // ≥ 1
  uint64_t seed = 0;                // the whole dataset is a function of the options
};

struct SyntheticDatasetSummary {
  std::string root;
  int64_t num_classes = 0;
  int64_t num_unseen = 0;
  int64_t num_photos = 0;
  int64_t num_sketches = 0;
  std::string photo_dir;       // root/photo
  std::string sketch_dir;      // root/sketch
  std::string classes_file;    // root/classes.txt: class names, one a line, semantics row order
  std::string semantics_file;  // root/semantics.npy: float32 (num_classes, attribute dim)
  std::string unseen_file;     // root/unseen.txt: unseen class names, one a line
  std::string hierarchy_file;  // root/hierarchy.txt: "class parent" per line
};

/// The seed of image `index` of one class and modality (0 = sketch, 1 = photo) in a dataset
/// generated with `dataset_seed`; exposed so tests and tools can re-render any stored image.
uint64_t synthetic_image_seed(uint64_t dataset_seed, const std::string& class_name,
                              int64_t modality, int64_t index);

/// Writes root/{photo,sketch}/<class>/<nnnn>.png (nnnn = 0-based index, zero-padded to ≥ 4
/// digits) and the metadata files listed in SyntheticDatasetSummary, creating folders as
/// needed. Rewrites every file on each call and removes stale "<digits>.png" files of a
/// previous, larger generation, so the folder always matches `options`; other files are left
/// alone. Throws hcmsn::Error on bad options or when a file cannot be written.
SyntheticDatasetSummary write_synthetic_dataset(const std::string& root,
                                                const SyntheticImageOptions& options,
                                                bool show_progress = true);

}  // namespace hcmsn::data
