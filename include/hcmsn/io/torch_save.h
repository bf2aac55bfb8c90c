// Reading `torch.save` zip archives of state dicts without Python.
//
// LibTorch's own torch::pickle_load turns a collections.OrderedDict into None, and every
// module.state_dict() that PyTorch saves (torchvision's .pth files, Hugging Face's
// pytorch_model.bin) is an OrderedDict. This reader runs the subset of the pickle protocol
// (versions 2–4) that state dicts use: dicts, OrderedDicts (their `_metadata` attribute is
// ignored), lists, tuples, strings, numbers, and tensors rebuilt from the archive's storages
// (torch._utils._rebuild_tensor_v2 / _rebuild_parameter). Any other object is rejected with a
// message naming it; the reader never executes code and never reads out of bounds.
#pragma once

#include <string>

#include "hcmsn/io/state_dict.h"

namespace hcmsn::io {

/// The tensors of a torch.save archive holding a dict of tensors, or a dict that nests one under
/// "state_dict" or "model". Throws hcmsn::Error naming `path` on anything else.
StateDict read_torch_save(const std::string& path);

}  // namespace hcmsn::io
