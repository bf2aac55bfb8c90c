#include "hcmsn/report/html_report.h"

#include <fmt/format.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "hcmsn/report/svg_chart.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"

namespace hcmsn::report {
namespace {

constexpr const char* kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr const char* kCss = R"css(
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  max-width: 1100px; margin: 24px auto; padding: 0 16px; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin: 0 0 .3em; }
h2 { font-size: 1.2em; margin: 1.6em 0 .5em; padding-bottom: .2em; border-bottom: 1px solid #ddd; }
table.metrics { border-collapse: collapse; margin: .6em 0; font-size: .95em; }
table.metrics th, table.metrics td { border: 1px solid #ccc; padding: 4px 10px; }
table.metrics thead th { background: #f3f3f5; }
table.metrics th[scope=row] { text-align: left; font-weight: 600; }
table.metrics td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure.chart { margin: .8em 0; display: inline-block; vertical-align: top; }
figure.chart figcaption { color: #555; font-size: .9em; text-align: center; }
svg { max-width: 100%; height: auto; }
.grid { margin: .6em 0; }
.grid-row { display: flex; gap: 6px; align-items: flex-start; overflow-x: auto;
  padding: 6px 0; border-bottom: 1px solid #eee; }
.grid figure { margin: 0; width: 84px; flex: none; text-align: center; font-size: 11px; }
.grid img, .grid .noimg { width: 72px; height: 72px; object-fit: contain;
  image-rendering: pixelated; border: 4px solid #ccc; border-radius: 3px; background: #fff;
  display: block; margin: 0 auto 2px; }
.grid .query img, .grid .query .noimg { border-color: #3867d6; }
.grid .query { width: 104px; margin-right: 10px; }
.grid .ok img, .grid .ok .noimg { border-color: #2e9d46; }
.grid .miss img, .grid .miss .noimg { border-color: #d33a2f; }
.grid figcaption { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.grid .ok .mark { color: #2e9d46; } .grid .miss .mark { color: #d33a2f; }
.grid .score { font-weight: 600; }
footer { margin-top: 2.5em; padding-top: .5em; border-top: 1px solid #eee; color: #888;
  font-size: .85em; }
)css";

std::string data_uri(const std::string& mime, const std::vector<uchar>& bytes) {
  return "data:" + mime + ";base64," +
         base64_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void check_image(const cv::Mat& image) {
  HCMSN_CHECK(!image.empty(), "cannot encode an empty image for the report");
  HCMSN_CHECK(image.depth() == CV_8U,
              "report images must be 8-bit (CV_8U); convert the image first (depth ", image.depth(),
              ")");
  HCMSN_CHECK(image.channels() == 1 || image.channels() == 3 || image.channels() == 4,
              "report images need 1, 3 or 4 channels, got ", image.channels());
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "∞" : "−∞";
  return fmt::format("{:.4f}", v);
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string thumbnail(const std::string& uri, const std::string& alt) {
  if (uri.empty()) return "<div class=\"noimg\"></div>";
  return "<img src=\"" + html_escape(uri) + "\" alt=\"" + html_escape(alt) + "\">";
}

}  // namespace

std::string html_escape(const std::string& text) {
  return xml_escape(text);
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                       static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                       static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += kBase64Alphabet[v >> 18 & 63];
    out += kBase64Alphabet[v >> 12 & 63];
    out += kBase64Alphabet[v >> 6 & 63];
    out += kBase64Alphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kBase64Alphabet[v >> 18 & 63];
    out += kBase64Alphabet[v >> 12 & 63];
    out += rest == 2 ? kBase64Alphabet[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::string png_data_uri(const cv::Mat& image_bgr) {
  check_image(image_bgr);
  std::vector<uchar> bytes;
  HCMSN_CHECK(cv::imencode(".png", image_bgr, bytes), "OpenCV could not encode a ", image_bgr.cols,
              "x", image_bgr.rows, " image as PNG");
  return data_uri("image/png", bytes);
}

std::string jpeg_data_uri(const cv::Mat& image_bgr, int quality) {
  check_image(image_bgr);
  HCMSN_CHECK(quality >= 1 && quality <= 100, "JPEG quality must be in 1..100, got ", quality);
  cv::Mat bgr = image_bgr;
  if (image_bgr.channels() == 4) cv::cvtColor(image_bgr, bgr, cv::COLOR_BGRA2BGR);
  std::vector<uchar> bytes;
  HCMSN_CHECK(cv::imencode(".jpg", bgr, bytes, {cv::IMWRITE_JPEG_QUALITY, quality}),
              "OpenCV could not encode a ", bgr.cols, "x", bgr.rows, " image as JPEG");
  return data_uri("image/jpeg", bytes);
}

std::string image_data_uri_from_file(const std::string& path, int max_side,
                                     ImageEncoding encoding) {
  HCMSN_CHECK(max_side >= 1, "max_side must be >= 1 pixel, got ", max_side);
  std::error_code ec;
  HCMSN_CHECK(std::filesystem::is_regular_file(path, ec), "cannot read image '", path,
              "': no such file");
  cv::Mat image;
  try {
    image = cv::imread(path, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    HCMSN_CHECK(false, "cannot read image '", path, "': ", e.what());
  }
  HCMSN_CHECK(!image.empty(), "cannot read image '", path,
              "': OpenCV cannot decode it (not an image, or a format it was built without)");
  const int longer = std::max(image.cols, image.rows);
  if (longer > max_side) {
    const double scale = static_cast<double>(max_side) / longer;
    const cv::Size size(std::max(1, static_cast<int>(std::lround(image.cols * scale))),
                        std::max(1, static_cast<int>(std::lround(image.rows * scale))));
    cv::Mat small;
    cv::resize(image, small, size, 0, 0, cv::INTER_AREA);
    image = small;
  }
  return encoding == ImageEncoding::kJpeg ? jpeg_data_uri(image) : png_data_uri(image);
}

std::string html_metrics_table(const std::vector<std::string>& columns,
                               const std::vector<MetricsRow>& rows) {
  std::string out = "<table class=\"metrics\">\n<thead><tr><th></th>";
  for (const std::string& c : columns) out += "<th scope=\"col\">" + html_escape(c) + "</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const MetricsRow& row : rows) {
    out += "<tr><th scope=\"row\">" + html_escape(row.name) + "</th>";
    for (const std::string& c : columns) {
      const auto it = row.values.find(c);
      out += "<td class=\"num\">" + (it == row.values.end() ? "—" : format_value(it->second)) +
             "</td>";
    }
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n";
  return out;
}

std::string html_retrieval_grid(const std::vector<GridRow>& rows) {
  std::string out = "<div class=\"grid\">\n";
  for (const GridRow& row : rows) {
    const auto correct = std::count_if(row.hits.begin(), row.hits.end(),
                                       [](const GridHit& hit) { return hit.relevant; });
    out += "<div class=\"grid-row\">\n<figure class=\"query\">" +
           thumbnail(row.query_uri, "query: " + row.query_class) + "<figcaption>" +
           html_escape(row.query_class) + "</figcaption>" +
           fmt::format("<figcaption class=\"score\">{}/{} correct</figcaption></figure>\n", correct,
                       row.hits.size());
    for (size_t k = 0; k < row.hits.size(); ++k) {
      const GridHit& hit = row.hits[k];
      const std::string distance =
          std::isfinite(hit.distance) ? fmt::format("{:.3f}", hit.distance) : "—";
      out += fmt::format("<figure class=\"hit {}\">", hit.relevant ? "ok" : "miss") +
             thumbnail(hit.image_uri, fmt::format("rank {}: ", k + 1) + hit.class_name) +
             fmt::format("<figcaption><span class=\"mark\">{}</span> #{} ",
                         hit.relevant ? "✓" : "✗", k + 1) +
             html_escape(hit.class_name) + "</figcaption><figcaption>d = " + distance +
             "</figcaption></figure>\n";
    }
    out += "</div>\n";
  }
  out += "</div>\n";
  return out;
}

HtmlReport::HtmlReport(std::string title) : title_(std::move(title)) {}

void HtmlReport::add_heading(std::string text) {
  body_ += "<h2>" + html_escape(text) + "</h2>\n";
}

void HtmlReport::add_paragraph(std::string text) {
  body_ += "<p>" + html_escape(text) + "</p>\n";
}

void HtmlReport::add_html(std::string raw) {
  body_ += raw;
  if (!raw.empty() && raw.back() != '\n') body_ += '\n';
}

void HtmlReport::add_figure(std::string raw, std::string caption) {
  body_ += "<figure class=\"chart\">\n" + raw;
  if (!caption.empty()) body_ += "<figcaption>" + html_escape(caption) + "</figcaption>\n";
  body_ += "</figure>\n";
}

std::string HtmlReport::str() const {
  const std::string title = html_escape(title_);
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
         title + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n<h1>" + title +
         "</h1>\n" + body_ + "<footer>Generated by hcmsn on " + utc_now() +
         ".</footer>\n</body>\n</html>\n";
}

void HtmlReport::write(const std::string& path) const {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    HCMSN_CHECK(!ec, "cannot create the directory '", parent.string(), "' for '", path,
                "': ", ec.message());
  }
  util::write_file_atomic(path, str());
}

}  // namespace hcmsn::report
