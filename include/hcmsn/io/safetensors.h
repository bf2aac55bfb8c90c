// The safetensors format (Hugging Face): the common weight file of pretrained models.
//
//   offset  size  field
//   0       8     H, uint64 little-endian
//   8       H     JSON header, UTF-8: {"<name>": {"dtype": "F32", "shape": [...],
//                 "data_offsets": [begin, end]}, ..., "__metadata__": {"<key>": "<value>"}}
//   8+H     ...   the byte buffer; data_offsets are relative to its start, little-endian values
//
// Reading checks everything a hostile or truncated file could get wrong (header size, JSON,
// dtypes, shapes, offsets inside the buffer and matching the shape, no overlaps) and never reads
// out of bounds. Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hcmsn::io {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

struct SafetensorsFile {
  /// CPU, contiguous tensors, ordered by their offset in the file.
  NamedTensors tensors;
  /// The "__metadata__" map (string values), or an empty object.
  nlohmann::json metadata = nlohmann::json::object();
};

/// Parses an in-memory safetensors image. `what` names the source in error messages.
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& what = "<memory>");

/// Reads a .safetensors file. Throws hcmsn::Error naming the path and the problem.
SafetensorsFile read_safetensors(const std::string& path);

/// Serialises tensors (any supported dtype, CPU or not; made contiguous) with their names in the
/// given order; `metadata` must be an object of strings. Names must be unique and non-empty.
std::string to_safetensors_bytes(const NamedTensors& tensors,
                                 const nlohmann::json& metadata = nlohmann::json::object());

/// Writes a .safetensors file atomically.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const nlohmann::json& metadata = nlohmann::json::object());

}  // namespace hcmsn::io
