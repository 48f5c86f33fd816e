#include "reward/parser/json_candidates.h"

#include <algorithm>
#include <cctype>

namespace visrl::reward {
namespace {

constexpr std::string_view kOpenThink = "<think>";
constexpr std::string_view kCloseThink = "</think>";
constexpr std::string_view kFence = "```";

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The language tag of a fence: letters, digits and + - _ . right after the backticks.
bool is_tag_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '_' || c == '.';
}

bool is_json_tag(std::string_view tag) {
  if (tag.size() < 4) return false;
  for (size_t i = 0; i < 4; ++i)
    if (std::tolower(static_cast<unsigned char>(tag[i])) != "json"[i]) return false;
  return true;  // json, JSON, json5, jsonc, ...
}

}  // namespace

ThinkSplit split_think(std::string_view text) {
  ThinkSplit split;
  split.answer = {0, text.size()};
  if (const size_t close = text.rfind(kCloseThink); close != std::string_view::npos) {
    split.answer = {close + kCloseThink.size(), text.size()};
    split.reasoning = {0, close};
  } else if (const size_t open = text.find(kOpenThink); open != std::string_view::npos) {
    split.answer = {0, open};
    split.reasoning = {open + kOpenThink.size(), text.size()};
  }
  return split;
}

std::vector<Segment> find_segments(std::string_view text, TextRange range) {
  std::vector<Segment> json_fences, other_fences, prose;
  const std::string_view within = text.substr(0, range.end);
  size_t pos = range.begin;
  while (pos < range.end) {
    const size_t open = within.find(kFence, pos);
    if (open == std::string_view::npos) break;
    if (open > pos) prose.push_back({Segment::Kind::prose, {pos, open}});
    size_t tag_begin = open + kFence.size();
    while (tag_begin < range.end && (text[tag_begin] == ' ' || text[tag_begin] == '\t')) ++tag_begin;
    size_t content = tag_begin;
    while (content < range.end && content - tag_begin < 16 && is_tag_char(text[content])) ++content;
    const bool json = is_json_tag(text.substr(tag_begin, content - tag_begin));
    const size_t close = within.find(kFence, content);
    const size_t content_end = close == std::string_view::npos ? range.end : close;
    (json ? json_fences : other_fences)
        .push_back({json ? Segment::Kind::json_fence : Segment::Kind::other_fence, {content, content_end}});
    pos = close == std::string_view::npos ? range.end : close + kFence.size();
  }
  if (pos < range.end) prose.push_back({Segment::Kind::prose, {pos, range.end}});

  std::vector<Segment> all;
  all.reserve(json_fences.size() + other_fences.size() + prose.size());
  for (auto* part : {&json_fences, &other_fences, &prose}) all.insert(all.end(), part->begin(), part->end());
  return all;
}

size_t next_json_start(std::string_view text, size_t from, size_t end) {
  end = std::min(end, text.size());
  for (size_t i = from; i < end; ++i) {
    const char c = text[i];
    if (c != '{' && c != '[') continue;
    size_t k = i + 1;
    while (k < end && is_space(text[k])) ++k;
    if (k >= end) continue;  // nothing follows: not worth reading
    const char next = text[k];
    if (c == '{' && (next == '"' || next == '\'' || next == '}')) return i;
    if (c == '[' && (next == '{' || next == '[' || next == ']')) return i;
  }
  return end;
}

}  // namespace visrl::reward
