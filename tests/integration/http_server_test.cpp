// `hcmsn serve`'s HTTP layer in-process on an ephemeral loopback port, with cpp-httplib's client
// and raw sockets: the API answers as SearchService does, and malformed requests (truncated
// images, bombs, bad JSON, wrong methods, long URLs, traversal, garbage, stalled clients) all get
// a JSON error with a 4xx/5xx status while the server stays up.
#include "hcmsn/serve/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
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

constexpr char kStrokes[] = R"({"strokes": [[[0, 50, 100, 50, 0], [50, 0, 50, 100, 50]]]})";
constexpr size_t kBodyLimit = 64 << 10;

// Sends raw bytes on a fresh connection and returns what comes back until the server closes it
// (after its keep-alive or read timeout; the 20 s socket timeout only ends a hang). The socket is
// not half-closed: cpp-httplib takes a half-closed client for gone and does not answer.
std::string raw_exchange(int port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
  std::string received;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) received.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(n, 0) << "the server did not close the connection";
  ::close(fd);
  return received;
}

// A server for `service` with `options` on a free loopback port, started.
std::unique_ptr<HttpServer> start_on_free_port(std::shared_ptr<SearchService> service,
                                               HttpServerOptions options) {
  options.port = 0;
  auto server = std::make_unique<HttpServer>(std::move(service), options);
  server->start();
  return server;
}

class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto& g = test::tiny_gallery();
    if (g.gallery.size() == 0) return;
    loaded_ = new LoadedIndex(load_index(g.gallery_path));
  }
  static void TearDownTestSuite() {
    delete loaded_;
    loaded_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(loaded_, nullptr) << "no tiny gallery";
    service_ = std::make_shared<SearchService>();
    HttpServerOptions options;
    options.port = 0;
    options.max_body_bytes = kBodyLimit;
    options.read_timeout_s = 1;
    options.keep_alive_timeout_s = 1;
    server_ = std::make_unique<HttpServer>(service_, options);
    server_->start();
    ASSERT_GT(server_->port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(30, 0);
  }
  void TearDown() override {
    client_.reset();
    if (server_) server_->stop();
  }
  void load() { service_->set_loaded(*loaded_); }

  // Every error: the status, a JSON body with an "error" string.
  static void expect_json_error(const httplib::Result& r, int status, const std::string& what) {
    ASSERT_TRUE(r) << what << ": no response (" << httplib::to_string(r.error()) << ")";
    EXPECT_EQ(r->status, status) << what << ": " << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << what;
    const auto body = json::parse(r->body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << what << ": not JSON: " << r->body;
    EXPECT_TRUE(body.contains("error") && body["error"].is_string()) << what << ": " << r->body;
  }
  static void expect_any_json_error(const httplib::Result& r, const std::string& what) {
    ASSERT_TRUE(r) << what << ": no response";
    EXPECT_GE(r->status, 400) << what;
    EXPECT_LT(r->status, 600) << what;
    expect_json_error(r, r->status, what);
  }
  void expect_healthy() {
    const auto r = client_->Get("/api/health");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }

  static LoadedIndex* loaded_;
  std::shared_ptr<SearchService> service_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};
LoadedIndex* HttpServerTest::loaded_ = nullptr;

TEST_F(HttpServerTest, HealthIs503UntilLoadedThen200) {
  expect_json_error(client_->Get("/api/health"), 503, "health while loading");
  expect_json_error(client_->Post("/api/search", kStrokes, "application/json"), 503,
                    "search while loading");
  expect_json_error(client_->Get("/api/classes"), 503, "classes while loading");
  load();
  const auto r = client_->Get("/api/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body).at("photos"), loaded_->gallery->size());
}

TEST_F(HttpServerTest, SearchResultsEqualExactSearch) {
  load();
  const auto& g = *loaded_->gallery;
  const index::ExactSearcher exact(g.embeddings, g.curvature);
  const auto check = [&](const httplib::Result& r, const torch::Tensor& query, int64_t k) {
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const auto results = json::parse(r->body).at("results");
    const auto expected = exact.search(query, k);
    ASSERT_EQ(static_cast<int64_t>(results.size()), k);
    for (int64_t j = 0; j < k; ++j) {
      const int64_t id = expected.ids[0][j].item<int64_t>();
      EXPECT_EQ(results[j].at("id").get<int64_t>(), id);
      // The path relative to the photos' common folder, never the server's absolute one.
      const fs::path photo(g.entries[id].path);
      EXPECT_EQ(results[j].at("path"),
                (photo.parent_path().filename() / photo.filename()).string());
      EXPECT_EQ(results[j].at("class"), g.entries[id].class_name);
      EXPECT_FLOAT_EQ(results[j].at("distance").get<float>(),
                      expected.distances[0][j].item<float>());
    }
  };
  const auto drawing = data::parse_drawing(json::parse(kStrokes)["strokes"].dump());
  check(client_->Post("/api/search?k=5", kStrokes, "application/json"),
        loaded_->embedder->embed_drawing(drawing), 5);

  const auto& tiny = test::tiny_gallery();
  const std::string png =
      util::read_file(tiny.data + "/sketch/" + g.entries[0].class_name + "/0000.png");
  check(client_->Post("/api/search?k=12", png, "image/png"),
        loaded_->embedder->embed_images({data::decode_image_bytes(png, "png")}, model::kSketch),
        12);
}

TEST_F(HttpServerTest, ClassesPhotosAndPage) {
  load();
  auto r = client_->Get("/api/classes");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body).at("classes").size(), loaded_->gallery->class_names().size());

  r = client_->Get("/api/photos/2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "image/jpeg");
  const auto photo = data::decode_image_bytes(r->body, "photo 2");
  EXPECT_EQ(photo.sizes(), data::decode_image_file(loaded_->gallery->entries[2].path).sizes());
  expect_json_error(
      client_->Get(("/api/photos/" + std::to_string(loaded_->gallery->size())).c_str()), 404,
      "unknown id");

  r = client_->Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_TRUE(test::contains(r->body, "<canvas id=\"pad\""));
  EXPECT_TRUE(test::contains(r->body, "/api/search"));
}

TEST_F(HttpServerTest, MalformedRequestsGetJsonErrorsAndTheServerStaysUp) {
  load();
  const auto& tiny = test::tiny_gallery();
  const std::string png = util::read_file(tiny.data + "/sketch/" +
                                          loaded_->gallery->entries[0].class_name + "/0000.png");
  std::vector<uchar> jpeg_buffer;
  ASSERT_TRUE(cv::imencode(".jpg", cv::Mat(64, 64, CV_8UC3, cv::Scalar(200, 10, 10)), jpeg_buffer));
  const std::string jpeg(jpeg_buffer.begin(), jpeg_buffer.end());
  std::string png_bomb("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0", 24);
  png_bomb += std::string("\x08\x02\0\0\0\0\0\0\0", 9) + std::string(100, '\0');

  // Bodies.
  expect_json_error(client_->Post("/api/search", png.substr(0, png.size() / 3), "image/png"), 400,
                    "truncated PNG");
  expect_json_error(client_->Post("/api/search", jpeg.substr(0, jpeg.size() / 3), "image/jpeg"),
                    400, "truncated JPEG");
  expect_json_error(client_->Post("/api/search", png_bomb, "image/png"), 413, "PNG bomb");
  expect_json_error(client_->Post("/api/search", png, "text/plain"), 415, "wrong content type");
  expect_json_error(client_->Post("/api/search", png, ""), 415, "no content type");
  expect_json_error(client_->Post("/api/search", "{\"strokes\": [", "application/json"), 400,
                    "bad JSON");
  expect_json_error(
      client_->Post("/api/search", R"({"strokes": [[[1, 2], [3]]]})", "application/json"), 400,
      "unequal stroke lengths");
  expect_json_error(
      client_->Post("/api/search", R"({"strokes": [[[NaN], [3]]]})", "application/json"), 400,
      "NaN");
  expect_json_error(client_->Post("/api/search", std::string(50000, '['), "application/json"), 400,
                    "deep nesting");
  expect_json_error(client_->Post("/api/search", std::string(kBodyLimit + 1, ' '), "image/png"),
                    413, "body over the limit");
  expect_json_error(client_->Post("/api/search", "", "application/json"), 400, "empty body");

  // k.
  for (const char* k : {"0", "-1", "abc", "101", "1000000000000000000000", "%00"}) {
    const std::string path = std::string("/api/search?k=") + k;
    expect_json_error(client_->Post(path.c_str(), kStrokes, "application/json"), 400, path);
  }

  // Methods and routes.
  auto r = client_->Get("/api/search");
  expect_json_error(r, 405, "GET /api/search");
  EXPECT_EQ(r->get_header_value("Allow"), "POST");
  expect_json_error(client_->Post("/api/health", "", "application/json"), 405, "POST health");
  expect_json_error(client_->Put("/api/search", kStrokes, "application/json"), 405, "PUT search");
  expect_json_error(client_->Delete("/api/photos/1"), 405, "DELETE photo");
  expect_json_error(client_->Get("/no/such/page"), 404, "unknown path");
  expect_json_error(client_->Get(("/api/health?x=" + std::string(10000, 'a')).c_str()), 414,
                    "long URL");

  // Traversal: ids are row numbers; nothing from the URL reaches the file system.
  for (const char* path : {"/api/photos/../../etc/passwd", "/api/photos/..%2F..%2Fetc%2Fpasswd",
                           "/api/photos/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/api/photos/%2e%2e",
                           "/api/photos/0%00", "/api/photos/-1", "/api/photos/1e3"}) {
    r = client_->Get(path);
    expect_any_json_error(r, path);
    EXPECT_FALSE(test::contains(r->body, "root:")) << path;
  }

  // Raw sockets: a well-formed request first (the exchange itself works), then garbage, an
  // unknown method, a header without a request line, an endless request line.
  EXPECT_EQ(raw_exchange(server_->port(), "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
                .rfind("HTTP/1.1 200", 0),
            0u);
  for (const std::string& bytes :
       {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\n\r\n", 23),
        std::string("BREW /api/health HTTP/1.1\r\nHost: x\r\n\r\n"), std::string("Host: x\r\n\r\n"),
        std::string(20000, 'A') + "\r\n\r\n"}) {
    const std::string answer = raw_exchange(server_->port(), bytes);
    EXPECT_TRUE(answer.rfind("HTTP/1.1 4", 0) == 0) << bytes.substr(0, 20) << " -> " << answer;
    EXPECT_TRUE(test::contains(answer, "\"error\"")) << answer.substr(0, 200);
  }
  // A client that sends half a request and hangs: the read timeout closes the connection.
  raw_exchange(server_->port(),
               "POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Content-Length: 1000\r\n\r\n{\"strokes\": [");
  raw_exchange(server_->port(), "GET /api/health HTTP/1.1\r\nHost: x\r\n");

  expect_healthy();
  const auto ok = client_->Post("/api/search", kStrokes, "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// One socket to the server, for the tests that write raw bytes and read what comes back.
class RawClient {
 public:
  explicit RawClient(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Whatever arrives within `wait` (or until the server closes).
  std::string receive(std::chrono::milliseconds wait) {
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
  bool closed() const { return closed_; }

 private:
  int fd_;
  bool connected_ = false;
  bool closed_ = false;
};

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The probe's cases (issue 14): slow clients, pipelining, Range, ambiguous framing, a request
// line that is garbage at once.
TEST_F(HttpServerTest, SlowClientsCannotHoldTheServer) {
  load();
  // A server with the default 8 threads and a 4 s deadline per request; 32 connections, each
  // sending one header line every 0.4 s and never finishing (the probe's slow clients; with a
  // per-read timeout they would stay forever).
  HttpServerOptions options;
  options.read_timeout_s = 4;
  const auto server = start_on_free_port(service_, options);
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 32; ++i) {
    slow.push_back(std::make_unique<RawClient>(server->port()));
    ASSERT_TRUE(slow.back()->connected());
    slow.back()->send("GET /api/health HTTP/1.1\r\nHost: x\r\n");
  }
  int answered = 0, open_meanwhile = 0;
  for (int round = 0; round < 6; ++round) {
    for (auto& c : slow) c->send("X-Slow: " + std::to_string(round) + "\r\n");
    httplib::Client probe("127.0.0.1", server->port());
    probe.set_read_timeout(3, 0);  // ends a hang only
    const auto r = probe.Get("/api/health");
    if (r && r->status == 200) ++answered;
    open_meanwhile = std::max(open_meanwhile, server->connections());
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  }
  EXPECT_EQ(answered, 6);
  EXPECT_GE(open_meanwhile, 32);  // the health checks were answered while all 32 were open
  // Past their deadline the slow ones are disconnected, not left to hold memory.
  int closed = 0;
  for (auto& c : slow) {
    c->receive(std::chrono::milliseconds(20000));
    closed += c->closed() ? 1 : 0;
  }
  EXPECT_EQ(closed, 32);
  server->stop();
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  load();
  for (int n : {2, 5}) {
    std::string requests;
    for (int i = 0; i < n; ++i) {
      const bool last = i + 1 == n;
      requests += std::string(i % 2 == 0 ? "GET /api/health" : "GET /api/classes") +
                  " HTTP/1.1\r\nHost: x\r\n" + (last ? "Connection: close\r\n" : "") + "\r\n";
    }
    RawClient c(server_->port());
    ASSERT_TRUE(c.send(requests));
    const std::string answers = c.receive(std::chrono::milliseconds(20000));
    EXPECT_TRUE(c.closed());
    EXPECT_EQ(count_of(answers, "HTTP/1.1 200 OK"), static_cast<size_t>(n)) << answers;
    // In order: health's body first, then classes'.
    const size_t health = answers.find("\"status\":\"ok\"");
    const size_t classes = answers.find("\"classes\":[");
    ASSERT_NE(health, std::string::npos);
    ASSERT_NE(classes, std::string::npos);
    EXPECT_LT(health, classes);
  }
}

TEST_F(HttpServerTest, RangeIsIgnoredAndAmbiguousFramingRefused) {
  load();
  httplib::Headers range{{"Range", "bytes=0-5"}};
  const auto r = client_->Post("/api/search", range, kStrokes, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(json::parse(r->body, nullptr, false).is_discarded()) << r->body;
  const std::string body = kStrokes;
  const std::string head =
      "POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
  for (const std::string& framing :
       {"Content-Length: " + std::to_string(body.size()) + "\r\nContent-Length: 5\r\n",
        "Content-Length: " + std::to_string(body.size()) + "\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"}) {
    RawClient c(server_->port());
    c.send(head + framing + "\r\n" + body);
    const std::string answer = c.receive(std::chrono::milliseconds(20000));
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << framing << " -> " << answer;
    EXPECT_TRUE(test::contains(answer, "ambiguous framing")) << answer;
  }
}

// Answered at once, not at the request deadline: with a 60 s deadline a server that waited for
// the rest of the request would close without answering when it ran out (and the client here
// gives up after 20 s), so a 400 at all is the proof; no time is asserted.
TEST_F(HttpServerTest, AMalformedRequestLineIsAnsweredAtOnce) {
  load();
  HttpServerOptions options;
  options.read_timeout_s = 60;
  const auto server = start_on_free_port(service_, options);
  for (const std::string& line : {std::string("GARBAGE\r\n\r\n"), std::string("GET\r\n\r\n"),
                                  std::string("GET / HTTP/9.x\r\n\r\n")}) {
    RawClient c(server->port());
    c.send(line);
    const std::string answer = c.receive(std::chrono::milliseconds(20000));
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << line << " -> " << answer;
    EXPECT_TRUE(c.closed()) << line;
  }
  server->stop();
}

// Resident memory of this process, bytes.
int64_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

// 8 concurrent uploads of a 4096 x 4096 PNG (about 50 KB): refused from the header before any
// decoding, so memory stays flat (the probe saw 188 MB grow to 1.49 GB).
TEST_F(HttpServerTest, OversizedSketchesCostNoMemory) {
  load();
  std::vector<uchar> buffer;
  ASSERT_TRUE(cv::imencode(".png", cv::Mat(4096, 4096, CV_8UC1, cv::Scalar(255)), buffer));
  const std::string png(buffer.begin(), buffer.end());
  ASSERT_LT(png.size(), kBodyLimit);
  buffer.clear();
  buffer.shrink_to_fit();
  const int64_t before = resident_bytes();
  std::vector<std::future<int>> uploads;
  for (int i = 0; i < 8; ++i) {
    uploads.push_back(std::async(std::launch::async, [&] {
      httplib::Client c("127.0.0.1", server_->port());
      const auto r = c.Post("/api/search", png, "image/png");
      return r ? r->status : -1;
    }));
  }
  for (auto& u : uploads) EXPECT_EQ(u.get(), 413);
  const int64_t after = resident_bytes();
  std::cout << "RSS before " << before / 1e6 << " MB, after 8 concurrent 4096x4096 uploads "
            << after / 1e6 << " MB\n";
  EXPECT_LT(after - before, int64_t{64} << 20);  // one decoded image alone would be 48 MiB
}

// Waits (up to a minute: only a hang guard) until `server` has `n` connections open.
bool wait_for_connections(const HttpServer& server, int n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (server.connections() != n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return server.connections() == n;
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitGet503) {
  load();
  HttpServerOptions options;
  options.max_connections = 2;
  const auto small = start_on_free_port(service_, options);
  RawClient a(small->port()), b(small->port());
  ASSERT_TRUE(a.connected() && b.connected());
  ASSERT_TRUE(wait_for_connections(*small, 2));  // both accepted
  RawClient c(small->port());
  const std::string answer = c.receive(std::chrono::milliseconds(20000));
  EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer;
  EXPECT_TRUE(test::contains(answer, "too many connections")) << answer;
  small->stop();
  // One client cannot take every connection: its share is bounded.
  options.max_connections = 8;
  options.max_connections_per_client = 3;
  const auto shared = start_on_free_port(service_, options);
  std::vector<std::unique_ptr<RawClient>> mine;
  for (int i = 0; i < 3; ++i) mine.push_back(std::make_unique<RawClient>(shared->port()));
  ASSERT_TRUE(wait_for_connections(*shared, 3));
  {
    RawClient fourth(shared->port());
    const std::string refused = fourth.receive(std::chrono::milliseconds(20000));
    EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
    EXPECT_TRUE(test::contains(refused, "from this client")) << refused;
  }
  mine.pop_back();  // one closes: room again
  ASSERT_TRUE(wait_for_connections(*shared, 2));
  httplib::Client again("127.0.0.1", shared->port());
  const auto health = again.Get("/api/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  shared->stop();
}

// A searcher that holds every search until released: a deterministic full house.
class HeldSearcher : public index::Searcher {
 public:
  explicit HeldSearcher(std::shared_ptr<const index::Searcher> inner) : inner_(std::move(inner)) {}
  index::Neighbors search(const torch::Tensor& queries, int64_t k) const override {
    entered_.set_value();
    release_.wait();
    return inner_->search(queries, k);
  }
  std::string name() const override { return "held"; }
  int64_t memory_bytes() const override { return 0; }
  std::future<void> entered() { return entered_.get_future(); }
  void release() { released_.set_value(); }

 private:
  std::shared_ptr<const index::Searcher> inner_;
  mutable std::promise<void> entered_;
  std::promise<void> released_;
  std::shared_future<void> release_ = released_.get_future().share();
};

TEST_F(HttpServerTest, SearchesBeyondTheBoundAreRefusedAsBusy) {
  auto held = std::make_shared<HeldSearcher>(loaded_->searcher);
  LoadedIndex index = *loaded_;
  index.searcher = held;
  auto service = std::make_shared<SearchService>();
  service->set_loaded(index);
  HttpServerOptions options;
  options.max_concurrent_searches = 1;
  options.search_wait_ms = 0;
  const auto server = start_on_free_port(service, options);
  httplib::Client first("127.0.0.1", server->port()), second("127.0.0.1", server->port());
  first.set_read_timeout(60, 0);

  auto entered = held->entered();
  auto running = std::async(
      std::launch::async, [&] { return first.Post("/api/search", kStrokes, "application/json"); });
  entered.wait();  // the only slot is taken
  // No ASSERT until release(): an early return would leave the first search held forever.
  const auto busy = second.Post("/api/search", kStrokes, "application/json");
  const auto health = second.Get("/api/health");  // other endpoints do not wait for slots
  held->release();
  expect_json_error(busy, 503, "second search");
  if (busy) {
    EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
    EXPECT_TRUE(test::contains(busy->body, "busy")) << busy->body;
  }
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  const auto done = running.get();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200) << done->body;
  server->stop();
}

TEST_F(HttpServerTest, StartsOnAFreePortAndRefusesATakenOne) {
  HttpServerOptions options;
  options.port = server_->port();
  HttpServer second(service_, options);
  const auto message = test::error_of([&] { second.start(); });
  EXPECT_TRUE(test::contains(message, "cannot listen")) << message;
  EXPECT_EQ(server_->url(), "http://127.0.0.1:" + std::to_string(server_->port()) + "/");
  server_->stop();
  EXPECT_FALSE(server_->running());
  server_->stop();  // idempotent
}

}  // namespace
}  // namespace hcmsn::serve

namespace hcmsn {
namespace {

// The command: a gallery that cannot be loaded ends `hcmsn serve` with exit 1 and the reason.
TEST(ServeCommand, ExitsWithTheReasonWhenTheGalleryCannotBeLoaded) {
  const std::string dir = test::temp_dir("serve_cli");
  util::write_file_atomic(dir + "/bad.hgi", "not a gallery");
  const auto r = test::run_cli("serve --port 0 --index '" + dir + "/bad.hgi'");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(test::contains(r.output, "error: cannot serve " + dir + "/bad.hgi")) << r.output;
}

}  // namespace
}  // namespace hcmsn
