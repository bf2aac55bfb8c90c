#include "hcmsn/model/losses.h"

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "hcmsn/model/knowledge_preservation.h"
#include "hcmsn/util/check.h"

namespace hcmsn::model {
namespace {

namespace F = torch::nn::functional;

// Labels (batch) int64 in [0, num_classes); num_classes < 0 means no upper bound.
void check_labels(const torch::Tensor& labels, int64_t batch, int64_t num_classes,
                  const char* who) {
  HCMSN_CHECK(labels.defined() && labels.dim() == 1 && labels.scalar_type() == torch::kInt64, who,
              ": labels must be an int64 tensor of shape (batch)");
  HCMSN_CHECK(labels.size(0) == batch, who, ": got ", labels.size(0), " labels for ", batch,
              " rows; give one label per row");
  if (labels.numel() == 0) return;
  const auto lo = labels.min().item<int64_t>();
  const auto hi = labels.max().item<int64_t>();
  HCMSN_CHECK(lo >= 0, who, ": labels must be >= 0, got ", lo);
  HCMSN_CHECK(num_classes < 0 || hi < num_classes, who, ": labels must be in [0, ", num_classes,
              "), got values up to ", hi, "; check the class list the labels were made with");
}

void check_matrix(const torch::Tensor& x, const char* what, const char* who) {
  HCMSN_CHECK(x.defined() && x.dim() == 2 && x.is_floating_point(), who, ": ", what,
              " must be a float (batch, dim) matrix, got ",
              x.defined() ? x.sizes() : torch::IntArrayRef{});
}

// A zero loss that still belongs to x's graph, so backward() works and sends zero gradient.
torch::Tensor zero_like_loss(const torch::Tensor& x) {
  return x.sum() * 0;
}

// Compact class ids: labels (B) → group (B) in [0, G) with equal labels sharing a group, plus
// the label of every group (G). Sorting keeps it O(B log B) whatever the label values.
std::pair<torch::Tensor, torch::Tensor> group_by_label(const torch::Tensor& labels) {
  const auto [sorted, order] = labels.sort();
  auto is_new = torch::ones_like(sorted, torch::kBool);
  if (sorted.numel() > 1) is_new.slice(0, 1).copy_(sorted.slice(0, 1) != sorted.slice(0, 0, -1));
  const auto group_sorted = is_new.cumsum(0) - 1;
  const auto group = torch::empty_like(labels).scatter_(0, order, group_sorted);
  const auto group_labels = sorted.masked_select(is_new);
  return {group, group_labels};
}

// Per-group means of x's rows (G, dim) and row counts (G), over the rows where `weight` is true;
// a group without such rows has mean 0 and count 0.
std::pair<torch::Tensor, torch::Tensor> group_means(const torch::Tensor& x,
                                                    const torch::Tensor& group, int64_t groups,
                                                    const torch::Tensor& weight) {
  const auto w = weight.to(x.dtype());
  const auto sums =
      torch::zeros({groups, x.size(1)}, x.options()).index_add(0, group, x * w.unsqueeze(1));
  const auto counts = torch::zeros({groups}, x.options()).index_add(0, group, w);
  return {sums / counts.clamp_min(1).unsqueeze(1), counts};
}

// Switches requires_grad off for a set of parameters and restores each one's flag on exit, so a
// forward pass through them builds no gradient path into them.
class FrozenParameters {
 public:
  explicit FrozenParameters(std::vector<torch::Tensor> params) : params_(std::move(params)) {
    for (auto& p : params_) {
      flags_.push_back(p.requires_grad());
      p.requires_grad_(false);
    }
  }
  ~FrozenParameters() {
    for (size_t i = 0; i < params_.size(); ++i) params_[i].requires_grad_(flags_[i]);
  }
  FrozenParameters(const FrozenParameters&) = delete;
  FrozenParameters& operator=(const FrozenParameters&) = delete;

 private:
  std::vector<torch::Tensor> params_;
  std::vector<bool> flags_;
};

void check_weight(double lambda, const char* name) {
  HCMSN_CHECK(std::isfinite(lambda) && lambda >= 0, "loss weight ", name,
              " must be finite and >= 0 (0 switches the term off), got ", lambda);
}

}  // namespace

torch::Tensor class_embeddings_of(const torch::Tensor& class_embeddings,
                                  const torch::Tensor& labels) {
  check_matrix(class_embeddings, "class embeddings", "class_embeddings_of");
  check_labels(labels, labels.defined() ? labels.size(0) : 0, class_embeddings.size(0),
               "class_embeddings_of");
  return class_embeddings.index_select(0, labels.to(class_embeddings.device()));
}

torch::Tensor classification_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
  check_matrix(logits, "logits", "classification_loss");
  check_labels(labels, logits.size(0), logits.size(1), "classification_loss");
  return F::cross_entropy(logits, labels.to(logits.device()));
}

torch::Tensor discriminator_loss(Discriminator& discriminator, const torch::Tensor& real,
                                 const torch::Tensor& fake) {
  check_matrix(real, "real", "discriminator_loss");
  check_matrix(fake, "fake", "discriminator_loss");
  const auto real_logits = discriminator->forward(real.detach());
  const auto fake_logits = discriminator->forward(fake.detach());
  return F::binary_cross_entropy_with_logits(real_logits, torch::ones_like(real_logits)) +
         F::binary_cross_entropy_with_logits(fake_logits, torch::zeros_like(fake_logits));
}

torch::Tensor adversarial_generator_loss(Discriminator& discriminator, const torch::Tensor& s) {
  check_matrix(s, "s", "adversarial_generator_loss");
  const FrozenParameters frozen(discriminator->parameters());
  const auto logits = discriminator->forward(s);
  return F::binary_cross_entropy_with_logits(logits, torch::ones_like(logits));
}

torch::Tensor alignment_loss(const torch::Tensor& s, const torch::Tensor& w_y) {
  check_matrix(s, "s", "alignment_loss");
  check_matrix(w_y, "w_y", "alignment_loss");
  HCMSN_CHECK(s.sizes() == w_y.sizes(), "alignment_loss: s ", s.sizes(), " and w_y ", w_y.sizes(),
              " differ; the semantic net's sem_dim must equal the class embeddings' dimension");
  return (1 - torch::cosine_similarity(s, w_y, /*dim=*/1, /*eps=*/1e-8)).mean();
}

torch::Tensor cross_modal_reconstruction_loss(ReconstructionNet& reconstruction,
                                              const torch::Tensor& s, const torch::Tensor& f,
                                              const torch::Tensor& labels,
                                              const torch::Tensor& modality) {
  const char* who = "cross_modal_reconstruction_loss";
  check_matrix(s, "s", who);
  check_matrix(f, "f", who);
  HCMSN_CHECK(s.size(0) == f.size(0), who, ": s and f must have the same rows, got ", s.sizes(),
              " and ", f.sizes());
  check_labels(labels, f.size(0), -1, who);
  check_modality(modality, f.size(0), who);
  if (f.size(0) == 0) return zero_like_loss(s);

  const auto [group, group_labels] = group_by_label(labels.to(f.device()));
  const int64_t groups = group_labels.size(0);
  const auto is_sketch = modality.to(f.device()) == kSketch;
  const auto target_f = f.detach();
  const auto [sketch_mean, sketch_count] = group_means(target_f, group, groups, is_sketch);
  const auto [photo_mean, photo_count] = group_means(target_f, group, groups, ~is_sketch);

  // Row i's partner: the class mean of the other modality.
  const auto target = torch::where(is_sketch.unsqueeze(1), photo_mean.index_select(0, group),
                                   sketch_mean.index_select(0, group));
  const auto partner_count = torch::where(is_sketch, photo_count.index_select(0, group),
                                          sketch_count.index_select(0, group));
  const auto rows = (partner_count > 0).nonzero().squeeze(1);
  if (rows.numel() == 0) return zero_like_loss(s);
  return F::mse_loss(reconstruction->forward(s.index_select(0, rows)),
                     target.index_select(0, rows));
}

torch::Tensor semantic_reconstruction_loss(ReconstructionNet& reconstruction,
                                           const torch::Tensor& f, const torch::Tensor& labels,
                                           const torch::Tensor& class_embeddings) {
  const char* who = "semantic_reconstruction_loss";
  check_matrix(f, "f", who);
  check_matrix(class_embeddings, "class embeddings", who);
  check_labels(labels, f.size(0), class_embeddings.size(0), who);
  if (f.size(0) == 0) return zero_like_loss(f);
  const auto [group, group_labels] = group_by_label(labels.to(f.device()));
  const auto [class_mean, count] =
      group_means(f.detach(), group, group_labels.size(0), torch::ones_like(group));
  const auto w = class_embeddings.index_select(0, group_labels.to(class_embeddings.device()));
  return F::mse_loss(reconstruction->forward(w), class_mean);
}

torch::Tensor reconstruction_loss(ReconstructionNet& reconstruction, const torch::Tensor& s,
                                  const torch::Tensor& f, const torch::Tensor& labels,
                                  const torch::Tensor& modality,
                                  const torch::Tensor& class_embeddings) {
  return cross_modal_reconstruction_loss(reconstruction, s, f, labels, modality) +
         semantic_reconstruction_loss(reconstruction, f, labels, class_embeddings);
}

torch::Tensor hyperbolic_triplet_loss(const torch::Tensor& h, const torch::Tensor& labels,
                                      const geometry::Curvature& c, double margin) {
  const char* who = "hyperbolic_triplet_loss";
  check_matrix(h, "h", who);
  check_labels(labels, h.size(0), -1, who);
  HCMSN_CHECK(std::isfinite(margin) && margin >= 0, who, ": margin must be >= 0, got ", margin);
  if (h.size(0) == 0) return zero_like_loss(h);

  const auto d = geometry::distance_matrix(h, h, c);  // (B, B)
  const auto y = labels.to(h.device());
  const auto same = y.unsqueeze(1) == y.unsqueeze(0);
  const auto not_self = torch::eye(h.size(0), y.options()) == 0;
  const auto positive = same & not_self;
  const auto negative = ~same;
  // Masked entries are replaced, not multiplied, so they pass no gradient; d ≥ 0, so 0 never
  // wins the max over a non-empty positive set, and +inf never wins the min over negatives.
  const auto hardest_positive = torch::where(positive, d, torch::zeros_like(d)).amax({1});
  const auto hardest_negative =
      torch::where(negative, d, torch::full_like(d, std::numeric_limits<double>::infinity()))
          .amin({1});
  const auto anchors = (positive.any(1) & negative.any(1)).nonzero().squeeze(1);
  if (anchors.numel() == 0) return zero_like_loss(h);
  return torch::relu(hardest_positive.index_select(0, anchors) -
                     hardest_negative.index_select(0, anchors) + margin)
      .mean();
}

LossTerms total_loss(HCMSNModelImpl& model, const HCMSNOutput& out, const torch::Tensor& labels,
                     const torch::Tensor& modality, const torch::Tensor& class_embeddings,
                     const LossOptions& options) {
  check_weight(options.lambda_cls(), "lambda_cls");
  check_weight(options.lambda_adv(), "lambda_adv");
  check_weight(options.lambda_align(), "lambda_align");
  check_weight(options.lambda_rec(), "lambda_rec");
  check_weight(options.lambda_triplet(), "lambda_triplet");
  check_weight(options.lambda_kd(), "lambda_kd");
  check_weight(options.lambda_bridge(), "lambda_bridge");
  HCMSN_CHECK(options.lambda_cls() > 0 || options.lambda_adv() > 0 || options.lambda_align() > 0 ||
                  options.lambda_rec() > 0 || options.lambda_triplet() > 0 ||
                  options.lambda_kd() > 0 || options.lambda_bridge() > 0,
              "every loss weight is 0: nothing to train; switch at least one term on");
  HCMSN_CHECK(out.f.defined() && out.s.defined() && out.h.defined() && out.logits.defined(),
              "total_loss: the model output is incomplete; pass the result of model->forward");
  const int64_t sem_dim = model.options().sem_dim();
  HCMSN_CHECK(class_embeddings.defined() && class_embeddings.dim() == 2 &&
                  class_embeddings.size(1) == sem_dim,
              "total_loss: class embeddings must be (num_classes, ", sem_dim,
              ") to match the model's sem_dim, got ",
              class_embeddings.defined() ? class_embeddings.sizes() : torch::IntArrayRef{});
  check_labels(labels, out.f.size(0), class_embeddings.size(0), "total_loss");
  const auto w = class_embeddings.to(out.s.options());

  LossTerms t;
  std::vector<torch::Tensor> weighted;
  const auto add = [&weighted](torch::Tensor& term, double lambda, auto&& compute) {
    if (lambda == 0) return;  // not computed: the ablation removes the term and its gradient
    term = compute();
    weighted.push_back(lambda * term);
  };
  add(t.cls, options.lambda_cls(), [&] { return classification_loss(out.logits, labels); });
  add(t.adv, options.lambda_adv(),
      [&] { return adversarial_generator_loss(model.discriminator(), out.s); });
  add(t.align, options.lambda_align(),
      [&] { return alignment_loss(out.s, class_embeddings_of(w, labels)); });
  add(t.rec, options.lambda_rec(), [&] {
    return reconstruction_loss(model.reconstruction_net(), out.s, out.f, labels, modality, w);
  });
  add(t.triplet, options.lambda_triplet(),
      [&] { return hyperbolic_triplet_loss(out.h, labels, model.curvature(), options.margin()); });
  const bool has_teacher = out.student_logits.defined() && out.bridge.defined();
  HCMSN_CHECK(has_teacher || (options.lambda_kd() == 0 && options.lambda_bridge() == 0),
              "total_loss: lambda_kd and lambda_bridge need a model with an installed teacher "
              "(train --teacher-concepts on a backbone's feature cache)");
  add(t.kd, options.lambda_kd(), [&] {
    return distillation_loss(out.student_logits, out.teacher_logits, options.kd_temperature());
  });
  add(t.bridge, options.lambda_bridge(), [&] {
    const auto photos = (modality == kPhoto).nonzero().view(-1);
    // A batch without photos has no bridge term; the zero keeps the graph and the scale.
    if (photos.numel() == 0) return out.s.sum() * 0;
    return alignment_loss(out.s.index_select(0, photos),
                          out.bridge.index_select(0, photos).to(out.s.dtype()));
  });
  t.total = weighted.front();
  for (size_t i = 1; i < weighted.size(); ++i) t.total = t.total + weighted[i];
  return t;
}

}  // namespace hcmsn::model
