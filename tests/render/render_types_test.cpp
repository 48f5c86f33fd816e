#include <gtest/gtest.h>

#include "render/render_pool.h"
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

// Defaults are written once, in core/config.h: the pool's options and a request default to
// what the render config gives them.
TEST(RenderPoolOptions, DefaultsAreThoseOfTheRenderConfig) {
  const RenderPoolOptions defaults;
  const RenderPoolOptions configured = pool_options_from(RenderConfig{});
  EXPECT_EQ(defaults.workers, configured.workers);
  EXPECT_EQ(defaults.sandbox, configured.sandbox);
  EXPECT_EQ(defaults.timeout_s, configured.timeout_s);
  EXPECT_EQ(defaults.cpu_s, configured.cpu_s);
  EXPECT_EQ(defaults.memory_mb, configured.memory_mb);
  EXPECT_EQ(defaults.max_output_kb, configured.max_output_kb);
  EXPECT_EQ(defaults.max_code_bytes, configured.max_code_bytes);
  EXPECT_EQ(defaults.worker.python, configured.worker.python);
  EXPECT_EQ(defaults.svg_max_elements, configured.svg_max_elements);
  EXPECT_EQ(defaults.table_font, configured.table_font);
  EXPECT_EQ(defaults.table_font_size, configured.table_font_size);
  EXPECT_EQ(defaults.table_margin_px, configured.table_margin_px);
  EXPECT_EQ(defaults.table_max_cells, configured.table_max_cells);
  const RenderRequest request;
  const RenderRequest made = make_request(RenderConfig{}, RenderKind::chart, "answer");
  EXPECT_EQ(request.width_in, made.width_in);
  EXPECT_EQ(request.height_in, made.height_in);
  EXPECT_EQ(request.dpi, made.dpi);
  EXPECT_EQ(request.width_px, made.width_px);
  EXPECT_EQ(request.height_px, made.height_px);
  EXPECT_FALSE(request.extracted);
  EXPECT_FALSE(made.extracted);
}

}  // namespace
}  // namespace visrl::render
