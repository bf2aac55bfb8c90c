// hcmsn train: trains HCMSN on the seen classes of a feature cache or an image folder.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "commands.h"
#include "dataset_flags.h"
#include "device_flag.h"
#include "distributed_flags.h"
#include "hcmsn/data/class_name.h"
#include "hcmsn/data/standard_splits.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/output_guard.h"
#include "hcmsn/train/run_loader.h"
#include "hcmsn/train/teacher.h"
#include "hcmsn/train/trainer.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/device.h"
#include "hcmsn/util/file_lock.h"
#include "hcmsn/util/interrupt.h"
#include "hcmsn/util/log.h"
#include "hcmsn/util/precision.h"
#include "hcmsn/vision/pretrained.h"

namespace hcmsn::cli {
namespace {

struct TrainCommandOptions {
  std::string features, images;
  std::string semantics, semantics_classes;
  std::string unseen_file, seen_file, split;
  std::string out;
  bool resume = false;
  bool no_cls = false, no_adv = false, no_rec = false;
  bool no_augment = false;
  bool quiet = false;
  bool force = false;
  train::RunConfig config;
  std::string classifier = "mlr";
  std::string schedule = "cosine";
  std::string checkpoint_rule = "best";
  std::string train_classes = "paired";
  int64_t val_classes = 0;
  int64_t val_folds = 0, val_fold = 0;
  std::string val_pool = "all";
  std::string teacher_concepts, teacher_concepts_classes;
  data::DatasetSpec dataset;  // streamed images (fine-tuning) instead of --features / --images
  int64_t image_size = 0;     // 0: the backbone's own (224 for pretrained ones, 64 small-cnn)
  bool train_bn = false;
  DistributedFlags distributed;  // --nproc, --dist-timeout
};

// Seen = the given list, or every class of the data that is not unseen (in the data's order).
std::vector<std::string> seen_classes_of(const train::TrainingSet& all,
                                         const std::vector<std::string>& unseen,
                                         const std::string& seen_file) {
  if (!seen_file.empty()) return io::read_labels(seen_file);
  std::vector<std::string> seen;
  for (const auto& name : all.class_names) {
    if (std::find(unseen.begin(), unseen.end(), name) == unseen.end()) seen.push_back(name);
  }
  return seen;
}

// The `names` that another standard split holds out as unseen (matched by class key or QuickDraw
// word): classes chosen the way benchmark designers choose test classes.
std::vector<std::string> unseen_elsewhere(const std::vector<std::string>& names,
                                          const std::string& own_split) {
  std::set<std::string> keys;
  for (const auto& split_name : data::standard_split_names()) {
    const auto& split = data::standard_split(split_name);
    if (split.name == own_split || split_name == own_split) continue;
    for (const auto& c : split.unseen) {
      keys.insert(data::class_key(c.name));
      if (!c.ndjson_word.empty()) keys.insert(data::class_key(c.ndjson_word));
    }
  }
  std::vector<std::string> out;
  for (const auto& name : names) {
    if (keys.count(data::class_key(name)) > 0) out.push_back(name);
  }
  return out;
}

// Where the teacher's classifier comes from: the feature cache's backbone, or the pretrained
// backbone being fine-tuned (its initial weights).
nlohmann::json teacher_meta(const train::RunConfig& config, const nlohmann::json& cache_meta) {
  if (config.data.kind == "features") return cache_meta;
  return {{"backbone", config.backbone.kind}, {"weights", config.backbone.weights}};
}

// `names` without the held-out classes and their spelling twins (data::twin_key); the twins that
// are not held out themselves are named in the log.
std::vector<std::string> without_twins(const std::vector<std::string>& names,
                                       const std::vector<std::string>& held_out,
                                       const std::string& what) {
  std::vector<std::string> left_out;
  std::vector<std::string> kept = data::without_twins_of(names, held_out, &left_out);
  for (const auto& name : left_out) {
    if (std::find(held_out.begin(), held_out.end(), name) != held_out.end()) continue;
    util::log_info("training leaves out '{}': a spelling twin of {}", name, what);
  }
  return kept;
}

// Seen classes kept for training, and the validation classes taken out of them.
// `declared_unseen`: every unseen class the split or list names, also those left out of
// evaluation for lacking photos here: they are never trained on either.
void choose_training_classes(const TrainCommandOptions& o, const train::TrainingSet& all,
                             const std::vector<std::string>& declared_unseen,
                             train::RunConfig& config) {
  if (o.train_classes == "sketched") {
    // Every class of the data with sketches that is not unseen: with --split that adds the
    // classes the extraction kept outside the split (extract --keep-out-of-split).
    std::vector<std::string> candidates = seen_classes_of(all, declared_unseen, o.seen_file);
    for (const auto& name : config.seen_classes) {
      if (std::find(candidates.begin(), candidates.end(), name) == candidates.end() &&
          std::find(all.class_names.begin(), all.class_names.end(), name) !=
              all.class_names.end()) {
        candidates.push_back(name);
      }
    }
    config.seen_classes = train::classes_with_sketches(all, candidates, "seen");
  } else {
    config.seen_classes = train::classes_with_both_modalities(all, config.seen_classes, "seen");
  }
  // A spelling twin of an unseen class ("light bulb" for "lightbulb") is that class: never trained.
  config.seen_classes = without_twins(config.seen_classes, declared_unseen, "an unseen class");
  if (o.val_classes > 0 || o.val_folds > 0) {
    // Validation needs a gallery: classes with photos, spread over the data's order.
    std::vector<std::string> eligible =
        train::classes_with_both_modalities(all, config.seen_classes, nullptr);
    if (o.val_pool == "other-unseen") eligible = unseen_elsewhere(eligible, o.split);
    HCMSN_CHECK(!eligible.empty(), "no seen class with sketches and photos is in --val-pool ",
                o.val_pool, "; use --val-pool all");
    int64_t n = o.val_classes;
    if (o.val_folds > 0) {
      config.validation_classes = train::fold_classes(eligible, o.val_folds, o.val_fold);
    } else if (n >= static_cast<int64_t>(eligible.size()) && o.val_pool != "all") {
      n = static_cast<int64_t>(eligible.size());
      util::log_info("validation: all {} classes of the pool {}", n, o.val_pool);
      config.validation_classes = eligible;
    } else {
      config.validation_classes = train::spread_classes(eligible, n);
    }
    // The validation classes leave training, and so do their spelling twins: validating on a
    // class whose twin was trained would favour the trained parts of the ranking.
    config.seen_classes =
        without_twins(config.seen_classes, config.validation_classes, "a validation class");
  }
}

int run_train(TrainCommandOptions& o) {
  HCMSN_CHECK(!o.out.empty(), "give the run folder with --out");
  util::parse_device(o.config.trainer.device);  // before any work: a clear error without CUDA
  util::parse_precision(o.config.trainer.precision);
  if (const auto code = launch_if_asked(o.distributed)) return *code;
  const auto communicator = join_if_launched(o.distributed, o.quiet, &o.config.trainer.device);
  util::install_interrupt_handler();
  train::RunConfig config;
  train::ClassSemantics semantics;
  if (o.resume) {
    config = train::read_run_config(o.out);
    semantics = train::read_run_semantics(o.out);
    // A stop point belongs to one invocation, not to the run: resume runs on unless told.
    config.trainer.max_steps = o.config.trainer.max_steps;
    config.data.prefetch = o.config.data.prefetch;  // speed only: never changes the batches
    config.trainer.device = o.config.trainer.device;
    config.trainer.precision = o.config.trainer.precision;
  } else {
    const bool streamed = has_dataset_sources(o.dataset);
    HCMSN_CHECK((o.features.empty() ? 0 : 1) + (o.images.empty() ? 0 : 1) + (streamed ? 1 : 0) == 1,
                "give exactly one of --features (a feature cache), --images (an image folder) or "
                "the dataset flags (--layout/--root, --sketch-dir, --photo-dir, --ndjson-dir, "
                "lists: images streamed while training)");
    HCMSN_CHECK(!o.semantics.empty() && !o.semantics_classes.empty(),
                "give the class semantics: --semantics EMB.npy and --semantics-classes FILE");
    HCMSN_CHECK(o.unseen_file.empty() != o.split.empty(),
                "give the unseen (test) classes with --unseen FILE or --split NAME (one of them)");
    HCMSN_CHECK(!std::filesystem::exists(train::config_path(o.out)), o.out,
                " already holds a run; use --resume to continue it or choose another --out");
    // The run folder receives config, semantics, checkpoints and log under fixed names: a folder
    // holding anything else needs --force, and no input may live inside it.
    io::OutputGuard(o.force)
        .input("--features", o.features)
        .input("--extra-photos", o.config.data.extra_photos)
        .input("--images", o.images)
        .input("--semantics", o.semantics)
        .input("--semantics-classes", o.semantics_classes)
        .input("--unseen", o.unseen_file)
        .input("--seen", o.seen_file)
        .input("--teacher-concepts", o.teacher_concepts)
        .input("--teacher-concepts-classes", o.teacher_concepts_classes)
        .output("--out", o.out, io::OutputKind::owned_folder("config.json"))
        .check();
    config = o.config;
    if (streamed) {
      config.data.kind = "dataset";
      config.data.dataset = o.dataset;
      config.data.dataset.split = o.split;
      config.data.dataset.unseen_file = o.unseen_file;
    } else {
      config.data.kind = o.features.empty() ? "images" : "features";
      config.data.path = std::filesystem::absolute(o.features.empty() ? o.images : o.features);
    }
    HCMSN_CHECK(config.data.extra_photos.empty() || config.data.kind == "features",
                "--extra-photos adds cached features: it goes with --features");
    if (!config.data.extra_photos.empty()) {
      config.data.extra_photos = std::filesystem::absolute(config.data.extra_photos);
    }
    if (config.data.kind == "features") {
      HCMSN_CHECK(config.backbone.kind == "none",
                  "a feature cache holds backbone features already; drop --backbone");
    } else if (config.backbone.kind == "none") {
      config.backbone.kind = "small-cnn";
    }
    if (vision::is_pretrained_backbone(config.backbone.kind)) {
      HCMSN_CHECK(!config.backbone.weights.empty(), "fine-tuning ", config.backbone.kind,
                  " needs its ImageNet weights: give --weights FILE");
      HCMSN_CHECK(config.data.kind == "dataset",
                  "fine-tuning a pretrained backbone streams a dataset: give the dataset flags "
                  "(e.g. --sketch-dir, --photo-dir, --ndjson-dir) instead of --images");
      config.backbone.weights = std::filesystem::absolute(config.backbone.weights).string();
      config.backbone.freeze_batch_norm = !o.train_bn;
      const auto probe = vision::make_backbone(config.backbone.kind);
      config.backbone.input = probe->input_options();
      config.backbone.out_dim = probe->out_dim();
    } else {
      HCMSN_CHECK(config.backbone.weights.empty(), "--weights is for a pretrained --backbone ",
                  "(mobilenet_v2 or resnet50)");
    }
    if (o.image_size > 0) config.backbone.input.image_size = o.image_size;
    config.model.classifier(model::parse_classifier_kind(o.classifier));
    config.trainer.schedule = train::parse_lr_schedule(o.schedule);
    config.trainer.checkpoint_rule = train::parse_checkpoint_rule(o.checkpoint_rule);
    config.trainer.augment = !o.no_augment;
    config.trainer.sampler.seed(config.trainer.seed);
    if (o.no_cls) config.loss.lambda_cls(0.0);
    if (o.no_adv) config.loss.lambda_adv(0.0);
    if (o.no_rec) config.loss.lambda_rec(0.0);
    semantics = train::read_class_semantics(o.semantics, o.semantics_classes);
  }
  config.trainer.progress = !o.quiet;
  // One writer per run: a second train or --resume of this folder is refused while this one runs
  // (rank 0 writes; the other ranks only read).
  std::optional<util::FileLock> lock;
  if (!communicator || communicator->is_main()) {
    util::FileLockOptions lock_options;
    lock_options.what = o.resume ? "hcmsn train --resume" : "hcmsn train";
    lock.emplace(util::lock_path_of_folder(o.out), lock_options);
    // The folder's state may have changed while this process checked it.
    HCMSN_CHECK(o.resume || !std::filesystem::exists(train::config_path(o.out)), o.out,
                " already holds a run; use --resume to continue it or choose another --out");
  }

  nlohmann::json cache_meta;
  const train::TrainingSet all =
      train::load_rows(config.data, config.backbone, !o.quiet, &cache_meta);
  if (!o.resume) {
    if (o.split.empty()) {
      config.unseen_classes = io::read_labels(o.unseen_file);
      config.seen_classes = seen_classes_of(all, config.unseen_classes, o.seen_file);
    } else {
      const auto& split = data::standard_split(o.split);
      for (const auto& c : split.unseen) config.unseen_classes.push_back(c.name);
      for (const auto& c : split.seen) config.seen_classes.push_back(c.name);
    }
    const std::vector<std::string> declared_unseen = config.unseen_classes;
    config.unseen_classes =
        train::classes_with_both_modalities(all, config.unseen_classes, "unseen");
    choose_training_classes(o, all, declared_unseen, config);
    for (const auto& name : config.seen_classes) {
      HCMSN_CHECK(
          std::find(declared_unseen.begin(), declared_unseen.end(), name) == declared_unseen.end(),
          "class '", name, "' is both seen and unseen");
    }
    if (!o.teacher_concepts.empty()) {
      HCMSN_CHECK(
          config.data.kind == "features" || vision::is_pretrained_backbone(config.backbone.kind),
          "a teacher (--teacher-concepts) needs a feature cache of a pretrained backbone "
          "or a pretrained --backbone to fine-tune");
      config.model.teacher_classes(train::teacher_classes_of(teacher_meta(config, cache_meta)));
    }
    HCMSN_CHECK(config.model.teacher_classes() > 0 ||
                    (config.loss.lambda_kd() == 0 && config.loss.lambda_bridge() == 0),
                "--lambda-kd and --lambda-bridge need the teacher: give --teacher-concepts");
    config.model.num_seen_classes(static_cast<int64_t>(config.seen_classes.size()));
    config.model.sem_dim(semantics.embeddings.size(1));
    config.model.in_dim(config.backbone.kind == "none" ? all.inputs.size(1)
                        : config.backbone.out_dim > 0  ? config.backbone.out_dim
                                                       : config.backbone.channels.back());
    // Keep only the run's classes' vectors, seen first: the run folder is self-contained.
    std::vector<std::string> names = config.seen_classes;
    names.insert(names.end(), config.validation_classes.begin(), config.validation_classes.end());
    names.insert(names.end(), config.unseen_classes.begin(), config.unseen_classes.end());
    semantics.embeddings =
        train::class_embeddings_for(names, semantics.class_names, semantics.embeddings);
    semantics.class_names = names;
    // Every rank has checked the run folder before rank 0 writes into it.
    if (communicator) communicator->barrier();
    if (!communicator || communicator->is_main()) {
      std::filesystem::create_directories(o.out);
      train::write_run_semantics(o.out, semantics);
    }
  }
  train::TrainingSet seen = all.subset_classes(config.seen_classes);
  const train::TrainingSet extra_photos =
      config.data.extra_photos.empty()
          ? train::TrainingSet{}
          : train::extra_photo_rows(config.seen_classes, cache_meta, config.data.extra_photos);
  // Held-out rows: the validation classes when the run has them (never the test classes).
  train::TrainingSet held_out = all.subset_classes(
      config.validation_classes.empty() ? config.unseen_classes : config.validation_classes);
  const torch::Tensor seen_embeddings =
      train::class_embeddings_for(config.seen_classes, semantics.class_names, semantics.embeddings);

  train::Trainer trainer(o.out, config, std::move(seen), std::move(held_out), seen_embeddings,
                         extra_photos);
  trainer.set_communicator(communicator);
  if (!o.resume && config.model.teacher_classes() > 0) {
    train::TeacherSource source{teacher_meta(config, cache_meta), o.teacher_concepts,
                                o.teacher_concepts_classes};
    if (source.concepts_classes.empty()) {
      source.concepts_classes =
          std::filesystem::path(o.teacher_concepts).replace_extension(".classes.txt").string();
    }
    train::install_teacher(*trainer.network()->hcmsn(), source);
  }
  const auto result = trainer.train(o.resume);
  if (result.finished) {
    util::log_info("finished: best {} score {:.4f} at epoch {}; run in {}",
                   config.validation_classes.empty() ? "unseen" : "validation",
                   result.state.best_score, result.state.best_epoch, o.out);
  }
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<TrainCommandOptions>();
  auto& c = o->config;
  auto* cmd = app.add_subcommand(
      "train", "Train HCMSN on the seen classes; evaluate zero-shot retrieval on the unseen ones.");
  auto* data = cmd->add_option_group("data");
  data->add_option("--features", o->features, "a feature cache (hcmsn extract)");
  data->add_option("--images", o->images, "an image folder ROOT/{sketch,photo}/<class>/*");
  cmd->add_option("--extra-photos", c.data.extra_photos,
                  "with --features: a feature cache of extra training photos (hcmsn extract "
                  "--photo-views: augmented views); only the training classes' rows are used, "
                  "never for validation or evaluation");
  add_dataset_source_flags(*cmd, o->dataset);
  auto* stream = cmd->add_option_group("streaming (dataset flags)");
  stream
      ->add_option("--workers", c.data.prefetch.workers,
                   "threads that decode, render and augment the coming batches")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  stream
      ->add_option("--prefetch", c.data.prefetch.window,
                   "batches loaded ahead of the step (memory: (this + 1) x batch x 3 x S^2 "
                   "bytes)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  stream->add_option("--render-size", c.data.render.size, "drawings are rasterised at this size")
      ->capture_default_str();
  stream->add_option("--line-width", c.data.render.line_width, "stroke width of drawings")
      ->capture_default_str();
  cmd->add_option("--semantics", o->semantics, "class embeddings, .npy float (M, D)");
  cmd->add_option("--semantics-classes", o->semantics_classes, "the M class names, one per line");
  cmd->add_option("--unseen", o->unseen_file, "unseen (test) classes, one per line");
  cmd->add_option("--seen", o->seen_file, "seen classes (default: every other class)");
  cmd->add_option("--train-classes", o->train_classes,
                  "paired: the seen classes with sketches and photos; sketched: every class of the "
                  "data with sketches that is not unseen (photos or not)")
      ->check(CLI::IsMember({"paired", "sketched"}))
      ->capture_default_str();
  cmd->add_option("--val-classes", o->val_classes,
                  "hold this many seen classes (with photos, spread over the class order) out of "
                  "training to pick the best checkpoint and the fusion weights; 0: evaluate on "
                  "the unseen classes while training")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  auto* folds = cmd->add_option("--val-folds", o->val_folds,
                                "split the validation pool into K folds (every K-th class) and "
                                "hold out the one --val-fold names: K runs, one per fold, "
                                "validate on every class of the pool (hcmsn select-fusion)")
                    ->check(CLI::Range(int64_t{2}, int64_t{1000}))
                    ->excludes("--val-classes");
  cmd->add_option("--val-fold", o->val_fold, "which fold --val-folds holds out (0 .. K-1)")
      ->check(CLI::NonNegativeNumber)
      ->needs(folds)
      ->capture_default_str();
  cmd->add_option("--val-pool", o->val_pool,
                  "where validation classes come from: all (every seen class with photos) or "
                  "other-unseen (those another standard split holds out as unseen: classes chosen "
                  "the way test classes are; all of them when fewer than --val-classes)")
      ->check(CLI::IsMember({"all", "other-unseen"}))
      ->capture_default_str();
  cmd->add_option("--split", o->split,
                  "a standard zero-shot split (sketchy25, sketchy21, tuberlin30, quickdraw30) "
                  "instead of --unseen/--seen");
  cmd->add_option("--out", o->out, "the run folder")->required();
  cmd->add_flag("--resume", o->resume, "continue the run in --out from its last checkpoint");
  cmd->add_flag("--force", o->force,
                "start the run in an --out folder that holds other files (the run's files "
                "replace any of the same names); never allows an input inside --out");

  auto* m = cmd->add_option_group("model");
  m->add_option_function<int64_t>(
      "--dim", [&c](int64_t v) { c.model.dim(v); }, "retrieval feature size d (default 512)");
  m->add_option_function<int64_t>(
      "--hidden", [&c](int64_t v) { c.model.hidden(v); }, "hidden width of F, S, R (default 1024)");
  m->add_option_function<double>(
      "--curvature", [&c](double v) { c.model.curvature(v); },
      "c of the Poincare ball; 0 = Euclidean (default 0.01)");
  m->add_flag_function(
      "--learn-curvature", [&c](int64_t) { c.model.learn_curvature(true); },
      "learn c, starting from --curvature");
  m->add_option_function<double>(
      "--clip-r", [&c](double v) { c.model.clip_r(v); },
      "feature clipping radius before exp0 (default 2.3)");
  m->add_option("--classifier", o->classifier, "mlr or prototype")
      ->check(CLI::IsMember({"mlr", "prototype"}))
      ->capture_default_str();
  m->add_flag_function(
      "--shared-input", [&c](int64_t) { c.model.shared_feature_input(true); },
      "one input layer of F for both modalities (end-to-end training)");
  m->add_option_function<double>(
      "--dropout", [&c](double v) { c.model.dropout(v); }, "dropout of F, S, R (default 0.2)");
  m->add_option("--backbone", c.backbone.kind,
                "small-cnn (from scratch, --images or a dataset) or a pretrained backbone to "
                "fine-tune end to end on a streamed dataset: mobilenet_v2, resnet50")
      ->check(CLI::IsMember({"none", "small-cnn", "mobilenet_v2", "resnet50"}));
  m->add_option("--weights", c.backbone.weights,
                "the pretrained backbone's ImageNet weights (.safetensors or .pth)");
  m->add_flag("--train-bn", o->train_bn,
              "let BatchNorm layers of a pretrained backbone train (default: frozen; the shared "
              "MobileNetV2 weights have BN folded and need it frozen)");
  m->add_option("--backbone-lr-factor", c.backbone.lr_factor,
                "the pretrained backbone's learning rate relative to the heads'")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  m->add_option("--image-size", o->image_size,
                "input side in pixels (default: 224 for a pretrained backbone, 64 small-cnn)");
  m->add_option("--cnn-channels", c.backbone.channels, "small-cnn stage widths")
      ->delimiter(',')
      ->capture_default_str();
  m->add_option("--cnn-convs", c.backbone.convs_per_stage, "small-cnn convolutions per stage")
      ->capture_default_str();
  m->add_option("--cnn-out-dim", c.backbone.out_dim,
                "small-cnn feature size (0: the pooled features)")
      ->capture_default_str();

  auto* l = cmd->add_option_group("loss");
  l->add_option_function<double>(
      "--lambda-cls", [&c](double v) { c.loss.lambda_cls(v); }, "weight of L_cls (default 1)");
  l->add_option_function<double>(
      "--lambda-adv", [&c](double v) { c.loss.lambda_adv(v); }, "weight of L_adv (default 1)");
  l->add_option_function<double>(
      "--lambda-align", [&c](double v) { c.loss.lambda_align(v); },
      "weight of the direct alignment (default 1)");
  l->add_option_function<double>(
      "--lambda-rec", [&c](double v) { c.loss.lambda_rec(v); }, "weight of L_rec (default 1)");
  l->add_option_function<double>(
      "--lambda-triplet", [&c](double v) { c.loss.lambda_triplet(v); },
      "weight of the hyperbolic triplet term (default 0)");
  l->add_option_function<double>(
      "--margin", [&c](double v) { c.loss.margin(v); }, "triplet margin (default 1)");
  l->add_flag("--no-cls", o->no_cls, "ablation: drop L_cls");
  l->add_flag("--no-adv", o->no_adv, "ablation: drop L_adv (and the discriminator)");
  l->add_flag("--no-rec", o->no_rec, "ablation: drop L_rec");
  l->add_option_function<double>(
      "--lambda-kd", [&c](double v) { c.loss.lambda_kd(v); },
      "knowledge preservation: distil the teacher into a student head on f (default 0; needs "
      "--teacher-concepts)");
  l->add_option_function<double>(
      "--kd-temperature", [&c](double v) { c.loss.kd_temperature(v); },
      "temperature T of the distillation (default 2)");
  l->add_option_function<double>(
      "--lambda-bridge", [&c](double v) { c.loss.lambda_bridge(v); },
      "the ConSE bridge as S's target for photos (default 0; needs --teacher-concepts)");

  auto* k = cmd->add_option_group("knowledge transfer");
  k->add_option("--teacher-concepts", o->teacher_concepts,
                "embeddings of the teacher's class names (.npy, one row per ImageNet class: "
                "share/semantics/bert_minilm_imagenet1000.npy): installs the backbone's own "
                "classifier as a frozen teacher and the photo-free ConSE bridge");
  k->add_option("--teacher-concepts-classes", o->teacher_concepts_classes,
                "their class list (default: next to the .npy, .classes.txt)");
  k->add_option_function<int64_t>(
      "--conse-top", [&c](int64_t v) { c.model.conse_top(v); },
      "m: the teacher's top-m classes place a photo in the semantic space (default 10)");
  k->add_flag_function(
      "--fusion", [&c](int64_t) { c.model.fused_embedding(true); },
      "retrieve by the fused embedding: backbone cosine + semantic cosine + HCMSN's distance, "
      "weighted (chosen on --val-classes unless --fusion-weights)");
  k->add_option(
      "--fusion-weights", c.trainer.fusion_weights,
      "fixed fusion weights backbone,semantic,hyperbolic summing to 1 (e.g. 0.5,0.3,0.2)");
  k->add_option("--fusion-grid", c.trainer.fusion_grid_steps,
                "steps per unit of the simplex grid the fusion weights are chosen from")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  auto& t = c.trainer;
  auto* tr = cmd->add_option_group("training");
  tr->add_option("--epochs", t.epochs)->capture_default_str();
  tr->add_option_function<int64_t>(
      "--classes-per-batch", [&t](int64_t v) { t.sampler.classes_per_batch(v); },
      "classes in a batch (default 16)");
  tr->add_option_function<int64_t>(
      "--per-class", [&t](int64_t v) { t.sampler.per_class(v); },
      "sketches and photos per class in a batch (default 4)");
  tr->add_option_function<int64_t>(
      "--batches-per-epoch", [&t](int64_t v) { t.sampler.batches_per_epoch(v); },
      "0 = about one pass over the data (default)");
  tr->add_option("--lr", t.lr, "Adam learning rate of the generator")->capture_default_str();
  tr->add_option("--disc-lr", t.disc_lr, "Adam learning rate of D")->capture_default_str();
  tr->add_option("--weight-decay", t.weight_decay)->capture_default_str();
  tr->add_option("--schedule", o->schedule, "constant, cosine or step")
      ->check(CLI::IsMember({"constant", "cosine", "step"}))
      ->capture_default_str();
  tr->add_option("--warmup-steps", t.warmup_steps)->capture_default_str();
  tr->add_option("--average-from", t.average_from,
                 "average the weights after every step from this fraction of the run on (dense "
                 "weight averaging: evaluated, best and last checkpoints hold the mean); 1 = off")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  tr->add_option("--checkpoint-rule", o->checkpoint_rule,
                 "which evaluated epoch best.ckpt holds: best (the best held-out score) or one-se "
                 "(the earliest within one standard error of the best, over the held-out classes)")
      ->check(CLI::IsMember({"best", "one-se"}))
      ->capture_default_str();
  tr->add_option("--grad-clip", t.grad_clip, "gradient-norm clip, 0 = off")->capture_default_str();
  tr->add_option("--seed", t.seed)->capture_default_str();
  add_device_option(cmd, t.device);
  add_precision_option(cmd, t.precision);
  add_distributed_options(cmd, o->distributed);
  tr->add_flag("--no-augment", o->no_augment, "no random flips and shifts of images");
  tr->add_option("--checkpoint-every", t.checkpoint_every, "steps between checkpoints")
      ->capture_default_str();
  tr->add_option("--eval-every", t.eval_every,
                 "epochs between held-out evaluations (validation, else unseen), 0 = never")
      ->capture_default_str();
  tr->add_option("--eval-batch", t.eval_batch,
                 "rows per forward pass when evaluating (also hcmsn eval's, recorded in the run)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  tr->add_option("--k", t.ks, "cut-offs for Prec@K and mAP@K")
      ->delimiter(',')
      ->capture_default_str();
  tr->add_option("--max-steps", t.max_steps, "stop after this many steps (resumable)")
      ->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "no progress bars");
  cmd->callback([o, &exit_code] { exit_code = run_train(*o); });
}

}  // namespace hcmsn::cli
