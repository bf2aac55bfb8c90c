#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "commands.h"
#include "hcmsn/util/allocator.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"
#include "hcmsn/util/threads.h"

namespace {

struct GlobalOptions {
  int threads = 0;
  std::string log_level = "info";
};

int run(int argc, char** argv) {
  CLI::App app{"hcmsn: zero-shot sketch-based image retrieval with the HCMSN model"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hcmsn 0.1.0");
  GlobalOptions global;
  app.add_option("--threads", global.threads, "CPU threads (0 = all available cores)")
      ->envname("HCMSN_THREADS")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--log-level", global.log_level, "trace, debug, info, warn, error or off")
      ->envname("HCMSN_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.parse_complete_callback([&] {
    hcmsn::util::set_log_level(hcmsn::util::parse_log_level(global.log_level));
    hcmsn::util::set_num_threads(global.threads);
  });

  int exit_code = 0;
  hcmsn::cli::add_metrics_command(app, exit_code);
  hcmsn::cli::add_synth_embeddings_command(app, exit_code);
  hcmsn::cli::add_synth_images_command(app, exit_code);
  hcmsn::cli::add_demo_command(app, exit_code);
  hcmsn::cli::add_train_command(app, exit_code);
  hcmsn::cli::add_eval_command(app, exit_code);
  hcmsn::cli::add_embed_command(app, exit_code);
  hcmsn::cli::add_dataset_command(app, exit_code);
  hcmsn::cli::add_check_backbone_command(app, exit_code);
  hcmsn::cli::add_extract_command(app, exit_code);
  hcmsn::cli::add_eval_features_command(app, exit_code);
  hcmsn::cli::add_report_command(app, exit_code);
  hcmsn::cli::add_embed_classes_command(app, exit_code);
  hcmsn::cli::add_index_command(app, exit_code);
  hcmsn::cli::add_query_command(app, exit_code);
  hcmsn::cli::add_eval_gallery_command(app, exit_code);
  hcmsn::cli::add_serve_command(app, exit_code);
  hcmsn::cli::add_experiment_command(app, exit_code);
  hcmsn::cli::add_select_fusion_command(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // Training jobs run for minutes: they get OpenMP's passive waiting (see threads.h).
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "train" || arg == "demo" || arg == "extract") {
      hcmsn::util::ensure_passive_openmp_wait(argv);
      break;
    }
  }
  // Batches of large tensors: reuse freed memory instead of mapping it afresh (allocator.h).
  hcmsn::util::keep_freed_memory();
  // Every failure ends as one "error: ..." line and exit code 1, never an abort.
  try {
    return run(argc, argv);
  } catch (const hcmsn::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what_without_backtrace());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "error: unknown failure\n");
  }
  return 1;
}
