#include "hcmsn/model/knowledge_preservation.h"

#include <cmath>

#include "hcmsn/util/check.h"

namespace hcmsn::model {
namespace {

void check_logits(const torch::Tensor& t, const char* what, const char* who) {
  HCMSN_CHECK(t.defined() && t.dim() == 2 && t.size(0) > 0 && t.size(1) > 0, who, ": ", what,
              " must be a non-empty (rows, classes) matrix, got ",
              t.defined() ? t.sizes() : at::IntArrayRef{});
  HCMSN_CHECK(t.scalar_type() == torch::kFloat32 || t.scalar_type() == torch::kFloat64, who, ": ",
              what, " must be float32 or float64, got ", t.scalar_type());
}

}  // namespace

torch::Tensor distillation_loss(const torch::Tensor& student_logits,
                                const torch::Tensor& teacher_logits, double temperature) {
  const char* who = "distillation_loss";
  check_logits(student_logits, "student logits", who);
  check_logits(teacher_logits, "teacher logits", who);
  HCMSN_CHECK(student_logits.sizes() == teacher_logits.sizes(), who, ": student ",
              student_logits.sizes(), " and teacher ", teacher_logits.sizes(),
              " logits differ; the student head must predict the teacher's classes");
  HCMSN_CHECK(std::isfinite(temperature) && temperature > 0, who,
              ": the temperature must be > 0, got ", temperature);
  const auto teacher = teacher_logits.detach().to(student_logits.scalar_type());
  const auto log_p = torch::log_softmax(teacher / temperature, 1);
  const auto log_q = torch::log_softmax(student_logits / temperature, 1);
  // p log p is 0 where p underflows to 0: exp(log_p) is then 0 and the product stays finite.
  const auto kl = (log_p.exp() * (log_p - log_q)).sum(1);
  return kl.mean() * (temperature * temperature);
}

torch::Tensor conse_embedding(const torch::Tensor& teacher_logits,
                              const torch::Tensor& concept_embeddings, int64_t top_m) {
  const char* who = "conse_embedding";
  check_logits(teacher_logits, "teacher logits", who);
  HCMSN_CHECK(concept_embeddings.defined() && concept_embeddings.dim() == 2, who,
              ": concept embeddings must be a (classes, dim) matrix");
  HCMSN_CHECK(concept_embeddings.size(0) == teacher_logits.size(1), who, ": ",
              teacher_logits.size(1), " teacher classes but ", concept_embeddings.size(0),
              " concept embeddings; embed every class name of the teacher, in its order");
  HCMSN_CHECK(top_m >= 1 && top_m <= teacher_logits.size(1), who, ": top_m must be in [1, ",
              teacher_logits.size(1), "], got ", top_m);
  const auto p = torch::softmax(teacher_logits.detach(), 1);
  // A stable sort: tied probabilities are taken in class order.
  const auto sorted = std::get<1>(p.sort(/*stable=*/true, /*dim=*/1, /*descending=*/true));
  const auto top = sorted.narrow(1, 0, top_m);
  const auto weights = p.gather(1, top);  // (B, m)
  const auto e = concept_embeddings.to(p.scalar_type()).index_select(0, top.reshape(-1));
  const auto rows = e.view({top.size(0), top_m, -1});  // (B, m, D)
  return (weights.unsqueeze(2) * rows).sum(1) / weights.sum(1, /*keepdim=*/true);
}

}  // namespace hcmsn::model
