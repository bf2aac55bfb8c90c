// hcmsn synth-embeddings: writes synthetic class-structured embeddings and label files, the
// built-in example input of `hcmsn metrics` (defaults: Sketchy split-1 test sizes).

#include <filesystem>
#include <memory>

#include "commands.h"
#include "hcmsn/data/synthetic_embeddings.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/io/output_guard.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"
#include "output_flags.h"

namespace hcmsn::cli {
namespace {

struct SynthOptions {
  data::SyntheticEmbeddingOptions data;
  std::string dtype = "float32";
  std::string out = "example";
  bool force = false;
};

std::vector<std::string> class_names(const std::vector<int64_t>& ids) {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int64_t id : ids) out.push_back("class_" + std::to_string(id));
  return out;
}

int run_synth(SynthOptions o) {
  o.data.dtype = o.dtype == "float64" ? torch::kFloat64 : torch::kFloat32;
  const std::string dir = o.out + "/";
  io::OutputGuard(o.force)
      .output("--out", o.out, io::OutputKind::folder())
      .output("--out's queries.npy", dir + "queries.npy", io::OutputKind::npy())
      .output("--out's gallery.npy", dir + "gallery.npy", io::OutputKind::npy())
      .output("--out's query_labels.txt", dir + "query_labels.txt", io::OutputKind::text())
      .output("--out's gallery_labels.txt", dir + "gallery_labels.txt", io::OutputKind::text())
      .check();
  const auto e = data::make_synthetic_embeddings(o.data);
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  HCMSN_CHECK(!ec, "cannot create directory '", o.out, "': ", ec.message());
  io::write_npy(dir + "queries.npy", e.queries);
  io::write_npy(dir + "gallery.npy", e.gallery);
  io::write_labels(dir + "query_labels.txt", class_names(e.query_labels));
  io::write_labels(dir + "gallery_labels.txt", class_names(e.gallery_labels));
  util::log_info("wrote {} queries and {} gallery items (d = {}, {} classes, c = {}) to {}",
                 e.queries.size(0), e.gallery.size(0), o.data.dim, o.data.num_classes,
                 o.data.curvature, o.out);
  return 0;
}

}  // namespace

void add_synth_embeddings_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<SynthOptions>();
  auto* cmd = app.add_subcommand(
      "synth-embeddings",
      "Write synthetic class-structured embeddings on the Poincare ball (queries.npy, "
      "gallery.npy, query_labels.txt, gallery_labels.txt) to try `hcmsn metrics` on.");
  auto& d = o->data;
  cmd->add_option("--out", o->out, "output directory")->capture_default_str();
  add_force_flag(cmd, o->force, "an existing file of --out that synth-embeddings writes");
  cmd->add_option("--queries", d.num_queries, "number of queries")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--gallery", d.num_gallery, "number of gallery items")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--dim", d.dim, "embedding dimension")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--classes", d.num_classes, "number of classes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--curvature", d.curvature, "c of the ball (0 = Euclidean)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--query-noise", d.query_noise, "noise norm of queries")->capture_default_str();
  cmd->add_option("--gallery-noise", d.gallery_noise, "noise norm of gallery items")
      ->capture_default_str();
  cmd->add_option("--seed", d.seed, "random seed")->capture_default_str();
  cmd->add_option("--dtype", o->dtype, "float32 or float64")
      ->check(CLI::IsMember({"float32", "float64"}))
      ->capture_default_str();
  cmd->callback([o, &exit_code] { exit_code = run_synth(*o); });
}

}  // namespace hcmsn::cli
