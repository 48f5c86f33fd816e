#include "render/table/markdown_table.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include "render/table/html_table.h"
#include "render/table/markdown_scan.h"

namespace visrl::render {
namespace {

// Fenced blocks are searched one level deep (a ````markdown block holding a ```html one is
// two); deeper nesting is not how answers are written and would multiply the work.
constexpr int kMaxFenceDepth = 2;
// libxml2 runs once per HTML table candidate, on that table's text only (so the bytes it
// reads add up to at most the answer), but each run has a fixed cost: an answer of 10^5
// empty "<table></table>" must not cost 10^5 runs.
constexpr int kMaxHtmlAttempts = 256;

struct ParserDeleter {
  void operator()(cmark_parser* parser) const { cmark_parser_free(parser); }
};
struct NodeDeleter {
  void operator()(cmark_node* node) const { cmark_node_free(node); }
};

void ensure_extensions_registered() {
  // cmark's extension registry is a process-wide list without a lock.
  static std::once_flag once;
  std::call_once(once, [] { cmark_gfm_core_extensions_ensure_registered(); });
}

std::unique_ptr<cmark_node, NodeDeleter> parse_markdown(std::string_view text) {
  ensure_extensions_registered();
  // cmark-gfm keeps its table of special inline characters in a global that every parse with
  // extensions writes ('~' and '|' added before inline parsing, removed after), so two
  // parses at once lose strikethrough at random (seen in ThreadsRenderIdenticalImages;
  // cmark-gfm PR #176, never merged). Parses are serialised; the tree they return is not
  // shared and is read without the lock.
  static std::mutex cmark_mutex;
  const std::lock_guard<std::mutex> lock(cmark_mutex);
  std::unique_ptr<cmark_parser, ParserDeleter> parser(
      cmark_parser_new(CMARK_OPT_DEFAULT | CMARK_OPT_SOURCEPOS | CMARK_OPT_VALIDATE_UTF8));
  if (!parser) return nullptr;
  for (const char* name : {"table", "strikethrough"}) {
    if (cmark_syntax_extension* extension = cmark_find_syntax_extension(name)) {
      cmark_parser_attach_syntax_extension(parser.get(), extension);
    }
  }
  cmark_parser_feed(parser.get(), text.data(), text.size());
  return std::unique_ptr<cmark_node, NodeDeleter>(cmark_parser_finish(parser.get()));
}

// Extension node types are registered at run time; their names are the stable handle.
bool is_type(cmark_node* node, const char* name) {
  const char* type = cmark_node_get_type_string(node);
  return type != nullptr && std::strcmp(type, name) == 0;
}

std::string_view literal_of(cmark_node* node) {
  const char* literal = cmark_node_get_literal(node);
  return literal != nullptr ? std::string_view(literal) : std::string_view();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Nesting counters for emphasis and the inline HTML tags answers use inside cells.
struct InlineStyle {
  int bold = 0;
  int italic = 0;
  int code = 0;
  int strike = 0;

  uint8_t bits() const {
    return static_cast<uint8_t>((bold > 0 ? run_style::bold : 0) | (italic > 0 ? run_style::italic : 0) |
                                (code > 0 ? run_style::code : 0) | (strike > 0 ? run_style::strike : 0));
  }
};

// Applies one inline HTML tag (cmark hands them over one by one): <br> breaks the line,
// <b>/<strong>, <i>/<em>, <code>, <s>/<del> open or close a style; others show nothing.
void apply_html_tag(std::string_view tag, InlineStyle& style, std::vector<Run>& runs) {
  if (tag.size() < 3 || tag.front() != '<') return;
  size_t i = 1;
  const bool closing = tag[i] == '/';
  if (closing) ++i;
  size_t end = i;
  while (end < tag.size() && std::isalpha(static_cast<unsigned char>(tag[end]))) ++end;
  const std::string name = lower(tag.substr(i, end - i));
  const int step = closing ? -1 : 1;
  const auto bump = [&](int& counter) { counter = std::max(0, counter + step); };
  if (name == "br") {
    if (!closing) append_run(runs, "\n", style.bits());
  } else if (name == "b" || name == "strong") {
    bump(style.bold);
  } else if (name == "i" || name == "em") {
    bump(style.italic);
  } else if (name == "code" || name == "tt" || name == "kbd") {
    bump(style.code);
  } else if (name == "s" || name == "del" || name == "strike") {
    bump(style.strike);
  }
}

std::vector<Run> cell_runs(cmark_node* cell) {
  std::vector<Run> runs;
  InlineStyle style;
  cmark_iter* iter = cmark_iter_new(cell);
  cmark_event_type event;
  while ((event = cmark_iter_next(iter)) != CMARK_EVENT_DONE) {
    cmark_node* node = cmark_iter_get_node(iter);
    if (node == cell) continue;
    const int step = event == CMARK_EVENT_ENTER ? 1 : -1;
    switch (cmark_node_get_type(node)) {
      case CMARK_NODE_TEXT:
        append_run(runs, literal_of(node), style.bits());
        break;
      case CMARK_NODE_CODE:
        append_run(runs, literal_of(node), style.bits() | run_style::code);
        break;
      case CMARK_NODE_SOFTBREAK:
        append_run(runs, " ", style.bits());
        break;
      case CMARK_NODE_LINEBREAK:
        append_run(runs, "\n", style.bits());
        break;
      case CMARK_NODE_HTML_INLINE:
        apply_html_tag(literal_of(node), style, runs);
        break;
      case CMARK_NODE_EMPH:
        style.italic += step;
        break;
      case CMARK_NODE_STRONG:
        style.bold += step;
        break;
      default:
        // Links and images show their text; strikethrough is an extension type.
        if (is_type(node, "strikethrough")) style.strike += step;
        break;
    }
  }
  cmark_iter_free(iter);
  trim_trailing_breaks(runs);
  return runs;
}

CellAlign align_of(uint8_t code) {
  switch (code) {
    case 'l':
      return CellAlign::left;
    case 'c':
      return CellAlign::center;
    case 'r':
      return CellAlign::right;
    default:
      return CellAlign::none;
  }
}

// GFM says: body rows with fewer cells than the header get empty ones, extra cells are
// dropped. Done here whatever cmark's tree holds, so every row has `columns` cells.
TableParse table_from_node(cmark_node* table_node, const TableLimits& limits) {
  Table table;
  table.columns = cmark_gfm_extensions_get_table_columns(table_node);
  const uint8_t* alignments = cmark_gfm_extensions_get_table_alignments(table_node);
  int64_t rows = 0;
  for (cmark_node* row = cmark_node_first_child(table_node); row; row = cmark_node_next(row)) ++rows;
  if (std::string reason = grid_limit_reason("the markdown table", rows, table.columns, limits); !reason.empty()) {
    return TableParse::rejected_because(std::move(reason));
  }
  if (table.columns <= 0 || rows == 0) return TableParse::nothing();

  for (cmark_node* row_node = cmark_node_first_child(table_node); row_node; row_node = cmark_node_next(row_node)) {
    const bool header = cmark_gfm_extensions_get_table_row_is_header(row_node) != 0;
    Row row;
    row.cells.reserve(static_cast<size_t>(table.columns));
    cmark_node* cell_node = cmark_node_first_child(row_node);
    for (int col = 0; col < table.columns; ++col) {
      Cell cell;
      cell.col = col;
      cell.header = header;
      cell.align = alignments != nullptr ? align_of(alignments[col]) : CellAlign::none;
      if (cell_node != nullptr) {
        cell.runs = cell_runs(cell_node);
        cell_node = cmark_node_next(cell_node);
      }
      row.cells.push_back(std::move(cell));
    }
    table.rows.push_back(std::move(row));
  }
  return TableParse::found_table(std::move(table));
}

// Byte offset of each line start, counting line ends as cmark does, for its source positions.
std::vector<size_t> line_starts(std::string_view text) {
  std::vector<size_t> starts{0};
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'))) {
      starts.push_back(i + 1);
    }
  }
  return starts;
}

bool is_block(cmark_node* node) {
  return (cmark_node_get_type(node) & CMARK_NODE_TYPE_MASK) == CMARK_NODE_TYPE_BLOCK;
}

bool is_fenced(cmark_node* code_block) {
  // cmark writes through all three pointers without checking them.
  int length = 0;
  int offset = 0;
  char character = 0;
  return cmark_node_get_fenced(code_block, &length, &offset, &character) != 0;
}

std::string fence_language(cmark_node* code_block) {
  const char* info = cmark_node_get_fence_info(code_block);
  std::string_view word = info != nullptr ? std::string_view(info) : std::string_view();
  const size_t end = word.find_first_of(" \t{");
  return lower(word.substr(0, end));
}

class TableSearch {
 public:
  explicit TableSearch(const TableLimits& limits) : limits_(limits) {}

  TableParse in_markdown(std::string_view text, int depth) {
    const auto document = parse_markdown(text);
    if (!document) return TableParse::nothing();
    std::vector<size_t> starts;  // filled on first need
    size_t html_done = 0;        // HTML before this offset of `text` was already parsed
    TableParse result;

    cmark_iter* iter = cmark_iter_new(document.get());
    cmark_event_type event;
    while (result.status == TableParse::Status::none && (event = cmark_iter_next(iter)) != CMARK_EVENT_DONE) {
      if (event != CMARK_EVENT_ENTER) continue;
      cmark_node* node = cmark_iter_get_node(iter);
      const cmark_node_type type = cmark_node_get_type(node);
      if (is_type(node, "table")) {
        result = table_from_node(node, limits_);
      } else if (type == CMARK_NODE_HTML_BLOCK || type == CMARK_NODE_HTML_INLINE) {
        result = in_raw_html(text, node, starts, html_done);
      } else if (type == CMARK_NODE_CODE_BLOCK && is_fenced(node)) {
        result = in_fence(node, depth);
      }
    }
    cmark_iter_free(iter);

    if (result.status == TableParse::Status::none && depth == 0) {
      // Raw HTML that cmark read as something else (an indented <table> after a blank line
      // is a code block to cmark).
      for (size_t at = find_table_tag(text, html_done); at != std::string_view::npos && attempts_ < kMaxHtmlAttempts;
           at = find_table_tag(text, html_done)) {
        result = html_at(text, at, html_done);
        if (result.status != TableParse::Status::none) break;
      }
    }
    return result;
  }

 private:
  // An HTML block or inline HTML tag that opens a table.
  TableParse in_raw_html(std::string_view text, cmark_node* node, std::vector<size_t>& starts, size_t& html_done) {
    const std::string_view literal = literal_of(node);
    const size_t tag = find_table_tag(literal);
    const bool inline_html = cmark_node_get_type(node) == CMARK_NODE_HTML_INLINE;
    if (tag == std::string_view::npos || (inline_html && tag != 0)) return TableParse::nothing();
    cmark_node* block = node;
    while (!is_block(block) && cmark_node_parent(block) != nullptr) block = cmark_node_parent(block);
    if (!inline_html && cmark_node_get_type(cmark_node_parent(block)) != CMARK_NODE_DOCUMENT) {
      // Inside a block quote or list item the literal is free of the container markers.
      size_t unused = 0;
      return html_at(literal, tag, unused);
    }
    // Otherwise the source text, not the literal: a blank line inside the table ends
    // cmark's HTML block, and inline HTML comes one tag at a time.
    if (starts.empty()) starts = line_starts(text);
    const size_t line = static_cast<size_t>(std::max(1, cmark_node_get_start_line(block)));
    const size_t start = find_table_tag(text, starts[std::min(line, starts.size()) - 1]);
    if (start == std::string_view::npos || start < html_done) return TableParse::nothing();  // parsed already
    return html_at(text, start, html_done);
  }

  TableParse in_fence(cmark_node* code_block, int depth) {
    const std::string language = fence_language(code_block);
    const std::string_view literal = literal_of(code_block);
    if (language == "html" || language == "htm" || language == "xhtml") {
      size_t unused = 0;
      const size_t tag = find_table_tag(literal);
      return tag == std::string_view::npos ? TableParse::nothing() : html_at(literal, tag, unused);
    }
    const bool markdown = language.empty() || language == "markdown" || language == "md" || language == "gfm";
    if (!markdown || depth >= kMaxFenceDepth) return TableParse::nothing();
    // The outer scan_markdown covered these lines already: they are lines of the answer.
    return in_markdown(literal, depth + 1);
  }

  // Parses the table whose tag is at `start`, up to its closing tag, and records in `done`
  // how far the text has been handed to libxml2.
  TableParse html_at(std::string_view text, size_t start, size_t& done) {
    if (attempts_ >= kMaxHtmlAttempts) return TableParse::nothing();
    ++attempts_;
    const size_t end = table_tag_end(text, start);
    done = std::max(done, end);
    return parse_html_table(text.substr(start, end - start), limits_);
  }

  const TableLimits& limits_;
  int attempts_ = 0;
};

}  // namespace

TableParse find_table(std::string_view markdown, const TableLimits& limits) {
  const MarkdownScan scan = scan_markdown(markdown, limits);
  if (!scan.reason.empty()) return TableParse::rejected_because(scan.reason);
  return TableSearch(limits).in_markdown(markdown, 0);
}

}  // namespace visrl::render
