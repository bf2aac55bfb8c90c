// hcmsn extract: a dataset's sketches and photos through a pretrained backbone into a feature
// cache, with progress, resumable after Ctrl-C or a crash (rerun the same command).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "commands.h"
#include "dataset_flags.h"
#include "device_flag.h"
#include "distributed_flags.h"
#include "hcmsn/data/dataset.h"
#include "hcmsn/data/feature_cache.h"
#include "hcmsn/features/feature_extractor.h"
#include "hcmsn/io/checked_file.h"
#include "hcmsn/io/output_guard.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/file_lock.h"
#include "hcmsn/util/interrupt.h"
#include "hcmsn/util/log.h"
#include "hcmsn/vision/pretrained.h"
#include "output_flags.h"

namespace hcmsn::cli {
namespace {

namespace fs = std::filesystem;

struct ExtractCommandOptions {
  data::DatasetSpec spec;
  std::string backbone = "mobilenet_v2";
  std::string weights;
  std::string out;
  bool no_tf_same = false;
  bool no_resume = false;
  bool quiet = false;
  bool force = false;
  std::string stats_json;
  int64_t photo_views = 0;
  features::ExtractOptions extract;
  DistributedFlags distributed;  // --nproc, --dist-timeout: sharded extraction
};

// Path, size and CRC-32: enough to tell weights apart in the resume fingerprint and the meta.
std::string weights_id(const std::string& path) {
  const std::string bytes = util::read_file(path);
  char crc[16];
  std::snprintf(crc, sizeof crc, "%08x", io::crc32_of(bytes));
  return fs::absolute(path).string() + " (" + std::to_string(bytes.size()) + " bytes, crc32 " +
         crc + ")";
}

int run_extract(ExtractCommandOptions& o) {
  HCMSN_CHECK(!o.out.empty(), "give the output feature cache with --out");
  HCMSN_CHECK(!o.weights.empty(), "give the backbone's weights with --weights");
  if (const auto code = launch_if_asked(o.distributed)) return *code;
  const auto group = join_if_launched(o.distributed, o.quiet, &o.extract.device);
  o.extract.communicator = group.get();
  util::install_interrupt_handler();
  const data::Dataset dataset = data::build_dataset(o.spec);
  o.extract.work_dir = o.no_resume ? "" : o.out + ".partial";
  io::OutputGuard guard(o.force);
  add_dataset_inputs(guard, o.spec, dataset);
  guard.input("--weights", o.weights)
      .output("--out", o.out, io::OutputKind::hcmsn_file(data::kFeatureCacheKind))
      .output("--out's unreadable list", o.out + ".unreadable.tsv", io::OutputKind::text())
      // The resume folder is emptied when the items or settings change and deleted at the end.
      .output("--out's resume folder", o.extract.work_dir,
              io::OutputKind::owned_folder("fingerprint.json"))
      .output_or_stdout("--stats-json", o.stats_json, io::OutputKind::json())
      .check();
  // One extraction per cache: another one into the same --out (and its resume folder) is refused
  // while this one runs. Rank 0 holds it for the group.
  std::optional<util::FileLock> lock;
  if (!group || group->is_main()) {
    util::FileLockOptions lock_options;
    lock_options.what = "hcmsn extract";
    lock.emplace(util::lock_path_of_file(o.out), lock_options);
  }
  if (group) group->barrier();  // every rank has checked the outputs before rank 0 writes any
  const data::DatasetSummary summary = data::summarize(dataset);
  if (!o.quiet) std::cerr << summary.to_table() << std::flush;

  vision::BackboneFactoryOptions factory;
  factory.tf_same_padding = !o.no_tf_same;
  auto backbone = vision::load_pretrained_backbone(o.backbone, o.weights, factory);
  o.extract.transform.size = backbone->input_options().image_size;
  o.extract.weights_id = weights_id(o.weights);
  o.extract.show_progress = !o.quiet;

  nlohmann::json meta = {{"dataset", summary.to_json()},
                         {"split", dataset.split},
                         {"seen_classes", dataset.seen_classes},
                         {"unseen_classes", dataset.unseen_classes},
                         {"tf_same_padding", factory.tf_same_padding}};
  // --photo-views: a cache of the photos' augmented views only, for train --extra-photos.
  const std::vector<data::DatasetItem> items =
      o.photo_views > 0 ? features::photo_view_items(dataset.items, o.photo_views) : dataset.items;
  HCMSN_CHECK(!items.empty() || o.photo_views == 0,
              "--photo-views found no photos in the dataset: give --photo-dir or --photo-list");
  if (o.photo_views > 0) meta["views_per_photo"] = o.photo_views;
  auto result = features::extract_features(items, dataset.class_names, *backbone, o.extract, meta);
  if (result.interrupted) {
    std::fprintf(stderr,
                 "interrupted after %lld of %zu images; finished chunks are kept in %s: rerun the "
                 "same command to resume\n",
                 static_cast<long long>(result.reused_items + result.computed_items), items.size(),
                 o.extract.work_dir.c_str());
    return 130;
  }
  if (!result.has_cache) return 0;  // a sharded extraction's other ranks: rank 0 writes
  data::save_feature_cache(o.out, result.cache);
  if (!result.unreadable.empty()) {
    std::string list;
    for (const auto& [id, reason] : result.unreadable) list += id + "\t" + reason + "\n";
    util::write_file_atomic(o.out + ".unreadable.tsv", list);
    util::log_warn("{} unreadable item(s) left out of the cache; listed in {}.unreadable.tsv",
                   result.unreadable.size(), o.out);
  }
  if (!o.extract.work_dir.empty()) fs::remove_all(o.extract.work_dir);
  const double rate = result.seconds > 0 ? result.computed_items / result.seconds : 0.0;
  util::log_info("wrote {}: {} rows × {} features ({} computed at {:.1f} images/s, {} reused)",
                 o.out, result.cache.size(), result.cache.dim(), result.computed_items, rate,
                 result.reused_items);
  write_json_output(o.stats_json, {{"rows", result.cache.size()},
                                   {"dim", result.cache.dim()},
                                   {"computed", result.computed_items},
                                   {"reused", result.reused_items},
                                   {"unreadable", result.unreadable.size()},
                                   {"seconds", result.seconds},
                                   {"images_per_second", rate}});
  return 0;
}

}  // namespace

void add_extract_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ExtractCommandOptions>();
  auto* cmd = app.add_subcommand(
      "extract",
      "Embed a dataset's sketches and photos with a pretrained backbone into a feature cache "
      "(for hcmsn train --features). Resumable: rerun the same command after an interruption.");
  add_dataset_flags(*cmd, o->spec);
  cmd->add_option("--backbone", o->backbone, "mobilenet_v2 or resnet50")->capture_default_str();
  cmd->add_option("--weights", o->weights, "torchvision-named weights, .pth or .safetensors")
      ->required();
  cmd->add_option("--out", o->out, "the feature cache to write")->required();
  cmd->add_option("--resize", o->extract.transform.mode,
                  "squash: whole image to the input size; crop: shorter side to --resize-to, "
                  "then a centre crop")
      ->check(CLI::IsMember({"squash", "crop"}))
      ->capture_default_str();
  cmd->add_option("--resize-to", o->extract.transform.resize_to, "shorter side in crop mode")
      ->capture_default_str();
  cmd->add_option("--render-size", o->extract.render.size, "QuickDraw raster size (pixels)")
      ->capture_default_str();
  cmd->add_option("--line-width", o->extract.render.line_width,
                  "QuickDraw stroke width (pixels at --render-size)")
      ->capture_default_str();
  cmd->add_option("--batch-size", o->extract.batch_size, "images per forward pass")
      ->capture_default_str();
  cmd->add_option("--chunk-size", o->extract.chunk_size, "images per resumable chunk")
      ->capture_default_str();
  cmd->add_option("--photo-views", o->photo_views,
                  "write only K augmented views of every photo (crop, flip, colour jitter; ids "
                  "<id>#view<k>): extra training photos for hcmsn train --extra-photos")
      ->check(CLI::Range(int64_t{1}, int64_t{100}));
  cmd->add_option("--view-seed", o->extract.views.seed, "the views' seed (with each photo's id)")
      ->capture_default_str();
  cmd->add_option("--view-min-scale", o->extract.views.crop.scale[0],
                  "the views' smallest crop, as a fraction of the photo's area")
      ->check(CLI::Range(0.01, 1.0))
      ->capture_default_str();
  cmd->add_option_function<double>(
         "--view-jitter",
         [o](double x) {
           o->extract.views.jitter = {x, x, x};
         },
         "the views' brightness, contrast and saturation jitter (0: none; default 0.3)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--no-tf-same", o->no_tf_same,
                "MobileNetV2 with torchvision's padding instead of TF-SAME");
  cmd->add_flag("--no-resume", o->no_resume, "keep no chunks (no resume after interruption)");
  add_json_option(cmd, o->stats_json, "counts, seconds and images/s", "--stats-json");
  add_force_flag(cmd, o->force, "an existing --out, --stats-json or resume folder (--out.partial)");
  cmd->add_flag("--quiet", o->quiet, "no summary table and no progress bar");
  add_device_option(cmd, o->extract.device);
  add_precision_option(cmd, o->extract.precision);
  add_distributed_options(cmd, o->distributed);
  cmd->callback([o, &exit_code] { exit_code = run_extract(*o); });
}

}  // namespace hcmsn::cli
