#include "rgb8.h"

#include <opencv2/imgproc.hpp>
#include <vector>

#include "hcmsn/util/check.h"

namespace hcmsn::data::internal {

cv::Mat to_rgb8(const cv::Mat& decoded) {
  cv::Mat img = decoded;
  if (img.depth() == CV_16U) {
    img.convertTo(img, CV_8U, 1.0 / 257.0);
  } else if (img.depth() != CV_8U) {
    cv::Mat scaled;
    cv::normalize(img, scaled, 0, 255, cv::NORM_MINMAX, CV_8U);
    img = scaled;
  }
  cv::Mat rgb;
  switch (img.channels()) {
    case 1:
      cv::cvtColor(img, rgb, cv::COLOR_GRAY2RGB);
      break;
    case 3:
      cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
      break;
    case 4: {
      // Composite over white: transparent sketch backgrounds must not turn black.
      cv::Mat bgr, alpha;
      cv::cvtColor(img, bgr, cv::COLOR_BGRA2BGR);
      cv::extractChannel(img, alpha, 3);
      cv::Mat a, a3, f;
      alpha.convertTo(a, CV_32F, 1.0 / 255.0);
      cv::merge(std::vector<cv::Mat>{a, a, a}, a3);
      bgr.convertTo(f, CV_32FC3);
      f = f.mul(a3) + (cv::Scalar::all(1.0) - a3) * 255.0;
      f.convertTo(bgr, CV_8UC3);
      cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
      break;
    }
    default:
      HCMSN_CHECK(false, "unsupported channel count ", img.channels());
  }
  return rgb;
}

}  // namespace hcmsn::data::internal
