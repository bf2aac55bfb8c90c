#include "hcmsn/index/photo_list.h"

#include <filesystem>

#include "hcmsn/data/image_folder.h"
#include "hcmsn/index/labelled_files.h"
#include "hcmsn/util/check.h"

namespace hcmsn::index {

std::vector<GalleryEntry> list_photos(const std::string& dir_or_list) {
  namespace fs = std::filesystem;
  std::error_code ec;
  HCMSN_CHECK(fs::exists(dir_or_list, ec), "photos '", dir_or_list,
              "' do not exist; give a folder of images or a list file (PATH[<TAB>CLASS] lines)");
  const std::vector<LabelledFile> files =
      fs::is_directory(dir_or_list, ec) ? list_folder_files(dir_or_list, data::is_image_file_name)
                                        : read_file_list(dir_or_list, "photo list");
  HCMSN_CHECK(!files.empty(), "no photos found in '", dir_or_list,
              "' (.png, .jpg, .jpeg or .bmp files, or PATH[<TAB>CLASS] lines)");
  std::vector<GalleryEntry> out;
  out.reserve(files.size());
  for (const LabelledFile& f : files) out.push_back({f.path, f.class_name});
  return out;
}

}  // namespace hcmsn::index
