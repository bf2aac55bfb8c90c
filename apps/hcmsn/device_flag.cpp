#include "device_flag.h"

namespace hcmsn::cli {

void add_device_option(CLI::App* cmd, std::string& device) {
  cmd->add_option("--device", device,
                  "cpu, cuda or cuda:N: where the networks and matrix products run (an error when "
                  "CUDA is absent)")
      ->capture_default_str();
}

void add_precision_option(CLI::App* cmd, std::string& precision) {
  cmd->add_option("--precision", precision,
                  "fp32 or bf16: bf16 runs the backbone under bfloat16 autocast (CPUs with "
                  "AVX512-BF16 or AMX, CUDA GPUs); heads, losses and the ball stay float32")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
}

}  // namespace hcmsn::cli
