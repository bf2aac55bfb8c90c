// hcmsn check-backbone: ImageNet top-5 classes of a few images under a pretrained backbone, to
// see that its weights (and the input preprocessing they need) loaded right.
//
// Class names: --classes FILE (line i = class i); without it, imagenet_classes.txt beside the
// weights file when present; otherwise only class indices are printed (and "class" is "").
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>

#include "commands.h"
#include "hcmsn/data/image_decode.h"
#include "hcmsn/data/transforms.h"
#include "hcmsn/io/output_guard.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"
#include "hcmsn/vision/imagenet_classes.h"
#include "hcmsn/vision/pretrained.h"
#include "output_flags.h"

namespace hcmsn::cli {
namespace {

struct CheckBackboneOptions {
  std::string backbone;
  std::string weights;
  std::string classes;
  bool no_tf_same = false;
  std::vector<std::string> images;
  std::string json_out;
  bool force = false;
};

constexpr int64_t kTop = 5;

int run_check_backbone(const CheckBackboneOptions& o) {
  const std::string classes_path =
      o.classes.empty() ? vision::default_class_names_path(o.weights) : o.classes;
  io::OutputGuard(o.force)
      .inputs("image", o.images)
      .input("--weights", o.weights)
      .input(o.classes.empty() ? "class-name file" : "--classes", classes_path)
      .output_or_stdout("--json", o.json_out, io::OutputKind::json())
      .check();

  vision::BackboneFactoryOptions factory;
  factory.tf_same_padding = !o.no_tf_same;
  const auto backbone = vision::load_pretrained_backbone(o.backbone, o.weights, factory);
  std::vector<std::string> names;
  if (!classes_path.empty()) {
    names = vision::read_class_names(classes_path);
    HCMSN_CHECK(static_cast<int64_t>(names.size()) == backbone->num_classes(), "class-name file '",
                classes_path, "' has ", names.size(), " names but the backbone has ",
                backbone->num_classes(), " classes");
  } else {
    util::log_warn("no --classes and no imagenet_classes.txt beside the weights: indices only");
  }
  const auto& input = backbone->input_options();

  // The whole image resized to the input size with PIL's (antialiased) bilinear filter, as the
  // weights were evaluated; the backbone's own normalisation. Every image is decoded before the
  // first prediction, so a bad file fails fast.
  data::TransformOptions transform;
  transform.size = input.image_size;
  transform.mean = input.mean;
  transform.std = input.std;
  std::vector<torch::Tensor> pixels;
  for (const auto& path : o.images) {
    pixels.push_back(data::eval_resize(data::decode_image_file(path), transform));
  }

  torch::NoGradGuard no_grad;
  std::ostream& table = human_output(o.json_out);
  nlohmann::json report = nlohmann::json::array();
  for (size_t i = 0; i < o.images.size(); ++i) {
    const auto x = data::to_backbone_input(pixels[i].unsqueeze(0), transform);
    const auto probs = torch::softmax(backbone->logits(x), 1)[0];
    const auto top = probs.topk(std::min<int64_t>(kTop, probs.size(0)));
    const auto values = std::get<0>(top);
    const auto indices = std::get<1>(top);
    nlohmann::json entries = nlohmann::json::array();
    table << o.images[i] << "\n";
    for (int64_t k = 0; k < values.size(0); ++k) {
      const int64_t index = indices[k].item<int64_t>();
      const double prob = values[k].item<double>();
      const std::string name = names.empty() ? "" : names[static_cast<size_t>(index)];
      table << fmt::format("  {}. {:5}  {:.4f}  {}\n", k + 1, index, prob, name);
      entries.push_back({{"index", index}, {"class", name}, {"prob", prob}});
    }
    report.push_back({{"image", o.images[i]}, {"top5", entries}});
  }
  table << std::flush;
  write_json_output(o.json_out, report);
  return 0;
}

}  // namespace

void add_check_backbone_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<CheckBackboneOptions>();
  auto* cmd = app.add_subcommand(
      "check-backbone",
      "Print the ImageNet top-5 classes of images under a pretrained backbone, to check that its "
      "weights loaded right.");
  std::string names;
  for (const auto& n : vision::backbone_names()) names += (names.empty() ? "" : ", ") + n;
  cmd->add_option("--backbone", o->backbone, "architecture: " + names)->required();
  cmd->add_option("--weights", o->weights, "torchvision-named weights, .pth or .safetensors")
      ->required();
  cmd->add_option("--classes", o->classes,
                  "class names, line i = class i (default: imagenet_classes.txt beside the "
                  "weights if present, else indices only)");
  cmd->add_flag("--no-tf-same", o->no_tf_same,
                "mobilenet_v2: torchvision's symmetric padding instead of TF-SAME");
  add_json_option(cmd, o->json_out, "[{image, top5: [{index, class, prob}]}]");
  add_force_flag(cmd, o->force, "an existing --json FILE");
  cmd->add_option("images", o->images, "image files (.png, .jpg, .bmp)")->required();
  cmd->callback([o, &exit_code] { exit_code = run_check_backbone(*o); });
}

}  // namespace hcmsn::cli
