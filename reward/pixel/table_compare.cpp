#include "reward/pixel/table_compare.h"

#include <algorithm>
#include <cstdint>
#include <map>

#include <fmt/format.h>

#include "reward/pixel/findings.h"
#include "reward/pixel/glyphs.h"

namespace visrl::reward::pixel {

namespace {

constexpr double kRuleLength = 0.6;  // a rule runs along this much of the table
constexpr int kInkContrast = 48;     // text pixels this far from the page are ink

// Runs of consecutive indices where `is_rule` holds, as [first, last].
std::vector<std::pair<int, int>> ranges(const std::vector<bool>& is_rule, int offset) {
  std::vector<std::pair<int, int>> out;
  for (int i = 0; i < static_cast<int>(is_rule.size()); ++i) {
    if (!is_rule[i]) continue;
    if (!out.empty() && out.back().second == offset + i - 1)
      out.back().second = offset + i;
    else
      out.emplace_back(offset + i, offset + i);
  }
  return out;
}

struct Cell {
  Box box;
  std::vector<Glyph> glyphs;
  uint64_t hash = 0;
};

struct TableView {
  TableGrid grid;
  std::vector<std::vector<Cell>> cells;  // [row][column]
  int width = 0;
  int height = 0;
};

uint64_t hash_glyphs(const std::vector<Glyph>& glyphs) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint64_t v) {
    h ^= v;
    h *= 1099511628211ull;
  };
  for (const Glyph& g : glyphs) {
    mix(static_cast<uint64_t>(g.box.width()));
    mix(static_cast<uint64_t>(g.box.height()));
    mix(static_cast<uint64_t>(g.offset));
    mix(static_cast<uint64_t>(g.line));
    for (uint8_t b : g.bits) mix(b);
  }
  return h;
}

TableView view_of(const render::RgbImage& image, const TableGrid& grid) {
  TableView view;
  view.grid = grid;
  view.width = image.width;
  view.height = image.height;
  const Colour bg = background_colour(image);
  const Mask ink = foreground_mask(image, bg, kInkContrast);
  std::vector<uint8_t> levels(ink.bits.size());
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      levels[static_cast<size_t>(y) * image.width + x] =
          static_cast<uint8_t>(colour_distance(pixel_at(image, x, y), bg));
  view.cells.resize(static_cast<size_t>(grid.rows()));
  for (int r = 0; r < grid.rows(); ++r) {
    for (int c = 0; c < grid.columns(); ++c) {
      Cell cell;
      cell.box = grid.cell(r, c);
      cell.glyphs = glyph_sequence(ink, levels, cell.box);
      cell.hash = hash_glyphs(cell.glyphs);
      view.cells[static_cast<size_t>(r)].push_back(std::move(cell));
    }
  }
  return view;
}

// Shared elements of two multisets of cell hashes.
int shared(std::vector<uint64_t> a, std::vector<uint64_t> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<uint64_t> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  return static_cast<int>(both.size());
}

// Order-keeping alignment of two sequences maximising the summed similarity of matched
// pairs (pairs with no similarity are never matched). Equal lengths pair by index.
std::vector<std::pair<int, int>> align(int n, int m, const std::vector<std::vector<int>>& score) {
  std::vector<std::pair<int, int>> pairs;
  if (n == m) {
    for (int i = 0; i < n; ++i) pairs.emplace_back(i, i);
    return pairs;
  }
  std::vector<std::vector<int>> dp(static_cast<size_t>(n) + 1, std::vector<int>(static_cast<size_t>(m) + 1, 0));
  for (int i = 1; i <= n; ++i)
    for (int j = 1; j <= m; ++j) {
      int best = std::max(dp[i - 1][j], dp[i][j - 1]);
      if (score[i - 1][j - 1] > 0) best = std::max(best, dp[i - 1][j - 1] + score[i - 1][j - 1]);
      dp[i][j] = best;
    }
  for (int i = n, j = m; i > 0 && j > 0;) {
    if (score[i - 1][j - 1] > 0 && dp[i][j] == dp[i - 1][j - 1] + score[i - 1][j - 1]) {
      pairs.emplace_back(i - 1, j - 1);
      --i, --j;
    } else if (dp[i][j] == dp[i - 1][j]) {
      --i;
    } else {
      --j;
    }
  }
  std::reverse(pairs.begin(), pairs.end());
  return pairs;
}

std::vector<int> unmatched(int n, const std::vector<std::pair<int, int>>& pairs, bool first) {
  std::vector<bool> used(static_cast<size_t>(n), false);
  for (const auto& p : pairs) used[static_cast<size_t>(first ? p.first : p.second)] = true;
  std::vector<int> out;
  for (int i = 0; i < n; ++i)
    if (!used[static_cast<size_t>(i)]) out.push_back(i);
  return out;
}

}  // namespace

Box TableGrid::cell(int row, int column) const {
  Box box;
  box.add(rules_x[column].second + 1, rules_y[row].second + 1);
  box.add(rules_x[column + 1].first - 1, rules_y[row + 1].first - 1);
  return box;
}

std::optional<TableGrid> find_table_grid(const render::RgbImage& image, const PixelCriticOptions& options) {
  if (image.empty()) return std::nullopt;
  const Mask fg = foreground_mask(image, background_colour(image), options.foreground_threshold);
  const Box box = fg.box();
  if (box.width() < 3 || box.height() < 3) return std::nullopt;
  std::vector<bool> row_rule(static_cast<size_t>(box.height()), false),
      col_rule(static_cast<size_t>(box.width()), false);
  for (int y = box.y0; y <= box.y1; ++y) {
    int run = 0, longest = 0;
    for (int x = box.x0; x <= box.x1; ++x) longest = std::max(longest, run = fg.at(x, y) ? run + 1 : 0);
    row_rule[static_cast<size_t>(y - box.y0)] = longest >= kRuleLength * box.width();
  }
  for (int x = box.x0; x <= box.x1; ++x) {
    int run = 0, longest = 0;
    for (int y = box.y0; y <= box.y1; ++y) longest = std::max(longest, run = fg.at(x, y) ? run + 1 : 0);
    col_rule[static_cast<size_t>(x - box.x0)] = longest >= kRuleLength * box.height();
  }
  TableGrid grid;
  grid.rules_y = ranges(row_rule, box.y0);
  grid.rules_x = ranges(col_rule, box.x0);
  if (grid.rules_y.size() < 2 || grid.rules_x.size() < 2) return std::nullopt;
  return grid;
}

std::optional<std::vector<CriticError>> compare_table(const render::RgbImage& reference,
                                                      const render::RgbImage& rendered,
                                                      const PixelCriticOptions& options) {
  const auto grid_a = find_table_grid(reference, options);
  const auto grid_b = find_table_grid(rendered, options);
  if (!grid_a || !grid_b) return std::nullopt;
  const TableView a = view_of(reference, *grid_a), b = view_of(rendered, *grid_b);
  const int rows_a = grid_a->rows(), rows_b = grid_b->rows();
  const int cols_a = grid_a->columns(), cols_b = grid_b->columns();
  std::vector<CriticError> errors;
  auto add = [&](Finding finding, int severity, const Box& box, const TableView& view, std::string description) {
    errors.push_back(
        make_error(Task::table, finding, severity, region_name(box, view.width, view.height), std::move(description)));
  };

  // Columns by their cells' contents, then rows by theirs.
  auto column_hashes = [](const TableView& v, int c) {
    std::vector<uint64_t> h;
    for (const auto& row : v.cells) h.push_back(row[static_cast<size_t>(c)].hash);
    return h;
  };
  auto row_hashes = [](const TableView& v, int r) {
    std::vector<uint64_t> h;
    for (const Cell& cell : v.cells[static_cast<size_t>(r)]) h.push_back(cell.hash);
    return h;
  };
  std::vector<std::vector<int>> score(static_cast<size_t>(cols_a), std::vector<int>(static_cast<size_t>(cols_b)));
  if (cols_a != cols_b)
    for (int i = 0; i < cols_a; ++i)
      for (int j = 0; j < cols_b; ++j) score[i][j] = shared(column_hashes(a, i), column_hashes(b, j));
  const auto columns = align(cols_a, cols_b, score);
  score.assign(static_cast<size_t>(rows_a), std::vector<int>(static_cast<size_t>(rows_b)));
  if (rows_a != rows_b)
    for (int i = 0; i < rows_a; ++i)
      for (int j = 0; j < rows_b; ++j) score[i][j] = shared(row_hashes(a, i), row_hashes(b, j));
  const auto rows = align(rows_a, rows_b, score);

  const std::string shape =
      fmt::format("{} rows x {} columns vs {} x {} in the reference", rows_b, cols_b, rows_a, cols_a);
  auto row_box = [](const TableView& v, int r) {
    Box box = v.grid.cell(r, 0);
    box.add(v.grid.cell(r, v.grid.columns() - 1));
    return box;
  };
  auto column_box = [](const TableView& v, int c) {
    Box box = v.grid.cell(0, c);
    box.add(v.grid.cell(v.grid.rows() - 1, c));
    return box;
  };
  for (int r : unmatched(rows_a, rows, true))
    add(Finding::grid, 2, row_box(a, r), a, fmt::format("row {} of the reference is missing ({})", r + 1, shape));
  for (int r : unmatched(rows_b, rows, false))
    add(Finding::grid, 2, row_box(b, r), b, fmt::format("extra row {} ({})", r + 1, shape));
  for (int c : unmatched(cols_a, columns, true))
    add(Finding::grid, 3, column_box(a, c), a, fmt::format("column {} of the reference is missing ({})", c + 1, shape));
  for (int c : unmatched(cols_b, columns, false))
    add(Finding::grid, 3, column_box(b, c), b, fmt::format("extra column {} ({})", c + 1, shape));

  std::vector<const Glyph*> all_glyphs;
  for (const TableView* v : {&a, &b})
    for (const auto& row : v->cells)
      for (const Cell& cell : row)
        for (const Glyph& g : cell.glyphs) all_glyphs.push_back(&g);
  const int cap = cap_height(all_glyphs);
  for (const auto& [ra, rb] : rows) {
    for (const auto& [ca, cb] : columns) {
      const Cell& x = a.cells[static_cast<size_t>(ra)][static_cast<size_t>(ca)];
      const Cell& y = b.cells[static_cast<size_t>(rb)][static_cast<size_t>(cb)];
      if (x.hash == y.hash) continue;
      const int edits = glyph_edit_distance(x.glyphs, y.glyphs);
      if (edits == 0) continue;
      const bool number = digit_like(x.glyphs.empty() ? y.glyphs : x.glyphs, cap);
      const char* what = x.glyphs.empty() ? "text added" : (y.glyphs.empty() ? "text missing" : "text differs");
      add(number ? Finding::numeric : Finding::text, edits >= options.cell_edit_severity ? 2 : 1, x.box, a,
          fmt::format("cell at row {}, column {}: {} ({} glyph edit{}; {} glyphs vs {} in the reference{})", ra + 1,
                      ca + 1, what, edits, edits == 1 ? "" : "s", y.glyphs.size(), x.glyphs.size(),
                      number ? "; reads as a number" : ""));
    }
  }
  return errors;
}

}  // namespace visrl::reward::pixel
