// Sketch/photo image folders in the generic layout ROOT/{sketch,photo}/<class>/<file>, where
// <file> ends in .png, .jpg, .jpeg or .bmp (any case), and decoding them into uint8 tensors.
//
// Pixel contract: images are RGB, uint8, channels first. Every image is resized to size × size
// without keeping its aspect ratio (INTER_AREA when shrinking, INTER_LINEAR otherwise), as the
// common ZS-SBIR pipelines do; sketch datasets are square already. Grey images are replicated
// to three channels, transparent pixels are composited over white (sketch PNGs often have a
// transparent background), 16-bit images are scaled to 8 bits.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace hcmsn::data {

struct ImageItem {
  std::string path;
  std::string class_name;
  int64_t modality = 0;      // hcmsn::model::kSketch (0) or kPhoto (1)
  int64_t class_index = -1;  // index into ImageFolder::class_names
};

struct ImageFolder {
  std::string root;
  /// Sorted by modality (sketches first), class name, then file name (byte order).
  std::vector<ImageItem> items;
  /// Sorted union of the classes that hold at least one image in either modality.
  std::vector<std::string> class_names;
  int64_t num_sketches = 0;
  int64_t num_photos = 0;
  /// Entries that are not images and were ignored: files with another extension or hidden
  /// files inside class folders, folders nested in class folders, files lying directly in
  /// ROOT/sketch or ROOT/photo, and hidden folders there (".ipynb_checkpoints" is no class).
  int64_t skipped_entries = 0;
};

/// Scans ROOT. Throws hcmsn::Error when ROOT, ROOT/sketch or ROOT/photo is missing or not a
/// folder, or when either modality holds no image at all.
ImageFolder scan_image_folder(const std::string& root);

/// True for the extensions scan_image_folder accepts (".png", ".jpg", ".jpeg", ".bmp", any case).
bool is_image_file_name(const std::string& file_name);

/// Decodes one image to uint8 (3, size, size) RGB. Throws hcmsn::Error naming the file when it
/// is missing or cannot be decoded, or when size is not in [1, 4096].
torch::Tensor load_image(const std::string& path, int64_t size);

/// The resize of load_image on decoded pixels: uint8 (3, H, W) → uint8 (3, size, size)
/// (INTER_AREA when shrinking both sides, bilinear otherwise), so images that arrive as bytes
/// (e.g. a search request) match training rows exactly.
torch::Tensor resize_square(const torch::Tensor& image, int64_t size);

struct LoadOptions {
  /// false: any unreadable file makes load_images throw, listing the bad files.
  /// true: unreadable files are reported (one warning with the count and the first paths) and
  /// listed in LoadedImages::failed.
  bool skip_unreadable = false;
  bool show_progress = false;
  std::string progress_label = "decoding images";
};

struct LoadedImages {
  /// uint8 (N, 3, S, S), row i for items[i]; rows of failed items are zero.
  torch::Tensor pixels;
  /// Ascending indices of items that could not be read (empty unless skip_unreadable).
  std::vector<int64_t> failed;
};

/// Decodes `items` in parallel (ATen threads).
LoadedImages load_images(const std::vector<ImageItem>& items, int64_t size,
                         const LoadOptions& options = {});

/// Per-channel normalisation applied by to_float_input: (x / 255 − mean) / std, RGB order.
struct InputNormalization {
  std::array<float, 3> mean{0.0f, 0.0f, 0.0f};
  std::array<float, 3> std{1.0f, 1.0f, 1.0f};
  /// The ImageNet statistics of torchvision's pretrained models.
  static InputNormalization imagenet();
};

/// uint8 (N, 3, S, S) or (3, S, S) → float32 of the same shape, (x / 255 − mean) / std; with
/// the default normalisation the values are in [0, 1]. Throws hcmsn::Error on another dtype,
/// rank or channel count, or a std ≤ 0.
torch::Tensor to_float_input(const torch::Tensor& pixels_u8, const InputNormalization& norm = {});

}  // namespace hcmsn::data
