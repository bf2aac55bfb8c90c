// `hcmsn query` on many sketches and `hcmsn eval-gallery`, end to end on the tiny trained run:
// batch answers (a folder with class subfolders, a list file, an .ndjson file) equal an
// independent brute force and single-sketch calls; the gallery evaluation equals `hcmsn metrics`
// on the same embeddings and an AP computed here; malformed sketches are listed and skipped;
// `--json -` leaves only JSON on standard output; bad input exits 1 with a clear message.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "hcmsn/data/class_name.h"
#include "hcmsn/data/image_decode.h"
#include "hcmsn/index/embedder.h"
#include "hcmsn/index/gallery.h"
#include "hcmsn/io/label_file.h"
#include "hcmsn/io/npy.h"
#include "hcmsn/model/hcmsn_model.h"
#include "support/brute_force.h"
#include "support/test_support.h"
#include "support/tiny_gallery.h"

namespace hcmsn {
namespace {

using test::read_text;

namespace fs = std::filesystem;
using json = nlohmann::json;

// A query as the test knows it: where its pixels come from and its class.
struct Expected {
  std::string id;
  std::string class_name;     // as the command should report it ("" = null)
  std::string gallery_class;  // the gallery's spelling of the class ("" when unknown)
  std::string image;          // PNG path, or
  std::string drawing;        // the drawing's JSON
  bool malformed = false;
};

struct Split {
  int exit_code = -1;
  std::string out, err;
};

std::string norm(const fs::path& p) {
  return fs::absolute(p).lexically_normal().string();
}

// "Circle Plain" for "circle_plain": the QuickDraw spelling of a gallery class.
std::string word_for(const std::string& name) {
  std::string w = name;
  for (auto& ch : w) ch = ch == '_' ? ' ' : ch;
  w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
  return w;
}

class CliQueryBatch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const test::TinyGallery& tg = test::tiny_gallery();
    if (tg.run.empty()) return;
    dir_ = new std::string(test::temp_dir("cli_query_batch"));
    expected_ = new std::vector<Expected>();
    const std::vector<std::string> classes = tg.gallery.class_names();
    auto sketches_of = [&](const std::string& cls) {
      std::vector<std::string> out;
      for (const auto& e : fs::directory_iterator(tg.data + "/sketch/" + cls)) {
        out.push_back(e.path().string());
      }
      std::sort(out.begin(), out.end());
      return out;
    };
    // Positional: an .ndjson file whose words spell gallery classes differently, and a bad line.
    std::vector<Expected> ndjson;
    const char* strokes[] = {"[[[10, 200, 240], [20, 30, 220]], [[50, 60], [200, 10]]]",
                             "[[[0, 90, 180, 0], [0, 160, 0, 0]]]",
                             "[[[30, 30, 220, 220, 30], [30, 220, 220, 30, 30]]]"};
    std::string text;
    for (int i = 0; i < 3; ++i) {
      const std::string cls = classes[static_cast<size_t>(5 + i)];
      const std::string line =
          json{{"word", word_for(cls)}, {"drawing", json::parse(strokes[i])}}.dump();
      text += line + "\n";
      ndjson.push_back(
          {norm(path("draw.ndjson")) + ":" + std::to_string(i + 1), word_for(cls), cls, "", line});
    }
    text += "{oops\n";
    ndjson.push_back({norm(path("draw.ndjson")) + ":4", "", "", "", "", true});
    std::ofstream(path("draw.ndjson")) << text;
    expected_->insert(expected_->end(), ndjson.begin(), ndjson.end());
    // --sketches sk: two sketches of each of three classes, by folder, and a broken PNG.
    std::vector<Expected> folder;
    for (int c = 0; c < 3; ++c) {
      const std::string cls = classes[static_cast<size_t>(c)];
      fs::create_directories(path("sk/" + cls));
      const auto files = sketches_of(cls);
      for (int i = 0; i < 2; ++i) {
        const std::string to = path("sk/" + cls + "/" + fs::path(files[i]).filename().string());
        fs::copy_file(files[static_cast<size_t>(i)], to);
        folder.push_back({norm(to), cls, cls, to, ""});
      }
    }
    std::ofstream(path("sk/" + classes[0] + "/broken.png")) << "not a png";
    folder.push_back(
        {norm(path("sk/" + classes[0] + "/broken.png")), classes[0], classes[0], "", "", true});
    std::sort(folder.begin(), folder.end(),
              [](const Expected& a, const Expected& b) { return a.id < b.id; });
    expected_->insert(expected_->end(), folder.begin(), folder.end());
    // --sketches list.txt: absolute and relative paths, with classes.
    const std::string cls = classes[3];
    const auto files = sketches_of(cls);
    std::ofstream list(path("list.txt"));
    list << "# a list\n" << files[0] << "\t" << cls << "\n" << files[1] << "\t" << cls << "\n";
    list << "sk/" << classes[1] << "/" << fs::path(sketches_of(classes[1])[0]).filename().string()
         << "\t" << classes[1] << "\n";
    expected_->push_back({norm(files[0]), cls, cls, files[0], ""});
    expected_->push_back({norm(files[1]), cls, cls, files[1], ""});
    const std::string again =
        path("sk/" + classes[1] + "/" + fs::path(sketches_of(classes[1])[0]).filename().string());
    expected_->push_back({norm(again), classes[1], classes[1], again, ""});
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete expected_;
  }
  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "the tiny gallery could not be built";
  }

  static std::string path(const std::string& name) { return *dir_ + "/" + name; }
  static std::string q(const std::string& s) { return "'" + s + "'"; }
  static const test::TinyGallery& tiny() { return test::tiny_gallery(); }
  static int64_t g_size() { return tiny().gallery.size(); }
  static std::string sources() {
    return q(path("draw.ndjson")) + " --sketches " + q(path("sk")) + " --sketches " +
           q(path("list.txt"));
  }

  // Runs the CLI with standard output and standard error apart.
  static Split run_split(const std::string& args) {
    static int n = 0;
    const std::string base = path("call" + std::to_string(n++));
    const std::string cmd = std::string("'") + HCMSN_CLI_PATH + "' " + args + " >'" + base +
                            ".out' 2>'" + base + ".err'";
    const int status = std::system(cmd.c_str());
    Split r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    r.out = read_text(base + ".out");
    r.err = read_text(base + ".err");
    return r;
  }

  // Every line of `text` as JSON (a line that does not parse fails the test).
  static std::vector<json> json_lines(const std::string& text) {
    std::vector<json> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      EXPECT_NO_THROW(out.push_back(json::parse(line))) << "not JSON: " << line;
    }
    return out;
  }

  // The query's embedding, computed here one sketch at a time.
  static torch::Tensor embed(const Expected& e) {
    static const auto embedder = index::Embedder::from_run(tiny().run);
    if (!e.image.empty()) {
      return embedder->embed_images({data::decode_image_file(e.image)}, model::kSketch)[0];
    }
    return embedder->embed_drawing(data::parse_drawing(e.drawing))[0];
  }

  static std::string* dir_;
  static std::vector<Expected>* expected_;
};
std::string* CliQueryBatch::dir_ = nullptr;
std::vector<Expected>* CliQueryBatch::expected_ = nullptr;

TEST_F(CliQueryBatch, BatchEqualsBruteForce) {
  const int64_t k = 8;
  const Split r = run_split("query --index " + q(tiny().gallery_path) + " -k " + std::to_string(k) +
                            " --json - " + sources());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<json> lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), expected_->size()) << r.out;
  {
    std::istringstream raw(r.out);
    for (std::string text; std::getline(raw, text);) {
      EXPECT_EQ(text.rfind("{\"query\":", 0), 0u) << text;  // "query" first, for readers
    }
  }
  const index::Gallery& g = tiny().gallery;
  for (size_t i = 0; i < lines.size(); ++i) {
    const Expected& e = (*expected_)[i];
    const json& line = lines[i];
    ASSERT_EQ(line["query"], e.id) << i;
    if (e.malformed) {
      EXPECT_TRUE(line["results"].empty()) << e.id;
      EXPECT_FALSE(line["error"].get<std::string>().empty()) << e.id;
      EXPECT_TRUE(test::contains(r.err, "skipped " + e.id + ": ")) << r.err;
      continue;
    }
    EXPECT_FALSE(line.contains("error")) << line;
    EXPECT_EQ(line["class"], json(e.class_name)) << e.id;
    EXPECT_GE(line["seconds"].get<double>(), 0.0);
    const std::vector<double> d = test::poincare_distances(embed(e), g.embeddings, g.curvature);
    const std::vector<int64_t> order = test::ranking(d);
    ASSERT_EQ(line["results"].size(), static_cast<size_t>(k)) << e.id;
    for (size_t j = 0; j < static_cast<size_t>(k); ++j) {
      const json& res = line["results"][j];
      const int64_t id = res["id"].get<int64_t>();
      const int64_t want = order[j];
      // The same id; only a true tie (both distances equal here to 1e-6) may swap.
      EXPECT_TRUE(id == want ||
                  std::abs(d[static_cast<size_t>(id)] - d[static_cast<size_t>(want)]) < 1e-6)
          << e.id << " rank " << j << ": " << id << " instead of " << want;
      EXPECT_NEAR(res["distance"].get<double>(), d[static_cast<size_t>(want)], 1e-5)
          << e.id << " rank " << j;
      EXPECT_EQ(res["path"], g.entries[static_cast<size_t>(id)].path);
      EXPECT_EQ(res["class"], g.entries[static_cast<size_t>(id)].class_name);
    }
  }
  EXPECT_TRUE(test::contains(
      r.err, "2 of " + std::to_string(expected_->size()) + " sketches could not be read"))
      << r.err;
}

TEST_F(CliQueryBatch, SingleCallsAndFileOutputEqualTheBatch) {
  const std::string gallery = q(tiny().gallery_path);
  const Split batch = run_split("query --index " + gallery + " -k 5 --json - " + sources());
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  const std::vector<json> lines = json_lines(batch.out);
  ASSERT_EQ(lines.size(), expected_->size());
  std::map<std::string, json> by_id;
  for (const auto& l : lines) by_id[l["query"]] = l;
  // One sketch per call, each through `--json -`: a drawing (written alone to an .ndjson file)
  // and an image of the folder.
  for (const size_t i : {size_t{0}, size_t{4}}) {
    const Expected& e = (*expected_)[i];
    ASSERT_FALSE(e.malformed);
    std::string file = e.image;
    if (file.empty()) {
      file = path("single" + std::to_string(i) + ".ndjson");
      std::ofstream(file) << e.drawing << "\n";
    }
    const Split one = run_split("query --index " + gallery + " -k 5 --json - " + q(file));
    ASSERT_EQ(one.exit_code, 0) << one.err;
    const std::vector<json> single = json_lines(one.out);
    ASSERT_EQ(single.size(), 1u) << one.out;
    const json& want = by_id.at(e.id)["results"];
    ASSERT_EQ(single[0]["results"].size(), want.size());
    for (size_t j = 0; j < want.size(); ++j) {
      EXPECT_EQ(single[0]["results"][j]["id"], want[j]["id"]) << e.id << " rank " << j;
      EXPECT_NEAR(single[0]["results"][j]["distance"].get<double>(),
                  want[j]["distance"].get<double>(), 1e-5);
    }
  }
  // --json FILE holds the same lines.
  const Split to_file = run_split("query --index " + gallery + " -k 5 --json " +
                                  q(path("out.jsonl")) + " " + sources());
  ASSERT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_TRUE(to_file.out.empty()) << to_file.out;
  const std::vector<json> written = json_lines(read_text(path("out.jsonl")));
  ASSERT_EQ(written.size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    json a = written[i], b = lines[i];
    a.erase("seconds");
    b.erase("seconds");
    EXPECT_EQ(a, b) << i;
  }
  // Without --json: one table per sketch, headed by its id.
  const Split tables = run_split("query --index " + gallery + " -k 2 --sketches " + q(path("sk")));
  ASSERT_EQ(tables.exit_code, 0) << tables.err;
  EXPECT_TRUE(test::contains(tables.out, "query " + (*expected_)[4].id)) << tables.out;
  EXPECT_TRUE(test::contains(tables.out, "2 of " + std::to_string(g_size()) + " photos"))
      << tables.out;
  EXPECT_TRUE(test::contains(tables.out, "unreadable: ")) << tables.out;
}

TEST_F(CliQueryBatch, BadInputExitsOneWithAClearMessage) {
  const std::string base = "query --index " + q(tiny().gallery_path) + " ";
  fs::create_directories(path("empty"));
  std::ofstream(path("bad.ndjson")) << "{oops\n[]\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--sketches " + q(path("empty")), "no sketches found"},
      {q(path("nope.png")), "does not exist"},
      {"", "no sketches given"},
      {q(path("sk")), "is a folder; give folders and list files of sketches with --sketches"},
      {q(path("bad.ndjson")), "none of the 2 sketches could be read"},
      {"--json " + q(tiny().gallery_path) + " " + sources(), "would overwrite the input --index"},
      {"--json " + q(path("list.txt")) + " " + sources(), "would overwrite the input --sketches"},
      {"-k 0 " + sources(), "-k must be >= 1"},
  };
  for (const auto& [args, message] : cases) {
    const Split r = run_split(base + args);
    EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.err;
    EXPECT_TRUE(test::contains(r.err, message)) << args << "\n" << r.err;
  }
  // One unreadable sketch is the command's failure, with the reason.
  const std::string broken = (*expected_)[4 + 2].id;  // sk/<first class>/broken.png
  ASSERT_TRUE(test::contains(broken, "broken.png")) << broken;
  const Split r = run_split(base + q(broken));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.err, "broken.png")) << r.err;
}

TEST_F(CliQueryBatch, GalleryEvaluationEqualsMetricsAndBruteForce) {
  // A gallery where every fifth photo has lost its class: distractors.
  index::Gallery g = tiny().gallery;
  for (size_t i = 0; i < g.entries.size(); i += 5) g.entries[i].class_name = "";
  const std::string gallery = path("distractors.hgi");
  index::save_gallery(gallery, g);

  const Split r = run_split("eval-gallery --quiet --index " + q(gallery) +
                            " --k 5,10 --per-class --json - " + sources());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json got;
  ASSERT_NO_THROW(got = json::parse(r.out)) << r.out;
  EXPECT_TRUE(test::contains(r.err, "mAP")) << r.err;  // the table, on standard error
  EXPECT_TRUE(test::contains(r.err, "skipped " + (*expected_)[3].id)) << r.err;

  // The same queries embedded here, exported with labels for `hcmsn metrics`, and scored here.
  std::vector<torch::Tensor> rows;
  std::vector<std::string> query_labels, gallery_labels;
  double ap_sum = 0;
  for (const Expected& e : *expected_) {
    if (e.malformed) continue;
    const torch::Tensor x = embed(e);
    rows.push_back(x);
    query_labels.push_back(e.gallery_class);
    const auto order = test::ranking(test::poincare_distances(x, g.embeddings, g.curvature));
    ap_sum += test::average_precision(order, [&](int64_t id) {
      return g.entries[static_cast<size_t>(id)].class_name == e.gallery_class;
    });
  }
  for (const auto& entry : g.entries) {
    gallery_labels.push_back(entry.class_name.empty() ? "(none)" : entry.class_name);
  }
  io::write_npy(path("queries.npy"), torch::stack(rows));
  io::write_npy(path("gallery.npy"), g.embeddings);
  io::write_labels(path("query_labels.txt"), query_labels);
  io::write_labels(path("gallery_labels.txt"), gallery_labels);
  const Split m = run_split(
      fmt::format("metrics --quiet --queries {} --query-labels {} --gallery {} --gallery-labels {} "
                  "--curvature {:.17g} --k 5,10 --json {}",
                  q(path("queries.npy")), q(path("query_labels.txt")), q(path("gallery.npy")),
                  q(path("gallery_labels.txt")), g.curvature, q(path("metrics.json"))));
  ASSERT_EQ(m.exit_code, 0) << m.err;
  json want = json::parse(read_text(path("metrics.json")));
  want.erase("seconds");
  got.erase("seconds");
  ASSERT_EQ(got.size(), want.size()) << got.dump(1) << "\n" << want.dump(1);
  // Every field equal; numbers to 1e-9 (the two processes embed the queries separately).
  std::function<void(const json&, const json&, const std::string&)> same =
      [&](const json& a, const json& b, const std::string& where) {
        if (b.is_number()) {
          ASSERT_TRUE(a.is_number()) << where;
          EXPECT_NEAR(a.get<double>(), b.get<double>(), 1e-9) << where;
        } else if (b.is_object()) {
          ASSERT_TRUE(a.is_object()) << where;
          EXPECT_EQ(a.size(), b.size()) << where;
          for (auto it = b.begin(); it != b.end(); ++it) {
            ASSERT_TRUE(a.contains(it.key())) << where << "." << it.key();
            same(a[it.key()], it.value(), where + "." + it.key());
          }
        } else {
          EXPECT_EQ(a, b) << where;
        }
      };
  same(got, want, "");
  EXPECT_EQ(got["num_queries"], rows.size());
  EXPECT_EQ(got["num_gallery"], g.size());
  EXPECT_NEAR(got["map_all"].get<double>(), ap_sum / static_cast<double>(rows.size()), 1e-9);
  // The ndjson words ("Circle Plain") joined the gallery's classes ("circle_plain").
  EXPECT_TRUE(got["per_class"].contains((*expected_)[0].gallery_class)) << got["per_class"];
}

TEST_F(CliQueryBatch, GalleryEvaluationClassHandling) {
  const std::string base = "eval-gallery --quiet --index " + q(tiny().gallery_path) + " ";
  const Expected& image = (*expected_)[4];
  std::ofstream(path("unknown.txt")) << image.image << "\tnot a class\n"
                                     << image.image << "\t" << image.class_name << "\n";
  Split r = run_split(base + "--sketches " + q(path("unknown.txt")));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(test::contains(r.err, "1 queries belong to classes with no gallery item")) << r.err;
  EXPECT_TRUE(test::contains(r.out, "mAP")) << r.out;
  r = run_split(base + "--empty-queries error --sketches " + q(path("unknown.txt")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.err, "not a class")) << r.err;
  // Sketches without a class cannot be scored.
  r = run_split(base + q(image.image));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.err, "1 of 1 sketches have no class")) << r.err;
  fs::create_directories(path("empty"));  // each test may run in a process of its own
  r = run_split(base + "--sketches " + q(path("empty")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(test::contains(r.err, "no sketches found")) << r.err;
}

}  // namespace
}  // namespace hcmsn
