#include "hcmsn/serve/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hcmsn/serve/web_page.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"
#include "hcmsn/util/threads.h"

namespace hcmsn::serve {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

constexpr char kPhotoPrefix[] = "/api/photos/";
constexpr size_t kMaxPhotoIdBytes = 64;
// Accepting and parsing are light: two threads serve every connection.
constexpr int kIoThreads = 2;
// After an error answer, how long the server drains what the client still sends before it
// closes (closing with unread data would reset the connection and lose the answer).
constexpr auto kLingerTime = std::chrono::seconds(1);

// Runs a service call; whatever it throws becomes a JSON error, never an escaping exception.
Response guarded(const std::function<Response()>& call) {
  try {
    return call();
  } catch (const HttpError& e) {
    return error_response(e.status(), e.what());
  } catch (const std::exception& e) {
    util::log_line(util::LogLevel::kError, std::string("request failed: ") + e.what());
    return error_response(500, "internal error; the server's log says more");
  } catch (...) {
    return error_response(500, "internal error");
  }
}

// The method a known path answers, or null for an unknown path.
const char* allowed_method(const std::string& path) {
  if (path == "/" || path == "/api/health" || path == "/api/classes") return "GET";
  if (path == "/api/search") return "POST";
  if (path.rfind(kPhotoPrefix, 0) == 0) return "GET";
  return nullptr;
}

// The value of query parameter `name` in "a=1&k=5", or nothing.
std::optional<std::string> query_param(const std::string& query, const std::string& name) {
  size_t start = 0;
  while (start <= query.size()) {
    const size_t end = std::min(query.find('&', start), query.size());
    const std::string pair = query.substr(start, end - start);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string::npos ? "" : pair.substr(eq + 1);
    start = end + 1;
  }
  return std::nullopt;
}

// The status and message of a request the parser refused.
std::pair<http::status, std::string> parse_failure(const beast::error_code& ec,
                                                   const HttpServerOptions& o) {
  if (ec == http::error::body_limit) {
    return {http::status::payload_too_large,
            "the request body is over the limit of " + std::to_string(o.max_body_bytes) + " bytes"};
  }
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    return {http::status::request_header_fields_too_large,
            "the request line and headers are over the limit of " +
                std::to_string(o.max_header_bytes) + " bytes"};
  }
  if (ec == http::error::bad_content_length || ec == http::error::bad_transfer_encoding) {
    return {http::status::bad_request,
            "ambiguous framing: conflicting Content-Length values, or Content-Length with "
            "Transfer-Encoding (" +
                ec.message() + ")"};
  }
  return {http::status::bad_request, "malformed HTTP request (" + ec.message() + ")"};
}

}  // namespace

class Session;

struct HttpServer::Impl {
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

  Impl(std::shared_ptr<SearchService> s, HttpServerOptions o, int max_searches)
      : service(std::move(s)), options(std::move(o)), slots(max_searches) {}

  void accept();
  void close_idle_sessions();

  std::shared_ptr<SearchService> service;
  HttpServerOptions options;
  SearchSlots slots;
  std::atomic<int> connections{0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> started{false};
  int port = -1;
  std::mutex sessions_mutex;
  std::unordered_map<const Session*, std::weak_ptr<Session>> sessions;
  std::unordered_map<std::string, int> per_client;  // open connections per client address
  // Destroyed before the members above (reverse order): the I/O context destroys the handlers
  // that still own sessions, whose destructors use the registry and the counter.
  net::io_context ioc{kIoThreads};
  tcp::acceptor acceptor{ioc};
  net::steady_timer retry_accept{ioc};
  std::vector<std::thread> io_threads;
  std::unique_ptr<net::thread_pool> workers;
};

// One connection: reads a request (one deadline for all of it), answers it (inline, or on the
// worker pool for searches and thumbnails), then reads the next or closes. Every step runs on the
// connection's strand, so a session is never touched by two threads at once.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)),
        server_(server),
        buffer_(server.options.max_header_bytes + server.options.max_body_bytes + 4096) {
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    client_ = ec ? std::string("unknown") : peer.address().to_string();
    ++server_.connections;
  }
  ~Session() {
    {
      std::lock_guard<std::mutex> lock(server_.sessions_mutex);
      server_.sessions.erase(this);
      if (--server_.per_client[client_] <= 0) server_.per_client.erase(client_);
    }
    --server_.connections;
  }

  void start(bool over_limit) {
    int from_client = 0;
    {
      std::lock_guard<std::mutex> lock(server_.sessions_mutex);
      server_.sessions.emplace(this, weak_from_this());
      from_client = ++server_.per_client[client_];
    }
    if (over_limit) {
      send(error_response(503, "too many connections; retry in a moment"));
      return;
    }
    if (from_client > server_.options.max_connections_per_client) {
      send(error_response(503, "too many connections from this client; close some and retry"));
      return;
    }
    read();
  }

  // From stop(): a connection waiting for a request is closed; one being answered finishes.
  void close_if_idle() {
    if (reading_) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_.socket().close(ignored);
    }
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

 private:
  void read() {
    const auto& o = server_.options;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(o.max_header_bytes));
    parser_->body_limit(o.max_body_bytes);
    // One deadline for the whole request, not one per read: a client sending a byte now and then
    // is cut off all the same.
    const int seconds = o.read_timeout_s + (requests_ > 0 ? o.keep_alive_timeout_s : 0);
    stream_.expires_after(std::chrono::seconds(seconds));
    reading_ = true;
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    reading_ = false;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof || server_.stopping) {
      return close();
    }
    if (ec) {
      const auto [status, message] = parse_failure(ec, server_.options);
      framing_ = Framing{};
      return send(error_response(static_cast<int>(status), message));
    }
    ++requests_;
    handle(parser_->release());
  }

  void handle(HttpRequest req) {
    const auto& o = server_.options;
    framing_ = {req.version(), req.keep_alive() && requests_ < o.keep_alive_max_requests,
                req.method() == http::verb::head};
    const std::string target(req.target());
    if (target.size() > o.max_target_bytes) {
      framing_.keep_alive = false;
      return send(error_response(414, "the request URI is too long"));
    }
    const size_t q = target.find('?');
    const std::string path = target.substr(0, q);
    const std::string query = q == std::string::npos ? "" : target.substr(q + 1);
    const char* allowed = allowed_method(path);
    const std::string method(req.method_string());
    util::log_debug("{} {}", method.substr(0, 16), path.substr(0, 200));
    if (allowed == nullptr) {
      return send(error_response(404,
                                 "no such resource; the API is GET /api/health, GET /api/classes, "
                                 "POST /api/search, GET /api/photos/<id>"));
    }
    const bool get_like = std::string(allowed) == "GET" && (method == "GET" || framing_.head);
    if (method != allowed && !get_like) {
      Response r = error_response(
          405, method.substr(0, 16) + " is not allowed on " + path + "; use " + allowed);
      return send(std::move(r), allowed);
    }
    auto& service = *server_.service;
    if (path == "/") {
      const auto page = web_index_html();
      return send(Response{200, "text/html; charset=utf-8", std::string(page.data(), page.size())});
    }
    if (path == "/api/health") {
      return send(guarded([&] { return service.health(); }));
    }
    if (path == "/api/classes") {
      return send(guarded([&] { return service.classes(); }));
    }
    if (path == "/api/search") {
      const std::string type(req[http::field::content_type]);
      const std::string k = query_param(query, "k").value_or("");
      auto body = std::make_shared<std::string>(std::move(req.body()));
      return work([this, body, type, k] {
        if (!server_.slots.acquire(std::chrono::milliseconds(server_.options.search_wait_ms))) {
          return error_response(503, "busy: all search slots are taken; retry in a moment");
        }
        Response r = guarded([&] { return server_.service->search(*body, type, k); });
        server_.slots.release();
        return r;
      });
    }
    const std::string id = path.substr(sizeof kPhotoPrefix - 1);
    if (id.empty() || id.size() > kMaxPhotoIdBytes || id.find('/') != std::string::npos) {
      return send(error_response(404, "a photo is /api/photos/<id>, id a gallery row number"));
    }
    work([this, id] { return guarded([&] { return server_.service->photo(id); }); });
  }

  // CPU work on the worker pool; the answer comes back to this connection's strand.
  void work(std::function<Response()> job) {
    net::post(*server_.workers, [self = shared_from_this(), job = std::move(job)] {
      Response r = job();
      net::post(self->executor(), [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
    });
  }

  void send(Response r, const char* allow = "") {
    const bool keep_alive = framing_.keep_alive && !server_.stopping;
    const bool head = framing_.head;
    auto res =
        std::make_shared<HttpResponse>(static_cast<http::status>(r.status), framing_.version);
    res->set(http::field::server, "hcmsn");
    res->set(http::field::content_type, r.content_type);
    if (r.status == 503) res->set(http::field::retry_after, "1");
    if (*allow != '\0') res->set(http::field::allow, allow);
    if (r.status == 200 && r.content_type == "image/jpeg") {
      res->set(http::field::cache_control, "max-age=3600");
    } else if (r.status == 200 && r.content_type.rfind("text/html", 0) == 0) {
      res->set(http::field::cache_control, "no-cache");
    }
    // HEAD: the GET's headers, no body.
    res->content_length(r.body.size());
    if (!head) res->body() = std::move(r.body);
    res->keep_alive(keep_alive);
    stream_.expires_after(std::chrono::seconds(server_.options.write_timeout_s));
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
          if (ec) return self->close();
          if (!keep_alive) return self->linger();
          self->read();
        });
  }

  // Half-close, then read and drop what the client still sends until it closes (or for a
  // moment): a close with unread data would reset the connection and could lose the answer.
  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTime);
    drain();
  }
  void drain() {
    stream_.async_read_some(net::buffer(drain_buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->drain();
                            });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  std::string client_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  int requests_ = 0;
  bool reading_ = false;
  // How the request being answered is to be answered (one at a time per connection). A request
  // the parser refused gets HTTP/1.1 and a close.
  struct Framing {
    unsigned version = 11;
    bool keep_alive = false;
    bool head = false;
  } framing_;
  char drain_buffer_[4096];
};

void HttpServer::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (!acceptor.is_open() || stopping) return;
    if (ec) {
      // Out of file descriptors and the like: try again shortly instead of spinning.
      util::log_warn("cannot accept a connection: {}", ec.message());
      retry_accept.expires_after(std::chrono::milliseconds(100));
      retry_accept.async_wait([this](beast::error_code) {
        if (acceptor.is_open() && !stopping) accept();
      });
      return;
    }
    beast::error_code ignored;
    // Headers and body leave in one write here, but small answers should not wait for Nagle.
    socket.set_option(tcp::no_delay(true), ignored);
    const bool over_limit = connections.load() >= options.max_connections;
    std::make_shared<Session>(std::move(socket), *this)->start(over_limit);
    accept();
  });
}

void HttpServer::Impl::close_idle_sessions() {
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard<std::mutex> lock(sessions_mutex);
    for (auto& [key, weak] : sessions) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) net::post(s->executor(), [s] { s->close_if_idle(); });
}

HttpServer::HttpServer(std::shared_ptr<SearchService> service, HttpServerOptions options) {
  HCMSN_CHECK(service != nullptr, "HttpServer needs a search service");
  HCMSN_CHECK(options.port >= 0 && options.port <= 65535, "port must be in [0, 65535], got ",
              options.port);
  HCMSN_CHECK(options.threads >= 1, "the server needs at least 1 worker thread (--http-threads)");
  HCMSN_CHECK(options.max_connections >= 1 && options.max_connections_per_client >= 1,
              "the server needs at least 1 connection, and 1 per client");
  HCMSN_CHECK(options.max_body_bytes >= 1024, "the body limit must be at least 1024 bytes");
  HCMSN_CHECK(options.max_header_bytes >= 1024 && options.max_target_bytes >= 64,
              "the header limit must be at least 1024 bytes and the URI limit at least 64");
  HCMSN_CHECK(options.read_timeout_s >= 1 && options.write_timeout_s >= 1 &&
                  options.keep_alive_timeout_s >= 1 && options.keep_alive_max_requests >= 1,
              "timeouts (seconds) and keep-alive requests must be at least 1");
  HCMSN_CHECK(options.search_wait_ms >= 0, "search wait must not be negative");
  const int max_searches = options.max_concurrent_searches > 0 ? options.max_concurrent_searches
                                                               : util::available_cores();
  impl_ = std::make_unique<Impl>(std::move(service), std::move(options), max_searches);
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  auto& impl = *impl_;
  HCMSN_CHECK(!impl.started, "the server is already started");
  // A client that closes its socket while we write must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  const auto& o = impl.options;
  beast::error_code ec;
  tcp::resolver resolver(impl.ioc);
  const auto endpoints = resolver.resolve(
      o.host, std::to_string(o.port), tcp::resolver::numeric_service | tcp::resolver::passive, ec);
  HCMSN_CHECK(!ec && !endpoints.empty(), "cannot listen on ", o.host, ":", o.port, ": ",
              ec ? ec.message() : "no address", "; give an address of this machine with --host");
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  impl.acceptor.open(endpoint.protocol(), ec);
  // SO_REUSEADDR only (quick restarts): SO_REUSEPORT would let a second server share the port.
  if (!ec) impl.acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
    HCMSN_CHECK(false, "cannot listen on ", o.host, ":", o.port, " (", ec.message(),
                "): the port is in use or the host is not an address of this machine; pick "
                "another --port or --host");
  }
  impl.port = impl.acceptor.local_endpoint().port();
  impl.workers = std::make_unique<net::thread_pool>(static_cast<size_t>(o.threads));
  impl.stopping = false;
  impl.ioc.restart();
  impl.accept();
  for (int i = 0; i < kIoThreads; ++i) impl.io_threads.emplace_back([&impl] { impl.ioc.run(); });
  impl.started = true;
}

void HttpServer::stop() {
  auto& impl = *impl_;
  if (!impl.started) return;
  impl.stopping = true;
  net::post(impl.ioc, [&impl] {
    beast::error_code ignored;
    impl.acceptor.close(ignored);
    impl.retry_accept.cancel();
    impl.close_idle_sessions();
  });
  // Requests in flight finish and are answered; then everything stops.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(impl.options.write_timeout_s) +
                        std::chrono::milliseconds(impl.options.search_wait_ms);
  while (impl.connections > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl.ioc.stop();
  for (auto& t : impl.io_threads) t.join();
  impl.io_threads.clear();
  impl.workers->join();
  impl.started = false;
}

bool HttpServer::running() const {
  return impl_->started && !impl_->stopping;
}

int HttpServer::port() const {
  return impl_->port;
}

int HttpServer::connections() const {
  return impl_->connections;
}

std::string HttpServer::url() const {
  const std::string& host = impl_->options.host;
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(impl_->port) + "/";
}

}  // namespace hcmsn::serve
