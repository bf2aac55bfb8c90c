// Trainer checkpoints: the network's parameters and buffers, optionally both Adam states, and
// the trainer's position (epoch, step, best score, history), in one checked file
// (io/checked_file.h: kind "checkpoint", atomic write, version, CRC-32).
//
// Payload, version 2: five length-prefixed sections (uint64 little-endian length, then bytes):
//   1. JSON: TrainerState, plus which sections are present and how many weight sets the weight
//      average holds ("average_count")
//   2. the network (torch::serialize archive): the weights to use, which are the weight
//      average's mean once it holds any (weight_average.h)
//   3. the generator's optimizer (archive; empty when not saved)
//   4. the discriminator's optimizer (archive; empty when not saved)
//   5. the network as training left it (archive; empty unless the average holds weights and the
//      optimizers are saved): what a resumed run continues from
// Version 1 (before weight averaging) has sections 1-4 and reads as version 2 without an
// average.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "hcmsn/model/retrieval_network.h"

namespace hcmsn::train {

class WeightAverage;  // weight_average.h

/// Where a run stands: the next step to run is step `step_in_epoch` of epoch `epoch`.
struct TrainerState {
  int64_t epoch = 0;
  int64_t step_in_epoch = 0;
  int64_t global_step = 0;
  /// Best unseen mAP@all so far and its epoch (−1: none yet).
  double best_score = -1.0;
  int64_t best_epoch = -1;
  /// The per-epoch records written to log.jsonl so far.
  nlohmann::json history = nlohmann::json::array();
  /// Sums of the current epoch's loss terms and the number of steps in them.
  nlohmann::json epoch_sums = nlohmann::json::object();
  /// The untrained network's held-out record (null until measured); the first epoch logs it.
  nlohmann::json epoch0;

  nlohmann::json to_json() const;
  static TrainerState from_json(const nlohmann::json& json);
};

inline constexpr uint32_t kCheckpointVersion = 2;

/// Writes `path` atomically. Optimizers may be null (the best checkpoint keeps weights only).
/// With an `average` that holds weights, the network section is its mean and, when the
/// optimizers are saved, section 5 the network's own weights; the network is left as it was.
void save_checkpoint(const std::string& path, const TrainerState& state,
                     model::RetrievalNetworkImpl& network, torch::optim::Optimizer* generator,
                     torch::optim::Optimizer* discriminator, WeightAverage* average = nullptr);

/// Restores the network (and the optimizers that are not null) from `path` and returns the
/// trainer's state. Without `average` the network gets the weights to use (section 2); with one
/// (resuming: `average` tracks `network`), the average gets the stored mean and count and the
/// network the weights training left. Throws hcmsn::Error when the file is not a checkpoint, is
/// corrupt, or does not fit the network (a different configuration), or when an optimizer is
/// requested but absent.
TrainerState load_checkpoint(const std::string& path, model::RetrievalNetworkImpl& network,
                             torch::optim::Optimizer* generator,
                             torch::optim::Optimizer* discriminator,
                             WeightAverage* average = nullptr);

}  // namespace hcmsn::train
