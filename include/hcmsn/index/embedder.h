// Embeds photos and sketches with a trained run exactly as its training rows were embedded:
// a run trained on images (small-cnn) resizes with data::load_image's filter; a run trained on
// a feature cache runs the pretrained backbone recorded in the cache (kind, weights,
// TF-"SAME" padding, transform, drawing render options) before HCMSN.
//
// The spec() JSON stores all of that, plus the checkpoint's path and CRC-32, so a gallery can
// rebuild the same embedder later without the feature cache; from_spec refuses a checkpoint
// that changed since (its message says to re-index or to pass the run again).
//
// Thread safety: embed_* are const and may run concurrently (eval mode, no gradients).
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hcmsn/data/quickdraw_strokes.h"
#include "hcmsn/util/progress.h"

namespace hcmsn::index {

struct EmbedderOptions {
  /// "best" or "last" checkpoint of the run.
  std::string checkpoint = "best";
  /// Images per forward pass in embed_image_files and embed_loaded.
  int64_t batch = 32;
  /// Where the network runs: "cpu", "cuda" or "cuda:N" (util/device.h). Not part of the spec a
  /// gallery records: any device gives the same embeddings up to float rounding.
  std::string device = "cpu";
};

class Embedder {
 public:
  /// Throws hcmsn::Error when `run_dir` is not a run, has no such checkpoint, or (feature runs)
  /// its feature cache or backbone weights cannot be read.
  static std::shared_ptr<const Embedder> from_run(const std::string& run_dir,
                                                  const EmbedderOptions& options = {});
  /// Rebuilds the embedder a gallery recorded. `run_dir_override` (non-empty) replaces the
  /// recorded run folder, e.g. after moving it; `device` as EmbedderOptions::device.
  static std::shared_ptr<const Embedder> from_spec(const nlohmann::json& spec,
                                                   const std::string& run_dir_override = "",
                                                   const std::string& device = "cpu");

  const nlohmann::json& spec() const;
  double curvature() const;
  /// Embedding dimension.
  int64_t dim() const;
  /// The size drawings are rendered at before the image pipeline.
  const data::RenderOptions& render_options() const;

  /// uint8 (3, H, W) RGB images of any size → float32 (B, dim) points on the ball.
  /// `modality`: model::kSketch or model::kPhoto.
  torch::Tensor embed_images(const std::vector<torch::Tensor>& images, int64_t modality) const;
  /// A drawing rendered with render_options(), embedded as a sketch: float32 (1, dim).
  torch::Tensor embed_drawing(const data::Drawing& drawing) const;

  struct FileBatch {
    torch::Tensor embeddings;      // float32 (M, dim), rows of the inputs that loaded
    std::vector<size_t> embedded;  // index of the input of each row
    std::vector<std::pair<size_t, std::string>> unreadable;  // (index, reason)
  };
  /// Decodes and embeds image files as `modality`, batch() at a time, with a progress bar when
  /// `progress`. Unreadable files are returned, never dropped silently.
  FileBatch embed_image_files(const std::vector<std::string>& paths, int64_t modality,
                              bool progress) const;
  /// The general form: `count` inputs whose pixels `load(i)` makes (uint8 (3, H, W); it may
  /// throw, which marks input i unreadable with the exception's message), loaded in parallel
  /// (ATen threads) and embedded as `modality`, batch() per forward pass.
  FileBatch embed_loaded(int64_t count, const std::function<torch::Tensor(size_t)>& load,
                         int64_t modality, const util::ProgressOptions& progress) const;
  /// Inputs per forward pass (EmbedderOptions::batch, or the gallery's recorded batch).
  int64_t batch() const;

  ~Embedder();
  Embedder(const Embedder&) = delete;
  Embedder& operator=(const Embedder&) = delete;

  struct State;

 private:
  explicit Embedder(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace hcmsn::index
