// Tensors as raw little-endian bytes inside hcmsn's own payloads (feature caches, galleries).
// hcmsn writes and reads only on little-endian machines (x86-64, AArch64), so the bytes are the
// tensor's memory.
#pragma once

#include <torch/torch.h>

#include <string>
#include <string_view>
#include <vector>

namespace hcmsn::io {

/// Appends the bytes of `t` (made contiguous) to `out`.
void append_tensor_bytes(std::string& out, const torch::Tensor& t);

/// A new tensor of `shape` and `type` copied from bytes [offset, offset + nbytes). The caller
/// checks that the bytes are there.
torch::Tensor tensor_from_bytes(std::string_view bytes, size_t offset,
                                const std::vector<int64_t>& shape, torch::ScalarType type);

}  // namespace hcmsn::io
