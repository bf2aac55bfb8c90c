#include "support/tiny_gallery.h"

#include <gtest/gtest.h>

#include <memory>

#include "hcmsn/index/embedder.h"
#include "hcmsn/index/indexer.h"
#include "hcmsn/index/photo_list.h"
#include "support/test_support.h"

namespace hcmsn::test {
namespace {

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
  // Every photo, class = its folder, embedded as `hcmsn index` does.
  const auto embedder = index::Embedder::from_run(g->run);
  g->gallery = index::new_gallery(*embedder);
  const auto added =
      index::add_photos(g->gallery, *embedder, index::list_photos(g->data + "/photo"), false);
  if (!added.unreadable.empty() || added.added != g->gallery.size()) {
    ADD_FAILURE() << "unreadable photos in the tiny gallery";
    return nullptr;
  }
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
