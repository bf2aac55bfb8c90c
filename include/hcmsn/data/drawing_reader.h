// Random access to QuickDraw .ndjson drawings for streaming input (issue 12): the byte offset of
// every line of a file is found once per file and kept (8 bytes per drawing), so reading drawing
// k costs one seek instead of a scan over k lines (read_drawing's cost). Thread-safe: worker
// threads share one reader.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "hcmsn/data/quickdraw_strokes.h"

namespace hcmsn::data {

class DrawingReader {
 public:
  /// Drawing `record` (the 0-based line) of `ndjson_path`. Throws hcmsn::Error naming the file
  /// when it cannot be opened, has no such line, or the line is not a drawing.
  Drawing read(const std::string& ndjson_path, int64_t record);

 private:
  std::shared_ptr<const std::vector<uint64_t>> offsets_of(const std::string& path);

  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const std::vector<uint64_t>>> offsets_;
};

}  // namespace hcmsn::data
