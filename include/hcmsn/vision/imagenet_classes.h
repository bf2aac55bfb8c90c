// Class-name files of classifiers: line i (0-based) names class i, as torchvision's ImageNet
// list `imagenet_classes.txt` beside the shared weights.
#pragma once

#include <string>
#include <vector>

namespace hcmsn::vision {

/// Reads one name per line (trailing '\r' and surrounding spaces removed; a final newline is
/// optional). Throws hcmsn::Error naming the file when it is missing or holds an empty line.
std::vector<std::string> read_class_names(const std::string& path);

/// `imagenet_classes.txt` in the folder of `weights_path` when that file exists, else "".
std::string default_class_names_path(const std::string& weights_path);

}  // namespace hcmsn::vision
