// A gallery index: photo embeddings on the Poincaré ball of the model that made them, with each
// photo's path and class, and the recipe (Embedder::spec) that embeds queries the same way.
//
// Ids are row numbers: photo i is row i of `embeddings` and entry i of `entries`. Adding photos
// appends rows, so existing ids never change.
//
// File: one checked file (io/checked_file.h), kind "gallery", version kGalleryVersion, written
// atomically. Payload, little-endian:
//   u64 J, then J bytes of JSON {"version", "count", "dim", "curvature", "embedder", "meta",
//   "entries": [[path, class, hash], ...]}, then count × dim float32 row-major embeddings. The
//   hash (util::content_hash of the photo's bytes) is absent in galleries written before it.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hcmsn::index {

inline constexpr char kGalleryKind[] = "gallery";
inline constexpr uint32_t kGalleryVersion = 1;

struct GalleryEntry {
  std::string path;               // absolute path of the photo, the thumbnail's source
  std::string class_name;         // empty when unknown
  std::string content_hash = {};  // util::content_hash of the bytes; empty when unknown
};

struct Gallery {
  /// float32 (N, D), CPU, contiguous, every row strictly inside the ball of `curvature`.
  torch::Tensor embeddings = torch::empty({0, 0}, torch::kFloat32);
  std::vector<GalleryEntry> entries;
  /// c ≥ 0 of the ball (0: Euclidean); distances are d_c (geometry/poincare_ball.h).
  double curvature = 0.0;
  /// Embedder::spec() of the model that made the rows; queries must use the same.
  nlohmann::json embedder = nlohmann::json::object();
  nlohmann::json meta = nlohmann::json::object();

  int64_t size() const;
  int64_t dim() const;
  /// Sorted distinct known class names.
  std::vector<std::string> class_names() const;
  /// Throws hcmsn::Error on a shape, dtype or count mismatch, a non-finite value or a row on or
  /// outside the ball's boundary.
  void validate() const;
};

/// Search results as the API and `hcmsn query --json` write them: [{"id", "path", "class",
/// "distance"}, ...] for row `row` of `ids` / `distances` (int64 / float32 (Q, k), −1 ids are
/// left out); "class" is null when unknown.
nlohmann::json result_entries(const Gallery& gallery, const torch::Tensor& ids,
                              const torch::Tensor& distances, int64_t row);

/// Appends rows (float32 (B, D)) and their entries. Throws hcmsn::Error on a dimension or count
/// mismatch; `gallery` is unchanged on error.
void append(Gallery& gallery, const torch::Tensor& embeddings, std::vector<GalleryEntry> entries);

void save_gallery(const std::string& path, const Gallery& gallery);
/// Throws hcmsn::Error naming `path` when it is missing, not a gallery, corrupt or newer.
Gallery load_gallery(const std::string& path);

}  // namespace hcmsn::index
