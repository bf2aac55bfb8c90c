// SearchService without HTTP: results equal exact search on the embedder's own output, and every
// bad request is refused with the right status and a JSON error, never a crash.
#include "hcmsn/serve/search_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <thread>

#include "hcmsn/data/image_decode.h"
#include "hcmsn/data/quickdraw_strokes.h"
#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/util/atomic_file.h"
#include "support/test_support.h"
#include "support/tiny_gallery.h"

namespace hcmsn::serve {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kStrokes[] =
    R"({"strokes": [[[10, 60, 110, 60, 10], [10, 0, 10, 60, 10]], [[30, 90], [40, 40]]]})";

// The status of the HttpError `fn` throws; any other outcome is a failure (returns -1).
template <typename Fn>
int status_of(Fn&& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const HttpError& e) {
    if (message) *message = e.what();
    return e.status();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected HttpError, got: " << e.what();
    return -1;
  }
  ADD_FAILURE() << "expected HttpError, nothing was thrown";
  return -1;
}

std::string first_sketch_png() {
  const auto& g = test::tiny_gallery();
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(g.data + "/sketch")) {
    if (e.path().extension() == ".png") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files.empty() ? std::string() : util::read_file(files.front());
}

// A PNG whose header claims w × h pixels (the rest is junk): a decompression bomb's signature.
std::string png_claiming(uint32_t w, uint32_t h) {
  std::string b("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
  for (const uint32_t v : {w, h}) {
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<char>((v >> shift) & 255));
  }
  b += std::string("\x08\x02\0\0\0\0\0\0\0", 9) + std::string(64, 'x');
  return b;
}

class SearchServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& g = test::tiny_gallery();
    ASSERT_GT(g.gallery.size(), 0) << "no tiny gallery";
    loaded_ = load_index(g.gallery_path);
    service_ = std::make_unique<SearchService>();
    service_->set_loaded(loaded_);
  }
  json search_json(const std::string& body, const std::string& type, const std::string& k) {
    const Response r = service_->search(body, type, k);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "application/json");
    return json::parse(r.body);
  }
  // What a client sees of a photo's path: relative to the deepest folder holding every photo
  // (the tiny gallery's data/photo), i.e. "<class>/<file>".
  static std::string public_path(const std::string& path) {
    const std::filesystem::path p(path);
    return (p.parent_path().filename() / p.filename()).generic_string();
  }
  // The reference: exact search on the embedder's output for the same query.
  void expect_equals_exact(const json& answer, const torch::Tensor& query, int64_t k) {
    const auto& g = *loaded_.gallery;
    const auto expected = index::ExactSearcher(g.embeddings, g.curvature).search(query, k);
    const auto& results = answer.at("results");
    ASSERT_EQ(static_cast<int64_t>(results.size()), expected.ids.size(1));
    for (size_t j = 0; j < results.size(); ++j) {
      const int64_t id = expected.ids[0][j].item<int64_t>();
      EXPECT_EQ(results[j].at("id").get<int64_t>(), id) << "rank " << j;
      EXPECT_EQ(results[j].at("path"), public_path(g.entries[id].path));
      EXPECT_EQ(results[j].at("class"), g.entries[id].class_name);
      EXPECT_FLOAT_EQ(results[j].at("distance").get<float>(),
                      expected.distances[0][j].item<float>());
      if (j > 0) {
        EXPECT_LE(results[j - 1]["distance"], results[j]["distance"]);
      }
    }
  }

  LoadedIndex loaded_;
  std::unique_ptr<SearchService> service_;
};

TEST_F(SearchServiceTest, StrokesSearchEqualsExactSearchOfTheEmbeddedDrawing) {
  const json answer = search_json(kStrokes, "application/json", "7");
  EXPECT_EQ(answer.at("k"), 7);
  EXPECT_GE(answer.at("seconds").get<double>(), 0.0);
  const auto strokes = json::parse(kStrokes)["strokes"].dump();
  const auto query = loaded_.embedder->embed_drawing(data::parse_drawing(strokes));
  expect_equals_exact(answer, query, 7);
}

TEST_F(SearchServiceTest, ImageSearchEqualsExactSearchOfTheEmbeddedImage) {
  const std::string png = first_sketch_png();
  ASSERT_FALSE(png.empty());
  const json answer = search_json(png, "image/png", "");
  EXPECT_EQ(answer.at("k"), 10);  // the default
  const auto image = data::decode_image_bytes(png, "sketch");
  expect_equals_exact(answer, loaded_.embedder->embed_images({image}, model::kSketch), 10);

  // The same pixels as JPEG are searched as JPEG; a charset parameter and case do not matter.
  std::vector<uchar> jpeg;
  ASSERT_TRUE(cv::imencode(
      ".jpg",
      cv::imdecode(cv::Mat(1, static_cast<int>(png.size()), CV_8U, const_cast<char*>(png.data())),
                   cv::IMREAD_COLOR),
      jpeg));
  const std::string jpeg_bytes(jpeg.begin(), jpeg.end());
  const json from_jpeg = search_json(jpeg_bytes, "Image/JPEG; foo=bar", "3");
  const auto jpeg_image = data::decode_image_bytes(jpeg_bytes, "sketch");
  expect_equals_exact(from_jpeg, loaded_.embedder->embed_images({jpeg_image}, model::kSketch), 3);
}

TEST_F(SearchServiceTest, KIsBoundedAndDefaulted) {
  EXPECT_EQ(search_json(kStrokes, "application/json", "100")["results"].size(), 100u);
  EXPECT_EQ(search_json(kStrokes, "application/json", "1")["results"].size(), 1u);
  for (const char* k :
       {"0", "-1", "abc", "101", "1e3", " 5", "5 ", "99999999999999999999999", "+3"}) {
    std::string message;
    EXPECT_EQ(status_of([&] { service_->search(kStrokes, "application/json", k); }, &message), 400)
        << k;
    EXPECT_TRUE(test::contains(message, "k must be an integer in [1, 100]")) << message;
  }
}

TEST_F(SearchServiceTest, RefusesWrongContentTypes) {
  for (const char* type : {"", "text/plain", "application/x-www-form-urlencoded", "image/gif"}) {
    EXPECT_EQ(status_of([&] { service_->search(kStrokes, type, ""); }), 415) << type;
  }
  EXPECT_EQ(status_of([&] { service_->search("", "application/json", ""); }), 400);
  EXPECT_EQ(status_of([&] { service_->search("", "image/png", ""); }), 400);
}

TEST_F(SearchServiceTest, RefusesMalformedDrawingsWithAReason) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "not valid JSON"},
      {"[1, 2", "not valid JSON"},
      {"NaN", "not valid JSON"},
      {R"({"strokes": [[[NaN], [1]]]})", "not valid JSON"},
      {deep, "nested too deeply"},
      {"[]", "\"strokes\""},
      {R"({"drawing": []})", "\"strokes\""},
      {R"({"strokes": []})", "non-empty"},
      {R"({"strokes": "abc"})", "non-empty"},
      {R"({"strokes": [[[1, 2], [1, 2], [3, 4]]]})", "two arrays"},
      {R"({"strokes": [[1, 2]]})", "two arrays"},
      {R"({"strokes": [[[1, 2], [1]]]})", "strokes"},
      {R"({"strokes": [[[], []]]})", "strokes"},
      {R"({"strokes": [[["a"], [1]]]})", "non-numeric"},
      {R"({"strokes": [[[1e999], [1]]]})", "strokes"},
      {R"({"strokes": [[[1e300], [1]]]})", "out of range"},
  };
  for (const auto& [body, reason] : cases) {
    std::string message;
    EXPECT_EQ(status_of([&] { service_->search(body, "application/json", ""); }, &message), 400)
        << body.substr(0, 60);
    EXPECT_TRUE(test::contains(message, reason)) << body.substr(0, 60) << " -> " << message;
  }
}

TEST_F(SearchServiceTest, RefusesHugeDrawings) {
  json many = {{"strokes", json::array()}};
  for (int i = 0; i < 501; ++i) {
    many["strokes"].push_back(json::array({json::array({i}), json::array({i})}));
  }
  EXPECT_EQ(status_of([&] { service_->search(many.dump(), "application/json", ""); }), 413);
  json xs = json::array(), ys = json::array();
  for (int i = 0; i < 50001; ++i) {
    xs.push_back(i % 300);
    ys.push_back(i % 200);
  }
  const json long_stroke = {{"strokes", json::array({json::array({xs, ys})})}};
  EXPECT_EQ(status_of([&] { service_->search(long_stroke.dump(), "application/json", ""); }), 413);
}

TEST_F(SearchServiceTest, RefusesBadImagesAndDecompressionBombs) {
  const std::string png = first_sketch_png();
  ASSERT_GT(png.size(), 100u);
  std::string message;
  EXPECT_EQ(status_of([&] { service_->search(png.substr(0, 60), "image/png", ""); }, &message),
            400);
  EXPECT_TRUE(test::contains(message, "cannot decode")) << message;
  EXPECT_EQ(status_of([&] { service_->search("not an image at all", "image/png", ""); }), 400);
  EXPECT_EQ(
      status_of([&] { service_->search(png_claiming(100000, 100000), "image/png", ""); }, &message),
      413);
  EXPECT_TRUE(test::contains(message, "over the limit")) << message;
  // A JPEG start-of-frame claiming 65535 × 65535.
  const std::string jpeg_bomb(
      "\xFF\xD8\xFF\xC0\x00\x11\x08\xFF\xFF\xFF\xFF\x03\x01\x22\x00\x02"
      "\x11\x01\x03\x11\x01\xFF\xD9",
      23);
  EXPECT_EQ(status_of([&] { service_->search(jpeg_bomb, "image/jpeg", ""); }), 413);
  // Other formats (which OpenCV would decode without a pixel check) under an image type.
  EXPECT_EQ(status_of([&] { service_->search("BM" + std::string(100, '\0'), "image/png", ""); },
                      &message),
            400);
  EXPECT_TRUE(test::contains(message, "not a PNG")) << message;
  EXPECT_EQ(status_of([&] { service_->search(png, "image/jpeg", ""); }, &message), 400);
  EXPECT_TRUE(test::contains(message, "not a JPEG")) << message;
  // A JSON body sent as an image, and an image sent as JSON.
  EXPECT_EQ(status_of([&] { service_->search(kStrokes, "image/png", ""); }), 400);
  EXPECT_EQ(status_of([&] { service_->search(png, "application/json", ""); }), 400);
}

TEST_F(SearchServiceTest, PhotosByRowNumberOnly) {
  const auto& g = *loaded_.gallery;
  const Response r = service_->photo("0");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "image/jpeg");
  const auto thumb = data::decode_image_bytes(r.body, "thumbnail");
  const auto original = data::decode_image_file(g.entries[0].path);
  EXPECT_EQ(thumb.sizes(), original.sizes());  // small photos are not enlarged

  ServiceOptions small;
  small.thumbnail_size = 16;
  SearchService shrinking(small);
  shrinking.set_loaded(loaded_);
  const auto shrunk = data::decode_image_bytes(shrinking.photo("1").body, "thumbnail");
  EXPECT_EQ(shrunk.size(1), 16);
  EXPECT_EQ(shrunk.size(2), 16);

  for (const char* id : {"", "abc", "-1", "1.5", "../../etc/passwd", "%2e%2e", "0x1",
                         "99999999999999999999999", " 1"}) {
    EXPECT_EQ(status_of([&] { service_->photo(id); }), 400) << id;
  }
  std::string message;
  EXPECT_EQ(status_of([&] { service_->photo(std::to_string(g.size())); }, &message), 404);
  EXPECT_TRUE(test::contains(message, "no photo")) << message;
}

// No answer shows the server's file system: result paths are relative to the photo root (the
// operator's, or the photos' common folder), a photo that cannot be read is reported without its
// path.
TEST_F(SearchServiceTest, AnswersNeverDiscloseServerPaths) {
  const auto& g = *loaded_.gallery;
  const std::string root = std::filesystem::path(g.entries[0].path).parent_path().parent_path();
  const json answer = search_json(kStrokes, "application/json", "20");
  for (const auto& r : answer.at("results")) {
    const std::string path = r.at("path");
    EXPECT_FALSE(test::contains(path, root)) << path;
    EXPECT_NE(path.front(), '/') << path;
  }
  ServiceOptions labelled;
  labelled.photo_root = std::filesystem::path(root).parent_path().string();  // data/
  SearchService with_root(labelled);
  with_root.set_loaded(loaded_);
  const json rooted = json::parse(with_root.search(kStrokes, "application/json", "3").body);
  for (const auto& r : rooted.at("results")) {
    const auto id = r.at("id").get<size_t>();
    EXPECT_EQ(r.at("path"), "photo/" + public_path(g.entries[id].path));
  }
  // A photo whose file has gone.
  auto moved = std::make_shared<index::Gallery>(g);
  moved->entries[0].path = root + "/gone/missing.png";
  LoadedIndex broken = loaded_;
  broken.gallery = moved;
  SearchService service;
  service.set_loaded(broken);
  std::string message;
  EXPECT_EQ(status_of([&] { service.photo("0"); }, &message), 404);
  EXPECT_FALSE(test::contains(message, "/")) << message;
  EXPECT_TRUE(test::contains(message, "photo 0 cannot be read")) << message;
}

// A truncated JPEG is refused whole (libjpeg would decode its top and grey the rest), a sketch
// over max_query_side is refused from its header before any decoding.
TEST_F(SearchServiceTest, RefusesTruncatedJpegsAndOversizedQueries) {
  std::vector<uchar> buffer;
  ASSERT_TRUE(cv::imencode(".jpg", cv::Mat(64, 64, CV_8UC3, cv::Scalar(20, 200, 20)), buffer));
  const std::string jpeg(buffer.begin(), buffer.end());
  std::string message;
  EXPECT_EQ(status_of([&] { service_->search(jpeg.substr(0, jpeg.size() / 3), "image/jpeg", ""); },
                      &message),
            400);
  EXPECT_TRUE(test::contains(message, "the JPEG is truncated")) << message;
  EXPECT_EQ(service_->search(jpeg, "image/jpeg", "").status, 200);
  const std::string png = first_sketch_png();
  EXPECT_EQ(status_of([&] { service_->search(png.substr(0, png.size() - 5), "image/png", ""); },
                      &message),
            400);
  EXPECT_TRUE(test::contains(message, "the PNG is truncated")) << message;
  ASSERT_TRUE(cv::imencode(".png", cv::Mat(1100, 40, CV_8UC3, cv::Scalar(255, 255, 255)), buffer));
  EXPECT_EQ(
      status_of(
          [&] { service_->search(std::string(buffer.begin(), buffer.end()), "image/png", ""); },
          &message),
      413);
  EXPECT_TRUE(test::contains(message, "over the limit of 1024 pixels a side")) << message;
}

TEST_F(SearchServiceTest, HealthAndClasses) {
  const json health = json::parse(service_->health().body);
  EXPECT_EQ(health.at("status"), "ok");
  EXPECT_EQ(health.at("photos"), loaded_.gallery->size());
  EXPECT_EQ(health.at("backend"), "exact");
  const json classes = json::parse(service_->classes().body).at("classes");
  ASSERT_EQ(classes.size(), loaded_.gallery->class_names().size());
  int64_t total = 0;
  for (size_t i = 0; i < classes.size(); ++i) {
    EXPECT_EQ(classes[i].at("name"), loaded_.gallery->class_names()[i]);
    total += classes[i].at("photos").get<int64_t>();
  }
  EXPECT_EQ(total, loaded_.gallery->size());
}

TEST_F(SearchServiceTest, RefusesAnEmbedderThatDoesNotMatchTheGallery) {
  auto other = std::make_shared<index::Gallery>(*loaded_.gallery);
  other->embeddings = other->embeddings.narrow(1, 0, other->dim() - 1).contiguous() * 0.5;
  LoadedIndex mismatched = loaded_;
  mismatched.gallery = other;
  SearchService service;
  const auto message = test::error_of([&] { service.set_loaded(mismatched); });
  EXPECT_TRUE(test::contains(message, "re-index")) << message;
  EXPECT_FALSE(service.ready());
}

TEST(SearchServiceLoading, AnswersNotReadyUntilLoadedAndReportsFailures) {
  SearchService service;
  const Response before = service.health();
  EXPECT_EQ(before.status, 503);
  EXPECT_EQ(json::parse(before.body).at("status"), "loading");
  EXPECT_TRUE(json::parse(before.body).contains("error"));
  EXPECT_EQ(status_of([&] { service.search(kStrokes, "application/json", ""); }), 503);
  EXPECT_EQ(status_of([&] { service.classes(); }), 503);
  EXPECT_EQ(status_of([&] { service.photo("0"); }), 503);

  SearchService failing;
  failing.start_loading([]() -> LoadedIndex { return load_index("/nonexistent/gallery.hgi"); });
  // Polls the outcome of the background load (no timing assertion: the deadline only ends a hang).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string status = "loading";
  while (status == "loading" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    status = json::parse(failing.health().body).at("status").get<std::string>();
  }
  EXPECT_TRUE(test::contains(failing.load_error(), "/nonexistent/gallery.hgi"));
  const Response failed = failing.health();
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(json::parse(failed.body).at("status"), "failed");
  // The reason stays on the server (it names its files): the client is told where to look.
  const std::string told = json::parse(failed.body).at("error").get<std::string>();
  EXPECT_FALSE(test::contains(told, "/nonexistent")) << told;
  EXPECT_TRUE(test::contains(told, "log")) << told;
  std::string message;
  EXPECT_EQ(status_of([&] { failing.classes(); }, &message), 503);
  EXPECT_TRUE(test::contains(message, "failed to load")) << message;

  const auto& g = test::tiny_gallery();
  ASSERT_GT(g.gallery.size(), 0);
  SearchService loading;
  loading.start_loading([&] { return load_index(g.gallery_path); });
  while (!loading.ready() &&
         std::chrono::steady_clock::now() < deadline + std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(loading.health().status, 200);
}

TEST(SearchServiceErrors, ErrorBodiesAreJson) {
  const Response r = error_response(422, "why \"quoted\" \xff");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_TRUE(json::parse(r.body).at("error").is_string());
}

}  // namespace
}  // namespace hcmsn::serve
