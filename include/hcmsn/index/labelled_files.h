// Files with an optional class, from a folder or a list file: the one walk behind the photos
// `hcmsn index` embeds (index/photo_list.h) and the sketches `hcmsn query` and
// `hcmsn eval-gallery` read (index/sketch_list.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace hcmsn::index {

struct LabelledFile {
  std::string path;        // absolute and normalised
  std::string class_name;  // empty when unknown
};

/// Every file under `root`, recursively, whose name `accept` takes, in sorted path order; the
/// class is the first folder below `root` (ROOT/<class>/…/x) and unknown (empty) for files
/// directly in `root`. Hidden files and folders are skipped. Throws hcmsn::Error when the folder
/// cannot be listed.
std::vector<LabelledFile> list_folder_files(const std::string& root,
                                            const std::function<bool(const std::string&)>& accept);

/// One file per line, "PATH" or "PATH<TAB>CLASS"; relative paths are relative to the list's
/// folder; blank lines and lines starting with '#' are skipped. Throws hcmsn::Error when the list
/// cannot be read or names files that do not exist (all such lines are counted, the first named);
/// `what` names the list in messages ("photo list", "sketch list").
std::vector<LabelledFile> read_file_list(const std::string& list, const std::string& what);

}  // namespace hcmsn::index
