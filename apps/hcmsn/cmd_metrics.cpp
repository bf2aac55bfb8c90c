// hcmsn metrics: retrieval metrics from embeddings or a score matrix.
#include <memory>

#include "commands.h"
#include "device_flag.h"
#include "distributed_flags.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/io/output_guard.h"
#include "hcmsn/metrics/report.h"
#include "hcmsn/metrics/retrieval_evaluator.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/device.h"
#include "hcmsn/util/log.h"
#include "output_flags.h"

namespace hcmsn::cli {
namespace {

struct MetricsOptions {
  std::string queries, query_labels, gallery, gallery_labels;
  std::string scores;
  std::string scores_are = "similarities";
  std::string metric = "poincare";
  double curvature = 1.0;
  std::string protocol = "standard";
  std::vector<int64_t> ks = {100, 200};
  std::string device = "cpu";
  std::string json_out;
  std::string per_query_out;
  std::string empty_queries = "auto";
  int64_t memory_budget_mb = 512;
  bool per_class = false;
  bool quiet = false;
  bool force = false;
  DistributedFlags distributed;  // --nproc, --dist-timeout: queries split across processes
};

int run_metrics(MetricsOptions& o) {
  util::parse_device(o.device);  // before any work: a clear error without CUDA
  if (const auto code = launch_if_asked(o.distributed)) return *code;
  const auto group = join_if_launched(o.distributed, o.quiet, &o.device);
  const torch::Device device = util::parse_device(o.device);
  io::OutputGuard(o.force)
      .input("--queries", o.queries)
      .input("--query-labels", o.query_labels)
      .input("--gallery", o.gallery)
      .input("--gallery-labels", o.gallery_labels)
      .input("--scores", o.scores)
      .output_or_stdout("--json", o.json_out, io::OutputKind::json())
      .output("--per-query", o.per_query_out, io::OutputKind::npy())
      .check();
  metrics::EvaluationOptions eval;
  eval.ks = o.ks;
  eval.protocol = metrics::Protocol::parse(o.protocol);
  eval.empty_queries = metrics::parse_empty_query_policy(o.empty_queries);
  HCMSN_CHECK(o.memory_budget_mb > 0, "--memory-budget must be positive");
  eval.memory_budget_bytes = o.memory_budget_mb << 20;
  eval.progress = !o.quiet;
  eval.device = device;
  eval.sharding = distributed::sharding_of(group.get());

  const auto query_names = io::read_labels(o.query_labels);
  const auto gallery_names = io::read_labels(o.gallery_labels);
  const metrics::Labels labels = metrics::encode_labels(query_names, gallery_names);

  metrics::RetrievalResult result;
  if (!o.scores.empty()) {
    HCMSN_CHECK(o.queries.empty() && o.gallery.empty(),
                "give either --scores or --queries/--gallery, not both");
    const torch::Tensor scores = io::read_npy_matrix(o.scores);
    result = metrics::evaluate_scores(scores, labels, o.scores_are == "similarities", eval);
  } else {
    HCMSN_CHECK(!o.queries.empty() && !o.gallery.empty(),
                "give --queries and --gallery (embeddings), or --scores (a score matrix)");
    const torch::Tensor q = io::read_npy_matrix(o.queries);
    const torch::Tensor g = io::read_npy_matrix(o.gallery);
    HCMSN_CHECK(q.size(0) == static_cast<int64_t>(query_names.size()), o.queries, " has ",
                q.size(0), " rows but ", o.query_labels, " has ", query_names.size(), " labels");
    HCMSN_CHECK(g.size(0) == static_cast<int64_t>(gallery_names.size()), o.gallery, " has ",
                g.size(0), " rows but ", o.gallery_labels, " has ", gallery_names.size(),
                " labels");
    metrics::DistanceOptions dist;
    dist.metric = metrics::parse_metric(o.metric);
    dist.curvature = o.curvature;
    result = metrics::evaluate_embeddings(q, g, labels, dist, eval);
  }

  if (group && !group->is_main()) return 0;  // rank 0 reports the merged result
  if (result.num_queries_without_relevant > 0) {
    util::log_warn("{} queries belong to classes with no gallery item; counted per policy '{}'",
                   result.num_queries_without_relevant, metrics::to_string(result.empty_queries));
  }
  human_output(o.json_out) << metrics::format_table(result, o.per_class);
  write_json_output(o.json_out, metrics::to_json(result));
  if (!o.per_query_out.empty()) {
    io::write_npy(o.per_query_out, torch::tensor(result.per_query_ap, torch::kFloat64));
    util::log_info("wrote per-query AP to {}", o.per_query_out);
  }
  return 0;
}

}  // namespace

void add_metrics_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<MetricsOptions>();
  auto* cmd = app.add_subcommand(
      "metrics",
      "Retrieval metrics (mAP@all, Prec@K, mAP@K) of query embeddings against a gallery, or of a "
      "score matrix. Relevant = same label; ties broken by gallery index.");
  cmd->add_option("--queries", o->queries, "query embeddings, .npy float32/float64 (Q, d)");
  cmd->add_option("--query-labels", o->query_labels, "query labels, one per line")->required();
  cmd->add_option("--gallery", o->gallery, "gallery embeddings, .npy float32/float64 (N, d)");
  cmd->add_option("--gallery-labels", o->gallery_labels, "gallery labels, one per line")
      ->required();
  cmd->add_option("--scores", o->scores, "instead of embeddings: a (Q, N) score matrix .npy");
  cmd->add_option("--scores-are", o->scores_are, "whether --scores holds similarities or distances")
      ->check(CLI::IsMember({"similarities", "distances"}))
      ->capture_default_str();
  cmd->add_option("--metric", o->metric, "distance between embeddings")
      ->check(CLI::IsMember({"poincare", "euclidean", "cosine"}))
      ->capture_default_str();
  cmd->add_option("--curvature", o->curvature,
                  "c of the Poincare ball (curvature -c); 0 = Euclidean")
      ->capture_default_str();
  cmd->add_option("--protocol", o->protocol, metrics::kProtocolHelp)->capture_default_str();
  cmd->add_option("--k", o->ks, "cut-offs for Prec@K and mAP@K, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  add_json_option(cmd, o->json_out, "the results (with per-class figures)");
  cmd->add_option("--per-query", o->per_query_out, "write every query's AP as a .npy vector");
  cmd->add_option(
         "--empty-queries", o->empty_queries,
         "queries whose class has no gallery item: the protocol's rule (auto: skip for sake "
         "and zse-sbir, whose code yields NaN, else 0), count as 0, skip, or fail")
      ->check(CLI::IsMember({"auto", "zero", "skip", "error"}))
      ->capture_default_str();
  cmd->add_option("--memory-budget", o->memory_budget_mb, "MiB for a block of the distance matrix")
      ->capture_default_str();
  add_device_option(cmd, o->device);
  add_distributed_options(cmd, o->distributed);
  cmd->add_flag("--per-class", o->per_class, "print the per-class table too");
  cmd->add_flag("--quiet", o->quiet, "no progress output");
  add_force_flag(cmd, o->force, "an existing --json or --per-query file");
  cmd->callback([o, &exit_code] { exit_code = run_metrics(*o); });
}

}  // namespace hcmsn::cli
