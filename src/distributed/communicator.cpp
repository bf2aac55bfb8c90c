#include "hcmsn/distributed/communicator.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef HCMSN_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cerrno>
#include <cstdlib>
#include <exception>

#include "hcmsn/util/check.h"

namespace hcmsn::distributed {
namespace {

bool read_int(const char* name, int64_t& value) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return false;
  char* end = nullptr;
  errno = 0;
  const long long parsed = std::strtoll(text, &end, 10);
  HCMSN_CHECK(errno == 0 && end != nullptr && *end == '\0', "the environment variable ", name, "='",
              text, "' is not an integer");
  value = parsed;
  return true;
}

}  // namespace

LaunchEnvironment launch_environment() {
  LaunchEnvironment e;
  if (!read_int("WORLD_SIZE", e.world_size)) return e;
  HCMSN_CHECK(e.world_size >= 1, "WORLD_SIZE=", e.world_size, " must be at least 1");
  HCMSN_CHECK(read_int("RANK", e.rank) || e.world_size == 1,
              "WORLD_SIZE is set but RANK is not: launch with torchrun or hcmsn's --nproc, which "
              "set both");
  HCMSN_CHECK(e.rank >= 0 && e.rank < e.world_size, "RANK=", e.rank,
              " lies outside [0, WORLD_SIZE=", e.world_size, ")");
  if (!read_int("LOCAL_RANK", e.local_rank)) e.local_rank = e.rank;
  HCMSN_CHECK(e.local_rank >= 0 && e.local_rank <= e.rank, "LOCAL_RANK=", e.local_rank,
              " must lie in [0, RANK]");
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') {
    e.master_addr = addr;
  }
  read_int("MASTER_PORT", e.master_port);
  HCMSN_CHECK(e.master_port > 0 && e.master_port < 65536, "MASTER_PORT=", e.master_port,
              " is not a TCP port");
  return e;
}

bool nccl_available() {
#ifdef HCMSN_WITH_NCCL
  return true;
#else
  return false;
#endif
}

Backend choose_backend(const std::string& name, const torch::Device& device) {
  HCMSN_CHECK(name == "auto" || name == "gloo" || name == "nccl", "unknown backend '", name,
              "': use auto, gloo or nccl");
  if (name == "gloo") return Backend::kGloo;
  if (name == "auto") {
    return device.is_cuda() && nccl_available() ? Backend::kNccl : Backend::kGloo;
  }
  HCMSN_CHECK(nccl_available(),
              "this build has no NCCL: build hcmsn against an official CUDA LibTorch with NCCL's "
              "header (nccl.h) installed, or use --dist-backend gloo");
  HCMSN_CHECK(device.is_cuda(), "NCCL reduces on CUDA devices: give --device cuda");
  return Backend::kNccl;
}

std::string to_string(Backend backend) {
  return backend == Backend::kNccl ? "nccl" : "gloo";
}

struct Communicator::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#ifdef HCMSN_WITH_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
};

Communicator::Communicator(const LaunchEnvironment& environment, CommunicatorOptions options)
    : environment_(environment), options_(options), impl_(std::make_unique<Impl>()) {
  HCMSN_CHECK(environment_.world_size >= 2, "a communicator needs at least 2 processes");
  HCMSN_CHECK(options_.bucket_bytes > 0, "the bucket size must be positive");
  HCMSN_CHECK(options_.backend == Backend::kGloo || (nccl_available() && options_.device.is_cuda()),
              "NCCL needs a build with NCCL and a CUDA device (choose_backend says which)");
  try {
    c10d::TCPStoreOptions store;
    store.port = static_cast<std::uint16_t>(environment_.master_port);
    store.isServer = environment_.rank == 0;
    store.numWorkers = static_cast<std::size_t>(environment_.world_size);
    store.waitWorkers = true;
    store.timeout = options_.timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(environment_.master_addr, store);
    if (options_.backend == Backend::kGloo) {
      auto gloo = c10d::ProcessGroupGloo::Options::create(options_.timeout);
      gloo->devices.push_back(
          c10d::ProcessGroupGloo::createDeviceForHostname(environment_.master_addr));
      impl_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(
          impl_->store, static_cast<int>(environment_.rank),
          static_cast<int>(environment_.world_size), gloo);
    } else {
#ifdef HCMSN_WITH_NCCL
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = options_.timeout;
      impl_->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(
          impl_->store, static_cast<int>(environment_.rank),
          static_cast<int>(environment_.world_size), nccl);
#endif
    }
  } catch (const std::exception& e) {
    HCMSN_CHECK(false, "rank ", environment_.rank, " of ", environment_.world_size,
                " could not join the process group at ", environment_.master_addr, ":",
                environment_.master_port, " within ", options_.timeout.count(), " ms: ", e.what(),
                " (are all ranks started, with the same MASTER_ADDR and MASTER_PORT?)");
  }
}

Communicator::~Communicator() = default;

void Communicator::all_reduce(torch::Tensor& flat) {
  // Gloo reduces host memory, NCCL device memory: a tensor elsewhere goes there and back.
  const torch::Device where = options_.backend == Backend::kNccl ? options_.device : torch::kCPU;
  torch::Tensor work = flat.device() == where ? flat : flat.to(where);
  std::vector<at::Tensor> tensors{work};
  try {
    if (impl_->gloo) {
      impl_->gloo->allreduce(tensors)->wait(options_.timeout);
    } else {
#ifdef HCMSN_WITH_NCCL
      impl_->nccl->allreduce(tensors)->wait(options_.timeout);
#endif
    }
  } catch (const std::exception& e) {
    HCMSN_CHECK(false, "rank ", rank(), ": a collective with the other ", world_size() - 1,
                " rank(s) failed (a rank died, hung or was stopped): ", e.what());
  }
  if (!work.is_same(flat)) flat.copy_(work);
}

void Communicator::average(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  size_t begin = 0;
  while (begin < tensors.size()) {
    // One bucket: consecutive tensors of one dtype up to bucket_bytes (at least one tensor).
    const auto dtype = tensors[begin].scalar_type();
    HCMSN_CHECK(dtype == torch::kFloat32 || dtype == torch::kFloat64,
                "only float32 and float64 tensors are averaged, got ", dtype);
    size_t end = begin;
    int64_t bytes = 0;
    while (end < tensors.size() && tensors[end].scalar_type() == dtype &&
           (end == begin ||
            bytes + tensors[end].nbytes() <= static_cast<size_t>(options_.bucket_bytes))) {
      HCMSN_CHECK(tensors[end].device() == tensors[begin].device(),
                  "the tensors to average lie on different devices");
      bytes += static_cast<int64_t>(tensors[end].nbytes());
      ++end;
    }
    std::vector<torch::Tensor> parts;
    for (size_t i = begin; i < end; ++i) parts.push_back(tensors[i].reshape({-1}));
    auto flat = torch::cat(parts);
    all_reduce(flat);
    flat.div_(static_cast<double>(world_size()));
    int64_t offset = 0;
    for (size_t i = begin; i < end; ++i) {
      const int64_t n = tensors[i].numel();
      tensors[i].copy_(flat.slice(0, offset, offset + n).view_as(tensors[i]));
      offset += n;
    }
    begin = end;
  }
}

double Communicator::average(double value) {
  auto t = torch::tensor({value}, torch::kFloat64);
  average(std::vector<torch::Tensor>{t});
  return t.item<double>();
}

void Communicator::sum(torch::Tensor& values) {
  const auto dtype = values.scalar_type();
  HCMSN_CHECK((dtype == torch::kInt64 || dtype == torch::kFloat32 || dtype == torch::kFloat64) &&
                  values.is_contiguous(),
              "sum takes a contiguous int64, float32 or float64 tensor");
  all_reduce(values);
}

void Communicator::barrier() {
  auto t = torch::zeros({1}, torch::kInt64);
  sum(t);
}

void average_gradients(Communicator& communicator, const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> trainable;
  for (const auto& p : parameters) {
    if (p.requires_grad()) trainable.push_back(p);
  }
  // Every step: plain flags, not one tensor op per parameter.
  std::vector<int64_t> flags(trainable.size(), 0);
  for (size_t i = 0; i < trainable.size(); ++i) flags[i] = trainable[i].grad().defined() ? 1 : 0;
  auto defined =
      torch::from_blob(flags.data(), {static_cast<int64_t>(flags.size())}, torch::kInt64);
  communicator.sum(defined);
  std::vector<torch::Tensor> grads;
  for (size_t i = 0; i < trainable.size(); ++i) {
    if (flags[i] == 0) continue;
    auto& p = trainable[i];
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  communicator.average(grads);
}

util::Sharding sharding_of(Communicator* communicator) {
  util::Sharding s;
  if (communicator == nullptr) return s;
  s.rank = communicator->rank();
  s.ranks = communicator->world_size();
  s.sum = [communicator](torch::Tensor& values) { communicator->sum(values); };
  return s;
}

}  // namespace hcmsn::distributed
