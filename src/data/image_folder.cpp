#include "hcmsn/data/image_folder.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <string>
#include <vector>

#include "folder_listing.h"
#include "hcmsn/model/retrieval_feature_net.h"
#include "hcmsn/util/check.h"
#include "hcmsn/util/log.h"
#include "hcmsn/util/progress.h"
#include "rgb8.h"

namespace hcmsn::data {
namespace {

namespace fs = std::filesystem;

// Resizes an RGB 8-bit HWC image to size × size into `out` (channels first): INTER_AREA when
// shrinking both sides, bilinear otherwise.
void resize_square_into(const cv::Mat& rgb, int64_t size, uint8_t* out) {
  const int s = static_cast<int>(size);
  cv::Mat resized;
  if (rgb.cols == s && rgb.rows == s) {
    resized = rgb;
  } else {
    const bool shrinking = rgb.cols >= s && rgb.rows >= s;
    cv::resize(rgb, resized, cv::Size(s, s), 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  if (!resized.isContinuous()) resized = resized.clone();
  // HWC → CHW
  const uint8_t* src = resized.ptr<uint8_t>();
  const int64_t plane = size * size;
  for (int64_t p = 0; p < plane; ++p)
    for (int c = 0; c < 3; ++c) out[c * plane + p] = src[p * 3 + c];
}

// Decodes into `out` (3 × size × size bytes, channels first).
void decode_into(const std::string& path, int64_t size, uint8_t* out) {
  std::error_code ec;
  HCMSN_CHECK(fs::is_regular_file(path, ec), "cannot read image '", path,
              "': no such file (or it is not a regular file)");
  const cv::Mat decoded = cv::imread(path, cv::IMREAD_UNCHANGED);
  HCMSN_CHECK(!decoded.empty() && decoded.cols > 0 && decoded.rows > 0, "cannot decode image '",
              path, "': the file is corrupt, truncated or not an image; remove or replace it");
  resize_square_into(internal::to_rgb8(decoded), size, out);
}

void check_size(int64_t size) {
  HCMSN_CHECK(size >= 1 && size <= 4096, "image size must be in [1, 4096] pixels, got ", size);
}

}  // namespace

bool is_image_file_name(const std::string& file_name) {
  const auto dot = file_name.rfind('.');
  if (dot == std::string::npos || dot == 0) return false;
  std::string ext = file_name.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == "png" || ext == "jpg" || ext == "jpeg" || ext == "bmp";
}

ImageFolder scan_image_folder(const std::string& root) {
  std::error_code ec;
  HCMSN_CHECK(fs::is_directory(root, ec), "image folder '", root,
              "' does not exist or is not a folder; expected ROOT/sketch/<class>/*.png and "
              "ROOT/photo/<class>/*.jpg");
  ImageFolder folder;
  folder.root = root;
  const char* names[2] = {"sketch", "photo"};
  const int64_t modalities[2] = {model::kSketch, model::kPhoto};
  std::set<std::string> classes;
  for (int m = 0; m < 2; ++m) {
    const fs::path dir = fs::path(root) / names[m];
    HCMSN_CHECK(fs::is_directory(dir, ec), "image folder '", root, "' has no '", names[m],
                "' subfolder; expected ROOT/sketch/<class>/ and ROOT/photo/<class>/");
    int64_t count = 0;
    for (const auto& class_entry : internal::sorted_entries(dir)) {
      if (!class_entry.is_directory(ec) || class_entry.path().filename().string().front() == '.') {
        ++folder.skipped_entries;
        continue;
      }
      const std::string class_name = class_entry.path().filename().string();
      for (const auto& file : internal::sorted_entries(class_entry.path())) {
        const std::string file_name = file.path().filename().string();
        if (!file.is_regular_file(ec) || file_name.front() == '.' ||
            !is_image_file_name(file_name)) {
          ++folder.skipped_entries;
          continue;
        }
        folder.items.push_back({file.path().string(), class_name, modalities[m], -1});
        classes.insert(class_name);
        ++count;
      }
    }
    HCMSN_CHECK(count > 0, "image folder '", root, "' holds no ", names[m],
                " images; expected files like ", dir.string(),
                "/<class>/0001.png (.png, .jpg, .jpeg or .bmp)");
    (m == 0 ? folder.num_sketches : folder.num_photos) = count;
  }
  folder.class_names.assign(classes.begin(), classes.end());
  for (auto& item : folder.items) {
    const auto it =
        std::lower_bound(folder.class_names.begin(), folder.class_names.end(), item.class_name);
    HCMSN_ASSERT(it != folder.class_names.end() && *it == item.class_name,
                 "class of a scanned item missing from the class list");
    item.class_index = it - folder.class_names.begin();
  }
  return folder;
}

torch::Tensor load_image(const std::string& path, int64_t size) {
  check_size(size);
  auto out = torch::empty({3, size, size}, torch::kUInt8);
  decode_into(path, size, out.data_ptr<uint8_t>());
  return out;
}

torch::Tensor resize_square(const torch::Tensor& image, int64_t size) {
  check_size(size);
  HCMSN_CHECK(image.defined() && image.dim() == 3 && image.size(0) == 3 &&
                  image.scalar_type() == torch::kUInt8 && image.size(1) > 0 && image.size(2) > 0,
              "resize_square: expected a uint8 (3, H, W) RGB image, got ", image.sizes());
  const torch::Tensor hwc = image.permute({1, 2, 0}).contiguous();
  const cv::Mat rgb(static_cast<int>(hwc.size(0)), static_cast<int>(hwc.size(1)), CV_8UC3,
                    hwc.data_ptr<uint8_t>());
  auto out = torch::empty({3, size, size}, torch::kUInt8);
  resize_square_into(rgb, size, out.data_ptr<uint8_t>());
  return out;
}

LoadedImages load_images(const std::vector<ImageItem>& items, int64_t size,
                         const LoadOptions& options) {
  check_size(size);
  const auto n = static_cast<int64_t>(items.size());
  LoadedImages out;
  out.pixels = torch::zeros({n, 3, size, size}, torch::kUInt8);
  uint8_t* base = out.pixels.data_ptr<uint8_t>();
  const int64_t stride = 3 * size * size;
  std::vector<std::string> errors(static_cast<size_t>(n));

  util::Progress progress(n, {options.progress_label, "images", options.show_progress});
  constexpr int64_t kChunk = 256;  // progress is drawn between chunks, on this thread
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    const int64_t end = std::min(n, begin + kChunk);
    at::parallel_for(begin, end, 4, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        try {
          decode_into(items[static_cast<size_t>(i)].path, size, base + i * stride);
        } catch (const std::exception& ex) {
          errors[static_cast<size_t>(i)] = ex.what();
          std::memset(base + i * stride, 0, static_cast<size_t>(stride));
        } catch (...) {
          errors[static_cast<size_t>(i)] =
              "cannot decode image '" + items[static_cast<size_t>(i)].path + "': unknown error";
        }
      }
    });
    progress.advance(end - begin);
  }
  progress.finish();

  std::vector<int64_t> failed;
  for (int64_t i = 0; i < n; ++i)
    if (!errors[static_cast<size_t>(i)].empty()) failed.push_back(i);
  if (failed.empty()) return out;

  constexpr size_t kListed = 5;
  std::string listed;
  for (size_t k = 0; k < std::min(kListed, failed.size()); ++k)
    listed += "\n  " + errors[static_cast<size_t>(failed[k])];
  if (failed.size() > kListed) listed += "\n  ...";
  HCMSN_CHECK(
      options.skip_unreadable, failed.size(), " of ", n,
      " images could not be read; fix or remove them, or skip them (skip_unreadable):", listed);
  util::log_warn("skipping {} of {} images that could not be read:{}", failed.size(), n, listed);
  out.failed = std::move(failed);
  return out;
}

InputNormalization InputNormalization::imagenet() {
  InputNormalization n;
  n.mean = {0.485f, 0.456f, 0.406f};
  n.std = {0.229f, 0.224f, 0.225f};
  return n;
}

torch::Tensor to_float_input(const torch::Tensor& pixels_u8, const InputNormalization& norm) {
  HCMSN_CHECK(pixels_u8.defined() && pixels_u8.scalar_type() == torch::kUInt8,
              "to_float_input expects uint8 pixels (from load_images)");
  const int64_t dim = pixels_u8.dim();
  HCMSN_CHECK((dim == 4 || dim == 3) && pixels_u8.size(dim - 3) == 3,
              "to_float_input expects (N, 3, S, S) or (3, S, S) pixels, got ", pixels_u8.sizes());
  for (int c = 0; c < 3; ++c)
    HCMSN_CHECK(norm.std[c] > 0 && std::isfinite(norm.std[c]) && std::isfinite(norm.mean[c]),
                "input normalisation needs finite means and std > 0 per channel");
  std::vector<int64_t> shape(static_cast<size_t>(dim), 1);
  shape[static_cast<size_t>(dim - 3)] = 3;
  const auto mean =
      torch::tensor(std::vector<float>(norm.mean.begin(), norm.mean.end())).reshape(shape);
  const auto inv_std =
      1.0 / torch::tensor(std::vector<float>(norm.std.begin(), norm.std.end())).reshape(shape);
  torch::NoGradGuard no_grad;
  return ((pixels_u8.to(torch::kFloat32) / 255.0f) - mean) * inv_std;
}

}  // namespace hcmsn::data
