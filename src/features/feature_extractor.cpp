#include "hcmsn/features/feature_extractor.h"

#include "hcmsn/data/item_pixels.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "hcmsn/data/image_decode.h"
#include "hcmsn/io/checked_file.h"
#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/device.h"
#include "hcmsn/util/interrupt.h"
#include "hcmsn/util/log.h"
#include "hcmsn/util/precision.h"
#include "hcmsn/util/progress.h"

namespace hcmsn::features {
namespace {

namespace fs = std::filesystem;

constexpr char kChunkKind[] = "feature-chunk";
constexpr uint32_t kChunkVersion = 1;
constexpr int kFingerprintVersion = 1;

struct Chunk {
  torch::Tensor features;                               // (count, D); rows of failed items are zero
  std::vector<std::pair<int64_t, std::string>> failed;  // (index within chunk, reason)
};

std::string chunk_path(const std::string& dir, int64_t chunk) {
  char name[32];
  std::snprintf(name, sizeof name, "chunk-%05lld.bin", static_cast<long long>(chunk));
  return (fs::path(dir) / name).string();
}

void save_chunk(const std::string& path, int64_t first, const Chunk& chunk) {
  nlohmann::json failed = nlohmann::json::array();
  for (const auto& [i, reason] : chunk.failed) failed.push_back({i, reason});
  const nlohmann::json header = {{"first", first},
                                 {"count", chunk.features.size(0)},
                                 {"dim", chunk.features.size(1)},
                                 {"failed", failed}};
  const std::string json = header.dump();
  std::string payload;
  io::put_le(payload, json.size(), 8);
  payload += json;
  const auto f = chunk.features.contiguous();
  payload.append(static_cast<const char*>(f.data_ptr()), f.numel() * sizeof(float));
  io::write_checked_file(path, kChunkKind, kChunkVersion, payload);
}

// The chunk at `path` when it is intact and has the expected extent; nullopt otherwise.
std::optional<Chunk> load_chunk(const std::string& path, int64_t first, int64_t count) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  try {
    const auto file = io::read_checked_file(path, kChunkKind, kChunkVersion);
    const std::string_view p = file.payload;
    HCMSN_CHECK(p.size() >= 8, "short chunk");
    const uint64_t n = io::get_le(p, 0, 8);
    HCMSN_CHECK(n <= p.size() - 8, "bad chunk header");
    const auto header = nlohmann::json::parse(p.substr(8, n));
    const int64_t dim = header.at("dim").get<int64_t>();
    HCMSN_CHECK(header.at("first").get<int64_t>() == first &&
                    header.at("count").get<int64_t>() == count && dim > 0 &&
                    p.size() - 8 - n == static_cast<uint64_t>(count * dim) * sizeof(float),
                "chunk does not match");
    Chunk chunk;
    chunk.features = torch::empty({count, dim}, torch::kFloat32);
    std::memcpy(chunk.features.data_ptr(), p.data() + 8 + n, count * dim * sizeof(float));
    for (const auto& f : header.at("failed")) {
      chunk.failed.emplace_back(f.at(0).get<int64_t>(), f.at(1).get<std::string>());
    }
    return chunk;
  } catch (const std::exception& e) {
    util::log_warn("recomputing {}: {}", path, e.what());
    return std::nullopt;
  }
}

nlohmann::json fingerprint(const std::vector<data::DatasetItem>& items,
                           const model::BackboneImpl& backbone, const ExtractOptions& o) {
  uint32_t crc = 0;
  for (const auto& item : items) {
    const std::string line = item.id + '\t' + item.path + '\t' + std::to_string(item.record) +
                             '\t' + item.class_name + '\t' + std::to_string(item.modality) + '\n';
    crc = io::crc32_of(line, crc);
  }
  nlohmann::json print = {
      {"version", kFingerprintVersion},
      {"items", items.size()},
      {"items_crc32", crc},
      {"backbone", backbone.kind()},
      {"out_dim", backbone.out_dim()},
      {"weights", o.weights_id},
      {"transform",
       {{"mode", o.transform.mode},
        {"size", o.transform.size},
        {"resize_to", o.transform.resize_to},
        {"mean", o.transform.mean},
        {"std", o.transform.std}}},
      {"render",
       {{"size", o.render.size}, {"line_width", o.render.line_width}, {"margin", o.render.margin}}},
      {"chunk_size", o.chunk_size}};
  // Only when not fp32: fingerprints (and resumable chunks) of fp32 extractions stay as they were.
  if (o.precision != "fp32") print["precision"] = o.precision;
  // Only with views, for the same reason.
  if (std::any_of(items.begin(), items.end(), [](const auto& i) { return i.view > 0; })) {
    print["views"] = {{"scale", o.views.crop.scale},
                      {"ratio", o.views.crop.ratio},
                      {"flip_probability", o.views.crop.flip_probability},
                      {"brightness", o.views.jitter.brightness},
                      {"contrast", o.views.jitter.contrast},
                      {"saturation", o.views.jitter.saturation},
                      {"seed", o.views.seed}};
  }
  return print;
}

// Prepares the work folder: keeps its chunks when the fingerprint matches, else empties it.
void prepare_work_dir(const std::string& dir, const nlohmann::json& print) {
  const fs::path path = fs::path(dir) / "fingerprint.json";
  std::error_code ec;
  if (fs::exists(path, ec)) {
    nlohmann::json old;
    try {
      old = nlohmann::json::parse(util::read_file(path.string()));
    } catch (const std::exception&) {
      old = nullptr;
    }
    if (old == print) return;
    util::log_info("{}: the items, backbone or preprocessing changed; starting over", dir);
    for (const auto& entry : fs::directory_iterator(dir)) {
      const auto name = entry.path().filename().string();
      if (name.rfind("chunk-", 0) == 0) fs::remove(entry.path());
    }
  }
  fs::create_directories(dir);
  util::write_file_atomic(path.string(), print.dump(1) + "\n");
}

Chunk compute_chunk(const std::vector<data::DatasetItem>& items, int64_t first, int64_t count,
                    model::BackboneImpl& backbone, const ExtractOptions& options,
                    data::DrawingReader& drawings, util::Progress& progress, bool& interrupted) {
  Chunk chunk;
  chunk.features = torch::zeros({count, backbone.out_dim()}, torch::kFloat32);
  const int64_t s = options.transform.size;
  for (int64_t start = 0; start < count; start += options.batch_size) {
    if (util::interrupt_requested()) {
      interrupted = true;
      return chunk;
    }
    const int64_t n = std::min(options.batch_size, count - start);
    auto pixels = torch::zeros({n, 3, s, s}, torch::kUInt8);
    std::vector<std::string> errors(static_cast<size_t>(n));
    // Decoding is independent per item; LibTorch's pool runs it on every core.
    at::parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        try {
          pixels[i].copy_(
              load_item_pixels(items[static_cast<size_t>(first + start + i)], options, drawings));
        } catch (const std::exception& ex) {
          errors[static_cast<size_t>(i)] = ex.what();
        }
      }
    });
    torch::Tensor out;
    {
      torch::NoGradGuard no_grad;
      const auto device = backbone.parameters().front().device();
      util::AutocastGuard autocast(device, util::parse_precision(options.precision));
      out = backbone.forward(data::to_backbone_input(pixels.to(device), options.transform))
                .to(torch::kCPU, torch::kFloat32);
    }
    HCMSN_ASSERT(out.dim() == 2 && out.size(0) == n && out.size(1) == backbone.out_dim(),
                 "backbone returned ", out.sizes());
    chunk.features.slice(0, start, start + n).copy_(out);
    for (int64_t i = 0; i < n; ++i) {
      if (errors[static_cast<size_t>(i)].empty()) continue;
      chunk.features[start + i].zero_();
      chunk.failed.emplace_back(start + i, errors[static_cast<size_t>(i)]);
    }
    progress.advance(n);
  }
  return chunk;
}

}  // namespace

torch::Tensor load_item_pixels(const data::DatasetItem& item, const ExtractOptions& options,
                               data::DrawingReader& drawings) {
  const auto image = data::decode_item(item, options.render, drawings);
  if (item.view > 0) return photo_view_pixels(image, item, options.transform.size, options.views);
  return data::eval_resize(image, options.transform);
}

std::vector<data::DatasetItem> photo_view_items(const std::vector<data::DatasetItem>& items,
                                                int64_t views) {
  HCMSN_CHECK(views >= 1 && views <= 100, "give 1 to 100 views per photo, got ", views);
  std::vector<data::DatasetItem> out;
  for (const auto& item : items) {
    if (item.modality != model::kPhoto) continue;
    HCMSN_CHECK(item.view == 0, "item '", item.id, "' is already a view");
    for (int64_t k = 1; k <= views; ++k) {
      data::DatasetItem v = item;
      v.id = item.id + "#view" + std::to_string(k);
      v.view = k;
      out.push_back(std::move(v));
    }
  }
  return out;
}

torch::Tensor photo_view_pixels(const torch::Tensor& image, const data::DatasetItem& item,
                                int64_t size, const PhotoViewOptions& options) {
  HCMSN_CHECK(item.view > 0, "item '", item.id, "' is not a view");
  // The id names the photo and the view; CRC-32 is stable across platforms, std::hash is not.
  // ATen's CPU generator keeps 32 bits of its seed, so the seed is folded into the CRC.
  const uint64_t seed = io::crc32_of(item.id, io::crc32_of(std::to_string(options.seed)));
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto crop = data::random_resized_crop(image, size, options.crop, generator);
  return data::color_jitter(crop, options.jitter, generator);
}

torch::Tensor load_item_pixels(const data::DatasetItem& item, const ExtractOptions& options) {
  data::DrawingReader drawings;
  return load_item_pixels(item, options, drawings);
}

ExtractResult extract_features(const std::vector<data::DatasetItem>& items,
                               const std::vector<std::string>& class_names,
                               model::BackboneImpl& backbone, const ExtractOptions& given,
                               const nlohmann::json& meta) {
  ExtractOptions options = given;
  const auto& input = backbone.input_options();
  options.transform.mean = input.mean;
  options.transform.std = input.std;
  data::validate(options.transform);
  HCMSN_CHECK(options.batch_size >= 1 && options.chunk_size >= 1,
              "batch size and chunk size must be ≥ 1");
  HCMSN_CHECK(meta.is_object(), "extraction meta must be a JSON object");
  std::map<std::string, int64_t> class_index;
  for (size_t c = 0; c < class_names.size(); ++c) {
    HCMSN_CHECK(class_index.emplace(class_names[c], static_cast<int64_t>(c)).second, "class '",
                class_names[c], "' is listed twice");
  }
  std::set<std::string> ids;
  for (const auto& item : items) {
    HCMSN_CHECK(class_index.count(item.class_name), "item '", item.id, "' has class '",
                item.class_name, "', which is not among the dataset's classes");
    HCMSN_CHECK(ids.insert(item.id).second, "item id '", item.id, "' appears twice");
  }

  const auto started = std::chrono::steady_clock::now();
  // One reader for the whole extraction: each .ndjson file is scanned for line offsets once,
  // not once per drawing.
  data::DrawingReader drawings;
  const bool was_training = backbone.is_training();
  backbone.eval();
  backbone.to(util::parse_device(options.device));
  util::parse_precision(options.precision);  // a clear error before any work
  const auto n = static_cast<int64_t>(items.size());
  const int64_t num_chunks = (n + options.chunk_size - 1) / options.chunk_size;
  const bool resumable = !options.work_dir.empty();
  distributed::Communicator* const group = options.communicator;
  HCMSN_CHECK(group == nullptr || resumable,
              "a sharded extraction passes its chunks through the resume folder: drop "
              "--no-resume");
  const auto mine = [group](int64_t chunk) {
    return group == nullptr || chunk % group->world_size() == group->rank();
  };
  // Computed once: it hashes every item, and the cache's meta repeats two of its parts.
  const nlohmann::json print = fingerprint(items, backbone, options);
  if (resumable && (group == nullptr || group->is_main())) {
    prepare_work_dir(options.work_dir, print);
  }
  if (group != nullptr) group->barrier();  // the folder is ready before any rank writes to it
  int64_t my_items = 0;
  for (int64_t c = 0; c < num_chunks; ++c) {
    if (mine(c)) my_items += std::min(options.chunk_size, n - c * options.chunk_size);
  }

  ExtractResult result;
  std::vector<Chunk> chunks(static_cast<size_t>(num_chunks));
  util::Progress progress(my_items, {"extracting features", "images", options.show_progress});
  for (int64_t c = 0; c < num_chunks; ++c) {
    if (!mine(c)) continue;
    const int64_t first = c * options.chunk_size;
    const int64_t count = std::min(options.chunk_size, n - first);
    if (resumable) {
      if (auto saved = load_chunk(chunk_path(options.work_dir, c), first, count)) {
        chunks[static_cast<size_t>(c)] = std::move(*saved);
        result.reused_items += count;
        progress.advance(count);
        continue;
      }
    }
    bool interrupted = false;
    Chunk chunk =
        compute_chunk(items, first, count, backbone, options, drawings, progress, interrupted);
    if (interrupted) {
      result.interrupted = true;
      break;
    }
    result.computed_items += count;
    if (resumable) save_chunk(chunk_path(options.work_dir, c), first, chunk);
    chunks[static_cast<size_t>(c)] = std::move(chunk);
  }
  progress.finish();
  backbone.train(was_training);
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (result.interrupted) return result;
  if (group != nullptr) {
    // Every rank's chunks are saved; the counts are the whole extraction's.
    auto counts = torch::tensor({result.computed_items, result.reused_items}, torch::kInt64);
    group->sum(counts);
    result.computed_items = counts[0].item<int64_t>();
    result.reused_items = counts[1].item<int64_t>();
    if (!group->is_main()) {
      result.has_cache = false;
      return result;
    }
    for (int64_t c = 0; c < num_chunks; ++c) {
      if (mine(c)) continue;
      const int64_t first = c * options.chunk_size;
      auto saved = load_chunk(chunk_path(options.work_dir, c), first,
                              std::min(options.chunk_size, n - first));
      HCMSN_CHECK(saved.has_value(), "chunk ", c, " of rank ", c % group->world_size(),
                  " is missing or damaged in ", options.work_dir,
                  " (is the folder on storage every rank writes to?); rerun to redo it");
      chunks[static_cast<size_t>(c)] = std::move(*saved);
    }
  }

  // Assemble the readable rows.
  std::vector<torch::Tensor> parts;
  std::vector<int64_t> labels, modality;
  data::FeatureCache& cache = result.cache;
  for (int64_t c = 0; c < num_chunks; ++c) {
    const Chunk& chunk = chunks[static_cast<size_t>(c)];
    std::vector<bool> bad(static_cast<size_t>(chunk.features.size(0)), false);
    for (const auto& [i, reason] : chunk.failed) {
      bad[static_cast<size_t>(i)] = true;
      result.unreadable.emplace_back(items[static_cast<size_t>(c * options.chunk_size + i)].id,
                                     reason);
    }
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < chunk.features.size(0); ++i) {
      if (bad[static_cast<size_t>(i)]) continue;
      keep.push_back(i);
      const auto& item = items[static_cast<size_t>(c * options.chunk_size + i)];
      labels.push_back(class_index.at(item.class_name));
      modality.push_back(item.modality);
      cache.item_ids.push_back(item.id);
    }
    parts.push_back(chunk.features.index_select(0, torch::tensor(keep, torch::kInt64)));
  }
  cache.features = parts.empty() ? torch::empty({0, backbone.out_dim()}, torch::kFloat32)
                                 : torch::cat(parts).contiguous();
  cache.labels = torch::tensor(labels, torch::kInt64);
  cache.modality = torch::tensor(modality, torch::kInt64);
  cache.class_names = class_names;
  cache.meta = meta;
  cache.meta["backbone"] = backbone.kind();
  cache.meta["weights"] = options.weights_id;
  cache.meta["transform"] = print["transform"];
  cache.meta["render"] = print["render"];
  cache.meta["unreadable"] = result.unreadable.size();
  if (print.contains("precision")) cache.meta["precision"] = print["precision"];
  if (print.contains("views")) cache.meta["photo_views"] = print["views"];
  cache.validate();
  return result;
}

std::string weights_path_of(const std::string& weights_id) {
  const auto open = weights_id.rfind(" (");
  return open == std::string::npos ? weights_id : weights_id.substr(0, open);
}

}  // namespace hcmsn::features
