// hcmsn query: the nearest gallery photos of one sketch (an image, or QuickDraw strokes as
// JSON), as a table or as the JSON of the service's POST /api/search.
#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <memory>

#include "commands.h"
#include "hcmsn/data/image_decode.h"
#include "hcmsn/data/quickdraw_strokes.h"
#include "hcmsn/index/embedder.h"
#include "hcmsn/index/gallery.h"
#include "hcmsn/index/searcher_factory.h"
#include "hcmsn/model/hcmsn_model.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"

namespace hcmsn::cli {
namespace {

struct QueryCommandOptions {
  std::string index;
  std::string sketch;
  std::string run;
  int64_t k = 10;
  bool json = false;
  // One query: an exact scan costs less than building an approximate index.
  index::BackendOptions backend = [] {
    index::BackendOptions b;
    b.kind = "exact";
    return b;
  }();
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int run_query(const QueryCommandOptions& o) {
  HCMSN_CHECK(o.k >= 1, "-k must be >= 1, got ", o.k);
  const index::Gallery gallery = index::load_gallery(o.index);
  HCMSN_CHECK(gallery.size() > 0, "gallery '", o.index, "' is empty; add photos with hcmsn index");
  const auto embedder = index::Embedder::from_spec(gallery.embedder, o.run);
  const auto start = std::chrono::steady_clock::now();
  torch::Tensor query;
  if (ends_with(o.sketch, ".json") || ends_with(o.sketch, ".ndjson")) {
    std::string text = util::read_file(o.sketch);
    if (ends_with(o.sketch, ".ndjson")) text = text.substr(0, text.find('\n'));
    query = embedder->embed_drawing(data::parse_drawing(text, o.sketch));
  } else {
    query = embedder->embed_images({data::decode_image_file(o.sketch)}, model::kSketch);
  }
  const index::Neighbors found = index::make_searcher(gallery, o.backend)->search(query, o.k);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const nlohmann::json results = index::result_entries(gallery, found.ids, found.distances, 0);
  if (o.json) {
    std::cout << nlohmann::json{{"results", results}, {"seconds", seconds}}.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("{:>4}  {:>8}  {:>9}  {:<16}  {}\n", "rank", "id", "distance", "class",
                           "path");
  int rank = 0;
  for (const auto& r : results) {
    std::cout << fmt::format("{:>4}  {:>8}  {:>9.4f}  {:<16}  {}\n", ++rank, r["id"].get<int64_t>(),
                             r["distance"].get<double>(),
                             r["class"].is_null() ? "-" : r["class"].get<std::string>(),
                             r["path"].get<std::string>());
  }
  std::cout << fmt::format("{} of {} photos in {:.3f} s\n", results.size(), gallery.size(),
                           seconds);
  return 0;
}

}  // namespace

void add_query_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<QueryCommandOptions>();
  auto* cmd = app.add_subcommand(
      "query",
      "Nearest gallery photos of a sketch: a PNG/JPEG image, or QuickDraw strokes in a .json "
      "([[[x...],[y...]],...] or {\"drawing\": ...}) or the first line of an .ndjson file.");
  cmd->add_option("--index", o->index, "gallery file made by hcmsn index")->required();
  cmd->add_option("sketch", o->sketch, "the sketch")->required();
  cmd->add_option("-k,--k", o->k, "number of results")->capture_default_str();
  cmd->add_flag("--json", o->json, "print the JSON of POST /api/search");
  cmd->add_option("--run", o->run, "the gallery's run folder, if it moved");
  cmd->add_option("--backend", o->backend.kind, "exact or faiss (built for this one query)")
      ->check(CLI::IsMember({"exact", "faiss"}))
      ->capture_default_str();
  cmd->callback([o, &exit_code] { exit_code = run_query(*o); });
}

}  // namespace hcmsn::cli
