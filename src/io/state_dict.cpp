#include "hcmsn/io/state_dict.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "hcmsn/io/safetensors.h"
#include "hcmsn/io/torch_save.h"
#include "hcmsn/util/check.h"

namespace hcmsn::io {
namespace {

constexpr size_t kMaxListed = 20;

// Up to `n` leading bytes of the file (fewer when it is shorter).
std::string read_prefix(const std::string& path, size_t n) {
  std::error_code ec;
  HCMSN_CHECK(std::filesystem::is_regular_file(path, ec), "cannot read '", path,
              "': no such file (or it is not a regular file)");
  std::ifstream in(path, std::ios::binary);
  HCMSN_CHECK(in, "cannot open '", path, "'");
  std::string bytes(n, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(n));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

bool looks_like_safetensors(std::string_view bytes) {
  // An 8-byte header size followed by a JSON object.
  return bytes.size() >= 9 && bytes[8] == '{';
}

bool is_zip(std::string_view bytes) {
  return bytes.substr(0, 4) == std::string_view("PK\x03\x04", 4);
}

template <typename List>
void append_list(std::ostringstream& out, const char* title, const List& items) {
  if (items.empty()) return;
  out << "\n  " << title << " (" << items.size() << "):";
  size_t i = 0;
  for (const auto& item : items) {
    if (i++ == kMaxListed) {
      out << "\n    ... and " << items.size() - kMaxListed << " more";
      break;
    }
    out << "\n    " << item;
  }
}

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

void collect(const torch::nn::Module& module, const std::string& prefix, StateDict& out) {
  for (const auto& p : module.named_parameters(/*recurse=*/false)) {
    out.emplace_back(prefix + p.key(), p.value());
  }
  for (const auto& b : module.named_buffers(/*recurse=*/false)) {
    out.emplace_back(prefix + b.key(), b.value());
  }
  for (const auto& child : module.named_children()) {
    collect(*child.value(), prefix + child.key() + ".", out);
  }
}

}  // namespace

StateDict read_state_dict(const std::string& path) {
  // The format is told by the first bytes; each reader then reads the file once itself.
  const std::string bytes = read_prefix(path, 9);
  if (looks_like_safetensors(bytes)) return read_safetensors(path).tensors;
  if (is_zip(bytes)) return read_torch_save(path);
  HCMSN_CHECK(!(bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x80), path,
              ": a legacy (pre-1.6, non-zip) torch.save file; re-save it in Python with "
              "torch.save(torch.load(f), g) or convert it to .safetensors");
  throw Error(detail::concat(path, ": neither a .safetensors file nor a torch.save zip archive"));
}

StateDictLoadReport load_state_dict(torch::nn::Module& module, const StateDict& dict,
                                    const StateDictLoadOptions& options) {
  std::map<std::string, torch::Tensor> targets;
  for (auto& [name, tensor] : module_state_dict(module)) targets.emplace(name, tensor);

  StateDictLoadReport report;
  std::vector<std::string> mismatched, non_finite;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;
  std::set<std::string> provided;
  for (const auto& [raw_name, source] : dict) {
    std::string name = raw_name;
    if (!options.strip_prefix.empty() && name.rfind(options.strip_prefix, 0) == 0) {
      name = name.substr(options.strip_prefix.size());
    }
    const auto it = targets.find(name);
    if (it == targets.end()) {
      report.unexpected.push_back(raw_name);
      continue;
    }
    HCMSN_CHECK(provided.insert(name).second, "state dict: \"", name, "\" is provided twice");
    if (!source.sizes().equals(it->second.sizes())) {
      mismatched.push_back(name + ": file " + shape_of(source) + ", model " + shape_of(it->second));
      continue;
    }
    if (source.is_floating_point() && !torch::isfinite(source).all().item<bool>()) {
      non_finite.push_back(name);
      continue;
    }
    copies.emplace_back(it->second, source);
  }
  std::vector<std::string> missing_errors;
  for (const auto& [name, tensor] : targets) {
    if (provided.count(name)) continue;
    report.missing.push_back(name);
    bool ignorable = false;
    for (const auto& suffix : options.ignore_missing_suffixes) {
      ignorable |= name.size() >= suffix.size() &&
                   name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    }
    if (!ignorable) missing_errors.push_back(name);
  }
  const bool strict_failure =
      options.strict && (!missing_errors.empty() || !report.unexpected.empty());
  if (strict_failure || !mismatched.empty() || !non_finite.empty()) {
    std::ostringstream out;
    out << "the weights do not fit the model (nothing was loaded):";
    append_list(out, "shape mismatches", mismatched);
    append_list(out, "tensors with NaN or Inf", non_finite);
    if (options.strict) {
      append_list(out, "missing from the file", missing_errors);
      append_list(out, "in the file but not in the model", report.unexpected);
    }
    throw Error(out.str());
  }
  torch::NoGradGuard no_grad;
  for (auto& [target, source] : copies) target.copy_(source);
  report.loaded = static_cast<int64_t>(copies.size());
  return report;
}

StateDict module_state_dict(const torch::nn::Module& module) {
  StateDict out;
  collect(module, "", out);
  return out;
}

}  // namespace hcmsn::io
