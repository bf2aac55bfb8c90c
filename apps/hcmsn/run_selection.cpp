#include "run_selection.h"

#include <algorithm>
#include <set>

#include "dataset_flags.h"
#include "device_flag.h"
#include "hcmsn/data/feature_cache.h"
#include "hcmsn/data/standard_splits.h"
#include "hcmsn/index/dataset_embedding.h"
#include "hcmsn/index/embedder.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/train/run_config.h"
#include "hcmsn/train/run_loader.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/device.h"
#include "hcmsn/util/log.h"

namespace hcmsn::cli {
namespace {

// The data to evaluate, before anything is embedded: every row's class and modality, plus the
// data's own split (empty lists when it has none).
struct DataRows {
  std::string source;
  std::vector<std::string> row_class;
  std::vector<int64_t> row_modality;
  std::vector<std::string> class_names, seen, unseen;
};

std::string joined(const std::vector<std::string>& names, size_t limit = 12) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += ", … (" + std::to_string(names.size()) + " in all)";
  return out;
}

// --split / --unseen given with a feature cache or an image folder: the data's split, restricted
// to the classes the data has (matched by exact name).
void apply_split_flags(const data::DatasetSpec& spec, DataRows& d) {
  if (spec.split.empty() && spec.unseen_file.empty()) return;
  HCMSN_CHECK(spec.split.empty() || spec.unseen_file.empty(), "give --split or --unseen, not both");
  std::vector<std::string> unseen;
  if (!spec.split.empty()) {
    for (const auto& c : data::standard_split(spec.split).unseen) unseen.push_back(c.name);
  } else {
    unseen = io::read_labels(spec.unseen_file);
  }
  const std::set<std::string> u(unseen.begin(), unseen.end());
  d.seen.clear();
  d.unseen.clear();
  for (const auto& c : d.class_names) (u.count(c) ? d.unseen : d.seen).push_back(c);
}

DataRows rows_of(const train::TrainingSet& set, std::string source) {
  DataRows d;
  d.source = std::move(source);
  d.row_class = set.label_names();
  const auto m = set.modality.contiguous();
  d.row_modality.assign(m.data_ptr<int64_t>(), m.data_ptr<int64_t>() + set.size());
  d.class_names = set.class_names;
  return d;
}

train::SplitEmbeddings split_of(torch::Tensor queries, torch::Tensor gallery, const DataRows& d,
                                const train::QueryGalleryRows& rows,
                                const std::vector<std::string>& ids, double curvature) {
  train::SplitEmbeddings out;
  out.queries = std::move(queries);
  out.gallery = std::move(gallery);
  out.curvature = curvature;
  for (int64_t r : rows.queries) {
    out.query_labels.push_back(d.row_class[static_cast<size_t>(r)]);
    if (!ids.empty()) out.query_ids.push_back(ids[static_cast<size_t>(r)]);
  }
  for (int64_t r : rows.gallery) {
    out.gallery_labels.push_back(d.row_class[static_cast<size_t>(r)]);
    if (!ids.empty()) out.gallery_ids.push_back(ids[static_cast<size_t>(r)]);
  }
  return out;
}

train::QueryGalleryRows choose_rows(const RunSelection& s, const DataRows& d, bool own_data,
                                    const train::RunConfig& config) {
  std::string which = s.classes;
  if (which == "auto") which = (own_data || !d.unseen.empty()) ? "unseen" : "all";
  const auto classes = train::evaluation_classes(which, d.seen, d.unseen, d.class_names);
  const auto scope = train::parse_gallery_scope(s.gallery);
  auto rows = train::select_query_gallery(d.row_class, d.row_modality, classes, scope);
  if (!rows.classes_without_photos.empty()) {
    util::log_warn(
        "{} evaluation class(es) have sketches but no photo in the gallery, so their "
        "sketches are not queries: {}",
        rows.classes_without_photos.size(), joined(rows.classes_without_photos));
  }
  if (!rows.classes_without_sketches.empty()) {
    util::log_warn("{} evaluation class(es) have no sketch: {}",
                   rows.classes_without_sketches.size(), joined(rows.classes_without_sketches));
  }
  if (!own_data) {
    // Zero-shot claims need to know which evaluated classes the run has trained on.
    const std::set<std::string> trained(config.seen_classes.begin(), config.seen_classes.end());
    std::vector<std::string> overlap;
    for (const auto& c : classes) {
      if (trained.count(c)) overlap.push_back(c);
    }
    if (!overlap.empty()) {
      util::log_warn("{} of the {} evaluation classes are seen classes of the run (trained on): {}",
                     overlap.size(), classes.size(), joined(overlap));
    }
  }
  util::log_info("evaluating {} on {}: {} classes ({}), {} queries, gallery of {} photos ({})",
                 s.run, d.source, classes.size(), which, rows.queries.size(), rows.gallery.size(),
                 scope == train::GalleryScope::kAllPhotos ? "every photo" : "evaluation classes");
  return rows;
}

// Rows held in memory (the run's own data, a feature cache, a small-CNN run's image folder):
// the network embeds the selected rows.
// The run's network on the selected device.
train::LoadedRun load_run_on(const RunSelection& s) {
  const torch::Device device = util::parse_device(s.device);
  train::LoadedRun run = train::load_run(s.run, s.checkpoint);
  run.network->to(device);
  return run;
}

train::SplitEmbeddings embed_training_set(const RunSelection& s, train::LoadedRun& run,
                                          const train::TrainingSet& all, DataRows d, bool own_data,
                                          const util::Sharding& sharding) {
  if (own_data) {
    d.seen = run.config.seen_classes;
    d.unseen = run.config.unseen_classes;
  }
  const auto rows = choose_rows(s, d, own_data, run.config);
  const auto batch = s.batch > 0 ? s.batch : run.config.trainer.eval_batch;
  auto& net = *run.network;
  const double c = net.hcmsn()->curvature().value();
  return split_of(train::embed_rows(net, all.select_rows(rows.queries), batch, !s.quiet, sharding),
                  train::embed_rows(net, all.select_rows(rows.gallery), batch, !s.quiet, sharding),
                  d, rows, all.item_ids, c);
}

// A dataset on disk through the run's front end (pretrained backbone or image resizing).
train::SplitEmbeddings embed_dataset(const RunSelection& s, const train::RunConfig& config,
                                     const data::DatasetSpec& spec,
                                     const util::Sharding& sharding) {
  const data::Dataset dataset = data::build_dataset(spec);
  DataRows d;
  d.source = "the dataset given by flags";
  for (const auto& item : dataset.items) {
    d.row_class.push_back(item.class_name);
    d.row_modality.push_back(item.modality);
  }
  d.class_names = dataset.class_names;
  d.seen = dataset.unseen_classes.empty() ? std::vector<std::string>{} : dataset.seen_classes;
  d.unseen = dataset.unseen_classes;
  const auto rows = choose_rows(s, d, /*own_data=*/false, config);
  index::EmbedderOptions eo;
  eo.checkpoint = s.checkpoint;
  eo.device = s.device;
  if (s.batch > 0) eo.batch = s.batch;
  const auto embedder = index::Embedder::from_run(s.run, eo);
  const auto embed = [&](const std::vector<int64_t>& which, int64_t modality,
                         std::vector<int64_t>& kept, std::vector<std::string>& ids) {
    std::vector<data::DatasetItem> items;
    for (int64_t r : which) items.push_back(dataset.items[static_cast<size_t>(r)]);
    auto e = index::embed_dataset_items(*embedder, items, modality, !s.quiet, sharding);
    for (const auto& [at, reason] : e.unreadable) {
      util::log_warn("unreadable, left out: {}: {}", items[at].path, reason);
    }
    for (size_t at : e.embedded) {
      kept.push_back(which[at]);
      ids.push_back(items[at].id);
    }
    return e.embeddings;
  };
  train::QueryGalleryRows kept;
  std::vector<std::string> query_ids, gallery_ids;
  torch::Tensor queries = embed(rows.queries, model::kSketch, kept.queries, query_ids);
  torch::Tensor gallery = embed(rows.gallery, model::kPhoto, kept.gallery, gallery_ids);
  HCMSN_CHECK(!kept.queries.empty() && !kept.gallery.empty(),
              "no readable query or gallery item is left");
  auto out = split_of(queries, gallery, d, kept, {}, embedder->curvature());
  out.query_ids = std::move(query_ids);
  out.gallery_ids = std::move(gallery_ids);
  return out;
}

}  // namespace

void add_selection_options(CLI::App* cmd, RunSelection& s) {
  cmd->add_option("--run", s.run, "a run folder (hcmsn train --out, hcmsn demo's DIR/run)")
      ->required();
  cmd->add_option("--checkpoint", s.checkpoint, "which weights: best or last")
      ->check(CLI::IsMember({"best", "last"}))
      ->capture_default_str();
  cmd->add_option("--classes", s.classes,
                  "which classes of the evaluated data: unseen, seen, all, or auto (unseen when "
                  "the data has a split, else all)")
      ->check(CLI::IsMember({"auto", "unseen", "seen", "all"}))
      ->capture_default_str();
  cmd->add_option("--gallery", s.gallery,
                  "classes: the photos of the evaluated classes (zero-shot protocol); all: every "
                  "photo of the data, the others as distractors (generalised)")
      ->check(CLI::IsMember({"classes", "all"}))
      ->capture_default_str();
  cmd->add_option("--features", s.features,
                  "evaluate on this feature cache (same backbone as the run's) instead");
  cmd->add_option("--images", s.images,
                  "evaluate on this image folder ROOT/{sketch,photo}/<class>/ instead");
  add_dataset_flags(*cmd, s.dataset);
  cmd->add_option("--batch", s.batch,
                  "rows per forward pass (0: the run's --eval-batch; 32 for data read through "
                  "the run's front end)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--quiet", s.quiet, "no progress output");
  add_device_option(cmd, s.device);
}

void add_run_inputs(io::OutputGuard& guard, const std::vector<std::string>& runs) {
  for (const auto& run : runs) {
    RunSelection selection;
    selection.run = run;
    add_selection_inputs(guard, selection);
  }
}

void add_selection_inputs(io::OutputGuard& guard, const RunSelection& s) {
  guard.input("--run", s.run).input("--features", s.features).input("--images", s.images);
  // Dataset flags: the list, map and unseen files, and the class folders (a file written into
  // one would become an item of the data).
  guard.input("--sketch-list", s.dataset.sketch_list)
      .input("--photo-list", s.dataset.photo_list)
      .input("--class-map", s.dataset.class_map)
      .input("--unseen", s.dataset.unseen_file)
      .inputs("--sketch-dir", s.dataset.sketch_dirs)
      .inputs("--photo-dir", s.dataset.photo_dirs)
      .inputs("--ndjson-dir", s.dataset.ndjson_dirs);
  // Without an override the run's own data is read: a feature cache or an image folder that may
  // live anywhere. (A run folder without a config fails here as it would in embed_selection.)
  if (s.features.empty() && s.images.empty() && !has_dataset_sources(s.dataset)) {
    guard.input("the run's data", train::read_run_config(s.run).data.path);
  }
}

train::SplitEmbeddings embed_selection(const RunSelection& s, const util::Sharding& sharding) {
  const int sources = !s.features.empty() + !s.images.empty() + has_dataset_sources(s.dataset);
  HCMSN_CHECK(sources <= 1,
              "give one data source: --features, --images or the dataset flags (--layout, "
              "--root, --sketch-dir, --photo-dir, --ndjson-dir, lists)");
  // The dataset path builds its own network through index::Embedder: read only the config here.
  const train::RunConfig config = train::read_run_config(s.run);
  const bool feature_run = config.data.kind == "features";
  if (sources == 0) {
    HCMSN_CHECK(s.dataset.split.empty() && s.dataset.unseen_file.empty(),
                "the run's own data uses the run's split; --split and --unseen go with other data");
    train::LoadedRun run = load_run_on(s);
    const auto all = train::load_rows(run.config.data, run.config.backbone, !s.quiet);
    return embed_training_set(s, run, all, rows_of(all, run.config.data.path), /*own=*/true,
                              sharding);
  }
  if (!s.features.empty()) {
    HCMSN_CHECK(feature_run, "the run was trained on images (", config.data.path,
                "); evaluate it on images (--images or the dataset flags), not on a feature cache");
    data::FeatureCache cache = data::load_feature_cache(s.features);
    const auto seen = cache.meta.value("seen_classes", std::vector<std::string>{});
    const auto unseen = cache.meta.value("unseen_classes", std::vector<std::string>{});
    const auto all = train::rows_of_cache(std::move(cache));
    HCMSN_CHECK(all.inputs.size(1) == config.model.in_dim(), s.features, " holds ",
                all.inputs.size(1), "-d features but the run takes ", config.model.in_dim(),
                "-d ones; extract the data with the run's backbone and weights");
    DataRows d = rows_of(all, s.features);
    d.seen = seen;
    d.unseen = unseen;
    if (d.unseen.empty()) d.seen.clear();
    apply_split_flags(s.dataset, d);
    train::LoadedRun run = load_run_on(s);
    return embed_training_set(s, run, all, std::move(d), /*own=*/false, sharding);
  }
  if (!s.images.empty() && !feature_run) {
    train::LoadedRun run = load_run_on(s);
    const auto all =
        train::load_rows(train::DataSpec::of("images", s.images), run.config.backbone, !s.quiet);
    DataRows d = rows_of(all, s.images);
    apply_split_flags(s.dataset, d);
    return embed_training_set(s, run, all, std::move(d), /*own=*/false, sharding);
  }
  data::DatasetSpec spec = s.dataset;
  if (!s.images.empty()) {
    spec.layout = "generic";
    spec.root = s.images;
  }
  return embed_dataset(s, config, spec, sharding);
}

}  // namespace hcmsn::cli
