// NumPy .npy files (format versions 1.0, 2.0 and 3.0), the interchange format for embeddings,
// semantics and per-query results.
//
// Reading accepts little- and big-endian float32/float64/int32/int64/uint8/bool arrays in C or
// Fortran order and returns a contiguous CPU tensor in C order. Anything else (object arrays,
// structured dtypes, truncated or oversized payloads, malformed headers) is rejected with an
// hcmsn::Error that names the file and the problem; the parser never reads out of bounds.
// Writing produces version 1.0 (2.0 when the header needs it), little-endian, C order, atomically.
#pragma once

#include <torch/torch.h>

#include <string>
#include <string_view>

namespace hcmsn::io {

/// Parses an in-memory .npy image. `what` names the source in error messages.
torch::Tensor parse_npy(std::string_view bytes, const std::string& what = "<memory>");

/// Reads a .npy file.
torch::Tensor read_npy(const std::string& path);

/// Serialises a tensor (float32, float64, int32, int64, uint8 or bool; any rank) to .npy bytes.
std::string to_npy_bytes(const torch::Tensor& tensor);

/// Writes a tensor to `path` atomically.
void write_npy(const std::string& path, const torch::Tensor& tensor);

/// Reads a 2-D float32/float64 matrix of shape (rows, cols), e.g. embeddings. Checks the rank
/// and that every value is finite; errors name the first bad row.
torch::Tensor read_npy_matrix(const std::string& path);

}  // namespace hcmsn::io
