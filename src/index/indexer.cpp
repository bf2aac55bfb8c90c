#include "hcmsn/index/indexer.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <unordered_map>
#include <unordered_set>

#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/content_hash.h"

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

// util::content_hash of each file (in parallel), with the bytes' error where one is unreadable.
struct Hashed {
  std::vector<std::string> hash, error;
};
Hashed hash_files(const std::vector<std::string>& paths) {
  Hashed out;
  out.hash.resize(paths.size());
  out.error.resize(paths.size());
  at::parallel_for(0, static_cast<int64_t>(paths.size()), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const auto at = static_cast<size_t>(i);
      try {
        out.hash[at] = util::content_hash(util::read_file(paths[at]));
      } catch (const std::exception& ex) {
        out.error[at] = ex.what();
      }
    }
  });
  return out;
}

}  // namespace

void check_embedder_fits(const Embedder& embedder, const Gallery& gallery) {
  HCMSN_CHECK(embedder.dim() == gallery.dim(), "the run embeds sketches as ", embedder.dim(),
              "-d points but the gallery holds ", gallery.dim(),
              "-d points; re-index the photos with this run (hcmsn index)");
  HCMSN_CHECK(std::abs(embedder.curvature() - gallery.curvature) <= 1e-6 * (1 + gallery.curvature),
              "the run's curvature ", embedder.curvature(), " differs from the gallery's ",
              gallery.curvature,
              ", so distances to its photos would be wrong; re-index the photos with this run "
              "(hcmsn index)");
}

std::shared_ptr<const Embedder> gallery_embedder(const Gallery& gallery,
                                                 const std::string& run_dir_override,
                                                 const std::string& device) {
  auto embedder = Embedder::from_spec(gallery.embedder, run_dir_override, device);
  check_embedder_fits(*embedder, gallery);
  return embedder;
}

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
  // The same bytes under another path: rows of older galleries get their hash first.
  std::vector<std::string> unhashed;
  for (const auto& e : gallery.entries) {
    if (e.content_hash.empty()) unhashed.push_back(e.path);
  }
  if (!unhashed.empty()) {
    const Hashed old = hash_files(unhashed);
    size_t k = 0;
    for (auto& e : gallery.entries) {
      if (e.content_hash.empty()) e.content_hash = old.hash[k++];  // stays empty if unreadable
    }
  }
  std::unordered_map<std::string, std::string> holder;  // hash → path holding those bytes
  for (const auto& e : gallery.entries) {
    if (!e.content_hash.empty()) holder.emplace(e.content_hash, e.path);
  }
  const Hashed hashed = hash_files(paths);
  std::vector<std::string> to_embed;
  std::vector<size_t> embed_of;  // index in `fresh` of each path to embed
  for (size_t i = 0; i < fresh.size(); ++i) {
    if (!hashed.error[i].empty()) {
      result.unreadable.emplace_back(paths[i], hashed.error[i]);
      continue;
    }
    fresh[i].content_hash = hashed.hash[i];
    const auto [it, inserted] = holder.emplace(hashed.hash[i], paths[i]);
    if (!inserted) {
      result.duplicates.emplace_back(paths[i], it->second);
      continue;
    }
    to_embed.push_back(paths[i]);
    embed_of.push_back(i);
  }
  const Embedder::FileBatch batch = embedder.embed_image_files(to_embed, model::kPhoto, progress);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const auto& [i, reason] : batch.unreadable) {
    result.unreadable.emplace_back(to_embed[i], reason);
  }
  std::vector<GalleryEntry> entries;
  for (const size_t i : batch.embedded) entries.push_back(std::move(fresh[embed_of[i]]));
  result.added = static_cast<int64_t>(entries.size());
  if (result.added > 0) {
    append(gallery, batch.embeddings, std::move(entries));
    gallery.meta["updated"] = now_utc();
  }
  return result;
}

}  // namespace hcmsn::index
