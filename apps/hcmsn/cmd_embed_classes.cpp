// hcmsn embed-classes: BERT class-name embeddings (.npy + class list) for --semantics.
#include <memory>
#include <set>
#include <string>

#include "commands.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/io/output_guard.h"
#include "hcmsn/semantic/class_embedder.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"
#include "output_flags.h"

namespace hcmsn::cli {
namespace {

struct EmbedClassesOptions {
  std::string classes, bert_dir, out;
  std::string text_template = "{}";
  std::string pooling = "name-mean";
  bool normalize = false;
  int64_t batch_size = 64;
  bool force = false;
};

/// EMB.npy → EMB.classes.txt (as the files in ../shared/data/embeddings).
std::string classes_path_for(const std::string& npy) {
  const std::string ext = ".npy";
  const bool has_ext =
      npy.size() > ext.size() && npy.compare(npy.size() - ext.size(), ext.size(), ext) == 0;
  return (has_ext ? npy.substr(0, npy.size() - ext.size()) : npy) + ".classes.txt";
}

int run_embed_classes(const EmbedClassesOptions& o) {
  const std::string classes_out = classes_path_for(o.out);
  io::OutputGuard(o.force)
      .input("--classes", o.classes)
      .input("--bert", o.bert_dir)
      .output("--out", o.out, io::OutputKind::npy())
      .output("--out's class list", classes_out, io::OutputKind::text())
      .check();
  const auto names = io::read_labels(o.classes);
  HCMSN_CHECK(!names.empty(), o.classes, " lists no class");
  std::set<std::string> seen;
  std::string repeated;
  for (const auto& n : names) {
    if (!seen.insert(n).second) repeated += (repeated.empty() ? "'" : ", '") + n + "'";
  }
  HCMSN_CHECK(repeated.empty(), o.classes, " lists ", repeated,
              " more than once; list every class once");
  semantic::ClassEmbedderOptions options;
  options.text_template = o.text_template;
  options.pooling = semantic::parse_pooling(o.pooling);
  options.normalize = o.normalize;
  options.batch_size = o.batch_size;
  const auto embedder = semantic::ClassEmbedder::load(o.bert_dir, options);
  const torch::Tensor emb = embedder.embed(names);
  io::write_npy(o.out, emb);
  io::write_labels(classes_out, names);
  util::log_info("wrote {} ({} x {}, template '{}', pooling {}{}) and {}", o.out, emb.size(0),
                 emb.size(1), o.text_template, o.pooling, o.normalize ? ", L2-normalised" : "",
                 classes_out);
  return 0;
}

}  // namespace

void add_embed_classes_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<EmbedClassesOptions>();
  auto* cmd = app.add_subcommand(
      "embed-classes",
      "BERT embeddings of class names (a Hugging Face BERT folder: config.json, vocab.txt, "
      "model.safetensors or pytorch_model.bin). Writes EMB.npy (float32, one row per class) "
      "and EMB.classes.txt, the inputs of train --semantics/--semantics-classes.");
  cmd->add_option("--classes", o->classes, "class names, one per line")->required();
  cmd->add_option("--bert", o->bert_dir, "the BERT model folder")->required();
  cmd->add_option("--out", o->out, "output .npy; the class list goes next to it")->required();
  cmd->add_option("--template", o->text_template,
                  "text around the name; {} is replaced by the class name "
                  "(underscores become spaces)")
      ->capture_default_str();
  cmd->add_option("--pooling", o->pooling,
                  "name-mean: mean over the class-name tokens; mean: over all tokens; "
                  "cls: the [CLS] state")
      ->check(CLI::IsMember({"name-mean", "mean", "cls"}))
      ->capture_default_str();
  cmd->add_flag("--normalize", o->normalize, "L2-normalise every embedding");
  cmd->add_option("--batch-size", o->batch_size, "class names per forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_force_flag(cmd, o->force, "an existing --out or its class list");
  cmd->callback([o, &exit_code] { exit_code = run_embed_classes(*o); });
}

}  // namespace hcmsn::cli
