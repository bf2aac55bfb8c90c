#include "hcmsn/index/indexer.h"

#include <chrono>
#include <ctime>
#include <unordered_set>

#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/util/check.h"

namespace hcmsn::index {
namespace {

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&t, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

}  // namespace

Gallery new_gallery(const Embedder& embedder) {
  Gallery g;
  g.curvature = embedder.curvature();
  g.embedder = embedder.spec();
  g.embeddings = torch::empty({0, embedder.dim()}, torch::kFloat32);
  g.meta = {{"created", now_utc()}};
  return g;
}

AddPhotosResult add_photos(Gallery& gallery, const Embedder& embedder,
                           std::vector<GalleryEntry> photos, bool progress) {
  const auto same = [&](const char* key) {
    return gallery.embedder.value(key, nlohmann::json()) ==
           embedder.spec().value(key, nlohmann::json());
  };
  HCMSN_CHECK(same("checkpoint_crc32") && same("checkpoint") && same("input"),
              "the embedder is not the one that built the gallery (another run or checkpoint); "
              "add photos with the gallery's own run");
  AddPhotosResult result;
  std::unordered_set<std::string> known;
  for (const auto& e : gallery.entries) known.insert(e.path);
  std::vector<GalleryEntry> fresh;
  std::vector<std::string> paths;
  for (auto& e : photos) {
    if (!known.insert(e.path).second) {
      ++result.already_present;
      continue;
    }
    paths.push_back(e.path);
    fresh.push_back(std::move(e));
  }
  const auto start = std::chrono::steady_clock::now();
  const Embedder::FileBatch batch = embedder.embed_image_files(paths, model::kPhoto, progress);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const auto& [i, reason] : batch.unreadable) result.unreadable.emplace_back(paths[i], reason);
  std::vector<GalleryEntry> entries;
  for (const size_t i : batch.embedded) entries.push_back(std::move(fresh[i]));
  result.added = static_cast<int64_t>(entries.size());
  if (result.added > 0) {
    append(gallery, batch.embeddings, std::move(entries));
    gallery.meta["updated"] = now_utc();
  }
  return result;
}

}  // namespace hcmsn::index
