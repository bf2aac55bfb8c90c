// A run directory holds everything needed to rebuild, resume and evaluate a trained model:
//
//   RUN_DIR/config.json              RunConfig (below), written once when training starts
//   RUN_DIR/semantics.npy            float32 (M, D) class embeddings of seen + unseen classes
//   RUN_DIR/semantics_classes.txt    their M class names
//   RUN_DIR/last.ckpt, best.ckpt     checkpoints (checkpoint.h)
//   RUN_DIR/log.jsonl                one JSON object per epoch (trainer.h)
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hcmsn/data/batch_prefetcher.h"
#include "hcmsn/data/dataset.h"
#include "hcmsn/data/quickdraw_strokes.h"
#include "hcmsn/model/backbone.h"
#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/model/losses.h"
#include "hcmsn/model/retrieval_network.h"
#include "hcmsn/train/trainer_options.h"

namespace hcmsn::train {

/// Where a run's rows come from.
struct DataSpec {
  /// "features": a feature cache file (data/feature_cache.h); "images":
  /// ROOT/{sketch,photo}/<class>/, decoded into memory; "dataset": the `dataset` spec's items,
  /// streamed (decoded, rendered and augmented while training; issue 12).
  std::string kind = "features";
  std::string path;
  /// "features" only: a feature cache of extra training photos (hcmsn extract --photo-views:
  /// augmented views of the photos), appended to the training classes' rows; never used for
  /// validation, distractors or evaluation. Empty: none.
  std::string extra_photos;
  data::DatasetSpec dataset;
  /// How "dataset" drawings are rasterised before the transform.
  data::RenderOptions render;
  /// "dataset": loader threads and batches loaded ahead. Not saved: they change the speed, never
  /// the batches.
  data::PrefetchOptions prefetch;

  static DataSpec of(std::string kind, std::string path) {
    DataSpec d;
    d.kind = std::move(kind);
    d.path = std::move(path);
    return d;
  }
};

/// The backbone in front of HCMSN: "none" (cached features), "small-cnn" (from scratch), or a
/// pretrained ImageNet backbone fine-tuned end to end: "mobilenet_v2" or "resnet50"
/// (vision/pretrained.h).
struct BackboneSpec {
  std::string kind = "none";
  /// Pretrained backbones: the ImageNet weights a fresh run starts from (.safetensors / .pth).
  std::string weights;
  /// Keep every BatchNorm in eval mode with frozen affine parameters (the shared MobileNetV2
  /// weights have BN folded and need it).
  bool freeze_batch_norm = true;
  /// The backbone's learning rate relative to the heads'.
  double lr_factor = 1.0;
  /// MobileNetV2: TF-"SAME" padding (the shared TFLite-converted weights need it).
  bool tf_same_padding = true;
  std::vector<int64_t> channels = {16, 32, 64, 64};
  int64_t convs_per_stage = 1;
  /// 0: the pooled features (channels.back() values).
  int64_t out_dim = 0;
  model::ImageInputOptions input;
};

struct RunConfig {
  static constexpr int kVersion = 1;
  model::HCMSNModelOptions model{1};
  BackboneSpec backbone;
  model::LossOptions loss;
  TrainerOptions trainer;
  DataSpec data;
  std::vector<std::string> seen_classes;
  std::vector<std::string> unseen_classes;
  /// Seen classes held out of training to select the checkpoint and the fusion weights (never
  /// the classes a run reports); empty: the run evaluates on the unseen classes while training.
  std::vector<std::string> validation_classes;

  nlohmann::json to_json() const;
  /// Throws hcmsn::Error on a missing key, a wrong type or a newer version.
  static RunConfig from_json(const nlohmann::json& json);
};

/// A freshly initialised network of this configuration (seeded by the caller).
/// `load_pretrained`: a pretrained backbone starts from BackboneSpec::weights (a fresh run);
/// false builds the architecture only (a checkpoint's weights follow).
model::RetrievalNetwork build_network(const RunConfig& config, bool load_pretrained = false);

std::string config_path(const std::string& run_dir);
std::string semantics_path(const std::string& run_dir);
std::string semantics_classes_path(const std::string& run_dir);
std::string last_checkpoint_path(const std::string& run_dir);
std::string best_checkpoint_path(const std::string& run_dir);
/// RUN_DIR/epochs/epoch-N.ckpt: an evaluated epoch's weights, kept until the run finishes when
/// TrainerOptions::checkpoint_rule needs them.
std::string epoch_checkpoint_path(const std::string& run_dir, int64_t epoch);
std::string log_path(const std::string& run_dir);

void write_run_config(const std::string& run_dir, const RunConfig& config);
/// Throws hcmsn::Error saying that the folder is not a run when config.json is missing.
RunConfig read_run_config(const std::string& run_dir);

}  // namespace hcmsn::train
