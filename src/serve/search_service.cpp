#include "hcmsn/serve/search_service.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "hcmsn/data/image_decode.h"
#include "hcmsn/data/quickdraw_strokes.h"
#include "hcmsn/index/indexer.h"
#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"

namespace hcmsn::serve {
namespace {

// nlohmann's parser recurses once per nesting level: a body of a million '[' would overflow the
// stack. A drawing needs 3 levels inside the object; anything deeper is refused before parsing.
constexpr int kMaxJsonDepth = 8;
// Longer numbers than this cannot be a valid k or row id (and would overflow int64).
constexpr size_t kMaxNumberDigits = 15;

std::string dump(const nlohmann::json& json) {
  // Gallery paths come from the file system and need not be UTF-8: replace, never throw.
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response json_response(const nlohmann::json& json, int status = 200) {
  return Response{status, "application/json", dump(json)};
}

// "Image/PNG; charset=x" → "image/png".
std::string media_type(std::string_view content_type) {
  std::string type(content_type.substr(0, content_type.find(';')));
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  type.erase(type.begin(), std::find_if(type.begin(), type.end(), not_space));
  type.erase(std::find_if(type.rbegin(), type.rend(), not_space).base(), type.end());
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

// Whether a path made by lexically_relative stays inside its base (no leading "..").
bool stays_inside(const std::filesystem::path& relative) {
  return !relative.empty() && relative.is_relative() && *relative.begin() != "..";
}

// What clients see of each photo's path: relative to `root`, or (an operator's root that does not
// hold the photo) its file name; empty `root`: the deepest folder holding every photo.
std::vector<std::string> public_paths(const index::Gallery& gallery, const std::string& root) {
  namespace fs = std::filesystem;
  fs::path base = fs::path(root).lexically_normal();
  if (root.empty() && !gallery.entries.empty()) {
    base = fs::path(gallery.entries.front().path).lexically_normal().parent_path();
    for (const auto& e : gallery.entries) {
      const fs::path dir = fs::path(e.path).lexically_normal().parent_path();
      // Shorten base until it holds dir.
      while (!base.empty() && !stays_inside(dir.lexically_relative(base))) {
        base = base.parent_path() == base ? fs::path() : base.parent_path();
      }
    }
  }
  std::vector<std::string> out;
  out.reserve(gallery.entries.size());
  for (const auto& e : gallery.entries) {
    const fs::path p = fs::path(e.path).lexically_normal();
    const fs::path rel = base.empty() ? p.filename() : p.lexically_relative(base);
    out.push_back(stays_inside(rel) ? rel.generic_string() : p.filename().string());
  }
  return out;
}

// A non-negative decimal integer, or nothing.
std::optional<int64_t> parse_count(std::string_view text) {
  if (text.empty() || text.size() > kMaxNumberDigits) return std::nullopt;
  int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

bool json_depth_within(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

// Checks the shape and size of {"strokes": [[[x...], [y...]], ...]}, then lets the QuickDraw
// parser check the values (finite, in range, equal lengths).
data::Drawing parse_strokes_body(std::string_view body, const ServiceOptions& options) {
  if (!json_depth_within(body, kMaxJsonDepth)) {
    throw HttpError(400,
                    "the JSON body is nested too deeply; send {\"strokes\": [[[x...], "
                    "[y...]], ...]}");
  }
  const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    throw HttpError(400, "the body is not valid JSON; send {\"strokes\": [[[x...], [y...]], ...]}");
  }
  if (!json.is_object() || !json.contains("strokes")) {
    throw HttpError(400,
                    "the JSON body must be an object with a \"strokes\" array: "
                    "{\"strokes\": [[[x...], [y...]], ...]}");
  }
  const auto& strokes = json["strokes"];
  if (!strokes.is_array() || strokes.empty()) {
    throw HttpError(400, "\"strokes\" must be a non-empty array of strokes [[x...], [y...]]");
  }
  if (static_cast<int64_t>(strokes.size()) > options.max_strokes) {
    throw HttpError(413, detail::concat("the drawing has ", strokes.size(),
                                        " strokes, over the limit of ", options.max_strokes));
  }
  int64_t points = 0;
  for (size_t i = 0; i < strokes.size(); ++i) {
    const auto& s = strokes[i];
    if (!s.is_array() || s.size() != 2 || !s[0].is_array() || !s[1].is_array()) {
      throw HttpError(400, detail::concat("stroke ", i,
                                          " must be [[x0, x1, ...], [y0, y1, ...]] (two arrays)"));
    }
    points += static_cast<int64_t>(s[0].size());
  }
  if (points > options.max_points) {
    throw HttpError(413, detail::concat("the drawing has ", points, " points, over the limit of ",
                                        options.max_points, "; simplify it"));
  }
  try {
    return data::parse_drawing(dump(strokes), "strokes");
  } catch (const Error& e) {
    throw HttpError(400, e.what());
  }
}

torch::Tensor embed_upload(const LoadedIndex& index, std::string_view body, const std::string& type,
                           const ServiceOptions& options) {
  if (type == "application/json") {
    const data::Drawing drawing = parse_strokes_body(body, options);
    try {
      return index.embedder->embed_drawing(drawing);
    } catch (const Error& e) {
      throw HttpError(422, detail::concat("cannot embed the drawing: ", e.what()));
    }
  }
  // The bytes must be what the type says: OpenCV would decode other formats too, and only PNG
  // and JPEG headers are checked against the pixel limit before decoding.
  const bool png = body.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8);
  const bool jpeg = body.substr(0, 3) == std::string_view("\xFF\xD8\xFF", 3);
  if (type == "image/png" ? !png : !jpeg) {
    throw HttpError(400, "the body is not a " + std::string(type == "image/png" ? "PNG" : "JPEG") +
                             " image (Content-Type is " + type + ")");
  }
  data::DecodeOptions decode;
  decode.max_pixels = options.max_image_pixels;
  decode.max_side = options.max_query_side;
  torch::Tensor image;
  try {
    image = data::decode_image_bytes(body, "request body", decode);
  } catch (const data::ImageTooLargeError& e) {
    throw HttpError(413, e.what());
  } catch (const Error& e) {
    throw HttpError(400, e.what());
  }
  try {
    return index.embedder->embed_images({image}, model::kSketch);
  } catch (const Error& e) {
    throw HttpError(422, detail::concat("cannot embed the image: ", e.what()));
  }
}

std::string encode_thumbnail(const torch::Tensor& rgb, const ServiceOptions& options) {
  const auto hwc = rgb.permute({1, 2, 0}).contiguous();
  const cv::Mat view(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3,
                     hwc.data_ptr<uint8_t>());
  cv::Mat bgr;
  cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
  const int longer = std::max(bgr.cols, bgr.rows);
  if (longer > options.thumbnail_size) {
    const double scale = static_cast<double>(options.thumbnail_size) / longer;
    const int w = std::max(1, static_cast<int>(std::lround(bgr.cols * scale)));
    const int h = std::max(1, static_cast<int>(std::lround(bgr.rows * scale)));
    cv::Mat small;
    cv::resize(bgr, small, cv::Size(w, h), 0, 0, cv::INTER_AREA);
    bgr = small;
  }
  std::vector<uchar> jpeg;
  HCMSN_ASSERT(cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, options.jpeg_quality}),
               "OpenCV could not encode a JPEG");
  return std::string(jpeg.begin(), jpeg.end());
}

}  // namespace

HttpError::HttpError(int status, const std::string& message)
    : std::runtime_error(message), status_(status) {}

Response error_response(int status, const std::string& message) {
  return json_response({{"error", message}}, status);
}

std::shared_ptr<const index::Searcher> make_exact_searcher(const index::Gallery& gallery) {
  return std::make_shared<index::ExactSearcher>(gallery.embeddings, gallery.curvature);
}

LoadedIndex load_index(const std::string& gallery_path, const std::string& run_dir_override,
                       const SearcherFactory& make_searcher, const std::string& device) {
  LoadedIndex loaded;
  auto gallery = std::make_shared<index::Gallery>(index::load_gallery(gallery_path));
  loaded.embedder = index::gallery_embedder(*gallery, run_dir_override, device);
  loaded.searcher = make_searcher(*gallery);
  loaded.gallery = std::move(gallery);
  return loaded;
}

SearchService::SearchService(ServiceOptions options) : options_(std::move(options)) {
  HCMSN_CHECK(
      options_.max_k >= 1 && options_.default_k >= 1 && options_.default_k <= options_.max_k,
      "need 1 <= default k <= max k, got ", options_.default_k, " and ", options_.max_k);
  HCMSN_CHECK(
      options_.max_image_pixels >= 1 && options_.max_strokes >= 1 && options_.max_points >= 1,
      "image and drawing limits must be positive");
  HCMSN_CHECK(options_.thumbnail_size >= 16, "thumbnail size must be at least 16 pixels, got ",
              options_.thumbnail_size);
  HCMSN_CHECK(options_.jpeg_quality >= 1 && options_.jpeg_quality <= 100,
              "JPEG quality must be in [1, 100], got ", options_.jpeg_quality);
}

SearchService::~SearchService() {
  if (loader_.joinable()) loader_.join();
}

void SearchService::set_loaded(LoadedIndex loaded) {
  HCMSN_CHECK(loaded.gallery && loaded.embedder && loaded.searcher,
              "a search service needs a gallery, an embedder and a searcher");
  const auto& g = *loaded.gallery;
  HCMSN_CHECK(g.size() > 0, "the gallery has no photos; index a folder of photos first");
  index::check_embedder_fits(*loaded.embedder, g);
  auto paths = std::make_shared<const std::vector<std::string>>(
      public_paths(*loaded.gallery, options_.photo_root));
  auto ready = std::make_shared<const LoadedIndex>(std::move(loaded));
  std::lock_guard<std::mutex> lock(mutex_);
  loaded_ = std::move(ready);
  public_paths_ = std::move(paths);
  load_error_.clear();
}

void SearchService::start_loading(std::function<LoadedIndex()> load) {
  HCMSN_CHECK(!loader_.joinable(), "start_loading may be called once");
  loader_ = std::thread([this, load = std::move(load)] {
    try {
      const auto started = std::chrono::steady_clock::now();
      set_loaded(load());
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
      util::log_info("index loaded in {:.2f} s", took.count());
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      load_error_ = e.what();
    }
  });
}

bool SearchService::ready() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return loaded_ != nullptr;
}

std::string SearchService::load_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return load_error_;
}

std::shared_ptr<const LoadedIndex> SearchService::loaded_or_throw() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (loaded_) return loaded_;
  if (!load_error_.empty()) {
    throw HttpError(503, "the index failed to load; the server's log says why");
  }
  throw HttpError(503, "the index is still loading; retry in a moment");
}

Response SearchService::health() const {
  std::shared_ptr<const LoadedIndex> loaded;
  std::string error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    loaded = loaded_;
    error = load_error_;
  }
  if (!loaded) {
    if (!error.empty()) {
      // The reason names server files: it is in the server's log (hcmsn serve prints it).
      return json_response(
          {{"status", "failed"}, {"error", "the index failed to load; the server's log says why"}},
          503);
    }
    return json_response(
        {{"status", "loading"}, {"error", "the index is still loading; retry in a moment"}}, 503);
  }
  const auto& g = *loaded->gallery;
  return json_response({{"status", "ok"},
                        {"photos", g.size()},
                        {"classes", g.class_names().size()},
                        {"dim", g.dim()},
                        {"curvature", g.curvature},
                        {"backend", loaded->searcher->name()},
                        {"max_k", options_.max_k},
                        {"default_k", options_.default_k}});
}

Response SearchService::classes() const {
  const auto loaded = loaded_or_throw();
  std::map<std::string, int64_t> counts;
  for (const auto& entry : loaded->gallery->entries) {
    if (!entry.class_name.empty()) ++counts[entry.class_name];
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, n] : counts) list.push_back({{"name", name}, {"photos", n}});
  return json_response({{"classes", std::move(list)}});
}

Response SearchService::search(std::string_view body, std::string_view content_type,
                               std::string_view k_text) const {
  const auto started = std::chrono::steady_clock::now();
  const auto loaded = loaded_or_throw();
  int64_t k = options_.default_k;
  if (!k_text.empty()) {
    const auto parsed = parse_count(k_text);
    if (!parsed || *parsed < 1 || *parsed > options_.max_k) {
      throw HttpError(400, detail::concat("k must be an integer in [1, ", options_.max_k,
                                          "], got '", k_text.substr(0, 32), "'"));
    }
    k = *parsed;
  }
  const std::string type = media_type(content_type);
  if (type != "application/json" && type != "image/png" && type != "image/jpeg") {
    throw HttpError(415, type.empty() ? "missing Content-Type: send image/png, image/jpeg or "
                                        "application/json ({\"strokes\": ...})"
                                      : "unsupported Content-Type '" + type.substr(0, 64) +
                                            "': send image/png, image/jpeg or application/json");
  }
  if (body.empty()) throw HttpError(400, "the request body is empty; send a sketch");

  const torch::Tensor query = embed_upload(*loaded, body, type, options_);
  const index::Neighbors found = loaded->searcher->search(query, k);
  // The shape `hcmsn query --json` prints too (index/gallery.h), with the paths clients see.
  nlohmann::json results =
      index::result_entries(*loaded->gallery, found.ids, found.distances, /*row=*/0);
  std::shared_ptr<const std::vector<std::string>> paths;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    paths = public_paths_;
  }
  for (auto& r : results) r["path"] = paths->at(r["id"].get<size_t>());
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  return json_response({{"results", std::move(results)}, {"k", k}, {"seconds", took.count()}});
}

Response SearchService::photo(std::string_view id_text) const {
  const auto loaded = loaded_or_throw();
  const auto id = parse_count(id_text);
  if (!id) {
    throw HttpError(400, "a photo id is a gallery row number (0, 1, 2, ...), got '" +
                             std::string(id_text.substr(0, 32)) + "'");
  }
  const auto& entries = loaded->gallery->entries;
  if (*id >= static_cast<int64_t>(entries.size())) {
    throw HttpError(
        404, detail::concat("no photo ", *id, "; the gallery's ids are 0 to ", entries.size() - 1));
  }
  torch::Tensor rgb;
  try {
    rgb = data::decode_image_file(entries[*id].path);
  } catch (const Error& e) {
    // The reason names the server's file: it goes to the log, not to the client.
    util::log_warn("photo {} cannot be read: {}", *id, e.what());
    throw HttpError(404, detail::concat("photo ", *id,
                                        " cannot be read on the server (missing or damaged); the "
                                        "server's log says why"));
  }
  return Response{200, "image/jpeg", encode_thumbnail(rgb, options_)};
}

}  // namespace hcmsn::serve
