#include "reward/parser/critic_parser.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "reward/parser/critic_fields.h"
#include "reward/parser/json_candidates.h"
#include "reward/parser/tolerant_json.h"

namespace visrl::reward {
namespace {

using json = nlohmann::json;
namespace tj = tolerant_json;

constexpr int kMaxAttempts = 16;    // JSON readings tried per region (answer, think block)
constexpr size_t kMaxErrors = 256;  // errors kept; the rest are counted as dropped
constexpr size_t kMaxGroups = 8;    // distinct drop reasons / repair kinds named in the message
constexpr size_t kMaxMessageBytes = 600;
constexpr size_t kShownValueBytes = 40;  // a category or key quoted in a message

int saturated(int64_t n) {
  return n > std::numeric_limits<int>::max() ? std::numeric_limits<int>::max() : static_cast<int>(n);
}

std::string shown(std::string_view value) {
  return fmt::format("\"{}\"", bounded_text(value, kShownValueBytes, nullptr));
}

// What was dropped and repaired, grouped by reason for the message.
class Tally {
 public:
  void drop(std::string reason, int64_t n = 1) {
    dropped_ += n;
    add(drops_, std::move(reason), n);
  }
  void repair(std::string kind, int64_t n = 1) {
    repairs_ += n;
    add(repair_kinds_, std::move(kind), n);
  }
  int dropped() const { return saturated(dropped_); }
  int repairs() const { return saturated(repairs_); }

  // `2 entries dropped (unknown category "color_error"); repaired: 1 severity, 1 trailing comma`
  std::string message() const {
    std::string text;
    if (dropped_ > 0) {
      std::string reasons;
      for (const auto& g : drops_) {
        if (!reasons.empty()) reasons += ", ";
        reasons += g.what;
        if (drops_.size() > 1 && g.count > 1) reasons += fmt::format(" x{}", g.count);
      }
      text = fmt::format("{} {} dropped ({})", dropped_, dropped_ == 1 ? "entry" : "entries", reasons);
    }
    if (repairs_ > 0) {
      std::string kinds;
      for (const auto& g : repair_kinds_) kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", g.count, g.what);
      text = fmt::format("{}{}repaired: {}", text, text.empty() ? "" : "; ", kinds);
    }
    return bounded_text(text, kMaxMessageBytes, nullptr);
  }

 private:
  struct Group {
    std::string what;
    int64_t count = 0;
  };
  // At most kMaxGroups named groups, then one "other" group: linear in the entries however
  // many distinct unknown categories a critic invents.
  static void add(std::vector<Group>& groups, std::string what, int64_t n) {
    for (auto& g : groups) {
      if (g.what == what) {
        g.count += n;
        return;
      }
    }
    if (groups.size() < kMaxGroups) {
      groups.push_back({std::move(what), n});
    } else if (groups.size() == kMaxGroups) {
      groups.push_back({"other", n});
    } else {
      groups.back().count += n;
    }
  }

  std::vector<Group> drops_, repair_kinds_;
  int64_t dropped_ = 0, repairs_ = 0;
};

Field list_field(const json& object) {
  return find_field(object, {"errors"},
                    {"discrepancies", "issues", "error_list", "errors_list", "differences", "mistakes", "problems"});
}

// Where the error list of a parsed candidate is, and how convincing it is.
struct ListLookup {
  int strength = 0;            // 2: an error list; 1: an empty bare list or zero counts only; 0: none
  const json* list = nullptr;  // null for zero counts only
  std::vector<std::string> repairs;
  std::string failure;  // why strength is 0
};

ListLookup find_error_list(const json& root, bool whole_segment) {
  ListLookup r;
  if (root.is_array()) {
    if (std::any_of(root.begin(), root.end(), [](const json& e) { return e.is_object(); })) {
      r.strength = 2;
      r.list = &root;
    } else if (root.empty() && whole_segment) {  // the whole answer is "[]"
      r.strength = 1;
      r.list = &root;
    } else {
      r.failure = "JSON list holds no error objects";
    }
    return r;
  }
  if (!root.is_object()) {
    r.failure = fmt::format("JSON is {}, not an error list", type_phrase(root));
    return r;
  }
  if (const Field f = list_field(root); f.value != nullptr) {
    if (!f.value->is_array()) {
      r.failure = fmt::format("{} is {}, not a list", shown(f.key), type_phrase(*f.value));
      return r;
    }
    r.strength = 2;
    r.list = f.value;
    if (f.repaired) r.repairs.push_back(fmt::format("error list key {}", shown(f.key)));
    return r;
  }
  for (auto it = root.begin(); it != root.end(); ++it) {  // {"result": {"errors": [...]}}
    if (!it->is_object()) continue;
    if (const Field f = list_field(*it); f.value != nullptr && f.value->is_array()) {
      r.strength = 2;
      r.list = f.value;
      r.repairs.push_back(fmt::format("error list under {}", shown(it.key())));
      return r;
    }
  }
  const Field counts = find_field(root, {"counts"}, {"error_counts", "category_counts", "count"});
  if (counts.value == nullptr || !counts.value->is_object()) {
    r.failure = "JSON has no error list";
  } else if (counts.value->contains(std::string(tj::kCutKey))) {
    r.failure = "JSON has no error list";  // the missing counts might not be zero
  } else if (!std::all_of(counts.value->begin(), counts.value->end(), [](const json& v) { return v.is_number(); })) {
    r.failure = "JSON has counts but no error list";
  } else if (std::all_of(counts.value->begin(), counts.value->end(),
                         [](const json& v) { return v.get<double>() == 0.0; })) {
    r.strength = 1;  // all zero: the critic found nothing, only the list is missing
    r.repairs.push_back("zero counts without an error list");
  } else {
    r.failure = "JSON has non-zero counts but no error list";
  }
  return r;
}

// One entry of the error list, or nullopt (counted in `tally`) when it cannot be used.
std::optional<CriticError> read_entry(Task task, const json& entry, Tally& tally) {
  if (!entry.is_object()) {
    tally.drop(fmt::format("entry is {}", type_phrase(entry)));
    return std::nullopt;
  }
  if (entry.contains(std::string(tj::kCutKey))) {
    tally.drop("entry cut off by the end of the output");
    return std::nullopt;
  }
  const Field category = find_field(entry, {"category", "type"}, {"error_type", "error_category"});
  if (category.value == nullptr) {
    tally.drop("no category");
    return std::nullopt;
  }
  if (!category.value->is_string()) {
    tally.drop(fmt::format("category is {}", type_phrase(*category.value)));
    return std::nullopt;
  }
  const std::string& raw = category.value->get_ref<const std::string&>();
  std::string name = normalise_category(raw);
  if (!is_category(task, name)) {
    const bool other_task = std::find(all_categories().begin(), all_categories().end(), name) != all_categories().end();
    tally.drop(other_task ? fmt::format("category {} not used for {}", shown(raw), render::to_string(task))
                          : fmt::format("unknown category {}", shown(raw)));
    return std::nullopt;
  }
  const Field severity = find_field(entry, {"severity"}, {"severity_level", "level", "severity_score"});
  if (severity.value == nullptr) {
    tally.drop("no severity");
    return std::nullopt;
  }
  const SeverityReading level = read_severity(*severity.value);
  if (!level.value) {
    tally.drop(level.problem);
    return std::nullopt;
  }

  // The entry is kept: count its repairs.
  CriticError error;
  error.category = std::move(name);
  error.severity = *level.value;
  if (error.category != raw) tally.repair("category spelling");
  if (level.repaired) tally.repair("severity");
  for (const Field* f : {&category, &severity})
    if (f->repaired) tally.repair("key name");
  bool converted = false, cut = false;
  const Field location = find_field(entry, {"location"}, {"position", "where", "region", "loc", "element"});
  if (location.value != nullptr) {
    error.location = text_of(*location.value, kMaxTextBytes, &converted, &cut);
    if (location.repaired) tally.repair("key name");
    if (converted) tally.repair("location stringified");
    if (cut) tally.repair("text truncated");
  }
  const Field description =
      find_field(entry, {"description"}, {"desc", "detail", "details", "explanation", "message", "reason", "issue"});
  if (description.value == nullptr || description.value->is_null()) {
    tally.repair("missing description");
  } else {
    error.description = text_of(*description.value, kMaxTextBytes, &converted, &cut);
    if (description.repaired) tally.repair("key name");
    if (converted) tally.repair("description stringified");
    if (cut) tally.repair("text truncated");
  }
  return error;
}

// A candidate that was read and the segment it came from.
struct Reading {
  tj::Result parsed;
  bool whole_segment = false;  // the value is all there is in its fence or prose stretch
  bool from_reasoning = false;
  bool inside_invalid = false;  // found inside a value that is not valid even after repairs
};

ParsedCritique build(Task task, const Reading& reading) {
  Tally tally;
  for (size_t k = 0; k < tj::kFixKinds; ++k)
    if (const int n = reading.parsed.fixes[k]; n > 0)
      tally.repair(std::string(tj::fix_name(static_cast<tj::Fix>(k))), n);
  if (reading.from_reasoning) tally.repair("error list read from the <think> block");
  if (reading.inside_invalid) tally.repair("error list read from inside invalid JSON");
  const ListLookup lookup = find_error_list(reading.parsed.value, reading.whole_segment);
  for (const auto& r : lookup.repairs) tally.repair(r);

  ParsedCritique out;
  if (lookup.list != nullptr) {
    const json& list = *lookup.list;
    for (size_t i = 0; i < list.size(); ++i) {
      if (out.errors.size() >= kMaxErrors) {
        tally.drop(fmt::format("beyond the first {} errors", kMaxErrors), static_cast<int64_t>(list.size() - i));
        break;
      }
      if (auto error = read_entry(task, list[i], tally)) out.errors.push_back(std::move(*error));
    }
  }
  out.report.dropped = tally.dropped();
  out.report.repairs = tally.repairs();
  out.report.status = out.report.dropped == 0 && out.report.repairs == 0 ? ParseStatus::ok : ParseStatus::repaired;
  out.report.message = tally.message();
  // No usable entry, yet the critic did report something (every entry was invalid) or was cut
  // off: an empty list here would score the render as perfect, so it is a failure instead.
  const bool cut = reading.parsed.count(tj::Fix::truncated) > 0;
  if (out.errors.empty() && (out.report.dropped > 0 || cut)) {
    out.report.status = ParseStatus::failed;
    out.report.message = bounded_text(
        fmt::format("no valid error entry{}: {}", cut ? " (output cut off)" : "", out.report.message),
        kMaxMessageBytes, nullptr);
  }
  return out;
}

TextRange trimmed(std::string_view text, TextRange r) {
  const auto space = [&](size_t i) { return text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'; };
  while (r.begin < r.end && space(r.begin)) ++r.begin;
  while (r.end > r.begin && space(r.end - 1)) --r.end;
  return r;
}

// What the search of one region (the answer, or the think block) found.
struct Search {
  std::optional<Reading> strong;  // the first candidate with an error list
  std::optional<Reading> weak;    // else the first empty bare list or zero-counts object
  std::string failure;            // else why the first candidate was not usable
};

Search search_region(std::string_view text, TextRange range, bool reasoning) {
  Search search;
  int attempts = 0;
  for (const Segment& segment : find_segments(text, range)) {
    const TextRange whole = trimmed(text, segment.range);
    size_t pos = segment.range.begin;
    size_t invalid_until = 0;  // the end of the last unreadable value, where its error was found
    while (attempts < kMaxAttempts) {
      pos = next_json_start(text, pos, segment.range.end);
      if (pos >= segment.range.end) break;
      ++attempts;
      Reading reading;
      reading.parsed = tj::parse(text.substr(pos, segment.range.end - pos));
      reading.from_reasoning = reasoning;
      reading.inside_invalid = pos < invalid_until;
      if (!reading.parsed.ok) {
        invalid_until = std::max(invalid_until, pos + reading.parsed.end);
        if (search.failure.empty())
          search.failure = fmt::format("invalid JSON at byte {}: {}", pos + reading.parsed.end, reading.parsed.error);
        if (reading.parsed.too_many_values) return search;  // every value inside would hit the cap again
        ++pos;                                              // look for a usable value inside the broken one
        continue;
      }
      const size_t end = pos + reading.parsed.end;
      reading.whole_segment = whole == TextRange{pos, end};
      const ListLookup lookup = find_error_list(reading.parsed.value, reading.whole_segment);
      if (lookup.strength == 2) {
        search.strong = std::move(reading);
        return search;
      }
      if (lookup.strength == 1 && !search.weak) {
        search.weak = std::move(reading);
      } else if (lookup.strength == 0 && search.failure.empty()) {
        const bool cut = reading.parsed.count(tj::Fix::truncated) > 0;
        search.failure = fmt::format("{}{}", lookup.failure, cut ? " (output cut off)" : "");
      }
      pos = std::max(end, pos + 1);
    }
    if (attempts >= kMaxAttempts) break;
  }
  return search;
}

ParsedCritique failed(std::string message) {
  ParsedCritique out;
  out.report.status = ParseStatus::failed;
  out.report.message = bounded_text(message, kMaxMessageBytes, nullptr);
  return out;
}

ParsedCritique parse(Task task, std::string_view text) {
  if (trimmed(text, {0, text.size()}).empty()) return failed("empty output");
  const ThinkSplit split = split_think(text);
  Search answer = search_region(text, split.answer, false);
  if (answer.strong) return build(task, *answer.strong);
  if (answer.weak) return build(task, *answer.weak);
  if (!split.reasoning.empty()) {
    Search reasoning = search_region(text, split.reasoning, true);
    if (reasoning.strong) return build(task, *reasoning.strong);
    if (reasoning.weak) return build(task, *reasoning.weak);
    if (answer.failure.empty() && !reasoning.failure.empty())
      return failed(fmt::format("in the <think> block: {}", reasoning.failure));
  }
  return failed(answer.failure.empty() ? "no JSON found" : answer.failure);
}

}  // namespace

ParsedCritique parse_critic_output(Task task, std::string_view text) noexcept {
  try {
    return parse(task, text);
  } catch (...) {
    // Allocation failure is the only expected cause; the message fits without allocating.
    ParsedCritique out;
    out.report.status = ParseStatus::failed;
    out.report.message = "internal error";
    return out;
  }
}

}  // namespace visrl::reward
