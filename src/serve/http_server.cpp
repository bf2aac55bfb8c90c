#include "hcmsn/serve/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include "hcmsn/serve/web_page.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"
#include "hcmsn/util/threads.h"

namespace hcmsn::serve {
namespace {

constexpr char kPhotoPrefix[] = "/api/photos/";

// A counting semaphore with a deadline: the bound on searches running at once.
class SearchSlots {
 public:
  explicit SearchSlots(int count) : free_(count) {}
  bool acquire(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!freed_.wait_for(lock, wait, [&] { return free_ > 0; })) return false;
    --free_;
    return true;
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++free_;
    }
    freed_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable freed_;
  int free_;
};

void send(httplib::Response& res, const Response& r) {
  res.status = r.status;
  res.set_content(r.body, r.content_type.c_str());
  if (r.status == 503) res.set_header("Retry-After", "1");
}

// Runs a service call; whatever it throws becomes a JSON error, never an escaping exception.
template <typename Call>
void answer(httplib::Response& res, Call&& call) {
  try {
    send(res, call());
  } catch (const HttpError& e) {
    send(res, error_response(e.status(), e.what()));
  } catch (const std::exception& e) {
    util::log_line(util::LogLevel::kError, std::string("request failed: ") + e.what());
    send(res, error_response(500, std::string("internal error: ") + e.what()));
  } catch (...) {
    send(res, error_response(500, "internal error"));
  }
}

// The method a known path answers, or null for an unknown path.
const char* allowed_method(const std::string& path) {
  if (path == "/" || path == "/api/health" || path == "/api/classes") return "GET";
  if (path == "/api/search") return "POST";
  if (path.rfind(kPhotoPrefix, 0) == 0) return "GET";
  return nullptr;
}

// Fills in a JSON body for the errors cpp-httplib answers itself (no route, bad request line,
// body or URI too long); errors from the handlers already have one.
httplib::Server::HandlerResponse fill_error(const httplib::Request& req, httplib::Response& res,
                                            size_t max_body_bytes) {
  if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
  std::string message;
  const char* allowed = allowed_method(req.path);
  const bool head_of_get = allowed && req.method == "HEAD" && std::string(allowed) == "GET";
  if (res.status == 404 && allowed && req.method != allowed && !head_of_get) {
    res.status = 405;
    res.set_header("Allow", allowed);
    message = req.method + " is not allowed on " + req.path + "; use " + allowed;
  } else if (res.status == 404) {
    message =
        "no such resource; the API is GET /api/health, GET /api/classes, POST /api/search, "
        "GET /api/photos/<id>";
  } else if (res.status == 413) {
    message = "the request body is over the limit of " + std::to_string(max_body_bytes) + " bytes";
  } else if (res.status == 414) {
    message = "the request URI is too long";
  } else if (res.status == 400) {
    message = "malformed HTTP request";
  } else {
    message = "HTTP error " + std::to_string(res.status);
  }
  send(res, error_response(res.status, message));
  return httplib::Server::HandlerResponse::Handled;
}

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<SearchService> service;
  HttpServerOptions options;
  httplib::Server server;
  SearchSlots slots;
  std::thread listener;
  std::atomic<bool> listen_ended{false};
  int port = -1;

  Impl(std::shared_ptr<SearchService> s, HttpServerOptions o, int max_searches)
      : service(std::move(s)), options(std::move(o)), slots(max_searches) {}

  void search(const httplib::Request& req, httplib::Response& res) {
    if (!slots.acquire(std::chrono::milliseconds(options.search_wait_ms))) {
      send(res, error_response(503, "busy: all search slots are taken; retry in a moment"));
      return;
    }
    answer(res, [&] {
      return service->search(req.body, req.get_header_value("Content-Type"),
                             req.get_param_value("k"));
    });
    slots.release();
  }

  void routes() {
    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
      const auto page = web_index_html();
      res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
      res.set_header("Cache-Control", "no-cache");
    });
    server.Get("/api/health", [this](const httplib::Request&, httplib::Response& res) {
      answer(res, [&] { return service->health(); });
    });
    server.Get("/api/classes", [this](const httplib::Request&, httplib::Response& res) {
      answer(res, [&] { return service->classes(); });
    });
    server.Post("/api/search",
                [this](const httplib::Request& req, httplib::Response& res) { search(req, res); });
    // A bounded pattern: std::regex matching recurses per character.
    server.Get(R"(/api/photos/([^/]{1,64}))",
               [this](const httplib::Request& req, httplib::Response& res) {
                 answer(res, [&] { return service->photo(req.matches[1].str()); });
                 if (res.status == 200) res.set_header("Cache-Control", "max-age=3600");
               });
    const size_t max_body = options.max_body_bytes;
    server.set_error_handler(httplib::Server::HandlerWithResponse(
        [max_body](const httplib::Request& req, httplib::Response& res) {
          return fill_error(req, res, max_body);
        }));
    server.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
          send(res, error_response(500, "internal error"));
        });
    server.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      util::log_debug("{} {} -> {}", req.method, req.path, res.status);
    });
  }
};

HttpServer::HttpServer(std::shared_ptr<SearchService> service, HttpServerOptions options) {
  HCMSN_CHECK(service != nullptr, "HttpServer needs a search service");
  HCMSN_CHECK(options.port >= 0 && options.port <= 65535, "port must be in [0, 65535], got ",
              options.port);
  HCMSN_CHECK(options.threads >= 1,
              "the server needs at least 1 connection thread (--http-threads)");
  HCMSN_CHECK(options.max_body_bytes >= 1024, "the body limit must be at least 1024 bytes");
  HCMSN_CHECK(options.read_timeout_s >= 1 && options.write_timeout_s >= 1 &&
                  options.keep_alive_timeout_s >= 1 && options.keep_alive_max_requests >= 1,
              "timeouts (seconds) and keep-alive requests must be at least 1");
  HCMSN_CHECK(options.search_wait_ms >= 0, "search wait must not be negative");
  const int max_searches = options.max_concurrent_searches > 0 ? options.max_concurrent_searches
                                                               : util::available_cores();
  impl_ = std::make_unique<Impl>(std::move(service), std::move(options), max_searches);
  auto& s = impl_->server;
  const auto& o = impl_->options;
  // cpp-httplib's default also sets SO_REUSEPORT, which lets a second server bind the same port
  // and silently take half of the connections: only SO_REUSEADDR (quick restarts) here.
  s.set_socket_options([](socket_t sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // Headers and body go out in separate writes: with Nagle's algorithm the body would wait for
  // the client's delayed ACK (measured: 44 ms per request on loopback, health and search alike).
  s.set_tcp_nodelay(true);
  s.set_payload_max_length(o.max_body_bytes);
  s.set_read_timeout(o.read_timeout_s, 0);
  s.set_write_timeout(o.write_timeout_s, 0);
  s.set_keep_alive_timeout(o.keep_alive_timeout_s);
  s.set_keep_alive_max_count(static_cast<size_t>(o.keep_alive_max_requests));
  const int threads = o.threads;
  // cpp-httplib's API takes ownership of a raw pointer here.
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  impl_->routes();
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  HCMSN_CHECK(!impl_->listener.joinable(), "the server is already started");
  // A client that closes its socket while we write must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  auto& s = impl_->server;
  const auto& o = impl_->options;
  if (o.port == 0) {
    impl_->port = s.bind_to_any_port(o.host);
  } else {
    impl_->port = s.bind_to_port(o.host, o.port) ? o.port : -1;
  }
  HCMSN_CHECK(impl_->port > 0, "cannot listen on ", o.host, ":", o.port,
              ": the port is in use or the host is not an address of this machine; pick another "
              "--port or --host");
  impl_->listener = std::thread([impl = impl_.get()] {
    impl->server.listen_after_bind();
    impl->listen_ended = true;
  });
  // stop() before listening has begun would be lost: wait until it has.
  while (!s.is_running() && !impl_->listen_ended) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!s.is_running()) {
    impl_->listener.join();
    HCMSN_CHECK(false, "cannot listen on ", o.host, ":", impl_->port);
  }
}

void HttpServer::stop() {
  if (!impl_->listener.joinable()) return;
  impl_->server.stop();
  impl_->listener.join();
}

bool HttpServer::running() const {
  return impl_->server.is_running();
}

int HttpServer::port() const {
  return impl_->port;
}

std::string HttpServer::url() const {
  const std::string& host = impl_->options.host;
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(impl_->port) + "/";
}

}  // namespace hcmsn::serve
