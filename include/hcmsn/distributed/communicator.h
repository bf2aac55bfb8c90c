// Data parallelism on LibTorch's own distributed engine (issue 13): c10d's TCPStore for the
// rendezvous and ProcessGroupGloo for the collectives (Debian's libtorch-dev ships both), or
// ProcessGroupNCCL on CUDA where hcmsn is built against an official CUDA LibTorch with nccl.h
// (HCMSN_WITH_NCCL, CMake finds it). Processes find each other the way torchrun starts them:
// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT in the environment
// (launch_environment()); under NCCL, rank r drives cuda:LOCAL_RANK.
//
// Contract: every rank calls the same collectives in the same order with tensors of the same
// shapes and dtypes; a rank that dies or stops answering makes the others' next collective fail
// with hcmsn::Error within `timeout`, never hang.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hcmsn/util/sharding.h"

namespace hcmsn::distributed {

/// Where this process stands in a launch: rank 0 of 1 when the variables are absent.
struct LaunchEnvironment {
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
};

/// Reads torchrun's variables. WORLD_SIZE absent: a single process. Throws hcmsn::Error naming
/// the variable when one is malformed or inconsistent (RANK outside [0, WORLD_SIZE), ...).
LaunchEnvironment launch_environment();

/// Which c10d process group carries the collectives.
enum class Backend { kGloo, kNccl };

/// Whether this build can use NCCL (built against a CUDA LibTorch with NCCL's header).
bool nccl_available();

/// "gloo", "nccl" or "auto" (NCCL when `device` is CUDA and nccl_available(), else Gloo).
/// Throws hcmsn::Error for another name, or "nccl" in a build without NCCL or for a CPU device.
Backend choose_backend(const std::string& name, const torch::Device& device);
std::string to_string(Backend backend);

struct CommunicatorOptions {
  /// How long a collective (or the rendezvous) waits for the other ranks before it fails.
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  /// Gradients are averaged in flat buckets of at most this many bytes (one all-reduce each).
  int64_t bucket_bytes = int64_t{16} << 20;
  Backend backend = Backend::kGloo;
  /// The CUDA device NCCL reduces on (Gloo reduces on the CPU); tensors elsewhere are copied
  /// there and back, so any collective below takes CPU or device tensors under either backend.
  torch::Device device = torch::kCPU;
};

class Communicator {
 public:
  /// Joins the group (rank 0 serves the TCPStore on MASTER_ADDR:MASTER_PORT). world_size must be
  /// at least 2. Throws hcmsn::Error when the rendezvous fails or times out.
  Communicator(const LaunchEnvironment& environment, CommunicatorOptions options = {});
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int64_t rank() const { return environment_.rank; }
  int64_t world_size() const { return environment_.world_size; }
  bool is_main() const { return environment_.rank == 0; }

  /// Replaces each tensor by its mean over the ranks, in place. Tensors are float32 or float64
  /// (any shapes, all on one device); they are packed into buckets of `bucket_bytes`, so a
  /// model's gradients take a few calls, not one per tensor.
  void average(const std::vector<torch::Tensor>& tensors);
  /// The mean of `value` over the ranks.
  double average(double value);
  /// The sum over the ranks of a contiguous int64, float32 or float64 tensor, in place.
  void sum(torch::Tensor& values);
  void barrier();

 private:
  void all_reduce(torch::Tensor& flat);

  LaunchEnvironment environment_;
  CommunicatorOptions options_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Averages the gradients of `parameters` over the ranks. A parameter whose gradient is
/// undefined on every rank stays undefined (as in one process, where the optimiser skips it);
/// one defined on some rank only gets zeros on the others before averaging.
void average_gradients(Communicator& communicator, const std::vector<torch::Tensor>& parameters);

/// This rank's share of sharded work, summed with `communicator`'s all-reduce; one rank doing
/// everything when `communicator` is null. The communicator must outlive the result.
util::Sharding sharding_of(Communicator* communicator);

}  // namespace hcmsn::distributed
