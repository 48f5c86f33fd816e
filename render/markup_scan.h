// A linear pre-scan of SVG and HTML markup, run before libxml2 sees it. libxml2 2.9 checks
// each attribute of a tag against all earlier ones (quadratic: 200k attributes on one SVG
// element take a minute; an HTML <table> tag with 160k valueless attributes reaches a 15 s
// deadline), so a tag with too many attributes refuses the whole document unparsed.
#pragma once

#include <cstdint>
#include <string_view>

namespace visrl::render {

// True when some tag in `markup` has more than `limit` attributes. Counts attribute names,
// valued or not (HTML allows `<td nowrap>`), outside quotes; comments, CDATA sections and
// processing instructions are skipped. A miscount in odd markup (`a = 1` counts the 1) only
// errs towards refusing.
bool has_tag_with_too_many_attributes(std::string_view markup, int64_t limit);

}  // namespace visrl::render
