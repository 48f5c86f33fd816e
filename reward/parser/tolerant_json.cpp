#include "reward/parser/tolerant_json.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

#include <fmt/format.h>

#include "core/utf8.h"

namespace visrl::reward::tolerant_json {
namespace {

using json = nlohmann::json;

// complete: the value ended normally; cut: the text ended inside it (what was read is kept).
enum class Got { complete, cut, error };

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}
bool starts_value(char c) {
  return c == '{' || c == '[' || c == '"' || c == '\'' || c == '-' || c == '+' || c == '.' || is_word_char(c);
}
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool strict_number(std::string_view t) {
  size_t i = 0;
  const auto digits = [&] {
    const size_t from = i;
    while (i < t.size() && is_digit(t[i])) ++i;
    return i - from;
  };
  if (i < t.size() && t[i] == '-') ++i;
  if (i >= t.size()) return false;
  if (t[i] == '0')
    ++i;
  else if (digits() == 0)
    return false;
  if (i < t.size() && t[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == t.size();
}

// The value of a number that from_chars found out of range: infinity on overflow, zero on
// underflow, told apart by the decimal exponent of its first significant digit.
double out_of_range_value(std::string_view body) {
  const bool negative = !body.empty() && body[0] == '-';
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) body.remove_prefix(1);
  const size_t e = body.find_first_of("eE");
  const std::string_view mantissa = body.substr(0, e);
  int64_t exponent = 0;
  if (e != std::string_view::npos) {
    std::string_view digits = body.substr(e + 1);
    const bool minus = !digits.empty() && digits[0] == '-';
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
    for (char c : digits) exponent = std::min<int64_t>(exponent * 10 + (c - '0'), int64_t{1} << 40);
    if (minus) exponent = -exponent;
  }
  const size_t point = mantissa.find('.');
  const std::string_view whole = mantissa.substr(0, point);
  const size_t first = whole.find_first_not_of('0');
  int64_t lead = 0;  // decimal exponent of the first significant digit
  if (first != std::string_view::npos) {
    lead = static_cast<int64_t>(whole.size() - first) - 1;
  } else {
    const std::string_view fraction = point == std::string_view::npos ? "" : mantissa.substr(point + 1);
    lead = -static_cast<int64_t>(std::min(fraction.find_first_not_of('0'), fraction.size())) - 1;
  }
  const double v = lead + exponent > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  return negative ? -v : v;
}

std::string describe_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7F) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", u);
}

struct DepthGuard {
  int& depth;
  ~DepthGuard() { --depth; }
};

class Reader {
 public:
  Reader(std::string_view text, int max_depth, size_t max_values)
      : s_(text), max_depth_(max_depth), max_values_(max_values) {}
  Result run();

 private:
  bool at_end() const { return i_ >= s_.size(); }
  void fix(Fix f) {
    int& n = result_.fixes[static_cast<size_t>(f)];
    if (n < INT_MAX) ++n;
  }
  Got fail(std::string what) {
    error_ = std::move(what);
    error_at_ = i_;
    return Got::error;
  }
  void skip_space();
  bool closes_single_quote() const;
  Got value(json& out);
  Got object(json& out);
  Got array(json& out);
  Got string(std::string& out);
  Got escape(std::string& out, char quote);
  Got unicode_escape(std::string& out);
  Got number(json& out);
  Got word(json& out);

  std::string_view s_;
  size_t i_ = 0;
  int max_depth_;
  int depth_ = 0;
  size_t max_values_;
  size_t values_ = 0;
  Result result_;
  std::string error_;
  size_t error_at_ = 0;
};

void Reader::skip_space() {
  for (;;) {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
    if (i_ + 1 >= s_.size() || s_[i_] != '/') return;
    if (s_[i_ + 1] == '/') {
      fix(Fix::comment);
      const size_t nl = s_.find('\n', i_ + 2);
      i_ = nl == std::string_view::npos ? s_.size() : nl + 1;
    } else if (s_[i_ + 1] == '*') {
      fix(Fix::comment);
      const size_t close = s_.find("*/", i_ + 2);
      i_ = close == std::string_view::npos ? s_.size() : close + 2;
    } else {
      return;
    }
  }
}

Got Reader::value(json& out) {
  skip_space();
  if (at_end()) return Got::cut;  // `out` stays discarded: nothing was read
  if (++values_ > max_values_) {
    result_.too_many_values = true;
    return fail(fmt::format("more than {} values", max_values_));
  }
  const char c = s_[i_];
  if (c == '{') return object(out);
  if (c == '[') return array(out);
  if (c == '"' || c == '\'') {
    std::string text;
    const Got got = string(text);
    if (got != Got::error) out = std::move(text);
    return got;
  }
  if (c == '-' && i_ + 1 < s_.size() && (s_[i_ + 1] == 'I' || s_[i_ + 1] == 'i')) return word(out);
  if (c == '-' || c == '+' || c == '.' || is_digit(c)) return number(out);
  if (is_word_char(c)) return word(out);
  return fail(fmt::format("unexpected {}", describe_char(c)));
}

Got Reader::object(json& out) {
  if (depth_ >= max_depth_) return fail(fmt::format("nested deeper than {} levels", max_depth_));
  ++i_;
  ++depth_;
  DepthGuard guard{depth_};
  out = json::object();
  bool expect_member = true;
  bool after_comma = false;
  const auto cut = [&] {
    out[std::string(kCutKey)] = true;
    return Got::cut;
  };
  for (;;) {
    skip_space();
    if (at_end()) return cut();
    const char c = s_[i_];
    if (c == '}') {
      if (after_comma) fix(Fix::trailing_comma);
      ++i_;
      return Got::complete;
    }
    if (!expect_member) {
      if (c == ',') {
        ++i_;
        expect_member = after_comma = true;
        continue;
      }
      if (c != '"' && c != '\'') return fail(fmt::format("expected ',' or '}}' but found {}", describe_char(c)));
      fix(Fix::missing_comma);
    }
    if (c != '"' && c != '\'') return fail(fmt::format("expected a quoted key but found {}", describe_char(c)));
    std::string key;
    Got got = string(key);
    if (got == Got::error) return got;
    if (got == Got::cut) return cut();
    skip_space();
    if (at_end()) return cut();
    if (s_[i_] != ':') return fail(fmt::format("expected ':' but found {}", describe_char(s_[i_])));
    ++i_;
    json member(json::value_t::discarded);
    got = value(member);
    if (got == Got::error) return got;
    if (!member.is_discarded()) out[key] = std::move(member);  // the last duplicate wins, as in nlohmann
    if (got == Got::cut) return cut();
    expect_member = after_comma = false;
  }
}

Got Reader::array(json& out) {
  if (depth_ >= max_depth_) return fail(fmt::format("nested deeper than {} levels", max_depth_));
  ++i_;
  ++depth_;
  DepthGuard guard{depth_};
  out = json::array();
  bool expect_value = true;
  bool after_comma = false;
  for (;;) {
    skip_space();
    if (at_end()) return Got::cut;
    const char c = s_[i_];
    if (c == ']') {
      if (after_comma) fix(Fix::trailing_comma);
      ++i_;
      return Got::complete;
    }
    if (!expect_value) {
      if (c == ',') {
        ++i_;
        expect_value = after_comma = true;
        continue;
      }
      if (!starts_value(c)) return fail(fmt::format("expected ',' or ']' but found {}", describe_char(c)));
      fix(Fix::missing_comma);
    }
    json element(json::value_t::discarded);
    const Got got = value(element);
    if (got == Got::error) return got;
    if (!element.is_discarded()) out.push_back(std::move(element));
    if (got == Got::cut) return got;
    expect_value = after_comma = false;
  }
}

// A single-quoted string ends at a quote followed by , : ] } or the end of the text, so
// that apostrophes inside it ('the bar's height') survive.
bool Reader::closes_single_quote() const {
  size_t k = i_;
  while (k < s_.size() && is_space(s_[k])) ++k;
  return k >= s_.size() || s_[k] == ',' || s_[k] == ':' || s_[k] == ']' || s_[k] == '}';
}

Got Reader::string(std::string& out) {
  const char quote = s_[i_++];
  if (quote == '\'') fix(Fix::single_quotes);
  for (;;) {
    size_t plain = i_;
    while (plain < s_.size()) {
      const char c = s_[plain];
      const auto u = static_cast<unsigned char>(c);
      if (c == quote || c == '\\' || u < 0x20 || u >= 0x80) break;
      ++plain;
    }
    out.append(s_.data() + i_, plain - i_);
    i_ = plain;
    if (at_end()) return Got::cut;
    const char c = s_[i_];
    if (c == quote) {
      ++i_;
      if (quote == '"' || closes_single_quote()) return Got::complete;
      out += '\'';
    } else if (c == '\\') {
      const Got got = escape(out, quote);
      if (got != Got::complete) return got;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      fix(Fix::control_character);
      out += c;
      ++i_;
    } else if (const size_t n = utf8_sequence_length(s_, i_); n == 0) {
      fix(Fix::invalid_utf8);
      out += kReplacement;
      ++i_;
    } else {
      out.append(s_.substr(i_, n));
      i_ += n;
    }
  }
}

Got Reader::escape(std::string& out, char quote) {
  if (i_ + 1 >= s_.size()) {
    i_ = s_.size();
    return Got::cut;
  }
  const char e = s_[i_ + 1];
  char plain = 0;
  switch (e) {
    case '"':
    case '\\':
    case '/':
      plain = e;
      break;
    case 'b':
      plain = '\b';
      break;
    case 'f':
      plain = '\f';
      break;
    case 'n':
      plain = '\n';
      break;
    case 'r':
      plain = '\r';
      break;
    case 't':
      plain = '\t';
      break;
    case '\'':
      if (quote != '\'') fix(Fix::bad_escape);
      plain = '\'';
      break;
    case 'u':
      return unicode_escape(out);
    default:
      // Keep the backslash; the next character is read as an ordinary one.
      fix(Fix::bad_escape);
      out += '\\';
      ++i_;
      return Got::complete;
  }
  out += plain;
  i_ += 2;
  return Got::complete;
}

Got Reader::unicode_escape(std::string& out) {
  // 1: four hex digits at `at`; 0: not hex; -1: the text ends first.
  const auto hex4 = [&](size_t at, uint32_t& v) {
    v = 0;
    for (size_t k = 0; k < 4; ++k) {
      if (at + k >= s_.size()) return -1;
      const int d = hex_value(s_[at + k]);
      if (d < 0) return 0;
      v = v * 16 + static_cast<uint32_t>(d);
    }
    return 1;
  };
  uint32_t high = 0;
  const int got = hex4(i_ + 2, high);
  if (got < 0) {
    i_ = s_.size();
    return Got::cut;
  }
  if (got == 0) {
    fix(Fix::bad_escape);
    out += '\\';
    ++i_;
    return Got::complete;
  }
  i_ += 6;
  if (high >= 0xD800 && high <= 0xDBFF) {
    uint32_t low = 0;
    if (i_ + 1 < s_.size() && s_[i_] == '\\' && s_[i_ + 1] == 'u' && hex4(i_ + 2, low) == 1 && low >= 0xDC00 &&
        low <= 0xDFFF) {
      i_ += 6;
      append_utf8(out, 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00));
      return Got::complete;
    }
    fix(Fix::bad_escape);
    out += kReplacement;
    return Got::complete;
  }
  if (high >= 0xDC00 && high <= 0xDFFF) {
    fix(Fix::bad_escape);
    out += kReplacement;
    return Got::complete;
  }
  append_utf8(out, high);
  return Got::complete;
}

Got Reader::number(json& out) {
  const size_t start = i_;
  while (i_ < s_.size()) {
    const char c = s_[i_];
    if (!is_digit(c) && c != '+' && c != '-' && c != '.' && c != 'e' && c != 'E') break;
    ++i_;
  }
  const std::string_view token = s_.substr(start, i_ - start);
  std::string_view body = token;
  if (body[0] == '+') body.remove_prefix(1);
  const char* first = body.data();
  const char* last = body.data() + body.size();
  const bool strict = strict_number(token);
  if (!body.empty() && body.find_first_of(".eE") == std::string_view::npos) {
    if (body[0] == '-') {
      int64_t v = 0;
      const auto [ptr, ec] = std::from_chars(first, last, v);
      if (ec == std::errc() && ptr == last) {
        if (!strict) fix(Fix::number_format);
        out = v;
        return Got::complete;
      }
    } else {
      uint64_t v = 0;
      const auto [ptr, ec] = std::from_chars(first, last, v);
      if (ec == std::errc() && ptr == last) {
        if (!strict) fix(Fix::number_format);
        if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          out = static_cast<int64_t>(v);
        else
          out = v;
        return Got::complete;
      }
    }
  }
  double v = 0;
  const auto [ptr, ec] = std::from_chars(first, last, v, std::chars_format::general);
  if (body.empty() || ptr != last || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    i_ = start;
    return fail(fmt::format("bad number \"{}\"", token.substr(0, 24)));
  }
  if (ec == std::errc::result_out_of_range) {
    v = out_of_range_value(body);
    if (std::isinf(v)) fix(Fix::non_finite);  // nlohmann rejects these; underflow to 0 it accepts
  }
  if (!strict) fix(Fix::number_format);
  out = v;
  return Got::complete;
}

Got Reader::word(json& out) {
  static constexpr std::string_view kWords[] = {"true", "false",     "null",      "True",     "False",
                                                "None", "NaN",       "nan",       "Infinity", "inf",
                                                "-inf", "-Infinity", "-infinity", "infinity"};
  const size_t start = i_;
  if (s_[i_] == '-') ++i_;
  while (i_ < s_.size() && is_word_char(s_[i_])) ++i_;
  const std::string_view w = s_.substr(start, i_ - start);
  if (w == "true" || w == "false") {
    out = w == "true";
  } else if (w == "null") {
    out = nullptr;
  } else if (w == "True" || w == "False") {
    fix(Fix::python_literal);
    out = w == "True";
  } else if (w == "None") {
    fix(Fix::python_literal);
    out = nullptr;
  } else if (w == "NaN" || w == "nan" || w == "Infinity" || w == "-Infinity" || w == "infinity" || w == "-infinity" ||
             w == "inf" || w == "-inf") {
    fix(Fix::non_finite);
    out = nullptr;
  } else {
    if (at_end()) {
      for (std::string_view known : kWords)
        if (known.starts_with(w)) return Got::cut;  // "tru" at the very end
    }
    i_ = start;
    return fail(fmt::format("unexpected word \"{}\"", w.substr(0, 24)));
  }
  return Got::complete;
}

Result Reader::run() {
  json v(json::value_t::discarded);
  const Got got = value(v);
  if (got == Got::error) {
    result_.error = std::move(error_);
    result_.end = error_at_;
    return std::move(result_);
  }
  if (v.is_discarded()) {
    result_.error = "no JSON value";
    result_.end = i_;
    return std::move(result_);
  }
  if (got == Got::cut) fix(Fix::truncated);
  result_.ok = true;
  result_.value = std::move(v);
  result_.end = i_;
  return std::move(result_);
}

}  // namespace

std::string_view fix_name(Fix fix) {
  switch (fix) {
    case Fix::trailing_comma:
      return "trailing comma";
    case Fix::missing_comma:
      return "missing comma";
    case Fix::single_quotes:
      return "single-quoted string";
    case Fix::python_literal:
      return "Python literal";
    case Fix::non_finite:
      return "non-finite number";
    case Fix::comment:
      return "comment";
    case Fix::number_format:
      return "number format";
    case Fix::control_character:
      return "control character in string";
    case Fix::bad_escape:
      return "bad escape";
    case Fix::invalid_utf8:
      return "invalid UTF-8";
    case Fix::truncated:
      return "truncated output";
  }
  return "?";
}

int Result::total_fixes() const {
  int64_t total = std::accumulate(fixes.begin(), fixes.end(), int64_t{0});
  return total > INT_MAX ? INT_MAX : static_cast<int>(total);
}

Result parse(std::string_view text, int max_depth, size_t max_values) noexcept {
  try {
    return Reader(text, max_depth, max_values).run();
  } catch (...) {
    // Only allocation can throw here; a short message fits without allocating.
    Result failed;
    failed.error = "out of memory";
    return failed;
  }
}

}  // namespace visrl::reward::tolerant_json
