#include "hcmsn/index/searcher_factory.h"

#include "hcmsn/util/check.h"

namespace hcmsn::index {

std::shared_ptr<const Searcher> make_searcher(const Gallery& gallery,
                                              const BackendOptions& options) {
  const std::string& kind = options.kind;
  HCMSN_CHECK(kind == "exact" || kind == "faiss" || kind == "auto", "unknown search backend '",
              kind, "'; use exact, faiss or auto");
  const bool faiss =
      kind == "faiss" || (kind == "auto" && gallery.size() >= options.auto_threshold);
  if (faiss) {
    return std::make_shared<FaissSearcher>(gallery.embeddings, gallery.curvature, options.faiss);
  }
  return std::make_shared<ExactSearcher>(gallery.embeddings, gallery.curvature);
}

}  // namespace hcmsn::index
