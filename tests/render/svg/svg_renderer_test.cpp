// render_svg: what it draws, and the status it gives for hostile or broken documents. Every
// hostile case also asserts that the answer comes cheaply (in CPU time, which a loaded
// machine does not stretch).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>

#include "render/svg/svg_renderer.h"
#include "tests/render/cpu_time.h"

namespace visrl::render {
namespace {

// CPU milliseconds: the guard answers these in well under 10 ms; 500 leaves room for a slow
// CPU while still catching work that grows with the hostile input.
constexpr double kQuickMs = 500;
constexpr std::string_view kSvgOpen = R"(<svg xmlns="http://www.w3.org/2000/svg")";

struct Timed {
  RenderResult result;
  double ms = 0;
};

Timed render_timed(std::string_view svg, const SvgRenderOptions& options = {}) {
  const visrl::test::CpuTimer cpu;
  Timed timed{render_svg(svg, options)};
  timed.ms = cpu.ms();
  return timed;
}

std::string svg_doc(std::string_view body, std::string_view root_attributes = "") {
  return std::string(kSvgOpen) + " " + std::string(root_attributes) + ">" + std::string(body) + "</svg>";
}

using Rgb = std::array<int, 3>;
constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kRed{255, 0, 0};

Rgb pixel(const RgbImage& image, int x, int y) {
  const size_t i = (static_cast<size_t>(y) * image.width + x) * 3;
  return {image.rgb[i], image.rgb[i + 1], image.rgb[i + 2]};
}

// Asserts the status, that the reason mentions `reason_part`, and that it was quick.
void expect_refused(const Timed& timed, RenderStatus status, std::string_view reason_part) {
  EXPECT_EQ(to_string(timed.result.status), to_string(status)) << timed.result.reason;
  EXPECT_NE(timed.result.reason.find(reason_part), std::string::npos) << timed.result.reason;
  EXPECT_LT(timed.ms, kQuickMs);
  EXPECT_TRUE(timed.result.image.empty());
}

TEST(SvgRender, RedRectIsRedWhereDrawnAndWhiteElsewhere) {
  const auto timed =
      render_timed(svg_doc(R"(<rect x="25" y="25" width="50" height="50" fill="red"/>)", R"(viewBox="0 0 100 100")"));
  const RenderResult& r = timed.result;
  ASSERT_EQ(to_string(r.status), "ok") << r.reason;
  ASSERT_EQ(r.image.width, 336);
  ASSERT_EQ(r.image.height, 336);
  ASSERT_EQ(r.image.rgb.size(), 336u * 336u * 3u);
  // The viewBox maps to the whole canvas at 3.36 px per unit: the rect covers [84, 252).
  EXPECT_EQ(pixel(r.image, 168, 168), kRed);
  EXPECT_EQ(pixel(r.image, 84, 84), kRed);
  EXPECT_EQ(pixel(r.image, 251, 251), kRed);
  EXPECT_EQ(pixel(r.image, 83, 168), kWhite);
  EXPECT_EQ(pixel(r.image, 252, 168), kWhite);
  EXPECT_EQ(pixel(r.image, 0, 0), kWhite);
  EXPECT_EQ(pixel(r.image, 335, 335), kWhite);
  int red = 0;
  for (int y = 0; y < 336; ++y) {
    for (int x = 0; x < 336; ++x) red += pixel(r.image, x, y) == kRed;
  }
  EXPECT_EQ(red, 168 * 168);
  EXPECT_GT(r.timings.execute_ms, 0);
}

TEST(SvgRender, WideDrawingKeepsAspectRatioWithWhiteBandsTopAndBottom) {
  // A 2:1 drawing, as a viewBox and as width/height: 336 x 168 centred, bands of 84 rows.
  for (const std::string& doc :
       {svg_doc(R"(<rect width="200" height="100" fill="red"/>)", R"(viewBox="0 0 200 100")"),
        svg_doc(R"(<rect width="200" height="100" fill="red"/>)", R"(width="200" height="100")")}) {
    const RenderResult r = render_svg(doc, {});
    ASSERT_EQ(to_string(r.status), "ok") << r.reason;
    for (int x : {0, 100, 335}) {
      EXPECT_EQ(pixel(r.image, x, 0), kWhite) << x;
      EXPECT_EQ(pixel(r.image, x, 83), kWhite) << x;
      EXPECT_EQ(pixel(r.image, x, 84), kRed) << x;
      EXPECT_EQ(pixel(r.image, x, 168), kRed) << x;
      EXPECT_EQ(pixel(r.image, x, 251), kRed) << x;
      EXPECT_EQ(pixel(r.image, x, 252), kWhite) << x;
      EXPECT_EQ(pixel(r.image, x, 335), kWhite) << x;
    }
  }
}

TEST(SvgRender, SquareDrawingOnWideCanvasHasBandsLeftAndRight) {
  SvgRenderOptions options;
  options.width = 200;
  options.height = 100;
  const RenderResult r =
      render_svg(svg_doc(R"(<rect width="10" height="10" fill="red"/>)", R"(viewBox="0 0 10 10")"), options);
  ASSERT_EQ(to_string(r.status), "ok") << r.reason;
  ASSERT_EQ(r.image.width, 200);
  ASSERT_EQ(r.image.height, 100);
  EXPECT_EQ(pixel(r.image, 49, 50), kWhite);
  EXPECT_EQ(pixel(r.image, 50, 50), kRed);
  EXPECT_EQ(pixel(r.image, 149, 0), kRed);
  EXPECT_EQ(pixel(r.image, 150, 99), kWhite);
}

TEST(SvgRender, FragmentReferencesAndHyperlinksAreAllowed) {
  const auto timed = render_timed(svg_doc(R"~(
      <defs><linearGradient id="g"><stop offset="0" stop-color="red"/><stop offset="1" stop-color="red"/>
      </linearGradient><rect id="r" width="5" height="10"/></defs>
      <a href="https://example.com/"><use href="#r" fill="url(#g)" style="stroke: url('#g')"/></a>)~",
                                          R"(viewBox="0 0 10 10")"));
  ASSERT_EQ(to_string(timed.result.status), "ok") << timed.result.reason;
  EXPECT_EQ(pixel(timed.result.image, 80, 168), kRed);
  EXPECT_EQ(pixel(timed.result.image, 300, 168), kWhite);
}

TEST(SvgRender, StandardDoctypeIsAcceptedAndNotFetched) {
  const auto timed = render_timed(
      R"(<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<!-- a comment -->)" +
      svg_doc(R"(<rect width="10" height="5" fill="red"/>)", R"(version="1.1" viewBox="0 0 10 10")"));
  ASSERT_EQ(to_string(timed.result.status), "ok") << timed.result.reason;
  EXPECT_EQ(pixel(timed.result.image, 168, 100), kRed);
  EXPECT_EQ(pixel(timed.result.image, 168, 250), kWhite);
  EXPECT_LT(timed.ms, kQuickMs);
}

TEST(SvgRender, EmptySvgIsBlankImage) {
  for (const std::string& doc : {std::string(kSvgOpen) + "/>", svg_doc("", R"(width="100" height="50")"),
                                 svg_doc(R"(<rect width="10" height="10" fill="none"/>)")}) {
    const auto timed = render_timed(doc);
    EXPECT_EQ(to_string(timed.result.status), "blank_image") << doc;
    ASSERT_EQ(timed.result.image.rgb.size(), 336u * 336u * 3u);
    EXPECT_EQ(pixel(timed.result.image, 100, 100), kWhite);
    EXPECT_LT(timed.ms, kQuickMs);
  }
}

TEST(SvgRender, NonSvgTextIsNoCode) {
  expect_refused(render_timed("Here is a picture of a cat."), RenderStatus::no_code, "<svg>");
  expect_refused(render_timed(""), RenderStatus::no_code, "<svg>");
  expect_refused(render_timed("<html><body><svg/></body></html>"), RenderStatus::no_code, "<html>");
}

TEST(SvgRender, MalformedXmlIsSyntaxErrorWithLibxml2Message) {
  const auto timed = render_timed(svg_doc(R"(<g><rect width="10" height="10"></g>)"));
  expect_refused(timed, RenderStatus::syntax_error, "Opening and ending tag mismatch");
  EXPECT_LT(timed.result.reason.size(), 300u);
  expect_refused(render_timed(std::string(kSvgOpen) + "><rect width=\"1"), RenderStatus::syntax_error, "line 1");
}

TEST(SvgRender, LibrsvgErrorIsSyntaxErrorWithItsMessage) {
  // Well-formed, root named svg, but not in the SVG namespace: librsvg refuses it.
  const auto timed = render_timed(R"(<svg xmlns="http://example.com/not-svg"><rect width="1" height="1"/></svg>)");
  expect_refused(timed, RenderStatus::syntax_error, "librsvg");
}

TEST(SvgRender, BillionLaughsIsRejectedQuickly) {
  std::string doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE svg [\n<!ENTITY lol0 \"lol\">\n";
  for (int i = 1; i <= 9; ++i) {
    doc += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int k = 0; k < 10; ++k) doc += "&lol" + std::to_string(i - 1) + ";";
    doc += "\">\n";
  }
  doc += "]>\n" + svg_doc("<text>&lol9;</text>");
  expect_refused(render_timed(doc), RenderStatus::rejected, "entity");
  // A single external entity is refused the same way.
  expect_refused(
      render_timed("<!DOCTYPE svg [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>" + svg_doc("<text>&x;</text>")),
      RenderStatus::rejected, "entity");
}

TEST(SvgRender, ExternalResourcesAreRejected) {
  const std::string xlink = R"(xmlns:xlink="http://www.w3.org/1999/xlink")";
  // R"~(...)~" because the documents contain )" themselves.
  const std::pair<std::string, std::string_view> cases[] = {
      {svg_doc(R"~(<image href="file:///etc/passwd" width="10" height="10"/>)~"), "file:///etc/passwd"},
      {svg_doc(R"~(<image xlink:href="http://example.com/a.png" width="10" height="10"/>)~", xlink),
       "http://example.com"},
      {svg_doc(R"~(<image href="https://example.com/a.png" width="10" height="10"/>)~"), "https://example.com"},
      {svg_doc(R"~(<image href="foo.png" width="10" height="10"/>)~"), "foo.png"},
      {svg_doc(R"~(<use href="other.svg#shape"/>)~"), "other.svg"},
      {svg_doc(R"~(<rect width="9" height="9" style="fill: url(http://example.com/p.svg#g)"/>)~"),
       "http://example.com"},
      {svg_doc(R"~(<rect width="9" height="9" style="fill: u\72l('http://example.com/p.svg#g')"/>)~"),
       "http://example.com"},
      {svg_doc(R"~(<rect width="9" height="9" fill="url(p.svg#g)"/>)~"), "p.svg"},
      {svg_doc(R"~(<style>rect { fill: URL("https://example.com/x.svg#g") }</style><rect width="9" height="9"/>)~"),
       "https://example.com"},
      {svg_doc(R"~(<style><![CDATA[ @import url(x.css); ]]></style><rect width="9" height="9"/>)~"), "@import"},
      {svg_doc(R"~(<rect width="9" height="9" style="@import 'x.css'"/>)~"), "@import"},
      {R"~(<?xml-stylesheet type="text/css" href="x.css"?>)~" + svg_doc(""), "xml-stylesheet"},
      // A default attribute declared in the DOCTYPE is seen like a written one.
      {R"~(<!DOCTYPE svg [<!ATTLIST image href CDATA "file:///etc/passwd">]>)~" +
           svg_doc(R"~(<image width="10" height="10"/>)~"),
       "file:///etc/passwd"},
  };
  for (const auto& [doc, reason_part] : cases) {
    SCOPED_TRACE(doc);
    expect_refused(render_timed(doc), RenderStatus::rejected, reason_part);
  }
}

// A 4x4 opaque blue PNG.
constexpr std::string_view kBluePng =
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGNgYPiPhIjiAACOsw/xs6MvMwAAAABJRU5ErkJggg==";

TEST(SvgRender, SmallDataUrlPngIsRendered) {
  const auto timed = render_timed(svg_doc(
      R"(<image x="2" y="2" width="4" height="4" href="data:image/png;base64,)" + std::string(kBluePng) + R"("/>)",
      R"(viewBox="0 0 8 8")"));
  ASSERT_EQ(to_string(timed.result.status), "ok") << timed.result.reason;
  EXPECT_EQ(pixel(timed.result.image, 168, 168), (Rgb{0, 0, 255}));
  EXPECT_EQ(pixel(timed.result.image, 10, 10), kWhite);
  EXPECT_LT(timed.ms, kQuickMs);
}

TEST(SvgRender, OversizedDataUrlIsRejected) {
  SvgRenderOptions options;
  const std::string payload(options.max_data_url_bytes, 'A');
  const auto timed = render_timed(
      svg_doc(R"(<image width="4" height="4" href="data:image/png;base64,)" + payload + R"("/>)"), options);
  expect_refused(timed, RenderStatus::rejected, "max_data_url_bytes");
}

TEST(SvgRender, DataUrlsHidingDocumentsOrOtherFormatsAreRejected) {
  // librsvg loads an SVG from a data: URL as a document of its own, with or without a media
  // type: the guard looks inside ("PCFET0NUWVBF..." is "<!DOCTYPE svg [<!ENTITY a "b">]><svg/>").
  expect_refused(render_timed(svg_doc(R"(<image width="4" height="4" href="data:;base64,)"
                                      R"(PCFET0NUWVBFIHN2ZyBbPCFFTlRJVFkgYSAiYiI+XT48c3ZnLz4="/>)")),
                 RenderStatus::rejected, "entity");
  expect_refused(
      render_timed(svg_doc(
          R"(<image width="4" height="4" href="data:image/svg+xml,%3Csvg%20xmlns='http://www.w3.org/2000/svg'%3E)"
          R"(%3Cimage%20href='file:///etc/passwd'/%3E%3C/svg%3E"/>)")),
      RenderStatus::rejected, "file:///etc/passwd");
  expect_refused(render_timed(svg_doc(R"(<image width="4" height="4" href="data:image/x-tga;base64,AAECAwQF"/>)")),
                 RenderStatus::rejected, "neither PNG");
  // A harmless SVG inside a data: URL is fine.
  const auto ok = render_timed(
      svg_doc(R"(<image width="4" height="4" href="data:image/svg+xml,%3Csvg%20xmlns='http://www.w3.org/2000/svg'%20)"
              R"(viewBox='0 0 1 1'%3E%3Crect%20width='1'%20height='1'%20fill='red'/%3E%3C/svg%3E"/>)",
              R"(viewBox="0 0 8 8")"));
  ASSERT_EQ(to_string(ok.result.status), "ok") << ok.result.reason;
  EXPECT_EQ(pixel(ok.result.image, 80, 80), kRed);
  EXPECT_EQ(pixel(ok.result.image, 250, 250), kWhite);
}

TEST(SvgRender, HugeCanvasIsRejected) {
  expect_refused(render_timed(svg_doc(R"(<rect width="10" height="10"/>)", R"(width="1000000" height="10")")),
                 RenderStatus::rejected, "max_intrinsic_side");
  expect_refused(render_timed(svg_doc("", R"(viewBox="0 0 10 1e6")")), RenderStatus::rejected, "max_intrinsic_side");
  expect_refused(render_timed(svg_doc("", R"(width="2000in" height="1in")")), RenderStatus::rejected,
                 "max_intrinsic_side");
  expect_refused(render_timed(svg_doc("", R"(height="1e999")")), RenderStatus::rejected, "max_intrinsic_side");
  expect_refused(render_timed(svg_doc("", R"(width="1E6PX")")), RenderStatus::rejected, "max_intrinsic_side");
  // At the limit is fine.
  const auto at_limit =
      render_timed(svg_doc(R"(<rect width="100000" height="50000" fill="red"/>)", R"(width="100000" height="100000")"));
  EXPECT_EQ(to_string(at_limit.result.status), "ok") << at_limit.result.reason;
}

TEST(SvgRender, DeepNestingIsRejectedWithoutCrashing) {
  std::string body;
  for (int i = 0; i < 10000; ++i) body += "<g>";
  for (int i = 0; i < 10000; ++i) body += "</g>";
  expect_refused(render_timed(svg_doc(body)), RenderStatus::rejected, "max_depth");
  // Above libxml2's own limit of 256 levels, its refusal is reported as a limit too.
  SvgRenderOptions lax;
  lax.max_depth = 100000;
  expect_refused(render_timed(svg_doc(body), lax), RenderStatus::rejected, "too deep");
}

TEST(SvgRender, TooManyElementsIsRejected) {
  SvgRenderOptions options;
  std::string body;
  for (int64_t i = 0; i <= options.max_elements; ++i) body += "<g/>";
  expect_refused(render_timed(svg_doc(body), options), RenderStatus::rejected, "max_elements");
}

TEST(SvgRender, TooManyAttributesIsRejectedBeforeLibxml2) {
  // libxml2 2.9 spends quadratic time on duplicate-attribute checks; 200k would take a minute.
  std::string attributes;
  for (int i = 0; i < 200000; ++i) attributes += " a" + std::to_string(i) + "='1'";
  expect_refused(render_timed(svg_doc("<rect" + attributes + "/>")), RenderStatus::rejected, "max_attributes");
}

TEST(SvgRender, OversizedDocumentIsRejected) {
  SvgRenderOptions options;
  options.max_bytes = 1000;
  expect_refused(render_timed(svg_doc("<desc>" + std::string(1000, 'x') + "</desc>"), options), RenderStatus::rejected,
                 "max_bytes");
}

TEST(SvgRender, InvalidCanvasSizeIsRejected) {
  SvgRenderOptions options;
  options.width = 0;
  expect_refused(render_timed(svg_doc(""), options), RenderStatus::rejected, "canvas");
  options.width = 100000;
  expect_refused(render_timed(svg_doc(""), options), RenderStatus::rejected, "canvas");
}

TEST(SvgRender, InvalidUtf8AndBinaryGarbageNeverRender) {
  const std::string invalid[] = {
      svg_doc("<text>\xC3\x28 \xFF\xFE</text>"),
      svg_doc("<rect width=\"\xF0\x28\x8C\x28\"/>"),
      std::string(kSvgOpen) + ">" + std::string("\0\0\0<rect/>", 10) + "</svg>",
  };
  for (const std::string& doc : invalid) {
    const auto timed = render_timed(doc);
    EXPECT_EQ(to_string(timed.result.status), "syntax_error") << timed.result.reason;
    EXPECT_EQ(sanitize_utf8(timed.result.reason), timed.result.reason);
    EXPECT_LT(timed.ms, kQuickMs);
  }
  std::mt19937 random(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 200; ++i) {
    std::string doc = i % 2 == 0 ? std::string(kSvgOpen) + ">" : std::string();
    for (int k = 0; k < 2000; ++k) doc += static_cast<char>(byte(random));
    if (i % 4 == 1) doc += "<svg>";
    const auto timed = render_timed(doc);
    EXPECT_NE(timed.result.status, RenderStatus::ok);
    EXPECT_EQ(sanitize_utf8(timed.result.reason), timed.result.reason);
    EXPECT_LT(timed.ms, kQuickMs);
  }
}

}  // namespace
}  // namespace visrl::render
