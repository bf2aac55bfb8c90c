// The sketches `hcmsn query` and `hcmsn eval-gallery` read: image files, QuickDraw drawings
// (.json, one drawing; .ndjson, one drawing per line), folders and list files of them.
//
// Listing is cheap and loading is lazy: a QuerySketch records where its pixels come from (a file,
// or a line's byte range in an .ndjson file) and load_sketch decodes or renders them when the
// batch that holds it is embedded, so a long list never sits decoded in memory.
//
// Classes: the folder (DIR/<class>/…) or the list line (PATH<TAB>CLASS) names a sketch's class;
// a drawing without one takes its "word" field (QuickDraw's category). Callers that compare
// classes join them by data::class_key, so "alarm clock" meets "alarm_clock".
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hcmsn/data/quickdraw_strokes.h"

namespace hcmsn::index {

enum class SketchFormat {
  kImage,       // PNG, JPEG or BMP file
  kStrokes,     // .json file holding one drawing
  kNdjsonLine,  // one line of an .ndjson file
};

struct QuerySketch {
  /// The path, or "PATH:LINE" (1-based) for a line of an .ndjson file.
  std::string id;
  /// Empty when unknown.
  std::string class_name;
  /// Absolute and normalised.
  std::string path;
  SketchFormat format = SketchFormat::kImage;
  int64_t line = 0;    // kNdjsonLine: 1-based line number
  int64_t offset = 0;  // kNdjsonLine: byte offset of the line in the file
  int64_t length = 0;  // kNdjsonLine: bytes of the line, without its newline
  /// Why the sketch is already known to be unreadable (a line that is not JSON); load_sketch
  /// throws it. Empty otherwise.
  std::string problem;
};

struct SketchListOptions {
  /// At most this many drawings of each .ndjson file (its first non-blank lines); 0: all.
  int64_t max_per_file = 0;
};

/// True for the names list_sketch_file takes: images (data::is_image_file_name), .json and
/// .ndjson, in any case.
bool is_sketch_file_name(const std::string& file_name);

/// The sketches of one file: an image or a .json drawing (one each), or every non-blank line of
/// an .ndjson file (up to options.max_per_file). `class_name` (may be empty) is their class; a
/// drawing without one takes its "word". Throws hcmsn::Error when the file is missing, is not a
/// sketch file name, or is an .ndjson file without any drawing line.
std::vector<QuerySketch> list_sketch_file(const std::string& path, const std::string& class_name,
                                          const SketchListOptions& options = {});

/// A folder (every sketch file under it, recursively, in sorted path order; the class is the
/// first folder below it, as for photos) or a list file of PATH[<TAB>CLASS] lines (relative to
/// the list's folder; a line may name an .ndjson file, which gives all its drawings). Throws
/// hcmsn::Error when the source is missing, a listed file does not exist, or no sketch is found.
std::vector<QuerySketch> list_sketches(const std::string& dir_or_list,
                                       const SketchListOptions& options = {});

/// Sketch files (list_sketch_file, in the given order) then folders and list files
/// (list_sketches), concatenated. Throws hcmsn::Error when a source fails as above, when a file
/// is a folder (folders go in `dirs_or_lists`) or when there is nothing at all.
std::vector<QuerySketch> collect_sketches(const std::vector<std::string>& files,
                                          const std::vector<std::string>& dirs_or_lists,
                                          const SketchListOptions& options = {});

/// Decodes an image, or renders a drawing with `render`: uint8 (3, H, W) RGB. Throws
/// hcmsn::Error naming the sketch's id when it cannot be read, decoded or parsed.
torch::Tensor load_sketch(const QuerySketch& sketch, const data::RenderOptions& render);

}  // namespace hcmsn::index
