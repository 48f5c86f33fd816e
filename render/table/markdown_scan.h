// A linear pass over markdown that bounds what cmark-gfm would build, run before cmark sees
// the text. Why: the libcmark-gfm of Debian 12 (0.29.0.gfm.6) predates upstream's fixes for
// several quadratic cases. Measured here: splitting a table row costs time quadratic in its
// pipes (one line of 10^5 pipes under a delimiter row: ~9 s, even when the header and
// delimiter rows disagree and no table results); short body rows are padded to the
// header's width (10^4 columns x 10^3 rows: 10^7 nodes, ~7 s); and `![[]()` repeated 16000
// times takes 0.4 s (quadratic bracket matching, CVE-2023-22486).
//
// So every header + delimiter row pair counts as a candidate table, whether or not cmark
// will accept it, sized generously: its rows run to the next blank line and its width is
// that of its widest line. A candidate over the limits refuses the whole answer, wherever
// it is: cmark parses the whole answer, so a later huge table costs as much as a first one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "render/table/table_model.h"

namespace visrl::render {

// More '[' than this refuses the answer (cmark-gfm 0.29.0.gfm.6 matches brackets in quadratic
// time; 16384 keeps the worst pattern near 0.1 s). Real tables rarely hold more than a few.
constexpr int64_t kMaxOpenBrackets = 16384;
// All candidates together may hold this many times max_cells (several small tables are
// fine; many near-limit ones would multiply cmark's work).
constexpr int64_t kCandidateCellsFactor = 4;

struct MarkdownScan {
  int64_t candidates = 0;     // header + delimiter row pairs seen
  int64_t total_cells = 0;    // rows x columns summed over the candidates
  int64_t open_brackets = 0;  // '[' characters
  std::string reason;         // set when cmark must not parse the text: the limit and the number
};

MarkdownScan scan_markdown(std::string_view text, const TableLimits& limits);

// Number of cells cmark-gfm would split a table row line into: unescaped pipes, not counting
// a leading and a trailing one. Exposed for tests.
int64_t count_row_cells(std::string_view line);

// Number of cells of a delimiter row (`| :-- | --: |`), or 0 when `line` is not one. A bare
// `---` is a setext underline or thematic break for cmark, so it does not count.
int64_t delimiter_row_cells(std::string_view line);

}  // namespace visrl::render
