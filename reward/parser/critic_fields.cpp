#include "reward/parser/critic_fields.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <utility>

#include <fmt/format.h>

#include "render/render_types.h"

namespace visrl::reward {
namespace {

using json = nlohmann::json;

bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_lower_or_digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
char lower(char c) {
  return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Key spelling folded for comparison: "Error Type" -> "error_type".
std::string fold_key(std::string_view key) {
  std::string out;
  for (char c : trim(key)) out += (c == ' ' || c == '-') ? '_' : lower(c);
  return out;
}

// Severity words and the level they name.
constexpr std::array<std::pair<std::string_view, int>, 17> kSeverityWords{{
    {"minor", 1},
    {"low", 1},
    {"slight", 1},
    {"mild", 1},
    {"trivial", 1},
    {"cosmetic", 1},
    {"medium", 2},
    {"moderate", 2},
    {"mid", 2},
    {"middle", 2},
    {"intermediate", 2},
    {"severe", 3},
    {"major", 3},
    {"high", 3},
    {"critical", 3},
    {"serious", 3},
    {"fatal", 3},
}};

SeverityReading range_checked(int64_t n, std::string_view shown) {
  SeverityReading r;
  if (n >= 1 && n <= 3)
    r.value = static_cast<int>(n);
  else
    r.problem = fmt::format("severity {} outside 1..3", shown);
  return r;
}

// "2", "Severity: 3", "level 1", "3 (severe)", "2.0", "medium", "Major - wrong colour".
SeverityReading read_severity_text(std::string_view raw) {
  SeverityReading r;
  const std::string quoted = fmt::format("\"{}\"", bounded_text(raw, 24, nullptr));
  std::string t;
  for (char c : trim(raw.substr(0, 64))) t += lower(c);
  std::string_view s = t;
  for (std::string_view prefix : {"severity", "level"}) {
    if (s.starts_with(prefix) &&
        (s.size() == prefix.size() || !std::isalpha(static_cast<unsigned char>(s[prefix.size()])))) {
      s.remove_prefix(prefix.size());
      while (!s.empty() && (s[0] == ' ' || s[0] == ':' || s[0] == '=' || s[0] == '#' || s[0] == '-'))
        s.remove_prefix(1);
      break;
    }
  }
  if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) {
    int64_t n = 0;
    size_t i = 0;
    for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i)
      n = std::min<int64_t>(n * 10 + (s[i] - '0'), 1000);
    if (i + 1 < s.size() && s[i] == '.' && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      size_t k = i + 1;
      while (k < s.size() && s[k] == '0') ++k;
      if (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) {
        r.problem = fmt::format("severity {} is not a whole number", quoted);
        return r;
      }
    }
    r = range_checked(n, quoted);
    r.repaired = r.value.has_value();
    return r;
  }
  size_t len = 0;
  while (len < s.size() && std::isalpha(static_cast<unsigned char>(s[len]))) ++len;
  for (const auto& [word, level] : kSeverityWords) {
    if (s.substr(0, len) == word) {
      r.value = level;
      r.repaired = true;
      return r;
    }
  }
  r.problem = fmt::format("unknown severity {}", quoted);
  return r;
}

}  // namespace

std::string normalise_category(std::string_view raw) {
  raw = trim(raw);
  raw = raw.substr(0, 64);  // no category is longer; bounds the work on junk
  std::string out;
  char prev = 0;
  for (char c : raw) {
    if (is_upper(c) && is_lower_or_digit(prev) && !out.empty()) out += '_';  // DataError
    prev = c;
    const char folded = (c == ' ' || c == '-' || c == '/' || c == '.' || c == '\t') ? '_' : lower(c);
    if (folded == '_' && (out.empty() || out.back() == '_')) continue;
    out += folded;
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (out.ends_with("_errors")) out.pop_back();
  if (!out.empty() && out != "error" && !out.ends_with("_error")) out += "_error";
  return out;
}

SeverityReading read_severity(const json& v) {
  SeverityReading r;
  if (v.is_number_unsigned()) {
    const uint64_t n = v.get<uint64_t>();
    return range_checked(n > 1000 ? 1000 : static_cast<int64_t>(n), std::to_string(n));
  }
  if (v.is_number_integer()) {
    const int64_t n = v.get<int64_t>();
    return range_checked(n, std::to_string(n));
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) {
      r.problem = "severity is not a finite number";
    } else if (d != std::floor(d)) {
      r.problem = fmt::format("severity {} is not a whole number", d);
    } else if (d < 1 || d > 3) {
      r.problem = fmt::format("severity {} outside 1..3", d);
    } else {
      r.value = static_cast<int>(d);
      r.repaired = true;
    }
    return r;
  }
  if (v.is_string()) return read_severity_text(v.get_ref<const std::string&>());
  r.problem = fmt::format("severity is {}", type_phrase(v));
  return r;
}

Field find_field(const json& object, std::initializer_list<std::string_view> canonical,
                 std::initializer_list<std::string_view> synonyms) {
  Field field;
  if (!object.is_object()) return field;
  for (bool repaired : {false, true}) {
    for (std::string_view name : repaired ? synonyms : canonical) {
      if (const auto it = object.find(std::string(name)); it != object.end()) {
        field.value = &*it;
        field.repaired = repaired;
        field.key = name;
        return field;
      }
    }
  }
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it.key().size() > 40) continue;
    const std::string folded = fold_key(it.key());
    for (auto names : {canonical, synonyms}) {
      for (std::string_view name : names) {
        if (folded == name) {
          field.value = &*it;
          field.repaired = true;
          field.key = it.key();
          return field;
        }
      }
    }
  }
  return field;
}

std::string text_of(const json& v, size_t max_bytes, bool* converted, bool* cut) {
  *converted = false;
  if (v.is_string()) return bounded_text(v.get_ref<const std::string&>(), max_bytes, cut);
  if (v.is_null()) return bounded_text("", max_bytes, cut);
  *converted = true;
  std::string written;
  if (v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); })) {
    for (const auto& e : v) {
      if (!written.empty()) written += ", ";
      written += e.get_ref<const std::string&>();
      if (written.size() > max_bytes) break;
    }
  } else {
    written = v.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return bounded_text(written, max_bytes, cut);
}

std::string type_phrase(const json& v) {
  if (v.is_null()) return "null";
  const std::string_view name = v.type_name();
  return fmt::format("{} {}", name[0] == 'a' || name[0] == 'o' ? "an" : "a", name);
}

std::string bounded_text(std::string_view text, size_t max_bytes, bool* cut) {
  const auto continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  size_t n = std::min(text.size(), max_bytes);
  // Back up to the start of the cut UTF-8 sequence (at most 3 bytes in valid text).
  for (int k = 0; k < 3 && n > 0 && n < text.size() && continuation(text[n]); ++k) --n;
  if (cut != nullptr) *cut = n < text.size();
  std::string out = render::sanitize_utf8(text.substr(0, n));
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7F) c = ' ';
  }
  if (out.size() > max_bytes) {  // invalid bytes became 3-byte U+FFFD: cut again, at a code point
    size_t m = max_bytes;
    while (m > 0 && continuation(out[m])) --m;
    out.resize(m);
    if (cut != nullptr) *cut = true;
  }
  return out;
}

}  // namespace visrl::reward
