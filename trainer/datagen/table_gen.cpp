#include "trainer/datagen/table_gen.h"

#include <fmt/format.h>

namespace visrl::trainer::datagen {
namespace {

const char* html_align(char a) {
  return a == 'r' ? "right" : a == 'c' ? "center" : "left";
}

std::string markdown(const TableSpec& s) {
  auto row = [](const std::vector<std::string>& cells) {
    std::string out = "|";
    for (const auto& c : cells) out += " " + c + " |";
    return out + "\n";
  };
  std::string out = row(s.header) + "|";
  for (char a : s.align) out += a == 'l' ? " :--- |" : a == 'r' ? " ---: |" : " :---: |";
  out += "\n";
  for (const auto& r : s.rows) out += row(r);
  return out;
}

std::string html(const TableSpec& s) {
  std::string out = "<table>\n  <thead>\n";
  if (!s.groups.empty()) {
    out += "    <tr>";
    int column = 0;
    for (const auto& g : s.groups) {
      for (; column < g.start; ++column) out += "<th></th>";
      out += g.span > 1 ? fmt::format("<th colspan=\"{}\">{}</th>", g.span, xml_escape(g.label))
                        : fmt::format("<th>{}</th>", xml_escape(g.label));
      column += g.span;
    }
    for (; column < static_cast<int>(s.header.size()); ++column) out += "<th></th>";
    out += "</tr>\n";
  }
  out += "    <tr>";
  for (const auto& h : s.header) out += "<th>" + xml_escape(h) + "</th>";
  out += "</tr>\n  </thead>\n  <tbody>\n";
  for (size_t r = 0; r < s.rows.size(); ++r) {
    out += "    <tr>";
    for (size_t c = 0; c < s.rows[r].size(); ++c) {
      const auto cell = xml_escape(s.rows[r][c]);
      const auto style = fmt::format(" style=\"text-align: {}\"", html_align(s.align[c]));
      if (c == 0 && s.first_column_rowspan > 1) {
        if (r % static_cast<size_t>(s.first_column_rowspan) != 0) continue;  // covered by the span above
        const auto span = std::min<size_t>(static_cast<size_t>(s.first_column_rowspan), s.rows.size() - r);
        out += span > 1 ? fmt::format("<td rowspan=\"{}\"{}>{}</td>", span, style, cell)
                        : fmt::format("<td{}>{}</td>", style, cell);
        continue;
      }
      out += fmt::format("<td{}>{}</td>", style, cell);
    }
    out += "</tr>\n";
  }
  return out + "  </tbody>\n</table>\n";
}

}  // namespace

TableSpec random_table(Random& rng) {
  TableSpec s;
  s.html = rng.chance(0.4);
  const auto columns = rng.integer(3, 5);
  const auto rows = rng.integer(3, 7);
  const auto names = random_categories(rng, rows);
  const int decimals = rng.chance(0.5) ? 0 : 1;
  s.header.push_back(rng.pick(std::vector<std::string>{"Name", "Item", "Region", "Period", "Group"}));
  s.align.push_back('l');
  std::vector<bool> numeric{false};
  for (int64_t c = 1; c < columns; ++c) {
    s.header.push_back(random_word(rng) + (rng.chance(0.3) ? " (%)" : ""));
    numeric.push_back(rng.chance(0.75));
    s.align.push_back(numeric.back() ? (rng.chance(0.7) ? 'r' : 'c') : rng.pick(std::vector<char>{'l', 'c'}));
  }
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<std::string> row{names[static_cast<size_t>(r)]};
    for (int64_t c = 1; c < columns; ++c) {
      row.push_back(numeric[static_cast<size_t>(c)] ? format_number(rng.real(0, 1000), decimals) : random_word(rng));
    }
    s.rows.push_back(std::move(row));
  }
  if (s.html) {
    if (rng.chance(0.6)) {  // a group over two or more of the value columns
      TableSpec::Group g;
      g.label = random_word(rng);
      g.start = 1;
      g.span = static_cast<int>(rng.integer(2, columns - 1));
      s.groups.push_back(g);
    }
    if (rng.chance(0.4)) s.first_column_rowspan = 2;
  }
  return s;
}

std::string table_code(const TableSpec& spec) {
  return spec.html ? html(spec) : markdown(spec);
}

}  // namespace visrl::trainer::datagen
