// The built-in demo, hcmsn's main job on a fresh machine with nothing downloaded: generate the
// synthetic zero-shot dataset (data/synthetic_images.h), train HCMSN end to end with a small CNN
// on its seen classes, train the Euclidean variant (c = 0) the same way, evaluate both on the
// unseen classes and write the report.
//
//   OUT/data/{sketch,photo}/<class>/*.png, classes.txt, semantics.npy, unseen.txt, hierarchy.txt
//   OUT/run/            the HCMSN run (usable wherever a command takes --run)
//   OUT/run-euclidean/  the c = 0 run
//   OUT/metrics.json    {"hcmsn": {...}, "euclidean": {...}, "chance_map_all": x}, each object
//                       holding the fields of `hcmsn metrics --json`
//   OUT/report.html
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "hcmsn/train/run_config.h"

namespace hcmsn::demo {

struct DemoOptions {
  std::string out = "hcmsn-demo";
  /// The small preset (fewer images and epochs): under 2 minutes on 2 cores.
  bool quick = false;
  uint64_t seed = 0;
  bool progress = true;
  /// Keep an existing OUT/data folder generated with the same options instead of regenerating.
  bool reuse_data = true;
  /// Replace what OUT holds even when the demo did not write it: OUT/data without the demo's
  /// stamp.txt, OUT/run or OUT/run-euclidean without a run's config.json (the demo deletes these
  /// folders before refilling them), output files of another kind (io/output_guard.h).
  bool force = false;
};

/// The data size and run configuration the demo uses for these options (without the class
/// lists, which come from the generated dataset).
struct DemoPlan {
  int64_t image_size = 64;  // stored images
  int64_t per_class = 60;   // sketches and photos per class
  train::RunConfig config;  // the HCMSN run; the Euclidean one differs in curvature only
};
DemoPlan demo_plan(const DemoOptions& options);

struct DemoResult {
  nlohmann::json metrics;  // the content of metrics.json
  double hcmsn_map_all = 0.0;
  double euclidean_map_all = 0.0;
  double chance_map_all = 0.0;
  std::string report_path;
  std::string gallery_path;  // every photo, indexed with the HCMSN run
  double seconds = 0.0;
};

/// Runs the whole demo. Throws hcmsn::Error on failure (e.g. OUT not writable), and before any
/// work when OUT holds files or folders the demo did not write and `force` is false.
DemoResult run_demo(const DemoOptions& options);

}  // namespace hcmsn::demo
