#include "dataset_flags.h"

#include <string>
#include <vector>

#include "hcmsn/data/standard_splits.h"

namespace hcmsn::cli {

CLI::Option_group* add_dataset_source_flags(CLI::App& cmd, data::DatasetSpec& spec) {
  std::string layouts;
  for (const auto& n : data::dataset_layout_names()) layouts += (layouts.empty() ? "" : "|") + n;
  auto* g = cmd.add_option_group("dataset");
  g->add_option("--layout", spec.layout,
                layouts + ": the official folder layout under --root (see `hcmsn dataset`)")
      ->check(CLI::IsMember(data::dataset_layout_names()));
  g->add_option("--root", spec.root, "the layout's ROOT folder; also the root of list paths");
  g->add_option("--sketch-dir", spec.sketch_dirs,
                "extra sketch folders DIR/<class>/* (repeatable)");
  g->add_option("--photo-dir", spec.photo_dirs, "extra photo folders DIR/<class>/* (repeatable)");
  g->add_option("--ndjson-dir", spec.ndjson_dirs,
                "extra QuickDraw sketch folders DIR/<word>.ndjson (repeatable)");
  g->add_option("--sketch-list", spec.sketch_list,
                "sketches from a 'relative/path label' list (paths relative to --root)");
  g->add_option("--photo-list", spec.photo_list,
                "photos from a 'relative/path label' list (paths relative to --root)");
  g->add_option("--class-map", spec.class_map,
                "'name id' map of the lists' labels (default: class = the path's parent folder)");
  g->add_flag("--keep-out-of-split", spec.keep_out_of_split,
              "with --split: keep the classes outside the split as extra seen (training) classes, "
              "e.g. every QuickDraw category with sketches; never as unseen ones");
  return g;
}

bool has_dataset_sources(const data::DatasetSpec& spec) {
  return !spec.layout.empty() || !spec.root.empty() || !spec.sketch_dirs.empty() ||
         !spec.photo_dirs.empty() || !spec.ndjson_dirs.empty() || !spec.sketch_list.empty() ||
         !spec.photo_list.empty();
}

void add_dataset_flags(CLI::App& cmd, data::DatasetSpec& spec) {
  std::string splits;
  for (const auto& n : data::standard_split_names()) splits += (splits.empty() ? "" : "|") + n;
  auto* g = add_dataset_source_flags(cmd, spec);
  g->add_option("--split", spec.split, splits + ": a standard zero-shot split");
  g->add_option("--unseen", spec.unseen_file, "unseen classes, one per line (instead of --split)");
}

void add_dataset_inputs(io::OutputGuard& guard, const data::DatasetSpec& spec,
                        const data::Dataset& dataset) {
  guard.input("--sketch-list", spec.sketch_list)
      .input("--photo-list", spec.photo_list)
      .input("--class-map", spec.class_map)
      .input("--unseen", spec.unseen_file);
  std::vector<std::string> files;
  files.reserve(dataset.items.size());
  for (const auto& item : dataset.items) {
    // A QuickDraw .ndjson file holds many items, next to each other: declare it once.
    if (files.empty() || files.back() != item.path) files.push_back(item.path);
  }
  guard.inputs("dataset file", files);
}

}  // namespace hcmsn::cli
