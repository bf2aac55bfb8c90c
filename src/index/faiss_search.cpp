#include "hcmsn/index/faiss_search.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "hcmsn/util/check.h"

namespace hcmsn::index {
namespace {

// Gallery rows transformed and added per FAISS call: bounds the float64 temporaries.
constexpr int64_t kAddChunkRows = 65536;
// Upper bound of the refine factor (keeps refine·k far from int64 overflow).
constexpr int64_t kMaxRefine = 1024;

// OpenMP team size for the FAISS calls in its scope; restores the calling thread's setting.
class OmpThreads {
 public:
  explicit OmpThreads(int threads) : saved_(omp_get_max_threads()), active_(threads > 0) {
    if (active_) omp_set_num_threads(threads);
  }
  ~OmpThreads() {
    if (active_) omp_set_num_threads(saved_);
  }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int saved_;
  bool active_;
};

FaissSearchOptions resolved(FaissSearchOptions o, int64_t rows) {
  if (o.kind == "auto") o.kind = "ivf";
  HCMSN_CHECK(o.kind == "hnsw" || o.kind == "ivf", "FAISS index kind must be \"hnsw\", \"ivf\" ",
              "or \"auto\", got \"", o.kind, "\"");
  HCMSN_CHECK(o.refine >= 1 && o.refine <= kMaxRefine, "FAISS refine factor must be in [1, ",
              kMaxRefine, "], got ", o.refine);
  HCMSN_CHECK(o.threads >= 0, "FAISS threads must be >= 0 (0: OpenMP default), got ", o.threads);
  if (o.kind == "hnsw") {
    HCMSN_CHECK(o.hnsw_m >= 2 && o.ef_construction >= 1 && o.ef_search >= 1,
                "HNSW options need M >= 2, ef_construction >= 1 and ef_search >= 1, got M = ",
                o.hnsw_m, ", ef_construction = ", o.ef_construction, ", ef_search = ", o.ef_search);
  } else {
    if (o.nlist == 0) {
      const auto by_size = static_cast<int64_t>(std::lround(2 * std::sqrt(double(rows))));
      o.nlist = std::clamp<int64_t>(by_size, 1, std::max<int64_t>(1, rows / 39));
    }
    HCMSN_CHECK(o.nlist >= 1 && o.nlist <= rows, "IVF nlist must be in [1, N = ", rows, "], got ",
                o.nlist);
    if (o.nprobe == 0) o.nprobe = std::max<int64_t>(16, o.nlist / 128);
    HCMSN_CHECK(o.nprobe >= 1, "IVF nprobe must be >= 1 (0: automatic), got ", o.nprobe);
    o.nprobe = std::min(o.nprobe, o.nlist);
    HCMSN_CHECK(o.kmeans_iterations >= 1 && o.train_points_per_list >= 1,
                "IVF k-means needs >= 1 iteration and >= 1 training point per list, got ",
                o.kmeans_iterations, " and ", o.train_points_per_list);
  }
  return o;
}

const torch::Tensor& checked_gallery(const torch::Tensor& gallery) {
  HCMSN_CHECK(gallery.defined() && gallery.dim() == 2 && gallery.scalar_type() == torch::kFloat32,
              "FAISS search: the gallery must be a float32 (N, D) tensor");
  HCMSN_CHECK(gallery.size(0) >= 1, "FAISS search: the gallery is empty; add photos first");
  return gallery;
}

// Adds every gallery row, transformed, in chunks.
void add_gallery(faiss::Index& index, const PoincareL2Transform& transform,
                 const torch::Tensor& gallery) {
  for (int64_t begin = 0; begin < gallery.size(0); begin += kAddChunkRows) {
    const auto rows = gallery.narrow(0, begin, std::min(kAddChunkRows, gallery.size(0) - begin));
    const auto vectors = transform.gallery_vectors(rows);
    index.add(vectors.size(0), vectors.data_ptr<float>());
  }
}

std::unique_ptr<faiss::Index> build_hnsw(const FaissSearchOptions& o,
                                         const PoincareL2Transform& transform,
                                         const torch::Tensor& gallery) {
  auto index =
      std::make_unique<faiss::IndexHNSWFlat>(static_cast<int>(transform.output_dim()), o.hnsw_m);
  index->hnsw.efConstruction = o.ef_construction;
  index->hnsw.efSearch = o.ef_search;
  add_gallery(*index, transform, gallery);
  return index;
}

std::unique_ptr<faiss::Index> build_ivf(const FaissSearchOptions& o,
                                        const PoincareL2Transform& transform,
                                        const torch::Tensor& gallery) {
  const int64_t dim = transform.output_dim();
  auto quantizer = std::make_unique<faiss::IndexFlatL2>(dim);
  auto index = std::make_unique<faiss::IndexIVFFlat>(quantizer.get(), dim, o.nlist);
  index->own_fields = true;  // the IVF index deletes its quantizer
  quantizer.release();
  index->cp.niter = o.kmeans_iterations;
  // Our sample is the training set: FAISS should neither subsample it nor warn about its size.
  index->cp.min_points_per_centroid = 1;
  index->cp.max_points_per_centroid =
      static_cast<int>(std::min<int64_t>(std::max<int64_t>(o.train_points_per_list, 256), 1 << 30));
  // An evenly strided sample: deterministic, and it spans a gallery stored class by class.
  const int64_t n = gallery.size(0);
  const int64_t n_train = std::min(n, o.nlist * o.train_points_per_list);
  const auto rows = torch::arange(n_train, torch::kLong).mul_(n).div_(n_train, "floor");
  const auto train = transform.gallery_vectors(gallery.index_select(0, rows));
  index->train(n_train, train.data_ptr<float>());
  index->nprobe = static_cast<size_t>(o.nprobe);
  add_gallery(*index, transform, gallery);
  return index;
}

}  // namespace

FaissSearcher::FaissSearcher(torch::Tensor gallery, double curvature, FaissSearchOptions options)
    : gallery_(std::move(gallery)),
      curvature_(curvature),
      options_(std::move(options)),
      transform_(checked_gallery(gallery_), curvature) {  // checks finiteness and c
  options_ = resolved(options_, gallery_.size(0));
  const OmpThreads threads(options_.threads);
  try {
    index_ = options_.kind == "hnsw" ? build_hnsw(options_, transform_, gallery_)
                                     : build_ivf(options_, transform_, gallery_);
  } catch (const faiss::FaissException& e) {
    throw Error(std::string("FAISS could not build the index: ") + e.what());
  }
}

FaissSearcher::~FaissSearcher() = default;

void FaissSearcher::set_ef_search(int ef_search) {
  HCMSN_CHECK(ef_search >= 1, "HNSW ef_search must be >= 1, got ", ef_search);
  options_.ef_search = ef_search;
  if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(index_.get())) hnsw->hnsw.efSearch = ef_search;
}

void FaissSearcher::set_nprobe(int64_t nprobe) {
  HCMSN_CHECK(nprobe >= 1, "IVF nprobe must be >= 1, got ", nprobe);
  options_.nprobe = options_.kind == "ivf" ? std::min(nprobe, options_.nlist) : nprobe;
}

std::string FaissSearcher::name() const {
  return "faiss-" + options_.kind;
}

int64_t FaissSearcher::memory_bytes() const {
  if (const auto* hnsw = dynamic_cast<const faiss::IndexHNSWFlat*>(index_.get())) {
    const auto& graph = hnsw->hnsw;
    const auto* storage = dynamic_cast<const faiss::IndexFlatCodes*>(hnsw->storage);
    HCMSN_ASSERT(storage != nullptr, "IndexHNSWFlat without flat storage");
    return static_cast<int64_t>(storage->codes.size() +
                                graph.neighbors.size() * sizeof(graph.neighbors[0]) +
                                graph.offsets.size() * sizeof(graph.offsets[0]) +
                                graph.levels.size() * sizeof(graph.levels[0]));
  }
  const auto* ivf = dynamic_cast<const faiss::IndexIVFFlat*>(index_.get());
  HCMSN_ASSERT(ivf != nullptr, "FAISS index is neither HNSW nor IVF");
  const auto* centroids = dynamic_cast<const faiss::IndexFlatCodes*>(ivf->quantizer);
  HCMSN_ASSERT(centroids != nullptr, "IVF index without a flat quantizer");
  int64_t bytes = static_cast<int64_t>(centroids->codes.size());
  for (size_t list = 0; list < ivf->invlists->nlist; ++list) {
    bytes += static_cast<int64_t>(ivf->invlists->list_size(list) *
                                  (ivf->invlists->code_size + sizeof(faiss::Index::idx_t)));
  }
  return bytes;
}

Neighbors FaissSearcher::search(const torch::Tensor& queries, int64_t k) const {
  check_search_arguments(queries, transform_.input_dim(), k);
  const int64_t n = gallery_.size(0);
  const int64_t nq = queries.size(0);
  const int64_t k_out = std::min(k, n);
  if (nq == 0) return {torch::empty({0, k_out}, torch::kLong), torch::empty({0, k_out})};
  const int64_t wanted = std::min(n, options_.refine * k_out);
  const auto all_rows = [&](int64_t count) {
    return torch::arange(n, torch::kLong).unsqueeze(0).expand({count, n});
  };
  // Candidates cover the gallery anyway: exact search is cheaper than asking the index.
  if (wanted >= n) return rerank_exact(queries, gallery_, curvature_, all_rows(nq), k_out);

  const auto vectors = transform_.query_vectors(queries);
  auto labels = torch::full({nq, wanted}, -1, torch::kLong);
  const auto run = [&](const torch::Tensor& q, torch::Tensor& out, int64_t nprobe) {
    auto distances = torch::empty({q.size(0), wanted}, torch::kFloat32);
    const OmpThreads threads(options_.threads);
    if (options_.kind == "hnsw") {
      // ef_search lives in the index: FAISS 1.7.3 ignores SearchParametersHNSW::efSearch
      // (measured: the same recall with 128 and 1000); HNSW widens ef to k by itself.
      index_->search(q.size(0), q.data_ptr<float>(), wanted, distances.data_ptr<float>(),
                     out.data_ptr<int64_t>());
    } else {
      faiss::SearchParametersIVF params;
      params.nprobe = static_cast<size_t>(nprobe);
      index_->search(q.size(0), q.data_ptr<float>(), wanted, distances.data_ptr<float>(),
                     out.data_ptr<int64_t>(), &params);
    }
  };
  run(vectors, labels, options_.nprobe);

  // Queries short of k_out candidates (their IVF lists hold too few rows): probe more lists.
  auto short_rows = ((labels >= 0).sum(1) < k_out).nonzero().squeeze(1);
  for (int64_t nprobe = options_.nprobe;
       short_rows.numel() > 0 && options_.kind == "ivf" && nprobe < options_.nlist;) {
    nprobe = std::min(options_.nlist, nprobe * 4);
    auto retry = torch::full({short_rows.numel(), wanted}, -1, torch::kLong);
    run(vectors.index_select(0, short_rows).contiguous(), retry, nprobe);
    labels.index_copy_(0, short_rows, retry);
    short_rows = ((labels >= 0).sum(1) < k_out).nonzero().squeeze(1);
  }
  auto result = rerank_exact(queries, gallery_, curvature_, labels, k_out);
  // Still short (an HNSW graph that does not reach enough rows): those queries go exact.
  if (short_rows.numel() > 0) {
    const auto exact = rerank_exact(queries.index_select(0, short_rows), gallery_, curvature_,
                                    all_rows(short_rows.numel()), k_out);
    result.ids.index_copy_(0, short_rows, exact.ids);
    result.distances.index_copy_(0, short_rows, exact.distances);
  }
  return result;
}

}  // namespace hcmsn::index
