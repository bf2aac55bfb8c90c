// QuickDraw drawings in Google's "simplified" ndjson format, rendered to raster sketches.
//
// One line of a `<word>.ndjson` file is a JSON object whose "drawing" is a list of strokes, each
// [[x0, x1, ...], [y0, y1, ...]] with equal-length lists; simplified drawings are scaled so that
// the larger side spans 0–255 and aligned to the top-left. The renderer fits the drawing's
// bounding box, aspect kept, into the image minus a margin, centred, and draws anti-aliased
// black polylines on white (drawn at 4× and area-averaged), like the rasterised QuickDraw sketches of
// the ZS-SBIR benchmarks.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hcmsn::data {

struct Stroke {
  std::vector<float> x, y;  // same length, ≥ 1 point
};

struct Drawing {
  std::string word;  // the category, when the line has one
  std::vector<Stroke> strokes;
};

/// Parses one ndjson line (an object with "drawing", or a bare strokes array). Throws
/// hcmsn::Error naming `what` on malformed JSON, mismatched x/y lengths, empty or non-finite
/// coordinates, or a drawing without strokes.
Drawing parse_drawing(std::string_view json_text, const std::string& what = "<drawing>");

/// Reads drawing number `record` (0-based line) of an .ndjson file.
Drawing read_drawing(const std::string& ndjson_path, int64_t record);

struct RenderOptions {
  int64_t size = 256;       // output is size × size
  double line_width = 3.0;  // stroke width in output pixels
  double margin = 0.06;     // empty border, as a fraction of size on each side
};

/// Renders to uint8 (3, size, size) RGB. Throws on size outside [8, 4096], line_width outside
/// (0, size / 4] or margin outside [0, 0.4].
torch::Tensor render_drawing(const Drawing& drawing, const RenderOptions& options = {});

}  // namespace hcmsn::data
