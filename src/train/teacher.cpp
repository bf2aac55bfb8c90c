#include "hcmsn/train/teacher.h"

#include "hcmsn/features/feature_extractor.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/util/check.h"
#include "hcmsn/vision/classifier_head.h"

namespace hcmsn::train {
namespace {

vision::ClassifierHead read_head(const nlohmann::json& meta) {
  HCMSN_CHECK(meta.contains("backbone") && meta.contains("weights"),
              "the feature cache does not record a pretrained backbone (it was not made by "
              "`hcmsn extract`): knowledge transfer needs the backbone's own classifier");
  const std::string weights = features::weights_path_of(meta.at("weights").get<std::string>());
  return vision::read_classifier_head(meta.at("backbone").get<std::string>(), weights);
}

}  // namespace

int64_t teacher_classes_of(const nlohmann::json& cache_meta) {
  return read_head(cache_meta).weight.size(0);
}

void install_teacher(model::HCMSNModelImpl& model, const TeacherSource& source) {
  HCMSN_CHECK(model.transfer() != nullptr,
              "install_teacher: the model has no knowledge-transfer heads (teacher_classes 0)");
  const auto head = read_head(source.cache_meta);
  const torch::Tensor concepts = io::read_npy(source.concepts).to(torch::kFloat32);
  const auto names = io::read_labels(source.concepts_classes);
  HCMSN_CHECK(concepts.dim() == 2 && concepts.size(0) == static_cast<int64_t>(names.size()),
              "teacher concepts '", source.concepts,
              "' must be a matrix with one row per name of '", source.concepts_classes, "' (",
              names.size(), "), got ", concepts.sizes());
  HCMSN_CHECK(concepts.size(0) == head.weight.size(0), "teacher concepts '", source.concepts,
              "' have ", concepts.size(0), " rows but the backbone's classifier has ",
              head.weight.size(0),
              " classes; embed the teacher's class names in its order (ImageNet: "
              "share/semantics/bert_minilm_imagenet1000.npy)");
  model.transfer()->set_teacher(head.weight, head.bias, concepts);
}

}  // namespace hcmsn::train
