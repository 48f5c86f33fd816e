// Chart fidelity: every ground-truth script in tests/fixtures/charts renders in the sandbox
// (execution rate 100 %), pixel-identically to running the script directly with
// /usr/bin/python3 and the same final save (size, DPI, raw RGBA).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "render/render_pool.h"
#include "tests/test_util.h"

namespace visrl::render {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPython = "/usr/bin/python3";

std::vector<fs::path> chart_scripts() {
  std::vector<fs::path> scripts;
  for (const auto& e : fs::directory_iterator(fs::path(VISRL_SOURCE_DIR) / "tests/fixtures/charts")) {
    if (e.path().extension() == ".py" && e.path().filename().string().starts_with("chart_"))
      scripts.push_back(e.path());
  }
  std::sort(scripts.begin(), scripts.end());
  return scripts;
}

// Runs the script directly with a final save appended; RGB over white, as the pool does.
std::optional<RgbImage> render_directly(const fs::path& script, const fs::path& dir) {
  const std::string source = test::read_file(script);
  std::ofstream(dir / "direct.py") << source
                                   << "\nimport matplotlib.pyplot as _plt\n_fig = _plt.gcf()\n"
                                      "_fig.set_size_inches(6.4, 4.8)\n"
                                      "_fig.savefig('direct.rgba', format='rgba', dpi=100)\n";
  const std::string command =
      fmt::format("cd '{}' && MPLBACKEND=Agg {} direct.py > direct.log 2>&1", dir.string(), kPython);
  if (std::system(command.c_str()) != 0) return std::nullopt;
  const std::string rgba = test::read_file(dir / "direct.rgba");
  RgbImage image{640, 480, {}};
  if (rgba.size() != 640u * 480u * 4u) return std::nullopt;
  image.rgb.resize(640 * 480 * 3);
  for (size_t i = 0; i < 640u * 480u; ++i) {
    const unsigned a = static_cast<unsigned char>(rgba[i * 4 + 3]);
    for (int c = 0; c < 3; ++c) {
      const unsigned v = static_cast<unsigned char>(rgba[i * 4 + c]);
      image.rgb[i * 3 + c] = static_cast<uint8_t>((v * a + 255u * (255u - a) + 127u) / 255u);
    }
  }
  return image;
}

TEST(ChartFidelity, GroundTruthScriptsRenderAndMatchADirectRun) {
  if (!fs::exists(kPython)) GTEST_SKIP() << kPython << " is missing";
  if (sandbox::probe_isolation() == sandbox::IsolationLevel::rlimits)
    GTEST_SKIP() << "no sandbox on this kernel: chart code is refused";
  const auto scripts = chart_scripts();
  ASSERT_GE(scripts.size(), 50u);
  RenderPoolOptions options;
  options.workers = 2;
  options.timeout_s = 60;  // correctness here, not speed
  options.cpu_s = 60;
  options.prefault = true;  // prefaulted job children must render exactly the same
  RenderPool pool(options);
  std::vector<std::future<RenderResult>> results;
  for (const auto& script : scripts) {
    RenderRequest r;
    r.kind = RenderKind::chart;
    r.text = "```python\n" + test::read_file(script) + "\n```";
    results.push_back(pool.submit(std::move(r)));
  }
  test::TempDir dir;
  int rendered = 0, identical = 0;
  for (size_t i = 0; i < scripts.size(); ++i) {
    const std::string name = scripts[i].filename();
    const RenderResult ours = results[i].get();
    EXPECT_EQ(ours.status, RenderStatus::ok) << name << ": " << ours.reason;
    if (!ours.ok()) continue;
    ++rendered;
    const auto direct = render_directly(scripts[i], dir.path());
    ASSERT_TRUE(direct) << name << " does not run directly: " << test::read_file(dir.path() / "direct.log");
    ASSERT_EQ(ours.image.width, direct->width) << name;
    ASSERT_EQ(ours.image.height, direct->height) << name;
    size_t differing = 0;
    for (size_t p = 0; p < ours.image.rgb.size(); ++p) differing += ours.image.rgb[p] != direct->rgb[p];
    EXPECT_EQ(differing, 0u) << name << ": " << differing << " channel values differ from a direct run";
    identical += differing == 0;
  }
  std::printf("execution rate %d/%zu, pixel-identical to a direct run %d/%d\n", rendered, scripts.size(), identical,
              rendered);
  EXPECT_EQ(rendered, static_cast<int>(scripts.size()));
}

}  // namespace
}  // namespace visrl::render
