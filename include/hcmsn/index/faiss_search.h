// Approximate nearest neighbours on the Poincaré ball through a FAISS L2 index.
//
// The gallery is transformed once into L2 vectors whose Euclidean order is the d_c order
// (mips_transform.h, D + 3 float32 coordinates) and indexed by FAISS: HNSW (IndexHNSWFlat, a
// graph) or IVF (IndexIVFFlat, k-means lists). search() asks the index for refine·k candidates
// per query and re-ranks them by exact d_c (exact_search.h: rerank_exact), so the returned
// distances are exact and ordered by d_c; only recall is approximate. A query whose candidates
// are short of min(k, N) (IVF lists too small) is retried with more lists, then exactly.
//
// Memory: FAISS keeps its own float32 copy of the transformed gallery (N·(D+3)·4 bytes) plus
// the HNSW links (about N·2M·4 bytes) or the IVF ids (N·8 bytes) and centroids; the searcher
// also holds a reference to the gallery tensor for re-ranking.
//
// Threads: FAISS parallelises build and batched search with OpenMP; `threads` > 0 sets the team
// size of those calls only (the calling thread's OpenMP setting, which LibTorch's OpenMP build
// shares, is restored afterwards, so torch's thread count is unchanged after the call). search() is
// const and safe to call from several threads at once: the IVF nprobe goes to FAISS as a per-call
// parameter and nothing in the index is mutated (set_ef_search / set_nprobe are the only mutators).
//
// Persistence: none; the index is rebuilt from the gallery (build time at D = 512, 2 cores:
// see bench/bench_search.cpp and the README's table).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "hcmsn/index/exact_search.h"
#include "hcmsn/index/mips_transform.h"

namespace faiss {
struct Index;
}  // namespace faiss

namespace hcmsn::index {

struct FaissSearchOptions {
  /// "hnsw", "ivf", or "auto" (= "ivf"). Measured at D = 512, 100k clustered rows, 2 cores
  /// (bench/bench_search.cpp): IVF builds in 13 s and reaches recall@100 1.00 at nprobe 16;
  /// HNSW (M 32, efC 64) builds in 38 s and reaches 0.64 at efS 128, 0.78 at efS 512: members
  /// of a class are nearly equidistant from a query in 512 dimensions, which defeats greedy graph
  /// search but not an exact scan of the probed lists. HNSW of a million rows builds too slowly
  /// on a few cores.
  std::string kind = "auto";
  /// HNSW: links per node (2M on the bottom layer), candidate list while building, and while
  /// searching (FAISS widens it to refine·k when smaller).
  int hnsw_m = 32;
  int ef_construction = 64;
  int ef_search = 128;
  /// IVF: number of lists (0: 2√N, at most N/39 so that k-means has 39 points per centroid; few
  /// lists keep k-means and the assignment of the gallery cheap), lists probed per query
  /// (0: max(16, nlist/128), at most nlist), k-means iterations, training points per list (an
  /// evenly strided sample of the gallery).
  int64_t nlist = 0;
  int64_t nprobe = 0;
  int kmeans_iterations = 10;
  int64_t train_points_per_list = 64;
  /// Candidates fetched per result before exact re-ranking (≥ 1).
  int64_t refine = 2;
  /// OpenMP threads for FAISS build and search; 0 leaves the OpenMP default.
  int threads = 0;
};

class FaissSearcher : public Searcher {
 public:
  /// gallery: float32 (N, D), CPU, N ≥ 1, finite, inside the ball of `curvature` (rows on the
  /// boundary are projected as geometry::project does). Holds a reference to `gallery`.
  /// Throws hcmsn::Error on an empty or non-finite gallery and on invalid options.
  FaissSearcher(torch::Tensor gallery, double curvature, FaissSearchOptions options = {});
  ~FaissSearcher() override;
  FaissSearcher(const FaissSearcher&) = delete;
  FaissSearcher& operator=(const FaissSearcher&) = delete;

  Neighbors search(const torch::Tensor& queries, int64_t k) const override;
  /// "faiss-hnsw" or "faiss-ivf".
  std::string name() const override;
  /// Bytes of the FAISS index from its fields: the vectors, plus HNSW links, offsets and levels
  /// or IVF ids and centroids (allocator slack not counted).
  int64_t memory_bytes() const override;
  /// The options in effect: kind, nlist and nprobe resolved from "auto" and 0.
  const FaissSearchOptions& options() const { return options_; }
  /// Search-time settings (for sweeps without a rebuild); not to be called while another thread
  /// searches. Throws hcmsn::Error unless ≥ 1; nprobe is capped at nlist.
  void set_ef_search(int ef_search);
  void set_nprobe(int64_t nprobe);

 private:
  torch::Tensor gallery_;
  double curvature_;
  FaissSearchOptions options_;
  PoincareL2Transform transform_;
  std::unique_ptr<faiss::Index> index_;
};

}  // namespace hcmsn::index
