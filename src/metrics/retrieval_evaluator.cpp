#include "hcmsn/metrics/retrieval_evaluator.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <set>

#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/metrics/average_precision.h"
#include "hcmsn/metrics/ranking.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/progress.h"

namespace hcmsn::metrics {
namespace {

// How a block's ranking keys are formed (lower = better). For query row i and gallery item j,
//   key_ij = max(row_offset_i + col_bias_j + scale · raw_ij, floor) · col_weight_j,
// where raw is the (rows, N) block for queries [begin, end) from `raw(begin, end, buffer)`: a
// matrix product written into `buffer` (allocated once, so blocks do not page-fault fresh
// memory) or a view of given scores. The affine part runs inside the ranking's first pass
// instead of as separate tensor passes.
struct KeySpec {
  std::function<torch::Tensor(int64_t begin, int64_t end, torch::Tensor& buffer)> raw;
  torch::Tensor row_offset;  // (Q) or undefined (0)
  torch::Tensor col_bias;    // (N) or undefined (0)
  torch::Tensor col_weight;  // (N) or undefined (1)
  double scale = 1.0;
  double floor = -std::numeric_limits<double>::infinity();
};

void check_labels(const Labels& labels, int64_t num_queries, int64_t num_gallery) {
  HCMSN_CHECK(static_cast<int64_t>(labels.query.size()) == num_queries, "got ", labels.query.size(),
              " query labels for ", num_queries, " query rows; give one label per row");
  HCMSN_CHECK(static_cast<int64_t>(labels.gallery.size()) == num_gallery, "got ",
              labels.gallery.size(), " gallery labels for ", num_gallery,
              " gallery rows; give one label per row");
  HCMSN_CHECK(num_queries > 0, "no queries to evaluate");
  HCMSN_CHECK(num_gallery > 0, "the gallery is empty; nothing to rank");
  HCMSN_CHECK(num_gallery <= int64_t{UINT32_MAX}, "galleries over 2^32 items are not supported");
}

void check_options(const EvaluationOptions& o) {
  o.sharding.check();
  HCMSN_CHECK(!o.ks.empty(), "give at least one K for Prec@K / mAP@K");
  for (int64_t k : o.ks) HCMSN_CHECK(k > 0, "K must be positive, got ", k);
  HCMSN_CHECK(o.memory_budget_bytes > 0, "the memory budget must be positive");
}

// Index of the first true entry of a 1-D mask, or -1.
int64_t first_true_row(const torch::Tensor& mask) {
  if (!mask.any().item<bool>()) return -1;
  return mask.nonzero().index({0, 0}).item<int64_t>();
}

void check_finite(const torch::Tensor& x, const char* what) {
  const int64_t row = first_true_row(~torch::isfinite(x).all(1));
  HCMSN_CHECK(row < 0, what, " row ", row, " contains NaN or Inf");
}

std::string class_name(const Labels& labels, int64_t id) {
  if (id >= 0 && id < static_cast<int64_t>(labels.class_names.size())) {
    return labels.class_names[static_cast<size_t>(id)];
  }
  return std::to_string(id);
}

// Rows per block such that the block of raw products fits the budget (keys are formed on the
// fly, so the block is the only large buffer).
int64_t block_rows(int64_t num_gallery, int64_t elem_size, int64_t budget) {
  const int64_t per_row = std::max<int64_t>(1, num_gallery * elem_size);
  return std::max<int64_t>(1, budget / per_row);
}

struct PerQuery {
  std::vector<double> ap;
  std::vector<std::vector<double>> prec, map;  // [k][query]
};

template <typename T>
void rank_block(const KeySpec& spec, const torch::Tensor& raw_block, int64_t begin, int64_t end,
                const Labels& labels, const std::map<int64_t, int64_t>& relevant_count,
                const EvaluationOptions& options, PerQuery& pq) {
  const int64_t n = static_cast<int64_t>(labels.gallery.size());
  const auto as_vector = [n](const torch::Tensor& t, double fill) {
    return t.defined() ? t.to(c10::CppTypeToScalarType<T>::value).contiguous()
                       : torch::full({n}, fill, c10::CppTypeToScalarType<T>::value);
  };
  const torch::Tensor bias = as_vector(spec.col_bias, 0.0);
  const torch::Tensor weight = as_vector(spec.col_weight, 1.0);
  const torch::Tensor offsets = spec.row_offset.defined()
                                    ? spec.row_offset.to(torch::kFloat64).contiguous()
                                    : torch::Tensor();
  const T* raw = raw_block.data_ptr<T>();
  const T* b = bias.data_ptr<T>();
  const T* w = weight.data_ptr<T>();
  const T scale = static_cast<T>(spec.scale);
  const T lo = static_cast<T>(spec.floor);
  at::parallel_for(begin, end, 8, [&](int64_t qb, int64_t qe) {
    RankingScratch scratch;
    std::vector<double> ap_scratch;
    for (int64_t q = qb; q < qe; ++q) {
      const int64_t label = labels.query[static_cast<size_t>(q)];
      const auto it = relevant_count.find(label);
      const int64_t r = it == relevant_count.end() ? 0 : it->second;
      scratch.ranks.clear();
      if (r > 0) {
        const T off = offsets.defined() ? static_cast<T>(offsets.data_ptr<double>()[q]) : T(0);
        const T* row = raw + (q - begin) * n;
        const auto key = [=](int64_t j) {
          return std::max(off + b[j] + scale * row[j], lo) * w[j];
        };
        rank_relevant_keys<T>(key, n, labels.gallery.data(), label, r, scratch);
      }
      const QueryMetrics m = query_metrics(scratch.ranks.data(), r, n, options.ks, options.protocol,
                                           ap_scratch, scratch.tie_ends.data());
      pq.ap[static_cast<size_t>(q)] = m.ap_all;
      for (size_t j = 0; j < options.ks.size(); ++j) {
        pq.prec[j][static_cast<size_t>(q)] = m.prec_at[j];
        pq.map[j][static_cast<size_t>(q)] = m.map_at[j];
      }
    }
  });
}

RetrievalResult evaluate_blocks(const KeySpec& spec, torch::ScalarType dtype, int64_t num_queries,
                                const Labels& labels, const EvaluationOptions& options,
                                std::string metric_name, double curvature) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t num_gallery = static_cast<int64_t>(labels.gallery.size());
  const size_t nk = options.ks.size();

  // R per class.
  std::map<int64_t, int64_t> relevant_count;
  for (int64_t g : labels.gallery) ++relevant_count[g];
  std::set<int64_t> empty_classes;
  for (int64_t q : labels.query) {
    if (relevant_count.find(q) == relevant_count.end()) empty_classes.insert(q);
  }
  const EmptyQueryPolicy empty_policy = resolve(options.empty_queries, options.protocol);
  if (!empty_classes.empty() && empty_policy == EmptyQueryPolicy::kError) {
    std::string names;
    for (int64_t c : empty_classes) names += (names.empty() ? "" : ", ") + class_name(labels, c);
    HCMSN_CHECK(false, "query classes with no item in the gallery: ", names,
                " (use --empty-queries zero|skip to count them as 0 or to skip them)");
  }

  PerQuery pq;
  pq.ap.assign(static_cast<size_t>(num_queries), 0.0);
  pq.prec.assign(nk, std::vector<double>(static_cast<size_t>(num_queries), 0.0));
  pq.map.assign(nk, std::vector<double>(static_cast<size_t>(num_queries), 0.0));

  const int64_t elem = dtype == torch::kFloat64 ? 8 : 4;
  const int64_t rows = block_rows(num_gallery, elem, options.memory_budget_bytes);
  // This shard's queries (all of them unsharded).
  const int64_t first = options.sharding.first_of(num_queries);
  const int64_t last = options.sharding.last_of(num_queries);
  util::Progress progress(last - first, {"ranking", "queries", options.progress});
  torch::Tensor buffer =
      torch::empty({std::max<int64_t>(1, std::min(rows, last - first)), num_gallery},
                   torch::TensorOptions().dtype(dtype));
  for (int64_t begin = first; begin < last; begin += rows) {
    const int64_t end = std::min(last, begin + rows);
    const torch::Tensor raw = spec.raw(begin, end, buffer).contiguous();
    HCMSN_ASSERT(
        raw.size(0) == end - begin && raw.size(1) == num_gallery && raw.scalar_type() == dtype,
        "raw block has the wrong shape or dtype");
    if (dtype == torch::kFloat64) {
      rank_block<double>(spec, raw, begin, end, labels, relevant_count, options, pq);
    } else {
      rank_block<float>(spec, raw, begin, end, labels, relevant_count, options, pq);
    }
    progress.advance(end - begin);
  }
  progress.finish();
  if (options.sharding.active()) {
    // Every query's figures from every shard: one vector, summed across the shards.
    const auto q = static_cast<size_t>(num_queries);
    std::vector<double> packed(q * (1 + 2 * nk), 0.0);
    std::copy(pq.ap.begin(), pq.ap.end(), packed.begin());
    for (size_t j = 0; j < nk; ++j) {
      std::copy(pq.prec[j].begin(), pq.prec[j].end(), packed.begin() + q * (1 + 2 * j));
      std::copy(pq.map[j].begin(), pq.map[j].end(), packed.begin() + q * (2 + 2 * j));
    }
    auto tensor =
        torch::from_blob(packed.data(), {static_cast<int64_t>(packed.size())}, torch::kFloat64);
    options.sharding.sum(tensor);
    std::copy(packed.begin(), packed.begin() + q, pq.ap.begin());
    for (size_t j = 0; j < nk; ++j) {
      std::copy(packed.begin() + q * (1 + 2 * j), packed.begin() + q * (2 + 2 * j),
                pq.prec[j].begin());
      std::copy(packed.begin() + q * (2 + 2 * j), packed.begin() + q * (3 + 2 * j),
                pq.map[j].begin());
    }
  }

  // Aggregation.
  RetrievalResult res;
  res.ks = options.ks;
  res.num_queries = num_queries;
  res.num_gallery = num_gallery;
  res.protocol = options.protocol;
  res.empty_queries = empty_policy;
  res.metric = std::move(metric_name);
  res.curvature = curvature;
  res.per_query_ap = pq.ap;

  struct Acc {
    int64_t n = 0;     // queries of the class
    int64_t used = 0;  // queries counted in averages
    double ap = 0;
    std::vector<double> prec, map;
  };
  std::map<int64_t, Acc> per_class;
  const bool skip_empty = empty_policy == EmptyQueryPolicy::kSkip;
  for (int64_t q = 0; q < num_queries; ++q) {
    const int64_t label = labels.query[static_cast<size_t>(q)];
    Acc& a = per_class[label];
    if (a.prec.empty()) {
      a.prec.assign(nk, 0.0);
      a.map.assign(nk, 0.0);
    }
    ++a.n;
    const bool empty = empty_classes.count(label) > 0;
    if (empty) ++res.num_queries_without_relevant;
    if (empty && skip_empty) continue;
    ++a.used;
    a.ap += pq.ap[static_cast<size_t>(q)];
    for (size_t j = 0; j < nk; ++j) {
      a.prec[j] += pq.prec[j][static_cast<size_t>(q)];
      a.map[j] += pq.map[j][static_cast<size_t>(q)];
    }
  }

  res.prec_at.assign(nk, 0.0);
  res.map_at.assign(nk, 0.0);
  int64_t total_used = 0;
  int64_t classes_used = 0;
  for (auto& [id, a] : per_class) {
    ClassResult c;
    c.name = class_name(labels, id);
    c.num_queries = a.n;
    const auto it = relevant_count.find(id);
    c.num_relevant = it == relevant_count.end() ? 0 : it->second;
    c.prec_at.assign(nk, 0.0);
    c.map_at.assign(nk, 0.0);
    if (a.used > 0) {
      const double inv = 1.0 / static_cast<double>(a.used);
      c.map_all = a.ap * inv;
      for (size_t j = 0; j < nk; ++j) {
        c.prec_at[j] = a.prec[j] * inv;
        c.map_at[j] = a.map[j] * inv;
      }
      total_used += a.used;
      ++classes_used;
      if (options.protocol.averaging == Averaging::kClass) {
        res.map_all += c.map_all;
        for (size_t j = 0; j < nk; ++j) {
          res.prec_at[j] += c.prec_at[j];
          res.map_at[j] += c.map_at[j];
        }
      } else {
        res.map_all += a.ap;
        for (size_t j = 0; j < nk; ++j) {
          res.prec_at[j] += a.prec[j];
          res.map_at[j] += a.map[j];
        }
      }
    }
    res.per_class.push_back(std::move(c));
  }
  const int64_t denom = options.protocol.averaging == Averaging::kClass ? classes_used : total_used;
  if (denom > 0) {
    const double inv = 1.0 / static_cast<double>(denom);
    res.map_all *= inv;
    for (size_t j = 0; j < nk; ++j) {
      res.prec_at[j] *= inv;
      res.map_at[j] *= inv;
    }
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return res;
}

}  // namespace

std::string to_string(Metric m) {
  switch (m) {
    case Metric::kPoincare:
      return "poincare";
    case Metric::kEuclidean:
      return "euclidean";
    case Metric::kCosine:
      return "cosine";
  }
  return "?";
}

Metric parse_metric(const std::string& name) {
  if (name == "poincare") return Metric::kPoincare;
  if (name == "euclidean") return Metric::kEuclidean;
  if (name == "cosine") return Metric::kCosine;
  HCMSN_CHECK(false, "unknown metric '", name, "': use poincare, euclidean or cosine");
  return Metric::kPoincare;
}

Labels encode_labels(const std::vector<std::string>& query,
                     const std::vector<std::string>& gallery) {
  std::set<std::string> names(query.begin(), query.end());
  names.insert(gallery.begin(), gallery.end());
  Labels out;
  out.class_names.assign(names.begin(), names.end());
  std::map<std::string, int64_t> id;
  for (size_t i = 0; i < out.class_names.size(); ++i)
    id[out.class_names[i]] = static_cast<int64_t>(i);
  out.query.reserve(query.size());
  for (const auto& q : query) out.query.push_back(id[q]);
  out.gallery.reserve(gallery.size());
  for (const auto& g : gallery) out.gallery.push_back(id[g]);
  return out;
}

RetrievalResult evaluate_embeddings(const torch::Tensor& queries_in,
                                    const torch::Tensor& gallery_in, const Labels& labels,
                                    const DistanceOptions& distance,
                                    const EvaluationOptions& options) {
  check_options(options);
  HCMSN_CHECK(queries_in.defined() && gallery_in.defined(), "queries and gallery are required");
  HCMSN_CHECK(queries_in.dim() == 2 && gallery_in.dim() == 2,
              "queries and gallery must be 2-D (rows, dim); got ", queries_in.sizes(), " and ",
              gallery_in.sizes());
  HCMSN_CHECK(queries_in.size(1) == gallery_in.size(1), "queries have dimension ",
              queries_in.size(1), " but the gallery has ", gallery_in.size(1),
              "; both must come from the same model");
  for (const auto* t : {&queries_in, &gallery_in}) {
    HCMSN_CHECK(t->scalar_type() == torch::kFloat32 || t->scalar_type() == torch::kFloat64,
                "embeddings must be float32 or float64, got ", t->scalar_type());
  }
  check_labels(labels, queries_in.size(0), gallery_in.size(0));
  const auto dtype =
      (queries_in.scalar_type() == torch::kFloat64 || gallery_in.scalar_type() == torch::kFloat64)
          ? torch::kFloat64
          : torch::kFloat32;
  torch::NoGradGuard no_grad;
  torch::Tensor queries = queries_in.detach().to(dtype).contiguous();
  torch::Tensor gallery = gallery_in.detach().to(dtype).contiguous();
  check_finite(queries, "query");
  check_finite(gallery, "gallery");

  const double c = distance.curvature;
  HCMSN_CHECK(std::isfinite(c) && c >= 0, "curvature must be finite and >= 0 (the ball has ",
              "curvature -c), got ", c);
  KeySpec spec;
  // Filled once the metric's preprocessing (projection, normalisation) is done.
  torch::Tensor queries_on_device, gallery_on_device;
  const auto product = [&](int64_t b, int64_t e, torch::Tensor& buffer) {
    auto out = buffer.slice(0, 0, e - b);
    if (options.device.is_cpu()) return torch::mm_out(out, queries.slice(0, b, e), gallery.t());
    if (!gallery_on_device.defined()) {
      queries_on_device = queries.to(options.device);
      gallery_on_device = gallery.to(options.device);
    }
    return out.copy_(torch::mm(queries_on_device.slice(0, b, e), gallery_on_device.t()));
  };
  switch (distance.metric) {
    case Metric::kPoincare: {
      if (c > 0) {
        for (const auto& [t, what] :
             {std::pair{&queries, "query"}, std::pair{&gallery, "gallery"}}) {
          const auto cx2 = t->to(torch::kFloat64).pow(2).sum(1) * c;
          const int64_t row = first_true_row(cx2 >= 1.0);
          HCMSN_CHECK(row < 0, what, " row ", row, " lies outside the Poincare ball of curvature -",
                      c, " (sqrt(c)*|x| = ", row < 0 ? 0.0 : std::sqrt(cx2[row].item<double>()),
                      " >= 1); pass the ball's curvature with --curvature, or use ",
                      "--metric euclidean for tangent-space vectors");
          // Same boundary handling as geometry::distance_matrix.
          *t = geometry::project(*t, c);
        }
      }
      // geometry::ranking_key_matrix, fused: ‖x − y‖² / (1 − c‖y‖²), clamped at 0.
      const auto y2 = gallery.to(torch::kFloat64).pow(2).sum(1);
      spec.raw = product;
      spec.row_offset = queries.to(torch::kFloat64).pow(2).sum(1);
      spec.col_bias = y2;
      spec.col_weight = 1.0 / (1.0 - c * y2);
      spec.scale = -2.0;
      spec.floor = 0.0;
      break;
    }
    case Metric::kEuclidean: {
      // ‖y‖² − 2⟨x, y⟩: ‖x − y‖² without the per-row constant ‖x‖².
      spec.raw = product;
      spec.col_bias = gallery.to(torch::kFloat64).pow(2).sum(1);
      spec.scale = -2.0;
      break;
    }
    case Metric::kCosine: {
      for (const auto& [t, what] : {std::pair{&queries, "query"}, std::pair{&gallery, "gallery"}}) {
        const int64_t row = first_true_row(t->pow(2).sum(1) == 0);
        HCMSN_CHECK(row < 0, what, " row ", row,
                    " is the zero vector; cosine distance is undefined");
        *t = torch::nn::functional::normalize(*t,
                                              torch::nn::functional::NormalizeFuncOptions().dim(1));
      }
      spec.raw = product;
      spec.scale = -1.0;
      break;
    }
  }
  const double reported_c = distance.metric == Metric::kPoincare ? c : 0.0;
  return evaluate_blocks(spec, dtype, queries.size(0), labels, options, to_string(distance.metric),
                         reported_c);
}

RetrievalResult evaluate_scores(const torch::Tensor& scores_in, const Labels& labels,
                                bool higher_is_better, const EvaluationOptions& options) {
  check_options(options);
  HCMSN_CHECK(scores_in.defined() && scores_in.dim() == 2,
              "the score matrix must be 2-D (queries, gallery)");
  HCMSN_CHECK(
      scores_in.scalar_type() == torch::kFloat32 || scores_in.scalar_type() == torch::kFloat64,
      "scores must be float32 or float64, got ", scores_in.scalar_type());
  check_labels(labels, scores_in.size(0), scores_in.size(1));
  torch::NoGradGuard no_grad;
  const torch::Tensor scores = scores_in.detach().contiguous();
  check_finite(scores, "score");
  KeySpec spec;
  spec.raw = [&scores](int64_t b, int64_t e, torch::Tensor&) { return scores.slice(0, b, e); };
  spec.scale = higher_is_better ? -1.0 : 1.0;
  return evaluate_blocks(spec, scores.scalar_type(), scores.size(0), labels, options, "scores",
                         0.0);
}

}  // namespace hcmsn::metrics
