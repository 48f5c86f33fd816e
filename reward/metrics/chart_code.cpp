#include "reward/metrics/chart_code.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <vector>

namespace visrl::reward {
namespace {

// matplotlib's default property cycle (tab10), which C0..C9 name.
constexpr const char* kCycle[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr const char* kTabNames[] = {"blue",  "orange", "green", "red",   "purple",
                                     "brown", "pink",   "gray",  "olive", "cyan"};

// The plot calls and what they draw. Lines and patches take their default colours from two
// separate cycles (Axes._get_lines and Axes._get_patches_for_fill).
struct PlotCall {
  const char* kind;
  bool patch_cycle;
};
const std::map<std::string, PlotCall, std::less<>> kPlotCalls = {
    {"bar", {"bar", true}},    {"barh", {"barh", true}},         {"plot", {"line", false}},
    {"step", {"line", false}}, {"errorbar", {"line", false}},    {"scatter", {"scatter", true}},
    {"pie", {"pie", true}},    {"fill_between", {"area", true}}, {"stackplot", {"area", true}},
    {"hist", {"hist", false}}, {"boxplot", {"box", false}},
};

bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// The end of the string literal starting at `i` (one past its closing quote).
size_t skip_string(std::string_view s, size_t i) {
  const char q = s[i];
  const bool triple = s.substr(i, 3) == std::string(3, q);
  size_t j = i + (triple ? 3 : 1);
  while (j < s.size()) {
    if (s[j] == '\\') {
      j += 2;
      continue;
    }
    if (triple ? s.substr(j, 3) == std::string(3, q) : s[j] == q) return j + (triple ? 3 : 1);
    if (!triple && s[j] == '\n') return j;
    ++j;
  }
  return s.size();
}

// Where the bracket opened just before `i` closes (the index of the closer), or npos.
size_t matching_close(std::string_view s, size_t i) {
  int depth = 1;
  for (size_t j = i; j < s.size(); ++j) {
    const char c = s[j];
    if (c == '\'' || c == '"') {
      j = skip_string(s, j) - 1;
    } else if (c == '#') {
      while (j < s.size() && s[j] != '\n') ++j;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      if (--depth == 0) return j;
    }
  }
  return std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The top-level comma-separated pieces of `s` (an argument list or a list literal's inside).
std::vector<std::string_view> split_top(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  int depth = 0;
  for (size_t j = 0; j < s.size(); ++j) {
    const char c = s[j];
    if (c == '\'' || c == '"') {
      j = skip_string(s, j) - 1;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 0) {
      out.push_back(trim(s.substr(start, j - start)));
      start = j + 1;
    }
  }
  if (auto last = trim(s.substr(start)); !last.empty()) out.push_back(last);
  return out;
}

struct Args {
  std::vector<std::string_view> positional;
  std::map<std::string, std::string_view, std::less<>> keywords;
};

Args parse_args(std::string_view text) {
  Args a;
  for (auto piece : split_top(text)) {
    size_t k = 0;
    while (k < piece.size() && ident_char(piece[k])) ++k;
    size_t e = k;
    while (e < piece.size() && piece[e] == ' ') ++e;
    if (k > 0 && e < piece.size() && piece[e] == '=' && (e + 1 >= piece.size() || piece[e + 1] != '=')) {
      a.keywords[std::string(piece.substr(0, k))] = trim(piece.substr(e + 1));
    } else {
      a.positional.push_back(piece);
    }
  }
  return a;
}

// name = value at the start of a line, by position: the binding a later call sees.
struct Binding {
  size_t at;
  std::string_view value;
};
using Bindings = std::map<std::string, std::vector<Binding>, std::less<>>;

Bindings find_bindings(std::string_view code) {
  Bindings b;
  size_t line = 0;
  while (line < code.size()) {
    size_t i = line;
    while (i < code.size() && (code[i] == ' ' || code[i] == '\t')) ++i;
    // One name, or several unpacked from one value ("categories, values = zip(...)").
    std::vector<std::string_view> names;
    size_t e = i;
    for (;;) {
      size_t k = e;
      while (k < code.size() && ident_char(code[k])) ++k;
      if (k == e) break;
      names.push_back(code.substr(e, k - e));
      e = k;
      while (e < code.size() && code[e] == ' ') ++e;
      if (e >= code.size() || code[e] != ',') break;
      ++e;
      while (e < code.size() && code[e] == ' ') ++e;
    }
    size_t next = code.find('\n', line);
    if (!names.empty() && e < code.size() && code[e] == '=' && (e + 1 >= code.size() || code[e + 1] != '=')) {
      // The value runs to the end of the logical line: brackets may span lines.
      size_t j = e + 1;
      int depth = 0;
      for (; j < code.size(); ++j) {
        const char c = code[j];
        if (c == '\'' || c == '"') {
          j = skip_string(code, j) - 1;
        } else if (c == '(' || c == '[' || c == '{') {
          ++depth;
        } else if (c == ')' || c == ']' || c == '}') {
          --depth;
        } else if (c == '\n' && depth <= 0) {
          break;
        }
      }
      const auto value = trim(code.substr(e + 1, j - e - 1));
      // Unpacked names each get the value when it is zip(...) of pairs (as long as the pairs);
      // other unpackings are not followed.
      if (names.size() == 1 || value.substr(0, 4) == "zip(") {
        for (auto name : names) b[std::string(name)].push_back({i, value});
      }
      next = j;
    }
    if (next == std::string_view::npos) break;
    line = next + 1;
  }
  return b;
}

// `value` with a name replaced by what it was last bound to before `at` (twice at most).
std::string_view resolve(std::string_view value, const Bindings& bindings, size_t at) {
  for (int hop = 0; hop < 2; ++hop) {
    const auto it = bindings.find(value);
    if (it == bindings.end()) break;
    const Binding* last = nullptr;
    for (const auto& b : it->second)
      if (b.at < at) last = &b;
    if (!last) break;
    value = last->value;
  }
  return value;
}

// The items of a list or tuple literal, also inside np.array(...) / list(...); for zip(...)
// of pairs (or *zip(...), the x and y of a call), the pairs.
std::optional<std::vector<std::string_view>> literal_items(std::string_view value) {
  if (!value.empty() && value.front() == '*') value.remove_prefix(1);
  if (value.substr(0, 4) == "zip(" && value.back() == ')' && matching_close(value, 4) == value.size() - 1) {
    const auto pairs = split_top(value.substr(4, value.size() - 5));
    if (!pairs.empty() &&
        std::all_of(pairs.begin(), pairs.end(), [](std::string_view p) { return !p.empty() && p.front() == '('; }))
      return pairs;
    return std::nullopt;
  }
  for (std::string_view wrapper : {"np.array(", "numpy.array(", "np.asarray(", "list(", "tuple("}) {
    if (value.substr(0, wrapper.size()) == wrapper && value.back() == ')') {
      value = trim(value.substr(wrapper.size(), value.size() - wrapper.size() - 1));
      break;
    }
  }
  if (value.size() < 2) return std::nullopt;
  if (!((value.front() == '[' && value.back() == ']') || (value.front() == '(' && value.back() == ')')))
    return std::nullopt;
  if (matching_close(value, 1) != value.size() - 1) return std::nullopt;  // e.g. "[1] + [2]"
  return split_top(value.substr(1, value.size() - 2));
}

std::optional<std::string> string_literal(std::string_view v) {
  if (v.size() < 2 || (v.front() != '\'' && v.front() != '"') || v.back() != v.front()) return std::nullopt;
  return std::string(v.substr(1, v.size() - 2));
}

// A colour string as "#rrggbb" where matplotlib's spelling is known, else "name:<lower case>".
std::string colour_of(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto hex = [](const std::string& s) {
    return std::all_of(s.begin() + 1, s.end(), [](unsigned char c) { return std::isxdigit(c); });
  };
  if (!text.empty() && text[0] == '#' && hex(text)) {
    if (text.size() == 4 || text.size() == 5) return {'#', text[1], text[1], text[2], text[2], text[3], text[3]};
    if (text.size() == 7 || text.size() == 9) return text.substr(0, 7);
  }
  if (text.size() == 2 && text[0] == 'c' && std::isdigit(static_cast<unsigned char>(text[1])))
    return kCycle[text[1] - '0'];
  if (text.rfind("tab:", 0) == 0) {
    for (int i = 0; i < 10; ++i)
      if (text.substr(4) == kTabNames[i] || (text.substr(4) == "grey" && i == 7)) return kCycle[i];
  }
  static const std::map<std::string, std::string, std::less<>> kBase = {
      {"b", "#0000ff"},     {"g", "#008000"},      {"r", "#ff0000"},       {"c", "#00bfbf"},      {"m", "#bf00bf"},
      {"y", "#bfbf00"},     {"k", "#000000"},      {"w", "#ffffff"},       {"blue", "#0000ff"},   {"green", "#008000"},
      {"red", "#ff0000"},   {"cyan", "#00ffff"},   {"magenta", "#ff00ff"}, {"yellow", "#ffff00"}, {"black", "#000000"},
      {"white", "#ffffff"}, {"orange", "#ffa500"}, {"purple", "#800080"},  {"gray", "#808080"},   {"grey", "#808080"},
      {"brown", "#a52a2a"}, {"pink", "#ffc0cb"}};
  if (const auto it = kBase.find(text); it != kBase.end()) return it->second;
  return "name:" + text;
}

// The colours a colour argument names: one string, or a list of strings; none otherwise
// (numbers mapped through a colour map).
std::vector<std::string> colours_of(std::string_view value, const Bindings& bindings, size_t at) {
  value = resolve(value, bindings, at);
  if (auto s = string_literal(value)) return {colour_of(*s)};
  std::vector<std::string> out;
  if (auto items = literal_items(value)) {
    for (auto item : *items)
      if (auto s = string_literal(item)) out.push_back(colour_of(*s));
  }
  return out;
}

// The colour letter of a plot format string ('r--', 'o-g'), if any.
std::optional<std::string> format_colour(std::string_view fmt) {
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] == 'C' && i + 1 < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[i + 1])))
      return kCycle[fmt[i + 1] - '0'];
    if (std::string_view("bgrcmykw").find(fmt[i]) != std::string_view::npos) return colour_of(std::string(1, fmt[i]));
  }
  return std::nullopt;
}

}  // namespace

ChartCodeSummary summarize_chart_code(std::string_view code) {
  ChartCodeSummary out;
  const Bindings bindings = find_bindings(code);
  size_t line_cycle = 0, patch_cycle = 0;
  const auto next_colour = [&](bool patch) { return std::string(kCycle[(patch ? patch_cycle++ : line_cycle++) % 10]); };
  bool counted_elements = false;
  for (size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    if (c == '\'' || c == '"') {
      i = skip_string(code, i) - 1;
      continue;
    }
    if (c == '#') {
      while (i < code.size() && code[i] != '\n') ++i;
      continue;
    }
    if (c != '.') continue;
    size_t k = i + 1;
    while (k < code.size() && ident_char(code[k])) ++k;
    size_t open = k;
    while (open < code.size() && code[open] == ' ') ++open;
    const auto call = kPlotCalls.find(code.substr(i + 1, k - i - 1));
    if (call == kPlotCalls.end() || open >= code.size() || code[open] != '(') continue;
    const size_t close = matching_close(code, open + 1);
    if (close == std::string_view::npos) break;
    const Args args = parse_args(code.substr(open + 1, close - open - 1));
    const std::string name(call->first);
    const PlotCall& plot = call->second;
    out.kinds.insert(plot.kind);

    // Series: one per call; stackplot draws one per y argument.
    const int64_t series =
        name == "stackplot" ? std::max<int64_t>(1, static_cast<int64_t>(args.positional.size()) - 1) : 1;
    out.series += name == "pie" ? 1 : series;

    // Bars of the first bar call (its heights, else its positions), slices of the first pie.
    std::optional<int64_t> elements;
    if (name == "bar" || name == "barh" || name == "pie") {
      std::vector<std::string_view> candidates;
      if (name == "pie") {
        if (!args.positional.empty()) candidates.push_back(args.positional[0]);
        if (auto it = args.keywords.find("x"); it != args.keywords.end()) candidates.push_back(it->second);
      } else {
        if (args.positional.size() > 1) candidates.push_back(args.positional[1]);
        for (const char* key : {"height", "width"})
          if (auto it = args.keywords.find(key); it != args.keywords.end()) candidates.push_back(it->second);
        if (!args.positional.empty()) candidates.push_back(args.positional[0]);
      }
      for (auto candidate : candidates) {
        if (auto items = literal_items(resolve(candidate, bindings, i))) {
          elements = static_cast<int64_t>(items->size());
          break;
        }
      }
      if (!counted_elements) {
        out.elements = elements;
        counted_elements = true;
      }
    }

    // Colours: the colour arguments, else a plot format string, else the default cycle.
    std::vector<std::string> colours;
    for (const char* key : {"color", "colors", "c", "facecolor"}) {
      if (auto it = args.keywords.find(key); it != args.keywords.end()) {
        colours = colours_of(it->second, bindings, i);
        if (!colours.empty()) break;
      }
    }
    const bool named_colour = std::any_of(args.keywords.begin(), args.keywords.end(), [](const auto& kv) {
      return kv.first == "color" || kv.first == "colors" || kv.first == "c" || kv.first == "facecolor";
    });
    if (!named_colour && (name == "plot" || name == "step")) {
      for (size_t p = 1; p < args.positional.size(); ++p) {
        if (auto fmt = string_literal(args.positional[p])) {
          if (auto colour = format_colour(*fmt)) colours.push_back(*colour);
        }
      }
    }
    if (colours.empty() && !named_colour && name != "boxplot") {
      const int64_t draws = name == "pie" ? elements.value_or(0) : series;
      for (int64_t d = 0; d < draws; ++d) colours.push_back(next_colour(plot.patch_cycle));
    }
    out.colours.insert(colours.begin(), colours.end());
    i = close;
  }
  return out;
}

ChartMatch match_charts(const ChartCodeSummary& answer, const ChartCodeSummary& reference) {
  ChartMatch m;
  m.type_match = !reference.kinds.empty() && answer.kinds == reference.kinds;
  m.series_match = reference.series > 0 && answer.series == reference.series &&
                   (!reference.elements || answer.elements == reference.elements);
  if (!reference.colours.empty()) {
    int64_t present = 0;
    for (const auto& c : reference.colours) present += answer.colours.count(c) > 0;
    m.color_match = static_cast<double>(present) / static_cast<double>(reference.colours.size());
  }
  return m;
}

}  // namespace visrl::reward
