#include "render/table/markdown_scan.h"

#include <algorithm>

#include <fmt/format.h>

namespace visrl::render {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

std::string_view trim_end(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Drops indentation and block-quote markers, so that tables inside block quotes and list
// items are seen too. Over-stripping only makes the estimate larger, which is safe.
std::string_view strip_prefix(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '>')) ++i;
  return trim_end(line.substr(i));
}

// Splits `text` into lines the way cmark does: "\n", "\r\n" and a lone "\r" end a line.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    const size_t end = text_.find_first_of("\r\n", pos_);
    if (end == std::string_view::npos) {
      line = text_.substr(pos_);
      pos_ = text_.size();
      return true;
    }
    line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    if (text_[end] == '\r' && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
    return true;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

int64_t count_row_cells(std::string_view line) {
  line = strip_prefix(line);
  if (line.empty()) return 0;
  int64_t pipes = 0;
  bool last_is_pipe = false;
  for (size_t i = 0; i < line.size(); ++i) {
    last_is_pipe = false;
    if (line[i] == '\\') {
      ++i;  // the escaped character, a pipe included, does not split
    } else if (line[i] == '|') {
      ++pipes;
      last_is_pipe = true;
    }
  }
  int64_t cells = pipes + 1;
  if (line.front() == '|') --cells;
  if (last_is_pipe && line.size() > 1) --cells;
  return std::max<int64_t>(cells, 1);
}

int64_t delimiter_row_cells(std::string_view line) {
  const std::string_view s = strip_prefix(line);
  size_t i = 0;
  bool has_pipe = false;
  bool has_colon = false;
  int64_t cells = 0;
  if (i < s.size() && s[i] == '|') {
    has_pipe = true;
    ++i;
  }
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i < s.size() && s[i] == ':') {
      has_colon = true;
      ++i;
    }
    const size_t dashes = i;
    while (i < s.size() && s[i] == '-') ++i;
    if (i == dashes) return 0;
    if (i < s.size() && s[i] == ':') {
      has_colon = true;
      ++i;
    }
    while (i < s.size() && is_space(s[i])) ++i;
    ++cells;
    if (i == s.size()) break;
    if (s[i] != '|') return 0;
    has_pipe = true;
    ++i;
    // A trailing pipe ends the row.
    size_t k = i;
    while (k < s.size() && is_space(s[k])) ++k;
    if (k == s.size()) break;
  }
  if (cells == 0 || (!has_pipe && !has_colon)) return 0;
  return cells;
}

MarkdownScan scan_markdown(std::string_view text, const TableLimits& limits) {
  MarkdownScan scan;
  scan.open_brackets = static_cast<int64_t>(std::count(text.begin(), text.end(), '['));

  LineReader lines(text);
  std::string_view line;
  std::string_view previous;  // the last non-blank line, a possible header row
  bool have_previous = false;
  while (lines.next(line)) {
    if (strip_prefix(line).empty()) {
      have_previous = false;
      continue;
    }
    const int64_t delimiter_cells = have_previous ? delimiter_row_cells(line) : 0;
    if (delimiter_cells == 0) {
      previous = line;
      have_previous = true;
      continue;
    }
    // A candidate: the header row, then body rows up to the next blank line.
    int64_t rows = 1;
    int64_t columns = std::max(delimiter_cells, count_row_cells(previous));
    while (lines.next(line) && !strip_prefix(line).empty()) {
      ++rows;
      columns = std::max(columns, count_row_cells(line));
    }
    have_previous = false;
    ++scan.candidates;
    scan.total_cells += rows * columns;
    if (scan.reason.empty()) scan.reason = grid_limit_reason("a markdown table", rows, columns, limits);
  }

  if (scan.reason.empty() && scan.total_cells > kCandidateCellsFactor * limits.max_cells) {
    scan.reason = fmt::format("the answer's {} markdown tables have {} cells in all, more than {} x max_cells ({})",
                              scan.candidates, scan.total_cells, kCandidateCellsFactor, limits.max_cells);
  }
  if (scan.reason.empty() && scan.open_brackets > kMaxOpenBrackets) {
    scan.reason =
        fmt::format("the answer has {} '[' characters, more than {} (cmark-gfm parses them in quadratic time)",
                    scan.open_brackets, kMaxOpenBrackets);
  }
  return scan;
}

}  // namespace visrl::render
