#include "render/svg/svg_urls.h"

#include <algorithm>
#include <cstdint>

#include "core/base64.h"
#include "core/utf8.h"
#include "render/render_types.h"

namespace visrl::render::svg_detail {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = lower(c);
  return out;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (lower(text[i]) != prefix[i]) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Resolves CSS escapes the way the CSS tokenizer does (CSS Syntax 3, "consume an escaped code
// point"), so the scan sees the same names and URLs as librsvg's parser.
std::string unescape_css(std::string_view css) {
  std::string out;
  out.reserve(css.size());
  for (size_t i = 0; i < css.size();) {
    if (css[i] != '\\') {
      out += css[i++];
      continue;
    }
    ++i;
    if (i == css.size()) {
      append_utf8(out, 0xFFFD);
    } else if (css[i] == '\n' || css[i] == '\f') {
      ++i;  // line continuation inside a string
    } else if (css[i] == '\r') {
      i += (i + 1 < css.size() && css[i + 1] == '\n') ? 2 : 1;
    } else if (hex_value(css[i]) >= 0) {
      uint32_t cp = 0;
      for (int n = 0; n < 6 && i < css.size() && hex_value(css[i]) >= 0; ++n) cp = cp * 16 + hex_value(css[i++]);
      if (i + 1 < css.size() && css[i] == '\r' && css[i + 1] == '\n') {
        i += 2;
      } else if (i < css.size() && is_space(css[i])) {
        ++i;
      }
      append_utf8(out, cp == 0 ? 0xFFFD : cp);  // CSS: U+0000 reads as U+FFFD
    } else {
      out += css[i++];
    }
  }
  return out;
}

// The argument of the url( whose parenthesis ends just before `pos`; `pos` is moved past it,
// so that the scan stays linear even when a quote is never closed.
std::string_view url_argument(std::string_view css, size_t& pos) {
  while (pos < css.size() && is_space(css[pos])) ++pos;
  if (pos < css.size() && (css[pos] == '"' || css[pos] == '\'')) {
    const char quote = css[pos++];
    const size_t begin = pos;
    pos = std::min(css.find(quote, begin), css.size());
    return css.substr(begin, pos - begin);
  }
  const size_t begin = pos;
  while (pos < css.size() && css[pos] != ')' && !is_space(css[pos])) ++pos;
  return css.substr(begin, pos - begin);
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

CssReferences scan_css(std::string_view css) {
  CssReferences refs;
  const std::string plain = unescape_css(css);
  const std::string folded = lowercase(plain);
  refs.has_import = folded.find("@import") != std::string::npos;
  for (size_t pos = folded.find("url("); pos != std::string::npos; pos = folded.find("url(", pos)) {
    pos += 4;
    refs.urls.emplace_back(trim(url_argument(plain, pos)));
  }
  return refs;
}

UrlKind classify_url(std::string_view url) {
  url = trim(url);
  if (url.empty()) return UrlKind::empty;
  if (url.front() == '#') return UrlKind::fragment;
  if (starts_with_nocase(url, "data:")) return UrlKind::data;
  return UrlKind::external;
}

std::optional<DataUrl> decode_data_url(std::string_view url) {
  url = trim(url);
  if (!starts_with_nocase(url, "data:")) return std::nullopt;
  url.remove_prefix(5);
  const size_t comma = url.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  const std::string_view header = url.substr(0, comma);
  const std::string_view body = url.substr(comma + 1);

  DataUrl data;
  data.media_type = lowercase(trim(header.substr(0, header.find(';'))));
  const size_t last_semicolon = header.rfind(';');
  const bool base64 =
      last_semicolon != std::string_view::npos && lowercase(trim(header.substr(last_semicolon + 1))) == "base64";
  data.payload = percent_decode(body);
  if (base64) {
    auto decoded = base64_decode(data.payload);
    if (!decoded) return std::nullopt;
    data.payload = std::move(*decoded);
  }
  return data;
}

PayloadKind sniff_payload(std::string_view payload) {
  if (payload.starts_with("\x89PNG\r\n\x1a\n")) return PayloadKind::png;
  if (payload.starts_with("\xFF\xD8\xFF")) return PayloadKind::jpeg;
  if (payload.starts_with("GIF87a") || payload.starts_with("GIF89a")) return PayloadKind::gif;
  std::string_view rest = payload;
  if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);
  rest = trim(rest);
  if (!rest.empty() && rest.front() == '<') return PayloadKind::markup;
  return PayloadKind::other;
}

std::string quote_for_reason(std::string_view text) {
  constexpr size_t kMax = 80;
  std::string out = "\"";
  for (char c : text.substr(0, kMax)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (text.size() > kMax) out += "...";
  out += '"';
  return sanitize_utf8(out);
}

}  // namespace visrl::render::svg_detail
