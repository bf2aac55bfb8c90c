#include "hcmsn/util/device.h"

#include <cctype>

#include "hcmsn/util/check.h"

namespace hcmsn::util {

torch::Device parse_device(const std::string& text) {
  if (text == "cpu") return torch::kCPU;
  int64_t index = 0;
  if (text != "cuda") {
    const std::string prefix = "cuda:";
    bool digits = text.size() > prefix.size() && text.size() <= prefix.size() + 3 &&
                  text.compare(0, prefix.size(), prefix) == 0;
    for (size_t i = prefix.size(); digits && i < text.size(); ++i) {
      digits = std::isdigit(static_cast<unsigned char>(text[i])) != 0;
    }
    HCMSN_CHECK(digits, "unknown device '", text, "': use cpu, cuda or cuda:N");
    index = std::stoll(text.substr(prefix.size()));
  }
  HCMSN_CHECK(torch::cuda::is_available(), "--device ", text,
              " asks for CUDA, but this hcmsn build or machine has no CUDA device (build against "
              "a CUDA LibTorch on a machine with an NVIDIA GPU, or use --device cpu)");
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  HCMSN_CHECK(index < count, "--device ", text, " does not exist: this machine has ", count,
              " CUDA device(s), cuda:0 to cuda:", count - 1);
  return {torch::kCUDA, static_cast<c10::DeviceIndex>(index)};
}

std::string device_name(const torch::Device& device) {
  return device.is_cpu() ? "cpu"
                         : "cuda:" + std::to_string(device.index() < 0 ? 0 : device.index());
}

}  // namespace hcmsn::util
