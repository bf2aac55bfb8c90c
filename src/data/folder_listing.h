// Private to src/data: listing a folder in a stable order, with errors that name it.
#pragma once

#include <filesystem>
#include <vector>

namespace hcmsn::data::internal {

/// The entries of `dir` sorted by file name (byte order). Throws hcmsn::Error naming the folder
/// when it cannot be listed.
std::vector<std::filesystem::directory_entry> sorted_entries(const std::filesystem::path& dir);

}  // namespace hcmsn::data::internal
