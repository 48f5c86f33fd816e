// TEDS against the apted reference (tables.json), a textbook Zhang-Shasha on random tables,
// and hand-computed cases.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "render/table/table_model.h"
#include "reward/metrics/levenshtein.h"
#include "reward/metrics/table_tree.h"
#include "reward/metrics/teds.h"
#include "tests/reward/metrics/metrics_test_util.h"

namespace visrl::reward {
namespace {

using render::Cell;
using render::Row;
using render::Table;

Cell make_cell(std::string text, int colspan = 1, int rowspan = 1) {
  Cell c;
  if (!text.empty()) c.runs.push_back(render::Run{std::move(text), 0});
  c.colspan = colspan;
  c.rowspan = rowspan;
  return c;
}

Table make_table(const std::vector<std::vector<std::string>>& rows) {
  Table t;
  for (const auto& texts : rows) {
    Row row;
    for (const auto& text : texts) row.cells.push_back(make_cell(text));
    t.rows.push_back(std::move(row));
    t.columns = std::max(t.columns, static_cast<int>(texts.size()));
  }
  return t;
}

// ---- A textbook Zhang-Shasha (1989) on explicit trees, as an oracle for the fixed-shape DP.

struct Node {
  int kind = 0;  // 0 table, 1 tr, 2 td
  int colspan = 1;
  int rowspan = 1;
  std::vector<char32_t> text;
  std::vector<int> children;
};

struct Tree {
  std::vector<Node> nodes;  // postorder
  std::vector<int> lml;     // leftmost leaf of each node's subtree
};

Tree tree_of(const Table& t) {
  Tree tree;
  for (const Row& row : t.rows) {
    const int first = static_cast<int>(tree.nodes.size());
    Node tr;
    tr.kind = 1;
    for (const Cell& c : row.cells) {
      tr.children.push_back(static_cast<int>(tree.nodes.size()));
      tree.lml.push_back(static_cast<int>(tree.nodes.size()));
      tree.nodes.push_back(Node{2, c.colspan, c.rowspan, to_code_points(c.text()), {}});
    }
    tree.lml.push_back(row.cells.empty() ? static_cast<int>(tree.nodes.size()) : first);
    tree.nodes.push_back(tr);
  }
  tree.lml.push_back(tree.nodes.empty() ? 0 : tree.lml.front());
  tree.nodes.push_back(Node{0, 1, 1, {}, {}});
  return tree;
}

double rename_cost(const Node& a, const Node& b, bool content) {
  if (a.kind != b.kind) return 1.0;
  if (a.kind != 2) return 0.0;
  if (a.colspan != b.colspan || a.rowspan != b.rowspan) return 1.0;
  if (!content || (a.text.empty() && b.text.empty())) return 0.0;
  return static_cast<double>(levenshtein(a.text, b.text)) / static_cast<double>(std::max(a.text.size(), b.text.size()));
}

double zhang_shasha(const Tree& t1, const Tree& t2, bool content) {
  const auto keyroots = [](const Tree& t) {
    std::map<int, int> highest;
    for (int i = 0; i < static_cast<int>(t.nodes.size()); ++i) highest[t.lml[static_cast<size_t>(i)]] = i;
    std::vector<int> out;
    for (const auto& [leaf, node] : highest) out.push_back(node);
    std::sort(out.begin(), out.end());
    return out;
  };
  const size_t n1 = t1.nodes.size();
  const size_t n2 = t2.nodes.size();
  std::vector<std::vector<double>> td(n1, std::vector<double>(n2, 0.0));
  for (const int k1 : keyroots(t1)) {
    for (const int k2 : keyroots(t2)) {
      const int l1 = t1.lml[static_cast<size_t>(k1)];
      const int l2 = t2.lml[static_cast<size_t>(k2)];
      const int rows = k1 - l1 + 2;
      const int cols = k2 - l2 + 2;
      std::vector<std::vector<double>> fd(static_cast<size_t>(rows), std::vector<double>(static_cast<size_t>(cols)));
      for (int i = 1; i < rows; ++i) fd[i][0] = fd[i - 1][0] + 1;
      for (int j = 1; j < cols; ++j) fd[0][j] = fd[0][j - 1] + 1;
      for (int i = 1; i < rows; ++i) {
        for (int j = 1; j < cols; ++j) {
          const int x = l1 + i - 1;
          const int y = l2 + j - 1;
          const double del = fd[i - 1][j] + 1;
          const double ins = fd[i][j - 1] + 1;
          if (t1.lml[x] == l1 && t2.lml[y] == l2) {
            fd[i][j] = std::min({del, ins, fd[i - 1][j - 1] + rename_cost(t1.nodes[x], t2.nodes[y], content)});
            td[x][y] = fd[i][j];
          } else {
            fd[i][j] = std::min({del, ins, fd[t1.lml[x] - l1][t2.lml[y] - l2] + td[x][y]});
          }
        }
      }
    }
  }
  return td[n1 - 1][n2 - 1];
}

Table random_table(std::mt19937& rng) {
  const std::vector<std::string> texts = {"", "a", "ab", "abc", "b", "ba", "表", "表格", "1.5", "15"};
  Table t;
  const int rows = std::uniform_int_distribution<int>(0, 6)(rng);
  for (int r = 0; r < rows; ++r) {
    Row row;
    const int cells = std::uniform_int_distribution<int>(0, 5)(rng);
    for (int c = 0; c < cells; ++c) {
      const int colspan = rng() % 6 == 0 ? 2 : 1;
      const int rowspan = rng() % 8 == 0 ? 2 : 1;
      row.cells.push_back(make_cell(texts[rng() % texts.size()], colspan, rowspan));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

TEST(TableTree, MatchesZhangShashaOnRandomTables) {
  std::mt19937 rng(2024);
  for (int trial = 0; trial < 1500; ++trial) {
    const Table a = random_table(rng);
    const Table b = trial % 5 == 0 ? a : random_table(rng);
    const Tree ta = tree_of(a);
    const Tree tb = tree_of(b);
    ASSERT_NEAR(table_tree_distance(a, b, CellCost::content), zhang_shasha(ta, tb, true), 1e-12) << "trial " << trial;
    ASSERT_NEAR(table_tree_distance(a, b, CellCost::structure), zhang_shasha(ta, tb, false), 1e-12)
        << "trial " << trial;
  }
}

TEST(TableTree, HandComputedDistances) {
  const Table base = make_table({{"a", "b"}, {"c", "dddd"}});
  EXPECT_EQ(teds_node_count(base), 6);
  EXPECT_DOUBLE_EQ(table_tree_distance(base, base, CellCost::content), 0.0);
  // One cell replaced: one rename of cost 1 (texts share nothing).
  EXPECT_DOUBLE_EQ(table_tree_distance(make_table({{"a", "b"}, {"x", "dddd"}}), base, CellCost::content), 1.0);
  EXPECT_DOUBLE_EQ(table_tree_distance(make_table({{"a", "b"}, {"x", "dddd"}}), base, CellCost::structure), 0.0);
  // One character of four: 1/4.
  EXPECT_DOUBLE_EQ(table_tree_distance(make_table({{"a", "b"}, {"c", "dxdd"}}), base, CellCost::content), 0.25);
  // An extra row of two cells: three inserts.
  EXPECT_DOUBLE_EQ(table_tree_distance(make_table({{"a", "b"}, {"c", "dddd"}, {"e", "f"}}), base, CellCost::content),
                   3.0);
  // A colspan change is a rename of cost 1 whatever the text.
  Table spanned = base;
  spanned.rows[0].cells[1].colspan = 2;
  EXPECT_DOUBLE_EQ(table_tree_distance(spanned, base, CellCost::structure), 1.0);
  EXPECT_DOUBLE_EQ(table_tree_distance(spanned, base, CellCost::content), 1.0);
  // Empty cells on both sides cost nothing; against a filled cell they cost 1.
  EXPECT_DOUBLE_EQ(table_tree_distance(make_table({{"", ""}}), make_table({{"", ""}}), CellCost::content), 0.0);
  EXPECT_DOUBLE_EQ(table_tree_distance(make_table({{"", "x"}}), make_table({{"", ""}}), CellCost::content), 1.0);
  // same_text charges a whole rename for a one-character difference.
  EXPECT_DOUBLE_EQ(table_tree_distance(make_table({{"a", "b"}, {"c", "dxdd"}}), base, CellCost::same_text), 1.0);
}

TEST(Teds, MatchesAptedReferenceOnFixtures) {
  const nlohmann::json cases = test::metrics_fixture("tables.json");
  ASSERT_GE(cases.size(), 40u);
  int compared = 0;
  double worst = 0;
  for (const auto& c : cases) {
    std::vector<std::string> preds = c.at("pred_html");
    std::vector<std::string> refs = c.at("ref_html");
    if (c.contains("pred_md")) {
      for (const auto& md : c.at("pred_md")) preds.push_back(md);
      for (const auto& md : c.at("ref_md")) refs.push_back(md);
    }
    for (const auto& pred : preds) {
      for (const auto& ref : refs) {
        SCOPED_TRACE(fmt::format("{}\npred: {}\nref: {}", c.at("name").get<std::string>(), pred, ref));
        const TedsScore s = teds(pred, ref);
        ASSERT_TRUE(s.pred_found && s.ref_found) << s.reason;
        EXPECT_FALSE(s.approximate);
        EXPECT_NEAR(s.teds, c.at("teds").get<double>(), 1e-9);
        EXPECT_NEAR(s.teds_s, c.at("teds_s").get<double>(), 1e-9);
        worst = std::max(
            {worst, std::abs(s.teds - c.at("teds").get<double>()), std::abs(s.teds_s - c.at("teds_s").get<double>())});
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 500);
  std::cout << "[ fixtures ] " << compared << " TEDS comparisons, largest difference " << worst << "\n";
}

constexpr const char* kTable = "| Name | Q1 |\n|---|---|\n| Alpha | 12.5 |\n| Beta | 7.25 |\n";

TEST(Teds, HandComputedScores) {
  const TedsScore same = teds(kTable, kTable);
  EXPECT_TRUE(same.pred_found && same.ref_found);
  EXPECT_DOUBLE_EQ(same.teds, 1.0);
  EXPECT_DOUBLE_EQ(same.teds_s, 1.0);
  EXPECT_EQ(same.reason, "");
  // 9 nodes (3 rows + 6 cells); "7.25" -> "7.26" costs 1/4.
  const TedsScore typo = teds("| Name | Q1 |\n|---|---|\n| Alpha | 12.5 |\n| Beta | 7.26 |\n", kTable);
  EXPECT_NEAR(typo.teds, 1.0 - 0.25 / 9, 1e-12);
  EXPECT_DOUBLE_EQ(typo.teds_s, 1.0);
  // A fourth row: 3 inserts over max(12, 9) nodes.
  const TedsScore extra = teds(fmt::format("{}| Gamma | 1 |\n", kTable), kTable);
  EXPECT_NEAR(extra.teds, 1.0 - 3.0 / 12, 1e-12);
  EXPECT_NEAR(extra.teds_s, 1.0 - 3.0 / 12, 1e-12);
  // A colspan: HTML against the markdown table.
  const TedsScore span = teds(
      "<table><tr><th>Name</th><th>Q1</th></tr><tr><td colspan=\"2\">Alpha</td></tr>"
      "<tr><td>Beta</td><td>7.25</td></tr></table>",
      kTable);
  // Alpha's cell renamed (span differs: 1), "12.5" deleted (1): 2 / 9.
  EXPECT_NEAR(span.teds, 1.0 - 2.0 / 9, 1e-12);
  EXPECT_NEAR(span.teds_s, 1.0 - 2.0 / 9, 1e-12);
}

TEST(Teds, MissingTablesScoreZeroAndSayWhy) {
  const TedsScore no_pred = teds("I cannot read this table.", kTable);
  EXPECT_FALSE(no_pred.pred_found);
  EXPECT_TRUE(no_pred.ref_found);
  EXPECT_EQ(no_pred.teds, 0.0);
  EXPECT_EQ(no_pred.teds_s, 0.0);
  EXPECT_EQ(no_pred.reason, "prediction: no table found");

  const TedsScore no_ref = teds(kTable, "");
  EXPECT_TRUE(no_ref.pred_found);
  EXPECT_FALSE(no_ref.ref_found);
  EXPECT_EQ(no_ref.teds, 0.0);
  EXPECT_EQ(no_ref.reason, "reference: no table found");

  const TedsScore none = teds("", "");
  EXPECT_FALSE(none.pred_found || none.ref_found);
  EXPECT_EQ(none.teds, 0.0);
}

TEST(Teds, HostileInputDoesNotCrash) {
  // Invalid UTF-8 in a cell is replaced (U+FFFD) before parsing.
  const std::string bad = "| a |\n|---|\n| \xff\xfe |\n";
  const TedsScore s = teds(bad, bad);
  EXPECT_TRUE(s.pred_found && s.ref_found);
  EXPECT_DOUBLE_EQ(s.teds, 1.0);
  // Truncated HTML still parses as far as it goes.
  EXPECT_TRUE(teds("<table><tr><td>1<td>2", "<table><tr><td>1</td><td>2</td></tr></table>").pred_found);
  EXPECT_DOUBLE_EQ(teds("<table><tr><td>1<td>2", "<table><tr><td>1</td><td>2</td></tr></table>").teds, 1.0);
  // A table over the cell limit counts as not found, with the parser's reason.
  TedsLimits limits;
  limits.max_cells = 4;
  const TedsScore big = teds(kTable, kTable, limits);
  EXPECT_FALSE(big.ref_found);
  EXPECT_NE(big.reason.find("max_cells"), std::string::npos) << big.reason;
  EXPECT_EQ(big.teds, 0.0);
}

TEST(Teds, ManyCellPairsUseTheSameTextCostAndSayIt) {
  const std::string typo = "| Name | Q1 |\n|---|---|\n| Alpha | 12.5 |\n| Beta | 7.26 |\n";
  TedsLimits limits;
  limits.max_content_pairs = 35;  // 6 x 6 cells = 36 pairs
  const TedsScore exact = teds(typo, kTable);
  const TedsScore coarse = teds(typo, kTable, limits);
  EXPECT_FALSE(exact.approximate);
  EXPECT_TRUE(coarse.approximate);
  EXPECT_NEAR(coarse.teds, 1.0 - 1.0 / 9, 1e-12);  // the one changed cell costs 1
  EXPECT_LT(coarse.teds, exact.teds);
  EXPECT_DOUBLE_EQ(coarse.teds_s, exact.teds_s);
}

// Damaged answers (bytes flipped, cut, duplicated) parse as far as they go; scores stay in
// [0, 1] and content can only lower them: TEDS <= TEDS-S.
TEST(Teds, DamagedAnswersStayInRange) {
  const std::string html =
      "<table><thead><tr><th>Region</th><th colspan=\"2\">Sales</th></tr></thead>"
      "<tbody><tr><td rowspan=\"2\">North</td><td>10</td><td>12</td></tr><tr><td>8</td><td>9</td></tr></tbody></table>";
  const std::string md = fmt::format("Answer:\n\n{}\nDone.", kTable);
  const std::string noise = "|<>-:\\`*\n\xff\xe4 ";
  std::mt19937 rng(77);
  for (int trial = 0; trial < 600; ++trial) {
    std::string text = trial % 2 == 0 ? html : md;
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[at] = noise[rng() % noise.size()];
          break;
        case 1:
          text.erase(at, 1 + rng() % 8);
          break;
        default:
          text.insert(at, text.substr(at, rng() % 12));
          break;
      }
    }
    const TedsScore s = teds(text, trial % 2 == 0 ? html : md);
    ASSERT_TRUE(s.ref_found);
    ASSERT_GE(s.teds, 0.0) << text;
    ASSERT_LE(s.teds, s.teds_s + 1e-12) << text;
    ASSERT_LE(s.teds_s, 1.0) << text;
    if (!s.pred_found) {
      ASSERT_EQ(s.teds_s, 0.0);
    }
  }
}

// rows x cols markdown table of numbers; `changes` cells rewritten and one row dropped in
// the "pred" version.
std::string numbers_table(int rows, int cols, uint32_t seed, int changes, bool drop_row) {
  std::mt19937 rng(seed);
  std::vector<std::vector<std::string>> cells(static_cast<size_t>(rows),
                                              std::vector<std::string>(static_cast<size_t>(cols)));
  for (auto& row : cells) {
    for (auto& c : row) c = fmt::format("{:.2f}", std::uniform_real_distribution<double>(0, 10000)(rng));
  }
  std::mt19937 edits(seed + 1);
  for (int k = 0; k < changes; ++k) cells[edits() % rows][edits() % cols] = fmt::format("{}", edits() % 1000);
  if (drop_row) cells.erase(cells.begin() + rows / 2);
  std::string md;
  for (size_t r = 0; r < cells.size(); ++r) {
    md += "|";
    for (const auto& c : cells[r]) md += fmt::format(" {} |", c);
    md += "\n";
    if (r == 0) {
      md += "|";
      for (int c = 0; c < cols; ++c) md += "---|";
      md += "\n";
    }
  }
  return md;
}

TEST(Teds, Timing50x20) {
  const std::string ref = numbers_table(50, 20, 7, 0, false);
  const std::string pred = numbers_table(50, 20, 7, 40, true);
  TedsScore s;
  const double ms = test::milliseconds_of([&] { s = teds(pred, ref); });
  std::cout << "[ timing ] teds of a 50x20 table pair (parse + TEDS + TEDS-S): " << ms << " ms, TEDS " << s.teds
            << ", TEDS-S " << s.teds_s << "\n";
  ASSERT_TRUE(s.pred_found && s.ref_found);
  EXPECT_FALSE(s.approximate);
  // One row of 20 cells dropped: TEDS-S is exactly 1 - 21 / 1050.
  EXPECT_NEAR(s.teds_s, 1.0 - 21.0 / 1050.0, 1e-12);
  EXPECT_LT(s.teds, s.teds_s);
  EXPECT_GT(s.teds, 0.9);
}

TEST(Teds, TenThousandCellTablesFinish) {
  const std::string ref = numbers_table(100, 100, 11, 0, false);
  const std::string pred = numbers_table(100, 100, 12, 0, false);  // every cell different
  TedsScore s;
  const double ms = test::milliseconds_of([&] { s = teds(pred, ref); });
  std::cout << "[ timing ] teds of two 100x100 tables (10^8 cell pairs, same_text cost): " << ms << " ms\n";
  ASSERT_TRUE(s.pred_found && s.ref_found) << s.reason;
  EXPECT_TRUE(s.approximate);
  EXPECT_DOUBLE_EQ(s.teds_s, 1.0);
  EXPECT_LT(s.teds, 0.2);
}

}  // namespace
}  // namespace visrl::reward
