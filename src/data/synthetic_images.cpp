#include "hcmsn/data/synthetic_images.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/progress.h"

namespace hcmsn::data {
namespace {

namespace fs = std::filesystem;

constexpr double kPi = 3.14159265358979323846;
constexpr int kShift = 4;  // sub-pixel bits of OpenCV drawing coordinates
constexpr double kShiftScale = 1 << kShift;

// Our own generator (splitmix64) rather than <random> distributions, whose output differs
// between standard libraries, so that a seed names the same dataset wherever hcmsn is built.
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t hash_name(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(mix64(seed)) {}
  uint64_t bits() { return mix64(state_ += 0x9e3779b97f4a7c15ULL); }
  double uniform() { return static_cast<double>(bits() >> 11) * 0x1.0p-53; }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  int below(int n) { return std::min(n - 1, static_cast<int>(uniform() * n)); }
  bool chance(double p) { return uniform() < p; }

 private:
  uint64_t state_;
};

using Poly = std::vector<cv::Point2d>;

Poly regular_polygon(int n, double radius, double start_deg) {
  Poly p;
  for (int i = 0; i < n; ++i) {
    const double a = (start_deg + 360.0 * i / n) * kPi / 180.0;
    p.emplace_back(radius * std::cos(a), radius * std::sin(a));
  }
  return p;
}

Poly rectangle(double half_w, double half_h) {
  return {{-half_w, -half_h}, {half_w, -half_h}, {half_w, half_h}, {-half_w, half_h}};
}

// Object geometry in local units (the object's radius is 1; y points down, as in images).
// A family outline is a circle or a polygon.
struct Outline {
  bool round = false;
  double radius = 0;  // when round
  Poly vertices;      // otherwise
};

Outline family_outline(int family) {
  switch (family) {
    case 0:
      return {true, 0.92, {}};
    case 1:
      return {false, 0, regular_polygon(3, 1.05, -90)};
    case 2:
      return {false, 0, rectangle(0.78, 0.78)};
    case 3:
      return {false, 0, regular_polygon(6, 0.95, 0)};
    case 4: {
      Poly star;
      for (int i = 0; i < 10; ++i) {
        const double a = (-90.0 + 36.0 * i) * kPi / 180.0;
        const double r = i % 2 == 0 ? 1.05 : 0.55;
        star.emplace_back(r * std::cos(a), r * std::sin(a));
      }
      return {false, 0, star};
    }
    default: {
      const double w = 0.4, l = 0.98;
      return {false,
              0,
              {{-w, -l},
               {w, -l},
               {w, -w},
               {l, -w},
               {l, w},
               {w, w},
               {w, l},
               {-w, l},
               {-w, w},
               {-l, w},
               {-l, -w},
               {-w, -w}}};
    }
  }
}

// Inner marks as drawing primitives shared by both modalities: closed polygons (filled in
// photos, outlined in sketches), circles (ring: stroked in photos; dots: filled) and segments.
struct Circle {
  cv::Point2d centre;
  double radius;
};
struct Mark {
  std::vector<Poly> polygons;
  std::vector<Circle> filled_circles;
  std::vector<Circle> rings;
  std::vector<std::pair<cv::Point2d, cv::Point2d>> segments;
};

constexpr double kRingRadius = 0.38, kRingWidth = 0.12, kDotRadius = 0.14, kXWidth = 0.11;

Mark inner_mark(int mark) {
  Mark m;
  switch (mark) {
    case 1:
      m.rings.push_back({{0, 0}, kRingRadius});
      break;
    case 2:
      m.polygons.push_back(rectangle(0.52, 0.12));
      break;
    case 3:
      m.filled_circles.push_back({{-0.3, 0}, kDotRadius});
      m.filled_circles.push_back({{0.3, 0}, kDotRadius});
      break;
    case 4:
      m.polygons.push_back(regular_polygon(3, 0.42, 90));  // points down, unlike the family
      break;
    case 5:
      m.segments.push_back({{-0.26, -0.26}, {0.26, 0.26}});
      m.segments.push_back({{0.26, -0.26}, {-0.26, 0.26}});
      break;
    default:
      break;
  }
  return m;
}

Poly circle_poly(const Circle& c, int n = 48) {
  Poly p = regular_polygon(n, c.radius, 0);
  for (auto& q : p) q += c.centre;
  return p;
}

// Where the object sits on a canvas of `canvas` pixels: rotation ±30°, scale 0.6–1.0 of the
// largest radius that fits, a little anisotropy, and a translation that keeps it in frame.
struct Pose {
  double cx, cy, radius, cos_a, sin_a, sx, sy;

  cv::Point2d apply(const cv::Point2d& p) const {
    const double x = p.x * sx, y = p.y * sy;
    return {cx + radius * (cos_a * x - sin_a * y), cy + radius * (sin_a * x + cos_a * y)};
  }
};

Pose draw_pose(Rng& rng, double canvas) {
  Pose p{};
  const double angle = rng.uniform(-30.0, 30.0) * kPi / 180.0;
  p.cos_a = std::cos(angle);
  p.sin_a = std::sin(angle);
  p.radius = rng.uniform(0.6, 1.0) * 0.40 * canvas;
  p.sx = rng.uniform(0.9, 1.1);
  p.sy = rng.uniform(0.9, 1.1);
  // The square's corners reach 1.1 × 1.1 local units from the centre.
  const double reach = 1.1 * 1.1 * p.radius;
  const double slack = std::max(0.0, 0.5 * canvas - reach - 0.02 * canvas);
  p.cx = 0.5 * canvas + rng.uniform(-slack, slack);
  p.cy = 0.5 * canvas + rng.uniform(-slack, slack);
  return p;
}

std::vector<cv::Point> to_pixels(const Poly& local, const Pose& pose) {
  std::vector<cv::Point> out;
  out.reserve(local.size());
  for (const auto& q : local) {
    const cv::Point2d p = pose.apply(q);
    out.emplace_back(static_cast<int>(std::lround(p.x * kShiftScale)),
                     static_cast<int>(std::lround(p.y * kShiftScale)));
  }
  return out;
}

void fill(cv::Mat& mask, const Poly& local, const Pose& pose) {
  const std::vector<std::vector<cv::Point>> polys{to_pixels(local, pose)};
  cv::fillPoly(mask, polys, cv::Scalar(255), cv::LINE_AA, kShift);
}

void stroke(cv::Mat& img, const Poly& local, const Pose& pose, bool closed, const cv::Scalar& c,
            int thickness) {
  const std::vector<std::vector<cv::Point>> polys{to_pixels(local, pose)};
  cv::polylines(img, polys, closed, c, std::max(1, thickness), cv::LINE_AA, kShift);
}

// Rendering happens on a supersampled canvas, then INTER_AREA shrinks it: smooth edges at 32 px.
int supersampling(int64_t size) {
  return std::max<int>(1, static_cast<int>((128 + size - 1) / size));
}

void check_render_args(const SyntheticClass& cls, int64_t size) {
  const auto families = static_cast<int>(synthetic_family_names().size());
  const auto marks = static_cast<int>(synthetic_mark_names().size());
  HCMSN_CHECK(cls.family >= 0 && cls.family < families && cls.mark >= 0 && cls.mark < marks,
              "synthetic class '", cls.name, "' has family ", cls.family, " and mark ", cls.mark,
              "; use a class from synthetic_classes()");
  HCMSN_CHECK(size >= 16 && size <= 4096, "synthetic image size must be in [16, 4096], got ", size);
}

// ---- photos ---------------------------------------------------------------------------------

cv::Vec3f hsv_colour(double h, double s, double v) {
  // h in [0, 1); returns BGR in [0, 1].
  const double hh = std::fmod(h, 1.0) * 6.0;
  const int i = static_cast<int>(hh);
  const double f = hh - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r = v, g = t, b = p;
  switch (i % 6) {
    case 1:
      r = q, g = v, b = p;
      break;
    case 2:
      r = p, g = v, b = t;
      break;
    case 3:
      r = p, g = q, b = v;
      break;
    case 4:
      r = t, g = p, b = v;
      break;
    case 5:
      r = v, g = p, b = q;
      break;
    default:
      break;
  }
  return {static_cast<float>(b), static_cast<float>(g), static_cast<float>(r)};
}

cv::Vec3f random_colour(Rng& rng) {
  return hsv_colour(rng.uniform(), rng.uniform(0.0, 1.0), rng.uniform(0.1, 1.0));
}

float luminance(const cv::Vec3f& c) {
  return 0.114f * c[0] + 0.587f * c[1] + 0.299f * c[2];
}

// Smooth random field in [0, 1]: a coarse random grid upsampled bicubically.
cv::Mat smooth_noise(Rng& rng, int canvas, int channels, int cells) {
  cv::Mat coarse(cells, cells, CV_32FC(channels));
  auto* data = coarse.ptr<float>();
  for (int i = 0; i < cells * cells * channels; ++i) data[i] = static_cast<float>(rng.uniform());
  cv::Mat out;
  cv::resize(coarse, out, cv::Size(canvas, canvas), 0, 0, cv::INTER_CUBIC);
  return out;
}

// Linear ramp along a random direction: −1 at one edge of the canvas, +1 at the other.
cv::Mat ramp(Rng& rng, int canvas) {
  const double a = rng.uniform(0, 2 * kPi), ca = std::cos(a), sa = std::sin(a);
  cv::Mat out(canvas, canvas, CV_32FC1);
  const double half = 0.5 * canvas;
  for (int y = 0; y < canvas; ++y) {
    auto* row = out.ptr<float>(y);
    for (int x = 0; x < canvas; ++x)
      row[x] = static_cast<float>(((x - half) * ca + (y - half) * sa) / half * 0.7071);
  }
  return out;
}

cv::Mat blend(const cv::Vec3f& a, const cv::Vec3f& b, const cv::Mat& t01) {
  cv::Mat t3;
  cv::merge(std::vector<cv::Mat>{t01, t01, t01}, t3);
  cv::Mat out = cv::Mat(t01.size(), CV_32FC3, cv::Scalar(a[0], a[1], a[2]));
  cv::Mat diff(t01.size(), CV_32FC3, cv::Scalar(b[0] - a[0], b[1] - a[1], b[2] - a[2]));
  return out + diff.mul(t3);
}

cv::Mat background(Rng& rng, int canvas) {
  const int kind = rng.below(4);
  const cv::Vec3f a = random_colour(rng), b = random_colour(rng);
  cv::Mat bg;
  if (kind == 0) {
    bg = cv::Mat(canvas, canvas, CV_32FC3, cv::Scalar(a[0], a[1], a[2]));
  } else if (kind == 1 || kind == 3) {
    cv::Mat t = ramp(rng, canvas) * 0.5 + 0.5;
    bg = blend(a, b, t);
  } else {
    // Blotchy colour noise, pulled towards one colour so that it is not a rainbow.
    const cv::Mat noise = smooth_noise(rng, canvas, 3, 3 + rng.below(6));
    const double w = rng.uniform(0.3, 0.8);
    bg = noise * w + cv::Scalar(a[0], a[1], a[2]) * (1 - w);
  }
  if (kind == 3) {  // clutter: a few translucent blobs and lines
    const int blobs = 3 + rng.below(5);
    for (int i = 0; i < blobs; ++i) {
      cv::Mat layer = bg.clone();
      const cv::Vec3f c = random_colour(rng);
      const cv::Scalar col(c[0], c[1], c[2]);
      const cv::Point centre(rng.below(canvas), rng.below(canvas));
      const int r = static_cast<int>(canvas * rng.uniform(0.04, 0.16));
      switch (rng.below(3)) {
        case 0:
          cv::ellipse(layer, centre, cv::Size(r, static_cast<int>(r * rng.uniform(0.4, 1.0))),
                      rng.uniform(0, 180), 0, 360, col, cv::FILLED, cv::LINE_AA);
          break;
        case 1:
          cv::rectangle(layer, centre, centre + cv::Point(r, r / 2 + 1), col, cv::FILLED);
          break;
        default:
          cv::line(layer, centre, cv::Point(rng.below(canvas), rng.below(canvas)), col,
                   std::max(1, canvas / 60), cv::LINE_AA);
      }
      const double alpha = rng.uniform(0.4, 0.9);
      cv::addWeighted(layer, alpha, bg, 1 - alpha, 0, bg);
    }
  }
  return bg;
}

// The object's surface: its colour with a texture (stripes, checker or blotches) and a
// lighting ramp.
cv::Mat surface(Rng& rng, int canvas, const cv::Vec3f& colour, const cv::Vec3f& second) {
  cv::Mat t;
  const int kind = rng.below(4);
  if (kind == 0) {
    t = cv::Mat::zeros(canvas, canvas, CV_32FC1);
  } else if (kind == 1 || kind == 2) {
    const double a = rng.uniform(0, kPi), ca = std::cos(a), sa = std::sin(a);
    const double period = canvas * rng.uniform(0.05, 0.12), phase = rng.uniform(0, 2 * kPi);
    // sin(p + q) = sin p cos q + cos p sin q: per-row and per-column tables, no per-pixel sin.
    const double k = 2 * kPi / period;
    std::vector<double> sx_u(canvas), cx_u(canvas), sy_u(canvas), cy_u(canvas);
    std::vector<double> sx_v(canvas), cx_v(canvas), sy_v(canvas), cy_v(canvas);
    for (int i = 0; i < canvas; ++i) {
      sx_u[i] = std::sin(k * i * ca + phase), cx_u[i] = std::cos(k * i * ca + phase);
      sy_u[i] = std::sin(k * i * sa), cy_u[i] = std::cos(k * i * sa);
      sx_v[i] = std::sin(-k * i * sa + phase), cx_v[i] = std::cos(-k * i * sa + phase);
      sy_v[i] = std::sin(k * i * ca), cy_v[i] = std::cos(k * i * ca);
    }
    t = cv::Mat(canvas, canvas, CV_32FC1);
    for (int y = 0; y < canvas; ++y) {
      auto* row = t.ptr<float>(y);
      for (int x = 0; x < canvas; ++x) {
        const double u = sx_u[x] * cy_u[y] + cx_u[x] * sy_u[y];
        const double v = sx_v[x] * cy_v[y] + cx_v[x] * sy_v[y];
        row[x] = static_cast<float>(kind == 1 ? 0.5 + 0.5 * u : (u * v > 0 ? 1.0 : 0.0));
      }
    }
  } else {
    t = smooth_noise(rng, canvas, 1, 6 + rng.below(8));
  }
  t *= rng.uniform(0.25, 0.6);  // texture strength: the silhouette must stay the main cue
  cv::Mat surf = blend(colour, second, t);
  cv::Mat light = ramp(rng, canvas) * rng.uniform(0.0, 0.3) + 1.0;
  cv::Mat light3;
  cv::merge(std::vector<cv::Mat>{light, light, light}, light3);
  return surf.mul(light3);
}

// dst = dst·(1 − α) + src·α with α = mask/255.
void composite(cv::Mat& dst, const cv::Mat& src, const cv::Mat& mask8) {
  cv::Mat a;
  mask8.convertTo(a, CV_32FC1, 1.0 / 255.0);
  cv::Mat a3;
  cv::merge(std::vector<cv::Mat>{a, a, a}, a3);
  dst = dst.mul(cv::Scalar::all(1.0) - a3) + src.mul(a3);
}

void draw_mark_mask(cv::Mat& mask, const Mark& m, const Pose& pose) {
  for (const auto& p : m.polygons) fill(mask, p, pose);
  for (const auto& c : m.filled_circles) fill(mask, circle_poly(c), pose);
  const int ring_px = static_cast<int>(std::lround(kRingWidth * pose.radius));
  for (const auto& c : m.rings) stroke(mask, circle_poly(c), pose, true, cv::Scalar(255), ring_px);
  const int x_px = static_cast<int>(std::lround(kXWidth * pose.radius));
  for (const auto& s : m.segments)
    stroke(mask, {s.first, s.second}, pose, false, cv::Scalar(255), x_px);
}

void draw_outline_mask(cv::Mat& mask, const Outline& o, const Pose& pose) {
  fill(mask, o.round ? circle_poly({{0, 0}, o.radius}, 96) : o.vertices, pose);
}

// ---- sketches -------------------------------------------------------------------------------

// A hand-drawn straight stroke from a to b (local units): overshoot at both ends, a slow
// sideways wobble and small jitter. `scale` is the size of the primitive being drawn.
Poly wobbly_segment(Rng& rng, cv::Point2d a, cv::Point2d b, double scale) {
  const cv::Point2d d = b - a;
  const double len = std::hypot(d.x, d.y);
  if (len <= 0) return {a, b};
  const cv::Point2d u = d / len, n(-u.y, u.x);
  const double start = -rng.uniform(0.0, 0.08) * len, end = len * (1 + rng.uniform(0.0, 0.1));
  const double amp = rng.uniform(0.0, 0.04) * std::max(len, scale);
  const double waves = rng.uniform(0.5, 1.5), phase = rng.uniform(0, 2 * kPi);
  const int steps = std::max(6, static_cast<int>(len / 0.08));
  Poly p;
  for (int i = 0; i <= steps; ++i) {
    const double t = static_cast<double>(i) / steps, s = start + (end - start) * t;
    const double off = amp * std::sin(kPi * waves * t * 2 + phase) * std::sin(kPi * t) +
                       rng.uniform(-0.006, 0.006);
    p.push_back(a + u * s + n * off);
  }
  return p;
}

// A hand-drawn loop: starts anywhere, overlaps its start a little, radius wobbles and drifts.
Poly wobbly_circle(Rng& rng, const Circle& c) {
  const double a0 = rng.uniform(0, 2 * kPi), sweep = 2 * kPi + rng.uniform(0.1, 0.6);
  const double e1 = rng.uniform(0, 0.05), e2 = rng.uniform(0, 0.03), drift = rng.uniform(-.1, .1);
  const double p1 = rng.uniform(0, 2 * kPi), p2 = rng.uniform(0, 2 * kPi);
  const int steps = std::max(24, static_cast<int>(c.radius * 2 * kPi / 0.06));
  Poly p;
  for (int i = 0; i <= steps; ++i) {
    const double t = static_cast<double>(i) / steps, a = a0 + sweep * t;
    const double r = c.radius * (1 + e1 * std::sin(a + p1) + e2 * std::sin(2 * a + p2) + drift * t +
                                 rng.uniform(-0.01, 0.01));
    p.emplace_back(c.centre.x + r * std::cos(a), c.centre.y + r * std::sin(a));
  }
  return p;
}

// Strokes of a closed polygon: one per edge, from jittered vertices, so corners cross or gap.
void polygon_strokes(Rng& rng, const Poly& poly, std::vector<Poly>& out) {
  double scale = 0;
  for (const auto& q : poly) scale = std::max(scale, std::hypot(q.x, q.y));
  Poly v = poly;
  for (auto& q : v) q += cv::Point2d(rng.uniform(-1, 1), rng.uniform(-1, 1)) * (0.03 * scale);
  for (size_t i = 0; i < v.size(); ++i)
    out.push_back(wobbly_segment(rng, v[i], v[(i + 1) % v.size()], scale));
}

}  // namespace

// ---- classes --------------------------------------------------------------------------------

const std::vector<std::string>& synthetic_family_names() {
  static const std::vector<std::string> names{"circle",  "triangle", "square",
                                              "hexagon", "star",     "cross"};
  return names;
}

const std::vector<std::string>& synthetic_mark_names() {
  static const std::vector<std::string> names{"plain", "ring", "bar", "dots", "tri", "xmark"};
  return names;
}

int64_t synthetic_attribute_dim() {
  return static_cast<int64_t>(synthetic_family_names().size() + synthetic_mark_names().size()) + 3;
}

std::vector<SyntheticClass> synthetic_classes() {
  const auto& families = synthetic_family_names();
  const auto& marks = synthetic_mark_names();
  const int nf = static_cast<int>(families.size()), nm = static_cast<int>(marks.size());
  // Corners of the outline (the circle has none) and whether it is convex.
  const float corners[] = {0, 3, 4, 6, 10, 12};
  const float convex[] = {1, 1, 1, 1, 0, 0};
  std::vector<SyntheticClass> out;
  for (int f = 0; f < nf; ++f) {
    for (int m = 0; m < nm; ++m) {
      SyntheticClass c;
      c.name = families[f] + "_" + marks[m];
      c.parent = families[f];
      c.family = f;
      c.mark = m;
      c.attributes.assign(static_cast<size_t>(synthetic_attribute_dim()), 0.0f);
      c.attributes[f] = 1;
      c.attributes[nf + m] = 1;
      c.attributes[nf + nm] = corners[f] / 12.0f;
      c.attributes[nf + nm + 1] = convex[f];
      c.attributes[nf + nm + 2] = m == 0 ? 0.0f : 1.0f;
      out.push_back(std::move(c));
    }
  }
  return out;
}

std::vector<std::string> synthetic_unseen_classes() {
  const int n = static_cast<int>(synthetic_mark_names().size());
  std::vector<std::string> out;
  for (const auto& c : synthetic_classes()) {
    const bool diagonal = c.mark == c.family;
    const bool shifted = c.family < 4 && c.mark == (c.family + 3) % n;
    if (diagonal || shifted) out.push_back(c.name);
  }
  return out;
}

const SyntheticClass& synthetic_class(const std::string& name) {
  static const std::vector<SyntheticClass> classes = synthetic_classes();
  for (const auto& c : classes)
    if (c.name == name) return c;
  std::string valid;
  for (const auto& c : classes) valid += (valid.empty() ? "" : ", ") + c.name;
  HCMSN_CHECK(false, "unknown synthetic class '", name, "'; valid names: ", valid);
  return classes.front();  // unreachable
}

// ---- rendering ------------------------------------------------------------------------------

cv::Mat render_photo(const SyntheticClass& cls, uint64_t seed, int64_t size) {
  check_render_args(cls, size);
  Rng rng(hash_name(cls.name) ^ mix64(seed) ^ 0x50686f746fULL);
  const int canvas = static_cast<int>(size) * supersampling(size);

  cv::Mat img = background(rng, canvas);
  cv::Scalar bg_mean = cv::mean(img);
  const cv::Vec3f bg(static_cast<float>(bg_mean[0]), static_cast<float>(bg_mean[1]),
                     static_cast<float>(bg_mean[2]));
  // The object must stand out from the background: redraw its colour until it differs enough.
  cv::Vec3f colour;
  for (int tries = 0; tries < 30; ++tries) {
    colour = hsv_colour(rng.uniform(), rng.uniform(0.35, 1.0), rng.uniform(0.3, 1.0));
    if (cv::norm(colour - bg) > 0.45) break;
  }
  const cv::Vec3f second =
      colour * static_cast<float>(rng.uniform(0.55, 0.85)) +
      hsv_colour(rng.uniform(), rng.uniform(0.2, 1.0), 1.0) * static_cast<float>(0.2);
  const Pose pose = draw_pose(rng, canvas);

  cv::Mat object_mask = cv::Mat::zeros(canvas, canvas, CV_8UC1);
  draw_outline_mask(object_mask, family_outline(cls.family), pose);
  if (rng.chance(0.5)) {  // soft drop shadow
    cv::Mat shadow;
    const double dx = rng.uniform(-0.06, 0.06) * canvas, dy = rng.uniform(0.0, 0.08) * canvas;
    const cv::Mat shift = (cv::Mat_<double>(2, 3) << 1, 0, dx, 0, 1, dy);
    cv::warpAffine(object_mask, shadow, shift, object_mask.size());
    cv::GaussianBlur(shadow, shadow, cv::Size(0, 0), 0.02 * canvas);
    shadow *= rng.uniform(0.3, 0.6);
    composite(img, cv::Mat::zeros(canvas, canvas, CV_32FC3), shadow);
  }
  composite(img, surface(rng, canvas, colour, second), object_mask);

  const Mark mark = inner_mark(cls.mark);
  const bool light_object = luminance(colour) > 0.45f;
  const cv::Vec3f mark_colour =
      hsv_colour(rng.uniform(), rng.uniform(0.0, 0.6),
                 light_object ? rng.uniform(0.02, 0.22) : rng.uniform(0.85, 1.0));
  cv::Mat mark_mask = cv::Mat::zeros(canvas, canvas, CV_8UC1);
  draw_mark_mask(mark_mask, mark, pose);
  composite(
      img,
      cv::Mat(canvas, canvas, CV_32FC3, cv::Scalar(mark_colour[0], mark_colour[1], mark_colour[2])),
      mark_mask);

  img = img * rng.uniform(0.8, 1.15) + cv::Scalar::all(rng.uniform(-0.08, 0.08));
  cv::Mat small;
  cv::resize(img, small, cv::Size(static_cast<int>(size), static_cast<int>(size)), 0, 0,
             cv::INTER_AREA);
  if (rng.chance(0.3)) cv::GaussianBlur(small, small, cv::Size(0, 0), rng.uniform(0.4, 0.8));
  cv::Mat noise(small.size(), CV_32FC3);
  cv::RNG cv_rng(rng.bits());
  cv_rng.fill(noise, cv::RNG::NORMAL, 0.0, rng.uniform(0.0, 0.035));
  small += noise;
  cv::Mat out;
  small.convertTo(out, CV_8UC3, 255.0);  // saturates to [0, 255]
  return out;
}

cv::Mat render_sketch(const SyntheticClass& cls, uint64_t seed, int64_t size) {
  check_render_args(cls, size);
  Rng rng(hash_name(cls.name) ^ mix64(seed) ^ 0x536b65746368ULL);
  const int ss = supersampling(size);
  const int canvas = static_cast<int>(size) * ss;
  const Pose pose = draw_pose(rng, canvas);

  std::vector<Poly> strokes;
  const Outline outline = family_outline(cls.family);
  if (outline.round)
    strokes.push_back(wobbly_circle(rng, {{0, 0}, outline.radius}));
  else
    polygon_strokes(rng, outline.vertices, strokes);
  const size_t outline_strokes = strokes.size();
  const Mark mark = inner_mark(cls.mark);
  for (const auto& p : mark.polygons) polygon_strokes(rng, p, strokes);
  for (const auto& c : mark.filled_circles) strokes.push_back(wobbly_circle(rng, c));
  for (const auto& c : mark.rings) strokes.push_back(wobbly_circle(rng, c));
  for (const auto& s : mark.segments)
    strokes.push_back(wobbly_segment(rng, s.first, s.second, 0.5));

  // Incomplete drawings: a gap in one outline stroke.
  if (rng.chance(0.3)) {
    const size_t which = static_cast<size_t>(rng.below(static_cast<int>(outline_strokes)));
    Poly& s = strokes[which];
    const auto n = static_cast<int>(s.size());
    const int gap = std::max(1, static_cast<int>(n * rng.uniform(0.1, 0.25)));
    const int at = 1 + rng.below(std::max(1, n - gap - 1));
    Poly tail(s.begin() + std::min(n, at + gap), s.end());
    s.resize(static_cast<size_t>(at));
    if (tail.size() >= 2) strokes.push_back(std::move(tail));
  }

  // 1–3 px at 64 px, scaled with the image; a pencil shade from black to dark grey.
  const double width_px = rng.uniform(1.0, 3.0) * static_cast<double>(size) / 64.0;
  const int thickness = std::max(1, static_cast<int>(std::lround(width_px * ss)));
  const double ink = rng.uniform(0.0, 70.0);
  cv::Mat img(canvas, canvas, CV_8UC1, cv::Scalar(255));
  for (const auto& s : strokes)
    if (s.size() >= 2) stroke(img, s, pose, false, cv::Scalar(ink), thickness);

  cv::Mat small, out;
  cv::resize(img, small, cv::Size(static_cast<int>(size), static_cast<int>(size)), 0, 0,
             cv::INTER_AREA);
  cv::cvtColor(small, out, cv::COLOR_GRAY2BGR);
  return out;
}

// ---- dataset --------------------------------------------------------------------------------

uint64_t synthetic_image_seed(uint64_t dataset_seed, const std::string& class_name,
                              int64_t modality, int64_t index) {
  uint64_t h = mix64(dataset_seed ^ 0x48434d534eULL);
  h = mix64(h ^ hash_name(class_name));
  h = mix64(h ^ static_cast<uint64_t>(modality));
  return mix64(h ^ static_cast<uint64_t>(index));
}

SyntheticDatasetSummary write_synthetic_dataset(const std::string& root,
                                                const SyntheticImageOptions& options,
                                                bool show_progress) {
  HCMSN_CHECK(!root.empty(), "synthetic dataset: the output folder name is empty");
  HCMSN_CHECK(options.image_size >= 16 && options.image_size <= 4096,
              "synthetic dataset: image_size must be in [16, 4096], got ", options.image_size);
  HCMSN_CHECK(options.photos_per_class >= 1 && options.sketches_per_class >= 1,
              "synthetic dataset: photos_per_class and sketches_per_class must be >= 1, got ",
              options.photos_per_class, " and ", options.sketches_per_class);
  HCMSN_CHECK(options.photos_per_class <= 1000000 && options.sketches_per_class <= 1000000,
              "synthetic dataset: at most 1000000 images per class and modality");

  const auto classes = synthetic_classes();
  const fs::path base(root);
  SyntheticDatasetSummary summary;
  summary.root = root;
  summary.photo_dir = (base / "photo").string();
  summary.sketch_dir = (base / "sketch").string();
  summary.classes_file = (base / "classes.txt").string();
  summary.semantics_file = (base / "semantics.npy").string();
  summary.unseen_file = (base / "unseen.txt").string();
  summary.hierarchy_file = (base / "hierarchy.txt").string();

  auto file_name = [](int64_t index, int64_t count) {
    const size_t width = std::max<size_t>(4, std::to_string(count - 1).size());
    std::string digits = std::to_string(index);
    if (digits.size() < width) digits.insert(0, width - digits.size(), '0');
    return digits + ".png";
  };

  const int64_t counts[2] = {options.sketches_per_class, options.photos_per_class};
  const fs::path dirs[2] = {summary.sketch_dir, summary.photo_dir};
  for (int mod = 0; mod < 2; ++mod) {
    const int64_t count = counts[mod];
    for (const auto& c : classes) {
      const fs::path dir = dirs[mod] / c.name;
      std::error_code ec;
      fs::create_directories(dir, ec);
      HCMSN_CHECK(!ec && fs::is_directory(dir), "cannot create folder '", dir.string(),
                  "': ", ec.message());
      // Stale images of an earlier, larger generation would silently join the dataset.
      for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string stem = entry.path().stem().string();
        if (entry.path().extension() != ".png" || stem.empty() || stem.size() > 12 ||
            !std::all_of(stem.begin(), stem.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
          continue;
        const int64_t index = std::stoll(stem);
        if (index >= count || entry.path().filename() != file_name(index, count))
          fs::remove(entry.path(), ec);
      }
    }
  }

  struct Job {
    const SyntheticClass* cls;
    int64_t modality, index;
  };
  std::vector<Job> jobs;
  for (int mod = 0; mod < 2; ++mod)
    for (const auto& c : classes)
      for (int64_t i = 0; i < counts[mod]; ++i) jobs.push_back({&c, mod, i});

  util::Progress progress(static_cast<int64_t>(jobs.size()),
                          {"rendering synthetic images", "images", show_progress});
  std::mutex error_mutex;
  std::string first_error;
  const int64_t total = static_cast<int64_t>(jobs.size());
  constexpr int64_t kChunk = 128;  // progress is drawn between chunks, on this thread
  for (int64_t begin = 0; begin < total; begin += kChunk) {
    const int64_t end = std::min(total, begin + kChunk);
    at::parallel_for(begin, end, 1, [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j) {
        const Job& job = jobs[static_cast<size_t>(j)];
        const fs::path path =
            dirs[job.modality] / job.cls->name / file_name(job.index, counts[job.modality]);
        try {
          const uint64_t s =
              synthetic_image_seed(options.seed, job.cls->name, job.modality, job.index);
          const cv::Mat img = job.modality == 0 ? render_sketch(*job.cls, s, options.image_size)
                                                : render_photo(*job.cls, s, options.image_size);
          HCMSN_CHECK(cv::imwrite(path.string(), img), "cannot write image '", path.string(),
                      "' (is the disk full or the folder read-only?)");
        } catch (const std::exception& ex) {
          const std::lock_guard<std::mutex> lock(error_mutex);
          if (first_error.empty()) first_error = ex.what();
        }
      }
    });
    HCMSN_CHECK(first_error.empty(), first_error);
    progress.advance(end - begin);
  }
  progress.finish();

  std::vector<std::string> names;
  std::string hierarchy;
  auto semantics = torch::empty({static_cast<int64_t>(classes.size()), synthetic_attribute_dim()},
                                torch::kFloat32);
  for (size_t i = 0; i < classes.size(); ++i) {
    names.push_back(classes[i].name);
    hierarchy += classes[i].name + " " + classes[i].parent + "\n";
    std::copy(classes[i].attributes.begin(), classes[i].attributes.end(),
              semantics.data_ptr<float>() + i * classes[i].attributes.size());
  }
  const auto unseen = synthetic_unseen_classes();
  io::write_labels(summary.classes_file, names);
  io::write_labels(summary.unseen_file, unseen);
  util::write_file_atomic(summary.hierarchy_file, hierarchy);
  io::write_npy(summary.semantics_file, semantics);

  summary.num_classes = static_cast<int64_t>(classes.size());
  summary.num_unseen = static_cast<int64_t>(unseen.size());
  summary.num_sketches = summary.num_classes * options.sketches_per_class;
  summary.num_photos = summary.num_classes * options.photos_per_class;
  return summary;
}

}  // namespace hcmsn::data
