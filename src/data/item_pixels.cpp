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
  TransformOptions transform;
  transform.mode = options.resize_mode;
  transform.size = options.size;
  transform.resize_to = options.resize_mode == "crop" ? options.size * 8 / 7 : options.size;
  return eval_resize(image, transform);
}

}  // namespace hcmsn::data
