#include "hcmsn/model/knowledge_transfer.h"

#include "hcmsn/model/knowledge_preservation.h"
#include "hcmsn/util/check.h"

namespace hcmsn::model {

KnowledgeTransferImpl::KnowledgeTransferImpl(KnowledgeTransferOptions options) : options_(options) {
  const auto& o = options_;
  HCMSN_CHECK(o.in_dim() > 0 && o.dim() > 0 && o.sem_dim() > 0 && o.classes() > 0,
              "KnowledgeTransfer: in_dim, dim, sem_dim and classes must be > 0");
  HCMSN_CHECK(o.top_m() >= 1 && o.top_m() <= o.classes(),
              "KnowledgeTransfer: top_m (train --conse-top) must be in [1, ", o.classes(),
              "], got ", o.top_m());
  student_ = register_module("student", torch::nn::Linear(o.dim(), o.classes()));
  teacher_weight_ = register_buffer("teacher_weight", torch::zeros({o.classes(), o.in_dim()}));
  teacher_bias_ = register_buffer("teacher_bias", torch::zeros({o.classes()}));
  concepts_ = register_buffer("concepts", torch::zeros({o.classes(), o.sem_dim()}));
  installed_ = register_buffer("installed", torch::zeros({}));
}

void KnowledgeTransferImpl::set_teacher(const torch::Tensor& weight, const torch::Tensor& bias,
                                        const torch::Tensor& concepts) {
  const auto& o = options_;
  HCMSN_CHECK(weight.defined() && weight.sizes() == teacher_weight_.sizes(),
              "the teacher's weight must be (", o.classes(), ", ", o.in_dim(), "), got ",
              weight.defined() ? weight.sizes() : at::IntArrayRef{},
              "; the teacher belongs to the backbone whose features the run trains on");
  HCMSN_CHECK(bias.defined() && bias.sizes() == teacher_bias_.sizes(),
              "the teacher's bias must have ", o.classes(), " values");
  HCMSN_CHECK(concepts.defined() && concepts.sizes() == concepts_.sizes(),
              "the teacher's concept embeddings must be (", o.classes(), ", ", o.sem_dim(),
              "): one row per teacher class, from the encoder of the class semantics; got ",
              concepts.defined() ? concepts.sizes() : at::IntArrayRef{});
  for (const auto* t : {&weight, &bias, &concepts}) {
    HCMSN_CHECK(torch::isfinite(*t).all().item<bool>(),
                "the teacher's tensors must be finite (NaN or infinity found)");
  }
  torch::NoGradGuard no_grad;
  teacher_weight_.copy_(weight);
  teacher_bias_.copy_(bias);
  concepts_.copy_(concepts);
  installed_.fill_(1);
}

bool KnowledgeTransferImpl::has_teacher() const {
  return installed_.item<double>() > 0;
}

void KnowledgeTransferImpl::check_teacher(const char* who) const {
  HCMSN_CHECK(has_teacher(), who,
              ": the run has no teacher installed; train with --teacher-concepts on a feature "
              "cache of a pretrained backbone (mobilenet_v2 or resnet50)");
}

torch::Tensor KnowledgeTransferImpl::teacher_logits(const torch::Tensor& v) const {
  check_teacher("teacher_logits");
  HCMSN_CHECK(v.dim() == 2 && v.size(1) == options_.in_dim(), "teacher_logits: v must be (B, ",
              options_.in_dim(), "), got ", v.sizes());
  torch::NoGradGuard no_grad;
  return torch::addmm(teacher_bias_.to(v.dtype()), v, teacher_weight_.to(v.dtype()).t());
}

torch::Tensor KnowledgeTransferImpl::student_logits(const torch::Tensor& f) {
  HCMSN_CHECK(f.dim() == 2 && f.size(1) == options_.dim(), "student_logits: f must be (B, ",
              options_.dim(), "), got ", f.sizes());
  return student_->forward(f);
}

torch::Tensor KnowledgeTransferImpl::bridge(const torch::Tensor& v) const {
  return conse_embedding(teacher_logits(v), concepts_, options_.top_m());
}

}  // namespace hcmsn::model
