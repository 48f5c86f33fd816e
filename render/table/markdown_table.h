// Finds the first table of a markdown answer with cmark-gfm and its table extension.
#pragma once

#include <string_view>

#include "render/table/table_model.h"

namespace visrl::render {

// The first table of `markdown` in document order: a GFM pipe table (alignment, escaped
// pipes, inline code / emphasis / strikethrough kept as runs, rows padded or cut to the
// header's width as GFM says), or an HTML table in raw HTML (an HTML block or inline HTML),
// or one inside a fenced code block tagged html, markdown or nothing (models often fence
// their tables). When cmark finds none, a "<table" anywhere in the text is tried last (an
// HTML document whose indentation made cmark read code blocks).
//
// `markdown` must be valid UTF-8 (sanitize_utf8). scan_markdown runs first and refuses
// text that would make cmark-gfm slow (see markdown_scan.h).
TableParse find_table(std::string_view markdown, const TableLimits& limits);

}  // namespace visrl::render
