#include "hcmsn/index/dataset_embedding.h"

#include <map>
#include <string>

#include "hcmsn/data/image_decode.h"
#include "hcmsn/data/quickdraw_strokes.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/progress.h"

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
                                        int64_t modality, bool progress,
                                        const util::Sharding& sharding) {
  sharding.check();
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
  const auto count = static_cast<int64_t>(items.size());
  if (!sharding.active()) {
    return embedder.embed_loaded(count, load, modality, {"embedding", "items", progress});
  }
  // Per item: 1 embedded, 2 unreadable, 0 another rank's; its row of embeddings likewise.
  auto embeddings = torch::zeros({count, embedder.dim()}, torch::kFloat32);
  auto status = torch::zeros({count}, torch::kInt64);
  auto* state = status.data_ptr<int64_t>();
  Embedder::FileBatch out;
  util::Progress bar(count, {"embedding", "items", progress});
  for (int64_t first = 0, block = 0; first < count; first += embedder.batch(), ++block) {
    const int64_t n = std::min(embedder.batch(), count - first);
    if (sharding.owns(block)) {
      const auto part =
          embedder.embed_loaded(n, [&](size_t i) { return load(static_cast<size_t>(first) + i); },
                                modality, {"", "", false});
      std::vector<int64_t> at;
      for (size_t i : part.embedded) {
        at.push_back(first + static_cast<int64_t>(i));
        state[at.back()] = 1;
      }
      if (!at.empty()) {
        embeddings.index_copy_(0, torch::tensor(at, torch::kInt64), part.embeddings);
      }
      for (const auto& unreadable : part.unreadable) {
        state[first + static_cast<int64_t>(unreadable.first)] = 2;
      }
    }
    bar.advance(n);
  }
  sharding.sum(embeddings);
  sharding.sum(status);
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < count; ++i) {
    if (state[i] == 1) {
      rows.push_back(i);
      out.embedded.push_back(static_cast<size_t>(i));
    } else {
      // Unreadable (rare): load it again for the reason, so every rank lists every one.
      try {
        load(static_cast<size_t>(i));
        out.unreadable.emplace_back(static_cast<size_t>(i), "unreadable on another rank");
      } catch (const std::exception& e) {
        out.unreadable.emplace_back(static_cast<size_t>(i), e.what());
      }
    }
  }
  out.embeddings = embeddings.index_select(0, torch::tensor(rows, torch::kInt64)).contiguous();
  return out;
}

}  // namespace hcmsn::index
