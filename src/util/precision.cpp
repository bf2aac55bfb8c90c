#include "hcmsn/util/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "hcmsn/util/check.h"

// LibTorch 2.4 replaced the per-device autocast functions by ones taking the device type; the old
// names still exist there but warn at run time, so each LibTorch gets its own spelling here.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define HCMSN_AUTOCAST_BY_DEVICE_TYPE 1
#else
#define HCMSN_AUTOCAST_BY_DEVICE_TYPE 0
#endif

namespace hcmsn::util {
namespace {

bool is_enabled(torch::DeviceType type) {
#if HCMSN_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(type);
#else
  return type == torch::kCPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

void set_enabled(torch::DeviceType type, bool on) {
#if HCMSN_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_enabled(type, on);
#else
  type == torch::kCPU ? at::autocast::set_cpu_enabled(on) : at::autocast::set_enabled(on);
#endif
}

torch::ScalarType get_dtype(torch::DeviceType type) {
#if HCMSN_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(type);
#else
  return type == torch::kCPU ? at::autocast::get_autocast_cpu_dtype()
                             : at::autocast::get_autocast_gpu_dtype();
#endif
}

void set_dtype(torch::DeviceType type, torch::ScalarType dtype) {
#if HCMSN_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_dtype(type, dtype);
#else
  type == torch::kCPU ? at::autocast::set_autocast_cpu_dtype(dtype)
                      : at::autocast::set_autocast_gpu_dtype(dtype);
#endif
}

}  // namespace

Precision parse_precision(const std::string& text) {
  if (text == "fp32") return Precision::kFloat32;
  if (text == "bf16") return Precision::kBFloat16;
  HCMSN_CHECK(false, "unknown precision '", text, "': use fp32 or bf16");
  return Precision::kFloat32;
}

std::string to_string(Precision precision) {
  return precision == Precision::kBFloat16 ? "bf16" : "fp32";
}

AutocastGuard::AutocastGuard(const torch::Device& device, Precision precision)
    : device_type_(device.type()) {
  if (precision == Precision::kFloat32) return;
  HCMSN_CHECK(device_type_ == torch::kCPU || device_type_ == torch::kCUDA,
              "bf16 autocast runs on cpu or cuda devices, not ", device);
  active_ = true;
  was_enabled_ = is_enabled(device_type_);
  previous_dtype_ = get_dtype(device_type_);
  set_enabled(device_type_, true);
  set_dtype(device_type_, torch::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  // The cast weights are cached while autocast is on; the outermost scope drops them.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_enabled(device_type_, was_enabled_);
  set_dtype(device_type_, previous_dtype_);
}

bool autocast_enabled(torch::DeviceType device_type) {
  return is_enabled(device_type);
}

}  // namespace hcmsn::util
