// Embeddings on the Poincaré ball drawn on the unit disk (report.html's unseen-class picture).
//
// The projection, (N, d) ball points → (N, 2) disk points:
//  * radius: r_i = √c‖h_i‖, the ball B_c (radius 1/√c) rescaled to the unit disk. Distances from
//    the origin are kept in units of the curvature radius: the unit-disk distance of the drawn
//    point, 2·artanh(r_i), equals √c·d_c(0, h_i). The boundary stays the boundary.
//  * direction: u_i = log0_c(h_i) (the tangent space at the origin, where directions are those
//    of h_i itself), projected onto its two principal axes: the top eigenvectors of Σ u_i u_iᵀ,
//    the second moment about the origin rather than about the mean, because the origin is the
//    base point of the tangent space and the centre of the disk. The drawn direction is that
//    of the projection (r_i, 0 when the projection vanishes). Each axis' sign is fixed so that
//    its largest-magnitude component is positive: the picture is deterministic. For points on a
//    2-D subspace through the origin, the angles between points are kept exactly.
//  Dimensions beyond the second are lost in the direction only; the radius is always exact.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hcmsn::report {

struct DiskPlotOptions {
  std::string title;
  int size = 480;  // pixels of the disk's square; the legend adds a column on the right; ≥ 160
  /// Draw at most this many points (0: all), a deterministic random subset (fixed seed); the
  /// projection itself always uses every point.
  int64_t max_points = 3000;
  uint64_t seed = 0;
  /// Geodesic rings at these distances from the origin in units of the curvature radius 1/√c,
  /// i.e. unit-disk distances, at disk radius tanh(s/2); labelled with the ball's own distance
  /// s/√c. Values must be > 0.
  std::vector<double> ring_distances = {1.0, 2.0, 4.0};
  /// Optional marker shape per point: 1 = photo (circle), 0 = sketch (triangle); nullptr: all
  /// circles. Must have N entries in {0, 1} when given. Not owned.
  const std::vector<int64_t>* modality = nullptr;
  double point_radius = 3.0;
};

/// (N, 2) float64 CPU disk coordinates of `h` (N, d), d ≥ 1, float32/float64 on any device, with
/// curvature c > 0 (see the header comment). Every norm is < 1. Throws hcmsn::Error on a bad
/// shape, a non-finite value, c not finite and > 0, or a point outside the ball (√c‖h‖ > 1 +
/// 1e-3: usually the wrong c); points on the boundary up to that slack are projected inside.
torch::Tensor disk_coordinates(const torch::Tensor& h, double curvature);

/// The disk plot as a standalone SVG element: unit circle, geodesic rings, one colour per class
/// (palette_color(label)), a legend with the class names of the labels present (and the marker
/// shapes when `modality` is set). labels: N values in [0, class_names.size()); class_names may
/// be empty, then labels are shown as numbers. N = 0 draws an empty disk.
std::string svg_poincare_disk(const torch::Tensor& h, const std::vector<int64_t>& labels,
                              const std::vector<std::string>& class_names, double curvature,
                              const DiskPlotOptions& options = {});

}  // namespace hcmsn::report
