// The training objective of HCMSN (DESIGN §2). The generator (F, S, R, P, classifier) minimises
//   L = λ_cls L_cls + λ_adv L_adv + λ_align L_align + λ_rec L_rec + λ_triplet L_triplet,
// and the discriminator D, on its own optimizer, minimises discriminator_loss. Every weight can
// be 0, which removes its term entirely (it is not computed, adds exactly 0 and sends no
// gradient anywhere): the paper's ablations (no adv / no cls / no rec) are one flag each.
//
// Inputs shared by all functions:
//  * labels: int64 (B), class ids of the rows; they index the rows of the class embeddings and,
//    for the classifier, must be < num_seen_classes;
//  * class_embeddings w: float (num_classes, sem_dim), the class-name embeddings (e.g. BERT);
//    w_y = w[labels] is a row's real semantic embedding;
//  * modality: int64 (B) of kSketch / kPhoto (retrieval_feature_net.h);
//  * features s (B, sem_dim), f (B, dim), h (B, hyp_dim) as in HCMSNOutput.
// Every loss is a 0-dim tensor with the dtype of its inputs, averaged over what it sums. Shape,
// dtype and label errors throw hcmsn::Error.
#pragma once

#include <torch/torch.h>

#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/model/reconstruction_net.h"
#include "hcmsn/model/semantic_embedding_net.h"

namespace hcmsn::model {

struct LossOptions {
  TORCH_ARG(double, lambda_cls) = 1.0;
  /// Adversarial alignment of S(f) to the class embeddings (generator side).
  TORCH_ARG(double, lambda_adv) = 1.0;
  /// Direct alignment of S(f) to w_y (cosine).
  TORCH_ARG(double, lambda_align) = 1.0;
  TORCH_ARG(double, lambda_rec) = 1.0;
  /// Optional batch-hard triplet loss on the Poincaré distance.
  TORCH_ARG(double, lambda_triplet) = 0.0;
  /// Triplet margin, in units of the Poincaré distance.
  TORCH_ARG(double, margin) = 1.0;
  /// Knowledge preservation: the student head distilled towards the frozen teacher, sketches
  /// and photos (knowledge_preservation.h); needs a model with an installed teacher.
  TORCH_ARG(double, lambda_kd) = 0.0;
  /// T of the distillation.
  TORCH_ARG(double, kd_temperature) = 2.0;
  /// The semantic bridge as S's target for photos: 1 − cos(S(f), ConSE(v)) on the photo rows.
  TORCH_ARG(double, lambda_bridge) = 0.0;
};

/// The unweighted terms of L and the weighted total. A term whose weight is 0 is undefined
/// (check `.defined()` before logging it).
struct LossTerms {
  torch::Tensor cls;
  torch::Tensor adv;
  torch::Tensor align;
  torch::Tensor rec;
  torch::Tensor triplet;
  torch::Tensor kd;
  torch::Tensor bridge;
  torch::Tensor total;
};

/// w_y = w[labels]: (B, sem_dim). Throws unless w is a float (num_classes, sem_dim) matrix and
/// every label is in [0, num_classes).
torch::Tensor class_embeddings_of(const torch::Tensor& class_embeddings,
                                  const torch::Tensor& labels);

/// Cross-entropy of logits (B, K) against labels in [0, K).
torch::Tensor classification_loss(const torch::Tensor& logits, const torch::Tensor& labels);

/// The discriminator's loss, non-saturating GAN with logits:
/// BCE(D(real), 1) + BCE(D(fake), 0), real = w_y (B, sem_dim), fake = s (B', sem_dim). Both are
/// detached, so only D receives gradient.
torch::Tensor discriminator_loss(Discriminator& discriminator, const torch::Tensor& real,
                                 const torch::Tensor& fake);

/// The generator's adversarial loss BCE(D(s), 1) (non-saturating: strong gradient while D
/// still rejects s). D's parameters are left out of the graph (they do not require grad while
/// D runs here), so backward() reaches S and F but never adds to D's gradients.
torch::Tensor adversarial_generator_loss(Discriminator& discriminator, const torch::Tensor& s);

/// Direct alignment mean(1 − cos(s_i, w_y_i)), s and w_y (B, sem_dim).
torch::Tensor alignment_loss(const torch::Tensor& s, const torch::Tensor& w_y);

/// Cross-modal reconstruction: for every sketch row i, MSE between R(s_i) and the mean f of the
/// photos of class y_i in the batch; for every photo row, the same against the sketches' mean.
/// Rows whose class has no row of the other modality in the batch are skipped; when no row has
/// a partner the loss is 0 with zero gradient (backward() still works on such a batch).
///
/// The partner is the class mean of the other modality: deterministic, independent of the row
/// order and less noisy than one random partner. It is detached: the term trains S and R (and F
/// through the source row's s) to map one modality onto the other, but cannot be lowered by
/// moving the targets; otherwise MSE would reward collapsing a class's features (or all of F)
/// toward whatever R outputs, against the classifier.
torch::Tensor cross_modal_reconstruction_loss(ReconstructionNet& reconstruction,
                                              const torch::Tensor& s, const torch::Tensor& f,
                                              const torch::Tensor& labels,
                                              const torch::Tensor& modality);

/// Semantic remodeling: for every class in the batch (each once), MSE between R(w_y) and the
/// mean f of the class's rows (both modalities, detached for the reason above).
torch::Tensor semantic_reconstruction_loss(ReconstructionNet& reconstruction,
                                           const torch::Tensor& f, const torch::Tensor& labels,
                                           const torch::Tensor& class_embeddings);

/// L_rec = cross_modal_reconstruction_loss + semantic_reconstruction_loss.
torch::Tensor reconstruction_loss(ReconstructionNet& reconstruction, const torch::Tensor& s,
                                  const torch::Tensor& f, const torch::Tensor& labels,
                                  const torch::Tensor& modality,
                                  const torch::Tensor& class_embeddings);

/// Batch-hard triplet loss on the Poincaré distance d_c: every row is an anchor; its hardest
/// positive is the farthest other row of its class, its hardest negative the nearest row of
/// another class (of either modality, so sketch–photo pairs count, which is what retrieval
/// ranks), and the loss is mean(max(0, d(a, p) − d(a, n) + margin)) over anchors that have both.
/// Batch-hard rather than all triplets: O(B²) work, and easy triplets, which are most of them,
/// would dilute the mean. 0 with zero gradient when no anchor has a positive and a negative.
torch::Tensor hyperbolic_triplet_loss(const torch::Tensor& h, const torch::Tensor& labels,
                                      const geometry::Curvature& c, double margin);

/// The generator objective L for one forward pass `out` of `model` on a batch. The class
/// embeddings are converted to the dtype and device of out.s. Throws hcmsn::Error on a negative
/// or non-finite weight or when every weight is 0.
LossTerms total_loss(HCMSNModelImpl& model, const HCMSNOutput& out, const torch::Tensor& labels,
                     const torch::Tensor& modality, const torch::Tensor& class_embeddings,
                     const LossOptions& options = {});

}  // namespace hcmsn::model
