// Tables compared cell by cell: the grid, missing and extra rows and columns, changed numbers
// and words, and through pixel_compare the same categories.
#include "reward/pixel/table_compare.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "render/table/table_renderer.h"
#include "reward/pixel/pixel_critic.h"
#include "tests/reward/pixel/describe_errors.h"

namespace visrl::reward::pixel {
namespace {

render::RgbImage table_image(const std::string& markdown) {
  render::RenderResult r = render::render_table(markdown, render::TableRenderOptions{});
  EXPECT_TRUE(r.ok()) << r.reason;
  return r.image;
}

const char* const kTable =
    "| Item | Sales | Cost |\n"
    "| --- | ---: | ---: |\n"
    "| apple | 1204 | 88.5 |\n"
    "| cedar | 310 | 12.25 |\n"
    "| maple | 4711 | 903.1 |\n";

std::string with(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TEST(TableGrid, FindsRowsAndColumnsOfARenderedTable) {
  const auto grid = find_table_grid(table_image(kTable), PixelCriticOptions{});
  ASSERT_TRUE(grid.has_value());
  EXPECT_EQ(grid->rows(), 4);  // header + 3
  EXPECT_EQ(grid->columns(), 3);
  const Box cell = grid->cell(1, 1);
  EXPECT_GT(cell.width(), 10);
  EXPECT_GT(cell.height(), 10);
  // No grid in a drawing without rules.
  render::RgbImage blank;
  blank.width = blank.height = 20;
  blank.rgb.assign(20 * 20 * 3, 255);
  EXPECT_FALSE(find_table_grid(blank, PixelCriticOptions{}).has_value());
}

TEST(TableCompare, IdenticalTablesGiveNoErrors) {
  const auto errors = compare_table(table_image(kTable), table_image(kTable), PixelCriticOptions{});
  ASSERT_TRUE(errors.has_value());
  EXPECT_TRUE(errors->empty()) << describe(*errors);
}

TEST(TableCompare, ChangedNumbersAreNumericErrors) {
  const auto reference = table_image(kTable);
  // One digit: one glyph edit, severity 1; the column widths do not matter.
  auto errors = compare_table(reference, table_image(with(kTable, "310", "315")), PixelCriticOptions{});
  ASSERT_TRUE(errors.has_value());
  ASSERT_EQ(errors->size(), 1u) << describe(*errors);
  EXPECT_EQ((*errors)[0].category, "numeric_error");
  EXPECT_EQ((*errors)[0].severity, 1);
  EXPECT_NE((*errors)[0].description.find("row 3, column 2"), std::string::npos) << (*errors)[0].description;
  EXPECT_NE((*errors)[0].description.find("1 glyph edit"), std::string::npos);
  // A number replaced by a longer one: severity 2.
  errors = compare_table(reference, table_image(with(kTable, "88.5", "123456.78")), PixelCriticOptions{});
  ASSERT_EQ(errors->size(), 1u) << describe(*errors);
  EXPECT_EQ((*errors)[0].category, "numeric_error");
  EXPECT_EQ((*errors)[0].severity, 2);
}

TEST(TableCompare, ChangedWordsAreTextErrors) {
  const auto reference = table_image(kTable);
  auto errors = compare_table(reference, table_image(with(kTable, "cedar", "cedor")), PixelCriticOptions{});
  ASSERT_EQ(errors->size(), 1u) << describe(*errors);
  EXPECT_EQ((*errors)[0].category, "text_error");
  EXPECT_EQ((*errors)[0].severity, 1);
  errors = compare_table(reference, table_image(with(kTable, "Sales", "Margin")), PixelCriticOptions{});
  ASSERT_EQ(errors->size(), 1u) << describe(*errors);
  EXPECT_EQ((*errors)[0].category, "text_error");
  EXPECT_EQ((*errors)[0].severity, 2);
  // An emptied cell: text missing.
  errors = compare_table(reference, table_image(with(kTable, "| maple |", "|  |")), PixelCriticOptions{});
  ASSERT_EQ(errors->size(), 1u) << describe(*errors);
  EXPECT_NE((*errors)[0].description.find("text missing"), std::string::npos);
}

TEST(TableCompare, MissingAndExtraRowsAndColumnsAreLayoutErrors) {
  const auto reference = table_image(kTable);
  auto errors =
      compare_table(reference, table_image(with(kTable, "| cedar | 310 | 12.25 |\n", "")), PixelCriticOptions{});
  ASSERT_EQ(errors->size(), 1u) << describe(*errors);
  EXPECT_EQ((*errors)[0].category, "layout_error");
  EXPECT_EQ((*errors)[0].severity, 2);
  EXPECT_NE((*errors)[0].description.find("row 3 of the reference is missing"), std::string::npos)
      << (*errors)[0].description;
  errors = compare_table(reference, table_image(std::string(kTable) + "| zinc | 7 | 1.5 |\n"), PixelCriticOptions{});
  ASSERT_EQ(errors->size(), 1u) << describe(*errors);
  EXPECT_NE((*errors)[0].description.find("extra row 5"), std::string::npos) << (*errors)[0].description;
  const std::string no_cost = "| Item | Sales |\n| --- | ---: |\n| apple | 1204 |\n| cedar | 310 |\n| maple | 4711 |\n";
  errors = compare_table(reference, table_image(no_cost), PixelCriticOptions{});
  ASSERT_EQ(errors->size(), 1u) << describe(*errors);
  EXPECT_EQ((*errors)[0].category, "layout_error");
  EXPECT_EQ((*errors)[0].severity, 3);
  EXPECT_NE((*errors)[0].description.find("column 3 of the reference is missing"), std::string::npos);
  // Both at once: the row and the changed number are told apart.
  errors = compare_table(reference, table_image(with(with(kTable, "| apple | 1204 | 88.5 |\n", ""), "4711", "4712")),
                         PixelCriticOptions{});
  ASSERT_EQ(errors->size(), 2u) << describe(*errors);
  EXPECT_EQ((*errors)[0].category, "layout_error");
  EXPECT_EQ((*errors)[1].category, "numeric_error");
}

TEST(TableCompare, PixelCompareUsesTheGridAndFallsBackWithoutOne) {
  const auto reference = table_image(kTable);
  const auto errors = pixel_compare(Task::table, reference, table_image(with(kTable, "4711", "4811")));
  ASSERT_EQ(errors.size(), 1u) << describe(errors);
  EXPECT_EQ(errors[0].category, "numeric_error");
  EXPECT_FALSE(errors[0].location.empty());
  // Without rules (a plain text render) the scene comparison speaks table categories.
  render::RgbImage plain = reference;
  for (size_t i = 0; i < plain.rgb.size(); i += 3)
    if (plain.rgb[i] == plain.rgb[i + 1] && plain.rgb[i] > 100 && plain.rgb[i] < 200)
      plain.rgb[i] = plain.rgb[i + 1] = plain.rgb[i + 2] = 255;  // erase the grey rules
  ASSERT_FALSE(find_table_grid(plain, PixelCriticOptions{}).has_value());
  render::RgbImage blotted = plain;
  for (int y = 5; y < 25; ++y)
    for (int x = 5; x < 25; ++x) blotted.rgb[(static_cast<size_t>(y) * blotted.width + x) * 3 + 1] = 0;
  for (const auto& e : pixel_compare(Task::table, plain, blotted)) EXPECT_TRUE(is_category(Task::table, e.category));
  EXPECT_FALSE(pixel_compare(Task::table, plain, blotted).empty());
}

}  // namespace
}  // namespace visrl::reward::pixel
