#include "device_flag.h"

namespace hcmsn::cli {

void add_device_option(CLI::App* cmd, std::string& device) {
  cmd->add_option("--device", device,
                  "cpu, cuda or cuda:N: where the network runs (an error when CUDA is absent)")
      ->capture_default_str();
}

}  // namespace hcmsn::cli
