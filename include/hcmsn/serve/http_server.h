// The HTTP layer of `hcmsn serve` over SearchService (search_service.h), event-driven on
// Boost.Beast (Debian's libboost-dev): connections hold no thread, so slow or idle clients cannot
// take the server's threads away from others.
//
//   GET  /                  the drawing page (web/index.html, compiled in)
//   GET  /api/health        200 when the index is loaded, 503 while loading or after a failure
//   GET  /api/classes       the gallery's classes and photo counts
//   POST /api/search?k=N    a sketch (PNG/JPEG, or JSON strokes) → the k nearest photos
//   GET  /api/photos/<id>   photo <id> (a gallery row number) as a JPEG thumbnail
//
// Every error is a JSON body {"error": "..."} with a 4xx/5xx status: an unknown path 404, a known
// path with the wrong method 405 (with Allow), a malformed request 400 (answered as soon as it is
// seen, then the connection closes), ambiguous framing (two different Content-Length values,
// Content-Length with Transfer-Encoding) 400, a body over max_body_bytes 413, a URI over
// max_target_bytes 414, headers over max_header_bytes 431, a handler failure 500, no search slot
// free within search_wait_ms 503, no connection free (in all, or for this client address) 503.
// Handlers never throw. Range headers are ignored: every answer is whole (200, never 206).
//
// Deadlines: a request (line, headers and body) must arrive within read_timeout_s of the moment
// the server starts reading it (after keep_alive_timeout_s more of idling on a kept-alive
// connection); a response must be taken within write_timeout_s. A client past its deadline is
// disconnected. Pipelined requests are answered one by one, in order.
//
// Memory: at most max_connections connections, each buffering at most one request
// (max_header_bytes + max_body_bytes), and max_concurrent_searches searches, each decoding at most
// ServiceOptions::max_query_side² pixels: with the defaults 128 × 2 MiB = 256 MiB of requests,
// plus about 16 MiB per running search (an estimate: 3 MiB of pixels and their float copies).
// Binds to loopback unless told otherwise.
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
  size_t max_body_bytes = size_t{2} << 20;
  size_t max_header_bytes = size_t{16} << 10;
  size_t max_target_bytes = 8192;
  /// Seconds a client has to send a whole request (not per read: the total).
  int read_timeout_s = 5;
  int write_timeout_s = 5;
  /// Seconds a kept-alive connection may idle before its next request.
  int keep_alive_timeout_s = 5;
  /// Requests one connection may send before the server closes it.
  int keep_alive_max_requests = 100;
  /// Threads that run searches and thumbnails (the CPU work); connections hold none.
  int threads = 8;
  /// Connections open at once; a connection beyond is answered 503 and closed.
  int max_connections = 128;
  /// Connections open at once from one client address (503 beyond), so that one client cannot
  /// take every connection. Clients behind one proxy share an address: raise it there.
  int max_connections_per_client = 64;
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

  /// Binds and serves on background threads; returns once connections are accepted. Throws
  /// hcmsn::Error when the address cannot be bound (in use, not local, bad host).
  void start();
  /// Stops accepting, closes idle connections, lets the requests in flight finish (for up to
  /// write_timeout_s), and joins the threads. Idempotent.
  void stop();
  bool running() const;
  /// The bound port (after start()).
  int port() const;
  /// "http://host:port/".
  std::string url() const;
  /// Connections open now (for tests and the log).
  int connections() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hcmsn::serve
