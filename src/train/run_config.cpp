#include "hcmsn/train/run_config.h"

#include <algorithm>
#include <filesystem>

#include "hcmsn/model/small_cnn.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/vision/pretrained.h"

namespace hcmsn::train {
namespace {

using nlohmann::json;

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

model::HCMSNModelOptions model_from_json(const json& j) {
  model::HCMSNModelOptions m(j.at("num_seen_classes").get<int64_t>());
  m.in_dim(j.at("in_dim").get<int64_t>())
      .hidden(j.at("hidden").get<int64_t>())
      .dim(j.at("dim").get<int64_t>())
      .hyp_dim(j.at("hyp_dim").get<int64_t>())
      .sem_dim(j.at("sem_dim").get<int64_t>())
      .disc_hidden(j.at("disc_hidden").get<int64_t>())
      .curvature(j.at("curvature").get<double>())
      .learn_curvature(j.at("learn_curvature").get<bool>())
      .clip_r(j.at("clip_r").get<double>())
      .classifier(model::parse_classifier_kind(j.at("classifier").get<std::string>()))
      .temperature(j.at("temperature").get<double>())
      .dropout(j.at("dropout").get<double>())
      .shared_feature_input(j.value("shared_feature_input", false))
      // Runs from before issue 11 have no teacher and retrieve by h.
      .teacher_classes(j.value("teacher_classes", int64_t{0}))
      .conse_top(j.value("conse_top", int64_t{10}))
      .fused_embedding(j.value("fused_embedding", false));
  return m;
}

json loss_to_json(const model::LossOptions& l) {
  return {{"lambda_cls", l.lambda_cls()},         {"lambda_adv", l.lambda_adv()},
          {"lambda_align", l.lambda_align()},     {"lambda_rec", l.lambda_rec()},
          {"lambda_triplet", l.lambda_triplet()}, {"margin", l.margin()},
          {"lambda_kd", l.lambda_kd()},           {"kd_temperature", l.kd_temperature()},
          {"lambda_bridge", l.lambda_bridge()}};
}

model::LossOptions loss_from_json(const json& j) {
  model::LossOptions l;
  l.lambda_cls(j.at("lambda_cls").get<double>())
      .lambda_adv(j.at("lambda_adv").get<double>())
      .lambda_align(j.at("lambda_align").get<double>())
      .lambda_rec(j.at("lambda_rec").get<double>())
      .lambda_triplet(j.at("lambda_triplet").get<double>())
      .margin(j.at("margin").get<double>())
      .lambda_kd(j.value("lambda_kd", 0.0))
      .kd_temperature(j.value("kd_temperature", 2.0))
      .lambda_bridge(j.value("lambda_bridge", 0.0));
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

TrainerOptions trainer_from_json(const json& j) {
  TrainerOptions t;
  t.epochs = j.at("epochs").get<int64_t>();
  t.sampler.classes_per_batch(j.at("classes_per_batch").get<int64_t>())
      .per_class(j.at("per_class").get<int64_t>())
      .batches_per_epoch(j.at("batches_per_epoch").get<int64_t>());
  t.lr = j.at("lr").get<double>();
  t.disc_lr = j.at("disc_lr").get<double>();
  t.beta1 = j.at("beta1").get<double>();
  t.beta2 = j.at("beta2").get<double>();
  t.weight_decay = j.at("weight_decay").get<double>();
  t.schedule = parse_lr_schedule(j.at("schedule").get<std::string>());
  t.min_lr_ratio = j.at("min_lr_ratio").get<double>();
  t.warmup_steps = j.at("warmup_steps").get<int64_t>();
  t.grad_clip = j.at("grad_clip").get<double>();
  t.seed = j.at("seed").get<uint64_t>();
  t.sampler.seed(t.seed);
  t.augment = j.at("augment").get<bool>();
  t.checkpoint_every = j.at("checkpoint_every").get<int64_t>();
  t.eval_every = j.at("eval_every").get<int64_t>();
  t.ks = j.at("ks").get<std::vector<int64_t>>();
  t.max_steps = j.at("max_steps").get<int64_t>();
  t.eval_batch = j.at("eval_batch").get<int64_t>();
  t.fusion_weights = j.value("fusion_weights", std::string());
  t.fusion_grid_steps = j.value("fusion_grid_steps", int64_t{10});
  return t;
}

json data_to_json(const DataSpec& d) {
  json j = {{"kind", d.kind}, {"path", d.path}};
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

BackboneSpec backbone_from_json(const json& j) {
  BackboneSpec b;
  b.kind = j.at("kind").get<std::string>();
  b.channels = j.at("channels").get<std::vector<int64_t>>();
  b.convs_per_stage = j.value("convs_per_stage", int64_t{2});  // configs before the option: 2
  b.out_dim = j.at("out_dim").get<int64_t>();
  b.input.image_size = j.at("image_size").get<int64_t>();
  b.input.mean = j.at("mean").get<std::array<double, 3>>();
  b.input.std = j.at("std").get<std::array<double, 3>>();
  // Keys of issue 12 (fine-tuning); older configs have none.
  b.weights = j.value("weights", std::string());
  b.freeze_batch_norm = j.value("freeze_batch_norm", true);
  b.lr_factor = j.value("lr_factor", 1.0);
  b.tf_same_padding = j.value("tf_same_padding", true);
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
    HCMSN_CHECK(j.value("format", "") == "hcmsn-run", "not an hcmsn run configuration");
    const int version = j.at("version").get<int>();
    HCMSN_CHECK(version <= kVersion, "the run was written by a newer hcmsn (config version ",
                version, " > ", kVersion, "); upgrade hcmsn");
    RunConfig c;
    c.model = model_from_json(j.at("model"));
    c.backbone = backbone_from_json(j.at("backbone"));
    c.loss = loss_from_json(j.at("loss"));
    c.trainer = trainer_from_json(j.at("trainer"));
    c.data.kind = j.at("data").at("kind").get<std::string>();
    c.data.path = j.at("data").at("path").get<std::string>();
    if (j.at("data").contains("dataset")) {
      c.data.dataset = data::dataset_spec_from_json(j.at("data").at("dataset"));
      const auto& render = j.at("data").at("render");
      c.data.render.size = render.at("size").get<int64_t>();
      c.data.render.line_width = render.at("line_width").get<double>();
      c.data.render.margin = render.at("margin").get<double>();
    }
    c.seen_classes = j.at("seen_classes").get<std::vector<std::string>>();
    c.unseen_classes = j.at("unseen_classes").get<std::vector<std::string>>();
    c.validation_classes =
        j.value("validation_classes", std::vector<std::string>{});  // none before issue 11
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
  return RunConfig::from_json(j);
}

}  // namespace hcmsn::train
