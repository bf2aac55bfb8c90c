// The knowledge-transfer heads of HCMSN (issue 11): the frozen teacher (the backbone's own
// ImageNet classifier), the student head that is distilled towards it, and the photo-free
// semantic bridge (ConSE) that places any photo in the class-name embedding space. The terms
// themselves are in knowledge_preservation.h.
//
// Contract: v (B, in_dim) backbone features, f (B, dim) retrieval features, float32. The
// teacher is K classes: weight (K, in_dim), bias (K), concept embeddings (K, sem_dim) of the
// teacher's class names (the same text encoder and template as the benchmark classes). They are
// buffers: saved with the checkpoint, never trained. A module whose teacher was never installed
// (has_teacher() false) refuses every teacher call with a message saying how to install it.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace hcmsn::model {

struct KnowledgeTransferOptions {
  KnowledgeTransferOptions(int64_t in_dim, int64_t dim, int64_t sem_dim, int64_t classes)
      : in_dim_(in_dim), dim_(dim), sem_dim_(sem_dim), classes_(classes) {}
  TORCH_ARG(int64_t, in_dim);
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, sem_dim);
  /// K, the teacher's classes (1000 for ImageNet).
  TORCH_ARG(int64_t, classes);
  /// m of the ConSE bridge: the teacher's top-m classes average their names' embeddings.
  TORCH_ARG(int64_t, top_m) = 10;
};

class KnowledgeTransferImpl : public torch::nn::Module {
 public:
  /// Throws hcmsn::Error on non-positive sizes or top_m outside [1, classes].
  explicit KnowledgeTransferImpl(KnowledgeTransferOptions options);

  /// Installs the frozen teacher; throws hcmsn::Error on a shape mismatch or a non-finite value.
  void set_teacher(const torch::Tensor& weight, const torch::Tensor& bias,
                   const torch::Tensor& concepts);
  bool has_teacher() const;

  /// The teacher's logits (B, K), without gradient.
  torch::Tensor teacher_logits(const torch::Tensor& v) const;
  /// The student's logits (B, K) from the retrieval features.
  torch::Tensor student_logits(const torch::Tensor& f);
  /// ConSE embeddings (B, sem_dim) of backbone features, without gradient.
  torch::Tensor bridge(const torch::Tensor& v) const;

  /// The teacher's concept embeddings (K, sem_dim); zeros until set_teacher.
  const torch::Tensor& concepts() const { return concepts_; }

  const KnowledgeTransferOptions& options() const { return options_; }

 private:
  void check_teacher(const char* who) const;

  KnowledgeTransferOptions options_;
  torch::nn::Linear student_{nullptr};
  torch::Tensor teacher_weight_, teacher_bias_, concepts_;
  torch::Tensor installed_;  // 0-dim; 1 once set_teacher ran (kept by the checkpoint)
};
TORCH_MODULE(KnowledgeTransfer);

}  // namespace hcmsn::model
