#include "render/table/html_table.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "render/markup_scan.h"

namespace visrl::render {
namespace {

// The HTML specification's own caps on spans.
constexpr int kMaxColspan = 1000;
constexpr int kMaxRowspan = 65534;

struct DocDeleter {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};

void ensure_libxml_initialised() {
  // xmlInitParser sets up global tables; it must run once before threads parse.
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

bool ieq_prefix(std::string_view text, size_t at, std::string_view word) {
  if (at + word.size() > text.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != word[i]) return false;
  }
  return true;
}

bool ends_tag_name(std::string_view text, size_t at) {
  if (at >= text.size()) return true;
  const char c = text[at];
  return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// libxml2's HTML parser lower-cases element and attribute names.
bool is_element(const xmlNode* node, const char* name) {
  return node->type == XML_ELEMENT_NODE && node->name != nullptr &&
         std::strcmp(reinterpret_cast<const char*>(node->name), name) == 0;
}

std::string attribute(const xmlNode* node, const char* name) {
  xmlChar* value = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  if (value == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return out;
}

// The next node after `node` in document order, staying below `root`; skips the children
// of `node` unless `descend`. Iterative: documents may nest deeply.
const xmlNode* next_node(const xmlNode* node, const xmlNode* root, bool descend) {
  if (descend && node->children != nullptr) return node->children;
  while (node != nullptr && node != root) {
    if (node->next != nullptr) return node->next;
    node = node->parent;
  }
  return nullptr;
}

// Leading digits of an attribute value, as browsers read "2" or " 3px"; `fallback` if none.
int64_t parse_span(const std::string& value, int64_t fallback) {
  size_t i = 0;
  while (i < value.size() && std::isspace(static_cast<unsigned char>(value[i]))) ++i;
  int64_t n = 0;
  size_t digits = 0;
  for (; i < value.size() && std::isdigit(static_cast<unsigned char>(value[i])) && digits < 9; ++i, ++digits) {
    n = n * 10 + (value[i] - '0');
  }
  return digits == 0 ? fallback : n;
}

CellAlign align_word(std::string_view word) {
  if (word == "left" || word == "start" || word == "justify") return CellAlign::left;
  if (word == "center" || word == "middle") return CellAlign::center;
  if (word == "right" || word == "end") return CellAlign::right;
  return CellAlign::none;
}

// align="right" or style="text-align: right" on a cell, row or row group.
CellAlign align_of(const xmlNode* node) {
  const std::string align = lower(attribute(node, "align"));
  if (!align.empty()) return align_word(align);
  const std::string style = lower(attribute(node, "style"));
  const size_t key = style.find("text-align");
  if (key == std::string::npos) return CellAlign::none;
  size_t i = key + std::strlen("text-align");
  while (i < style.size() && (style[i] == ' ' || style[i] == ':')) ++i;
  size_t end = i;
  while (end < style.size() && std::isalpha(static_cast<unsigned char>(style[end]))) ++end;
  return align_word(std::string_view(style).substr(i, end - i));
}

uint8_t style_of(const char* name) {
  static const std::pair<const char*, uint8_t> kStyles[] = {
      {"b", run_style::bold},    {"strong", run_style::bold}, {"th", run_style::bold},       {"i", run_style::italic},
      {"em", run_style::italic}, {"cite", run_style::italic}, {"var", run_style::italic},    {"code", run_style::code},
      {"tt", run_style::code},   {"kbd", run_style::code},    {"samp", run_style::code},     {"pre", run_style::code},
      {"s", run_style::strike},  {"del", run_style::strike},  {"strike", run_style::strike},
  };
  for (const auto& [tag, style] : kStyles) {
    if (std::strcmp(name, tag) == 0) return style;
  }
  return 0;
}

bool is_block_element(const char* name) {
  static const char* const kBlocks[] = {"p",  "div", "li", "ul", "ol", "dl",    "dt",         "dd",  "h1", "h2",
                                        "h3", "h4",  "h5", "h6", "tr", "table", "blockquote", "pre", "hr", "section"};
  for (const char* block : kBlocks) {
    if (std::strcmp(name, block) == 0) return true;
  }
  return false;
}

bool is_hidden_element(const char* name) {
  return std::strcmp(name, "script") == 0 || std::strcmp(name, "style") == 0 || std::strcmp(name, "template") == 0 ||
         std::strcmp(name, "head") == 0;
}

bool is_html_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// Builds a cell's runs the way a browser shows its text: whitespace collapsed to single
// spaces, <br> and block elements starting new lines.
class CellText {
 public:
  void text(std::string_view s, uint8_t style) {
    size_t i = 0;
    while (i < s.size()) {
      if (is_html_space(s[i])) {
        space(style);
        ++i;
        continue;
      }
      size_t end = i;
      while (end < s.size() && !is_html_space(s[end])) ++end;
      // The space keeps the style of the text it came from: "b <b>x</b>" is "b " + bold "x".
      if (pending_space_) append_run(runs_, " ", space_style_);
      append_run(runs_, s.substr(i, end - i), style);
      pending_space_ = false;
      line_start_ = false;
      i = end;
    }
  }
  // A word boundary: shown as one space unless a line starts or ends here.
  void space(uint8_t style) {
    if (line_start_ || pending_space_) return;
    pending_space_ = true;
    space_style_ = style;
  }
  void line_break(uint8_t style) {
    append_run(runs_, "\n", style);
    pending_space_ = false;
    line_start_ = true;
  }
  void block_break(uint8_t style) {
    if (!line_start_ && !runs_.empty()) line_break(style);
  }
  std::vector<Run> finish() {
    trim_trailing_breaks(runs_);  // from closing blocks and a last <br>
    return std::move(runs_);
  }

 private:
  std::vector<Run> runs_;
  bool pending_space_ = false;
  uint8_t space_style_ = 0;
  bool line_start_ = true;
};

bool is_cell_element(const char* name) {
  return std::strcmp(name, "td") == 0 || std::strcmp(name, "th") == 0;
}

std::vector<Run> cell_runs(const xmlNode* cell) {
  CellText text;
  std::vector<uint8_t> styles{0};  // one entry per open element below `cell`
  const xmlNode* node = cell->children;
  while (node != nullptr) {
    bool descend = false;
    if (node->type == XML_TEXT_NODE || node->type == XML_CDATA_SECTION_NODE) {
      if (node->content != nullptr) text.text(reinterpret_cast<const char*>(node->content), styles.back());
    } else if (node->type == XML_ELEMENT_NODE && node->name != nullptr) {
      const char* name = reinterpret_cast<const char*>(node->name);
      if (std::strcmp(name, "br") == 0) {
        text.line_break(styles.back());
      } else if (std::strcmp(name, "img") == 0) {
        text.text(attribute(node, "alt"), styles.back());
      } else if (!is_hidden_element(name) && node->children != nullptr) {
        if (is_block_element(name)) text.block_break(styles.back());
        if (is_cell_element(name)) text.space(styles.back());  // cells of a nested table
        styles.push_back(styles.back() | style_of(name));
        descend = true;
      }
    }
    if (descend) {
      node = node->children;
      continue;
    }
    // Climb out of every element whose last child this was.
    while (node != cell && node->next == nullptr) {
      node = node->parent;
      if (node == cell) break;
      styles.pop_back();
      const char* name = reinterpret_cast<const char*>(node->name);
      if (is_block_element(name)) text.block_break(styles.back());
      if (is_cell_element(name)) text.space(styles.back());
    }
    node = node == cell ? nullptr : node->next;
  }
  return text.finish();
}

// A cell as written, before rowspan/colspan are placed on the grid.
struct SourceCell {
  Cell cell;
  int64_t colspan = 1;
  int64_t rowspan = 1;  // 0: to the last row
};

struct SourceTable {
  std::vector<std::vector<SourceCell>> rows;
  int64_t cells = 0;  // counted even past the limit, for the reason
};

const char* group_of(const xmlNode* row) {
  const xmlNode* parent = row->parent;
  if (parent != nullptr && (is_element(parent, "thead") || is_element(parent, "tfoot"))) {
    return reinterpret_cast<const char*>(parent->name);
  }
  return "tbody";
}

// The rows of `table` (not of tables nested in its cells); tfoot rows go last, as drawn.
SourceTable collect_rows(const xmlNode* table, const TableLimits& limits) {
  SourceTable source;
  std::vector<std::vector<SourceCell>> footer;
  const xmlNode* node = table->children;
  while (node != nullptr) {
    bool descend = node->type == XML_ELEMENT_NODE;
    if (is_element(node, "table")) {
      descend = false;
    } else if (is_element(node, "tr")) {
      descend = false;
      const char* group = group_of(node);
      const CellAlign row_align = align_of(node);
      const xmlNode* parent = node->parent;
      const bool in_group = parent != nullptr &&
                            (is_element(parent, "thead") || is_element(parent, "tbody") || is_element(parent, "tfoot"));
      const CellAlign group_align = in_group ? align_of(parent) : CellAlign::none;
      std::vector<SourceCell> row;
      for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
        const bool th = is_element(child, "th");
        if (!th && !is_element(child, "td")) continue;
        ++source.cells;
        if (source.cells > limits.max_cells) continue;  // only counted from here on
        SourceCell cell;
        cell.cell.header = th || std::strcmp(group, "thead") == 0;
        cell.cell.align = align_of(child);
        if (cell.cell.align == CellAlign::none) cell.cell.align = row_align;
        if (cell.cell.align == CellAlign::none) cell.cell.align = group_align;
        cell.colspan = std::clamp<int64_t>(parse_span(attribute(child, "colspan"), 1), 1, kMaxColspan);
        cell.rowspan = std::clamp<int64_t>(parse_span(attribute(child, "rowspan"), 1), 0, kMaxRowspan);
        cell.cell.runs = cell_runs(child);
        row.push_back(std::move(cell));
      }
      (std::strcmp(group, "tfoot") == 0 ? footer : source.rows).push_back(std::move(row));
    }
    node = next_node(node, table, descend);
  }
  for (auto& row : footer) source.rows.push_back(std::move(row));
  return source;
}

// Places cells on the grid as the HTML table model does: each cell takes the first column
// of its row not covered by a rowspan from above.
TableParse place_cells(SourceTable source, const TableLimits& limits) {
  const auto rows = static_cast<int64_t>(source.rows.size());
  int64_t covered = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (SourceCell& cell : source.rows[static_cast<size_t>(r)]) {
      const int64_t remaining = rows - r;
      cell.rowspan = cell.rowspan == 0 ? remaining : std::min(cell.rowspan, remaining);
      covered += cell.colspan * cell.rowspan;
    }
  }
  if (covered > limits.max_cells) {
    return TableParse::rejected_because(
        fmt::format("the HTML table's cells span {} grid cells, more than max_cells ({})", covered, limits.max_cells));
  }

  // Occupancy costs at most `covered` marks, bounded just above.
  std::vector<std::vector<char>> taken(static_cast<size_t>(rows));
  Table table;
  for (int64_t r = 0; r < rows; ++r) {
    Row row;
    size_t col = 0;
    for (SourceCell& source_cell : source.rows[static_cast<size_t>(r)]) {
      const std::vector<char>& mine = taken[static_cast<size_t>(r)];
      while (col < mine.size() && mine[col]) ++col;
      for (int64_t rr = r; rr < r + source_cell.rowspan; ++rr) {
        std::vector<char>& marks = taken[static_cast<size_t>(rr)];
        if (marks.size() < col + static_cast<size_t>(source_cell.colspan)) {
          marks.resize(col + static_cast<size_t>(source_cell.colspan), 0);
        }
        std::fill_n(marks.begin() + static_cast<std::ptrdiff_t>(col), source_cell.colspan, 1);
      }
      Cell cell = std::move(source_cell.cell);
      cell.col = static_cast<int>(col);
      cell.colspan = static_cast<int>(source_cell.colspan);
      cell.rowspan = static_cast<int>(source_cell.rowspan);
      row.cells.push_back(std::move(cell));
      col += static_cast<size_t>(source_cell.colspan);
    }
    table.rows.push_back(std::move(row));
  }
  size_t columns = 0;
  for (const auto& marks : taken) columns = std::max(columns, marks.size());
  if (std::string reason = grid_limit_reason("the HTML table", rows, static_cast<int64_t>(columns), limits);
      !reason.empty()) {
    return TableParse::rejected_because(std::move(reason));
  }
  table.columns = static_cast<int>(columns);
  return TableParse::found_table(std::move(table));
}

}  // namespace

size_t find_table_tag(std::string_view text, size_t from) {
  for (size_t at = text.find('<', from); at != std::string_view::npos; at = text.find('<', at + 1)) {
    if (ieq_prefix(text, at + 1, "table") && ends_tag_name(text, at + 6)) return at;
  }
  return std::string_view::npos;
}

size_t table_tag_end(std::string_view text, size_t start) {
  int64_t depth = 0;
  for (size_t at = text.find('<', start); at != std::string_view::npos; at = text.find('<', at + 1)) {
    if (ieq_prefix(text, at + 1, "table") && ends_tag_name(text, at + 6)) {
      ++depth;
    } else if (ieq_prefix(text, at + 1, "/table") && ends_tag_name(text, at + 7)) {
      if (--depth == 0) {
        const size_t close = text.find('>', at);
        return close == std::string_view::npos ? text.size() : close + 1;
      }
    }
  }
  return text.size();
}

TableParse parse_html_table(std::string_view html, const TableLimits& limits) {
  if (html.empty() || html.size() > static_cast<size_t>(INT_MAX)) return TableParse::nothing();
  if (has_tag_with_too_many_attributes(html, limits.max_attributes)) {
    return TableParse::rejected_because(
        fmt::format("an HTML tag with more than {} attributes (max_attributes)", limits.max_attributes));
  }
  ensure_libxml_initialised();
  // UTF-8 is given, so a <meta charset> in the answer cannot make libxml2 re-decode it.
  std::unique_ptr<xmlDoc, DocDeleter> doc(
      htmlReadMemory(html.data(), static_cast<int>(html.size()), nullptr, "UTF-8",
                     HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET | HTML_PARSE_COMPACT));
  if (!doc) return TableParse::nothing();
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  for (const xmlNode* node = root; node != nullptr; node = next_node(node, root, true)) {
    if (!is_element(node, "table")) continue;
    SourceTable source = collect_rows(node, limits);
    if (source.cells > limits.max_cells) {
      return TableParse::rejected_because(
          fmt::format("the HTML table has {} cells, more than max_cells ({})", source.cells, limits.max_cells));
    }
    if (source.cells > 0) return place_cells(std::move(source), limits);
  }
  return TableParse::nothing();
}

}  // namespace visrl::render
