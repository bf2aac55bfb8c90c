#include "hcmsn/index/gallery.h"

#include <set>
#include <utility>

#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/io/checked_file.h"
#include "hcmsn/io/raw_tensor.h"
#include "hcmsn/util/check.h"

namespace hcmsn::index {
namespace {

using json = nlohmann::json;

// The first row index where `bad` (bool, 1-D) is true, or -1.
int64_t first_true(const torch::Tensor& bad) {
  if (bad.numel() == 0 || !bad.any().item<bool>()) return -1;
  return bad.nonzero()[0][0].item<int64_t>();
}

Gallery parse_payload(const std::string& payload) {
  HCMSN_CHECK(payload.size() >= 8, "the payload is too short for a gallery header");
  const uint64_t header_len = io::get_le(payload, 0, 8);
  HCMSN_CHECK(header_len <= payload.size() - 8, "the JSON header length (", header_len,
              " bytes) exceeds the payload (", payload.size(), " bytes)");
  json header;
  try {
    header = json::parse(std::string_view(payload).substr(8, header_len));
  } catch (const json::exception& e) {
    throw Error(detail::concat("malformed JSON header: ", e.what()));
  }
  Gallery g;
  int64_t n = 0, d = 0;
  try {
    n = header.at("count").get<int64_t>();
    d = header.at("dim").get<int64_t>();
    g.curvature = header.at("curvature").get<double>();
    g.embedder = header.at("embedder");
    g.meta = header.at("meta");
    const json& entries = header.at("entries");
    HCMSN_CHECK(entries.is_array(), "'entries' is not an array");
    g.entries.reserve(entries.size());
    for (const json& e : entries) {
      HCMSN_CHECK(e.is_array() && (e.size() == 2 || e.size() == 3),
                  "an entry is not [path, class] or [path, class, hash]");
      g.entries.push_back({e.at(0).get<std::string>(), e.at(1).get<std::string>(),
                           e.size() == 3 ? e.at(2).get<std::string>() : std::string()});
    }
  } catch (const json::exception& e) {
    throw Error(detail::concat("the JSON header lacks a field or has a wrong type: ", e.what()));
  }
  HCMSN_CHECK(n >= 0 && d >= 0, "the header gives a negative size (count = ", n, ", dim = ", d,
              ")");
  const uint64_t rest = payload.size() - 8 - header_len;
  const uint64_t un = static_cast<uint64_t>(n), ud = static_cast<uint64_t>(d);
  const bool sizes_match = un == 0 ? rest == 0 : (ud <= rest / (4 * un) && 4 * un * ud == rest);
  HCMSN_CHECK(sizes_match, "the data section has ", rest, " bytes, but count = ", n,
              " and dim = ", d, " need 4·count·dim");
  g.embeddings = io::tensor_from_bytes(payload, 8 + header_len, {n, d}, torch::kFloat32);
  return g;
}

}  // namespace

int64_t Gallery::size() const {
  return embeddings.dim() == 2 ? embeddings.size(0) : 0;
}
int64_t Gallery::dim() const {
  return embeddings.dim() == 2 ? embeddings.size(1) : 0;
}

std::vector<std::string> Gallery::class_names() const {
  std::set<std::string> names;
  for (const auto& e : entries) {
    if (!e.class_name.empty()) names.insert(e.class_name);
  }
  return {names.begin(), names.end()};
}

void Gallery::validate() const {
  HCMSN_CHECK(embeddings.defined() && embeddings.dim() == 2 &&
                  embeddings.scalar_type() == torch::kFloat32 && embeddings.device().is_cpu(),
              "gallery: embeddings must be a float32 (N, D) CPU tensor");
  HCMSN_CHECK(static_cast<int64_t>(entries.size()) == embeddings.size(0),
              "gallery: ", entries.size(), " entries for ", embeddings.size(0), " embedding rows");
  HCMSN_CHECK(std::isfinite(curvature) && curvature >= 0, "gallery: curvature must be finite and ",
              ">= 0, got ", curvature);
  if (embeddings.numel() == 0) return;
  const int64_t bad = first_true(torch::isfinite(embeddings).all(1).logical_not());
  HCMSN_CHECK(bad < 0, "gallery: row ", bad, " ('", entries[static_cast<size_t>(bad)].path,
              "') has a NaN or infinite value; re-index it");
  if (curvature > 0) {
    // Strictly inside the ball: c‖y‖² < 1, so the distance's denominator 1 − c‖y‖² stays > 0.
    const torch::Tensor outside =
        embeddings.to(torch::kFloat64).pow(2).sum(1).mul(curvature).ge(1.0);
    const int64_t o = first_true(outside);
    HCMSN_CHECK(o < 0, "gallery: row ", o, " ('", entries[static_cast<size_t>(o)].path,
                "') lies on or outside the ball of curvature ", curvature,
                "; embeddings must come from the model's projection");
  }
}

json result_entries(const Gallery& gallery, const torch::Tensor& ids,
                    const torch::Tensor& distances, int64_t row) {
  HCMSN_CHECK(ids.dim() == 2 && distances.sizes() == ids.sizes() && row >= 0 && row < ids.size(0),
              "result_entries: ids and distances must be (Q, k) with 0 <= row < Q");
  const torch::Tensor i = ids[row].to(torch::kInt64).contiguous();
  const torch::Tensor d = distances[row].to(torch::kFloat64).contiguous();
  json out = json::array();
  for (int64_t j = 0; j < i.size(0); ++j) {
    const int64_t id = i.data_ptr<int64_t>()[j];
    if (id < 0) continue;
    HCMSN_CHECK(id < gallery.size(), "result_entries: id ", id, " is outside the gallery");
    const GalleryEntry& e = gallery.entries[static_cast<size_t>(id)];
    out.push_back({{"id", id},
                   {"path", e.path},
                   {"class", e.class_name.empty() ? json(nullptr) : json(e.class_name)},
                   {"distance", d.data_ptr<double>()[j]}});
  }
  return out;
}

void append(Gallery& gallery, const torch::Tensor& embeddings, std::vector<GalleryEntry> entries) {
  HCMSN_CHECK(
      embeddings.defined() && embeddings.dim() == 2 && embeddings.scalar_type() == torch::kFloat32,
      "append: embeddings must be float32 (B, D)");
  HCMSN_CHECK(static_cast<int64_t>(entries.size()) == embeddings.size(0),
              "append: ", entries.size(), " entries for ", embeddings.size(0), " rows");
  Gallery next = gallery;
  if (gallery.size() == 0 && gallery.dim() == 0) {
    next.embeddings = embeddings.to(torch::kCPU).contiguous().clone();
  } else {
    HCMSN_CHECK(embeddings.size(1) == gallery.dim(), "append: rows have ", embeddings.size(1),
                " dimensions but the gallery has ", gallery.dim(),
                "; add photos with the model that built the gallery");
    next.embeddings = torch::cat({gallery.embeddings, embeddings.to(torch::kCPU)}).contiguous();
  }
  next.entries.insert(next.entries.end(), std::make_move_iterator(entries.begin()),
                      std::make_move_iterator(entries.end()));
  next.validate();
  gallery = std::move(next);
}

void save_gallery(const std::string& path, const Gallery& gallery) {
  try {
    gallery.validate();
  } catch (const Error& e) {
    throw Error(detail::concat("cannot save '", path, "': ", e.what()));
  }
  json entries = json::array();
  for (const auto& e : gallery.entries) {
    entries.push_back(e.content_hash.empty() ? json::array({e.path, e.class_name})
                                             : json::array({e.path, e.class_name, e.content_hash}));
  }
  std::string header;
  try {
    header = json{{"version", kGalleryVersion},   {"count", gallery.size()},
                  {"dim", gallery.dim()},         {"curvature", gallery.curvature},
                  {"embedder", gallery.embedder}, {"meta", gallery.meta},
                  {"entries", std::move(entries)}}
                 .dump();
  } catch (const json::exception& e) {
    throw Error(detail::concat("cannot save '", path,
                               "': a path or class name is not valid UTF-8 (", e.what(), ")"));
  }
  std::string payload;
  payload.reserve(8 + header.size() + static_cast<size_t>(gallery.embeddings.nbytes()));
  io::put_le(payload, header.size(), 8);
  payload += header;
  io::append_tensor_bytes(payload, gallery.embeddings);
  io::write_checked_file(path, kGalleryKind, kGalleryVersion, payload);
}

Gallery load_gallery(const std::string& path) {
  const io::CheckedFile file = io::read_checked_file(path, kGalleryKind, kGalleryVersion);
  try {
    Gallery g = parse_payload(file.payload);
    g.validate();
    return g;
  } catch (const Error& e) {
    throw Error(detail::concat("'", path, "' is not a valid gallery: ", e.what(),
                               "; rebuild it with `hcmsn index`"));
  }
}

}  // namespace hcmsn::index
