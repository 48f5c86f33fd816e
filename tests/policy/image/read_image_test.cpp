#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "core/error.h"
#include "policy/image/image_processor.h"
#include "tests/policy/image/fixtures.h"

namespace visrl::policy {
namespace {

namespace fs = std::filesystem;

std::string error_of(const fs::path& path) {
  return visrl::test::error_of([&] { read_image(path); });
}

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// np.array(convert_to_rgb(PIL.Image.open(f))) for each fixture image: PNG (RGB, RGBA, grey,
// palette + tRNS) and JPEG (4:2:0 colour, progressive grey).
TEST(ReadImage, MatchesPillowDecodingAsTransformersDoesIt) {
  const auto file = safetensors::File::open(test::image_fixtures() / "decoded.safetensors");
  int checked = 0;
  for (const auto& info : file->header().tensors) {
    const std::string& name = info.name;
    SCOPED_TRACE(name);
    const at::Tensor want = file->tensor(name);  // [H, W, 3] uint8
    const at::Tensor got = read_image(test::image_fixtures() / "images" / name);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_EQ(test::max_abs_diff(got, want), 0.0);
    ++checked;
  }
  EXPECT_EQ(checked, 16);
}

TEST(ReadImage, CompositesEveryValueAndAlphaOntoWhiteLikePillow) {
  const at::Tensor got = read_image(test::image_fixtures() / "images/alpha_sweep.png");
  const at::Tensor want = read_image(test::image_fixtures() / "images/alpha_sweep_rgb.png");  // PIL's result
  ASSERT_EQ(got.sizes(), (at::IntArrayRef{256, 256, 3}));
  EXPECT_EQ(test::max_abs_diff(got, want), 0.0);
}

TEST(ReadImage, ErrorsNameTheFile) {
  const test::TempDir tmp;
  std::string e = error_of("/nonexistent/dir/picture.png");
  EXPECT_NE(e.find("/nonexistent/dir/picture.png"), std::string::npos) << e;

  const std::string png = file_bytes(test::image_fixtures() / "images/noise_48x48.png");
  const fs::path truncated_png = tmp.write("truncated.png", png.substr(0, png.size() / 2));
  e = error_of(truncated_png);
  EXPECT_NE(e.find(truncated_png.string()), std::string::npos) << e;

  std::string corrupt = png;
  for (size_t i = 40; i < corrupt.size() - 20; i += 7) corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5A);
  const fs::path corrupt_png = tmp.write("corrupt.png", corrupt);
  e = error_of(corrupt_png);
  EXPECT_NE(e.find(corrupt_png.string()), std::string::npos) << e;

  const std::string jpg = file_bytes(test::image_fixtures() / "images/photo_80x60.jpg");
  const fs::path truncated_jpg = tmp.write("truncated.jpg", jpg.substr(0, jpg.size() / 2));
  e = error_of(truncated_jpg);
  EXPECT_NE(e.find(truncated_jpg.string()), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;

  const fs::path text = tmp.write("notes.png", "this is not an image");
  e = error_of(text);
  EXPECT_NE(e.find(text.string()), std::string::npos) << e;
  EXPECT_NE(e.find("not a PNG or JPEG"), std::string::npos) << e;

  const fs::path empty = tmp.write("empty.jpg", "");
  e = error_of(empty);
  EXPECT_NE(e.find(empty.string()), std::string::npos) << e;
}

}  // namespace
}  // namespace visrl::policy
