#include "hcmsn/train/run_config.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "hcmsn/model/small_cnn.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/vision/pretrained.h"

namespace hcmsn::train {
namespace {

using nlohmann::json;

// A JSON object's fields, read with their types and ranges checked (issue 14: a config edited by
// hand or corrupted must not give 1e308 as a version, a mean of 4.6e18 or 0.5 as an integer).
// Errors name the field by its path: "trainer.lr must be a number in [0, 10], got 4.6e+18".
class Fields {
 public:
  Fields(const json& j, std::string where) : j_(j), where_(std::move(where)) {
    HCMSN_CHECK(j_.is_object(), name_of(""), " must be an object");
  }
  Fields at(const char* key) const { return Fields(get(key), name_of(key)); }
  bool has(const char* key) const { return j_.contains(key); }

  int64_t integer(const char* key, int64_t lo, int64_t hi) const {
    return checked_integer(get(key), name_of(key), lo, hi);
  }
  int64_t integer_or(const char* key, int64_t fallback, int64_t lo, int64_t hi) const {
    return has(key) ? integer(key, lo, hi) : fallback;
  }
  uint64_t unsigned_integer(const char* key) const {
    const json& v = get(key);
    HCMSN_CHECK(v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0),
                name_of(key), " must be a non-negative integer, got ", v.dump());
    return v.get<uint64_t>();
  }
  double number(const char* key, double lo, double hi) const {
    return checked_number(get(key), name_of(key), lo, hi);
  }
  double number_or(const char* key, double fallback, double lo, double hi) const {
    return has(key) ? number(key, lo, hi) : fallback;
  }
  bool boolean(const char* key) const {
    const json& v = get(key);
    HCMSN_CHECK(v.is_boolean(), name_of(key), " must be true or false, got ", v.dump());
    return v.get<bool>();
  }
  bool boolean_or(const char* key, bool fallback) const {
    return has(key) ? boolean(key) : fallback;
  }
  std::string text(const char* key) const {
    const json& v = get(key);
    HCMSN_CHECK(v.is_string(), name_of(key), " must be a string, got ", v.dump().substr(0, 80));
    return v.get<std::string>();
  }
  std::string text_or(const char* key, const std::string& fallback) const {
    return has(key) ? text(key) : fallback;
  }
  std::vector<std::string> texts(const char* key) const {
    const json& v = get(key);
    HCMSN_CHECK(v.is_array(), name_of(key), " must be an array of strings");
    std::vector<std::string> out;
    for (const auto& e : v) {
      HCMSN_CHECK(e.is_string(), name_of(key), " must hold strings only, got ",
                  e.dump().substr(0, 80));
      out.push_back(e.get<std::string>());
    }
    return out;
  }
  std::vector<int64_t> integers(const char* key, int64_t lo, int64_t hi) const {
    const json& v = get(key);
    HCMSN_CHECK(v.is_array(), name_of(key), " must be an array of integers");
    std::vector<int64_t> out;
    for (size_t i = 0; i < v.size(); ++i) {
      out.push_back(checked_integer(v[i], name_of(key) + "[" + std::to_string(i) + "]", lo, hi));
    }
    return out;
  }
  std::array<double, 3> triple(const char* key, double lo, double hi) const {
    const json& v = get(key);
    HCMSN_CHECK(v.is_array() && v.size() == 3, name_of(key), " must be an array of 3 numbers");
    std::array<double, 3> out{};
    for (size_t i = 0; i < 3; ++i) {
      out[i] = checked_number(v[i], name_of(key) + "[" + std::to_string(i) + "]", lo, hi);
    }
    return out;
  }
  const json& raw(const char* key) const { return get(key); }

 private:
  const json& get(const char* key) const {
    const auto it = j_.find(key);
    HCMSN_CHECK(it != j_.end(), name_of(key), " is missing");
    return *it;
  }
  std::string name_of(const char* key) const {
    return where_.empty() ? key : (*key == 0 ? where_ : where_ + "." + key);
  }
  static double checked_number(const json& v, const std::string& name, double lo, double hi) {
    HCMSN_CHECK(v.is_number(), name, " must be a number, got ", v.dump());
    const double x = v.get<double>();
    HCMSN_CHECK(std::isfinite(x) && x >= lo && x <= hi, name, " must be a number in [", lo, ", ",
                hi, "], got ", x);
    return x;
  }
  static int64_t checked_integer(const json& v, const std::string& name, int64_t lo, int64_t hi) {
    HCMSN_CHECK(v.is_number_integer() && !(v.is_number_unsigned() &&
                                           v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)),
                name, " must be an integer, got ", v.dump());
    const int64_t x = v.get<int64_t>();
    HCMSN_CHECK(x >= lo && x <= hi, name, " must be an integer in [", lo, ", ", hi, "], got ", x);
    return x;
  }

  const json& j_;
  std::string where_;
};

constexpr int64_t kMaxWidth = int64_t{1} << 20;  // any layer width or feature size
constexpr int64_t kMaxCount = int64_t{1} << 40;  // steps, epochs, batches

json model_to_json(const model::HCMSNModelOptions& m) {
  return {{"num_seen_classes", m.num_seen_classes()},
          {"in_dim", m.in_dim()},
          {"hidden", m.hidden()},
          {"dim", m.dim()},
          {"hyp_dim", m.hyp_dim()},
          {"sem_dim", m.sem_dim()},
          {"disc_hidden", m.disc_hidden()},
          {"curvature", m.curvature()},
          {"learn_curvature", m.learn_curvature()},
          {"clip_r", m.clip_r()},
          {"classifier", model::to_string(m.classifier())},
          {"temperature", m.temperature()},
          {"dropout", m.dropout()},
          {"shared_feature_input", m.shared_feature_input()},
          {"teacher_classes", m.teacher_classes()},
          {"conse_top", m.conse_top()},
          {"fused_embedding", m.fused_embedding()}};
}

model::HCMSNModelOptions model_from_json(const Fields& f) {
  model::HCMSNModelOptions m(f.integer("num_seen_classes", 1, kMaxWidth));
  m.in_dim(f.integer("in_dim", 1, kMaxWidth))
      .hidden(f.integer("hidden", 1, kMaxWidth))
      .dim(f.integer("dim", 1, kMaxWidth))
      .hyp_dim(f.integer("hyp_dim", 0, kMaxWidth))
      .sem_dim(f.integer("sem_dim", 1, kMaxWidth))
      .disc_hidden(f.integer("disc_hidden", 1, kMaxWidth))
      .curvature(f.number("curvature", 0, 1e3))
      .learn_curvature(f.boolean("learn_curvature"))
      .clip_r(f.number("clip_r", 0, 1e6))
      .classifier(model::parse_classifier_kind(f.text("classifier")))
      .temperature(f.number("temperature", 1e-6, 1e6))
      .dropout(f.number("dropout", 0, 0.99))
      .shared_feature_input(f.boolean_or("shared_feature_input", false))
      // Runs from before issue 11 have no teacher and retrieve by h.
      .teacher_classes(f.integer_or("teacher_classes", 0, 0, kMaxWidth))
      .conse_top(f.integer_or("conse_top", 10, 1, kMaxWidth))
      .fused_embedding(f.boolean_or("fused_embedding", false));
  return m;
}

json loss_to_json(const model::LossOptions& l) {
  return {{"lambda_cls", l.lambda_cls()},         {"lambda_adv", l.lambda_adv()},
          {"lambda_align", l.lambda_align()},     {"lambda_rec", l.lambda_rec()},
          {"lambda_triplet", l.lambda_triplet()}, {"margin", l.margin()},
          {"lambda_kd", l.lambda_kd()},           {"kd_temperature", l.kd_temperature()},
          {"lambda_bridge", l.lambda_bridge()}};
}

model::LossOptions loss_from_json(const Fields& f) {
  constexpr double kMax = 1e6;
  model::LossOptions l;
  l.lambda_cls(f.number("lambda_cls", 0, kMax))
      .lambda_adv(f.number("lambda_adv", 0, kMax))
      .lambda_align(f.number("lambda_align", 0, kMax))
      .lambda_rec(f.number("lambda_rec", 0, kMax))
      .lambda_triplet(f.number("lambda_triplet", 0, kMax))
      .margin(f.number("margin", 0, kMax))
      .lambda_kd(f.number_or("lambda_kd", 0.0, 0, kMax))
      .kd_temperature(f.number_or("kd_temperature", 2.0, 1e-6, kMax))
      .lambda_bridge(f.number_or("lambda_bridge", 0.0, 0, kMax));
  return l;
}

json trainer_to_json(const TrainerOptions& t) {
  return {{"epochs", t.epochs},
          {"classes_per_batch", t.sampler.classes_per_batch()},
          {"per_class", t.sampler.per_class()},
          {"batches_per_epoch", t.sampler.batches_per_epoch()},
          {"lr", t.lr},
          {"disc_lr", t.disc_lr},
          {"beta1", t.beta1},
          {"beta2", t.beta2},
          {"weight_decay", t.weight_decay},
          {"schedule", to_string(t.schedule)},
          {"min_lr_ratio", t.min_lr_ratio},
          {"warmup_steps", t.warmup_steps},
          {"average_from", t.average_from},
          {"checkpoint_rule", to_string(t.checkpoint_rule)},
          {"grad_clip", t.grad_clip},
          {"seed", t.seed},
          {"augment", t.augment},
          {"checkpoint_every", t.checkpoint_every},
          {"eval_every", t.eval_every},
          {"ks", t.ks},
          {"max_steps", t.max_steps},
          {"eval_batch", t.eval_batch},
          {"fusion_weights", t.fusion_weights},
          {"fusion_grid_steps", t.fusion_grid_steps}};
}

TrainerOptions trainer_from_json(const Fields& f) {
  TrainerOptions t;
  t.epochs = f.integer("epochs", 0, kMaxCount);
  t.sampler.classes_per_batch(f.integer("classes_per_batch", 1, kMaxWidth))
      .per_class(f.integer("per_class", 1, kMaxWidth))
      .batches_per_epoch(f.integer("batches_per_epoch", 0, kMaxCount));
  t.lr = f.number("lr", 0, 10);
  t.disc_lr = f.number("disc_lr", 0, 10);
  t.beta1 = f.number("beta1", 0, 0.999999);
  t.beta2 = f.number("beta2", 0, 0.999999);
  t.weight_decay = f.number("weight_decay", 0, 10);
  t.schedule = parse_lr_schedule(f.text("schedule"));
  t.min_lr_ratio = f.number("min_lr_ratio", 0, 1);
  t.warmup_steps = f.integer("warmup_steps", 0, kMaxCount);
  t.average_from = f.number_or("average_from", 1.0, 0, 1);  // absent before issue 11's averaging
  t.checkpoint_rule = parse_checkpoint_rule(f.text_or("checkpoint_rule", "best"));
  t.grad_clip = f.number("grad_clip", 0, 1e12);
  t.seed = f.unsigned_integer("seed");
  t.sampler.seed(t.seed);
  t.augment = f.boolean("augment");
  t.checkpoint_every = f.integer("checkpoint_every", 0, kMaxCount);
  t.eval_every = f.integer("eval_every", 0, kMaxCount);
  t.ks = f.integers("ks", 1, kMaxCount);
  t.max_steps = f.integer("max_steps", 0, kMaxCount);
  t.eval_batch = f.integer("eval_batch", 1, kMaxWidth);
  t.fusion_weights = f.text_or("fusion_weights", std::string());
  t.fusion_grid_steps = f.integer_or("fusion_grid_steps", 10, 1, 1000);
  return t;
}

json data_to_json(const DataSpec& d) {
  json j = {{"kind", d.kind}, {"path", d.path}};
  if (!d.extra_photos.empty()) j["extra_photos"] = d.extra_photos;
  if (d.kind == "dataset") {
    j["dataset"] = data::to_json(d.dataset);
    j["render"] = {
        {"size", d.render.size}, {"line_width", d.render.line_width}, {"margin", d.render.margin}};
  }
  return j;
}

json backbone_to_json(const BackboneSpec& b) {
  return {{"kind", b.kind},
          {"channels", b.channels},
          {"convs_per_stage", b.convs_per_stage},
          {"out_dim", b.out_dim},
          {"image_size", b.input.image_size},
          {"mean", b.input.mean},
          {"std", b.input.std},
          {"weights", b.weights},
          {"freeze_batch_norm", b.freeze_batch_norm},
          {"lr_factor", b.lr_factor},
          {"tf_same_padding", b.tf_same_padding}};
}

BackboneSpec backbone_from_json(const Fields& f) {
  BackboneSpec b;
  b.kind = f.text("kind");
  b.channels = f.integers("channels", 1, int64_t{1} << 16);
  b.convs_per_stage = f.integer_or("convs_per_stage", 2, 1, 64);  // configs before it: 2
  b.out_dim = f.integer("out_dim", 0, kMaxWidth);
  b.input.image_size = f.integer("image_size", 1, 16384);
  b.input.mean = f.triple("mean", -1e3, 1e3);
  b.input.std = f.triple("std", 1e-6, 1e3);
  // Keys of issue 12 (fine-tuning); older configs have none.
  b.weights = f.text_or("weights", std::string());
  b.freeze_batch_norm = f.boolean_or("freeze_batch_norm", true);
  b.lr_factor = f.number_or("lr_factor", 1.0, 0, 1e3);
  b.tf_same_padding = f.boolean_or("tf_same_padding", true);
  return b;
}

std::string join(const std::string& dir, const char* name) {
  return (std::filesystem::path(dir) / name).string();
}

}  // namespace

std::string to_string(LrSchedule schedule) {
  switch (schedule) {
    case LrSchedule::kConstant:
      return "constant";
    case LrSchedule::kCosine:
      return "cosine";
    case LrSchedule::kStep:
      return "step";
  }
  HCMSN_ASSERT(false, "unknown LrSchedule");
  return {};
}

LrSchedule parse_lr_schedule(const std::string& name) {
  if (name == "constant") return LrSchedule::kConstant;
  if (name == "cosine") return LrSchedule::kCosine;
  if (name == "step") return LrSchedule::kStep;
  HCMSN_CHECK(false, "unknown learning-rate schedule '", name, "'; use constant, cosine or step");
  return {};
}

json RunConfig::to_json() const {
  return {{"format", "hcmsn-run"},
          {"version", kVersion},
          {"model", model_to_json(model)},
          {"backbone", backbone_to_json(backbone)},
          {"loss", loss_to_json(loss)},
          {"trainer", trainer_to_json(trainer)},
          {"data", data_to_json(data)},
          {"seen_classes", seen_classes},
          {"unseen_classes", unseen_classes},
          {"validation_classes", validation_classes}};
}

RunConfig RunConfig::from_json(const json& j) {
  try {
    HCMSN_CHECK(j.is_object() && j.value("format", "") == "hcmsn-run",
                "not an hcmsn run configuration (no \"format\": \"hcmsn-run\")");
    const Fields f(j, "");
    const int64_t version = f.integer("version", 1, std::numeric_limits<int64_t>::max());
    HCMSN_CHECK(version <= kVersion, "the run was written by a newer hcmsn (config version ",
                version, " > ", kVersion, "); upgrade hcmsn");
    RunConfig c;
    c.model = model_from_json(f.at("model"));
    c.backbone = backbone_from_json(f.at("backbone"));
    c.loss = loss_from_json(f.at("loss"));
    c.trainer = trainer_from_json(f.at("trainer"));
    const Fields data = f.at("data");
    c.data.kind = data.text("kind");
    HCMSN_CHECK(c.data.kind == "features" || c.data.kind == "images" || c.data.kind == "dataset",
                "data.kind must be features, images or dataset, got '", c.data.kind, "'");
    c.data.path = data.text("path");
    c.data.extra_photos = data.text_or("extra_photos", std::string());  // none before issue 11
    HCMSN_CHECK(c.data.extra_photos.empty() || c.data.kind == "features",
                "data.extra_photos needs data.kind features");
    if (data.has("dataset")) {
      c.data.dataset = data::dataset_spec_from_json(data.raw("dataset"));
      const Fields render = data.at("render");
      c.data.render.size = render.integer("size", 8, 16384);
      c.data.render.line_width = render.number("line_width", 1e-3, 1e3);
      c.data.render.margin = render.number("margin", 0, 1e3);
    }
    c.seen_classes = f.texts("seen_classes");
    c.unseen_classes = f.texts("unseen_classes");
    // None before issue 11.
    c.validation_classes =
        f.has("validation_classes") ? f.texts("validation_classes") : std::vector<std::string>{};
    HCMSN_CHECK(c.seen_classes.empty() ||
                    static_cast<int64_t>(c.seen_classes.size()) == c.model.num_seen_classes(),
                "seen_classes holds ", c.seen_classes.size(),
                " names but model.num_seen_classes is ", c.model.num_seen_classes());
    return c;
  } catch (const nlohmann::json::exception& e) {
    HCMSN_CHECK(false, "malformed run configuration: ", e.what());
  }
  return {};
}

model::RetrievalNetwork build_network(const RunConfig& config, bool load_pretrained) {
  std::shared_ptr<model::BackboneImpl> backbone;
  if (vision::is_pretrained_backbone(config.backbone.kind)) {
    vision::BackboneFactoryOptions options;
    options.tf_same_padding = config.backbone.tf_same_padding;
    options.freeze_batch_norm = config.backbone.freeze_batch_norm;
    const auto make = [&] {
      auto b = load_pretrained ? vision::load_pretrained_backbone(config.backbone.kind,
                                                                  config.backbone.weights, options)
                               : vision::make_backbone(config.backbone.kind, options);
      // load_pretrained_backbone applies the freezing; make_backbone leaves BN trainable.
      b->freeze_batch_norm(config.backbone.freeze_batch_norm);
      return b;
    };
    backbone = make();
    if (config.model.teacher_classes() > 0) {
      // Knowledge preservation: the teacher sees the initial backbone's features, frozen.
      model::RetrievalNetwork network(config.model, backbone);
      network->set_teacher_backbone(make());
      return network;
    }
  } else if (config.backbone.kind == "small-cnn") {
    backbone =
        std::make_shared<model::SmallCNNImpl>(model::SmallCNNOptions()
                                                  .channels(config.backbone.channels)
                                                  .convs_per_stage(config.backbone.convs_per_stage)
                                                  .out_dim(config.backbone.out_dim)
                                                  .input(config.backbone.input));
  } else {
    HCMSN_CHECK(config.backbone.kind == "none", "unknown backbone '", config.backbone.kind,
                "'; use none, small-cnn, mobilenet_v2 or resnet50");
  }
  return model::RetrievalNetwork(config.model, backbone);
}

std::string config_path(const std::string& run_dir) {
  return join(run_dir, "config.json");
}
std::string semantics_path(const std::string& run_dir) {
  return join(run_dir, "semantics.npy");
}
std::string semantics_classes_path(const std::string& run_dir) {
  return join(run_dir, "semantics_classes.txt");
}
std::string last_checkpoint_path(const std::string& run_dir) {
  return join(run_dir, "last.ckpt");
}
std::string epoch_checkpoint_path(const std::string& run_dir, int64_t epoch) {
  return (std::filesystem::path(run_dir) / "epochs" / ("epoch-" + std::to_string(epoch) + ".ckpt"))
      .string();
}

std::string best_checkpoint_path(const std::string& run_dir) {
  return join(run_dir, "best.ckpt");
}
std::string log_path(const std::string& run_dir) {
  return join(run_dir, "log.jsonl");
}

void write_run_config(const std::string& run_dir, const RunConfig& config) {
  util::write_file_atomic(config_path(run_dir), config.to_json().dump(2) + "\n");
}

RunConfig read_run_config(const std::string& run_dir) {
  const std::string path = config_path(run_dir);
  HCMSN_CHECK(std::filesystem::exists(path), run_dir,
              " is not an hcmsn run folder (no config.json); give the --out folder of "
              "`hcmsn train`");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(util::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    HCMSN_CHECK(false, path, " is not valid JSON: ", e.what());
  }
  try {
    return RunConfig::from_json(j);
  } catch (const Error& e) {
    throw Error(detail::concat(path, ": ", e.what(),
                               " (the file was changed by hand or damaged; fix the field or "
                               "train the run again)"));
  }
}

}  // namespace hcmsn::train
