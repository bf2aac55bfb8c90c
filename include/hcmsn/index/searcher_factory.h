// Choosing a search backend for a gallery: exact (index/exact_search.h) or FAISS
// (index/faiss_search.h), by name or by gallery size.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hcmsn/index/exact_search.h"
#include "hcmsn/index/faiss_search.h"
#include "hcmsn/index/gallery.h"

namespace hcmsn::index {

struct BackendOptions {
  /// "exact", "faiss", or "auto": exact below auto_threshold rows, FAISS from there. At 100k rows
  /// of 512 dimensions (bench/bench_search.cpp, 2 cores) an exact query takes ~50 ms and FAISS IVF
  /// ~3 ms after a 13 s build, with recall@100 1.000.
  std::string kind = "auto";
  int64_t auto_threshold = 100000;
  FaissSearchOptions faiss;
};

/// Throws hcmsn::Error on an unknown kind or an empty gallery with kind "faiss".
std::shared_ptr<const Searcher> make_searcher(const Gallery& gallery,
                                              const BackendOptions& options = {});

}  // namespace hcmsn::index
