// HCMSN, the Hyperbolic-based Cross-Modal Semantic Remodeling Network (DESIGN §2), on backbone
// features v (the CNN backbone E lives elsewhere):
//
//   v, modality ─ F ─> f ─┬─ S ─> s ─────────── (D judges s against the class embeddings w_y)
//                         │        └─ R ─> f̂   (used by the reconstruction loss only)
//                         └─ P ─> h ∈ B_c ─ classifier ─> logits over the seen classes
//
// The model owns F, S, R, P, the classifier and the discriminator D. D has its own optimizer
// (adversarial training), so the parameters come in two disjoint sets:
// generator_parameters() (everything but D, including a learnable curvature) and
// discriminator_parameters(). The losses are in losses.h.
//
// Shapes and dtypes follow retrieval_feature_net.h. Retrieval ranks the gallery by the Poincaré
// distance of embed(...) under curvature() (geometry/poincare_ball.h).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hcmsn/geometry/hyperbolic_mlr.h"
#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/model/fused_embedding.h"
#include "hcmsn/model/knowledge_transfer.h"
#include "hcmsn/model/projection_net.h"
#include "hcmsn/model/prototype_classifier.h"
#include "hcmsn/model/reconstruction_net.h"
#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/model/semantic_embedding_net.h"

namespace hcmsn::model {

enum class ClassifierKind {
  kHyperbolicMLR,  // "mlr": gyroplane logits (geometry/hyperbolic_mlr.h)
  kPrototype,      // "prototype": −d_c(h, p_k)/τ (prototype_classifier.h)
};
std::string to_string(ClassifierKind kind);
/// "mlr" or "prototype"; throws hcmsn::Error otherwise.
ClassifierKind parse_classifier_kind(const std::string& name);

struct HCMSNModelOptions {
  explicit HCMSNModelOptions(int64_t num_seen_classes) : num_seen_classes_(num_seen_classes) {}
  /// Classes of the classifier; labels are 0 … num_seen_classes − 1.
  TORCH_ARG(int64_t, num_seen_classes);
  /// Backbone feature size (1280: MobileNetV2's pooled features, 2048: ResNet-50).
  TORCH_ARG(int64_t, in_dim) = 1280;
  /// Hidden width of F, S and R.
  TORCH_ARG(int64_t, hidden) = 1024;
  /// d, the retrieval feature size (64 … 512 in the paper's sweep).
  TORCH_ARG(int64_t, dim) = 512;
  /// Size of the hyperbolic embedding h; 0 means dim.
  TORCH_ARG(int64_t, hyp_dim) = 0;
  /// Size of the class-name embeddings (BERT: 768).
  TORCH_ARG(int64_t, sem_dim) = 768;
  TORCH_ARG(int64_t, disc_hidden) = 512;
  /// c ≥ 0 of the ball (curvature −c); 0 is the Euclidean variant.
  TORCH_ARG(double, curvature) = 0.01;
  /// Learn c as softplus(raw), initialised to `curvature` (which must then be > 0).
  TORCH_ARG(bool, learn_curvature) = false;
  /// Feature clipping radius of P; ≤ 0 disables clipping.
  TORCH_ARG(double, clip_r) = 2.3;
  TORCH_ARG(ClassifierKind, classifier) = ClassifierKind::kHyperbolicMLR;
  /// τ of the prototype classifier.
  TORCH_ARG(double, temperature) = 1.0;
  /// Dropout of F, S and R.
  TORCH_ARG(double, dropout) = 0.2;
  /// F's input layer shared by both modalities (RetrievalFeatureNetOptions::shared_input).
  TORCH_ARG(bool, shared_feature_input) = false;
  /// K of the frozen teacher (the backbone's ImageNet classifier, 1000); 0: no teacher, no
  /// student head, no ConSE bridge (knowledge_transfer.h). Needs cached backbone features.
  TORCH_ARG(int64_t, teacher_classes) = 0;
  /// m of the ConSE bridge.
  TORCH_ARG(int64_t, conse_top) = 10;
  /// Retrieve by the fused embedding (fused_embedding.h) instead of h alone.
  TORCH_ARG(bool, fused_embedding) = false;
};

/// Everything a training step needs from one forward pass.
struct HCMSNOutput {
  torch::Tensor f;       // (B, dim) retrieval features
  torch::Tensor s;       // (B, sem_dim) semantic embeddings S(f)
  torch::Tensor h;       // (B, hyp_dim) points on the ball of curvature −c
  torch::Tensor logits;  // (B, num_seen_classes)
  // Defined only when the model has an installed teacher:
  torch::Tensor student_logits;  // (B, teacher_classes)
  torch::Tensor teacher_logits;  // (B, teacher_classes), no gradient
  torch::Tensor bridge;          // (B, sem_dim) ConSE embeddings, no gradient
};

/// The parts of the fused embedding (fused_embedding.h) before fusion.
struct EmbeddingParts {
  torch::Tensor v;  // (B, in_dim) backbone features
  torch::Tensor s;  // (B, sem_dim): S(F(v)) for sketches; the ConSE bridge for photos when the
                    // model has a teacher
  torch::Tensor h;  // (B, hyp_dim) on the ball
};

class HCMSNModelImpl : public torch::nn::Module {
 public:
  /// Throws hcmsn::Error on invalid options.
  explicit HCMSNModelImpl(HCMSNModelOptions options);

  /// v (B, in_dim), modality (B) → f, s, h and the classifier logits. `teacher_v` (B, in_dim),
  /// when given, feeds the teacher and the bridge instead of v: the features of the frozen
  /// initial backbone when the backbone itself trains (issue 12).
  HCMSNOutput forward(const torch::Tensor& v, const torch::Tensor& modality,
                      const torch::Tensor& teacher_v = {});

  /// The retrieval embedding (B, embedding_dim()): h = P(F(v)), or with fused_embedding the
  /// fused point of embed_parts under fusion(). Does not change the train/eval mode: call eval()
  /// (and use torch::NoGradGuard) for retrieval.
  torch::Tensor embed(const torch::Tensor& v, const torch::Tensor& modality,
                      const torch::Tensor& teacher_v = {});
  EmbeddingParts embed_parts(const torch::Tensor& v, const torch::Tensor& modality,
                             const torch::Tensor& teacher_v = {});
  /// hyp_dim, or in_dim + sem_dim + hyp_dim with fused_embedding.
  int64_t embedding_dim() const;

  /// The fusion weights (a buffer, saved with the checkpoint; (0, 0, 1) until set). Throws
  /// hcmsn::Error without fused_embedding or on weights off the simplex.
  FusionWeights fusion() const;
  void set_fusion(const FusionWeights& weights);

  /// The knowledge-transfer heads, or nullptr when teacher_classes is 0.
  KnowledgeTransferImpl* transfer() const { return transfer_ ? transfer_.ptr().get() : nullptr; }

  /// Classifier logits (B, num_seen_classes) for points h (B, hyp_dim) on the ball.
  torch::Tensor classify(const torch::Tensor& h);

  /// The current curvature: a number, or a 0-dim tensor carrying gradient when learnable.
  geometry::Curvature curvature() const;

  /// Every parameter except the discriminator's (F, S, R, P, classifier, learnable curvature).
  std::vector<torch::Tensor> generator_parameters() const;
  /// The discriminator's parameters only.
  std::vector<torch::Tensor> discriminator_parameters() const;

  RetrievalFeatureNet& feature_net() { return feature_net_; }
  SemanticEmbeddingNet& semantic_net() { return semantic_net_; }
  ReconstructionNet& reconstruction_net() { return reconstruction_net_; }
  ProjectionNet& projection_net() { return projection_net_; }
  Discriminator& discriminator() { return discriminator_; }
  /// The classifier module (a geometry::HyperbolicMLRImpl or a PrototypeClassifierImpl).
  std::shared_ptr<torch::nn::Module> classifier() const;

  const HCMSNModelOptions& options() const { return options_; }

 private:
  HCMSNModelOptions options_;
  RetrievalFeatureNet feature_net_{nullptr};
  SemanticEmbeddingNet semantic_net_{nullptr};
  ReconstructionNet reconstruction_net_{nullptr};
  ProjectionNet projection_net_{nullptr};
  // Exactly one of the two classifiers exists, registered as "classifier".
  geometry::HyperbolicMLR mlr_{nullptr};
  PrototypeClassifier prototypes_{nullptr};
  Discriminator discriminator_{nullptr};
  KnowledgeTransfer transfer_{nullptr};
  torch::Tensor fusion_weights_;  // (4) backbone, semantic, hyperbolic, κ; fused_embedding only
  torch::Tensor curvature_raw_;   // 0-dim; defined only when the curvature is learnable
};
TORCH_MODULE(HCMSNModel);

}  // namespace hcmsn::model
