// Many sketches through one loaded model: embedding them in batches (many sketches per forward
// pass) and answering each with its nearest gallery photos. `hcmsn query` and
// `hcmsn eval-gallery` run on it.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hcmsn/index/embedder.h"
#include "hcmsn/index/exact_search.h"
#include "hcmsn/index/sketch_list.h"

namespace hcmsn::index {

/// Loads (load_sketch, with the embedder's render options) and embeds every sketch,
/// embedder.batch() per forward pass, with a progress bar on stderr when `progress`. Sketches that
/// cannot be loaded are in `unreadable` with the reason, never dropped silently.
Embedder::FileBatch embed_sketches(const Embedder& embedder,
                                   const std::vector<QuerySketch>& sketches, bool progress);

struct SketchAnswer {
  size_t sketch = 0;  // index into the sketches
  /// Why the sketch could not be loaded; then `ids` and `distances` are empty.
  std::string error;
  torch::Tensor ids;        // int64 (k'): gallery rows, nearest first
  torch::Tensor distances;  // float32 (k'): their d_c
  /// Its share of its chunk's time: loading, embedding and searching the chunk, divided by the
  /// chunk's size. For a single sketch, the time of that one query.
  double seconds = 0.0;
};

struct SketchSearchOptions {
  int64_t k = 10;
  /// Sketches per search call (each embedded batch() per forward pass): bounds the memory of
  /// the search's (chunk × gallery block) keys while keeping the products large.
  int64_t chunk = 256;
  bool progress = false;
};

/// Answers every sketch with `searcher` (over the gallery `embedder` made), calling `emit` once
/// per sketch in input order as each chunk finishes, so output streams. Throws hcmsn::Error on
/// k < 1 or chunk < 1, and passes on whatever `emit` throws.
void search_sketches(const Embedder& embedder, const Searcher& searcher,
                     const std::vector<QuerySketch>& sketches, const SketchSearchOptions& options,
                     const std::function<void(const SketchAnswer&)>& emit);

}  // namespace hcmsn::index
