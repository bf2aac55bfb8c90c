// A tiny trained run and its gallery, built once per test process (a few seconds): synthetic
// images, two epochs of a small CNN, and a gallery of every photo. For the serve tests.
#pragma once

#include <string>

#include "hcmsn/index/gallery.h"

namespace hcmsn::test {

struct TinyGallery {
  std::string dir;           // temporary folder holding everything below
  std::string data;          // synth-images output: data/{photo,sketch}/<class>/nnnn.png
  std::string run;           // the trained run folder
  std::string gallery_path;  // the gallery file
  index::Gallery gallery;    // its content
};

/// Built on first use; a failure is a fatal test failure of the caller (check HasFatalFailure).
const TinyGallery& tiny_gallery();

}  // namespace hcmsn::test
