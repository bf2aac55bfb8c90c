#include "hcmsn/data/feature_cache.h"

#include <cstring>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "hcmsn/io/checked_file.h"
#include "hcmsn/io/raw_tensor.h"
#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/util/check.h"

// The payload stores the in-memory bytes of float32/int64 tensors; every platform hcmsn builds on
// (x86-64, aarch64) is little-endian, so no byte swapping is needed.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "feature_cache.cpp assumes a little-endian host");

namespace hcmsn::data {
namespace {

using nlohmann::json;

// Strict UTF-8 (no overlong forms, surrogates or code points above U+10FFFF), as the JSON
// header requires.
bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int extra = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
      min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
      min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i <= static_cast<size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

// Checks one list of names; `what` is "item id" or "class name", `where` "rows" or "positions".
void check_names(const std::vector<std::string>& names, const char* what, const char* where) {
  std::unordered_map<std::string, size_t> first_at;
  first_at.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    HCMSN_CHECK(!name.empty(), "feature cache: ", what, " ", i, " is empty");
    HCMSN_CHECK(
        name.find_first_of("\n\r") == std::string::npos, "feature cache: ", what, " ", i,
        " contains a line break: ", json(name).dump(-1, ' ', true, json::error_handler_t::replace));
    HCMSN_CHECK(valid_utf8(name), "feature cache: ", what, " ", i, " is not valid UTF-8");
    const auto [it, inserted] = first_at.emplace(name, i);
    HCMSN_CHECK(inserted, "feature cache: duplicate ", what, " '", name, "' at ", where, " ",
                it->second, " and ", i, "; ", what, "s must be unique");
  }
}

std::string dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32:
      return "float32";
    case torch::kFloat64:
      return "float64";
    case torch::kInt32:
      return "int32";
    case torch::kInt64:
      return "int64";
    default:
      return c10::toString(type);
  }
}

void check_tensor(const torch::Tensor& t, const char* name, torch::ScalarType type, int64_t rank) {
  HCMSN_CHECK(t.defined(), "feature cache: ", name, " is not set");
  HCMSN_CHECK(t.scalar_type() == type, "feature cache: ", name, " must be ", dtype_name(type),
              ", got ", dtype_name(t.scalar_type()));
  HCMSN_CHECK(t.dim() == rank, "feature cache: ", name, " must have ", rank,
              " dimension(s), got shape ", t.sizes());
  HCMSN_CHECK(t.device().is_cpu(), "feature cache: ", name, " must be on the CPU, got ",
              t.device());
}

// The first index where `ok` (bool, 1-D) is false, or -1.
int64_t first_false(const torch::Tensor& ok) {
  if (ok.numel() == 0 || ok.all().item<bool>()) return -1;
  return ok.logical_not().nonzero()[0][0].item<int64_t>();
}

FeatureCache parse_payload(const std::string& payload) {
  HCMSN_CHECK(payload.size() >= 8, "the payload is too short for a feature cache header");
  const uint64_t header_len = io::get_le(payload, 0, 8);
  HCMSN_CHECK(header_len <= payload.size() - 8, "the JSON header length (", header_len,
              " bytes) exceeds the payload (", payload.size(), " bytes)");
  json header;
  FeatureCache cache;
  int64_t n = 0, d = 0;
  try {
    header = json::parse(payload.begin() + 8, payload.begin() + 8 + header_len);
    HCMSN_CHECK(header.is_object(), "the JSON header is not an object");
    HCMSN_CHECK(header.at("feature_dtype") == "<f4" && header.at("label_dtype") == "<i8" &&
                    header.at("modality_dtype") == "<i8",
                "unsupported dtypes in the header (expected <f4 features, <i8 labels and "
                "modality)");
    HCMSN_CHECK(header.at("n").is_number_integer() && header.at("d").is_number_integer(),
                "the header's n and d must be integers");
    n = header.at("n").get<int64_t>();
    d = header.at("d").get<int64_t>();
    cache.class_names = header.at("class_names").get<std::vector<std::string>>();
    cache.item_ids = header.at("item_ids").get<std::vector<std::string>>();
    cache.meta = header.at("meta");
  } catch (const json::exception& e) {
    throw Error(detail::concat("malformed JSON header: ", e.what()));
  }
  HCMSN_CHECK(n >= 0 && d >= 0, "the header gives a negative size (n = ", n, ", d = ", d, ")");
  // rest must be exactly 4·n·d + 16·n bytes; compared without overflow.
  const uint64_t rest = payload.size() - 8 - header_len;
  const uint64_t un = static_cast<uint64_t>(n), ud = static_cast<uint64_t>(d);
  const bool sizes_match =
      un <= rest / 16 &&
      (un == 0 ? rest == 0 : ud <= (rest - 16 * un) / (4 * un) && 4 * un * ud == rest - 16 * un);
  HCMSN_CHECK(sizes_match, "the data section has ", rest, " bytes, but the header's n = ", n,
              " and d = ", d, " need 4·n·d + 16·n");
  const size_t at = 8 + header_len;
  cache.features = io::tensor_from_bytes(payload, at, {n, d}, torch::kFloat32);
  cache.labels = io::tensor_from_bytes(payload, at + 4 * un * ud, {n}, torch::kInt64);
  cache.modality = io::tensor_from_bytes(payload, at + 4 * un * ud + 8 * un, {n}, torch::kInt64);
  return cache;
}

FeatureCache with_rows(const FeatureCache& cache, const torch::Tensor& rows) {
  FeatureCache out;
  out.features = cache.features.index_select(0, rows).contiguous();
  out.labels = cache.labels.index_select(0, rows).contiguous();
  out.modality = cache.modality.index_select(0, rows).contiguous();
  const auto* r = rows.data_ptr<int64_t>();
  out.item_ids.reserve(static_cast<size_t>(rows.numel()));
  for (int64_t i = 0; i < rows.numel(); ++i) out.item_ids.push_back(cache.item_ids[r[i]]);
  out.class_names = cache.class_names;
  out.meta = cache.meta;
  return out;
}

}  // namespace

int64_t FeatureCache::size() const {
  HCMSN_CHECK(features.defined() && features.dim() == 2,
              "feature cache: features must be a 2-D tensor (N, D)");
  return features.size(0);
}

int64_t FeatureCache::dim() const {
  HCMSN_CHECK(features.defined() && features.dim() == 2,
              "feature cache: features must be a 2-D tensor (N, D)");
  return features.size(1);
}

void FeatureCache::validate() const {
  check_tensor(features, "features", torch::kFloat32, 2);
  check_tensor(labels, "labels", torch::kInt64, 1);
  check_tensor(modality, "modality", torch::kInt64, 1);
  const int64_t n = features.size(0);
  HCMSN_CHECK(labels.size(0) == n, "feature cache: labels has ", labels.size(0), " entries for ", n,
              " feature rows");
  HCMSN_CHECK(modality.size(0) == n, "feature cache: modality has ", modality.size(0),
              " entries for ", n, " feature rows");
  HCMSN_CHECK(static_cast<int64_t>(item_ids.size()) == n, "feature cache: ", item_ids.size(),
              " item ids for ", n, " feature rows");

  const auto num_classes = static_cast<int64_t>(class_names.size());
  const int64_t bad_label = first_false(labels.ge(0).logical_and(labels.lt(num_classes)));
  HCMSN_CHECK(bad_label < 0, "feature cache: label ", labels[bad_label].item<int64_t>(), " of row ",
              bad_label, " ('", item_ids[bad_label], "') is out of range for ", num_classes,
              " class names");
  const int64_t bad_modality =
      first_false(modality.eq(model::kSketch).logical_or(modality.eq(model::kPhoto)));
  HCMSN_CHECK(bad_modality < 0, "feature cache: modality ", modality[bad_modality].item<int64_t>(),
              " of row ", bad_modality, " ('", item_ids[bad_modality],
              "') is neither kSketch (0) nor kPhoto (1)");
  if (features.size(1) > 0) {
    const int64_t bad_row = first_false(torch::isfinite(features).all(1));
    HCMSN_CHECK(bad_row < 0, "feature cache: row ", bad_row, " ('", item_ids[bad_row],
                "') has a NaN or infinite feature; recompute it");
  }
  check_names(item_ids, "item id", "rows");
  check_names(class_names, "class name", "positions");
}

void save_feature_cache(const std::string& path, const FeatureCache& cache) {
  try {
    cache.validate();
  } catch (const Error& e) {
    throw Error(detail::concat("cannot save '", path, "': ", e.what()));
  }
  const int64_t n = cache.size(), d = cache.dim();
  std::string header;
  try {
    header = json{{"n", n},
                  {"d", d},
                  {"feature_dtype", "<f4"},
                  {"label_dtype", "<i8"},
                  {"modality_dtype", "<i8"},
                  {"class_names", cache.class_names},
                  {"item_ids", cache.item_ids},
                  {"meta", cache.meta}}
                 .dump();
  } catch (const json::exception& e) {
    throw Error(detail::concat("cannot save '", path, "': meta cannot be written as JSON (",
                               e.what(), "); keep its strings valid UTF-8"));
  }
  std::string payload;
  payload.reserve(8 + header.size() + static_cast<size_t>(n) * (4 * static_cast<size_t>(d) + 16));
  io::put_le(payload, header.size(), 8);
  payload += header;
  io::append_tensor_bytes(payload, cache.features);
  io::append_tensor_bytes(payload, cache.labels);
  io::append_tensor_bytes(payload, cache.modality);
  io::write_checked_file(path, kFeatureCacheKind, kFeatureCacheVersion, payload);
}

FeatureCache load_feature_cache(const std::string& path) {
  const io::CheckedFile file = io::read_checked_file(path, kFeatureCacheKind, kFeatureCacheVersion);
  try {
    FeatureCache cache = parse_payload(file.payload);
    cache.validate();
    return cache;
  } catch (const Error& e) {
    std::string_view msg = e.what();
    constexpr std::string_view kPrefix = "feature cache: ";
    if (msg.substr(0, kPrefix.size()) == kPrefix) msg.remove_prefix(kPrefix.size());
    throw Error(
        detail::concat("'", path, "' is not a valid feature cache: ", msg, "; re-create it"));
  }
}

FeatureCache select_rows(const FeatureCache& cache, const torch::Tensor& indices) {
  cache.validate();
  HCMSN_CHECK(indices.defined() && indices.scalar_type() == torch::kInt64 && indices.dim() == 1,
              "select_rows: indices must be a 1-D int64 tensor");
  const torch::Tensor rows = indices.to(torch::kCPU).contiguous();
  const int64_t n = cache.size();
  const auto* r = rows.data_ptr<int64_t>();
  std::vector<int64_t> seen_at(static_cast<size_t>(n), -1);
  for (int64_t i = 0; i < rows.numel(); ++i) {
    HCMSN_CHECK(r[i] >= 0 && r[i] < n, "select_rows: index ", r[i], " (position ", i,
                ") is out of range for a cache of ", n, " rows");
    HCMSN_CHECK(seen_at[r[i]] < 0, "select_rows: row ", r[i], " is selected twice (positions ",
                seen_at[r[i]], " and ", i, "); item ids must stay unique");
    seen_at[r[i]] = i;
  }
  return with_rows(cache, rows);
}

FeatureCache subset_classes(const FeatureCache& cache,
                            const std::vector<std::string>& keep_class_names) {
  cache.validate();
  std::unordered_map<std::string, int64_t> old_index;
  for (size_t c = 0; c < cache.class_names.size(); ++c) {
    old_index.emplace(cache.class_names[c], static_cast<int64_t>(c));
  }
  std::vector<int64_t> new_label(cache.class_names.size(), -1);
  std::string unknown;
  for (size_t k = 0; k < keep_class_names.size(); ++k) {
    const auto it = old_index.find(keep_class_names[k]);
    if (it == old_index.end()) {
      unknown += (unknown.empty() ? "'" : ", '") + keep_class_names[k] + "'";
      continue;
    }
    HCMSN_CHECK(new_label[it->second] < 0, "subset_classes: class '", keep_class_names[k],
                "' is listed twice");
    new_label[it->second] = static_cast<int64_t>(k);
  }
  HCMSN_CHECK(unknown.empty(), "subset_classes: not classes of this feature cache: ", unknown,
              " (it has ", cache.class_names.size(), " classes); check the class list");

  std::vector<int64_t> rows;
  std::vector<int64_t> labels;
  const torch::Tensor old_labels = cache.labels.contiguous();
  const auto* l = old_labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < cache.size(); ++i) {
    if (new_label[l[i]] >= 0) {
      rows.push_back(i);
      labels.push_back(new_label[l[i]]);
    }
  }
  const auto count = static_cast<int64_t>(rows.size());
  FeatureCache out = with_rows(cache, torch::tensor(rows, torch::kInt64).reshape({count}));
  out.labels = torch::tensor(labels, torch::kInt64).reshape({count});
  out.class_names = keep_class_names;
  return out;
}

FeatureCache concat(const FeatureCache& a, const FeatureCache& b) {
  a.validate();
  b.validate();
  HCMSN_CHECK(a.dim() == b.dim(), "concat: feature dimensions differ (", a.dim(), " vs ", b.dim(),
              "); were the caches made with different backbones?");
  FeatureCache out;
  out.class_names = a.class_names;
  std::unordered_map<std::string, int64_t> index;
  for (size_t c = 0; c < a.class_names.size(); ++c) {
    index.emplace(a.class_names[c], static_cast<int64_t>(c));
  }
  std::vector<int64_t> b_to_out;
  for (const auto& name : b.class_names) {
    const auto [it, inserted] = index.emplace(name, static_cast<int64_t>(out.class_names.size()));
    if (inserted) out.class_names.push_back(name);
    b_to_out.push_back(it->second);
  }
  const torch::Tensor remap = torch::tensor(b_to_out, torch::kInt64);
  const torch::Tensor b_labels =
      b.size() == 0 ? b.labels : remap.index_select(0, b.labels.contiguous());
  out.features = torch::cat({a.features, b.features}, 0).contiguous();
  out.labels = torch::cat({a.labels, b_labels}, 0).contiguous();
  out.modality = torch::cat({a.modality, b.modality}, 0).contiguous();
  out.item_ids = a.item_ids;
  out.item_ids.insert(out.item_ids.end(), b.item_ids.begin(), b.item_ids.end());
  out.meta = a.meta == b.meta ? a.meta : json{{"parts", json::array({a.meta, b.meta})}};
  check_names(out.item_ids, "item id", "rows");
  return out;
}

}  // namespace hcmsn::data
