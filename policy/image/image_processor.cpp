// process_image: the ATen calls torchvision and transformers make, in the same order and
// dtypes, so that the result is bit-identical to Qwen2VLImageProcessor (torchvision backend).
#include <optional>

#include "core/error.h"
#include "policy/image/image_processor.h"

namespace visrl::policy {
namespace {

void check_input(const at::Tensor& image) {
  if (!image.defined()) fail(ErrorKind::runtime, "process_image: the image tensor is undefined");
  if (image.scalar_type() != at::kByte) {
    fail(ErrorKind::runtime, "process_image: expected a uint8 image, got dtype {}", c10::toString(image.scalar_type()));
  }
  if (image.dim() != 3 || image.size(2) != 3) {
    fail(ErrorKind::runtime, "process_image: expected an RGB image of shape [H, W, 3], got {}",
         fmt::format("{}", fmt::join(image.sizes(), ", ")));
  }
  if (image.size(0) == 0 || image.size(1) == 0) {
    fail(ErrorKind::runtime, "process_image: the image is empty ({}x{}, height x width)", image.size(0), image.size(1));
  }
}

void check_config(const ImageProcessorConfig& cfg) {
  if (cfg.patch_size <= 0 || cfg.merge_size <= 0 || cfg.temporal_patch_size <= 0) {
    fail(ErrorKind::config, "image processor: patch_size, merge_size and temporal_patch_size must be > 0");
  }
  if (cfg.do_normalize) {
    for (double s : cfg.image_std) {
      if (s == 0) fail(ErrorKind::config, "image processor: image_std has a zero entry");
    }
  }
  if (cfg.do_rescale && cfg.do_normalize && cfg.rescale_factor == 0) {
    fail(ErrorKind::config, "image processor: rescale_factor is zero");
  }
}

// HF rescale_and_normalize. Fused: mean and std become float32 tensors times 1/rescale_factor,
// then (x - mean) / std on the float32 image, as tvF.normalize does.
at::Tensor rescale_and_normalize(const at::Tensor& image, const ImageProcessorConfig& cfg) {  // [1, 3, H, W] uint8
  auto f32 = at::TensorOptions().dtype(at::kFloat);
  auto as_tensor = [&](const std::array<double, 3>& v) {
    return at::tensor({static_cast<float>(v[0]), static_cast<float>(v[1]), static_cast<float>(v[2])}, f32);
  };
  if (cfg.do_normalize) {
    at::Tensor mean = as_tensor(cfg.image_mean);  // [3]
    at::Tensor std = as_tensor(cfg.image_std);
    if (cfg.do_rescale) {
      mean = mean * (1.0 / cfg.rescale_factor);
      std = std * (1.0 / cfg.rescale_factor);
    }
    return image.to(at::kFloat).sub_(mean.view({-1, 1, 1})).div_(std.view({-1, 1, 1}));
  }
  if (cfg.do_rescale) return image * cfg.rescale_factor;  // uint8 * double -> float32
  return image.to(at::kFloat);
}

}  // namespace

int64_t ProcessedImage::num_tokens(int64_t merge_size) const {
  return grid_thw[0] * grid_thw[1] * grid_thw[2] / (merge_size * merge_size);
}

ProcessedImage process_image(const at::Tensor& rgb_u8_hwc, const ImageProcessorConfig& cfg) {
  check_input(rgb_u8_hwc);
  check_config(cfg);
  const int64_t height = rgb_u8_hwc.size(0);
  const int64_t width = rgb_u8_hwc.size(1);
  // HF: HWC -> CHW contiguous, stacked into a batch of one.
  at::Tensor image = rgb_u8_hwc.cpu().permute({2, 0, 1}).contiguous().unsqueeze(0);  // [1, 3, H, W] uint8

  if (cfg.do_resize) {
    const auto [rh, rw] = smart_resize(height, width, cfg.factor(), cfg.min_pixels, cfg.max_pixels);
    // torchvision resize_image: a no-op at the same size; else on the CPU bicubic keeps uint8
    // and calls interpolate(antialias=True, align_corners=False) without scale factors.
    if (rh != height || rw != width) {
      image = at::_upsample_bicubic2d_aa(image, {rh, rw}, /*align_corners=*/false, std::nullopt, std::nullopt);
    }
  } else if (height % cfg.factor() != 0 || width % cfg.factor() != 0) {
    fail(ErrorKind::runtime, "process_image: do_resize is off and the image {}x{} is not a multiple of {}", height,
         width, cfg.factor());
  }

  image = rescale_and_normalize(image, cfg);  // [1, 3, H', W'] float32
  const int64_t channels = image.size(1);
  const int64_t p = cfg.patch_size;
  const int64_t m = cfg.merge_size;
  const int64_t grid_h = image.size(2) / p;
  const int64_t grid_w = image.size(3) / p;
  // [1, C, gh/m, m, p, gw/m, m, p] -> [1, gh/m, gw/m, m, m, C, p, p] -> repeat in time
  // -> [gh * gw, C * t * p * p]: merge blocks row-major, patches inside a block row-major.
  at::Tensor patches =
      image.reshape({1, channels, grid_h / m, m, p, grid_w / m, m, p}).permute({0, 2, 5, 3, 6, 1, 4, 7});
  patches = patches.unsqueeze(6)
                .expand({-1, -1, -1, -1, -1, -1, cfg.temporal_patch_size, -1, -1})
                .reshape({grid_h * grid_w, channels * cfg.temporal_patch_size * p * p});
  return ProcessedImage{patches.contiguous(), {1, grid_h, grid_w}};
}

}  // namespace visrl::policy
