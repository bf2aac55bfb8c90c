#include "hcmsn/data/drawing_reader.h"

#include <fstream>

#include "hcmsn/util/check.h"

namespace hcmsn::data {

std::shared_ptr<const std::vector<uint64_t>> DrawingReader::offsets_of(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = offsets_.find(path); it != offsets_.end()) return it->second;
  }
  // Scanned outside the lock: two threads may both scan a new file; the first result is kept.
  std::ifstream in(path, std::ios::binary);
  HCMSN_CHECK(in, "cannot open '", path, "'");
  auto offsets = std::make_shared<std::vector<uint64_t>>();
  uint64_t position = 0;
  std::string line;
  while (std::getline(in, line)) {
    offsets->push_back(position);
    position += line.size() + 1;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  return offsets_.emplace(path, std::move(offsets)).first->second;
}

Drawing DrawingReader::read(const std::string& ndjson_path, int64_t record) {
  HCMSN_CHECK(record >= 0, ndjson_path, ": drawing index must be ≥ 0, got ", record);
  const auto offsets = offsets_of(ndjson_path);
  HCMSN_CHECK(record < static_cast<int64_t>(offsets->size()), ndjson_path, " has no drawing ",
              record, " (0-based line; it has ", offsets->size(), " lines)");
  std::ifstream in(ndjson_path, std::ios::binary);
  HCMSN_CHECK(in, "cannot open '", ndjson_path, "'");
  in.seekg(static_cast<std::streamoff>((*offsets)[static_cast<size_t>(record)]));
  std::string line;
  HCMSN_CHECK(static_cast<bool>(std::getline(in, line)), ndjson_path,
              " changed while being read (drawing ", record, ")");
  return parse_drawing(line, ndjson_path + " line " + std::to_string(record + 1));
}

}  // namespace hcmsn::data
