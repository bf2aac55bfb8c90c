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
                                        int64_t modality, bool progress,
                                        const util::Sharding& sharding) {
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
  // One forward pass per block of batch() items, as Embedder::embed_loaded batches them; each
  // block gives its embeddings (zero rows where an item is unreadable) and a status per item.
  constexpr int64_t kEmbedded = 1, kUnreadable = 2;
  std::map<size_t, std::string> reasons;  // of the unreadable items this rank read
  const auto blocks = util::compute_in_blocks(
      static_cast<int64_t>(items.size()), embedder.batch(),
      [&](int64_t first, int64_t n) -> std::vector<torch::Tensor> {
        auto embeddings = torch::zeros({n, embedder.dim()}, torch::kFloat32);
        auto status = torch::full({n, 1}, kUnreadable, torch::kInt64);
        if (n == 0) return {embeddings, status};
        const auto part =
            embedder.embed_loaded(n, [&](size_t i) { return load(static_cast<size_t>(first) + i); },
                                  modality, {"", "", false});
        std::vector<int64_t> at(part.embedded.begin(), part.embedded.end());
        if (!at.empty()) {
          const auto rows = torch::tensor(at, torch::kInt64);
          embeddings.index_copy_(0, rows, part.embeddings);
          status.index_fill_(0, rows, kEmbedded);
        }
        for (const auto& [i, reason] : part.unreadable)
          reasons[static_cast<size_t>(first) + i] = reason;
        return {embeddings, status};
      },
      sharding, progress);
  Embedder::FileBatch out;
  const auto status = blocks[1].contiguous();
  const auto* state = status.data_ptr<int64_t>();
  std::vector<int64_t> rows;
  for (size_t i = 0; i < items.size(); ++i) {
    if (state[i] == kEmbedded) {
      rows.push_back(static_cast<int64_t>(i));
      out.embedded.push_back(i);
      continue;
    }
    auto known = reasons.find(i);
    if (known != reasons.end()) {
      out.unreadable.emplace_back(i, known->second);
      continue;
    }
    // Read by another rank (rare): load it again for the reason, so every rank lists every one.
    try {
      load(i);
      out.unreadable.emplace_back(i, "unreadable on another rank");
    } catch (const std::exception& e) {
      out.unreadable.emplace_back(i, e.what());
    }
  }
  out.embeddings = blocks[0].index_select(0, torch::tensor(rows, torch::kInt64)).contiguous();
  return out;
}

}  // namespace hcmsn::index
