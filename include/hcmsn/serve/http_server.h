// The HTTP layer of `hcmsn serve` over SearchService (search_service.h), with cpp-httplib:
//
//   GET  /                  the drawing page (web/index.html, compiled in)
//   GET  /api/health        200 when the index is loaded, 503 while loading or after a failure
//   GET  /api/classes       the gallery's classes and photo counts
//   POST /api/search?k=N    a sketch (PNG/JPEG, or JSON strokes) → the k nearest photos
//   GET  /api/photos/<id>   photo <id> (a gallery row number) as a JPEG thumbnail
//
// Every error is a JSON body {"error": "..."} with a 4xx/5xx status: an unknown path 404, a known
// path with the wrong method 405, a body over max_body_bytes 413, a URI over cpp-httplib's 8192
// bytes 414, a handler failure 500, no search slot free within search_wait_ms 503 (the queue of
// searches is bounded instead of growing without limit). Handlers never throw. Slow clients are
// cut off by the read/write timeouts. Binds to loopback unless told otherwise.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "hcmsn/serve/search_service.h"

namespace hcmsn::serve {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  /// 0 picks a free port; port() reports it after start().
  int port = 8080;
  size_t max_body_bytes = size_t{8} << 20;
  int read_timeout_s = 5;
  int write_timeout_s = 5;
  int keep_alive_timeout_s = 5;
  /// Requests one connection may send before the server closes it (cpp-httplib's default is 5).
  int keep_alive_max_requests = 100;
  /// Connection threads. A keep-alive connection holds one while it stays open.
  int threads = 8;
  /// Searches running at once (each uses the CPU fully); 0 = one per available core.
  int max_concurrent_searches = 0;
  /// How long a search waits for a free slot before the answer is 503 "busy".
  int search_wait_ms = 2000;
};

class HttpServer {
 public:
  HttpServer(std::shared_ptr<SearchService> service, HttpServerOptions options = {});
  /// Stops the server if it runs.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and serves on a background thread; returns once requests are accepted. Throws
  /// hcmsn::Error when the address cannot be bound (in use, not local, bad host).
  void start();
  /// Stops accepting, finishes the requests in flight and joins the threads. Idempotent.
  void stop();
  bool running() const;
  /// The bound port (after start()).
  int port() const;
  /// "http://host:port/".
  std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hcmsn::serve
