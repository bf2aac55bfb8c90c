// Where tensors live: `--device cpu|cuda|cuda:N` (issue 12). One parser, one message, for every
// command that takes the flag.
#pragma once

#include <torch/torch.h>

#include <string>

namespace hcmsn::util {

/// "cpu", "cuda" (device 0) or "cuda:N". Throws hcmsn::Error for any other text, and when CUDA
/// is asked for but this build or machine has no CUDA device (or fewer than N + 1), saying what
/// is available.
torch::Device parse_device(const std::string& text);

/// The device's name as parse_device reads it ("cpu", "cuda:0").
std::string device_name(const torch::Device& device);

}  // namespace hcmsn::util
