// --device cpu|cuda|cuda:N and --precision fp32|bf16, one meaning and one help text for every
// command that runs a network (util/device.h parses it; a missing CUDA device is one clear error).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace hcmsn::cli {

void add_device_option(CLI::App* cmd, std::string& device);
/// --precision fp32|bf16 (util/precision.h).
void add_precision_option(CLI::App* cmd, std::string& precision);

}  // namespace hcmsn::cli
