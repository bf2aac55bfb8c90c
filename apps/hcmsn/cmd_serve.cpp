// hcmsn serve: the search API and the drawing page over a gallery index (serve/http_server.h).
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "commands.h"
#include "device_flag.h"
#include "hcmsn/index/searcher_factory.h"
#include "hcmsn/serve/http_server.h"
#include "hcmsn/serve/search_service.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/interrupt.h"
#include "hcmsn/util/log.h"

namespace hcmsn::cli {
namespace {

struct ServeOptions {
  std::string index;
  std::string run_override;
  std::string device = "cpu";
  index::BackendOptions backend;
  serve::ServiceOptions service;
  serve::HttpServerOptions http;
};

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

int run_serve(const ServeOptions& o) {
  auto service = std::make_shared<serve::SearchService>(o.service);
  serve::HttpServer server(service, o.http);
  util::install_interrupt_handler();
  // Listen first, load after: /api/health answers 503 until the model and gallery are in.
  server.start();
  util::log_info("serving {} on {} (Ctrl-C stops)", o.index, server.url());
  if (!is_loopback(o.http.host)) {
    util::log_warn("listening on {}: anyone who can reach this address can query the gallery",
                   o.http.host);
  }
  service->start_loading([o] {
    return serve::load_index(
        o.index, o.run_override,
        [&o](const index::Gallery& gallery) { return index::make_searcher(gallery, o.backend); },
        o.device);
  });
  // A gallery that cannot be loaded ends the command (exit 1) rather than leaving a server that
  // can only answer 503.
  while (!util::interrupt_requested() && service->load_error().empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  server.stop();
  const std::string error = service->load_error();
  HCMSN_CHECK(error.empty(), "cannot serve ", o.index, ": ", error);
  util::log_info("stopped");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand(
      "serve",
      "Serve a gallery index: a JSON search API (POST /api/search with a PNG/JPEG sketch or "
      "QuickDraw strokes) and a drawing page at /, on loopback by default.");
  cmd->add_option("--index", o->index, "gallery file written by `hcmsn index`")->required();
  add_device_option(cmd, o->device);
  cmd->add_option("--run", o->run_override,
                  "run folder to embed queries with, instead of the one the gallery recorded");
  cmd->add_option("--backend", o->backend.kind,
                  "exact, faiss (IVF over the exact Poincare-to-L2 transform, exact re-ranking), "
                  "or auto: faiss from --faiss-from photos")
      ->check(CLI::IsMember({"exact", "faiss", "auto"}))
      ->capture_default_str();
  cmd->add_option("--faiss-from", o->backend.auto_threshold,
                  "gallery size from which --backend auto uses faiss")
      ->capture_default_str();
  cmd->add_option("--nprobe", o->backend.faiss.nprobe,
                  "faiss: lists probed per query (0: max(16, lists/128))")
      ->capture_default_str();
  cmd->add_option("--host", o->http.host, "address to listen on (0.0.0.0: every interface)")
      ->envname("HCMSN_SERVE_HOST")
      ->capture_default_str();
  cmd->add_option("--port", o->http.port, "port to listen on (0: any free port)")
      ->envname("HCMSN_SERVE_PORT")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--http-threads", o->http.threads,
                  "threads that run searches and thumbnails (connections hold none)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-connections", o->http.max_connections,
                  "connections open at once; more get 503 (with --max-body-bytes, the bound on "
                  "the memory requests take)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-connections-per-client", o->http.max_connections_per_client,
                  "connections open at once from one client address; more get 503 (clients "
                  "behind one proxy share an address)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-searches", o->http.max_concurrent_searches,
                  "searches running at once; more wait up to --search-wait ms, then get 503 (0 = "
                  "one per core)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--search-wait", o->http.search_wait_ms,
                  "ms a search waits for a free slot before 503 busy")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", o->http.max_body_bytes, "largest request body (413 above)")
      ->capture_default_str();
  cmd->add_option("--timeout", o->http.read_timeout_s,
                  "seconds a client may take to send a whole request (headers and body)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-k", o->service.max_k, "largest k a search may ask for")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--default-k", o->service.default_k, "k of a search without ?k=")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-image-pixels", o->service.max_image_pixels,
                  "largest uploaded image, width x height (413 above)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-query-side", o->service.max_query_side,
                  "longest side of an uploaded sketch, pixels (413 above, refused before decoding)")
      ->check(CLI::Range(32, 16384))
      ->capture_default_str();
  cmd->add_option("--photo-root", o->service.photo_root,
                  "results give photo paths relative to this folder (default: the deepest folder "
                  "holding every photo); the server's absolute paths are never sent")
      ->capture_default_str();
  cmd->add_option("--thumbnail-size", o->service.thumbnail_size,
                  "longer side of /api/photos thumbnails, pixels")
      ->check(CLI::Range(16, 4096))
      ->capture_default_str();
  cmd->callback([o, &exit_code] { exit_code = run_serve(*o); });
}

}  // namespace hcmsn::cli
