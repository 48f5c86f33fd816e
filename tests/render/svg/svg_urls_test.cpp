// The text-level checks of the SVG guard: CSS reference scanning and data: URL decoding.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "render/svg/svg_urls.h"

namespace visrl::render::svg_detail {
namespace {

using Urls = std::vector<std::string>;

TEST(SvgCss, FindsEveryUrlArgument) {
  const CssReferences refs = scan_css("fill: url(#a); stroke: URL( 'http://x/y' ); mask: url(\"data:,z\")");
  EXPECT_EQ(refs.urls, (Urls{"#a", "http://x/y", "data:,z"}));
  EXPECT_FALSE(refs.has_import);
  EXPECT_TRUE(scan_css("fill: red; stroke-width: 2").urls.empty());
}

TEST(SvgCss, EscapesCannotHideReferences) {
  EXPECT_EQ(scan_css("fill: u\\72l(http://x)").urls, (Urls{"http://x"}));
  EXPECT_EQ(scan_css("fill: \\55 \\52 \\4c (file:///a)").urls, (Urls{"file:///a"}));
  EXPECT_TRUE(scan_css("@\\69mport 'a.css';").has_import);
  EXPECT_TRUE(scan_css("@IMPORT 'a.css';").has_import);
}

TEST(SvgCss, UnclosedArgumentsRunToTheEnd) {
  EXPECT_EQ(scan_css("fill: url(\"http://x").urls, (Urls{"http://x"}));
  EXPECT_EQ(scan_css("fill: url(  ").urls, (Urls{""}));
  // A url( inside a quoted argument belongs to that argument; the scan does not restart in it.
  EXPECT_EQ(scan_css("url(\"url(\"url(\"").urls, (Urls{"url(", ""}));
}

TEST(SvgUrl, OnlyFragmentsAndDataAreLocal) {
  EXPECT_EQ(classify_url("#grad"), UrlKind::fragment);
  EXPECT_EQ(classify_url("  #grad "), UrlKind::fragment);
  EXPECT_EQ(classify_url("data:image/png;base64,AAAA"), UrlKind::data);
  EXPECT_EQ(classify_url("DATA:,x"), UrlKind::data);
  EXPECT_EQ(classify_url(""), UrlKind::empty);
  for (const char* url : {"file:///etc/passwd", "http://example.com/a.png", "https://e.com/", "foo.png", "../x.svg#a",
                          "//host/a", "javascript:alert(1)", "resource:///a"}) {
    EXPECT_EQ(classify_url(url), UrlKind::external) << url;
  }
}

TEST(SvgDataUrl, DecodesBase64AndPercentEncoding) {
  auto data = decode_data_url("data:image/SVG+xml;charset=utf-8;base64,PHN2Zz4=");
  ASSERT_TRUE(data);
  EXPECT_EQ(data->media_type, "image/svg+xml");
  EXPECT_EQ(data->payload, "<svg>");
  data = decode_data_url("data:,%3Csvg%3E%zz");
  ASSERT_TRUE(data);
  EXPECT_EQ(data->media_type, "");
  EXPECT_EQ(data->payload, "<svg>%zz");
  data = decode_data_url("data:;base64,PH N2\nZz4");  // whitespace and missing padding are tolerated
  ASSERT_TRUE(data);
  EXPECT_EQ(data->payload, "<svg>");
  EXPECT_FALSE(decode_data_url("data:;base64,!!!!"));
  EXPECT_FALSE(decode_data_url("data:;base64,A"));
  EXPECT_FALSE(decode_data_url("data:text/plain"));
  EXPECT_FALSE(decode_data_url("http://x/,y"));
}

TEST(SvgDataUrl, SniffsPayloads) {
  EXPECT_EQ(sniff_payload(std::string("\x89PNG\r\n\x1a\n\0\0", 10)), PayloadKind::png);
  EXPECT_EQ(sniff_payload("\xFF\xD8\xFF\xE0"), PayloadKind::jpeg);
  EXPECT_EQ(sniff_payload("GIF89a..."), PayloadKind::gif);
  EXPECT_EQ(sniff_payload("\xEF\xBB\xBF  <svg/>"), PayloadKind::markup);
  EXPECT_EQ(sniff_payload("\x1F\x8B\x08"), PayloadKind::other);  // gzip (svgz)
  EXPECT_EQ(sniff_payload(""), PayloadKind::other);
}

TEST(SvgReason, QuotesAreShortAndPrintable) {
  EXPECT_EQ(quote_for_reason("a\nb"), "\"a?b\"");
  const std::string quoted = quote_for_reason(std::string(500, 'x'));
  EXPECT_LT(quoted.size(), 100u);
  EXPECT_NE(quoted.find("..."), std::string::npos);
}

}  // namespace
}  // namespace visrl::render::svg_detail
