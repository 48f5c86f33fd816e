// gallery.html: samples with saved renders first, reference and render embedded as data URIs,
// critic errors escaped, reward and advantage shown; samples without renders say so.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "render/png_io.h"
#include "reward/formula/rollout_record.h"
#include "tests/test_util.h"
#include "trainer/report/gallery.h"

namespace visrl::trainer {
namespace {
using ::testing::HasSubstr;
using ::testing::Not;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Gallery, EmbedsReferenceAndRenderWithEscapedErrors) {
  visrl::test::TempDir dir;
  render::RgbImage image;
  image.width = 4;
  image.height = 4;
  image.rgb.assign(4 * 4 * 3, 200);
  render::write_png(dir / "ref.png", image);
  std::string lines;
  for (int i = 0; i < 2; ++i) {
    reward::RolloutRecord r;
    r.step = 3;
    r.sample.id = fmt::format("p0/{}", i);
    r.sample.group = "p0";
    r.sample.task = render::RenderKind::svg;
    r.answer = "<svg>answer</svg>";
    r.reward = 0.5 + i;
    r.advantage = i == 0 ? -0.7 : 0.7;
    reward::CriticError e;
    e.category = "shape_error";
    e.severity = 2;
    e.description = "a <circle> where a square is";
    r.sample.errors.push_back(e);
    r.critic.errors = r.sample.errors;  // the log keeps them with the critic's result
    lines += reward::to_json(r).dump() + "\n";
  }
  dir.write("run/rollouts/step_3.jsonl", lines);
  const auto render_path = rollout_image_path(dir / "run/rollouts", 3, "p0/1");
  EXPECT_EQ(render_path, dir / "run/rollouts/images/step_3/p0_1.png");
  std::filesystem::create_directories(render_path.parent_path());
  render::write_png(render_path, image);

  const auto path = write_gallery(dir / "run", {{"p0", dir / "ref.png"}});
  const auto html = visrl::test::read_file(path);
  EXPECT_EQ(count(html, "data:image/png;base64,"), 3u);  // 2 references + 1 render
  EXPECT_EQ(count(html, "not saved"), 1u);
  EXPECT_LT(html.find("p0/1"), html.find("p0/0")) << "the sample with a render comes first";
  EXPECT_THAT(html, HasSubstr("a &lt;circle&gt; where a square is"));
  EXPECT_THAT(html, Not(HasSubstr("<circle>")));
  EXPECT_THAT(html, HasSubstr("&lt;svg&gt;answer&lt;/svg&gt;"));
  EXPECT_THAT(html, HasSubstr("1.5"));
  EXPECT_THAT(html, HasSubstr("advantage 0.7"));
  EXPECT_THAT(html, HasSubstr("2 of 2 rollouts"));
}

TEST(Gallery, ARunWithoutRolloutsStillGetsAPage) {
  visrl::test::TempDir dir;
  const auto html = visrl::test::read_file(write_gallery(dir.path(), {}));
  EXPECT_THAT(html, HasSubstr("0 of 0 rollouts"));
}

}  // namespace
}  // namespace visrl::trainer
