// render_svg against rsvg-convert on the fixtures, at the same size. `rsvg-convert -a -w 336
// -h 336` fits the document into 336x336 keeping its aspect ratio, so its PNG is smaller along
// one side; centred on a white 336x336 canvas it must be what render_svg draws. The fixtures
// have aspect ratios whose fitted size leaves an even margin, so the centring is exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <cairo.h>

#include "render/svg/svg_renderer.h"

namespace visrl::render {
namespace {

namespace fs = std::filesystem;

constexpr int kSide = 336;

fs::path fixture_dir() {
  return fs::path(VISRL_SOURCE_DIR) / "tests" / "render" / "svg" / "fixtures";
}

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fixture_dir(), ec)) {
    if (entry.path().extension() == ".svg") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<fs::path> find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate;
  }
  return std::nullopt;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The PNG composited on white, as RGB.
std::optional<RgbImage> read_png(const fs::path& path) {
  cairo_surface_t* surface = cairo_image_surface_create_from_png(path.c_str());
  if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(surface);
    return std::nullopt;
  }
  cairo_surface_flush(surface);
  const bool has_alpha = cairo_image_surface_get_format(surface) == CAIRO_FORMAT_ARGB32;
  RgbImage image;
  image.width = cairo_image_surface_get_width(surface);
  image.height = cairo_image_surface_get_height(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  const unsigned char* data = cairo_image_surface_get_data(surface);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      uint32_t p;
      std::memcpy(&p, data + static_cast<ptrdiff_t>(y) * stride + 4 * x, 4);
      const uint32_t white = has_alpha ? 255 - (p >> 24) : 0;
      for (int shift : {16, 8, 0}) image.rgb.push_back(static_cast<uint8_t>(((p >> shift) & 0xFF) + white));
    }
  }
  cairo_surface_destroy(surface);
  return image;
}

RgbImage centre_on_white(const RgbImage& image, int width, int height) {
  RgbImage canvas{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3, 255)};
  const int left = (width - image.width) / 2;
  const int top = (height - image.height) / 2;
  for (int y = 0; y < image.height; ++y) {
    std::memcpy(&canvas.rgb[(static_cast<size_t>(y + top) * width + left) * 3],
                &image.rgb[static_cast<size_t>(y) * image.width * 3], static_cast<size_t>(image.width) * 3);
  }
  return canvas;
}

struct Difference {
  int max = 0;      // largest absolute difference of one channel of one pixel
  double mean = 0;  // mean absolute difference over all channels of all pixels
  size_t pixels_differing = 0;
};

Difference difference(const RgbImage& a, const RgbImage& b) {
  Difference d;
  uint64_t sum = 0;
  for (size_t i = 0; i < a.rgb.size(); i += 3) {
    bool differs = false;
    for (size_t c = 0; c < 3; ++c) {
      const int delta = std::abs(int{a.rgb[i + c]} - int{b.rgb[i + c]});
      d.max = std::max(d.max, delta);
      sum += static_cast<uint64_t>(delta);
      differs = differs || delta != 0;
    }
    d.pixels_differing += differs;
  }
  d.mean = a.rgb.empty() ? 0.0 : static_cast<double>(sum) / static_cast<double>(a.rgb.size());
  return d;
}

TEST(SvgFidelityFixtures, AreThereAndVaried) {
  EXPECT_GE(fixture_names().size(), 10u);
}

class SvgFidelity : public testing::TestWithParam<std::string> {};

TEST_P(SvgFidelity, MatchesRsvgConvert) {
  const auto rsvg_convert = find_program("rsvg-convert");
  if (!rsvg_convert) GTEST_SKIP() << "rsvg-convert is not installed (Debian package librsvg2-bin)";

  const fs::path fixture = fixture_dir() / (GetParam() + ".svg");
  SvgRenderOptions options;
  options.width = kSide;
  options.height = kSide;
  const RenderResult ours = render_svg(read_file(fixture), options);
  ASSERT_EQ(to_string(ours.status), "ok") << ours.reason;

  const fs::path png = fs::path(testing::TempDir()) / ("visrl_svg_fidelity_" + GetParam() + ".png");
  const std::string side = std::to_string(kSide);
  const std::string command = shell_quote(rsvg_convert->string()) + " -a -w " + side + " -h " + side +
                              " --background-color=white -o " + shell_quote(png.string()) + " " +
                              shell_quote(fixture.string());
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const auto theirs = read_png(png);
  fs::remove(png);
  ASSERT_TRUE(theirs) << "cannot decode rsvg-convert's PNG";
  ASSERT_LE(theirs->width, kSide);
  ASSERT_LE(theirs->height, kSide);
  ASSERT_EQ((kSide - theirs->width) % 2, 0) << "fixture needs an aspect ratio that centres on whole pixels";
  ASSERT_EQ((kSide - theirs->height) % 2, 0) << "fixture needs an aspect ratio that centres on whole pixels";

  const Difference d = difference(ours.image, centre_on_white(*theirs, kSide, kSide));
  std::printf("[fidelity] %-22s rsvg-convert %dx%d  max %d  mean %.4f  differing pixels %zu\n", GetParam().c_str(),
              theirs->width, theirs->height, d.max, d.mean, d.pixels_differing);
  RecordProperty("max_difference", d.max);
  RecordProperty("mean_difference", std::to_string(d.mean));
  EXPECT_LE(d.max, 1);
  EXPECT_LE(d.mean, 0.01);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SvgFidelity, testing::ValuesIn(fixture_names()),
                         [](const testing::TestParamInfo<std::string>& param) { return param.param; });

}  // namespace
}  // namespace visrl::render
