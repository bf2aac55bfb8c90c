// Gallery search on the Poincaré ball: exact search (index/exact_search.h) against the FAISS
// backends (index/faiss_search.h), side by side in one run.
//
// Data: `--classes` class centres (default 250, TU-Berlin's class count) drawn in the tangent space
// at 0 (N(0, σ_c²/D) per coordinate, ‖centre‖ ≈ 2), points = centre + noise (‖noise‖ ≈ 1), clipped
// at the model's default radius r = 2.3 and mapped by exp0 onto the ball of curvature c = 1, as
// HCMSN embeds photos; queries are drawn the same way (fresh points, not gallery rows). The
// dimension defaults to the model's (HCMSNModelOptions: hyp_dim = dim = 512).
//
// Per gallery size and backend: build seconds, the backend's memory_bytes() and the process RSS
// growth over the build, recall@k of the approximate backends against exact search (mean over
// the queries), single-query latency p50/p99 (queries one at a time) and throughput with
// batches of --batch queries.
//
//   build/bench/bench_search [--sizes 100000,1000000] [--dim 512] [--queries 256] [--k 100]
//       [--batch 64] [--threads 2] [--classes 250] [--kinds auto] [--nprobe 0,...]
//       [--ef-search 0,...] [--json OUT]
// --kinds: comma list of hnsw, ivf, or auto (IVF, and HNSW too up to kHnswMaxRows rows).
// --nprobe / --ef-search: search settings swept on one build
// (0: the searcher's default). Prints a markdown table; --json writes the rows.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/index/exact_search.h"
#include "hcmsn/index/faiss_search.h"
#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/util/allocator.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/threads.h"

namespace {

using hcmsn::index::ExactSearcher;
using hcmsn::index::FaissSearcher;
using hcmsn::index::FaissSearchOptions;
using hcmsn::index::Neighbors;
using hcmsn::index::Searcher;
using Clock = std::chrono::steady_clock;

constexpr double kCurvature = 1.0;
constexpr double kCentreNorm = 2.0;
constexpr double kNoiseNorm = 1.0;
constexpr int64_t kChunkRows = 65536;
// "auto" benchmarks HNSW too up to this size (its build time grows too long beyond, 2 cores).
constexpr int64_t kHnswMaxRows = 200000;
constexpr const char* kUsage =
    "flags: --sizes N,N --dim D --queries Q --k K --batch B --threads T --classes C "
    "--kinds auto|hnsw|ivf[,..] --nprobe P[,..] --ef-search E[,..] --json OUT";

std::vector<int64_t> parse_list(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoll(item));
  HCMSN_CHECK(!out.empty(), "empty list \"", text, "\"; ", kUsage);
  return out;
}

std::vector<std::string> parse_words(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

struct Args {
  std::vector<int64_t> sizes = {100000, 1000000};
  int64_t dim = hcmsn::model::HCMSNModelOptions(1).dim();  // hyp_dim 0 means dim
  int64_t queries = 256;
  int64_t k = 100;
  int64_t batch = 64;
  int threads = 2;
  int64_t classes = 250;
  std::vector<std::string> kinds = {"auto"};
  std::vector<int64_t> nprobe = {0};
  std::vector<int64_t> ef_search = {0};
  std::string json;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    HCMSN_CHECK(i + 1 < argc, flag, " needs a value; ", kUsage);
    const std::string value = argv[++i];
    if (flag == "--sizes")
      a.sizes = parse_list(value);
    else if (flag == "--dim")
      a.dim = std::stoll(value);
    else if (flag == "--queries")
      a.queries = std::stoll(value);
    else if (flag == "--k")
      a.k = std::stoll(value);
    else if (flag == "--batch")
      a.batch = std::stoll(value);
    else if (flag == "--threads")
      a.threads = std::stoi(value);
    else if (flag == "--classes")
      a.classes = std::stoll(value);
    else if (flag == "--kinds")
      a.kinds = parse_words(value);
    else if (flag == "--nprobe")
      a.nprobe = parse_list(value);
    else if (flag == "--ef-search")
      a.ef_search = parse_list(value);
    else if (flag == "--json")
      a.json = value;
    else
      throw hcmsn::Error("unknown flag " + flag + "; " + kUsage);
  }
  HCMSN_CHECK(a.dim >= 1 && a.queries >= 1 && a.k >= 1 && a.batch >= 1 && a.classes >= 1,
              "--dim, --queries, --k, --batch and --classes must be >= 1");
  return a;
}

// Resident set size of this process (VmRSS), bytes.
int64_t rss_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// n points of the class centres' clusters on the ball (see the header), float32 (n, D).
torch::Tensor clustered_points(const torch::Tensor& centres, int64_t n, double clip_r,
                               uint64_t seed) {
  const int64_t dim = centres.size(1);
  auto out = torch::empty({n, dim}, torch::kFloat32);
  for (int64_t begin = 0; begin < n; begin += kChunkRows) {
    const int64_t rows = std::min(kChunkRows, n - begin);
    torch::manual_seed(seed * 1000003 + static_cast<uint64_t>(begin));
    const auto label = torch::randint(centres.size(0), {rows}, torch::kLong);
    const auto noise = torch::randn({rows, dim}) * (kNoiseNorm / std::sqrt(double(dim)));
    const auto u = hcmsn::geometry::clip_features(centres.index_select(0, label) + noise, clip_r);
    out.narrow(0, begin, rows).copy_(hcmsn::geometry::expmap0(u, kCurvature));
  }
  return out;
}

struct Row {
  int64_t size = 0;
  std::string backend;
  std::string settings;
  double build_s = 0;
  int64_t memory_bytes = 0;
  int64_t rss_delta = 0;
  double recall = 1;
  double p50_ms = 0;
  double p99_ms = 0;
  double qps = 0;
};

struct Timing {
  Neighbors batched;  // all queries' results, from the batched run
  double p50_ms, p99_ms, qps;
};

Timing time_search(const Searcher& searcher, const torch::Tensor& queries, const Args& a) {
  const int64_t q = queries.size(0);
  std::vector<double> latency;
  for (int64_t i = 0; i < q; ++i) {
    const auto one = queries.narrow(0, i, 1);
    const auto start = Clock::now();
    searcher.search(one, a.k);
    latency.push_back(seconds_since(start) * 1e3);
  }
  std::sort(latency.begin(), latency.end());
  // Nearest-rank percentiles.
  const auto pct = [&](double p) {
    const auto rank = static_cast<size_t>(std::ceil(p / 100 * double(latency.size())));
    return latency[std::clamp<size_t>(rank, 1, latency.size()) - 1];
  };
  std::vector<torch::Tensor> ids, distances;
  const auto start = Clock::now();
  for (int64_t b = 0; b < q; b += a.batch) {
    auto r = searcher.search(queries.narrow(0, b, std::min(a.batch, q - b)), a.k);
    ids.push_back(r.ids);
    distances.push_back(r.distances);
  }
  const double qps = double(q) / seconds_since(start);
  return {{torch::cat(ids), torch::cat(distances)}, pct(50), pct(99), qps};
}

// Mean over queries of |approx ∩ exact| / k.
double recall_at_k(const torch::Tensor& approx, const torch::Tensor& exact) {
  const auto a = approx.contiguous();
  const auto e = exact.contiguous();
  double sum = 0;
  for (int64_t i = 0; i < a.size(0); ++i) {
    std::vector<int64_t> x(a[i].data_ptr<int64_t>(), a[i].data_ptr<int64_t>() + a.size(1));
    std::vector<int64_t> y(e[i].data_ptr<int64_t>(), e[i].data_ptr<int64_t>() + e.size(1));
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    std::vector<int64_t> common;
    std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(common));
    sum += double(common.size()) / double(e.size(1));
  }
  return sum / double(a.size(0));
}

std::vector<std::string> kinds_for(const Args& a, int64_t size) {
  std::vector<std::string> out;
  for (const auto& k : a.kinds) {
    if (k == "auto") {
      if (size <= kHnswMaxRows) out.push_back("hnsw");
      out.push_back("ivf");
    } else {
      out.push_back(k);
    }
  }
  return out;
}

void print_table(const std::vector<Row>& rows, const Args& a) {
  fmt::print(
      "\n| N | backend | settings | build s | memory MB | RSS Δ MB | recall@{} | p50 ms | "
      "p99 ms | QPS (batch {}) | p50 speed-up | QPS speed-up |\n",
      a.k, a.batch);
  fmt::print("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  const Row* exact = nullptr;
  for (const auto& r : rows) {
    if (r.backend == "exact") exact = &r;
    fmt::print(
        "| {} | {} | {} | {:.1f} | {:.0f} | {:.0f} | {:.4f} | {:.2f} | {:.2f} | {:.0f} | "
        "{:.1f}× | {:.1f}× |\n",
        r.size, r.backend, r.settings, r.build_s, r.memory_bytes / 1e6, r.rss_delta / 1e6, r.recall,
        r.p50_ms, r.p99_ms, r.qps, exact->p50_ms / r.p50_ms, r.qps / exact->qps);
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) try {
  hcmsn::util::ensure_passive_openmp_wait(argv);
  // As the CLI does: large batches reuse freed memory instead of faulting in fresh pages. The
  // RSS growth of a build then includes the build's freed temporaries.
  hcmsn::util::keep_freed_memory();
  const Args a = parse_args(argc, argv);
  const int threads = hcmsn::util::set_num_threads(a.threads);
  const double clip_r = hcmsn::model::HCMSNModelOptions(1).clip_r();
  fmt::print("bench_search: D = {}, c = {}, {} classes, {} queries, k = {}, batch {}, {} threads\n",
             a.dim, kCurvature, a.classes, a.queries, a.k, a.batch, threads);
  torch::manual_seed(1);
  const auto centres = torch::randn({a.classes, a.dim}) * (kCentreNorm / std::sqrt(double(a.dim)));
  const auto queries = clustered_points(centres, a.queries, clip_r, 2);

  std::vector<Row> rows;
  for (const int64_t size : a.sizes) {
    auto start = Clock::now();
    const auto gallery = clustered_points(centres, size, clip_r, 3);
    fmt::print("N = {}: data {:.1f} s\n", size, seconds_since(start));

    Row exact_row;
    exact_row.size = size;
    exact_row.backend = "exact";
    exact_row.settings = "-";
    int64_t rss = rss_bytes();
    start = Clock::now();
    auto exact = std::make_unique<ExactSearcher>(gallery, kCurvature);
    exact_row.build_s = seconds_since(start);
    exact_row.rss_delta = rss_bytes() - rss;
    exact_row.memory_bytes = exact->memory_bytes();
    const auto truth = time_search(*exact, queries, a);
    exact_row.p50_ms = truth.p50_ms;
    exact_row.p99_ms = truth.p99_ms;
    exact_row.qps = truth.qps;
    rows.push_back(exact_row);
    exact.reset();
    fmt::print("  exact: p50 {:.2f} ms, {:.1f} queries/s\n", truth.p50_ms, truth.qps);

    for (const auto& kind : kinds_for(a, size)) {
      FaissSearchOptions options;
      options.kind = kind;
      options.threads = threads;
      rss = rss_bytes();
      start = Clock::now();
      FaissSearcher searcher(gallery, kCurvature, options);
      const double build_s = seconds_since(start);
      const int64_t rss_delta = rss_bytes() - rss;
      const auto& o = searcher.options();
      fmt::print("  {}: built in {:.1f} s\n", searcher.name(), build_s);
      for (const int64_t setting : kind == "ivf" ? a.nprobe : a.ef_search) {
        if (kind == "ivf" && setting > 0) searcher.set_nprobe(setting);
        if (kind == "hnsw" && setting > 0) searcher.set_ef_search(static_cast<int>(setting));
        Row r;
        r.size = size;
        r.backend = searcher.name();
        r.settings = kind == "ivf" ? fmt::format("nlist {}, nprobe {}, refine {}", o.nlist,
                                                 o.nprobe, o.refine)
                                   : fmt::format("M {}, efC {}, efS {}, refine {}", o.hnsw_m,
                                                 o.ef_construction, o.ef_search, o.refine);
        r.build_s = build_s;
        r.memory_bytes = searcher.memory_bytes();
        r.rss_delta = rss_delta;
        const auto t = time_search(searcher, queries, a);
        r.recall = recall_at_k(t.batched.ids, truth.batched.ids);
        r.p50_ms = t.p50_ms;
        r.p99_ms = t.p99_ms;
        r.qps = t.qps;
        fmt::print("  {} ({}): recall@{} {:.4f}, p50 {:.2f} ms, {:.1f} queries/s\n", r.backend,
                   r.settings, a.k, r.recall, r.p50_ms, r.qps);
        rows.push_back(r);
      }
    }
    print_table(rows, a);
  }
  if (!a.json.empty()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
      out.push_back({{"size", r.size},
                     {"dim", a.dim},
                     {"backend", r.backend},
                     {"settings", r.settings},
                     {"build_seconds", r.build_s},
                     {"memory_bytes", r.memory_bytes},
                     {"rss_delta_bytes", r.rss_delta},
                     {"recall_at_k", r.recall},
                     {"k", a.k},
                     {"p50_ms", r.p50_ms},
                     {"p99_ms", r.p99_ms},
                     {"queries_per_second", r.qps},
                     {"batch", a.batch},
                     {"threads", threads},
                     {"queries", a.queries}});
    }
    std::ofstream(a.json) << out.dump(2) << "\n";
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "bench_search: " << e.what() << "\n";
  return 1;
}
