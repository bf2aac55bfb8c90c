// --nproc, --dist-timeout and --dist-backend (issue 13), one meaning for every command that runs
// data-parallel (train, extract, eval, metrics): launch N local ranks, or join the group torchrun's
// variables describe.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>

#include "hcmsn/distributed/communicator.h"

namespace hcmsn::cli {

struct DistributedFlags {
  int64_t nproc = 1;
  double timeout_seconds = 120;
  std::string backend = "auto";  // distributed::choose_backend
};

void add_distributed_options(CLI::App* cmd, DistributedFlags& flags);

/// With --nproc > 1: starts the ranks (this command line without --nproc) and returns their
/// exit code; nullopt otherwise. Refuses --nproc inside a launched group.
std::optional<int> launch_if_asked(const DistributedFlags& flags);

/// Inside a launched group (WORLD_SIZE > 1): joins it and returns the communicator; ranks other
/// than 0 become quiet (`quiet` set, warnings and errors only). Null for a single process.
/// `device` (a --device value, or null for CPU work): on CUDA each rank takes cuda:LOCAL_RANK
/// (torchrun's convention; CUDA_VISIBLE_DEVICES picks the GPUs), written back into it, and
/// --dist-backend auto then means NCCL where this build has it.
std::shared_ptr<distributed::Communicator> join_if_launched(const DistributedFlags& flags,
                                                            bool& quiet,
                                                            std::string* device = nullptr);

}  // namespace hcmsn::cli
