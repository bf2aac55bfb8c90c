// Building and growing galleries: photos through an Embedder into a Gallery. `hcmsn index` and
// the demo share it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hcmsn/index/embedder.h"
#include "hcmsn/index/gallery.h"

namespace hcmsn::index {

/// Throws hcmsn::Error when `embedder` cannot query `gallery`: its points have another dimension
/// or lie on a ball of another curvature (ranking would use the wrong distance). The one check
/// `hcmsn query` and `hcmsn serve` share.
void check_embedder_fits(const Embedder& embedder, const Gallery& gallery);

/// The embedder the gallery recorded (Embedder::from_spec), checked with check_embedder_fits.
std::shared_ptr<const Embedder> gallery_embedder(const Gallery& gallery,
                                                 const std::string& run_dir_override = "",
                                                 const std::string& device = "cpu");

/// An empty gallery for `embedder`'s rows: its curvature and spec, and a creation time.
Gallery new_gallery(const Embedder& embedder);

struct AddPhotosResult {
  int64_t added = 0;
  int64_t already_present = 0;  // photos whose path the gallery already holds: skipped
  /// Photos whose bytes the gallery (or an earlier photo of this call) already holds under
  /// another path: skipped. (path, the path that holds the same bytes)
  std::vector<std::pair<std::string, std::string>> duplicates;
  std::vector<std::pair<std::string, std::string>> unreadable;  // (path, reason)
  double seconds = 0;                                           // decoding and embedding
};

/// Embeds the photos the gallery does not hold yet, by path and by content (util::content_hash of
/// the bytes, stored per row; rows of older galleries without one are hashed from their files
/// first), and appends them, so existing ids stay. Unreadable photos are returned, not added.
/// Throws hcmsn::Error when `embedder` is not the gallery's (its spec differs in run, checkpoint or
/// checksum).
AddPhotosResult add_photos(Gallery& gallery, const Embedder& embedder,
                           std::vector<GalleryEntry> photos, bool progress);

}  // namespace hcmsn::index
