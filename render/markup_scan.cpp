#include "render/markup_scan.h"

#include <cstddef>

namespace visrl::render {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

}  // namespace

bool has_tag_with_too_many_attributes(std::string_view markup, int64_t limit) {
  const auto skip_past = [&](size_t from, std::string_view end) {
    const size_t at = markup.find(end, from);
    return at == std::string_view::npos ? markup.size() : at + end.size();
  };
  for (size_t i = markup.find('<'); i < markup.size(); i = markup.find('<', i)) {
    const std::string_view rest = markup.substr(i);
    if (rest.starts_with("<!--")) {
      i = skip_past(i + 4, "-->");
      continue;
    }
    if (rest.starts_with("<![CDATA[")) {
      i = skip_past(i + 9, "]]>");
      continue;
    }
    if (rest.starts_with("<?")) {
      i = skip_past(i + 2, "?>");
      continue;
    }
    // A name starts after a space or a closing quote; the first one is the tag's own name.
    int64_t names = 0;
    char quote = 0;
    bool after_separator = true;
    for (++i; i < markup.size(); ++i) {
      const char c = markup[i];
      if (quote != 0) {
        if (c == quote) quote = 0, after_separator = true;
        continue;
      }
      if (c == '>') break;
      if (c == '"' || c == '\'') {
        quote = c;
      } else if (is_space(c) || c == '/') {
        after_separator = true;
        continue;
      } else if (c != '=' && after_separator) {
        if (++names > limit + 1) return true;  // + 1: the tag name
      }
      after_separator = false;
    }
  }
  return false;
}

}  // namespace visrl::render
