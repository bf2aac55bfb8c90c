// Plain-text label lists: one label per line, in the row order of the matching matrix.
// Labels are class names or ids, compared as strings after trimming surrounding whitespace and
// a trailing '\r'. A final newline is optional; an empty line elsewhere is an error.
#pragma once

#include <string>
#include <vector>

namespace hcmsn::io {

std::vector<std::string> read_labels(const std::string& path);

void write_labels(const std::string& path, const std::vector<std::string>& labels);

}  // namespace hcmsn::io
