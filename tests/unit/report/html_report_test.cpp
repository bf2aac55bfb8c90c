// HTML report pieces (hcmsn/report/html_report.h): base64 against the RFC 4648 vectors, data
// URIs that decode back to the image, file thumbnails, the metrics table, the retrieval grid's
// hit/miss marks, escaping of every user string, a well-formed document, and atomic writes.
#include "hcmsn/report/html_report.h"

#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "support/test_support.h"
#include "unit/report/xml_check.h"

namespace hcmsn::report {
namespace {

namespace fs = std::filesystem;
using test::count_of;
using test::xml_problems;

const std::string kNasty = "<b>&\"'x";
const std::string kEscaped = "&lt;b&gt;&amp;&quot;&#39;x";

test::XmlCheckOptions html_options() {
  test::XmlCheckOptions options;
  options.void_elements = test::html_void_elements();
  options.forbid_non_finite_tokens = false;  // the metrics table shows NaN on purpose
  return options;
}

// Independent decoder for the round trips (a table lookup, the reverse of the encoder's).
std::string base64_decode(const std::string& text) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char ch : text) {
    if (ch == '=') break;
    const size_t v = alphabet.find(ch);
    EXPECT_NE(v, std::string::npos) << "bad base64 character " << ch;
    buffer = buffer << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>(buffer >> bits & 0xFF);
    }
  }
  return out;
}

cv::Mat decode_uri(const std::string& uri, const std::string& mime) {
  const std::string prefix = "data:" + mime + ";base64,";
  EXPECT_EQ(uri.rfind(prefix, 0), 0u) << uri.substr(0, 40);
  const std::string bytes = base64_decode(uri.substr(prefix.size()));
  return cv::imdecode(std::vector<uchar>(bytes.begin(), bytes.end()), cv::IMREAD_UNCHANGED);
}

cv::Mat gradient(int width, int height, int channels) {
  cv::Mat m(height, width, CV_8UC(channels));
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < channels; ++c)
        m.ptr<uchar>(y)[x * channels + c] = static_cast<uchar>((x * 37 + y * 11 + c * 91) % 256);
  return m;
}

bool same_image(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0.0;
}

TEST(ReportHtml, Base64Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(base64_decode(base64_encode(all)), all);
}

TEST(ReportHtml, HtmlEscape) {
  EXPECT_EQ(html_escape(kNasty), kEscaped);
  EXPECT_EQ(html_escape("a&amp;b"), "a&amp;amp;b");  // escaping is not idempotent on purpose
}

TEST(ReportHtml, PngDataUriDecodesToTheSameImage) {
  for (int channels : {1, 3, 4}) {
    const cv::Mat image = gradient(9, 6, channels);
    const cv::Mat back = decode_uri(png_data_uri(image), "image/png");
    EXPECT_TRUE(same_image(image, back)) << channels << " channels";
  }
  const cv::Mat jpeg = decode_uri(jpeg_data_uri(gradient(16, 8, 4)), "image/jpeg");
  EXPECT_EQ(jpeg.cols, 16);
  EXPECT_EQ(jpeg.rows, 8);
  EXPECT_EQ(jpeg.channels(), 3);

  EXPECT_TRUE(test::contains(test::error_of([] { png_data_uri(cv::Mat()); }), "empty"));
  EXPECT_TRUE(
      test::contains(test::error_of([] { png_data_uri(cv::Mat(4, 4, CV_32FC3)); }), "8-bit"));
  EXPECT_TRUE(
      test::contains(test::error_of([] { png_data_uri(cv::Mat(4, 4, CV_8UC2)); }), "channels"));
  EXPECT_THROW(jpeg_data_uri(gradient(4, 4, 3), 0), Error);
}

TEST(ReportHtml, ImageFromFileIsShrunkToMaxSide) {
  const std::string dir = test::temp_dir("report_image");
  const std::string big = dir + "/big.png", small = dir + "/small.png";
  ASSERT_TRUE(cv::imwrite(big, gradient(200, 100, 3)));
  ASSERT_TRUE(cv::imwrite(small, gradient(20, 10, 3)));
  const cv::Mat a = decode_uri(image_data_uri_from_file(big, 64), "image/png");
  EXPECT_EQ(a.cols, 64);
  EXPECT_EQ(a.rows, 32);
  const cv::Mat b = decode_uri(image_data_uri_from_file(small, 64), "image/png");
  EXPECT_TRUE(same_image(b, gradient(20, 10, 3)));
  const cv::Mat c =
      decode_uri(image_data_uri_from_file(big, 50, ImageEncoding::kJpeg), "image/jpeg");
  EXPECT_EQ(c.cols, 50);
  EXPECT_EQ(c.rows, 25);

  const std::string missing = dir + "/missing.png";
  EXPECT_TRUE(
      test::contains(test::error_of([&] { image_data_uri_from_file(missing, 64); }), missing));
  const std::string fake = dir + "/fake.png";
  util::write_file_atomic(fake, "this is not a PNG");
  EXPECT_TRUE(test::contains(test::error_of([&] { image_data_uri_from_file(fake, 64); }), fake));
  EXPECT_THROW(image_data_uri_from_file(big, 0), Error);
}

TEST(ReportHtml, MetricsTable) {
  const std::vector<MetricsRow> rows = {
      {"HCMSN", {{"mAP@all", 0.123456}, {"P@100", 0.5}, {"ignored", 9.0}}},
      {"Euclidean", {{"mAP@all", 0.1}}},
      {"chance " + kNasty,
       {{"mAP@all", std::numeric_limits<double>::quiet_NaN()}, {"P@100", 0.00004}}},
  };
  const std::string html = html_metrics_table({"mAP@all", "P@100"}, rows);
  EXPECT_EQ(xml_problems(html, html_options()), "");
  EXPECT_TRUE(test::contains(html, "<td class=\"num\">0.1235</td><td class=\"num\">0.5000</td>"));
  EXPECT_TRUE(test::contains(html, "<td class=\"num\">0.1000</td><td class=\"num\">—</td>"));
  EXPECT_TRUE(test::contains(html, "<td class=\"num\">NaN</td><td class=\"num\">0.0000</td>"));
  EXPECT_FALSE(test::contains(html, "9.0000"));
  EXPECT_EQ(count_of(html, "<tr>"), 4u);  // header + 3 rows
  EXPECT_LT(html.find("mAP@all"), html.find("P@100"));
  EXPECT_LT(html.find("HCMSN"), html.find("Euclidean"));
  EXPECT_TRUE(test::contains(html, "chance " + kEscaped));
  EXPECT_TRUE(test::contains(html_metrics_table({kNasty}, {}), kEscaped));
}

TEST(ReportHtml, RetrievalGridMarksHitsAndMisses) {
  const std::string uri = png_data_uri(gradient(8, 8, 3));
  std::vector<GridRow> rows(2);
  rows[0] = {
      uri, "cat", {{uri, "cat", 0.125, true}, {uri, "dog", 0.5, false}, {"", "cat", 1.0, true}}};
  rows[1] = {
      "", kNasty, {{"x\"onerror=\"y", kNasty, std::numeric_limits<double>::infinity(), false}}};
  const std::string html = html_retrieval_grid(rows);
  EXPECT_EQ(xml_problems(html, html_options()), "");
  EXPECT_TRUE(test::contains(html, "2/3 correct"));
  EXPECT_TRUE(test::contains(html, "0/1 correct"));
  EXPECT_EQ(count_of(html, "class=\"hit ok\""), 2u);
  EXPECT_EQ(count_of(html, "class=\"hit miss\""), 2u);
  EXPECT_EQ(count_of(html, "✓"), 2u);
  EXPECT_EQ(count_of(html, "✗"), 2u);
  EXPECT_TRUE(test::contains(html, "d = 0.125"));
  EXPECT_TRUE(test::contains(html, "d = 0.500"));
  EXPECT_TRUE(test::contains(html, "d = —"));
  EXPECT_EQ(count_of(html, "class=\"noimg\""), 2u);
  EXPECT_LT(html.find("#1 "), html.find("#2 "));
  EXPECT_LT(html.find("#2 "), html.find("#3 "));
  // User strings are escaped in text and attributes; a URI cannot break out of src="...".
  EXPECT_FALSE(test::contains(html, "<b>"));
  EXPECT_TRUE(test::contains(html, ">" + kEscaped + "<"));
  EXPECT_TRUE(test::contains(html, "alt=\"rank 1: " + kEscaped + "\""));
  EXPECT_TRUE(test::contains(html, "src=\"x&quot;onerror=&quot;y\""));
  EXPECT_EQ(xml_problems(html_retrieval_grid({}), html_options()), "");
}

TEST(ReportHtml, DocumentIsWellFormedAndEscapesItsText) {
  HtmlReport report("Report " + kNasty);
  report.add_heading("Heading " + kNasty);
  report.add_paragraph("Paragraph " + kNasty);
  report.add_html("<div class=\"raw\"><em>kept</em></div>");
  report.add_figure("<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>", "Caption " + kNasty);
  const std::string html = report.str();
  EXPECT_EQ(xml_problems(html, html_options()), "");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_TRUE(test::contains(html, "<meta charset=\"utf-8\">"));
  EXPECT_TRUE(test::contains(html, "<title>Report " + kEscaped + "</title>"));
  EXPECT_TRUE(test::contains(html, "<h1>Report " + kEscaped + "</h1>"));
  EXPECT_TRUE(test::contains(html, "<h2>Heading " + kEscaped + "</h2>"));
  EXPECT_TRUE(test::contains(html, "<p>Paragraph " + kEscaped + "</p>"));
  EXPECT_TRUE(test::contains(html, "<figcaption>Caption " + kEscaped + "</figcaption>"));
  EXPECT_TRUE(test::contains(html, "<div class=\"raw\"><em>kept</em></div>"));
  EXPECT_FALSE(test::contains(html, "<b>"));
  EXPECT_FALSE(test::contains(html, "<script"));
  EXPECT_TRUE(test::contains(html, "max-width: 1100px"));
  EXPECT_TRUE(test::contains(html, "image-rendering: pixelated"));
  EXPECT_TRUE(test::contains(html, "Generated by hcmsn on 2"));
  // Pieces stay in call order.
  EXPECT_LT(html.find("<h2>"), html.find("<p>Paragraph"));
  EXPECT_LT(html.find("<p>Paragraph"), html.find("class=\"raw\""));
  EXPECT_LT(html.find("class=\"raw\""), html.find("<figure"));
}

TEST(ReportHtml, WriteIsAtomicAndCreatesTheDirectory) {
  const std::string dir = test::temp_dir("report_write");
  const std::string path = dir + "/out/nested/report.html";
  HtmlReport report("first");
  report.add_paragraph("one");
  report.write(path);
  ASSERT_TRUE(fs::exists(path));
  std::string text = util::read_file(path);
  EXPECT_EQ(text.substr(0, text.find("<footer>")),
            report.str().substr(0, report.str().find("<footer>")));

  HtmlReport second("second");
  second.write(path);  // replaces the file
  text = util::read_file(path);
  EXPECT_TRUE(test::contains(text, "<h1>second</h1>"));
  EXPECT_FALSE(test::contains(text, "first"));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir + "/out/nested"))
    names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"report.html"});  // no temporary left behind

  // A parent that is a file: a clear error naming the path.
  util::write_file_atomic(dir + "/plain", "x");
  const std::string bad = dir + "/plain/report.html";
  EXPECT_TRUE(test::contains(test::error_of([&] { report.write(bad); }), bad));
}

}  // namespace
}  // namespace hcmsn::report
