#include "render/table/table_layout.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include <cairo.h>
#include <fmt/format.h>
#include <pango/pangocairo.h>

#include "render/cairo_image.h"

namespace visrl::render {
namespace {

constexpr double kGridGrey = 0.55;

// Pango objects are costly to create (font map, fontconfig look-ups, font caches), and not
// thread-safe to share: one set per thread, kept for the thread's life, and one layout
// reused for every cell.
struct PangoState {
  PangoFontMap* font_map = nullptr;
  PangoContext* context = nullptr;
  PangoLayout* layout = nullptr;
  std::string font;
  double font_size = -1;
  int empty_line_height = 0;

  PangoState() {
    font_map = pango_cairo_font_map_new();
    context = pango_font_map_create_context(font_map);
    pango_cairo_context_set_resolution(context, 96.0);
    // Fixed options, not the desktop's: the same answer must give the same pixels anywhere.
    cairo_font_options_t* options = cairo_font_options_create();
    cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_SLIGHT);
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_ON);
    pango_cairo_context_set_font_options(context, options);
    cairo_font_options_destroy(options);
    layout = pango_layout_new(context);
  }
  ~PangoState() {
    g_object_unref(layout);
    g_object_unref(context);
    g_object_unref(font_map);
  }
  PangoState(const PangoState&) = delete;
  PangoState& operator=(const PangoState&) = delete;

  void use_font(const TableStyle& style) {
    if (style.font == font && style.font_size == font_size) return;
    PangoFontDescription* description = pango_font_description_new();
    pango_font_description_set_family(description, style.font.c_str());
    pango_font_description_set_size(description, static_cast<int>(std::lround(style.font_size * PANGO_SCALE)));
    pango_context_set_font_description(context, description);
    pango_font_description_free(description);
    pango_layout_context_changed(layout);
    font = style.font;
    font_size = style.font_size;
    // An empty layout still has the height of one line: the height of an empty cell.
    pango_layout_set_attributes(layout, nullptr);
    pango_layout_set_text(layout, "", 0);
    PangoRectangle logical;
    pango_layout_get_pixel_extents(layout, nullptr, &logical);
    empty_line_height = logical.height;
  }
};

PangoState& pango_state(const TableStyle& style) {
  thread_local PangoState state;
  state.use_font(style);
  return state;
}

// Empties the shared layout when a table is done with it (however it ends): it would
// otherwise keep the last cell's text, and a later table could be rendered by a process
// that still holds an earlier answer.
struct ForgetText {
  PangoLayout* layout;
  ~ForgetText() {
    pango_layout_set_attributes(layout, nullptr);
    pango_layout_set_text(layout, "", 0);
  }
};

CellAlign effective_align(const Cell& cell) {
  if (cell.align != CellAlign::none) return cell.align;
  return cell.header ? CellAlign::center : CellAlign::left;
}

void insert(PangoAttrList* list, PangoAttribute* attribute, size_t start, size_t end) {
  attribute->start_index = static_cast<guint>(start);
  attribute->end_index = static_cast<guint>(end);
  pango_attr_list_insert(list, attribute);
}

// Puts the cell's text and styles into the layout. Styles go in as attributes, not markup,
// so the text needs no escaping; the text is made valid UTF-8 without NULs, as Pango needs.
void set_cell(PangoLayout* layout, const Cell& cell, const TableStyle& style) {
  std::string text;
  PangoAttrList* attributes = pango_attr_list_new();
  for (const Run& run : cell.runs) {
    const size_t start = text.size();
    std::string clean = sanitize_utf8(run.text);
    std::replace(clean.begin(), clean.end(), '\0', ' ');
    text += clean;
    const size_t end = text.size();
    if (run.style & run_style::bold) insert(attributes, pango_attr_weight_new(PANGO_WEIGHT_BOLD), start, end);
    if (run.style & run_style::italic) insert(attributes, pango_attr_style_new(PANGO_STYLE_ITALIC), start, end);
    if (run.style & run_style::code) insert(attributes, pango_attr_family_new(style.code_font.c_str()), start, end);
    if (run.style & run_style::strike) insert(attributes, pango_attr_strikethrough_new(TRUE), start, end);
  }
  if (cell.header) insert(attributes, pango_attr_weight_new(PANGO_WEIGHT_BOLD), 0, text.size());
  pango_layout_set_text(layout, text.data(), static_cast<int>(text.size()));
  pango_layout_set_attributes(layout, attributes);
  pango_attr_list_unref(attributes);
  // Aligns the lines of a multi-line cell to each other; the block is placed in the cell
  // by draw_table.
  const CellAlign align = effective_align(cell);
  pango_layout_set_alignment(layout, align == CellAlign::right    ? PANGO_ALIGN_RIGHT
                                     : align == CellAlign::center ? PANGO_ALIGN_CENTER
                                                                  : PANGO_ALIGN_LEFT);
}

// Widens sizes[first, first + span) evenly so that together with the span - 1 grid lines
// between them they hold `need` pixels.
void widen(std::vector<int64_t>& sizes, size_t first, size_t span, int64_t need) {
  int64_t have = static_cast<int64_t>(span) - 1;
  for (size_t i = first; i < first + span; ++i) have += sizes[i];
  if (need <= have) return;
  const int64_t extra = need - have;
  const auto n = static_cast<int64_t>(span);
  for (size_t i = 0; i < span; ++i) {
    sizes[first + i] += extra / n + (static_cast<int64_t>(i) < extra % n ? 1 : 0);
  }
}

// Single-span cells first, then spanning ones by increasing span, so that a span only adds
// what its columns (or rows) do not already give it.
void fit_spans(const Table& table, const std::vector<TextBox>& text, int padding, std::vector<int64_t>& widths,
               std::vector<int64_t>& heights) {
  struct Need {
    size_t first;
    size_t span;
    int64_t size;
    bool column;
  };
  std::vector<Need> needs;
  size_t index = 0;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    for (const Cell& cell : table.rows[r].cells) {
      const TextBox& box = text[index++];
      needs.push_back(
          {static_cast<size_t>(cell.col), static_cast<size_t>(cell.colspan), box.width + 2 * padding, true});
      needs.push_back({r, static_cast<size_t>(cell.rowspan), box.height + 2 * padding, false});
    }
  }
  std::stable_sort(needs.begin(), needs.end(), [](const Need& a, const Need& b) { return a.span < b.span; });
  for (const Need& need : needs) {
    std::vector<int64_t>& sizes = need.column ? widths : heights;
    const size_t span = std::min(need.span, sizes.size() - std::min(need.first, sizes.size()));
    if (span > 0) widen(sizes, need.first, span, need.size);
  }
}

std::vector<int64_t> grid_lines(int64_t origin, const std::vector<int64_t>& sizes) {
  std::vector<int64_t> lines{origin};
  for (int64_t size : sizes) lines.push_back(lines.back() + 1 + size);
  return lines;
}

struct SurfaceDeleter {
  void operator()(cairo_surface_t* surface) const { cairo_surface_destroy(surface); }
};
struct CairoDeleter {
  void operator()(cairo_t* cr) const { cairo_destroy(cr); }
};

void add_rect(cairo_t* cr, int64_t x, int64_t y, int64_t width, int64_t height) {
  cairo_rectangle(cr, static_cast<double>(x), static_cast<double>(y), static_cast<double>(width),
                  static_cast<double>(height));
}

struct TextExtent {
  int64_t lines = 1;
  int64_t longest_line = 0;  // code points
};

TextExtent extent_of(const Cell& cell) {
  TextExtent extent;
  int64_t line = 0;
  for (const Run& run : cell.runs) {
    for (char c : run.text) {
      if (c == '\n') {
        ++extent.lines;
        line = 0;
      } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
        extent.longest_line = std::max(extent.longest_line, ++line);
      }
    }
  }
  return extent;
}

}  // namespace

std::string text_size_reason(const Table& table, const TableStyle& style, int64_t max_side_px) {
  const double em_px = style.font_size * 96.0 / 72.0;
  const double char_px = em_px / 5;
  const double line_px = em_px * 0.8;
  const int64_t padding = 2 * std::max(0, style.padding_px);
  std::vector<double> columns(static_cast<size_t>(std::max(0, table.columns)), 0.0);
  std::vector<double> rows(table.rows.size(), 0.0);
  for (size_t r = 0; r < table.rows.size(); ++r) {
    for (const Cell& cell : table.rows[r].cells) {
      const TextExtent extent = extent_of(cell);
      const double width = static_cast<double>(extent.longest_line) * char_px + static_cast<double>(padding);
      const double height = static_cast<double>(extent.lines) * line_px + static_cast<double>(padding);
      if (width > static_cast<double>(max_side_px)) {
        return fmt::format(
            "a table cell has a line of {} characters, at least {:.0f} px wide, more than max_side_px ({})",
            extent.longest_line, width, max_side_px);
      }
      if (height > static_cast<double>(max_side_px)) {
        return fmt::format("a table cell has {} lines, at least {:.0f} px high, more than max_side_px ({})",
                           extent.lines, height, max_side_px);
      }
      const auto col = static_cast<size_t>(cell.col);
      if (cell.colspan == 1 && col < columns.size()) columns[col] = std::max(columns[col], width);
      if (cell.rowspan == 1) rows[r] = std::max(rows[r], height);
    }
  }
  // Grid lines count too: one more than columns (rows).
  double width = static_cast<double>(columns.size() + 1);
  for (double column : columns) width += column;
  double height = static_cast<double>(rows.size() + 1);
  for (double row : rows) height += row;
  if (width > static_cast<double>(max_side_px)) {
    return fmt::format("the table's text is at least {:.0f} px wide, more than max_side_px ({})", width, max_side_px);
  }
  if (height > static_cast<double>(max_side_px)) {
    return fmt::format("the table's text is at least {:.0f} px high, more than max_side_px ({})", height, max_side_px);
  }
  return {};
}

TableGeometry measure_table(const Table& table, const TableStyle& style) {
  PangoState& pango = pango_state(style);
  const ForgetText forget{pango.layout};
  TableGeometry geometry;
  const int padding = std::max(0, style.padding_px);
  for (const Row& row : table.rows) {
    for (const Cell& cell : row.cells) {
      TextBox box;
      if (cell.runs.empty()) {
        box.height = pango.empty_line_height;
      } else {
        set_cell(pango.layout, cell, style);
        PangoRectangle logical;
        pango_layout_get_pixel_extents(pango.layout, nullptr, &logical);
        box = TextBox{logical.x, logical.y, logical.width, logical.height};
        geometry.unknown_glyphs += pango_layout_get_unknown_glyphs_count(pango.layout);
      }
      geometry.text.push_back(box);
    }
  }
  std::vector<int64_t> widths(static_cast<size_t>(std::max(0, table.columns)), 2 * padding);
  std::vector<int64_t> heights(table.rows.size(), pango.empty_line_height + 2 * padding);
  fit_spans(table, geometry.text, padding, widths, heights);
  const int64_t margin = std::max(0, style.margin_px);
  geometry.col_x = grid_lines(margin, widths);
  geometry.row_y = grid_lines(margin, heights);
  geometry.width = geometry.col_x.back() + 1 + margin;
  geometry.height = geometry.row_y.back() + 1 + margin;
  return geometry;
}

PixelRect cell_rect(const Cell& cell, size_t row, const TableGeometry& geometry) {
  const size_t col = static_cast<size_t>(cell.col);
  const size_t last_col = std::min(col + static_cast<size_t>(cell.colspan), geometry.col_x.size() - 1);
  const size_t last_row = std::min(row + static_cast<size_t>(cell.rowspan), geometry.row_y.size() - 1);
  PixelRect rect;
  rect.x = geometry.col_x[col] + 1;
  rect.y = geometry.row_y[row] + 1;
  rect.width = geometry.col_x[last_col] - rect.x;
  rect.height = geometry.row_y[last_row] - rect.y;
  return rect;
}

RgbImage draw_table(const Table& table, const TableGeometry& geometry, const TableStyle& style) {
  if (geometry.width <= 0 || geometry.height <= 0 || geometry.width > INT32_MAX / 4 ||
      geometry.height > INT32_MAX / 4) {
    throw std::runtime_error("table image size out of range");
  }
  const int width = static_cast<int>(geometry.width);
  const int height = static_cast<int>(geometry.height);
  std::unique_ptr<cairo_surface_t, SurfaceDeleter> surface(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("cairo: ") + cairo_status_to_string(cairo_surface_status(surface.get())));
  }
  std::unique_ptr<cairo_t, CairoDeleter> cr(cairo_create(surface.get()));
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());

  // Grid: the outer frame, then each cell's own border (so spans have no lines inside).
  cairo_set_source_rgb(cr.get(), kGridGrey, kGridGrey, kGridGrey);
  const int64_t left = geometry.col_x.front();
  const int64_t top = geometry.row_y.front();
  const int64_t right = geometry.col_x.back();
  const int64_t bottom = geometry.row_y.back();
  add_rect(cr.get(), left, top, right - left + 1, 1);
  add_rect(cr.get(), left, bottom, right - left + 1, 1);
  add_rect(cr.get(), left, top, 1, bottom - top + 1);
  add_rect(cr.get(), right, top, 1, bottom - top + 1);
  for (size_t r = 0; r < table.rows.size(); ++r) {
    for (const Cell& cell : table.rows[r].cells) {
      const PixelRect box = cell_rect(cell, r, geometry);
      add_rect(cr.get(), box.x - 1, box.y - 1, box.width + 2, 1);
      add_rect(cr.get(), box.x - 1, box.y + box.height, box.width + 2, 1);
      add_rect(cr.get(), box.x - 1, box.y - 1, 1, box.height + 2);
      add_rect(cr.get(), box.x + box.width, box.y - 1, 1, box.height + 2);
    }
  }
  cairo_fill(cr.get());

  cairo_set_source_rgb(cr.get(), 0, 0, 0);
  PangoState& pango = pango_state(style);
  const ForgetText forget{pango.layout};
  const int padding = std::max(0, style.padding_px);
  size_t index = 0;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    for (const Cell& cell : table.rows[r].cells) {
      const TextBox& text = geometry.text[index++];
      if (cell.runs.empty()) continue;
      const PixelRect box = cell_rect(cell, r, geometry);
      int64_t x = box.x + padding;
      const CellAlign align = effective_align(cell);
      if (align == CellAlign::center) x = box.x + (box.width - text.width) / 2;
      if (align == CellAlign::right) x = box.x + box.width - padding - text.width;
      const int64_t y = box.y + (box.height - text.height) / 2;
      set_cell(pango.layout, cell, style);
      cairo_move_to(cr.get(), static_cast<double>(x - text.x), static_cast<double>(y - text.y));
      pango_cairo_show_layout(cr.get(), pango.layout);
    }
  }
  return rgb_from_surface(surface.get());
}

}  // namespace visrl::render
