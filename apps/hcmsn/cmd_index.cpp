// hcmsn index: embeds photos with a trained run (and the backbone it was trained behind) into a
// gallery file that `hcmsn query` and `hcmsn serve` search; --add appends photos to one.
#include <chrono>
#include <filesystem>
#include <memory>

#include "commands.h"
#include "device_flag.h"
#include "hcmsn/index/embedder.h"
#include "hcmsn/index/gallery.h"
#include "hcmsn/index/indexer.h"
#include "hcmsn/index/photo_list.h"
#include "hcmsn/io/output_guard.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/file_lock.h"
#include "hcmsn/util/log.h"
#include "output_flags.h"

namespace hcmsn::cli {
namespace {

namespace fs = std::filesystem;

struct IndexCommandOptions {
  std::string run;
  std::string photos;
  std::string out;
  bool add = false;
  bool quiet = false;
  bool force = false;
  double lock_wait_s = 600;
  index::EmbedderOptions embedder;
};

int run_index(const IndexCommandOptions& o) {
  std::vector<index::GalleryEntry> photos = index::list_photos(o.photos);
  {
    std::vector<std::string> paths;
    paths.reserve(photos.size());
    for (const auto& p : photos) paths.push_back(p.path);
    // With --add the gallery is read and rewritten: it is the output, not an input.
    io::OutputGuard(o.force)
        .input("--run", o.run)
        .input("--photos", o.photos)
        .inputs("photo", paths)
        .output("--out", o.out, io::OutputKind::hcmsn_file(index::kGalleryKind))
        .output("--out's unreadable list", o.out + ".unreadable.tsv", io::OutputKind::text())
        .check();
  }
  // One writer per gallery: a second `index` on it waits (another --add would otherwise write
  // over this one's rows).
  util::FileLockOptions lock_options;
  lock_options.wait = std::chrono::milliseconds(static_cast<int64_t>(o.lock_wait_s * 1000));
  lock_options.what = "hcmsn index";
  const util::FileLock lock(util::lock_path_of_file(o.out), lock_options);
  std::error_code ec;
  const bool exists = fs::exists(o.out, ec);
  HCMSN_CHECK(!exists || o.add || o.force, "gallery '", o.out,
              "' already exists; pass --add to add photos to it, --force to replace it, or remove "
              "it first");
  const bool extend = exists && o.add;
  index::Gallery gallery;
  std::shared_ptr<const index::Embedder> embedder;
  if (extend) {
    gallery = index::load_gallery(o.out);
    embedder = index::Embedder::from_spec(gallery.embedder, o.run, o.embedder.device);
  } else {
    HCMSN_CHECK(!o.run.empty(), "give the trained run with --run RUN_DIR");
    embedder = index::Embedder::from_run(o.run, o.embedder);
    gallery = index::new_gallery(*embedder);
  }
  const size_t listed = photos.size();
  const index::AddPhotosResult r =
      index::add_photos(gallery, *embedder, std::move(photos), !o.quiet);
  if (r.already_present > 0) {
    util::log_info("{} of {} photos are already in the gallery and were skipped", r.already_present,
                   listed);
  }
  if (!r.duplicates.empty()) {
    util::log_warn(
        "{} of {} photos have the same content as a photo already in the gallery (under another "
        "path) and were skipped, e.g. {} = {}",
        r.duplicates.size(), listed, r.duplicates.front().first, r.duplicates.front().second);
  }
  if (!r.unreadable.empty()) {
    std::string list;
    for (const auto& [path, reason] : r.unreadable) list += path + "\t" + reason + "\n";
    util::write_file_atomic(o.out + ".unreadable.tsv", list);
    util::log_warn("{} unreadable photo(s) left out; listed in {}.unreadable.tsv",
                   r.unreadable.size(), o.out);
  }
  HCMSN_CHECK(r.added > 0 || (extend && r.unreadable.empty()), "no photo could be added to '",
              o.out, "'", r.unreadable.empty() ? "" : " (see the .unreadable.tsv list)");
  index::save_gallery(o.out, gallery);
  const double embedded = static_cast<double>(r.added + r.unreadable.size());
  util::log_info(
      "{} {}: {} photos added ({:.1f} photos/s), {} in all, {} classes, {} dimensions, c = {:g}",
      extend ? "updated" : "wrote", o.out, r.added, r.seconds > 0 ? embedded / r.seconds : 0.0,
      gallery.size(), gallery.class_names().size(), gallery.dim(), gallery.curvature);
  return 0;
}

}  // namespace

void add_index_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<IndexCommandOptions>();
  auto* cmd = app.add_subcommand(
      "index",
      "Embed photos with a trained run into a gallery for hcmsn query and hcmsn serve "
      "(--add: add photos to an existing gallery).");
  cmd->add_option("--run", o->run,
                  "trained run folder (with --add: only if the gallery's run moved)");
  cmd->add_option("--photos", o->photos,
                  "folder of photos (DIR/<class>/*.jpg gives classes) or a list file of "
                  "PATH[<TAB>CLASS] lines")
      ->required();
  cmd->add_option("--out", o->out, "gallery file to write")->required();
  cmd->add_flag("--add", o->add, "add the photos to the existing gallery --out");
  cmd->add_option("--checkpoint", o->embedder.checkpoint, "best or last")->capture_default_str();
  cmd->add_option("--batch", o->embedder.batch, "photos per forward pass")->capture_default_str();
  cmd->add_option("--lock-wait", o->lock_wait_s,
                  "seconds to wait while another hcmsn index changes the same gallery")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "no progress bar");
  add_device_option(cmd, o->embedder.device);
  add_force_flag(cmd, o->force,
                 "an existing --out (without --add: start a new gallery there) or its "
                 "unreadable list");
  cmd->callback([o, &exit_code] { exit_code = run_index(*o); });
}

}  // namespace hcmsn::cli
