// Decoding image files and in-memory images (PNG, JPEG, BMP, ... via OpenCV) to uint8 RGB at
// their own size, with a pixel limit so that a small file cannot claim gigabytes (decompression
// bombs).
//
// Pixel contract: uint8 (3, H, W), RGB, channels first. Grey images are replicated to three
// channels, transparent pixels are composited over white (sketch PNGs often have a transparent
// background), 16-bit images are scaled to 8 bits.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "hcmsn/util/check.h"

namespace hcmsn::data {

/// The image is larger than DecodeOptions::max_pixels: the caller's input is refused, not broken
/// (a server answers 413 here and 400 for corrupt data).
class ImageTooLargeError : public Error {
 public:
  using Error::Error;
};

struct DecodeOptions {
  /// Images with more pixels (width × height) are rejected before decoding.
  int64_t max_pixels = int64_t{64} << 20;
  /// Images with a longer side are rejected before decoding (0: no limit). A query needs a few
  /// hundred pixels a side; this bounds what one upload can make the decoder allocate.
  int64_t max_side = 0;
  /// PNG and JPEG are checked whole before decoding: every PNG chunk there with its CRC up to
  /// IEND, a JPEG ending in its end-of-image marker. libjpeg decodes a truncated JPEG to a grey
  /// lower part, and libpng prints its own line to stderr for a broken file; both are refused
  /// here with one message instead (an unreadable item, listed, in training and indexing). All
  /// 3,469 images of ../shared/data pass. False decodes whatever OpenCV can.
  bool strict = true;
};

/// Decodes an image file. Throws hcmsn::Error naming the file when it is missing, corrupt, not an
/// image, or larger than options.max_pixels.
torch::Tensor decode_image_file(const std::string& path, const DecodeOptions& options = {});

/// Decodes encoded image bytes (e.g. an HTTP request body); `what` names them in errors.
torch::Tensor decode_image_bytes(std::string_view bytes, const std::string& what,
                                 const DecodeOptions& options = {});

}  // namespace hcmsn::data
