#include "hcmsn/data/quickdraw_strokes.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <opencv2/imgproc.hpp>

#include "hcmsn/util/check.h"

namespace hcmsn::data {
namespace {

// Strokes are drawn at this many times the output resolution and area-averaged down: exact
// stroke widths and anti-aliasing (OpenCV's own LINE_AA draws thick lines about twice as wide).
constexpr int kSupersample = 4;

std::vector<float> coordinates(const nlohmann::json& values, const std::string& what, size_t stroke,
                               const char* axis) {
  HCMSN_CHECK(values.is_array() && !values.empty(), what, ": stroke ", stroke, " has no ", axis,
              " coordinates");
  std::vector<float> out;
  out.reserve(values.size());
  for (const auto& v : values) {
    HCMSN_CHECK(v.is_number(), what, ": stroke ", stroke, " has a non-numeric ", axis,
                " coordinate");
    const double d = v.get<double>();
    HCMSN_CHECK(std::isfinite(d) && std::abs(d) < 1e6, what, ": stroke ", stroke, " has a ", axis,
                " coordinate out of range (", d, ")");
    out.push_back(static_cast<float>(d));
  }
  return out;
}

}  // namespace

Drawing parse_drawing(std::string_view json_text, const std::string& what) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(detail::concat(what, ": not valid JSON (", e.what(), ")"));
  }
  Drawing drawing;
  const nlohmann::json* strokes = &json;
  if (json.is_object()) {
    HCMSN_CHECK(json.contains("drawing"), what, ": the object has no \"drawing\" field");
    strokes = &json["drawing"];
    if (json.contains("word") && json["word"].is_string()) drawing.word = json["word"];
  }
  HCMSN_CHECK(strokes->is_array() && !strokes->empty(), what,
              ": \"drawing\" must be a non-empty list of strokes [[x...], [y...]]");
  HCMSN_CHECK(strokes->size() <= 10000, what, ": too many strokes (", strokes->size(), ")");
  for (size_t s = 0; s < strokes->size(); ++s) {
    const auto& stroke = (*strokes)[s];
    HCMSN_CHECK(stroke.is_array() && stroke.size() >= 2, what, ": stroke ", s,
                " must be [[x...], [y...]]");
    Stroke out{coordinates(stroke[0], what, s, "x"), coordinates(stroke[1], what, s, "y")};
    HCMSN_CHECK(out.x.size() == out.y.size(), what, ": stroke ", s, " has ", out.x.size(),
                " x but ", out.y.size(), " y coordinates");
    drawing.strokes.push_back(std::move(out));
  }
  return drawing;
}

Drawing read_drawing(const std::string& ndjson_path, int64_t record) {
  HCMSN_CHECK(record >= 0, ndjson_path, ": drawing index must be ≥ 0, got ", record);
  std::ifstream in(ndjson_path, std::ios::binary);
  HCMSN_CHECK(in, "cannot open '", ndjson_path, "'");
  std::string line;
  for (int64_t i = 0; std::getline(in, line); ++i) {
    if (i == record) return parse_drawing(line, ndjson_path + " line " + std::to_string(i + 1));
  }
  throw Error(detail::concat(ndjson_path, " has no drawing ", record, " (0-based line)"));
}

torch::Tensor render_drawing(const Drawing& drawing, const RenderOptions& options) {
  HCMSN_CHECK(options.size >= 8 && options.size <= 4096, "render size must be in [8, 4096], got ",
              options.size);
  HCMSN_CHECK(options.line_width > 0 && options.line_width <= options.size / 4.0,
              "line width must be in (0, size/4], got ", options.line_width);
  HCMSN_CHECK(options.margin >= 0 && options.margin <= 0.4, "margin must be in [0, 0.4], got ",
              options.margin);
  HCMSN_CHECK(!drawing.strokes.empty(), "the drawing has no strokes");
  float x0 = std::numeric_limits<float>::max(), y0 = x0;
  float x1 = std::numeric_limits<float>::lowest(), y1 = x1;
  for (const auto& s : drawing.strokes) {
    HCMSN_CHECK(s.x.size() == s.y.size() && !s.x.empty(), "a stroke needs equal, non-empty x/y");
    for (size_t i = 0; i < s.x.size(); ++i) {
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]);
      y1 = std::max(y1, s.y[i]);
    }
  }
  const double size = static_cast<double>(options.size);
  // The stroke's half width stays inside the margin-reduced box.
  const double box = size * (1.0 - 2.0 * options.margin) - options.line_width;
  const double extent = std::max<double>({x1 - x0, y1 - y0, 1e-6});
  const double scale = std::max(box, 1.0) / extent;
  const double ox = (size - (x1 - x0) * scale) / 2.0, oy = (size - (y1 - y0) * scale) / 2.0;
  const int hi = static_cast<int>(options.size) * kSupersample;
  cv::Mat canvas(hi, hi, CV_8UC1, cv::Scalar(255));
  const int thickness =
      std::max(1, static_cast<int>(std::lround(options.line_width * kSupersample)));
  for (const auto& s : drawing.strokes) {
    std::vector<cv::Point> points;
    points.reserve(s.x.size());
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double px = (ox + (s.x[i] - x0) * scale) * kSupersample;
      const double py = (oy + (s.y[i] - y0) * scale) * kSupersample;
      points.emplace_back(static_cast<int>(std::lround(px)), static_cast<int>(std::lround(py)));
    }
    if (points.size() == 1) points.push_back(points.front());  // a dot
    cv::polylines(canvas, points, /*isClosed=*/false, cv::Scalar(0), thickness, cv::LINE_8);
  }
  cv::Mat out;
  cv::resize(canvas, out, cv::Size(static_cast<int>(options.size), static_cast<int>(options.size)),
             0, 0, cv::INTER_AREA);
  auto grey = torch::from_blob(out.data, {1, options.size, options.size}, torch::kUInt8);
  return grey.expand({3, options.size, options.size}).contiguous();
}

}  // namespace hcmsn::data
