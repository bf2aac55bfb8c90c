#include "hcmsn/data/item_pixels.h"

#include <ATen/CPUGeneratorImpl.h>

#include "hcmsn/data/image_decode.h"
#include "hcmsn/util/check.h"

namespace hcmsn::data {

torch::Tensor decode_item(const DatasetItem& item, const RenderOptions& render,
                          DrawingReader& drawings) {
  return item.record >= 0 ? render_drawing(drawings.read(item.path, item.record), render)
                          : decode_image_file(item.path);
}

torch::Tensor load_item_pixels(const DatasetItem& item, const ItemPixelOptions& options,
                               uint64_t seed, DrawingReader& drawings) {
  torch::Tensor image;
  try {
    image = decode_item(item, options.render, drawings);
  } catch (const Error& e) {
    throw Error(detail::concat("item ", item.id, ": ", e.what()));
  }
  if (options.augment) {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    return random_resized_crop(image, options.size, options.augment_options, generator);
  }
  return eval_item_pixels(image, options.size, options.resize_mode);
}

torch::Tensor eval_item_pixels(const torch::Tensor& image, int64_t size,
                               const std::string& resize_mode) {
  TransformOptions transform;
  transform.mode = resize_mode;
  transform.size = size;
  transform.resize_to = resize_mode == "crop" ? size * 8 / 7 : size;
  return eval_resize(image, transform);
}

}  // namespace hcmsn::data
