#include "hcmsn/index/dataset_embedding.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <map>
#include <memory>

#include "hcmsn/data/image_decode.h"
#include "hcmsn/data/quickdraw_strokes.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/progress.h"

namespace hcmsn::index {
namespace {

// The lines of every .ndjson file the items name, read once (read_drawing per item would
// re-read the file up to the record: quadratic in the file's length).
std::map<std::string, std::vector<std::string>> ndjson_lines(
    const std::vector<data::DatasetItem>& items,
    std::vector<std::pair<size_t, std::string>>& unreadable, std::vector<bool>& failed) {
  std::map<std::string, std::vector<std::string>> lines;
  std::map<std::string, std::string> errors;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& item = items[i];
    if (item.record < 0 || lines.count(item.path) > 0 || errors.count(item.path) > 0) continue;
    try {
      const std::string text = util::read_file(item.path);
      auto& out = lines[item.path];
      size_t start = 0;
      while (start <= text.size()) {
        const size_t end = text.find('\n', start);
        out.push_back(text.substr(start, end == std::string::npos ? end : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
      }
    } catch (const std::exception& e) {
      errors[item.path] = e.what();
    }
  }
  for (size_t i = 0; i < items.size(); ++i) {
    const auto it = errors.find(items[i].path);
    if (items[i].record >= 0 && it != errors.end()) {
      unreadable.emplace_back(i, it->second);
      failed[i] = true;
    }
  }
  return lines;
}

}  // namespace

ItemEmbeddings embed_dataset_items(const Embedder& embedder,
                                   const std::vector<data::DatasetItem>& items, int64_t batch,
                                   bool progress) {
  HCMSN_CHECK(batch > 0, "the embedding batch size must be > 0, got ", batch);
  ItemEmbeddings out;
  std::vector<bool> failed(items.size(), false);
  const auto lines = ndjson_lines(items, out.unreadable, failed);
  std::vector<torch::Tensor> parts;
  std::vector<size_t> order;  // row order of `parts`
  const auto n = static_cast<int64_t>(items.size());
  util::Progress bar(n, {"embedding", "items", progress});
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t count = std::min(batch, n - first);
    std::vector<torch::Tensor> images(static_cast<size_t>(count));
    std::vector<std::string> errors(static_cast<size_t>(count));
    at::parallel_for(0, count, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const auto& item = items[static_cast<size_t>(first + i)];
        if (failed[static_cast<size_t>(first + i)]) continue;
        try {
          if (item.record >= 0) {
            const auto& file = lines.at(item.path);
            HCMSN_CHECK(item.record < static_cast<int64_t>(file.size()), item.path,
                        " has no drawing ", item.record, " (0-based line)");
            const std::string what = item.path + " line " + std::to_string(item.record + 1);
            images[static_cast<size_t>(i)] = data::render_drawing(
                data::parse_drawing(file[static_cast<size_t>(item.record)], what),
                embedder.render_options());
          } else {
            images[static_cast<size_t>(i)] = data::decode_image_file(item.path);
          }
        } catch (const std::exception& ex) {
          errors[static_cast<size_t>(i)] = ex.what();
        }
      }
    });
    // One forward pass per modality present in the batch.
    for (const int64_t modality : {int64_t{0}, int64_t{1}}) {
      std::vector<torch::Tensor> ok;
      for (int64_t i = 0; i < count; ++i) {
        const auto at = static_cast<size_t>(first + i);
        if (failed[at] || items[at].modality != modality) continue;
        if (!errors[static_cast<size_t>(i)].empty()) continue;
        ok.push_back(std::move(images[static_cast<size_t>(i)]));
        order.push_back(at);
      }
      if (!ok.empty()) parts.push_back(embedder.embed_images(ok, modality));
    }
    for (int64_t i = 0; i < count; ++i) {
      if (!errors[static_cast<size_t>(i)].empty()) {
        out.unreadable.emplace_back(static_cast<size_t>(first + i), errors[static_cast<size_t>(i)]);
      }
    }
    bar.advance(count);
  }
  bar.finish();
  const torch::Tensor rows =
      parts.empty() ? torch::empty({0, embedder.dim()}, torch::kFloat32) : torch::cat(parts);
  // Back to item order.
  std::vector<int64_t> perm(order.size());
  for (size_t r = 0; r < order.size(); ++r) perm[r] = static_cast<int64_t>(r);
  std::sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return order[a] < order[b]; });
  out.embeddings = rows.index_select(0, torch::tensor(perm, torch::kInt64)).contiguous();
  for (int64_t r : perm) out.embedded.push_back(order[static_cast<size_t>(r)]);
  std::sort(out.unreadable.begin(), out.unreadable.end());
  return out;
}

}  // namespace hcmsn::index
