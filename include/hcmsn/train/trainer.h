// Trains HCMSN (DESIGN §2) on the seen classes and evaluates zero-shot retrieval on the unseen
// classes every `eval_every` epochs.
//
// One step: a class-balanced batch of sketches and photos (balanced_sampler.h); the forward
// pass; one Adam step of the discriminator D on real class embeddings w_y against S(f); one Adam
// step of everything else on L = Σ λ·term (model/losses.h), with gradient clipping and the
// learning-rate schedule (trainer_options.h). Both optimizers are FusedAdam (fused_adam.h): Adam's
// arithmetic and state, one vectorised pass per parameter with the clip factor folded in.
//
// Determinism and resume: initialisation uses `seed`; each step reseeds the global generator
// from (seed, global step) before dropout and augmentation, and an epoch's batches depend only on
// (seed, epoch); streamed images (TrainingSet::is_streamed) are loaded ahead by worker threads
// (data::BatchPrefetcher) with per-item seeds from (seed, global step, position), so they too are
// the same after a resume. last.ckpt (network, both Adam states, position, history) is written
// every `checkpoint_every` steps and at every epoch end, so a resumed run, also one killed
// mid-epoch, repeats exactly the steps an uninterrupted run would have taken after that checkpoint.
// With weight averaging (TrainerOptions::average_from, weight_average.h) every evaluation,
// best.ckpt and last.ckpt's weights are the average's mean once it holds any; last.ckpt also keeps
// the training weights, so a resume continues both. best.ckpt keeps the weights with the best
// held-out score: mAP@all on the unseen classes, or, when the run has validation classes (seen
// classes held out of training, RunConfig), on those, where a fused run also chooses its fusion
// weights (fusion_selection.h; the score is then the mean of the standard and generalised
// galleries). log.jsonl gets one object per epoch:
//   {"epoch", "global_step", "lr", "loss": {"total", "cls", "adv", "align", "rec", "triplet",
//    "kd", "bridge", "disc"}, "seconds", "samples_per_second",
//    "unseen" or "validation": {"map_all", ...}, "best"}; the first also "epoch0": the untrained
//    network's held-out record.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <tuple>

#include "hcmsn/distributed/communicator.h"
#include "hcmsn/train/checkpoint.h"
#include "hcmsn/train/fused_adam.h"
#include "hcmsn/train/run_config.h"
#include "hcmsn/train/training_set.h"
#include "hcmsn/train/weight_average.h"

namespace hcmsn::train {

struct TrainResult {
  TrainerState state;
  /// False when the run stopped early (max_steps, or an interrupt) and can be resumed.
  bool finished = false;
};

class Trainer {
 public:
  /// `seen` holds the training rows (labels index config.seen_classes), `unseen` the evaluation
  /// rows (labels index config.unseen_classes; may be empty when eval_every is 0);
  /// `seen_class_embeddings` float (num_seen, sem_dim), row k for seen class k. `extra_photos`
  /// (labels index config.seen_classes, photos only; may be empty) are training rows only
  /// (DataSpec::extra_photos): the batches draw from seen + extra, while κ and the validation's
  /// distractor photos stay those of `seen`, so extra views never change what a run reports.
  /// Throws hcmsn::Error on inconsistent sizes.
  Trainer(std::string run_dir, RunConfig config, TrainingSet seen, TrainingSet unseen,
          torch::Tensor seen_class_embeddings, const TrainingSet& extra_photos = {});

  /// Trains from scratch, or, with `resume`, from run_dir/last.ckpt (which must exist). After a
  /// finished run, network() holds the weights the run delivers (the average's mean when
  /// averaging); after a stopped one, the weights training continues from.
  TrainResult train(bool resume);

  model::RetrievalNetwork& network() { return network_; }
  /// Data parallelism (issue 13): this process is one rank of `communicator`. Each step it takes
  /// the batch's classes i with i mod world_size = rank (so --classes-per-batch must be a
  /// multiple of world_size), and the gradients of D and of the generator are averaged over the
  /// ranks before each update: with equal shares that is the gradient of the global batch, so
  /// every rank keeps the same parameters as one process would (up to float rounding). Only
  /// rank 0 writes config, log and checkpoints. Call before train().
  void set_communicator(std::shared_ptr<distributed::Communicator> communicator);
  /// Called after every epoch with its log record (the demo draws its progress from it).
  void on_epoch_end(std::function<void(const nlohmann::json&)> callback) {
    epoch_callback_ = std::move(callback);
  }

 private:
  /// One step's rows: inputs (features or uint8 images), labels, modality.
  struct Batch {
    torch::Tensor inputs, labels, modality;
    /// In-memory images still to be augmented inside the step (streamed ones come augmented).
    bool augment_in_step = false;
  };
  /// This rank's share of a global batch's rows (all of them without a communicator), and
  /// where each of them stands in the global batch (empty without one: their own places).
  struct Share {
    torch::Tensor rows;
    std::vector<int64_t> positions;
  };
  Share shard(const torch::Tensor& rows) const;
  bool is_main() const { return !communicator_ || communicator_->is_main(); }
  /// The batch of `rows` from memory.
  Batch memory_batch(const torch::Tensor& rows) const;
  /// One optimisation step on `batch`; returns the step's loss terms.
  nlohmann::json step(const Batch& batch, int64_t global_step, int64_t total_steps);
  /// The learning rate of every optimizer group: base × schedule factor × the group's factor.
  void set_learning_rates(double factor);
  nlohmann::json end_epoch(TrainerState& state, double seconds, int64_t samples);
  /// TrainerOptions::checkpoint_rule once the last epoch is done: best.ckpt becomes the chosen
  /// epoch's weights, the last record says which, and the kept epochs are removed.
  void apply_checkpoint_rule(TrainerState& state);
  /// RUN_DIR/log.jsonl: every record of the history, one per line, written atomically.
  void write_log(const TrainerState& state) const;
  void save_last(const TrainerState& state);
  bool validating() const;
  /// Evaluates the held-out rows (validation classes, else unseen; fusion weights chosen there
  /// when the run selects them): the log key, its record and the score that picks best.ckpt.
  std::tuple<std::string, nlohmann::json, double> evaluate_held_out();

  std::string run_dir_;
  RunConfig config_;
  TrainingSet seen_;       // the rows batches draw from: the seen rows, then any extra photos
  TrainingSet reference_;  // the seen rows alone: κ and the validation's distractors
  TrainingSet unseen_;
  torch::Tensor class_embeddings_;
  torch::Device device_{torch::kCPU};
  model::RetrievalNetwork network_{nullptr};
  std::unique_ptr<FusedAdam> generator_opt_;
  std::unique_ptr<FusedAdam> discriminator_opt_;
  /// Dense weight averaging (TrainerOptions::average_from < 1), else null.
  std::unique_ptr<WeightAverage> average_;
  std::function<void(const nlohmann::json&)> epoch_callback_;
  int64_t total_steps_ = 0;
  /// Per generator group: the factor on the base learning rate (the backbone's is
  /// BackboneSpec::lr_factor).
  std::vector<double> group_lr_factors_;
  /// The epoch's streaming figures: seconds the step waited for data, unreadable items.
  double data_wait_seconds_ = 0;
  int64_t unreadable_items_ = 0;
  std::shared_ptr<distributed::Communicator> communicator_;
  double communication_seconds_ = 0;  // this epoch's gradient averaging
};

}  // namespace hcmsn::train
