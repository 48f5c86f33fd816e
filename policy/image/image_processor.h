// The Qwen3-VL image processor: what transformers 5.23's default AutoImageProcessor for a
// Qwen3-VL checkpoint (Qwen2VLImageProcessor, torchvision backend) does to one RGB image,
// bit for bit on the CPU: smart_resize, antialiased bicubic resize of the uint8 image (the
// same ATen kernel torchvision calls), fused rescale + normalize in float32, and the patch
// flattening the vision tower expects.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <utility>

#include <ATen/ATen.h>

namespace visrl::policy {

// preprocessor_config.json. The defaults are the Qwen3-VL checkpoints' values.
struct ImageProcessorConfig {
  int64_t patch_size = 16;
  int64_t temporal_patch_size = 2;
  int64_t merge_size = 2;
  int64_t min_pixels = 65536;     // "size": {"shortest_edge"} (legacy key "min_pixels")
  int64_t max_pixels = 16777216;  // "size": {"longest_edge"} (legacy key "max_pixels")
  std::array<double, 3> image_mean{0.5, 0.5, 0.5};
  std::array<double, 3> image_std{0.5, 0.5, 0.5};
  double rescale_factor = 1.0 / 255;
  bool do_resize = true;
  bool do_rescale = true;
  bool do_normalize = true;

  int64_t factor() const { return patch_size * merge_size; }

  // Reads the keys above; the legacy min_pixels / max_pixels keys win over "size", as in
  // transformers. Unknown keys are ignored; errors name the file and the key.
  static ImageProcessorConfig from_file(const std::filesystem::path& preprocessor_config_json);
  // Writes a preprocessor_config.json that transformers (4.5x and 5.x) loads.
  void save(const std::filesystem::path& path) const;
};

// The (height, width) an image is resized to: multiples of `factor`, the pixel count within
// [min_pixels, max_pixels], aspect ratio kept as well as possible. Rounds as Python does
// (half to even). Throws visrl::Error on a zero size or an aspect ratio above 200.
std::pair<int64_t, int64_t> smart_resize(int64_t height, int64_t width, int64_t factor, int64_t min_pixels,
                                         int64_t max_pixels);

struct ProcessedImage {
  at::Tensor pixel_values;          // [grid_t * grid_h * grid_w, C * temporal * patch * patch] float32
  std::array<int64_t, 3> grid_thw;  // (t, h, w) on the patch grid

  // <|image_pad|> tokens this image takes in the prompt: t * h * w / merge^2.
  int64_t num_tokens(int64_t merge_size) const;
};

// rgb_u8_hwc: uint8 [H, W, 3] (CPU, or any device: it is processed on the CPU as HF does).
ProcessedImage process_image(const at::Tensor& rgb_u8_hwc, const ImageProcessorConfig& cfg);

// uint8 [H, W, 3] from a PNG or JPEG file, as np.array(transformers' convert_to_rgb(
// PIL.Image.open(path))): palette and grey expanded, 16-bit samples truncated to 8 bits,
// transparency composited onto white with PIL's integer arithmetic, EXIF orientation ignored.
at::Tensor read_image(const std::filesystem::path& path);

}  // namespace visrl::policy
