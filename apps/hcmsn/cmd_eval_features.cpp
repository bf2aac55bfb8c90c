// hcmsn eval-features: the zero-shot baseline of untrained backbone features. The unseen
// classes' sketch features are the queries and their photo features the gallery, ranked by
// cosine (or Euclidean) distance: what HCMSN has to improve on.
#include <memory>

#include "commands.h"
#include "hcmsn/data/standard_splits.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/metrics/retrieval_evaluator.h"
#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/train/retrieval_eval.h"
#include "hcmsn/train/run_loader.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"
#include "result_output.h"

namespace hcmsn::cli {
namespace {

struct EvalFeaturesOptions {
  std::string features;
  std::string split, unseen_file;
  std::string metric = "cosine";
  std::string gallery = "classes";
  std::string protocol = "standard";
  ResultOutputOptions output;
};

int run_eval_features(const EvalFeaturesOptions& o) {
  result_output_guard(o.output)
      .input("--features", o.features)
      .input("--unseen", o.unseen_file)
      .check();
  HCMSN_CHECK(o.split.empty() != o.unseen_file.empty(),
              "give the evaluation classes with --split NAME or --unseen FILE (one of them)");
  std::vector<std::string> unseen;
  if (o.split.empty()) {
    unseen = io::read_labels(o.unseen_file);
  } else {
    for (const auto& c : data::standard_split(o.split).unseen) unseen.push_back(c.name);
  }
  const train::TrainingSet all =
      train::load_rows(train::DataSpec::of("features", o.features), {}, false);
  const std::vector<std::string> row_class = all.label_names();
  const auto m = all.modality.contiguous();
  const auto rows = train::select_query_gallery(
      row_class, {m.data_ptr<int64_t>(), m.data_ptr<int64_t>() + all.size()}, unseen,
      train::parse_gallery_scope(o.gallery));
  if (!rows.classes_without_photos.empty() || !rows.classes_without_sketches.empty()) {
    util::log_warn(
        "{} evaluated class(es) lack photos in the gallery or sketches; their "
        "sketches are not queries",
        rows.classes_without_photos.size() + rows.classes_without_sketches.size());
  }
  const train::TrainingSet sketches = all.select_rows(rows.queries);
  const train::TrainingSet photos = all.select_rows(rows.gallery);
  metrics::DistanceOptions distance;
  distance.metric = metrics::parse_metric(o.metric);
  metrics::EvaluationOptions eval;
  eval.ks = o.output.ks;
  eval.protocol = metrics::Protocol::parse(o.protocol);
  emit_result(
      metrics::evaluate_embeddings(
          sketches.inputs, photos.inputs,
          metrics::encode_labels(sketches.label_names(), photos.label_names()), distance, eval),
      o.output);
  return 0;
}

}  // namespace

void add_eval_features_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<EvalFeaturesOptions>();
  auto* cmd = app.add_subcommand(
      "eval-features",
      "Zero-shot retrieval with the untrained backbone features of a feature cache (the "
      "baseline): unseen sketches against unseen photos.");
  cmd->add_option("--features", o->features, "a feature cache (hcmsn extract)")->required();
  cmd->add_option("--split", o->split, "a standard split whose unseen classes are evaluated");
  cmd->add_option("--unseen", o->unseen_file, "the evaluated classes, one per line");
  cmd->add_option("--metric", o->metric, "cosine or euclidean")
      ->check(CLI::IsMember({"cosine", "euclidean"}))
      ->capture_default_str();
  cmd->add_option("--gallery", o->gallery,
                  "classes: the evaluated classes' photos; all: every photo of the cache "
                  "(generalised, the others as distractors)")
      ->check(CLI::IsMember({"classes", "all"}))
      ->capture_default_str();
  cmd->add_option("--protocol", o->protocol, metrics::kProtocolHelp)->capture_default_str();
  add_result_output_options(cmd, o->output);
  cmd->callback([o, &exit_code] { exit_code = run_eval_features(*o); });
}

}  // namespace hcmsn::cli
