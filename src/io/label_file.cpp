#include "hcmsn/io/label_file.h"

#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"

namespace hcmsn::io {
namespace {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n\v\f";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  const size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

}  // namespace

std::vector<std::string> read_labels(const std::string& path) {
  const std::string text = util::read_file(path);
  std::vector<std::string> labels;
  size_t start = 0;
  size_t line_no = 1;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string label = trim(text.substr(start, end - start));
    HCMSN_CHECK(!label.empty(), path, ":", line_no,
                ": empty line; a label file has exactly one label per line");
    HCMSN_CHECK(label.find('\0') == std::string::npos, path, ":", line_no,
                ": contains a NUL byte (is this a binary file?)");
    labels.push_back(std::move(label));
    start = end + 1;
    ++line_no;
  }
  return labels;
}

void write_labels(const std::string& path, const std::vector<std::string>& labels) {
  std::string out;
  for (const auto& l : labels) {
    // Only labels that read_labels gives back unchanged.
    HCMSN_CHECK(!l.empty() && trim(l) == l &&
                    l.find_first_of(std::string("\n\r\0", 3)) == std::string::npos,
                "cannot write label '", l, "': labels must be non-empty single lines without ",
                "surrounding whitespace or NUL bytes");
    out += l;
    out += '\n';
  }
  util::write_file_atomic(path, out);
}

}  // namespace hcmsn::io
