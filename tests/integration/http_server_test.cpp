// `hcmsn serve`'s HTTP layer in-process on an ephemeral loopback port, with cpp-httplib's client
// and raw sockets: the API answers as SearchService does, and malformed requests (truncated
// images, bombs, bad JSON, wrong methods, long URLs, traversal, garbage, stalled clients) all get
// a JSON error with a 4xx/5xx status while the server stays up.
#include "hcmsn/serve/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

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
      EXPECT_EQ(results[j].at("path"), g.entries[id].path);
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
  const auto truncated_jpeg = client_->Post("/api/search", jpeg.substr(0, 200), "image/jpeg");
  ASSERT_TRUE(truncated_jpeg);  // libjpeg may decode a truncated file partially: 200 or 400
  if (truncated_jpeg->status != 200) expect_json_error(truncated_jpeg, 400, "truncated JPEG");
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
  options.port = 0;
  options.max_concurrent_searches = 1;
  options.search_wait_ms = 0;
  HttpServer server(service, options);
  server.start();
  httplib::Client first("127.0.0.1", server.port()), second("127.0.0.1", server.port());
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
  server.stop();
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
