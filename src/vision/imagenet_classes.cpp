#include "hcmsn/vision/imagenet_classes.h"

#include <filesystem>
#include <fstream>

#include "hcmsn/util/check.h"

namespace hcmsn::vision {

std::vector<std::string> read_class_names(const std::string& path) {
  std::ifstream in(path);
  HCMSN_CHECK(in.is_open(), "cannot open class-name file '", path,
              "'; give a text file with one class name per line");
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    const auto begin = line.find_first_not_of(" \t\r");
    const auto end = line.find_last_not_of(" \t\r");
    HCMSN_CHECK(begin != std::string::npos, "class-name file '", path, "' has an empty line ",
                names.size() + 1, "; line i must name class i-1");
    names.push_back(line.substr(begin, end - begin + 1));
  }
  HCMSN_CHECK(!in.bad(), "error reading class-name file '", path, "'");
  HCMSN_CHECK(!names.empty(), "class-name file '", path, "' is empty");
  return names;
}

std::string default_class_names_path(const std::string& weights_path) {
  const auto candidate = std::filesystem::path(weights_path).parent_path() / "imagenet_classes.txt";
  std::error_code ec;
  return std::filesystem::is_regular_file(candidate, ec) ? candidate.string() : "";
}

}  // namespace hcmsn::vision
