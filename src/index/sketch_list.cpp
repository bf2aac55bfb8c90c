#include "hcmsn/index/sketch_list.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "hcmsn/data/image_decode.h"
#include "hcmsn/data/image_folder.h"
#include "hcmsn/index/labelled_files.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"

namespace hcmsn::index {
namespace {

namespace fs = std::filesystem;

bool has_suffix(const std::string& name, const std::string& suffix) {
  if (name.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), name.rbegin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

bool is_blank(const std::string& line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

// The "word" of a drawing's JSON, or "" when it has none; throws nlohmann's parse error.
std::string word_of(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text);
  if (j.is_object() && j.contains("word") && j["word"].is_string()) {
    return j["word"].get<std::string>();
  }
  return "";
}

// Fills in a drawing's class from its "word" when the folder or list gave none; a text that is
// not JSON becomes the sketch's problem (it is reported when loaded, with the others).
void take_word(QuerySketch& sketch, const std::string& text) {
  if (!sketch.class_name.empty()) return;
  try {
    sketch.class_name = word_of(text);
  } catch (const nlohmann::json::exception& e) {
    sketch.problem = std::string("not valid JSON (") + e.what() + ")";
  }
}

std::vector<QuerySketch> ndjson_lines(const std::string& path, const std::string& class_name,
                                      const SketchListOptions& options) {
  std::ifstream in(path, std::ios::binary);
  HCMSN_CHECK(in, "cannot read '", path, "'");
  std::vector<QuerySketch> out;
  int64_t offset = 0, line_number = 0;
  for (std::string line; std::getline(in, line);) {
    const int64_t start = offset;
    offset += static_cast<int64_t>(line.size()) + 1;
    ++line_number;
    if (is_blank(line)) continue;
    if (options.max_per_file > 0 && static_cast<int64_t>(out.size()) >= options.max_per_file) {
      break;
    }
    if (line.back() == '\r') line.pop_back();
    QuerySketch s;
    s.id = path + ":" + std::to_string(line_number);
    s.class_name = class_name;
    s.path = path;
    s.format = SketchFormat::kNdjsonLine;
    s.line = line_number;
    s.offset = start;
    s.length = static_cast<int64_t>(line.size());
    take_word(s, line);
    out.push_back(std::move(s));
  }
  HCMSN_CHECK(!in.bad(), "cannot read '", path, "'");
  if (out.empty()) {
    // Listed as one unreadable sketch rather than dropped, so the caller reports it.
    QuerySketch s;
    s.id = path;
    s.class_name = class_name;
    s.path = path;
    s.format = SketchFormat::kNdjsonLine;
    s.problem = "no drawing in the file (an .ndjson file holds one QuickDraw drawing per line)";
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

bool is_sketch_file_name(const std::string& file_name) {
  return data::is_image_file_name(file_name) || has_suffix(file_name, ".json") ||
         has_suffix(file_name, ".ndjson");
}

std::vector<QuerySketch> list_sketch_file(const std::string& path_in, const std::string& class_name,
                                          const SketchListOptions& options) {
  HCMSN_CHECK(options.max_per_file >= 0, "the cap of drawings per file must be >= 0 (0: all), got ",
              options.max_per_file);
  std::error_code ec;
  HCMSN_CHECK(fs::exists(path_in, ec), "sketch '", path_in, "' does not exist");
  HCMSN_CHECK(!fs::is_directory(path_in, ec), "sketch '", path_in,
              "' is a folder; give folders and list files of sketches with --sketches");
  const std::string path = fs::absolute(path_in).lexically_normal().string();
  HCMSN_CHECK(is_sketch_file_name(path), "'", path_in,
              "' is not a sketch file (.png, .jpg, .jpeg, .bmp, .json or .ndjson); give list "
              "files of sketches with --sketches");
  if (has_suffix(path, ".ndjson")) return ndjson_lines(path, class_name, options);
  QuerySketch s;
  s.id = path;
  s.class_name = class_name;
  s.path = path;
  if (has_suffix(path, ".json")) {
    s.format = SketchFormat::kStrokes;
    if (class_name.empty()) take_word(s, util::read_file(path));
  }
  return {std::move(s)};
}

std::vector<QuerySketch> list_sketches(const std::string& dir_or_list,
                                       const SketchListOptions& options) {
  std::error_code ec;
  HCMSN_CHECK(fs::exists(dir_or_list, ec), "sketches '", dir_or_list,
              "' do not exist; give a folder of sketches or a list file (PATH[<TAB>CLASS] lines)");
  const std::vector<LabelledFile> files = fs::is_directory(dir_or_list, ec)
                                              ? list_folder_files(dir_or_list, is_sketch_file_name)
                                              : read_file_list(dir_or_list, "sketch list");
  std::vector<QuerySketch> out;
  for (const LabelledFile& f : files) {
    std::vector<QuerySketch> some = list_sketch_file(f.path, f.class_name, options);
    std::move(some.begin(), some.end(), std::back_inserter(out));
  }
  HCMSN_CHECK(!out.empty(), "no sketches found in '", dir_or_list,
              "' (.png, .jpg, .jpeg, .bmp, .json or .ndjson files, or PATH[<TAB>CLASS] lines)");
  return out;
}

std::vector<QuerySketch> collect_sketches(const std::vector<std::string>& files,
                                          const std::vector<std::string>& dirs_or_lists,
                                          const SketchListOptions& options) {
  std::vector<QuerySketch> out;
  for (const std::string& f : files) {
    std::vector<QuerySketch> some = list_sketch_file(f, "", options);
    std::move(some.begin(), some.end(), std::back_inserter(out));
  }
  for (const std::string& d : dirs_or_lists) {
    std::vector<QuerySketch> some = list_sketches(d, options);
    std::move(some.begin(), some.end(), std::back_inserter(out));
  }
  HCMSN_CHECK(!out.empty(), "no sketches given; name sketch files, or folders and list files");
  return out;
}

torch::Tensor load_sketch(const QuerySketch& sketch, const data::RenderOptions& render) {
  HCMSN_CHECK(sketch.problem.empty(), sketch.problem);
  if (sketch.format == SketchFormat::kImage) return data::decode_image_file(sketch.path);
  if (sketch.format == SketchFormat::kStrokes) {
    return data::render_drawing(data::parse_drawing(util::read_file(sketch.path), sketch.id),
                                render);
  }
  std::ifstream in(sketch.path, std::ios::binary);
  HCMSN_CHECK(in, "cannot read '", sketch.path, "'");
  std::string text(static_cast<size_t>(sketch.length), '\0');
  in.seekg(sketch.offset);
  in.read(text.data(), sketch.length);
  HCMSN_CHECK(in, "cannot read line ", sketch.line, " of '", sketch.path,
              "' (did the file change since it was listed?)");
  return data::render_drawing(data::parse_drawing(text, sketch.id), render);
}

}  // namespace hcmsn::index
