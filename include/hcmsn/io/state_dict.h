// State dicts: named parameter and buffer tensors, as PyTorch's `module.state_dict()` spells them
// ("features.0.0.weight", "layer1.0.bn1.running_mean", ...), read from the files pretrained
// models ship in and copied into LibTorch modules with strict checks.
//
// Files: `.safetensors` (recognised by content) or a `torch.save` zip archive (.pth, .pt, .bin,
// e.g. Hugging Face's pytorch_model.bin) holding a dict of tensors, or a dict that nests one
// under "state_dict" or "model" (training checkpoints). Legacy non-zip torch.save files are
// rejected with a message saying how to re-save them.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hcmsn::io {

/// Names and tensors in file order (PyTorch's order when written by torch.save).
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

/// Reads a state dict file. Tensors are CPU, contiguous, in their stored dtype. Throws
/// hcmsn::Error naming the path when the file is missing, of another format, corrupt, holds
/// something other than tensors, or repeats a name.
StateDict read_state_dict(const std::string& path);

struct StateDictLoadOptions {
  /// Strict: every module tensor must be in the dict and every dict tensor in the module.
  bool strict = true;
  /// Module tensors whose name ends with one of these may be absent from the dict (they keep
  /// their value): checkpoints often omit BatchNorm's step counter.
  std::vector<std::string> ignore_missing_suffixes = {"num_batches_tracked"};
  /// Removed from the front of every dict name that starts with it (e.g. "bert." or "module.").
  std::string strip_prefix;
};

struct StateDictLoadReport {
  /// Module tensors the dict did not provide (only those allowed when strict).
  std::vector<std::string> missing;
  /// Dict tensors the module has no place for (always empty when strict).
  std::vector<std::string> unexpected;
  /// Tensors copied.
  int64_t loaded = 0;
};

/// Copies `dict` into `module`'s parameters and buffers by name, converting dtypes (a float16
/// file loads into a float32 module). Throws hcmsn::Error, before modifying anything, that lists
/// every shape mismatch and non-finite floating tensor, and when strict every missing and
/// unexpected name (up to 20 of each, with the total counts).
StateDictLoadReport load_state_dict(torch::nn::Module& module, const StateDict& dict,
                                    const StateDictLoadOptions& options = {});

/// The module's parameters and buffers in PyTorch's state_dict order: for each module, depth
/// first from the root, its own parameters then its own buffers. Tensors are shared, not copied.
StateDict module_state_dict(const torch::nn::Module& module);

}  // namespace hcmsn::io
