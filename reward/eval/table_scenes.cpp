// Markdown tables: a column of names, two to four number columns (integers, decimals,
// thousands separators), sometimes a column of status words.
//
// Severities: one digit of a number changed -> 1, the number replaced -> 2 (numeric_error);
// one letter of a word changed -> 1, the word replaced -> 2 (text_error); a row dropped or
// added -> 2, a column dropped or added -> 3 (layout_error).
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "reward/eval/scenes.h"

namespace visrl::reward::eval {

namespace {

enum class Format { integer, one_decimal, two_decimals, thousands };

struct Column {
  std::string name;
  bool numeric = true;
  Format format = Format::integer;
  std::string align;  // the markdown delimiter cell: "---", ":---", ":---:", "---:"
};

struct Table {
  std::vector<Column> columns;
  std::vector<std::vector<std::string>> rows;
};

const std::vector<std::string> kKeyNames = {"Item", "Name", "Product", "Region", "City", "Team"};
const std::vector<std::string> kNumberNames = {"Sales", "Cost",  "Units", "Price", "Share",  "Growth",
                                               "Total", "Score", "Rate",  "Count", "Margin", "Budget"};
const std::vector<std::string> kStatusNames = {"Status", "State", "Phase"};
const std::vector<std::string> kStatuses = {"open", "closed", "pending", "active", "paused", "ready", "failed"};

std::string number(Random& random, Format format) {
  switch (format) {
    case Format::integer:
      return fmt::format("{}", random.integer(1, 9999));
    case Format::one_decimal:
      return fmt::format("{}.{}", random.integer(0, 999), random.integer(0, 9));
    case Format::two_decimals:
      return fmt::format("{}.{:02d}", random.integer(0, 99), random.integer(0, 99));
    case Format::thousands:
      return fmt::format("{},{:03d}", random.integer(1, 99), random.integer(0, 999));
  }
  return "0";
}

std::string cell_value(Random& random, const Column& column) {
  return column.numeric ? number(random, column.format) : random.pick(kStatuses);
}

std::string emit(const Table& t, bool alt) {
  auto line = [&](const std::vector<std::string>& cells) {
    return alt ? fmt::format("|{}|\n", fmt::join(cells, "|")) : fmt::format("| {} |\n", fmt::join(cells, " | "));
  };
  std::vector<std::string> header, delimiter;
  for (const Column& c : t.columns) {
    header.push_back(c.name);
    std::string d = c.align;
    if (alt) d.insert(d.find('-'), "--");  // same alignment, longer delimiter
    delimiter.push_back(d);
  }
  std::string out = line(header) + line(delimiter);
  for (const auto& row : t.rows) out += line(row);
  return out;
}

Table make_table(Random& random) {
  Table t;
  t.columns.push_back(
      {random.pick(kKeyNames), false, Format::integer, random.pick(std::vector<std::string>{"---", ":---"})});
  std::vector<std::string> names = kNumberNames;
  random.shuffle(names);
  const int numbers = random.integer(2, 4);
  for (int i = 0; i < numbers; ++i)
    t.columns.push_back({names[static_cast<size_t>(i)], true, static_cast<Format>(random.integer(0, 3)),
                         random.pick(std::vector<std::string>{"---", "---:", ":---:"})});
  if (random.chance(0.3))
    t.columns.insert(t.columns.begin() + 1 + random.integer(0, numbers),
                     Column{random.pick(kStatusNames), false, Format::integer, "---"});
  std::vector<std::string> keys = nouns();
  random.shuffle(keys);
  const int rows = random.integer(3, 7);
  for (int r = 0; r < rows; ++r) {
    std::vector<std::string> row;
    for (size_t c = 0; c < t.columns.size(); ++c)
      row.push_back(c == 0 ? keys[static_cast<size_t>(r)] : cell_value(random, t.columns[c]));
    t.rows.push_back(row);
  }
  return t;
}

// Character edit distance, to make a replaced number differ in at least two places.
int edits(const std::string& a, const std::string& b) {
  std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

struct CellRef {
  int row = 0;  // -1 = header
  int column = 0;
};

std::string& at(Table& t, CellRef c) {
  return c.row < 0 ? t.columns[static_cast<size_t>(c.column)].name
                   : t.rows[static_cast<size_t>(c.row)][static_cast<size_t>(c.column)];
}

// Cells of the wanted kind, avoiding a row and a column that a layout change will remove.
std::vector<CellRef> cells(const Table& t, bool numeric, int skip_row, int skip_column) {
  std::vector<CellRef> out;
  for (int c = 0; c < static_cast<int>(t.columns.size()); ++c) {
    if (c == skip_column) continue;
    if (!numeric) out.push_back({-1, c});
    if (t.columns[static_cast<size_t>(c)].numeric != numeric) continue;
    for (int r = 0; r < static_cast<int>(t.rows.size()); ++r)
      if (r != skip_row) out.push_back({r, c});
  }
  return out;
}

InjectedError change_number(Random& random, Table& t, CellRef cell, bool heavy) {
  std::string& value = at(t, cell);
  const std::string before = value;
  if (!heavy && random.chance(0.5)) {
    std::vector<size_t> digits;
    for (size_t i = 0; i < value.size(); ++i)
      if (std::isdigit(static_cast<unsigned char>(value[i]))) digits.push_back(i);
    const size_t i = random.pick(digits);
    char d = value[i];
    while (d == value[i] || (i == 0 && d == '0' && value.size() > 1)) d = static_cast<char>('0' + random.integer(0, 9));
    value[i] = d;
    return {"numeric_error", 1, fmt::format("{} instead of {}", value, before)};
  }
  while (edits(value, before) < 2) value = number(random, t.columns[static_cast<size_t>(cell.column)].format);
  return {"numeric_error", 2, fmt::format("{} instead of {}", value, before)};
}

InjectedError change_word(Random& random, Table& t, CellRef cell, bool heavy) {
  std::string& value = at(t, cell);
  const std::string before = value;
  if (!heavy && random.chance(0.5)) {
    value = typo(random, before);
    return {"text_error", 1, fmt::format("\"{}\" instead of \"{}\"", value, before)};
  }
  std::vector<std::string> pool = cell.row < 0 ? kNumberNames : nouns();
  if (cell.row >= 0 && !t.columns[static_cast<size_t>(cell.column)].numeric && cell.column > 0) pool = kStatuses;
  value = other_word(random, pool, before);
  return {"text_error", 2, fmt::format("\"{}\" instead of \"{}\"", value, before)};
}

std::vector<std::string> new_row(Random& random, const Table& t) {
  std::vector<std::string> row;
  for (size_t c = 0; c < t.columns.size(); ++c)
    row.push_back(c == 0 ? random.pick(nouns()) : cell_value(random, t.columns[c]));
  return row;
}

}  // namespace

SceneSources table_triple(Random& random) {
  const Table table = make_table(random);
  SceneSources out;
  out.reference = emit(table, false);
  out.clean = emit(table, true);

  Table light = table;
  switch (random.integer(0, 2)) {
    case 0:
      out.light_errors.push_back(change_number(random, light, random.pick(cells(light, true, -2, -2)), false));
      break;
    case 1:
      out.light_errors.push_back(change_word(random, light, random.pick(cells(light, false, -2, -2)), false));
      break;
    default: {
      const int r = random.integer(0, static_cast<int>(light.rows.size()) - 1);
      if (random.chance(0.5)) {
        light.rows.erase(light.rows.begin() + r);
        out.light_errors.push_back({"layout_error", 2, fmt::format("row {} is missing", r + 1)});
      } else {
        light.rows.insert(light.rows.begin() + r, new_row(random, light));
        out.light_errors.push_back({"layout_error", 2, fmt::format("an extra row at {}", r + 1)});
      }
    }
  }
  out.light = emit(light, false);

  // Heavy: a layout change plus a changed number and a changed word elsewhere.
  Table heavy = table;
  const int layout = random.integer(0, 3);
  const int drop_row = layout == 0 ? random.integer(0, static_cast<int>(heavy.rows.size()) - 1) : -2;
  const int drop_column = layout == 1 ? random.integer(1, static_cast<int>(heavy.columns.size()) - 1) : -2;
  const std::vector<CellRef> numeric = cells(heavy, true, drop_row, drop_column);
  if (!numeric.empty()) out.heavy_errors.push_back(change_number(random, heavy, random.pick(numeric), true));
  out.heavy_errors.push_back(change_word(random, heavy, random.pick(cells(heavy, false, drop_row, drop_column)), true));
  switch (layout) {
    case 0:
      heavy.rows.erase(heavy.rows.begin() + drop_row);
      out.heavy_errors.push_back({"layout_error", 2, fmt::format("row {} is missing", drop_row + 1)});
      break;
    case 1:
      heavy.columns.erase(heavy.columns.begin() + drop_column);
      for (auto& row : heavy.rows) row.erase(row.begin() + drop_column);
      out.heavy_errors.push_back({"layout_error", 3, fmt::format("column {} is missing", drop_column + 1)});
      break;
    case 2: {
      Column extra{random.pick(kNumberNames), true, static_cast<Format>(random.integer(0, 3)), "---:"};
      heavy.columns.push_back(extra);
      for (auto& row : heavy.rows) row.push_back(cell_value(random, extra));
      out.heavy_errors.push_back({"layout_error", 3, "an extra column"});
      break;
    }
    default: {
      const int r = random.integer(0, static_cast<int>(heavy.rows.size()));
      heavy.rows.insert(heavy.rows.begin() + r, new_row(random, heavy));
      out.heavy_errors.push_back({"layout_error", 2, fmt::format("an extra row at {}", r + 1)});
    }
  }
  out.heavy = emit(heavy, false);
  return out;
}

}  // namespace visrl::reward::eval
