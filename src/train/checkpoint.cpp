#include "hcmsn/train/checkpoint.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <vector>

#include "hcmsn/io/checked_file.h"
#include "hcmsn/train/weight_average.h"
#include "hcmsn/util/check.h"

namespace hcmsn::train {
namespace {

void put_section(std::string& out, const std::string& bytes) {
  io::put_le(out, bytes.size(), 8);
  out += bytes;
}

std::string get_section(const std::string& payload, size_t& pos, const std::string& path) {
  HCMSN_CHECK(payload.size() - pos >= 8, path, ": checkpoint payload is truncated");
  const uint64_t n = io::get_le(payload, pos, 8);
  pos += 8;
  HCMSN_CHECK(payload.size() - pos >= n, path, ": checkpoint payload is truncated");
  std::string out = payload.substr(pos, n);
  pos += n;
  return out;
}

template <class Saveable>
std::string to_bytes(Saveable& object) {
  torch::serialize::OutputArchive archive;
  object.save(archive);
  std::ostringstream os;
  archive.save_to(os);
  return os.str();
}

template <class Loadable>
void from_bytes(Loadable& object, const std::string& bytes, const std::string& path,
                const char* what, const torch::Device& device) {
  try {
    torch::serialize::InputArchive archive;
    std::istringstream is(bytes);
    // Onto the network's device, wherever the checkpoint was written (a CUDA run evaluates on
    // a CPU machine, and resumes on either).
    archive.load_from(is, device);
    object.load(archive);
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    HCMSN_CHECK(false, path, ": the ", what,
                " in this checkpoint does not fit the run's configuration (",
                e.what_without_backtrace(), ")");
  } catch (const std::exception& e) {
    // TorchScript's own errors (torch::jit::ErrorReport, ...) name no file.
    HCMSN_CHECK(false, path, ": the ", what, " in this checkpoint cannot be read (", e.what(),
                "); the file is damaged: use the run's other checkpoint (--checkpoint best or "
                "last) or train the run again");
  }
}

// Module::load replaces a tensor whose shape differs without complaint (Tensor::set_), and
// ignores parts the module lacks, so a checkpoint of another configuration would "load" into a
// broken network. Compare the archive with the module first, recursively, before changing it.
void check_fits(torch::serialize::InputArchive& archive, const torch::nn::Module& module,
                const std::string& prefix, const std::string& path) {
  const auto mismatch = [&](const std::string& name, const std::string& what) {
    HCMSN_CHECK(false, path,
                ": the network in this checkpoint does not fit the run's "
                "configuration (",
                prefix, name, ": ", what, ")");
  };
  std::vector<std::string> known;
  const auto check_tensor = [&](const std::string& name, const torch::Tensor& expected,
                                bool is_buffer) {
    known.push_back(name);
    torch::Tensor stored;
    if (!archive.try_read(name, stored, is_buffer)) mismatch(name, "missing");
    if (stored.sizes() != expected.sizes() || stored.scalar_type() != expected.scalar_type()) {
      mismatch(name, detail::concat(stored.sizes(), " ", stored.scalar_type(), " stored, ",
                                    expected.sizes(), " ", expected.scalar_type(), " expected"));
    }
  };
  for (const auto& p : module.named_parameters(/*recurse=*/false)) {
    check_tensor(p.key(), p.value(), false);
  }
  for (const auto& b : module.named_buffers(/*recurse=*/false)) {
    check_tensor(b.key(), b.value(), true);
  }
  for (const auto& child : module.named_children()) {
    known.push_back(child.key());
    torch::serialize::InputArchive sub;
    if (!archive.try_read(child.key(), sub)) mismatch(child.key(), "missing");
    check_fits(sub, *child.value(), prefix + child.key() + ".", path);
  }
  for (const auto& key : archive.keys()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    torch::serialize::InputArchive sub;
    torch::Tensor t;
    if (archive.try_read(key, sub) || archive.try_read(key, t)) mismatch(key, "not in the network");
  }
}

// Checks that the archive `bytes` fits `network`, then loads it.
void load_network(model::RetrievalNetworkImpl& network, const std::string& bytes,
                  const std::string& path, const torch::Device& device) {
  try {
    torch::serialize::InputArchive archive;
    std::istringstream is(bytes);
    archive.load_from(is, device);
    check_fits(archive, network, "", path);
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    HCMSN_CHECK(false, path, ": unreadable network in this checkpoint (",
                e.what_without_backtrace(),
                "); the file is damaged: use the run's other checkpoint (--checkpoint best or "
                "last) or train the run again");
  } catch (const std::exception& e) {
    HCMSN_CHECK(false, path, ": unreadable network in this checkpoint (", e.what(),
                "); the file is damaged: use the run's other checkpoint (--checkpoint best or "
                "last) or train the run again");
  }
  from_bytes(network, bytes, path, "network", device);
}

}  // namespace

nlohmann::json TrainerState::to_json() const {
  return {{"epoch", epoch},
          {"step_in_epoch", step_in_epoch},
          {"global_step", global_step},
          {"best_score", best_score},
          {"best_epoch", best_epoch},
          {"history", history},
          {"epoch_sums", epoch_sums},
          {"epoch0", epoch0}};
}

TrainerState TrainerState::from_json(const nlohmann::json& j) {
  TrainerState s;
  s.epoch = j.at("epoch").get<int64_t>();
  s.step_in_epoch = j.at("step_in_epoch").get<int64_t>();
  s.global_step = j.at("global_step").get<int64_t>();
  s.best_score = j.at("best_score").get<double>();
  s.best_epoch = j.at("best_epoch").get<int64_t>();
  s.history = j.at("history");
  s.epoch_sums = j.at("epoch_sums");
  s.epoch0 = j.value("epoch0", nlohmann::json());  // absent before issue 11
  return s;
}

void save_checkpoint(const std::string& path, const TrainerState& state,
                     model::RetrievalNetworkImpl& network, torch::optim::Optimizer* generator,
                     torch::optim::Optimizer* discriminator, WeightAverage* average) {
  const bool has_optimizers = generator != nullptr && discriminator != nullptr;
  const int64_t average_count = average ? average->count() : 0;
  nlohmann::json header = {{"state", state.to_json()},
                           {"has_optimizers", has_optimizers},
                           {"average_count", average_count}};
  std::string training_weights;
  if (average_count > 0 && has_optimizers) training_weights = to_bytes(network);
  std::string weights;
  {
    const AveragedWeights use(average);  // a no-op while the average is empty
    weights = to_bytes(network);
  }
  std::string payload;
  put_section(payload, header.dump());
  put_section(payload, weights);
  put_section(payload, generator ? to_bytes(*generator) : std::string());
  put_section(payload, discriminator ? to_bytes(*discriminator) : std::string());
  put_section(payload, training_weights);
  io::write_checked_file(path, "checkpoint", kCheckpointVersion, payload);
}

TrainerState load_checkpoint(const std::string& path, model::RetrievalNetworkImpl& network,
                             torch::optim::Optimizer* generator,
                             torch::optim::Optimizer* discriminator, WeightAverage* average) {
  const io::CheckedFile file = io::read_checked_file(path, "checkpoint", kCheckpointVersion);
  size_t pos = 0;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(get_section(file.payload, pos, path));
  } catch (const nlohmann::json::exception& e) {
    HCMSN_CHECK(false, path, ": malformed checkpoint header: ", e.what());
  }
  const std::string net = get_section(file.payload, pos, path);
  const std::string gen = get_section(file.payload, pos, path);
  const std::string disc = get_section(file.payload, pos, path);
  // Version 1 ends here.
  const std::string training =
      file.version >= 2 ? get_section(file.payload, pos, path) : std::string();
  int64_t count = 0;
  bool has_optimizers = false;
  try {
    count = header.value("average_count", int64_t{0});
    has_optimizers = header.value("has_optimizers", false);
  } catch (const nlohmann::json::exception& e) {
    HCMSN_CHECK(false, path, ": malformed checkpoint header: ", e.what());
  }
  // What a resume needs, checked before anything changes.
  HCMSN_CHECK(has_optimizers || (!generator && !discriminator), path,
              " holds weights only (a best checkpoint); resume from last.ckpt");
  HCMSN_CHECK(!average || count == 0 || !training.empty(), path,
              " holds averaged weights only; resume from last.ckpt");
  const torch::Device device = network.parameters().front().device();
  load_network(network, net, path, device);
  if (average) {
    average->set_count(0);
    if (count > 0) {
      // Section 2 is the mean: keep it in the average, then restore the training weights.
      average->update();
      average->set_count(count);
      load_network(network, training, path, device);
    }
  }
  if (generator) from_bytes(*generator, gen, path, "generator optimizer", device);
  if (discriminator) from_bytes(*discriminator, disc, path, "discriminator optimizer", device);
  try {
    return TrainerState::from_json(header.at("state"));
  } catch (const nlohmann::json::exception& e) {
    HCMSN_CHECK(false, path, ": malformed checkpoint state: ", e.what());
  }
  return {};
}

}  // namespace hcmsn::train
