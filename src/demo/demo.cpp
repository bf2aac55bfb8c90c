#include "hcmsn/demo/demo.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "hcmsn/data/synthetic_images.h"
#include "hcmsn/index/gallery.h"
#include "hcmsn/index/indexer.h"
#include "hcmsn/index/photo_list.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/output_guard.h"
#include "hcmsn/metrics/chance.h"
#include "hcmsn/metrics/report.h"
#include "hcmsn/report/run_report.h"
#include "hcmsn/train/retrieval_eval.h"
#include "hcmsn/train/run_loader.h"
#include "hcmsn/train/trainer.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"

namespace hcmsn::demo {
namespace fs = std::filesystem;
namespace {

// The generated dataset is reused when its stamp matches the options that made it.
std::string data_stamp(const data::SyntheticImageOptions& o) {
  return fmt::format("synthetic-images v1 size={} photos={} sketches={} seed={}\n", o.image_size,
                     o.photos_per_class, o.sketches_per_class, o.seed);
}

data::SyntheticDatasetSummary ensure_dataset(const std::string& root,
                                             const data::SyntheticImageOptions& o,
                                             const DemoOptions& options) {
  const std::string stamp_path = (fs::path(root) / "stamp.txt").string();
  if (options.reuse_data && fs::exists(stamp_path) &&
      util::read_file(stamp_path) == data_stamp(o)) {
    util::log_info("reusing the generated dataset in {}", root);
    data::SyntheticDatasetSummary s;
    s.root = root;
    s.classes_file = (fs::path(root) / "classes.txt").string();
    s.semantics_file = (fs::path(root) / "semantics.npy").string();
    s.unseen_file = (fs::path(root) / "unseen.txt").string();
    return s;
  }
  if (fs::exists(root)) fs::remove_all(root);
  util::log_info("generating the synthetic dataset in {}", root);
  auto s = data::write_synthetic_dataset(root, o, options.progress);
  util::write_file_atomic(stamp_path, data_stamp(o));
  return s;
}

struct TrainedRun {
  nlohmann::json history;
  metrics::RetrievalResult result;
  train::SplitEmbeddings split;
};

TrainedRun train_and_evaluate(const std::string& run_dir, const train::RunConfig& config,
                              const train::TrainingSet& all,
                              const train::ClassSemantics& semantics) {
  if (fs::exists(run_dir)) fs::remove_all(run_dir);
  fs::create_directories(run_dir);
  train::write_run_semantics(run_dir, semantics);
  train::Trainer trainer(run_dir, config, all.subset_classes(config.seen_classes),
                         all.subset_classes(config.unseen_classes),
                         train::class_embeddings_for(config.seen_classes, semantics.class_names,
                                                     semantics.embeddings));
  const auto trained = trainer.train(/*resume=*/false);
  HCMSN_ASSERT(trained.finished, "the demo's training stopped early");

  // Evaluate the best checkpoint exactly as `hcmsn eval --run` does.
  train::LoadedRun run = train::load_run(run_dir, "best");
  TrainedRun out;
  out.history = trained.state.history;
  out.split = train::embed_split(*run.network, all.subset_classes(config.unseen_classes),
                                 config.trainer.eval_batch, false);
  metrics::EvaluationOptions eval;
  eval.ks = config.trainer.ks;
  out.result = train::evaluate_split(out.split, eval);
  return out;
}

}  // namespace

DemoPlan demo_plan(const DemoOptions& options) {
  DemoPlan plan;
  plan.image_size = 64;
  plan.per_class = options.quick ? 30 : 60;
  auto& c = plan.config;
  c.backbone.kind = "small-cnn";
  c.backbone.channels = {16, 32, 64, 64};
  c.backbone.convs_per_stage = 1;
  c.backbone.out_dim = 0;
  c.backbone.input.image_size = 32;
  // A backbone trained from scratch: F's input layer is shared by both modalities (see
  // RetrievalFeatureNetOptions::shared_input); the heads are sized for 64-d features.
  c.model.in_dim(64).hidden(256).dim(128).shared_feature_input(true);
  c.trainer.epochs = options.quick ? 16 : 30;
  c.trainer.sampler.classes_per_batch(8).per_class(4);
  c.trainer.lr = 2e-3;
  c.trainer.seed = options.seed;
  c.trainer.sampler.seed(options.seed);
  c.trainer.ks = {100, 200};
  c.trainer.checkpoint_every = 0;
  c.trainer.progress = options.progress;
  c.data.kind = "images";
  return plan;
}

DemoResult run_demo(const DemoOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const fs::path out = options.out;
  io::OutputGuard(options.force)
      .output("--out", out.string(), io::OutputKind::folder())
      .output("OUT/data", (out / "data").string(), io::OutputKind::owned_folder("stamp.txt"))
      .output("OUT/run", (out / "run").string(), io::OutputKind::owned_folder("config.json"))
      .output("OUT/run-euclidean", (out / "run-euclidean").string(),
              io::OutputKind::owned_folder("config.json"))
      .output("OUT/metrics.json", (out / "metrics.json").string(), io::OutputKind::json())
      .output("OUT/report.html", (out / "report.html").string(), io::OutputKind::html())
      .output("OUT/gallery.hcmsn", (out / "gallery.hcmsn").string(),
              io::OutputKind::hcmsn_file(index::kGalleryKind))
      .check();
  fs::create_directories(out);
  DemoPlan plan = demo_plan(options);

  data::SyntheticImageOptions data_options;
  data_options.image_size = plan.image_size;
  data_options.photos_per_class = plan.per_class;
  data_options.sketches_per_class = plan.per_class;
  data_options.seed = options.seed;
  const std::string data_root = (out / "data").string();
  const auto dataset = ensure_dataset(data_root, data_options, options);

  train::RunConfig config = plan.config;
  config.data.path = fs::absolute(data_root).string();
  const train::TrainingSet all = train::load_rows(config.data, config.backbone, options.progress);
  config.unseen_classes = io::read_labels(dataset.unseen_file);
  for (const auto& name : all.class_names) {
    if (std::find(config.unseen_classes.begin(), config.unseen_classes.end(), name) ==
        config.unseen_classes.end()) {
      config.seen_classes.push_back(name);
    }
  }
  config.model.num_seen_classes(static_cast<int64_t>(config.seen_classes.size()));
  train::ClassSemantics semantics =
      train::read_class_semantics(dataset.semantics_file, dataset.classes_file);
  config.model.sem_dim(semantics.embeddings.size(1));
  util::log_info("demo: {} seen and {} unseen classes; training HCMSN (c = {:g})",
                 config.seen_classes.size(), config.unseen_classes.size(),
                 config.model.curvature());
  const TrainedRun hyperbolic = train_and_evaluate((out / "run").string(), config, all, semantics);

  train::RunConfig euclidean_config = config;
  euclidean_config.model.curvature(0.0);
  util::log_info("demo: training the Euclidean variant (c = 0)");
  const TrainedRun euclidean =
      train_and_evaluate((out / "run-euclidean").string(), euclidean_config, all, semantics);

  DemoResult result;
  result.chance_map_all = metrics::chance_map_all(
      metrics::encode_labels(hyperbolic.split.query_labels, hyperbolic.split.gallery_labels));
  result.hcmsn_map_all = hyperbolic.result.map_all;
  result.euclidean_map_all = euclidean.result.map_all;
  result.metrics = {{"hcmsn", metrics::to_json(hyperbolic.result)},
                    {"euclidean", metrics::to_json(euclidean.result)},
                    {"chance_map_all", result.chance_map_all}};
  util::write_file_atomic((out / "metrics.json").string(), result.metrics.dump(2) + "\n");

  report::RunReportOptions report_options;
  report_options.title = "hcmsn demo: zero-shot sketch-based image retrieval";
  report_options.chance_map_all = result.chance_map_all;
  report_options.summary = fmt::format(
      "Synthetic dataset generated by hcmsn: {} classes in a two-level hierarchy (outline family "
      "and inner mark), {} sketches and {} photos per class, class semantics from attributes. A "
      "small CNN and HCMSN were trained end to end from scratch on the {} seen classes and "
      "evaluated zero-shot on the {} unseen classes (sketch queries, photo gallery). The "
      "Euclidean variant (c = 0) was trained identically.",
      all.class_names.size(), plan.per_class, plan.per_class, config.seen_classes.size(),
      config.unseen_classes.size());
  std::vector<report::ReportRun> runs = {
      {fmt::format("HCMSN (c = {:g})", config.model.curvature()), hyperbolic.history,
       hyperbolic.result, hyperbolic.split},
      {"Euclidean (c = 0)", euclidean.history, euclidean.result, euclidean.split}};
  result.report_path = (out / "report.html").string();
  report::write_run_report(result.report_path, runs, report_options);

  // Every demo photo in a gallery, ready for `hcmsn query` and `hcmsn serve`.
  const auto embedder = index::Embedder::from_run((out / "run").string());
  index::Gallery gallery = index::new_gallery(*embedder);
  index::add_photos(gallery, *embedder, index::list_photos(data_root + "/photo"), false);
  result.gallery_path = (out / "gallery.hcmsn").string();
  index::save_gallery(result.gallery_path, gallery);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace hcmsn::demo
