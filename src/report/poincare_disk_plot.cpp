#include "hcmsn/report/poincare_disk_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "hcmsn/geometry/poincare_ball.h"
#include "hcmsn/report/svg_chart.h"
#include "hcmsn/util/check.h"

namespace hcmsn::report {
namespace {

// Float rounding of points that were projected to the boundary in float32 may put them a hair
// outside; anything beyond this is a caller error (typically the wrong curvature).
constexpr double kOutsideSlack = 1e-3;

// Top-2 principal axes about the origin of the rows of u (N, d), d >= 2, as (d, 2), with each
// axis' largest-magnitude component made positive.
torch::Tensor principal_axes(const torch::Tensor& u) {
  const torch::Tensor moment = u.t().mm(u);
  const torch::Tensor vectors = std::get<1>(at::linalg_eigh(moment, "L"));  // ascending
  const int64_t d = u.size(1);
  torch::Tensor axes = torch::stack({vectors.select(1, d - 1), vectors.select(1, d - 2)}, 1);
  for (int64_t k = 0; k < 2; ++k) {
    torch::Tensor column = axes.select(1, k);
    const int64_t at = column.abs().argmax().item<int64_t>();
    if (column[at].item<double>() < 0.0) column.neg_();
  }
  return axes;
}

// A deterministic permutation of 0..n-1 (own Fisher–Yates: std::shuffle differs between
// standard libraries, mt19937_64's output does not).
std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

std::string triangle(double x, double y, double r) {
  return fmt::format("<path d=\"M{} {}L{} {}L{} {}Z\"/>", svg_coord(x), svg_coord(y - 1.25 * r),
                     svg_coord(x + 1.15 * r), svg_coord(y + 0.75 * r), svg_coord(x - 1.15 * r),
                     svg_coord(y + 0.75 * r));
}

}  // namespace

torch::Tensor disk_coordinates(const torch::Tensor& h, double curvature) {
  HCMSN_CHECK(std::isfinite(curvature) && curvature > 0.0,
              "the disk plot needs a curvature c > 0 (the ball has curvature -c), got ", curvature,
              "; a Euclidean (c = 0) embedding has no disk picture");
  HCMSN_CHECK(h.defined() && h.dim() == 2 && h.size(1) >= 1,
              "the disk plot needs points of shape (N, d) with d >= 1, got ",
              h.defined() ? h.sizes() : torch::IntArrayRef{});
  HCMSN_CHECK(h.scalar_type() == torch::kFloat32 || h.scalar_type() == torch::kFloat64,
              "the disk plot needs float32 or float64 points, got ", h.scalar_type());
  const int64_t n = h.size(0);
  if (n == 0) return torch::zeros({0, 2}, torch::kFloat64);
  const torch::Tensor x = h.detach().to(torch::kCPU, torch::kFloat64).contiguous();

  const torch::Tensor finite_rows = torch::isfinite(x).all(1);
  if (!finite_rows.all().item<bool>()) {
    const int64_t row = (~finite_rows).nonzero()[0][0].item<int64_t>();
    HCMSN_CHECK(false, "point ", row, " of the disk plot has a non-finite coordinate");
  }
  const double sqrt_c = std::sqrt(curvature);
  torch::Tensor radius = x.norm(2, 1) * sqrt_c;
  const int64_t far = radius.argmax().item<int64_t>();
  const double far_r = radius[far].item<double>();
  HCMSN_CHECK(far_r <= 1.0 + kOutsideSlack, "point ", far,
              " lies outside the Poincaré ball: ", "sqrt(c)*|h| = ", far_r,
              " >= 1 with c = ", curvature, "; pass the curvature the embeddings were made with");
  radius = radius.clamp_max(1.0 - geometry::boundary_eps(torch::kFloat64));

  const torch::Tensor u = geometry::logmap0(x, curvature);
  torch::Tensor plane;
  if (u.size(1) == 1) {
    plane = torch::cat({u, torch::zeros_like(u)}, 1);
  } else {
    plane = u.mm(principal_axes(u));
  }
  // Directions of the projections; a point orthogonal to the plane (or the origin) is put on
  // the first axis, as its direction there is undefined.
  const torch::Tensor plane_norm = plane.norm(2, 1, /*keepdim=*/true);
  const torch::Tensor degenerate = plane_norm <= 1e-12 * u.norm(2, 1, true);
  torch::Tensor direction = plane / plane_norm.clamp_min(1e-300);
  const torch::Tensor first_axis = torch::tensor({1.0, 0.0}, torch::kFloat64).expand({n, 2});
  direction = torch::where(degenerate.expand({n, 2}), first_axis, direction);
  return direction * radius.unsqueeze(1);
}

std::string svg_poincare_disk(const torch::Tensor& h, const std::vector<int64_t>& labels,
                              const std::vector<std::string>& class_names, double curvature,
                              const DiskPlotOptions& options) {
  HCMSN_CHECK(options.size >= 160, "disk plot size must be >= 160 pixels, got ", options.size);
  HCMSN_CHECK(options.max_points >= 0, "max_points must be >= 0 (0: all), got ",
              options.max_points);
  HCMSN_CHECK(std::isfinite(options.point_radius) && options.point_radius > 0.0,
              "point_radius must be > 0, got ", options.point_radius);
  for (double s : options.ring_distances) {
    HCMSN_CHECK(std::isfinite(s) && s > 0.0, "ring distances must be finite and > 0, got ", s);
  }
  const torch::Tensor xy = disk_coordinates(h, curvature);
  const int64_t n = xy.size(0);
  HCMSN_CHECK(static_cast<int64_t>(labels.size()) == n, "the disk plot got ", n, " points but ",
              labels.size(), " labels; give one label per point");
  for (size_t i = 0; i < labels.size(); ++i) {
    HCMSN_CHECK(labels[i] >= 0 &&
                    (class_names.empty() || labels[i] < static_cast<int64_t>(class_names.size())),
                "label ", labels[i], " of point ", i, " is not a class index in [0, ",
                class_names.size(), ")");
  }
  const std::vector<int64_t>* modality = options.modality;
  if (modality != nullptr) {
    HCMSN_CHECK(static_cast<int64_t>(modality->size()) == n, "the disk plot got ", n,
                " points but ", modality->size(), " modality values");
    for (size_t i = 0; i < modality->size(); ++i) {
      HCMSN_CHECK((*modality)[i] == 0 || (*modality)[i] == 1, "modality of point ", i,
                  " must be 0 (sketch) or 1 (photo), got ", (*modality)[i]);
    }
  }
  auto class_name = [&](int64_t label) {
    return class_names.empty() ? std::to_string(label) : class_names[static_cast<size_t>(label)];
  };

  // Layout: title band, the disk's square, a legend column on the right.
  const std::set<int64_t> present(labels.begin(), labels.end());
  size_t name_chars = 22;  // fits "3000 of 10000 points shown"
  for (int64_t label : present) name_chars = std::max(name_chars, class_name(label).size());
  const double size = options.size;
  const double top = options.title.empty() ? 4.0 : 28.0;
  const double legend_x = size + 8.0;
  const double width = legend_x + 30.0 + kCharWidth * static_cast<double>(name_chars) + 10.0;
  const size_t legend_lines = present.size() + (modality != nullptr ? 3 : 0) + 2;
  const double height = std::max(top + size, top + 16.0 * static_cast<double>(legend_lines) + 8);
  const double cx = size / 2, cy = top + size / 2, big_r = size / 2 - 14.0;

  std::string out = svg_open(width, height, options.title, "Poincaré disk");
  out += fmt::format(
      "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"#f7f7f9\" stroke=\"#333333\" "
      "stroke-width=\"1.5\"/>\n",
      svg_coord(cx), svg_coord(cy), svg_coord(big_r));

  // Geodesic rings, labelled with the ball's own distance s/√c.
  out += "<g fill=\"none\" stroke=\"#b0b0b8\" stroke-dasharray=\"4 3\">\n";
  std::string ring_labels;
  for (double s : options.ring_distances) {
    const double rr = std::tanh(s / 2) * big_r;
    if (rr < 2.0 || rr > big_r - 1.0) continue;  // invisible or on top of the boundary
    out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\"/>\n", svg_coord(cx), svg_coord(cy),
                       svg_coord(rr));
    const double diag = rr / std::sqrt(2.0);
    ring_labels +=
        fmt::format("<text x=\"{}\" y=\"{}\">d={:.3g}</text>\n", svg_coord(cx + diag + 2),
                    svg_coord(cy - diag - 2), s / std::sqrt(curvature));
  }
  out += "</g>\n<g fill=\"#8a8a96\" font-size=\"10\">\n" + ring_labels + "</g>\n";
  out +=
      fmt::format("<path d=\"M{0} {2}H{1}M{3} {4}V{5}\" stroke=\"#8a8a96\" stroke-width=\"1\"/>\n",
                  svg_coord(cx - 4), svg_coord(cx + 4), svg_coord(cy), svg_coord(cx),
                  svg_coord(cy - 4), svg_coord(cy + 4));

  // Points, in a seeded random order so that no class is systematically drawn on top.
  const std::vector<int64_t> order = permutation(n, options.seed);
  const int64_t shown = options.max_points > 0 ? std::min(n, options.max_points) : n;
  const auto acc = xy.accessor<double, 2>();
  const double pr = options.point_radius;
  out += "<g class=\"points\" fill-opacity=\"0.8\" stroke=\"#ffffff\" stroke-width=\"0.5\">\n";
  for (int64_t k = 0; k < shown; ++k) {
    const int64_t i = order[static_cast<size_t>(k)];
    const double x = cx + acc[i][0] * big_r, y = cy - acc[i][1] * big_r;
    const std::string color = palette_color(static_cast<size_t>(labels[static_cast<size_t>(i)]));
    const bool sketch = modality != nullptr && (*modality)[static_cast<size_t>(i)] == 0;
    out += fmt::format("<g fill=\"{}\">", color);
    out += sketch ? triangle(x, y, pr)
                  : fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{}\"/>", svg_coord(x),
                                svg_coord(y), svg_coord(pr));
    out += "</g>\n";
  }
  out += "</g>\n";

  // Legend.
  double ly = top + 14.0;
  out += "<g class=\"legend\" fill=\"#333333\">\n";
  for (int64_t label : present) {
    out += fmt::format(
        "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
        svg_coord(legend_x + 6), svg_coord(ly - 4), palette_color(static_cast<size_t>(label)),
        svg_coord(legend_x + 16), svg_coord(ly), xml_escape(class_name(label)));
    ly += 16.0;
  }
  if (modality != nullptr) {
    ly += 8.0;
    out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"#ffffff\" stroke=\"#333333\"/>",
                       svg_coord(legend_x + 6), svg_coord(ly - 4));
    out += fmt::format("<text x=\"{}\" y=\"{}\">photo</text>\n", svg_coord(legend_x + 16),
                       svg_coord(ly));
    ly += 16.0;
    // Hollow markers: a filled grey one would read as a class colour.
    out += "<g fill=\"#ffffff\" stroke=\"#333333\">" + triangle(legend_x + 6, ly - 4, 4.0) + "</g>";
    out += fmt::format("<text x=\"{}\" y=\"{}\">sketch</text>\n", svg_coord(legend_x + 16),
                       svg_coord(ly));
    ly += 16.0;
  }
  if (shown < n) {
    out += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#888888\">{} of {} points shown</text>\n",
                       svg_coord(legend_x), svg_coord(ly + 8), shown, n);
  } else if (n == 0) {
    out += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"#888888\">no points</text>\n",
                       svg_coord(legend_x), svg_coord(ly + 8));
  }
  out += "</g>\n</svg>\n";
  return out;
}

}  // namespace hcmsn::report
