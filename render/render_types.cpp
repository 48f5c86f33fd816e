#include "render/render_types.h"

#include <array>
#include <cstring>
#include <utility>

#include "core/utf8.h"

namespace visrl::render {
namespace {

constexpr std::array<std::pair<RenderKind, std::string_view>, 3> kKindNames{{
    {RenderKind::chart, "chart"},
    {RenderKind::table, "table"},
    {RenderKind::svg, "svg"},
}};

constexpr std::array<std::pair<RenderStatus, std::string_view>, 9> kStatusNames{{
    {RenderStatus::ok, "ok"},
    {RenderStatus::no_code, "no_code"},
    {RenderStatus::syntax_error, "syntax_error"},
    {RenderStatus::runtime_error, "runtime_error"},
    {RenderStatus::timeout, "timeout"},
    {RenderStatus::memory_limit, "memory_limit"},
    {RenderStatus::output_limit, "output_limit"},
    {RenderStatus::blank_image, "blank_image"},
    {RenderStatus::rejected, "rejected"},
}};

template <typename Table, typename Value>
std::string_view name_in(const Table& table, Value value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "?";
}

template <typename Value, typename Table>
std::optional<Value> value_in(const Table& table, std::string_view name) {
  for (const auto& [v, n] : table) {
    if (n == name) return v;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(RenderKind kind) {
  return name_in(kKindNames, kind);
}
std::string_view to_string(RenderStatus status) {
  return name_in(kStatusNames, status);
}
std::optional<RenderKind> parse_render_kind(std::string_view name) {
  return value_in<RenderKind>(kKindNames, name);
}
std::optional<RenderStatus> parse_render_status(std::string_view name) {
  return value_in<RenderStatus>(kStatusNames, name);
}

bool RgbImage::is_uniform() const {
  if (rgb.size() < 3) return true;
  for (size_t i = 3; i + 2 < rgb.size(); i += 3) {
    if (std::memcmp(&rgb[i], &rgb[0], 3) != 0) return false;
  }
  return true;
}

RenderResult make_result(RenderStatus status, std::string reason) {
  RenderResult result;
  result.status = status;
  result.reason = std::move(reason);
  return result;
}

std::string tail_of(std::string_view text, size_t max_bytes) {
  size_t start = text.size() > max_bytes ? text.size() - max_bytes : 0;
  // Do not start in the middle of a UTF-8 sequence.
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  std::string out;
  out.reserve(text.size() - start);
  for (size_t i = start; i < text.size();) {
    const size_t n = utf8_sequence_length(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string sanitize_utf8(std::string_view text) {
  return tail_of(text, text.size());
}

}  // namespace visrl::render
