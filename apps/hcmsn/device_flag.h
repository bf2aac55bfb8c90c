// --device cpu|cuda|cuda:N, one meaning and one help text for every command that runs a network
// (util/device.h parses it; a missing CUDA device is one clear error).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace hcmsn::cli {

void add_device_option(CLI::App* cmd, std::string& device);

}  // namespace hcmsn::cli
