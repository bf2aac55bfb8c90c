#include "folder_listing.h"

#include <algorithm>

#include "hcmsn/util/check.h"

namespace hcmsn::data::internal {

namespace fs = std::filesystem;

std::vector<fs::directory_entry> sorted_entries(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  HCMSN_CHECK(!ec, "cannot list folder '", dir.string(), "': ", ec.message());
  std::vector<fs::directory_entry> out;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    HCMSN_CHECK(!ec, "cannot list folder '", dir.string(), "': ", ec.message());
    out.push_back(*it);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.path().filename().string() < b.path().filename().string();
  });
  return out;
}

}  // namespace hcmsn::data::internal
