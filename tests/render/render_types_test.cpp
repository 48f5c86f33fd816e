#include <gtest/gtest.h>

#include "render/render_types.h"

namespace visrl::render {
namespace {

TEST(RenderTypes, NamesRoundTrip) {
  for (auto status : {RenderStatus::ok, RenderStatus::no_code, RenderStatus::syntax_error, RenderStatus::runtime_error,
                      RenderStatus::timeout, RenderStatus::memory_limit, RenderStatus::output_limit,
                      RenderStatus::blank_image, RenderStatus::rejected}) {
    EXPECT_EQ(parse_render_status(to_string(status)), status);
  }
  for (auto kind : {RenderKind::chart, RenderKind::table, RenderKind::svg})
    EXPECT_EQ(parse_render_kind(to_string(kind)), kind);
  EXPECT_FALSE(parse_render_kind("png"));
}

TEST(RenderTypes, UniformImages) {
  RgbImage image{2, 1, {255, 255, 255, 255, 255, 255}};
  EXPECT_TRUE(image.is_uniform());
  image.rgb[5] = 254;
  EXPECT_FALSE(image.is_uniform());
}

TEST(RenderTypes, TailKeepsTheEndAndValidUtf8) {
  EXPECT_EQ(tail_of("Traceback\nline 3\nValueError: x", 13), "ValueError: x");
  // Cutting inside a 3-byte character skips its continuation bytes.
  EXPECT_EQ(tail_of("a\xe4\xb8\xad"
                    "b",
                    3),
            "b");
  EXPECT_EQ(sanitize_utf8("ok\xff\xc3\x28"), "ok\xEF\xBF\xBD\xEF\xBF\xBD(");
  EXPECT_EQ(sanitize_utf8("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
}

}  // namespace
}  // namespace visrl::render
