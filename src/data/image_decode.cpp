#include "hcmsn/data/image_decode.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "hcmsn/io/checked_file.h"
#include "hcmsn/util/atomic_file.h"
#include "hcmsn/util/check.h"
#include "rgb8.h"

namespace hcmsn::data {
namespace {

uint64_t get_be(std::string_view b, size_t offset, int count) {
  uint64_t v = 0;
  for (int i = 0; i < count; ++i) v = (v << 8) | static_cast<unsigned char>(b[offset + i]);
  return v;
}

// Width and height from the header of a PNG, JPEG or BMP, without decoding: the pixel limit
// must hold before OpenCV allocates. Other formats are checked after decoding.
std::optional<std::pair<uint64_t, uint64_t>> probe_size(std::string_view b) {
  if (b.size() >= 24 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) {
    return std::make_pair(get_be(b, 16, 4), get_be(b, 20, 4));
  }
  if (b.size() >= 26 && b.substr(0, 2) == "BM") {
    const auto w = static_cast<int32_t>(io::get_le(b, 18, 4));
    const auto h = static_cast<int32_t>(io::get_le(b, 22, 4));
    return std::make_pair(static_cast<uint64_t>(w < 0 ? -int64_t{w} : w),
                          static_cast<uint64_t>(h < 0 ? -int64_t{h} : h));
  }
  if (b.size() >= 4 && static_cast<unsigned char>(b[0]) == 0xFF &&
      static_cast<unsigned char>(b[1]) == 0xD8) {
    size_t pos = 2;
    while (pos + 9 < b.size()) {
      if (static_cast<unsigned char>(b[pos]) != 0xFF) return std::nullopt;
      const auto marker = static_cast<unsigned char>(b[pos + 1]);
      if (marker == 0xFF) {  // fill byte
        ++pos;
        continue;
      }
      // Start-of-frame markers (baseline, progressive, ...) carry the size.
      const bool sof =
          marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof) return std::make_pair(get_be(b, pos + 7, 2), get_be(b, pos + 5, 2));
      if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7)) {
        pos += 2;
        continue;
      }
      pos += 2 + get_be(b, pos + 2, 2);
    }
  }
  return std::nullopt;
}

// Throws unless `b` is a whole PNG: chunks with matching CRCs, up to IEND.
void check_whole_png(std::string_view b, const std::string& what) {
  size_t pos = 8;
  while (true) {
    HCMSN_CHECK(b.size() - pos >= 12, "cannot decode image '", what,
                "': the PNG is truncated (it ends before its IEND chunk)");
    const uint64_t length = get_be(b, pos, 4);
    HCMSN_CHECK(length <= b.size() - pos - 12, "cannot decode image '", what,
                "': the PNG is truncated (a chunk runs past the end of the data)");
    const std::string_view type = b.substr(pos + 4, 4);
    const auto* typed = reinterpret_cast<const Bytef*>(b.data() + pos + 4);
    const auto crc = static_cast<uint64_t>(crc32(0L, typed, static_cast<uInt>(length + 4)));
    HCMSN_CHECK(crc == get_be(b, pos + 8 + length, 4), "cannot decode image '", what,
                "': the PNG is corrupt (the CRC of its ", type, " chunk does not match)");
    pos += 12 + length;
    if (type == "IEND") return;
  }
}

// Throws unless `b` (a JPEG) ends with its end-of-image marker, padding zeros aside.
void check_whole_jpeg(std::string_view b, const std::string& what) {
  size_t end = b.size();
  while (end > 0 && b[end - 1] == '\0') --end;
  HCMSN_CHECK(end >= 4 && static_cast<unsigned char>(b[end - 2]) == 0xFF &&
                  static_cast<unsigned char>(b[end - 1]) == 0xD9,
              "cannot decode image '", what,
              "': the JPEG is truncated (it does not end with its end-of-image marker)");
}

void check_pixels(uint64_t w, uint64_t h, const std::string& what, const DecodeOptions& options) {
  HCMSN_CHECK(w > 0 && h > 0, "cannot decode image '", what, "': it has no pixels");
  if (options.max_side > 0 && std::max(w, h) > static_cast<uint64_t>(options.max_side)) {
    throw ImageTooLargeError(detail::concat("image '", what, "' is ", w, "×", h,
                                            " pixels, over the limit of ", options.max_side,
                                            " pixels a side; scale it down before sending it"));
  }
  if (w > static_cast<uint64_t>(options.max_pixels) / h) {
    throw ImageTooLargeError(detail::concat("image '", what, "' is ", w, "×", h,
                                            " pixels, over the limit of ", options.max_pixels,
                                            " pixels; downscale it before use"));
  }
}

}  // namespace

torch::Tensor decode_image_bytes(std::string_view bytes, const std::string& what,
                                 const DecodeOptions& options) {
  HCMSN_CHECK(!bytes.empty(), "cannot decode image '", what, "': it is empty");
  if (const auto size = probe_size(bytes)) check_pixels(size->first, size->second, what, options);
  if (options.strict) {
    if (bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) {
      check_whole_png(bytes, what);
    } else if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
               static_cast<unsigned char>(bytes[1]) == 0xD8) {
      check_whole_jpeg(bytes, what);
    }
  }
  cv::Mat decoded;
  try {
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
    decoded = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw Error(detail::concat("cannot decode image '", what, "': ", e.what()));
  }
  HCMSN_CHECK(!decoded.empty() && decoded.cols > 0 && decoded.rows > 0, "cannot decode image '",
              what, "': the data is corrupt, truncated or not an image");
  check_pixels(decoded.cols, decoded.rows, what, options);
  cv::Mat rgb = internal::to_rgb8(decoded);
  if (!rgb.isContinuous()) rgb = rgb.clone();
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8)
      .permute({2, 0, 1})
      .contiguous();
}

torch::Tensor decode_image_file(const std::string& path, const DecodeOptions& options) {
  std::error_code ec;
  HCMSN_CHECK(std::filesystem::is_regular_file(path, ec), "cannot read image '", path,
              "': no such file (or it is not a regular file)");
  return decode_image_bytes(util::read_file(path), path, options);
}

}  // namespace hcmsn::data
