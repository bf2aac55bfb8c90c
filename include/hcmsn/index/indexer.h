// Building and growing galleries: photos through an Embedder into a Gallery. `hcmsn index` and
// the demo share it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hcmsn/index/embedder.h"
#include "hcmsn/index/gallery.h"

namespace hcmsn::index {

/// An empty gallery for `embedder`'s rows: its curvature and spec, and a creation time.
Gallery new_gallery(const Embedder& embedder);

struct AddPhotosResult {
  int64_t added = 0;
  int64_t already_present = 0;  // photos whose path the gallery already holds: skipped
  std::vector<std::pair<std::string, std::string>> unreadable;  // (path, reason)
  double seconds = 0;                                           // decoding and embedding
};

/// Embeds the photos the gallery does not hold yet (by path) and appends them, so existing ids
/// stay. Unreadable photos are returned, not added. Throws hcmsn::Error when `embedder` is not
/// the gallery's (its spec differs in run, checkpoint or checksum).
AddPhotosResult add_photos(Gallery& gallery, const Embedder& embedder,
                           std::vector<GalleryEntry> photos, bool progress);

}  // namespace hcmsn::index
