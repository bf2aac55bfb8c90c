// hcmsn synth-images: the demo's synthetic zero-shot sketch/photo dataset, on its own.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "commands.h"
#include "hcmsn/data/synthetic_images.h"
#include "hcmsn/io/output_guard.h"
#include "output_flags.h"

namespace hcmsn::cli {
namespace {

struct SynthImagesOptions {
  std::string out;
  data::SyntheticImageOptions data;
  bool quiet = false;
  bool force = false;
};

int run_synth_images(const SynthImagesOptions& o) {
  // The images go to ROOT/{sketch,photo}/<class>/NNNN.png (stale numbered PNGs there are
  // removed): the class folders must be folders; the class files beside them are checked too.
  const std::filesystem::path root(o.out);
  io::OutputGuard guard(o.force);
  guard.output("--out", o.out, io::OutputKind::folder());
  for (const char* modality : {"sketch", "photo"}) {
    guard.output(std::string("--out's ") + modality + " folder", (root / modality).string(),
                 io::OutputKind::folder());
    for (const auto& c : data::synthetic_classes()) {
      guard.output(std::string("--out's ") + modality + " class folder",
                   (root / modality / c.name).string(), io::OutputKind::folder());
    }
  }
  guard.output("--out's classes.txt", (root / "classes.txt").string(), io::OutputKind::text())
      .output("--out's unseen.txt", (root / "unseen.txt").string(), io::OutputKind::text())
      .output("--out's hierarchy.txt", (root / "hierarchy.txt").string(), io::OutputKind::text())
      .output("--out's semantics.npy", (root / "semantics.npy").string(), io::OutputKind::npy())
      .check();
  const auto s = data::write_synthetic_dataset(o.out, o.data, !o.quiet);
  std::cout << "wrote " << s.num_sketches << " sketches and " << s.num_photos << " photos of "
            << s.num_classes << " classes (" << s.num_unseen << " unseen) to " << s.root
            << "\n  semantics: " << s.semantics_file << " (rows: " << s.classes_file
            << ")\n  unseen classes: " << s.unseen_file << "\n";
  return 0;
}

}  // namespace

void add_synth_images_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SynthImagesOptions>();
  auto* cmd = app.add_subcommand(
      "synth-images",
      "Generate the built-in synthetic zero-shot dataset: photos and hand-drawn-style sketches of "
      "36 classes in a two-level hierarchy, attribute semantics and a seen/unseen split.");
  cmd->add_option("--out", o->out, "output folder ROOT (ROOT/{sketch,photo}/<class>/*.png)")
      ->required();
  cmd->add_option("--image-size", o->data.image_size, "pixels per side")->capture_default_str();
  cmd->add_option("--photos-per-class", o->data.photos_per_class)->capture_default_str();
  cmd->add_option("--sketches-per-class", o->data.sketches_per_class)->capture_default_str();
  cmd->add_option("--seed", o->data.seed)->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "no progress output");
  add_force_flag(cmd, o->force,
                 "an existing class file of --out (classes.txt, semantics.npy, ...)");
  cmd->callback([o, &exit_code] { exit_code = run_synth_images(*o); });
}

}  // namespace hcmsn::cli
