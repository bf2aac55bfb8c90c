#include "support/tiny_gallery.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>

#include "hcmsn/index/embedder.h"
#include "hcmsn/model/hcmsn_model.h"
#include "support/test_support.h"

namespace hcmsn::test {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<TinyGallery> build() {
  auto g = std::make_unique<TinyGallery>();
  g->dir = temp_dir("tiny_gallery");
  g->data = g->dir + "/data";
  g->run = g->dir + "/run";
  g->gallery_path = g->dir + "/gallery.hgi";
  auto r = run_cli(
      "--log-level warn synth-images --quiet --image-size 24 --photos-per-class 3 "
      "--sketches-per-class 4 --out '" +
      g->data + "'");
  if (r.exit_code != 0) {
    ADD_FAILURE() << r.output;
    return nullptr;
  }
  r = run_cli("--threads 2 --log-level warn train --quiet --images '" + g->data +
              "' --semantics '" + g->data + "/semantics.npy' --semantics-classes '" + g->data +
              "/classes.txt' --unseen '" + g->data + "/unseen.txt' --out '" + g->run +
              "' --image-size 16 --cnn-channels 4,8 --cnn-out-dim 16 --dim 16 --hidden 32 "
              "--classes-per-batch 6 --per-class 2 --epochs 2");
  if (r.exit_code != 0) {
    ADD_FAILURE() << r.output;
    return nullptr;
  }
  // Every photo, sorted, class = its folder.
  std::vector<std::string> paths;
  for (const auto& e : fs::recursive_directory_iterator(g->data + "/photo")) {
    if (e.is_regular_file() && e.path().extension() == ".png") paths.push_back(e.path().string());
  }
  std::sort(paths.begin(), paths.end());
  const auto embedder = index::Embedder::from_run(g->run);
  const auto batch = embedder->embed_image_files(paths, model::kPhoto, false);
  if (!batch.unreadable.empty() || batch.embedded.size() != paths.size()) {
    ADD_FAILURE() << "unreadable photos in the tiny gallery";
    return nullptr;
  }
  std::vector<index::GalleryEntry> entries;
  for (const size_t i : batch.embedded) {
    entries.push_back({paths[i], fs::path(paths[i]).parent_path().filename().string()});
  }
  g->gallery.curvature = embedder->curvature();
  g->gallery.embedder = embedder->spec();
  g->gallery.embeddings = torch::empty({0, embedder->dim()}, torch::kFloat32);
  index::append(g->gallery, batch.embeddings, std::move(entries));
  index::save_gallery(g->gallery_path, g->gallery);
  return g;
}

}  // namespace

const TinyGallery& tiny_gallery() {
  static const std::unique_ptr<TinyGallery> built = build();
  if (!built) {
    ADD_FAILURE() << "the tiny gallery could not be built";
    static const TinyGallery empty;
    return empty;
  }
  return *built;
}

}  // namespace hcmsn::test
