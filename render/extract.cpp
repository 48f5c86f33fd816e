#include "render/extract.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace visrl::render {
namespace {

struct FencedBlock {
  std::string language;  // lower-cased first word of the info string; "" for a bare fence
  std::string body;
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// A fence line per CommonMark: up to 3 spaces, then >= 3 backticks or tildes.
bool fence_at(std::string_view line, char& fence_char, size_t& fence_length, std::string_view& info) {
  size_t i = 0;
  while (i < line.size() && i < 3 && line[i] == ' ') ++i;
  if (i >= line.size() || (line[i] != '`' && line[i] != '~')) return false;
  fence_char = line[i];
  size_t n = 0;
  while (i + n < line.size() && line[i + n] == fence_char) ++n;
  if (n < 3) return false;
  fence_length = n;
  info = line.substr(i + n);
  return true;
}

std::vector<FencedBlock> fenced_blocks(std::string_view text) {
  std::vector<FencedBlock> blocks;
  FencedBlock* open = nullptr;
  char open_char = 0;
  size_t open_length = 0;
  for (size_t pos = 0; pos <= text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    char c;
    size_t length;
    std::string_view info;
    const bool is_fence = fence_at(line, c, length, info);
    if (open == nullptr && is_fence) {
      size_t a = info.find_first_not_of(" \t{.");
      size_t b = a == std::string_view::npos ? a : info.find_first_of(" \t}", a);
      blocks.push_back({a == std::string_view::npos ? "" : lower(info.substr(a, b - a)), ""});
      open = &blocks.back();
      open_char = c;
      open_length = length;
    } else if (open != nullptr && is_fence && c == open_char && length >= open_length &&
               info.find_first_not_of(" \t") == std::string_view::npos) {
      open = nullptr;
    } else if (open != nullptr) {
      open->body.append(line);
      open->body.push_back('\n');
    }
    if (end == text.size()) break;
    pos = end + 1;
  }
  return blocks;  // an unclosed last block runs to the end of the answer
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Code that draws with matplotlib, as opposed to prose or shell lines that name it.
bool plots(std::string_view code) {
  return contains(code, "import matplotlib") || contains(code, "from matplotlib") || contains(code, "plt.");
}

bool is_one_of(const std::string& language, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), language) != names.end();
}

std::optional<ExtractedCode> extract_chart(std::string_view answer, const std::vector<FencedBlock>& blocks) {
  const FencedBlock* first_python = nullptr;
  for (const auto& b : blocks) {
    if (!is_one_of(b.language, {"python", "py", "python3"})) continue;
    if (plots(b.body)) return ExtractedCode{b.body, "```python block"};
    if (!first_python) first_python = &b;
  }
  if (first_python) return ExtractedCode{first_python->body, "```python block"};
  for (const auto& b : blocks) {
    if (b.language.empty() && !b.body.empty()) return ExtractedCode{b.body, "bare ``` block"};
  }
  // An unfenced script: from its first import line to the end.
  for (size_t pos = 0; pos < answer.size();) {
    if (answer.compare(pos, 7, "import ") == 0 || answer.compare(pos, 5, "from ") == 0) {
      std::string_view rest = answer.substr(pos);
      if (plots(rest)) return ExtractedCode{std::string(rest), "unfenced script"};
      break;
    }
    const size_t next = answer.find('\n', pos);
    if (next == std::string_view::npos) break;
    pos = next + 1;
  }
  return std::nullopt;
}

std::optional<ExtractedCode> bare_svg(std::string_view text, const std::string& source) {
  size_t start = text.find("<svg");
  if (start == std::string_view::npos) return std::nullopt;
  // Keep an XML declaration or DOCTYPE right before the element (the guard must see a DOCTYPE).
  for (std::string_view prolog : {"<?xml", "<!DOCTYPE"}) {
    const size_t p = text.rfind(prolog, start);
    if (p != std::string_view::npos && p < start) start = std::min(start, p);
  }
  const size_t close = text.rfind("</svg>");
  const size_t end = close == std::string_view::npos || close < start ? text.size() : close + 6;
  return ExtractedCode{std::string(text.substr(start, end - start)), source};
}

std::optional<ExtractedCode> extract_svg(std::string_view answer, const std::vector<FencedBlock>& blocks) {
  for (const auto& b : blocks) {
    if (is_one_of(b.language, {"svg", "xml", "html", ""}) && contains(b.body, "<svg"))
      return bare_svg(b.body, "```" + b.language + " block");
  }
  return bare_svg(answer, "bare <svg> element");
}

std::optional<ExtractedCode> extract_table(std::string_view answer, const std::vector<FencedBlock>& blocks) {
  for (const auto& b : blocks) {
    if (is_one_of(b.language, {"markdown", "md", "html", ""}) && (contains(b.body, "|") || contains(b.body, "<table")))
      return ExtractedCode{b.body, "```" + b.language + " block"};
  }
  if (contains(answer, "|") || contains(lower(answer), "<table"))
    return ExtractedCode{std::string(answer), "whole answer"};
  return std::nullopt;
}

}  // namespace

std::optional<ExtractedCode> extract_code(RenderKind kind, std::string_view answer) {
  const auto blocks = fenced_blocks(answer);
  switch (kind) {
    case RenderKind::chart:
      return extract_chart(answer, blocks);
    case RenderKind::svg:
      return extract_svg(answer, blocks);
    case RenderKind::table:
      return extract_table(answer, blocks);
  }
  return std::nullopt;
}

}  // namespace visrl::render
