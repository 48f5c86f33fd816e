// Synthetic tables: a random specification (header, rows of numbers and text, column
// alignment; for HTML also a group-header row with colspans and row-spanning first cells)
// and its Markdown or HTML source.
#pragma once

#include <string>
#include <vector>

#include "trainer/datagen/vocabulary.h"

namespace visrl::trainer::datagen {

struct TableSpec {
  bool html = false;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // [rows][columns], every row full width
  std::vector<char> align;                     // per column: 'l', 'c' or 'r'
  // HTML only. A row above the header grouping columns [start, start + span) under a label;
  // columns outside every group get an empty cell there.
  struct Group {
    std::string label;
    int start = 0;
    int span = 1;
  };
  std::vector<Group> groups;
  int first_column_rowspan = 1;  // HTML only: first-column cells span this many rows (1 = none)
};

TableSpec random_table(Random& rng);
std::string table_code(const TableSpec& spec);  // Markdown (a GFM pipe table) or HTML

}  // namespace visrl::trainer::datagen
