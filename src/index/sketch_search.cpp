#include "hcmsn/index/sketch_search.h"

#include <algorithm>
#include <chrono>

#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/progress.h"

namespace hcmsn::index {

Embedder::FileBatch embed_sketches(const Embedder& embedder,
                                   const std::vector<QuerySketch>& sketches, bool progress) {
  return embedder.embed_loaded(
      static_cast<int64_t>(sketches.size()),
      [&](size_t i) { return load_sketch(sketches[i], embedder.render_options()); }, model::kSketch,
      {"embedding sketches", "sketches", progress});
}

void search_sketches(const Embedder& embedder, const Searcher& searcher,
                     const std::vector<QuerySketch>& sketches, const SketchSearchOptions& options,
                     const std::function<void(const SketchAnswer&)>& emit) {
  HCMSN_CHECK(options.k >= 1, "k must be >= 1, got ", options.k);
  HCMSN_CHECK(options.chunk >= 1, "the sketches per search must be >= 1, got ", options.chunk);
  const auto n = static_cast<int64_t>(sketches.size());
  util::Progress bar(n, {"searching", "sketches", options.progress});
  for (int64_t first = 0; first < n; first += options.chunk) {
    const auto start = std::chrono::steady_clock::now();
    const int64_t count = std::min(options.chunk, n - first);
    const Embedder::FileBatch batch = embedder.embed_loaded(
        count,
        [&](size_t i) {
          return load_sketch(sketches[static_cast<size_t>(first) + i], embedder.render_options());
        },
        model::kSketch, {"", "", false});
    Neighbors found;
    if (!batch.embedded.empty()) found = searcher.search(batch.embeddings, options.k);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
        static_cast<double>(count);
    // Both lists are in input order: merge them back into it.
    size_t row = 0, bad = 0;
    for (int64_t i = 0; i < count; ++i) {
      SketchAnswer a;
      a.sketch = static_cast<size_t>(first + i);
      a.seconds = seconds;
      if (row < batch.embedded.size() && batch.embedded[row] == static_cast<size_t>(i)) {
        // −1 ids (fewer than k candidates) are left out.
        const torch::Tensor ids = found.ids[static_cast<int64_t>(row)];
        const torch::Tensor keep = ids >= 0;
        a.ids = ids.masked_select(keep);
        a.distances = found.distances[static_cast<int64_t>(row)].masked_select(keep);
        ++row;
      } else {
        HCMSN_ASSERT(
            bad < batch.unreadable.size() && batch.unreadable[bad].first == static_cast<size_t>(i),
            "sketch ", i, " of the chunk is neither embedded nor unreadable");
        a.error = batch.unreadable[bad++].second;
      }
      emit(a);
    }
    bar.advance(count);
  }
}

}  // namespace hcmsn::index
