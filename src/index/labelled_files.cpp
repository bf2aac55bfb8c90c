#include "hcmsn/index/labelled_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "hcmsn/util/check.h"

namespace hcmsn::index {
namespace {

namespace fs = std::filesystem;

bool hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name.front() == '.';
}

}  // namespace

std::vector<LabelledFile> list_folder_files(const std::string& root_name,
                                            const std::function<bool(const std::string&)>& accept) {
  const fs::path root = root_name;
  std::vector<LabelledFile> out;
  std::error_code ec;
  const auto options = fs::directory_options::skip_permission_denied;
  for (auto it = fs::recursive_directory_iterator(root, options, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    HCMSN_CHECK(!ec, "cannot list '", root.string(), "': ", ec.message());
    if (hidden(it->path())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || !accept(it->path().filename().string())) continue;
    const fs::path rel = it->path().lexically_relative(root);
    const std::string klass =
        std::distance(rel.begin(), rel.end()) > 1 ? rel.begin()->string() : "";
    out.push_back({fs::absolute(it->path()).lexically_normal().string(), klass});
  }
  HCMSN_CHECK(!ec, "cannot list '", root.string(), "': ", ec.message());
  std::sort(out.begin(), out.end(),
            [](const LabelledFile& a, const LabelledFile& b) { return a.path < b.path; });
  return out;
}

std::vector<LabelledFile> read_file_list(const std::string& list_name, const std::string& what) {
  const fs::path list = list_name;
  std::ifstream in(list);
  HCMSN_CHECK(in, "cannot read ", what, " '", list.string(), "'");
  const fs::path base = list.parent_path();
  std::vector<LabelledFile> out;
  std::string missing;
  int64_t missing_count = 0, line_number = 0;
  std::error_code ec;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    const auto tab = line.find('\t');
    fs::path path = tab == std::string::npos ? line : line.substr(0, tab);
    const std::string klass = tab == std::string::npos ? "" : line.substr(tab + 1);
    if (path.is_relative()) path = base / path;
    if (!fs::is_regular_file(path, ec)) {
      if (++missing_count <= 5) {
        missing += "\n  line " + std::to_string(line_number) + ": " + path.string();
      }
      continue;
    }
    out.push_back({fs::absolute(path).lexically_normal().string(), klass});
  }
  HCMSN_CHECK(missing_count == 0, what, " '", list.string(), "' names ", missing_count,
              " file(s) that do not exist", missing, missing_count > 5 ? "\n  ..." : "",
              "\nfix or remove those lines");
  return out;
}

}  // namespace hcmsn::index
