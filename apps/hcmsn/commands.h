// The hcmsn command-line program: every subcommand is a thin layer over the library that
// registers its flags (each with help and a default) and a callback setting the exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace hcmsn::cli {

void add_metrics_command(CLI::App& app, int& exit_code);
void add_synth_embeddings_command(CLI::App& app, int& exit_code);
void add_synth_images_command(CLI::App& app, int& exit_code);
void add_demo_command(CLI::App& app, int& exit_code);
void add_train_command(CLI::App& app, int& exit_code);
void add_eval_command(CLI::App& app, int& exit_code);
void add_embed_command(CLI::App& app, int& exit_code);
void add_dataset_command(CLI::App& app, int& exit_code);
void add_check_backbone_command(CLI::App& app, int& exit_code);
void add_extract_command(CLI::App& app, int& exit_code);
void add_eval_features_command(CLI::App& app, int& exit_code);
void add_report_command(CLI::App& app, int& exit_code);
void add_embed_classes_command(CLI::App& app, int& exit_code);
void add_index_command(CLI::App& app, int& exit_code);
void add_query_command(CLI::App& app, int& exit_code);
void add_eval_gallery_command(CLI::App& app, int& exit_code);
void add_serve_command(CLI::App& app, int& exit_code);
void add_experiment_command(CLI::App& app, int& exit_code);
void add_select_fusion_command(CLI::App& app, int& exit_code);

}  // namespace hcmsn::cli
