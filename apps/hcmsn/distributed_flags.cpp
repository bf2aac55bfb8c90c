#include "distributed_flags.h"

#include <chrono>

#include "hcmsn/distributed/launcher.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/device.h"
#include "hcmsn/util/log.h"

namespace hcmsn::cli {

void add_distributed_options(CLI::App* cmd, DistributedFlags& flags) {
  cmd->add_option("--nproc", flags.nproc,
                  "data-parallel processes on this machine (Gloo over loopback); or launch with "
                  "torchrun, which sets RANK, WORLD_SIZE and MASTER_ADDR/PORT")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--dist-timeout", flags.timeout_seconds,
                  "seconds a data-parallel rank waits for the others (at start and at every "
                  "exchange) before it stops with an error")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--dist-backend", flags.backend,
                  "c10d process group: gloo (CPU), nccl (CUDA; builds against an official CUDA "
                  "LibTorch), auto (nccl for --device cuda where built in, else gloo)")
      ->check(CLI::IsMember({"auto", "gloo", "nccl"}))
      ->capture_default_str();
}

std::optional<int> launch_if_asked(const DistributedFlags& flags) {
  if (flags.nproc <= 1) return std::nullopt;
  HCMSN_CHECK(distributed::launch_environment().world_size == 1,
              "--nproc starts its own processes, but WORLD_SIZE is set (torchrun?): use one "
              "launcher, not both");
  return distributed::launch_local(
      distributed::without_option(distributed::own_command_line(), "--nproc"), {flags.nproc});
}

std::shared_ptr<distributed::Communicator> join_if_launched(const DistributedFlags& flags,
                                                            bool& quiet, std::string* device) {
  const distributed::LaunchEnvironment launch = distributed::launch_environment();
  if (launch.world_size <= 1) return nullptr;
  distributed::CommunicatorOptions options;
  options.timeout = std::chrono::milliseconds(static_cast<int64_t>(flags.timeout_seconds * 1000));
  if (device != nullptr && util::parse_device(*device).is_cuda()) {
    *device = "cuda:" + std::to_string(launch.local_rank);
    options.device = util::parse_device(*device);  // says so when this machine has fewer GPUs
  }
  options.backend = distributed::choose_backend(flags.backend, options.device);
  auto communicator = std::make_shared<distributed::Communicator>(launch, options);
  if (!communicator->is_main()) {
    // One voice: the other ranks report warnings and errors only.
    quiet = true;
    if (util::log_level() < util::LogLevel::kWarn) util::set_log_level(util::LogLevel::kWarn);
  }
  return communicator;
}

}  // namespace hcmsn::cli
