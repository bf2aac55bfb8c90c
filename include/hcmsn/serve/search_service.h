// The search service behind `hcmsn serve`: sketch in, ranked gallery photos out, as plain request
// data and response structs, so that it is tested without HTTP (http_server.h is a thin layer).
//
// Contract: every method answers a Response or throws HttpError (status 4xx/5xx, a message for
// the client); they never crash on input. Error bodies are JSON {"error": "..."}.
// Request data is validated here: content types, k, the JSON shape and size of drawings, image
// pixel counts (decompression bombs). Photos are addressed by gallery row number only, never by
// a path taken from the request, so no request can reach another file.
//
// Loading: a service starts empty (health() answers 503 "loading", the other methods throw 503)
// and becomes ready when set_loaded() installs the index; start_loading() does that on a
// background thread so a server can listen at once. Methods are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "hcmsn/index/embedder.h"
#include "hcmsn/index/exact_search.h"
#include "hcmsn/index/gallery.h"

namespace hcmsn::serve {

struct ServiceOptions {
  int64_t default_k = 10;
  int64_t max_k = 100;
  /// Uploaded images with more pixels are refused (413) from their header, before decoding.
  int64_t max_image_pixels = int64_t{16} << 20;
  /// Bounds on a JSON drawing, so that a small body cannot cost seconds of rendering.
  int64_t max_strokes = 500;
  int64_t max_points = 50000;  // over all strokes
  /// Uploaded images with a longer side are refused (413) from their header, before decoding: a
  /// sketch needs a few hundred pixels a side, and this bounds one query's decoded memory
  /// (1024² RGB pixels: 3 MiB).
  int64_t max_query_side = 1024;
  /// Results name photos by their path relative to this folder (the operator's choice of what
  /// clients see); empty: the deepest folder holding every photo of the gallery. Never the
  /// server's absolute paths.
  std::string photo_root;
  /// Longer side of /api/photos thumbnails, in pixels; smaller photos are not enlarged.
  int64_t thumbnail_size = 256;
  int jpeg_quality = 85;
};

/// An answer to the client: status, Content-Type and body.
struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

/// A request the service refuses; `status()` is the HTTP status (4xx or 5xx) and `what()` the
/// message for the client.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message);
  int status() const { return status_; }

 private:
  int status_;
};

/// {"error": message} with `status`: the one shape of every error body.
Response error_response(int status, const std::string& message);

/// What a ready service searches with. The searcher holds the gallery's embeddings.
struct LoadedIndex {
  std::shared_ptr<const index::Gallery> gallery;
  std::shared_ptr<const index::Embedder> embedder;
  std::shared_ptr<const index::Searcher> searcher;
};

/// Builds a searcher over a loaded gallery (the exact backend, or e.g. FAISS).
using SearcherFactory =
    std::function<std::shared_ptr<const index::Searcher>(const index::Gallery& gallery)>;
/// The exact backend (index/exact_search.h).
std::shared_ptr<const index::Searcher> make_exact_searcher(const index::Gallery& gallery);

/// Loads a gallery file, rebuilds its embedder (`run_dir_override`: see Embedder::from_spec) and
/// builds the searcher. Throws hcmsn::Error when the file or run cannot be read, or when the
/// embedder does not match the gallery (dimension, curvature).
/// `device`: where the embedder's network runs (index::EmbedderOptions::device).
LoadedIndex load_index(const std::string& gallery_path, const std::string& run_dir_override = "",
                       const SearcherFactory& make_searcher = make_exact_searcher,
                       const std::string& device = "cpu");

class SearchService {
 public:
  explicit SearchService(ServiceOptions options = {});
  /// Waits for a background load to finish (a model load cannot be interrupted).
  ~SearchService();
  SearchService(const SearchService&) = delete;
  SearchService& operator=(const SearchService&) = delete;

  /// Makes the service ready. Throws hcmsn::Error on a missing part or a dimension mismatch.
  void set_loaded(LoadedIndex loaded);
  /// Runs `load` on a background thread, then set_loaded(); a failure is kept and reported by
  /// health() (503 with the message). Call at most once.
  void start_loading(std::function<LoadedIndex()> load);
  bool ready() const;
  /// The message of a failed background load; empty while loading or once ready.
  std::string load_error() const;

  /// 200 {"status": "ok", "photos", "classes", "dim", "curvature", "backend"} when ready;
  /// 503 {"status": "loading"|"failed", "error"} otherwise.
  Response health() const;
  /// 200 {"classes": [{"name", "photos"}...]}, sorted by name.
  Response classes() const;
  /// `body`: PNG/JPEG bytes (content type image/png or image/jpeg) or JSON {"strokes": [[[x...],
  /// [y...]], ...]} (application/json, QuickDraw simplified format). `k_text`: the k query
  /// parameter, empty for the default. 200 {"results": [{"id", "path", "class", "distance"}...],
  /// "k", "seconds"}, nearest first; "path" is relative to the photo root (ServiceOptions).
  Response search(std::string_view body, std::string_view content_type,
                  std::string_view k_text) const;
  /// `id_text`: a gallery row number in decimal. 200 image/jpeg, the photo with its longer side
  /// at most thumbnail_size.
  Response photo(std::string_view id_text) const;

  const ServiceOptions& options() const { return options_; }

 private:
  std::shared_ptr<const LoadedIndex> loaded_or_throw() const;

  ServiceOptions options_;
  mutable std::mutex mutex_;
  std::shared_ptr<const LoadedIndex> loaded_;  // null until ready
  /// Per gallery row: the path clients see (relative to the photo root).
  std::shared_ptr<const std::vector<std::string>> public_paths_;
  std::string load_error_;  // non-empty after a failed load
  std::thread loader_;
};

}  // namespace hcmsn::serve
