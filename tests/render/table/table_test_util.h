// Helpers for the table renderer tests: the spec's HTML for a Table (to compare parsing with
// the GFM spec) and pixel measurements on rendered images.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/xml_escape.h"
#include "render/render_types.h"
#include "render/table/table_layout.h"
#include "render/table/table_model.h"

namespace visrl::render::test {

inline std::string escape_html(std::string_view text) {
  return visrl::xml_escape(text);
}

// Runs as cmark-gfm writes inlines: <strong> outside <em> outside <del> outside <code>.
inline std::string runs_to_html(const std::vector<Run>& runs) {
  static const std::pair<uint8_t, const char*> kTags[] = {
      {run_style::bold, "strong"}, {run_style::italic, "em"}, {run_style::strike, "del"}, {run_style::code, "code"}};
  std::string out;
  std::vector<size_t> open;  // indices into kTags, outermost first
  for (const Run& run : runs) {
    size_t keep = 0;
    while (keep < open.size() && (run.style & kTags[open[keep]].first)) ++keep;
    while (open.size() > keep) {
      out.append("</").append(kTags[open.back()].second).append(">");
      open.pop_back();
    }
    for (size_t t = 0; t < std::size(kTags); ++t) {
      if ((run.style & kTags[t].first) && std::find(open.begin(), open.end(), t) == open.end()) {
        out.append("<").append(kTags[t].second).append(">");
        open.push_back(t);
      }
    }
    out += escape_html(run.text);
  }
  while (!open.empty()) {
    out.append("</").append(kTags[open.back()].second).append(">");
    open.pop_back();
  }
  return out;
}

// The table in the HTML of the GFM spec's examples (cmark-gfm's HTML renderer).
inline std::string to_spec_html(const Table& table) {
  const auto row_html = [](const Row& row) {
    std::string out = "<tr>\n";
    for (const Cell& cell : row.cells) {
      // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "<" + string.
      const char* tag = cell.header ? "th" : "td";
      out += '<';
      out += tag;
      if (cell.align == CellAlign::left) out += " align=\"left\"";
      if (cell.align == CellAlign::center) out += " align=\"center\"";
      if (cell.align == CellAlign::right) out += " align=\"right\"";
      out += '>';
      out += runs_to_html(cell.runs);
      out += "</";
      out += tag;
      out += ">\n";
    }
    return out + "</tr>\n";
  };
  std::string head, body;
  for (const Row& row : table.rows) {
    const bool header = !row.cells.empty() && row.cells.front().header;
    (header ? head : body) += row_html(row);
  }
  std::string out = "<table>\n";
  if (!head.empty()) out.append("<thead>\n").append(head).append("</thead>\n");
  if (!body.empty()) out.append("<tbody>\n").append(body).append("</tbody>\n");
  return out.append("</table>\n");
}

// The "<table>...</table>\n" part of an HTML text, or "" when it has none.
inline std::string first_table_html(std::string_view html) {
  const size_t start = html.find("<table>");
  if (start == std::string_view::npos) return {};
  const std::string_view end_tag = "</table>\n";
  const size_t end = html.find(end_tag, start);
  return std::string(html.substr(start, end == std::string_view::npos ? end : end + end_tag.size() - start));
}

struct Ink {
  int64_t count = 0;  // dark pixels
  int64_t min_x = INT64_MAX, max_x = -1, min_y = INT64_MAX, max_y = -1;
  int64_t darkness = 0;  // sum of (255 - luma)
};

// Pixels darker than `threshold` (0..255 luma) inside a rectangle: text ink, not the grey grid.
inline Ink ink_in(const RgbImage& image, int64_t x0, int64_t y0, int64_t width, int64_t height, int threshold = 110) {
  Ink ink;
  for (int64_t y = std::max<int64_t>(0, y0); y < std::min<int64_t>(image.height, y0 + height); ++y) {
    for (int64_t x = std::max<int64_t>(0, x0); x < std::min<int64_t>(image.width, x0 + width); ++x) {
      const uint8_t* p = &image.rgb[static_cast<size_t>((y * image.width + x) * 3)];
      const int luma = (p[0] * 299 + p[1] * 587 + p[2] * 114) / 1000;
      ink.darkness += 255 - luma;
      if (luma >= threshold) continue;
      ++ink.count;
      ink.min_x = std::min(ink.min_x, x);
      ink.max_x = std::max(ink.max_x, x);
      ink.min_y = std::min(ink.min_y, y);
      ink.max_y = std::max(ink.max_y, y);
    }
  }
  return ink;
}

inline Ink ink_in(const RgbImage& image, const PixelRect& rect) {
  return ink_in(image, rect.x, rect.y, rect.width, rect.height);
}

inline const uint8_t* pixel(const RgbImage& image, int64_t x, int64_t y) {
  return &image.rgb[static_cast<size_t>((y * image.width + x) * 3)];
}

inline bool is_white(const RgbImage& image, int64_t x, int64_t y) {
  const uint8_t* p = pixel(image, x, y);
  return p[0] == 255 && p[1] == 255 && p[2] == 255;
}

}  // namespace visrl::render::test
