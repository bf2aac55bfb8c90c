// Importance weights of validation classes, so that seen-class folds judge a choice as the
// reported classes would (issue 11).
//
// Validation folds hold seen classes out; the fusion weights and the curvature are chosen by the
// mean over their classes. That mean predicts the reported classes only when the two are drawn
// alike. Issue 11 measured that they are not: the fused embedding's semantic part (the ConSE
// bridge) and the distilled student lean on the backbone's ImageNet classifier, and the fold
// classes are nearer its 1,000 classes (median teacher similarity 0.81 on QuickDraw-Ext) than
// the split's unseen classes (0.59). If that is why the folds overrate the teacher-made parts,
// weighting the folds corrects it; on the real data it did not change the choice (README).
//
// The correction is importance-weighted cross-validation under covariate shift (Shimodaira 2000;
// Sugiyama, Krauledat & Müller, JMLR 2007), with one covariate per class: its teacher
// similarity t = the largest cosine between the class name's semantic vector and the teacher's
// concept vectors (the embeddings of its class names). A validation class c gets
// w(c) = p_target(t_c) / p_source(t_c), both densities Gaussian kernel estimates. The target is
// the split's unseen list: only the names, which zero-shot learning gives at training time
// (their semantic vectors are in every run); none of their sketches or photos is read.
//
// Contract: similarities are plain numbers (cosines in [-1, 1]); weights come back in the
// source's order, normalised to mean 1, each at most ImportanceOptions::max_weight.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace hcmsn::train {

struct ImportanceOptions {
  /// The kernels' standard deviation; 0: Silverman's rule of thumb, 1.06 σ n^(-1/5), with σ and
  /// n of the source and target pooled (one bandwidth for both densities, so their ratio does
  /// not carry a difference of smoothing).
  double bandwidth = 0;
  /// The largest weight (the mean is 1): a few source classes in a sparse region must not carry
  /// the whole estimate, the known variance problem of importance weighting.
  double max_weight = 5;
};

/// w_i = p_target(source_i) / p_source(source_i), Gaussian kernel density estimates, normalised
/// to mean 1 under the cap: w_i = min(max_weight, a · ratio_i) with a solved for mean 1.
/// Throws hcmsn::Error on an empty sample, a non-finite value, max_weight < 1 or a negative
/// bandwidth.
std::vector<double> density_ratio_weights(const std::vector<double>& source,
                                          const std::vector<double>& target,
                                          const ImportanceOptions& options = {});

/// The bandwidth density_ratio_weights uses when ImportanceOptions::bandwidth is 0 (at least
/// 1e-6, so identical values still give a density).
double silverman_bandwidth(const std::vector<double>& source, const std::vector<double>& target);

/// Each class's teacher similarity: semantics (M, D) and concepts (K, D), any float dtype →
/// float64 (M), the largest cosine of row m with a row of `concepts`. Throws hcmsn::Error on
/// empty or mismatched shapes or a zero row.
torch::Tensor teacher_similarity(const torch::Tensor& semantics, const torch::Tensor& concepts);

/// Weight per class of `validation`, matching its teacher similarity to `target`'s: the class
/// names index `class_names`, the rows of `semantics`. Throws hcmsn::Error for a class without
/// a semantic vector or an empty list.
std::map<std::string, double> match_teacher_similarity(const std::vector<std::string>& class_names,
                                                       const torch::Tensor& semantics,
                                                       const torch::Tensor& concepts,
                                                       const std::vector<std::string>& validation,
                                                       const std::vector<std::string>& target,
                                                       const ImportanceOptions& options = {});

}  // namespace hcmsn::train
