#include "hcmsn/index/embedder.h"

#include <ATen/Parallel.h>

#include <cstdio>
#include <filesystem>
#include <utility>

#include "hcmsn/data/feature_cache.h"
#include "hcmsn/data/image_decode.h"
#include "hcmsn/data/image_folder.h"
#include "hcmsn/data/item_pixels.h"
#include "hcmsn/data/transforms.h"
#include "hcmsn/features/feature_extractor.h"
#include "hcmsn/io/checked_file.h"
#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/train/run_config.h"
#include "hcmsn/train/run_loader.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/device.h"
#include "hcmsn/util/progress.h"
#include "hcmsn/vision/pretrained.h"

namespace hcmsn::index {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr int kSpecVersion = 1;

std::string crc32_hex(const std::string& path) {
  char text[16];
  std::snprintf(text, sizeof text, "%08x", io::crc32_of(util::read_file(path)));
  return text;
}

std::string checkpoint_path(const std::string& run_dir, const std::string& which) {
  HCMSN_CHECK(which == "best" || which == "last", "checkpoint must be 'best' or 'last', got '",
              which, "'");
  return which == "best" ? train::best_checkpoint_path(run_dir)
                         : train::last_checkpoint_path(run_dir);
}

data::TransformOptions transform_from_json(const json& j) {
  data::TransformOptions t;
  t.mode = j.at("mode").get<std::string>();
  t.size = j.at("size").get<int64_t>();
  t.resize_to = j.at("resize_to").get<int64_t>();
  t.mean = j.at("mean").get<std::array<double, 3>>();
  t.std = j.at("std").get<std::array<double, 3>>();
  data::validate(t);
  return t;
}

data::RenderOptions render_from_json(const json& j) {
  data::RenderOptions r;
  r.size = j.at("size").get<int64_t>();
  r.line_width = j.at("line_width").get<double>();
  r.margin = j.at("margin").get<double>();
  return r;
}

json render_to_json(const data::RenderOptions& r) {
  return {{"size", r.size}, {"line_width", r.line_width}, {"margin", r.margin}};
}

}  // namespace

struct Embedder::State {
  json spec;
  model::RetrievalNetwork network{nullptr};
  // Feature runs: the pretrained backbone in front of the network, and its preprocessing.
  std::shared_ptr<model::BackboneImpl> backbone;
  data::TransformOptions transform;
  // Image runs: the square input size of the network's own backbone, and for runs trained on a
  // streamed dataset its resize mode (their pixels are data::eval_item_pixels'); empty: the
  // decode-time resize of image-folder runs (data::resize_square).
  int64_t image_size = 0;
  std::string dataset_resize;
  data::RenderOptions render;
  double curvature = 0.0;
  int64_t dim = 0;
  int64_t batch = 32;
  torch::Device device{torch::kCPU};
};

Embedder::Embedder(std::unique_ptr<State> state) : state_(std::move(state)) {}
Embedder::~Embedder() = default;

namespace {

// The "input" record of a run: its own image backbone, or the pretrained backbone, weights and
// preprocessing `hcmsn extract` recorded in the run's feature cache (the one place the cache is
// read: galleries keep this record, so queries never reread the cache).
json input_of(const train::RunConfig& config, const std::string& run_dir) {
  if (config.backbone.kind != "none") {
    // A run trained on a streamed dataset rasterised its drawings its own way.
    json input = {
        {"kind", "images"},
        {"image_size", config.backbone.input.image_size},
        {"render", render_to_json(config.data.kind == "dataset" ? config.data.render
                                                                : data::RenderOptions{})}};
    // Streamed runs saw their images resized as data::eval_item_pixels does; queries must too.
    if (config.data.kind == "dataset") input["resize"] = data::ItemPixelOptions{}.resize_mode;
    return input;
  }
  HCMSN_CHECK(config.data.kind == "features", "run '", run_dir,
              "' has neither a backbone nor a feature cache to embed with");
  const data::FeatureCache cache = data::load_feature_cache(config.data.path);
  const json& meta = cache.meta;
  HCMSN_CHECK(meta.contains("backbone") && meta.contains("weights") && meta.contains("transform") &&
                  meta.contains("render"),
              "feature cache '", config.data.path,
              "' does not record its backbone (it was not made by `hcmsn extract`); index "
              "photos with a run trained on an `hcmsn extract` cache or on images");
  const std::string weights = features::weights_path_of(meta.at("weights").get<std::string>());
  return {{"kind", "backbone"},
          {"backbone", meta.at("backbone")},
          {"weights", weights},
          {"weights_crc32", crc32_hex(weights)},
          {"tf_same_padding", meta.value("tf_same_padding", true)},
          {"transform", meta.at("transform")},
          {"render", meta.at("render")}};
}

// The network of `run_dir` with the front end `input` describes.
std::unique_ptr<Embedder::State> load_state(const std::string& run_dir,
                                            const EmbedderOptions& options, const json& input,
                                            const std::string& checkpoint_crc32) {
  HCMSN_CHECK(options.batch >= 1, "embedder batch must be >= 1");
  const torch::Device device = util::parse_device(options.device);
  train::LoadedRun run = train::load_run(run_dir, options.checkpoint);
  auto state = std::make_unique<Embedder::State>();
  state->device = device;
  run.network->to(device);
  state->network = run.network;
  state->batch = options.batch;
  state->curvature = run.network->hcmsn()->curvature().value();
  state->dim = run.network->hcmsn()->embedding_dim();
  state->spec = {{"version", kSpecVersion},
                 {"run_dir", fs::absolute(run_dir).lexically_normal().string()},
                 {"checkpoint", options.checkpoint},
                 {"checkpoint_crc32", checkpoint_crc32},
                 {"curvature", state->curvature},
                 {"dim", state->dim},
                 {"batch", options.batch},
                 {"input", input}};
  state->render = render_from_json(input.at("render"));
  if (input.at("kind") == "backbone") {
    vision::BackboneFactoryOptions factory;
    factory.tf_same_padding = input.at("tf_same_padding").get<bool>();
    state->backbone = vision::load_pretrained_backbone(
        input.at("backbone").get<std::string>(), input.at("weights").get<std::string>(), factory);
    state->backbone->eval();
    state->backbone->to(state->device);
    state->transform = transform_from_json(input.at("transform"));
    state->transform.mean = state->backbone->input_options().mean;
    state->transform.std = state->backbone->input_options().std;
  } else {
    state->image_size = input.at("image_size").get<int64_t>();
    state->dataset_resize = input.value("resize", "");
  }
  return state;
}

}  // namespace

std::shared_ptr<const Embedder> Embedder::from_run(const std::string& run_dir,
                                                   const EmbedderOptions& options) {
  const json input = input_of(train::read_run_config(run_dir), run_dir);
  // The checksum after load_run, so a run without the checkpoint gets load_run's message.
  auto state = load_state(run_dir, options, input, "");
  state->spec["checkpoint_crc32"] = crc32_hex(checkpoint_path(run_dir, options.checkpoint));
  return std::shared_ptr<const Embedder>(new Embedder(std::move(state)));
}

std::shared_ptr<const Embedder> Embedder::from_spec(const json& spec,
                                                    const std::string& run_dir_override,
                                                    const std::string& device) {
  std::string run_dir, which, crc;
  int64_t batch = 32;
  json input;
  try {
    HCMSN_CHECK(spec.at("version").get<int>() <= kSpecVersion,
                "the gallery was made by a newer hcmsn; upgrade hcmsn");
    run_dir = spec.at("run_dir").get<std::string>();
    which = spec.at("checkpoint").get<std::string>();
    crc = spec.at("checkpoint_crc32").get<std::string>();
    batch = spec.at("batch").get<int64_t>();
    input = spec.at("input");
  } catch (const json::exception& e) {
    throw Error(detail::concat("the gallery's embedder record is malformed (", e.what(),
                               "); rebuild the gallery with `hcmsn index`"));
  }
  if (!run_dir_override.empty()) run_dir = run_dir_override;
  std::error_code ec;
  HCMSN_CHECK(fs::is_directory(run_dir, ec), "the gallery's run folder '", run_dir,
              "' is missing; pass the run with --run if it moved");
  const std::string ckpt = checkpoint_path(run_dir, which);
  HCMSN_CHECK(fs::exists(ckpt, ec), "the gallery's checkpoint '", ckpt, "' is missing");
  const std::string now = crc32_hex(ckpt);
  HCMSN_CHECK(now == crc, "checkpoint '", ckpt, "' changed since the gallery was built (crc32 ",
              now, ", gallery made with ", crc,
              "): its embeddings would not match new queries; rebuild the gallery with `hcmsn "
              "index`, or pass the original run with --run");
  if (input.value("kind", "") == "backbone") {
    const std::string weights = input.at("weights").get<std::string>();
    HCMSN_CHECK(crc32_hex(weights) == input.at("weights_crc32").get<std::string>(),
                "backbone weights '", weights,
                "' changed since the gallery was built; rebuild the gallery with `hcmsn index`");
  }
  return std::shared_ptr<const Embedder>(
      new Embedder(load_state(run_dir, {which, batch, device}, input, crc)));
}

const json& Embedder::spec() const {
  return state_->spec;
}
double Embedder::curvature() const {
  return state_->curvature;
}
int64_t Embedder::dim() const {
  return state_->dim;
}
const data::RenderOptions& Embedder::render_options() const {
  return state_->render;
}

torch::Tensor Embedder::embed_images(const std::vector<torch::Tensor>& images,
                                     int64_t modality) const {
  HCMSN_CHECK(modality == model::kSketch || modality == model::kPhoto,
              "modality must be kSketch (0) or kPhoto (1), got ", modality);
  const auto n = static_cast<int64_t>(images.size());
  if (n == 0) return torch::empty({0, state_->dim}, torch::kFloat32);
  std::vector<torch::Tensor> pixels(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    const torch::Tensor& image = images[i];
    HCMSN_CHECK(image.defined() && image.dim() == 3 && image.size(0) == 3 &&
                    image.scalar_type() == torch::kUInt8,
                "expected uint8 (3, H, W) RGB images, got ", image.sizes());
    pixels[i] = state_->backbone ? data::eval_resize(image, state_->transform)
                : state_->dataset_resize.empty()
                    ? data::resize_square(image, state_->image_size)
                    : data::eval_item_pixels(image, state_->image_size, state_->dataset_resize);
  }
  torch::NoGradGuard no_grad;
  torch::Tensor input = torch::stack(pixels).to(state_->device);
  if (state_->backbone) {
    input = state_->backbone->forward(data::to_backbone_input(input, state_->transform));
  }
  const torch::Tensor m =
      torch::full({n}, modality, torch::TensorOptions(torch::kInt64).device(state_->device));
  return state_->network->embed(input, m).to(torch::kCPU, torch::kFloat32).contiguous();
}

torch::Tensor Embedder::embed_drawing(const data::Drawing& drawing) const {
  return embed_images({data::render_drawing(drawing, state_->render)}, model::kSketch);
}

int64_t Embedder::batch() const {
  return state_->batch;
}

Embedder::FileBatch Embedder::embed_image_files(const std::vector<std::string>& paths,
                                                int64_t modality, bool progress) const {
  return embed_loaded(static_cast<int64_t>(paths.size()),
                      [&paths](size_t i) { return data::decode_image_file(paths[i]); }, modality,
                      {"embedding photos", "images", progress});
}

Embedder::FileBatch Embedder::embed_loaded(int64_t n,
                                           const std::function<torch::Tensor(size_t)>& load,
                                           int64_t modality,
                                           const util::ProgressOptions& progress) const {
  FileBatch out;
  std::vector<torch::Tensor> parts;
  util::Progress bar(n, progress);
  for (int64_t first = 0; first < n; first += state_->batch) {
    const int64_t count = std::min(state_->batch, n - first);
    std::vector<torch::Tensor> images(static_cast<size_t>(count));
    std::vector<std::string> errors(static_cast<size_t>(count));
    at::parallel_for(0, count, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        try {
          images[static_cast<size_t>(i)] = load(static_cast<size_t>(first + i));
        } catch (const std::exception& ex) {
          errors[static_cast<size_t>(i)] = ex.what();
        }
      }
    });
    std::vector<torch::Tensor> ok;
    for (int64_t i = 0; i < count; ++i) {
      const auto at = static_cast<size_t>(first + i);
      if (errors[static_cast<size_t>(i)].empty()) {
        ok.push_back(std::move(images[static_cast<size_t>(i)]));
        out.embedded.push_back(at);
      } else {
        out.unreadable.emplace_back(at, errors[static_cast<size_t>(i)]);
      }
    }
    if (!ok.empty()) parts.push_back(embed_images(ok, modality));
    bar.advance(count);
  }
  out.embeddings = parts.empty() ? torch::empty({0, state_->dim}, torch::kFloat32)
                                 : torch::cat(parts).contiguous();
  return out;
}

}  // namespace hcmsn::index
