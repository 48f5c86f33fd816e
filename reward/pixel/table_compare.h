// Tables with a ruled grid compared cell by cell. Internal to reward/pixel.
#pragma once

#include <optional>
#include <vector>

#include "reward/critic.h"
#include "reward/pixel/pixel_critic.h"
#include "reward/pixel/pixel_image.h"

namespace visrl::reward::pixel {

// The ruled grid of a table image: pixel rows of horizontal rules and pixel columns of
// vertical rules (each rule as the range it covers), found as foreground runs longer than
// 60% of the table's extent. Rows of cells lie between consecutive horizontal rules.
struct TableGrid {
  std::vector<std::pair<int, int>> rules_y;  // [first, last] pixel row of each horizontal rule
  std::vector<std::pair<int, int>> rules_x;
  int rows() const { return rules_y.size() < 2 ? 0 : static_cast<int>(rules_y.size()) - 1; }
  int columns() const { return rules_x.size() < 2 ? 0 : static_cast<int>(rules_x.size()) - 1; }
  Box cell(int row, int column) const;  // inside the rules
};

// nullopt when fewer than two rules run each way.
std::optional<TableGrid> find_table_grid(const render::RgbImage& image, const PixelCriticOptions& options);

// Sizes may differ (tables are cropped to content). Rows and columns are matched (in order,
// by their cell contents when the counts differ); a missing or extra row is a layout_error of
// severity 2, a missing or extra column one of severity 3; each matched cell whose glyphs
// differ is a numeric_error when the reference cell reads like a number, else a text_error,
// with severity 1 for a single glyph edit and 2 for more. nullopt when either image has no grid.
std::optional<std::vector<CriticError>> compare_table(const render::RgbImage& reference,
                                                      const render::RgbImage& rendered,
                                                      const PixelCriticOptions& options);

}  // namespace visrl::reward::pixel
