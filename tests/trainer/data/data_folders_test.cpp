// Training data besides JSONL manifests: ChartMimic-style folders (script + image), code-only
// folders whose references are rendered, plain image folders with a task prefix, manifest rows
// whose image is rendered from their ground truth, and the errors for each bad case.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/config.h"
#include "policy/image/image_processor.h"
#include "render/png_io.h"
#include "tests/test_util.h"
#include "trainer/data/folder_dataset.h"
#include "trainer/data/reference_images.h"
#include "trainer/datagen/synthetic.h"

namespace visrl::trainer {
namespace {
namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using visrl::test::error_of;
using visrl::test::TempDir;

const std::string kSvg =
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"40\"><circle cx=\"20\" cy=\"20\" r=\"15\" "
    "fill=\"#d62728\"/></svg>\n";

class DataFolders : public ::testing::Test {
 protected:
  void SetUp() override {
    config.render.workers = 1;
    pool = std::make_unique<render::RenderPool>(render::pool_options_from(config.render));
  }
  void TearDown() override { pool->shutdown(); }
  Config config;
  std::unique_ptr<render::RenderPool> pool;
  TempDir dir;
};

TEST_F(DataFolders, ChartMimicStyleScriptsWithAndWithoutImages) {
  const auto a = datagen::synthetic_item(render::RenderKind::chart, 1, 0);
  const auto b = datagen::synthetic_item(render::RenderKind::chart, 1, 1);
  dir.write("charts/bar_1.py", a.code);
  dir.write("charts/bar_2.py", b.code);
  const auto png = pool->render(render::make_request(config.render, render::RenderKind::chart, a.code));
  ASSERT_TRUE(png.ok()) << png.reason;
  render::write_png(dir / "charts/bar_1.png", png.image);

  auto items = load_data({(dir / "charts").string()}, InvalidRows::error);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].id, "charts/bar_1");
  EXPECT_EQ(items[0].task, render::RenderKind::chart);
  EXPECT_EQ(items[0].ground_truth, a.code);
  EXPECT_FALSE(items[0].image_missing);
  EXPECT_TRUE(items[1].image_missing);

  const auto cache = dir / "references";
  EXPECT_EQ(render_missing_references(items, *pool, config.render, cache), 1);
  EXPECT_FALSE(items[1].image_missing);
  EXPECT_EQ(items[1].image.parent_path(), cache / "chart");
  const auto image = policy::read_image(items[1].image);  // [H, W, 3]
  EXPECT_EQ(image.size(0), static_cast<int64_t>(config.render.chart.height_in * config.render.chart.dpi));
  // Another run (or rank) reuses the file.
  auto again = load_data({(dir / "charts").string()}, InvalidRows::error);
  EXPECT_EQ(render_missing_references(again, *pool, config.render, cache), 0);
  EXPECT_EQ(again[1].image, items[1].image);
  auto other_rank = load_data({(dir / "charts").string()}, InvalidRows::error);
  use_rendered_references(other_rank, cache);
  EXPECT_EQ(other_rank[1].image, items[1].image);
}

TEST_F(DataFolders, ImageFoldersNeedATaskPrefix) {
  const auto png = pool->render(render::make_request(config.render, render::RenderKind::svg, kSvg));
  ASSERT_TRUE(png.ok());
  fs::create_directories(dir / "scans");
  render::write_png(dir / "scans/one.png", png.image);
  EXPECT_THAT(error_of([&] { load_data({(dir / "scans").string()}, InvalidRows::error); }),
              HasSubstr("images without code need their task: write \"chart:"));
  const auto items = load_data({"svg:" + (dir / "scans").string()}, InvalidRows::error);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].task, render::RenderKind::svg);
  EXPECT_FALSE(items[0].ground_truth.has_value());
  EXPECT_FALSE(items[0].image_missing);
}

TEST_F(DataFolders, CodeOfAnotherTaskInAMarkedFolderIsNamed) {
  dir.write("mixed/a.svg", kSvg);
  dir.write("mixed/b.md", "| x |\n|---|\n| 1 |\n");
  EXPECT_THAT(error_of([&] { load_data({"table:" + (dir / "mixed").string()}, InvalidRows::error); }),
              HasSubstr("a.svg: a .svg file in a folder marked table"));
  const auto kept = load_data({"table:" + (dir / "mixed").string()}, InvalidRows::skip);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].id, "mixed/b");
}

TEST_F(DataFolders, ManifestRowsWithoutImagesAreRenderedFromTheirGroundTruth) {
  dir.write("m/train.jsonl",
            R"({"id": "s1", "task": "svg", "image": "images/s1.png", "ground_truth": )" + nlohmann::json(kSvg).dump() +
                "}\n" + R"({"id": "s2", "task": "svg", "image": "images/s2.png", "ground_truth": "<svg"})" + "\n");
  auto items = load_data({(dir / "m/train.jsonl").string()}, InvalidRows::error);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_TRUE(items[0].image_missing);
  // s2's code does not render: named by file:line.
  EXPECT_THAT(error_of([&] { render_missing_references(items, *pool, config.render, dir / "refs"); }),
              HasSubstr("1 of 2 items have no image and their ground truth did not render:\n  " +
                        (dir / "m/train.jsonl").string() + ":2 (s2)"));
  dir.write("m/bad.jsonl", R"({"id": "s3", "task": "svg", "image": "images/s3.png"})"
                           "\n");
  EXPECT_THAT(error_of([&] { load_data({(dir / "m/bad.jsonl").string()}, InvalidRows::error); }),
              HasSubstr("no such file"));
}

TEST_F(DataFolders, IdsAreUniqueAcrossEntriesAndEmptyFoldersAreNamed) {
  dir.write("a/x.svg", kSvg);
  dir.write("b/a/x.svg", kSvg);
  EXPECT_THAT(error_of([&] {
                load_data({(dir / "a").string(), (dir / "b/a").string()}, InvalidRows::error);
              }),
              HasSubstr("duplicate id \"a/x\""));
  fs::create_directories(dir / "empty");
  EXPECT_THAT(error_of([&] { load_data({(dir / "empty").string()}, InvalidRows::error); }),
              HasSubstr("no training items"));
  EXPECT_THAT(error_of([&] { load_data({(dir / "nope").string()}, InvalidRows::error); }), HasSubstr("cannot read"));
}

// ChartMimic's own layout: name.py beside name.pdf (tests/fixtures/chartmimic, made by matplotlib).
// The PDF is the reference, rasterised at data.pdf_dpi: at 100 dpi it is the 640 x 480 figure
// matplotlib's Agg backend draws, within anti-aliasing.
TEST_F(DataFolders, ChartMimicPdfReferencesAreRasterisedAtTheConfiguredDpi) {
  const auto fixtures = visrl::test::source_dir() / "tests/fixtures/chartmimic";
  auto items = load_data({(fixtures / "ori").string()}, InvalidRows::error);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].id, "ori/bar_1");
  EXPECT_EQ(items[0].image.extension(), ".pdf");
  EXPECT_TRUE(is_pdf_reference(items[0]));
  EXPECT_THAT(*items[1].ground_truth, HasSubstr("ax.plot("));
  const auto cache = dir / "references";
  EXPECT_EQ(rasterize_pdf_references(items, cache, 100), 2);
  for (const auto& item : items) {
    SCOPED_TRACE(item.id);
    EXPECT_EQ(item.image.extension(), ".png");
    const auto raster = policy::read_image(item.image).to(at::kFloat);  // [480, 640, 3]
    const auto agg = policy::read_image(fixtures / "agg" / (fs::path(item.id).filename().string() + ".png"));
    ASSERT_EQ(raster.sizes(), agg.sizes());
    const double mean_diff = (raster - agg.to(at::kFloat)).abs().mean().item<double>();
    EXPECT_LT(mean_diff, 4.0);                     // of 255: strokes and glyph edges anti-aliased differently
    EXPECT_GT(raster.std().item<double>(), 20.0);  // a chart, not a blank page
  }
  auto again = load_data({(fixtures / "ori").string()}, InvalidRows::error);
  EXPECT_EQ(rasterize_pdf_references(again, cache, 100), 0);  // cached
  EXPECT_EQ(
      rasterize_pdf_references(again = load_data({(fixtures / "ori").string()}, InvalidRows::error), dir / "half", 50),
      2);
  EXPECT_EQ(policy::read_image(again[0].image).sizes(), (std::vector<int64_t>{240, 320, 3}));
}

TEST_F(DataFolders, APdfThatDoesNotRenderIsNamed) {
  dir.write("mimic/broken.py", "import matplotlib.pyplot as plt\n");
  dir.write("mimic/broken.pdf", "%PDF-1.4 this is not really a PDF");
  auto items = load_data({(dir / "mimic").string()}, InvalidRows::error);
  EXPECT_THAT(error_of([&] { rasterize_pdf_references(items, dir / "references", 100); }),
              AllOf(HasSubstr("broken.pdf"), HasSubstr("mimic/broken"), HasSubstr("not a readable PDF")));
}

}  // namespace
}  // namespace visrl::trainer
