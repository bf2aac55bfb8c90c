// The photos `hcmsn index` embeds, from a folder or a list file.
#pragma once

#include <string>
#include <vector>

#include "hcmsn/index/gallery.h"

namespace hcmsn::index {

/// Folder: every image file (data::is_image_file_name) under DIR, recursively, in sorted path
/// order; the class is the first folder below DIR (DIR/<class>/…/x.jpg) and unknown (empty) for
/// files directly in DIR. Hidden files and folders are skipped.
/// List file: one photo per line, "PATH" or "PATH<TAB>CLASS"; relative paths are relative to the
/// list's folder; blank lines and lines starting with '#' are skipped.
/// Paths come back absolute and normalised. Throws hcmsn::Error when the source is missing, a
/// listed file does not exist (all such lines are named), or no photo is found.
std::vector<GalleryEntry> list_photos(const std::string& dir_or_list);

}  // namespace hcmsn::index
