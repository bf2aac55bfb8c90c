#include "hcmsn/index/dataset_embedding.h"

#include <map>
#include <string>

#include "hcmsn/data/image_decode.h"
#include "hcmsn/data/quickdraw_strokes.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"

namespace hcmsn::index {
namespace {

// The lines of one .ndjson file, or why it could not be read.
struct NdjsonFile {
  std::vector<std::string> lines;
  std::string error;
};

// Every .ndjson file the items name, read once before the parallel loading (data::read_drawing
// per item would re-read the file up to the record: quadratic in the file's length).
std::map<std::string, NdjsonFile> read_ndjson_files(const std::vector<data::DatasetItem>& items) {
  std::map<std::string, NdjsonFile> files;
  for (const auto& item : items) {
    if (item.record < 0 || files.count(item.path) > 0) continue;
    NdjsonFile& file = files[item.path];
    try {
      const std::string text = util::read_file(item.path);
      for (size_t start = 0; start <= text.size();) {
        const size_t end = text.find('\n', start);
        file.lines.push_back(text.substr(start, end == std::string::npos ? end : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
      }
    } catch (const std::exception& e) {
      file.error = e.what();
    }
  }
  return files;
}

}  // namespace

Embedder::FileBatch embed_dataset_items(const Embedder& embedder,
                                        const std::vector<data::DatasetItem>& items,
                                        int64_t modality, bool progress) {
  for (const auto& item : items) {
    HCMSN_CHECK(item.modality == modality, "item ", item.id, " has modality ", item.modality,
                ", not ", modality, "; embed sketches and photos separately");
  }
  const auto ndjson = read_ndjson_files(items);
  const auto load = [&](size_t i) {
    const data::DatasetItem& item = items[i];
    if (item.record < 0) return data::decode_image_file(item.path);
    const NdjsonFile& file = ndjson.at(item.path);
    HCMSN_CHECK(file.error.empty(), file.error);
    HCMSN_CHECK(item.record < static_cast<int64_t>(file.lines.size()), item.path,
                " has no drawing ", item.record, " (0-based line)");
    const std::string what = item.path + " line " + std::to_string(item.record + 1);
    return data::render_drawing(
        data::parse_drawing(file.lines[static_cast<size_t>(item.record)], what),
        embedder.render_options());
  };
  return embedder.embed_loaded(static_cast<int64_t>(items.size()), load, modality,
                               {"embedding", "items", progress});
}

}  // namespace hcmsn::index
