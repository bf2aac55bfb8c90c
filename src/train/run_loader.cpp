#include "hcmsn/train/run_loader.h"

#include <filesystem>

#include "hcmsn/data/dataset.h"
#include "hcmsn/data/feature_cache.h"
#include "hcmsn/data/image_folder.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"

namespace hcmsn::train {
namespace {

// Labels, modality and ids of a set's rows from items with class_index and modality.
template <typename Items, typename IdOf>
void label_rows(TrainingSet& set, const Items& items, IdOf id_of) {
  std::vector<int64_t> labels, modality;
  for (const auto& item : items) {
    labels.push_back(item.class_index);
    modality.push_back(item.modality);
    set.item_ids.push_back(id_of(item));
  }
  set.labels = torch::tensor(labels, torch::kInt64);
  set.modality = torch::tensor(modality, torch::kInt64);
}

}  // namespace

TrainingSet rows_of_cache(data::FeatureCache cache) {
  TrainingSet set;
  set.inputs = cache.features;
  set.labels = cache.labels;
  set.modality = cache.modality;
  set.class_names = std::move(cache.class_names);
  set.item_ids = std::move(cache.item_ids);
  set.validate();
  return set;
}

TrainingSet load_rows(const DataSpec& data, const BackboneSpec& backbone, bool progress,
                      nlohmann::json* cache_meta) {
  TrainingSet set;
  if (data.kind == "features") {
    HCMSN_CHECK(backbone.kind == "none",
                "a feature cache holds backbone features already; "
                "train on it without a backbone");
    data::FeatureCache cache = data::load_feature_cache(data.path);
    if (cache_meta != nullptr) *cache_meta = cache.meta;
    set = rows_of_cache(std::move(cache));
  } else if (data.kind == "dataset") {
    HCMSN_CHECK(backbone.kind != "none", "training on a dataset's images needs a backbone");
    const data::Dataset dataset = data::build_dataset(data.dataset);
    auto source = std::make_shared<PixelSource>();
    source->pixels.size = backbone.input.image_size;
    source->pixels.render = data.render;
    source->prefetch = data.prefetch;
    label_rows(set, dataset.items, [](const data::DatasetItem& item) { return item.id; });
    set.items = dataset.items;
    set.source = std::move(source);
    set.class_names = dataset.class_names;
  } else {
    HCMSN_CHECK(data.kind == "images", "unknown data kind '", data.kind,
                "'; use features, images or dataset");
    HCMSN_CHECK(backbone.kind != "none", "training on images needs a backbone (--backbone)");
    const data::ImageFolder folder = data::scan_image_folder(data.path);
    data::LoadOptions options;
    options.show_progress = progress;
    const data::LoadedImages images =
        data::load_images(folder.items, backbone.input.image_size, options);
    label_rows(set, folder.items, [](const auto& item) { return item.path; });
    set.inputs = images.pixels;
    set.class_names = folder.class_names;
  }
  set.validate();
  const auto [sketches, photos] = set.modality_counts();
  util::log_info("{}: {} sketches and {} photos of {} classes{}",
                 data.kind == "dataset" ? std::string("the dataset") : data.path, sketches, photos,
                 set.class_names.size(), set.is_streamed() ? " (streamed)" : "");
  return set;
}

TrainingSet extra_photo_rows(const std::vector<std::string>& classes, const nlohmann::json& meta,
                             const std::string& extra_photos) {
  data::FeatureCache cache = data::load_feature_cache(extra_photos);
  // Features of another backbone, weights or preprocessing would not be comparable.
  for (const char* key : {"backbone", "weights", "transform", "tf_same_padding", "precision"}) {
    const auto value = [&](const nlohmann::json& m) {
      return m.is_object() && m.contains(key) ? m.at(key) : nlohmann::json();
    };
    HCMSN_CHECK(value(cache.meta) == value(meta), "the extra photos ", extra_photos,
                " were extracted with another ", key, " (", value(cache.meta).dump(),
                ") than the training features (", value(meta).dump(),
                "): extract them with the same --backbone, --weights and preprocessing");
  }
  TrainingSet extra = rows_of_cache(std::move(cache));
  HCMSN_CHECK(extra.modality_counts().first == 0, "the extra photos ", extra_photos,
              " hold sketches: give a cache of photos only (hcmsn extract --photo-views)");
  TrainingSet rows = extra.subset_classes(classes);
  util::log_info("{} extra photos of the training classes from {}", rows.size(), extra_photos);
  return rows;
}

ClassSemantics read_class_semantics(const std::string& npy_path, const std::string& classes_path) {
  ClassSemantics s;
  s.embeddings = io::read_npy_matrix(npy_path).to(torch::kFloat32);
  s.class_names = io::read_labels(classes_path);
  HCMSN_CHECK(s.embeddings.size(0) == static_cast<int64_t>(s.class_names.size()), npy_path, " has ",
              s.embeddings.size(0), " rows but ", classes_path, " lists ", s.class_names.size(),
              " classes; row i must be the vector of class i");
  return s;
}

void write_run_semantics(const std::string& run_dir, const ClassSemantics& semantics) {
  io::write_npy(semantics_path(run_dir), semantics.embeddings.to(torch::kFloat32));
  io::write_labels(semantics_classes_path(run_dir), semantics.class_names);
}

ClassSemantics read_run_semantics(const std::string& run_dir) {
  return read_class_semantics(semantics_path(run_dir), semantics_classes_path(run_dir));
}

LoadedRun load_run(const std::string& run_dir, const std::string& which) {
  HCMSN_CHECK(which == "best" || which == "last", "--checkpoint must be best or last, got '", which,
              "'");
  LoadedRun run;
  run.config = read_run_config(run_dir);
  run.network = build_network(run.config);
  const std::string path =
      which == "best" ? best_checkpoint_path(run_dir) : last_checkpoint_path(run_dir);
  HCMSN_CHECK(std::filesystem::exists(path), path,
              " does not exist: the run has not finished an evaluated epoch yet",
              which == "best" ? " (try --checkpoint last)" : "");
  run.state = load_checkpoint(path, *run.network, nullptr, nullptr);
  run.network->eval();
  return run;
}

}  // namespace hcmsn::train
