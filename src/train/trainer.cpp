#include "hcmsn/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "hcmsn/data/batch_prefetcher.h"
#include "hcmsn/metrics/report.h"
#include "hcmsn/model/losses.h"
#include "hcmsn/train/balanced_sampler.h"
#include "hcmsn/train/fused_adam.h"
#include "hcmsn/train/fusion_selection.h"
#include "hcmsn/train/retrieval_eval.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/device.h"
#include "hcmsn/util/interrupt.h"
#include "hcmsn/util/log.h"
#include "hcmsn/util/mix64.h"
#include "hcmsn/util/precision.h"
#include "hcmsn/util/progress.h"

namespace hcmsn::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

uint64_t step_seed(uint64_t seed, int64_t global_step) {
  return util::mix64(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(global_step) + 1) >>
         1;  // manual_seed takes any uint64; keep it positive for clarity
}

void set_lr(torch::optim::Adam& opt, double lr) {
  for (auto& group : opt.param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
}

// Random horizontal flips and shifts of up to 1/16 of the side, per row, on uint8 images.
torch::Tensor augment_images(const torch::Tensor& images) {
  const int64_t b = images.size(0);
  const int64_t max_shift = std::max<int64_t>(1, images.size(2) / 16);
  auto flip = torch::rand({b}) < 0.5;
  auto shifts = torch::randint(-max_shift, max_shift + 1, {b, 2}, torch::kInt64);
  auto out = torch::where(flip.view({b, 1, 1, 1}), images.flip({3}), images);
  std::vector<torch::Tensor> rows;
  rows.reserve(b);
  const auto s = shifts.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i) {
    rows.push_back(torch::roll(out[i], {s[i][0], s[i][1]}, {1, 2}));
  }
  return torch::stack(rows);
}

void add_term(nlohmann::json& record, const char* name, const torch::Tensor& t) {
  if (t.defined()) record[name] = t.item<double>();
}

}  // namespace

double lr_factor(const TrainerOptions& o, int64_t step, int64_t total_steps) {
  if (o.warmup_steps > 0 && step < o.warmup_steps) {
    return static_cast<double>(step + 1) / static_cast<double>(o.warmup_steps);
  }
  const double span = static_cast<double>(std::max<int64_t>(1, total_steps - o.warmup_steps));
  const double t = std::clamp(static_cast<double>(step - o.warmup_steps) / span, 0.0, 1.0);
  switch (o.schedule) {
    case LrSchedule::kConstant:
      return 1.0;
    case LrSchedule::kCosine:
      return o.min_lr_ratio + (1.0 - o.min_lr_ratio) * 0.5 * (1.0 + std::cos(kPi * t));
    case LrSchedule::kStep:
      return t < 0.5 ? 1.0 : (t < 0.75 ? 0.1 : 0.01);
  }
  return 1.0;
}

Trainer::Trainer(std::string run_dir, RunConfig config, TrainingSet seen, TrainingSet unseen,
                 torch::Tensor seen_class_embeddings, const TrainingSet& extra_photos)
    : run_dir_(std::move(run_dir)),
      config_(std::move(config)),
      seen_(std::move(seen)),
      unseen_(std::move(unseen)),
      class_embeddings_(std::move(seen_class_embeddings)) {
  HCMSN_CHECK(!run_dir_.empty(), "give the run folder (--out)");
  seen_.validate();
  HCMSN_CHECK(seen_.size() > 0, "there are no training rows of the seen classes");
  HCMSN_CHECK(seen_.class_names == config_.seen_classes,
              "the training rows' classes differ from the run's seen classes");
  reference_ = seen_;
  if (extra_photos.size() > 0) {
    HCMSN_CHECK(extra_photos.modality_counts().first == 0, "extra training rows must be photos");
    seen_ = concat_rows(seen_, extra_photos);
  }
  HCMSN_CHECK(config_.model.num_seen_classes() == static_cast<int64_t>(config_.seen_classes.size()),
              "the model has ", config_.model.num_seen_classes(), " outputs for ",
              config_.seen_classes.size(), " seen classes");
  if (config_.trainer.eval_every > 0) {
    unseen_.validate();
    HCMSN_CHECK(
        unseen_.class_names == (validating() ? config_.validation_classes : config_.unseen_classes),
        "the evaluation rows' classes differ from the run's ",
        validating() ? "validation" : "unseen", " classes");
  }
  HCMSN_CHECK(class_embeddings_.dim() == 2 &&
                  class_embeddings_.size(0) == static_cast<int64_t>(seen_.class_names.size()) &&
                  class_embeddings_.size(1) == config_.model.sem_dim(),
              "the seen classes' embeddings must be (", seen_.class_names.size(), ", ",
              config_.model.sem_dim(), "), got ", class_embeddings_.sizes());
  HCMSN_CHECK(config_.trainer.epochs > 0, "epochs must be > 0");
  HCMSN_CHECK(config_.trainer.lr > 0 && config_.trainer.disc_lr > 0, "learning rates must be > 0");

  HCMSN_CHECK(config_.trainer.fusion_weights.empty() || config_.model.fused_embedding(),
              "fusion weights need a fused embedding (train --fusion)");
  HCMSN_CHECK(!config_.model.fused_embedding() || !config_.trainer.fusion_weights.empty() ||
                  validating() || config_.trainer.eval_every == 0,
              "a fused embedding needs fixed weights (--fusion-weights) or validation classes "
              "(--val-classes) to choose them on; the test classes never choose them");
  torch::manual_seed(config_.trainer.seed);
  network_ = build_network(config_, /*load_pretrained=*/true);
  device_ = util::parse_device(config_.trainer.device);
  network_->to(device_);
  network_->set_precision(util::parse_precision(config_.trainer.precision));
  class_embeddings_ = class_embeddings_.to(device_);
  if (!config_.trainer.fusion_weights.empty()) {
    network_->hcmsn()->set_fusion(model::parse_fusion_weights(config_.trainer.fusion_weights));
  }
  const auto& t = config_.trainer;
  const auto adam = torch::optim::AdamOptions(t.lr)
                        .betas(std::make_tuple(t.beta1, t.beta2))
                        .weight_decay(t.weight_decay);
  if (network_->has_backbone() && config_.backbone.kind != "small-cnn") {
    // A pretrained backbone learns at its own rate (BackboneSpec::lr_factor); frozen BatchNorm
    // parameters take no step at all.
    std::vector<torch::Tensor> backbone;
    for (const auto& p : network_->backbone()->parameters()) {
      if (p.requires_grad()) backbone.push_back(p);
    }
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(backbone);
    groups.emplace_back(network_->hcmsn()->generator_parameters());
    group_lr_factors_ = {config_.backbone.lr_factor, 1.0};
    generator_opt_ = std::make_unique<FusedAdam>(std::move(groups), adam);
  } else {
    generator_opt_ = std::make_unique<FusedAdam>(network_->generator_parameters(), adam);
  }
  discriminator_opt_ = std::make_unique<FusedAdam>(
      network_->discriminator_parameters(),
      torch::optim::AdamOptions(t.disc_lr).betas(std::make_tuple(0.5, 0.999)));
  HCMSN_CHECK(t.average_from >= 0 && t.average_from <= 1, "--average-from must lie in [0, 1], got ",
              t.average_from);
  if (t.average_from < 1) average_ = std::make_unique<WeightAverage>(*network_);
}

void Trainer::set_communicator(std::shared_ptr<distributed::Communicator> communicator) {
  if (communicator) {
    const int64_t classes = config_.trainer.sampler.classes_per_batch();
    HCMSN_CHECK(classes % communicator->world_size() == 0, "--classes-per-batch ", classes,
                " must be a multiple of the number of processes (", communicator->world_size(),
                "): each process takes whole classes of the batch");
  }
  communicator_ = std::move(communicator);
}

Trainer::Share Trainer::shard(const torch::Tensor& rows) const {
  if (!communicator_) return {rows, {}};  // positions are the batch's own
  std::vector<int64_t> positions;
  const auto labels = seen_.labels.index_select(0, rows);
  const auto* r = rows.data_ptr<int64_t>();
  const auto* y = labels.data_ptr<int64_t>();
  std::vector<int64_t> order;  // the batch's classes in order of first appearance
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < rows.size(0); ++i) {
    auto at = std::find(order.begin(), order.end(), y[i]);
    if (at == order.end()) at = order.insert(order.end(), y[i]);
    if ((at - order.begin()) % communicator_->world_size() == communicator_->rank()) {
      keep.push_back(r[i]);
      positions.push_back(i);
    }
  }
  return {torch::tensor(keep, torch::kInt64), positions};
}

Trainer::Batch Trainer::memory_batch(const torch::Tensor& rows) const {
  Batch batch;
  batch.inputs = seen_.inputs.index_select(0, rows);
  batch.labels = seen_.labels.index_select(0, rows);
  batch.modality = seen_.modality.index_select(0, rows);
  batch.augment_in_step = seen_.is_images() && config_.trainer.augment;
  return batch;
}

void Trainer::set_learning_rates(double factor) {
  const auto& t = config_.trainer;
  auto& groups = generator_opt_->param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    const double group_factor = g < group_lr_factors_.size() ? group_lr_factors_[g] : 1.0;
    static_cast<torch::optim::AdamOptions&>(groups[g].options()).lr(t.lr * factor * group_factor);
  }
  set_lr(*discriminator_opt_, t.disc_lr * factor);
}

nlohmann::json Trainer::step(const Batch& batch, int64_t global_step, int64_t total_steps) {
  const auto& t = config_.trainer;
  torch::manual_seed(step_seed(t.seed, global_step));
  set_learning_rates(lr_factor(t, global_step, total_steps));

  network_->train();
  auto x = batch.inputs;
  if (batch.augment_in_step) x = augment_images(x);  // on the CPU, from the step's seed
  x = x.to(device_);
  const auto labels = batch.labels.to(device_);
  const auto modality = batch.modality.to(device_);
  const auto out = network_->forward(x, modality);

  nlohmann::json record;
  if (config_.loss.lambda_adv() > 0) {
    discriminator_opt_->zero_grad();
    const auto w_y = model::class_embeddings_of(class_embeddings_.to(out.s.dtype()), labels);
    const auto d_loss = model::discriminator_loss(network_->hcmsn()->discriminator(), w_y, out.s);
    d_loss.backward();
    if (communicator_) {
      const auto begin = std::chrono::steady_clock::now();
      distributed::average_gradients(*communicator_, network_->discriminator_parameters());
      communication_seconds_ += util::seconds_since(begin);
    }
    discriminator_opt_->step();
    record["disc"] = d_loss.item<double>();
  }
  generator_opt_->zero_grad();
  const auto terms =
      model::total_loss(*network_->hcmsn(), out, labels, modality, class_embeddings_, config_.loss);
  double total = terms.total.item<double>();
  // Every rank sees the same verdict, so none waits for a rank that stopped.
  if (communicator_) total = communicator_->average(total);
  HCMSN_CHECK(std::isfinite(total), "training diverged at step ", global_step,
              " (loss is not finite); lower --lr or raise --grad-clip; the last checkpoint is "
              "unchanged");
  terms.total.backward();
  if (communicator_) {
    const auto begin = std::chrono::steady_clock::now();
    distributed::average_gradients(*communicator_, network_->generator_parameters());
    communication_seconds_ += util::seconds_since(begin);
  }
  if (t.grad_clip > 0) {
    // Clipping folded into the update pass (the same factor clip_grad_norm_ would apply).
    generator_opt_->step_scaled(
        clip_grad_norm_factor(network_->generator_parameters(), t.grad_clip));
  } else {
    generator_opt_->step();
  }
  record["total"] = total;
  add_term(record, "cls", terms.cls);
  add_term(record, "adv", terms.adv);
  add_term(record, "align", terms.align);
  add_term(record, "rec", terms.rec);
  add_term(record, "triplet", terms.triplet);
  add_term(record, "kd", terms.kd);
  add_term(record, "bridge", terms.bridge);
  if (communicator_) {
    // The logged terms are the global batch's: the mean of the ranks' (equal shares).
    std::vector<double> values;
    for (auto it = record.begin(); it != record.end(); ++it) {
      values.push_back(it.value().get<double>());
    }
    auto tensor = torch::tensor(values, torch::kFloat64);
    communicator_->average(std::vector<torch::Tensor>{tensor});
    int64_t i = 0;
    for (auto it = record.begin(); it != record.end(); ++it)
      it.value() = tensor[i++].item<double>();
  }
  return record;
}

bool Trainer::validating() const {
  return !config_.validation_classes.empty();
}

std::tuple<std::string, nlohmann::json, double> Trainer::evaluate_held_out() {
  const auto& t = config_.trainer;
  // Data parallelism: every rank embeds a share of the rows and ranks a share of the queries;
  // all end with the single-process figures.
  const util::Sharding sharding = distributed::sharding_of(communicator_.get());
  if (validating() && config_.model.fused_embedding() && t.fusion_weights.empty()) {
    const FusionChoice choice =
        select_fusion(*network_, unseen_, reference_, t.fusion_grid_steps, t.eval_batch, sharding);
    network_->hcmsn()->set_fusion(choice.weights);
    nlohmann::json value = {{"map_all", choice.best.map_standard},
                            {"map_all_generalised", choice.best.map_generalised},
                            {"score", choice.best.score()},
                            {"fusion", model::to_string(choice.weights)},
                            {"backbone_only", choice.backbone.score()},
                            {"class_scores", choice.best.class_scores}};
    return {"validation", value, choice.best.score()};
  }
  if (config_.model.fused_embedding()) {
    // Fixed weights: κ still follows h, measured on the training rows.
    auto weights = network_->hcmsn()->fusion();
    weights.hyperbolic_scale =
        hyperbolic_scale_of(*network_, reference_, 2048, t.eval_batch, sharding);
    network_->hcmsn()->set_fusion(weights);
  }
  if (validating() && config_.model.fused_embedding()) {
    // One embedding pass scores the run's weights and the backbone alone.
    const auto scores =
        score_fusion(*network_, unseen_, reference_, {network_->hcmsn()->fusion(), {1, 0, 0, 1}},
                     t.eval_batch, sharding);
    const FusionScore& score = scores[0];
    const FusionScore& backbone = scores[1];
    nlohmann::json value = {{"map_all", score.map_standard},
                            {"map_all_generalised", score.map_generalised},
                            {"score", score.score()},
                            {"fusion", model::to_string(network_->hcmsn()->fusion())},
                            {"backbone_only", backbone.score()},
                            {"class_scores", score.class_scores}};
    return {"validation", value, score.score()};
  }
  metrics::EvaluationOptions eval;
  eval.ks = t.ks;
  eval.progress = false;
  eval.sharding = sharding;
  const auto result =
      evaluate_split(embed_split(*network_, unseen_, t.eval_batch, false, sharding), eval);
  nlohmann::json value = metrics::to_json(result);
  value.erase("per_class");
  nlohmann::json class_scores = nlohmann::json::object();
  for (const auto& c : result.per_class) class_scores[c.name] = c.map_all;
  value["class_scores"] = class_scores;
  return {validating() ? "validation" : "unseen", value, result.map_all};
}

void Trainer::write_log(const TrainerState& state) const {
  std::string lines;
  for (const auto& r : state.history) lines += r.dump() + "\n";
  util::write_file_atomic(log_path(run_dir_), lines);
}

void Trainer::save_last(const TrainerState& state) {
  if (!is_main()) return;
  save_checkpoint(last_checkpoint_path(run_dir_), state, *network_, generator_opt_.get(),
                  discriminator_opt_.get(), average_.get());
}

nlohmann::json Trainer::end_epoch(TrainerState& state, double seconds, int64_t samples) {
  const auto& t = config_.trainer;
  nlohmann::json record;
  record["epoch"] = state.epoch + 1;
  record["global_step"] = state.global_step;
  record["lr"] = t.lr * lr_factor(t, std::max<int64_t>(0, state.global_step - 1), total_steps_);
  nlohmann::json loss = nlohmann::json::object();
  const int64_t steps = state.epoch_sums.value("steps", int64_t{0});
  for (auto it = state.epoch_sums.begin(); it != state.epoch_sums.end(); ++it) {
    if (it.key() != "steps" && steps > 0) loss[it.key()] = it.value().get<double>() / steps;
  }
  record["loss"] = loss;
  record["seconds"] = seconds;
  record["samples_per_second"] = seconds > 0 ? samples / seconds : 0.0;
  if (seen_.is_streamed()) {
    // Streaming: the share of the epoch the step waited for data, and what could not be read.
    record["data_wait_share"] = seconds > 0 ? data_wait_seconds_ / seconds : 0.0;
    record["unreadable_items"] = unreadable_items_;
  }
  if (communicator_) {
    // Data parallelism: the share of the epoch this rank spent averaging gradients.
    record["processes"] = communicator_->world_size();
    record["allreduce_share"] = seconds > 0 ? communication_seconds_ / seconds : 0.0;
  }
  record["curvature"] = network_->hcmsn()->curvature().value();
  record["best"] = false;
  if (average_) record["averaged_steps"] = average_->count();
  // Evaluation and best.ckpt see the weights the run delivers.
  const AveragedWeights averaged(average_.get());
  const bool evaluate =
      t.eval_every > 0 && ((state.epoch + 1) % t.eval_every == 0 || state.epoch + 1 == t.epochs);
  if (evaluate) {
    const auto [key, value, score] = evaluate_held_out();
    record[key] = value;
    if (state.epoch == 0 && state.epoch0.is_object()) record["epoch0"] = state.epoch0;
    if (score > state.best_score) {
      state.best_score = score;
      state.best_epoch = state.epoch + 1;
      record["best"] = true;
    }
  }
  state.history.push_back(record);
  if (!is_main()) return record;
  write_log(state);
  if (record["best"].get<bool>()) {
    save_checkpoint(best_checkpoint_path(run_dir_), state, *network_, nullptr, nullptr);
  }
  if (evaluate && t.checkpoint_rule != CheckpointRule::kBest) {
    std::filesystem::create_directories(std::filesystem::path(run_dir_) / "epochs");
    save_checkpoint(epoch_checkpoint_path(run_dir_, state.epoch + 1), state, *network_, nullptr,
                    nullptr);
  }
  return record;
}

void Trainer::apply_checkpoint_rule(TrainerState& state) {
  const auto& t = config_.trainer;
  if (t.checkpoint_rule == CheckpointRule::kBest || t.eval_every == 0 || state.history.empty() ||
      state.history.back().contains("checkpoint")) {
    return;  // nothing to choose, or chosen already (a resumed finished run)
  }
  std::vector<EpochClassScores> epochs;
  std::map<int64_t, double> logged;
  for (const auto& record : state.history) {
    for (const char* key : {"validation", "unseen"}) {
      if (!record.contains(key)) continue;
      EpochClassScores e;
      e.epoch = record["epoch"].get<int64_t>();
      HCMSN_CHECK(record[key].contains("class_scores"), "epoch ", e.epoch,
                  " of this run logged no class scores, which --checkpoint-rule one-se needs: "
                  "train the run again");
      e.class_scores = record[key]["class_scores"].get<std::map<std::string, double>>();
      logged[e.epoch] = record[key]["score"].is_number() ? record[key]["score"].get<double>()
                                                         : record[key]["map_all"].get<double>();
      epochs.push_back(std::move(e));
    }
  }
  const CheckpointChoice choice = choose_checkpoint(epochs, t.checkpoint_rule);
  state.best_epoch = choice.chosen_epoch;
  state.best_score = logged.at(choice.chosen_epoch);
  state.history.back()["checkpoint"] = {{"rule", to_string(t.checkpoint_rule)},
                                        {"best_epoch", choice.best_epoch},
                                        {"chosen_epoch", choice.chosen_epoch},
                                        {"standard_error", choice.standard_error}};
  util::log_info("checkpoint rule {}: epoch {} (the best epoch is {}; standard error {:.4f})",
                 to_string(t.checkpoint_rule), choice.chosen_epoch, choice.best_epoch,
                 choice.standard_error);
  if (!is_main()) return;
  // best.ckpt first, then the log and last.ckpt that record the choice, then the epochs: a run
  // stopped in between chooses again on resume from files that are all still there.
  util::write_file_atomic(best_checkpoint_path(run_dir_),
                          util::read_file(epoch_checkpoint_path(run_dir_, choice.chosen_epoch)));
  write_log(state);
  save_last(state);
  std::filesystem::remove_all(std::filesystem::path(run_dir_) / "epochs");
}

TrainResult Trainer::train(bool resume) {
  const auto& t = config_.trainer;
  std::filesystem::create_directories(run_dir_);
  TrainerState state;
  if (resume) {
    const std::string last = last_checkpoint_path(run_dir_);
    HCMSN_CHECK(std::filesystem::exists(last), "cannot resume: ", last,
                " does not exist (the run never reached its first checkpoint; start it again "
                "without --resume)");
    state = load_checkpoint(last, *network_, generator_opt_.get(), discriminator_opt_.get(),
                            average_.get());
    util::log_info("resuming {} at epoch {}, step {} (global step {})", run_dir_, state.epoch + 1,
                   state.step_in_epoch, state.global_step);
  } else {
    if (is_main()) write_run_config(run_dir_, config_);
    if (t.eval_every > 0) {
      // Where the untrained network stands, so the log shows what training added.
      state.epoch0 = std::get<1>(evaluate_held_out());
      state.epoch0.erase("seconds");  // a record of the state, like the history: no wall clock
    }
  }

  // trainer.seed is the run's one seed (config.json keeps no other): it seeds the batches too.
  const BalancedSampler sampler(seen_.labels, seen_.modality,
                                BalancedSamplerOptions(t.sampler).seed(t.seed));
  const int64_t per_epoch = sampler.batches_per_epoch();
  total_steps_ = t.epochs * per_epoch;
  const int64_t first_averaged = first_averaged_step(t.average_from, total_steps_);
  TrainResult result;
  while (state.epoch < t.epochs) {
    const auto batches = sampler.epoch_batches(state.epoch);
    // Streamed rows: worker threads load the rest of the epoch's batches ahead of the step.
    std::unique_ptr<data::BatchPrefetcher> prefetcher;
    int64_t images_left = 0;
    if (seen_.is_streamed()) {
      std::vector<std::vector<int64_t>> rest, places;
      for (int64_t k = state.step_in_epoch; k < per_epoch; ++k) {
        const auto share = shard(batches[static_cast<size_t>(k)]);
        const auto& rows = share.rows;
        rest.emplace_back(rows.data_ptr<int64_t>(), rows.data_ptr<int64_t>() + rows.size(0));
        if (communicator_) places.push_back(share.positions);
        images_left += rows.size(0);
      }
      const bool augment = t.augment;
      prefetcher = std::make_unique<data::BatchPrefetcher>(
          std::move(rest), state.global_step,
          [this, augment](int64_t row, uint64_t seed) {
            return seen_.source->load(seen_.items[static_cast<size_t>(row)], augment, seed);
          },
          seen_.source->pixels.size, t.seed, seen_.source->prefetch, std::move(places));
    }
    util::Progress bar(prefetcher ? images_left : per_epoch - state.step_in_epoch,
                       {fmt::format("epoch {}/{}", state.epoch + 1, t.epochs),
                        prefetcher ? "images" : "steps", t.progress});
    const auto start = std::chrono::steady_clock::now();
    int64_t samples = 0;
    data_wait_seconds_ = 0;
    unreadable_items_ = 0;
    communication_seconds_ = 0;
    while (state.step_in_epoch < per_epoch) {
      if ((t.max_steps > 0 && state.global_step >= t.max_steps) || util::interrupt_requested()) {
        save_last(state);
        util::log_info("stopped at global step {}; continue with --resume", state.global_step);
        result.state = state;
        return result;
      }
      Batch batch;
      int64_t batch_size = 0;
      if (prefetcher) {
        auto loaded = prefetcher->next();
        HCMSN_ASSERT(loaded.has_value(), "the prefetcher ran out of batches");
        for (const auto& [row, reason] : loaded->unreadable) {
          util::log_warn("skipped an unreadable item: {}", reason);
        }
        unreadable_items_ += static_cast<int64_t>(loaded->unreadable.size());
        const auto rows = torch::tensor(loaded->rows, torch::kInt64);
        batch = {loaded->pixels, seen_.labels.index_select(0, rows),
                 seen_.modality.index_select(0, rows), false};
        batch_size = static_cast<int64_t>(loaded->rows.size() + loaded->unreadable.size());
      } else {
        const auto rows = shard(batches[static_cast<size_t>(state.step_in_epoch)]).rows;
        batch = memory_batch(rows);
        batch_size = rows.size(0);
      }
      // A batch whose every item was unreadable still counts as a step: the schedule and the
      // seeds stay those of an uninterrupted run.
      bool any_rows = batch.labels.size(0) > 0;
      if (communicator_) {
        // Collectives stay in step: a rank whose whole share was unreadable skips with the rest.
        auto empty = torch::tensor({int64_t{any_rows ? 0 : 1}}, torch::kInt64);
        communicator_->sum(empty);
        any_rows = empty.item<int64_t>() == 0;
      }
      if (any_rows) {
        const auto losses = step(batch, state.global_step, total_steps_);
        for (auto it = losses.begin(); it != losses.end(); ++it) {
          state.epoch_sums[it.key()] =
              state.epoch_sums.value(it.key(), 0.0) + it.value().get<double>();
        }
        state.epoch_sums["steps"] = state.epoch_sums.value("steps", int64_t{0}) + 1;
      }
      if (average_ && state.global_step >= first_averaged) average_->update();
      samples += batch.labels.size(0) * (communicator_ ? communicator_->world_size() : 1);
      ++state.step_in_epoch;
      ++state.global_step;
      bar.advance(prefetcher ? batch_size : 1);
      if (t.checkpoint_every > 0 && state.global_step % t.checkpoint_every == 0 &&
          state.step_in_epoch < per_epoch) {
        save_last(state);
      }
    }
    bar.finish();
    if (prefetcher) data_wait_seconds_ = prefetcher->wait_seconds();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto record = end_epoch(state, seconds, samples);
    util::log_info(
        "epoch {}/{}: loss {:.4f}{}", state.epoch + 1, t.epochs, record["loss"].value("total", 0.0),
        record.contains("unseen")
            ? fmt::format(", unseen mAP@all {:.4f}", record["unseen"]["map_all"].get<double>())
        : record.contains("validation")
            ? fmt::format(
                  ", validation mAP@all {:.4f}{}", record["validation"]["map_all"].get<double>(),
                  record["validation"].contains("fusion")
                      ? fmt::format(" (generalised {:.4f}, fusion {})",
                                    record["validation"]["map_all_generalised"].get<double>(),
                                    record["validation"]["fusion"].get<std::string>())
                      : std::string())
            : std::string());
    ++state.epoch;
    state.step_in_epoch = 0;
    state.epoch_sums = nlohmann::json::object();
    save_last(state);
    if (epoch_callback_) epoch_callback_(record);
  }
  apply_checkpoint_rule(state);
  // A finished run delivers the average's mean (as last.ckpt does); training is over.
  if (average_) average_->swap();
  if (t.eval_every == 0 && is_main()) {
    // No evaluation picked a best epoch: the final weights are the ones to use.
    save_checkpoint(best_checkpoint_path(run_dir_), state, *network_, nullptr, nullptr);
  }
  result.state = state;
  result.finished = true;
  return result;
}

}  // namespace hcmsn::train
