// Knowledge preservation (SAKE, Liu et al., ICCV 2019) and the photo-free semantic bridge
// (ConSE, Norouzi et al., ICLR 2014): the terms that keep a zero-shot model from forgetting what
// its ImageNet backbone knew.
//
//  * The teacher is the backbone's own ImageNet classifier, frozen. On cached pooled features v
//    it is one linear layer: t = W v + b (W (K, in_dim), b (K), K = 1000 for ImageNet).
//  * The student predicts the same K classes from the retrieval feature f, and
//    distillation_loss = T² · mean_rows KL(softmax(t/T) ‖ softmax(z/T)) pulls it towards the
//    teacher for sketches and photos alike (T² keeps the gradient's scale independent of T).
//  * conse_embedding places an item in the class-name embedding space without a label: the
//    teacher's top-m ImageNet classes, weighted by their probabilities, average the embeddings
//    of those classes' names (same text encoder and template as the benchmark classes).
//
// Contract: logits (B, K) float32/float64, the teacher's with no gradient wanted (it is
// detached); concept embeddings (K, D) of the same dtype. Errors throw hcmsn::Error.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace hcmsn::model {

/// T² · (1/B) Σ_rows Σ_k p_k (log p_k − log q_k), p = softmax(teacher/T), q = softmax(student/T).
/// Only the student receives gradient. T > 0.
torch::Tensor distillation_loss(const torch::Tensor& student_logits,
                                const torch::Tensor& teacher_logits, double temperature);

/// Per row: (Σ_{k ∈ top m} p_k e_k) / Σ_{k ∈ top m} p_k with p = softmax(teacher_logits) and
/// e_k = concept_embeddings[k]; (B, D). 1 ≤ m ≤ K. Ties in p are taken in class order.
torch::Tensor conse_embedding(const torch::Tensor& teacher_logits,
                              const torch::Tensor& concept_embeddings, int64_t top_m);

}  // namespace hcmsn::model
