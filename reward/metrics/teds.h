// TEDS and TEDS-S of two tables (Zhong et al. 2020, PubTabNet's metric), as OmniDocBench and
// the Visual-ERM paper report for table-to-markdown.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace visrl::reward {

struct TedsScore {
  double teds = 0;          // structure + cell content
  double teds_s = 0;        // structure only
  bool pred_found = false;  // a table was found in the prediction
  bool ref_found = false;
  // True when the cell pairs exceeded TedsLimits::max_content_pairs: TEDS then charges 1 for
  // any two different cell texts (a lower bound of the exact TEDS). TEDS-S is always exact.
  bool approximate = false;
  std::string reason;  // why the score is 0 without a comparison; "" when compared
};

struct TedsLimits {
  // Per table, as the renderer's TableLimits::max_cells counts them (grid cells covered);
  // a larger table counts as not found. Rows are at most this many too, so a tree has at
  // most 2 * max_cells nodes (20,000 by default) below its root.
  int64_t max_cells = 10000;
  // Above this many cell pairs (cells of pred x cells of ref), TEDS uses the same_text cell
  // cost instead of the Levenshtein one. Measured: ~46 ns a pair of 7-character cells, so
  // 10^7 pairs (about 3,000 x 3,000 cells) take ~0.5 s; two 10,000-cell tables take ~1.8 s
  // with same_text (TEDS and TEDS-S together) instead of ~5.3 s exact.
  int64_t max_content_pairs = 10'000'000;
};

// Tree-edit-distance similarity of two tables. `pred` and `ref` are answers or ground truths
// in markdown (GFM) or HTML holding a table, found as the table renderer finds it
// (render::find_table: the first table; invalid UTF-8 is replaced first).
//   TEDS = 1 - TED / max(nodes_pred, nodes_ref)
// with the tree, costs and node count of table_tree.h: rows and cells, thead/tbody/tfoot
// dropped, th as td, cell text as the renderer reads it (formatting tags dropped, HTML
// whitespace collapsed). No table in pred: 0 with pred_found false; none in ref: 0 with
// ref_found false. Never throws for bad input.
TedsScore teds(std::string_view pred, std::string_view ref);
TedsScore teds(std::string_view pred, std::string_view ref, const TedsLimits& limits);

}  // namespace visrl::reward
