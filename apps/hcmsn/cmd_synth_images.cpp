// hcmsn synth-images: the demo's synthetic zero-shot sketch/photo dataset, on its own.
#include <iostream>
#include <memory>

#include "commands.h"
#include "hcmsn/data/synthetic_images.h"

namespace hcmsn::cli {
namespace {

struct SynthImagesOptions {
  std::string out;
  data::SyntheticImageOptions data;
  bool quiet = false;
};

int run_synth_images(const SynthImagesOptions& o) {
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
  cmd->callback([o, &exit_code] { exit_code = run_synth_images(*o); });
}

}  // namespace hcmsn::cli
