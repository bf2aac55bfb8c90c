#include "hcmsn/io/raw_tensor.h"

#include <cstring>

namespace hcmsn::io {

void append_tensor_bytes(std::string& out, const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  if (c.numel() == 0) return;  // an empty tensor's data pointer may be null
  out.append(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.nbytes()));
}

torch::Tensor tensor_from_bytes(std::string_view bytes, size_t offset,
                                const std::vector<int64_t>& shape, torch::ScalarType type) {
  torch::Tensor t = torch::empty(shape, type);
  if (t.numel() > 0) {
    std::memcpy(t.data_ptr(), bytes.data() + offset, static_cast<size_t>(t.nbytes()));
  }
  return t;
}

}  // namespace hcmsn::io
