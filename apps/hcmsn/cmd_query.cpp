// hcmsn query: the nearest gallery photos of sketches (images, QuickDraw strokes, folders and
// lists of them), with the model loaded once and the sketches embedded in batches; a table per
// sketch, or JSON Lines (one object per sketch) for a file or a pipe.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "commands.h"
#include "device_flag.h"
#include "hcmsn/index/embedder.h"
#include "hcmsn/index/gallery.h"
#include "hcmsn/index/indexer.h"
#include "hcmsn/index/searcher_factory.h"
#include "hcmsn/index/sketch_search.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"
#include "output_flags.h"
#include "sketch_flags.h"

namespace hcmsn::cli {
namespace {

using json = nlohmann::json;

struct QueryCommandOptions {
  std::string index;
  SketchFlags sketches;
  std::string run;
  std::string device = "cpu";
  int64_t k = 10;
  std::string json_out;
  bool quiet = false;
  bool force = false;
  // Exact by default, whatever the batch: its answers are the true nearest photos. FAISS pays
  // for its build (13 s at 100k photos) from about 300 queries on such a gallery (50 ms exact
  // against 3 ms per query, index/searcher_factory.h), so it is asked for, not guessed.
  index::BackendOptions backend = [] {
    index::BackendOptions b;
    b.kind = "exact";
    return b;
  }();
};

void print_table(std::ostream& out, const json& results, int64_t gallery_size, double seconds) {
  out << fmt::format("{:>4}  {:>8}  {:>9}  {:<16}  {}\n", "rank", "id", "distance", "class",
                     "path");
  int rank = 0;
  for (const auto& r : results) {
    out << fmt::format("{:>4}  {:>8}  {:>9.4f}  {:<16}  {}\n", ++rank, r["id"].get<int64_t>(),
                       r["distance"].get<double>(),
                       r["class"].is_null() ? "-" : r["class"].get<std::string>(),
                       r["path"].get<std::string>());
  }
  out << fmt::format("{} of {} photos in {:.3f} s\n", results.size(), gallery_size, seconds);
}

// One JSON Lines record, written by hand so that the keys keep this order ("query" first).
std::string json_line(const index::QuerySketch& s, const index::SketchAnswer& a,
                      const json& results) {
  std::string line = "{\"query\":" + json(s.id).dump() +
                     ",\"class\":" + (s.class_name.empty() ? "null" : json(s.class_name).dump()) +
                     ",\"results\":" + results.dump() + ",\"seconds\":" + json(a.seconds).dump();
  if (!a.error.empty()) line += ",\"error\":" + json(a.error).dump();
  return line + "}";
}

// The table of one answer; with several sketches, headed by the sketch's id and class.
void print_answer(const index::QuerySketch& s, const index::SketchAnswer& a, const json& results,
                  bool many, int64_t gallery_size) {
  if (many) {
    std::cout << fmt::format("{}query {}{}\n", a.sketch == 0 ? "" : "\n", s.id,
                             s.class_name.empty() ? "" : " (" + s.class_name + ")");
  }
  if (a.error.empty()) {
    print_table(std::cout, results, gallery_size, a.seconds);
  } else if (many) {
    std::cout << "unreadable: " << a.error << "\n";
  }
}

int run_query(const QueryCommandOptions& o) {
  HCMSN_CHECK(o.k >= 1, "-k must be >= 1, got ", o.k);
  io::OutputGuard guard(o.force);
  add_sketch_inputs(guard, o.index, o.run, o.sketches);
  guard.output_or_stdout("--json", o.json_out, io::OutputKind::json()).check();
  const std::vector<index::QuerySketch> sketches = collect_sketches(o.sketches);
  const index::Gallery gallery = index::load_gallery(o.index);
  HCMSN_CHECK(gallery.size() > 0, "gallery '", o.index, "' is empty; add photos with hcmsn index");
  const auto embedder = index::gallery_embedder(gallery, o.run, o.device);
  const auto searcher = index::make_searcher(gallery, o.backend);

  // With --json -, standard output carries only the JSON lines (`| jq` works); with --json FILE
  // they go to the file in one atomic write. Tables are printed only without --json: for a
  // batch, JSON is the result and thousands of tables would bury the warnings.
  const bool write_json = !o.json_out.empty();
  const bool to_stdout = o.json_out == "-";
  const bool many = sketches.size() > 1;
  std::string lines;
  std::vector<std::pair<size_t, std::string>> unreadable;
  index::SketchSearchOptions options;
  options.k = o.k;
  options.progress = !o.quiet && write_json && many;
  index::search_sketches(
      *embedder, *searcher, sketches, options, [&](const index::SketchAnswer& a) {
        const index::QuerySketch& s = sketches[a.sketch];
        json results = json::array();
        if (a.error.empty()) {
          results = index::result_entries(gallery, a.ids.unsqueeze(0), a.distances.unsqueeze(0), 0);
        } else {
          unreadable.emplace_back(a.sketch, a.error);
        }
        if (!write_json) {
          print_answer(s, a, results, many, gallery.size());
        } else if (to_stdout) {
          std::cout << json_line(s, a, results) << "\n" << std::flush;
        } else {
          lines += json_line(s, a, results) + "\n";
        }
      });
  if (unreadable.size() == sketches.size() && !many) {
    // One sketch that cannot be read is the command's failure, with the reason.
    throw Error(unreadable.front().second);
  }
  warn_unreadable(sketches, unreadable);
  HCMSN_CHECK(unreadable.size() < sketches.size(), "none of the ", sketches.size(),
              " sketches could be read (the reasons are listed above)");
  if (write_json && !to_stdout) {
    util::write_file_atomic(o.json_out, lines);
    util::log_info("wrote {}: {} queries against {} photos", o.json_out, sketches.size(),
                   gallery.size());
  }
  return 0;
}

}  // namespace

void add_query_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<QueryCommandOptions>();
  auto* cmd = app.add_subcommand(
      "query",
      "Nearest gallery photos of sketches: sketch files, and folders or lists of them "
      "(--sketches), with the model loaded once. One table per sketch, or with --json one JSON "
      "object per line: {\"query\", \"class\", \"results\": [{\"id\", \"path\", \"class\", "
      "\"distance\"}...], \"seconds\"} (and \"error\" for a sketch that cannot be read).");
  cmd->add_option("--index", o->index, "gallery file made by hcmsn index")->required();
  add_sketch_flags(cmd, o->sketches);
  cmd->add_option("-k,--k", o->k, "results per sketch")->capture_default_str();
  add_json_option(cmd, o->json_out, "the answers, one JSON object per line (JSON Lines)");
  add_force_flag(cmd, o->force, "an existing --json FILE");
  cmd->add_option("--run", o->run, "the gallery's run folder, if it moved");
  cmd->add_option("--backend", o->backend.kind,
                  "exact; faiss (an index built once per call: pays off from a few hundred "
                  "sketches on 100k+ photos); or auto: faiss from --faiss-from photos")
      ->check(CLI::IsMember({"exact", "faiss", "auto"}))
      ->capture_default_str();
  cmd->add_option("--faiss-from", o->backend.auto_threshold,
                  "gallery size from which --backend auto uses faiss")
      ->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "no progress bar");
  add_device_option(cmd, o->device);
  cmd->callback([o, &exit_code] { exit_code = run_query(*o); });
}

}  // namespace hcmsn::cli
