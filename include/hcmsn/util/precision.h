// Mixed precision (issue 12): `--precision fp32|bf16`. bf16 runs a backbone's convolutions and
// matrix products under LibTorch's autocast in bfloat16 (CPUs with AVX512-BF16 or AMX, and CUDA
// GPUs); its output is cast back to float32, so the heads, the losses and the Poincaré-ball maths
// stay float32: points near the ball's boundary need float32's mantissa, and bfloat16's range
// equals float32's, so no loss scaling is needed.
#pragma once

#include <torch/torch.h>

#include <string>

namespace hcmsn::util {

enum class Precision { kFloat32, kBFloat16 };

/// "fp32" or "bf16"; anything else throws hcmsn::Error listing both.
Precision parse_precision(const std::string& text);
std::string to_string(Precision precision);

/// Autocast for `device`'s type in `precision` while the guard lives (nothing for kFloat32),
/// then the previous autocast state again. Ops autocast does not list run in their inputs' dtype.
class AutocastGuard {
 public:
  AutocastGuard(const torch::Device& device, Precision precision);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  torch::DeviceType device_type_ = torch::kCPU;
  bool was_enabled_ = false;
  torch::ScalarType previous_dtype_ = torch::kFloat32;
};

/// Whether autocast is on for `device_type` in this thread (for tests).
bool autocast_enabled(torch::DeviceType device_type);

}  // namespace hcmsn::util
