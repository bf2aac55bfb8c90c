// Private to src/data: the one conversion of any OpenCV-decoded image to 8-bit RGB.
#pragma once

#include <opencv2/core.hpp>

namespace hcmsn::data::internal {

/// 1–4 channels, 8 or 16 bits (or float) → CV_8UC3 in RGB order; alpha composited over white.
cv::Mat to_rgb8(const cv::Mat& decoded);

}  // namespace hcmsn::data::internal
