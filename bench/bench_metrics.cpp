// Evaluation cost at Sketchy split-1 test size (15,229 queries × 17,101 gallery, d = 512,
// Poincaré c = 0.01, 25 classes), next to its floor: one matrix product of the same size.
// Sizes can be changed with HCMSN_BENCH_QUERIES / _GALLERY / _DIM for quick runs.
//
//   build/bench/bench_metrics --benchmark_counters_tabular=true
// bench/compare_metrics.py runs this together with the CLI and scikit-learn.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include "hcmsn/data/synthetic_embeddings.h"
#include "hcmsn/metrics/retrieval_evaluator.h"
#include "hcmsn/util/threads.h"

namespace {

int64_t env_or(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoll(v) : fallback;
}

const hcmsn::data::SyntheticEmbeddings& sketchy_sized() {
  static const auto data = [] {
    hcmsn::util::set_num_threads(0);
    hcmsn::data::SyntheticEmbeddingOptions o;
    o.num_queries = env_or("HCMSN_BENCH_QUERIES", o.num_queries);
    o.num_gallery = env_or("HCMSN_BENCH_GALLERY", o.num_gallery);
    o.dim = env_or("HCMSN_BENCH_DIM", o.dim);
    return hcmsn::data::make_synthetic_embeddings(o);
  }();
  return data;
}

void set_counters(benchmark::State& state, int64_t q, int64_t n) {
  state.counters["queries/s"] =
      benchmark::Counter(static_cast<double>(q), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["pairs/s"] = benchmark::Counter(static_cast<double>(q) * static_cast<double>(n),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void BM_MatmulFloor(benchmark::State& state) {
  const auto& d = sketchy_sized();
  for (auto _ : state) {
    auto s = d.queries.mm(d.gallery.t());
    benchmark::DoNotOptimize(s.data_ptr<float>());
  }
  set_counters(state, d.queries.size(0), d.gallery.size(0));
}
BENCHMARK(BM_MatmulFloor)->Unit(benchmark::kSecond)->Iterations(3)->UseRealTime();

void BM_EvaluatePoincare(benchmark::State& state) {
  const auto& d = sketchy_sized();
  const hcmsn::metrics::Labels labels{d.query_labels, d.gallery_labels, {}};
  for (auto _ : state) {
    const auto r = hcmsn::metrics::evaluate_embeddings(
        d.queries, d.gallery, labels, {hcmsn::metrics::Metric::kPoincare, 0.01}, {});
    benchmark::DoNotOptimize(r.map_all);
  }
  set_counters(state, d.queries.size(0), d.gallery.size(0));
}
BENCHMARK(BM_EvaluatePoincare)->Unit(benchmark::kSecond)->Iterations(3)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
