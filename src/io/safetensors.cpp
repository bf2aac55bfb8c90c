#include "hcmsn/io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "hcmsn/io/checked_file.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"

namespace hcmsn::io {
namespace {

// Real checkpoints have headers of a few hundred KB; anything this large is corrupt.
constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
  int64_t bytes;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kFloat64, 8},   {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8},   {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},     {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* dtype_by_name(const std::string& name) {
  for (const auto& d : kDtypes) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

const DtypeInfo& dtype_by_type(torch::ScalarType type) {
  for (const auto& d : kDtypes) {
    if (type == d.type) return d;
  }
  throw Error(detail::concat("safetensors: unsupported tensor dtype ", c10::toString(type),
                             " (supported: float64/32/16, bfloat16, int64/32/16/8, uint8, bool)"));
}

std::string supported_names() {
  std::string out;
  for (const auto& d : kDtypes) out += std::string(out.empty() ? "" : ", ") + d.name;
  return out;
}

}  // namespace

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& what) {
  static_assert(sizeof(float) == 4, "IEEE float32 expected");
  HCMSN_CHECK(bytes.size() >= 8, what, ": not a safetensors file (", bytes.size(),
              " bytes, shorter than the 8-byte header size)");
  const uint64_t header_size = get_le(bytes, 0, 8);
  HCMSN_CHECK(header_size >= 2 && header_size <= kMaxHeaderBytes && header_size <= bytes.size() - 8,
              what, ": not a safetensors file or truncated (header size ", header_size,
              ", file size ", bytes.size(), ")");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, header_size));
  } catch (const nlohmann::json::exception& e) {
    throw Error(
        detail::concat(what, ": the safetensors header is not valid JSON (", e.what(), ")"));
  }
  HCMSN_CHECK(header.is_object(), what, ": the safetensors header is not a JSON object");
  const std::string_view buffer = bytes.substr(8 + header_size);

  SafetensorsFile file;
  struct Entry {
    std::string name;
    const DtypeInfo* dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::vector<Entry> entries;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      HCMSN_CHECK(info.is_object(), what, ": __metadata__ must be a JSON object");
      for (const auto& [key, value] : info.items()) {
        HCMSN_CHECK(value.is_string(), what, ": __metadata__[\"", key, "\"] must be a string");
      }
      file.metadata = info;
      continue;
    }
    HCMSN_CHECK(!name.empty(), what, ": a tensor has an empty name");
    HCMSN_CHECK(info.is_object() && info.contains("dtype") && info.contains("shape") &&
                    info.contains("data_offsets"),
                what, ": tensor \"", name, "\" needs dtype, shape and data_offsets");
    HCMSN_CHECK(info["dtype"].is_string(), what, ": tensor \"", name, "\": dtype is not a string");
    const DtypeInfo* dtype = dtype_by_name(info["dtype"].get<std::string>());
    HCMSN_CHECK(dtype != nullptr, what, ": tensor \"", name, "\" has unsupported dtype ",
                info["dtype"].dump(), " (supported: ", supported_names(), ")");
    const auto& shape_json = info["shape"];
    HCMSN_CHECK(shape_json.is_array() && shape_json.size() <= 16, what, ": tensor \"", name,
                "\": shape must be an array of at most 16 sizes");
    std::vector<int64_t> shape;
    uint64_t numel = 1;
    for (const auto& s : shape_json) {
      HCMSN_CHECK(s.is_number_unsigned(), what, ": tensor \"", name,
                  "\": shape entries must be non-negative integers");
      const uint64_t n = s.get<uint64_t>();
      HCMSN_CHECK(n <= (uint64_t{1} << 40) && (n == 0 || numel <= (uint64_t{1} << 40) / n), what,
                  ": tensor \"", name, "\": shape is too large");
      numel *= n;
      shape.push_back(static_cast<int64_t>(n));
    }
    const auto& offsets = info["data_offsets"];
    HCMSN_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
                    offsets[1].is_number_unsigned(),
                what, ": tensor \"", name, "\": data_offsets must be [begin, end]");
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    HCMSN_CHECK(begin <= end && end <= buffer.size(), what, ": tensor \"", name,
                "\": data_offsets [", begin, ", ", end, ") fall outside the ", buffer.size(),
                "-byte buffer (file truncated?)");
    HCMSN_CHECK(end - begin == numel * static_cast<uint64_t>(dtype->bytes), what, ": tensor \"",
                name, "\": ", end - begin, " bytes do not match its shape and dtype (",
                numel * static_cast<uint64_t>(dtype->bytes), " expected)");
    entries.push_back({name, dtype, std::move(shape), begin, end});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < entries.size(); ++i) {
    HCMSN_CHECK(entries[i].begin >= entries[i - 1].end, what, ": tensors \"", entries[i - 1].name,
                "\" and \"", entries[i].name, "\" overlap in the buffer");
  }
  for (const auto& e : entries) {
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->type));
    if (e.end > e.begin) std::memcpy(t.data_ptr(), buffer.data() + e.begin, e.end - e.begin);
    file.tensors.emplace_back(e.name, std::move(t));
  }
  return file;
}

SafetensorsFile read_safetensors(const std::string& path) {
  return parse_safetensors(util::read_file(path), path);
}

std::string to_safetensors_bytes(const NamedTensors& tensors, const nlohmann::json& metadata) {
  HCMSN_CHECK(metadata.is_object(), "safetensors metadata must be a JSON object of strings");
  for (const auto& [key, value] : metadata.items()) {
    HCMSN_CHECK(value.is_string(), "safetensors metadata[\"", key, "\"] must be a string");
  }
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> contiguous;
  uint64_t offset = 0;
  std::set<std::string> names;
  for (const auto& [name, tensor] : tensors) {
    HCMSN_CHECK(!name.empty() && name != "__metadata__", "safetensors: invalid tensor name \"",
                name, "\"");
    HCMSN_CHECK(names.insert(name).second, "safetensors: duplicate tensor name \"", name, "\"");
    const DtypeInfo& dtype = dtype_by_type(tensor.scalar_type());
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t size = static_cast<uint64_t>(t.numel()) * static_cast<uint64_t>(dtype.bytes);
    header[name] = {{"dtype", dtype.name},
                    {"shape", t.sizes().vec()},
                    {"data_offsets", {offset, offset + size}}};
    offset += size;
    contiguous.push_back(std::move(t));
  }
  std::string json = header.dump();
  // Padding to 8 bytes keeps the buffer aligned for readers that map the file.
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + json.size() + offset);
  put_le(out, json.size(), 8);
  out += json;
  for (const auto& t : contiguous) {
    out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  }
  return out;
}

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const nlohmann::json& metadata) {
  util::write_file_atomic(path, to_safetensors_bytes(tensors, metadata));
}

}  // namespace hcmsn::io
