// parse_critic_output on real-looking critic answers and on every repair, drop and failure
// it knows. Every expectation is written out by hand from the input text.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reward/parser/critic_parser.h"
#include "tests/test_util.h"

namespace visrl::reward {
namespace {

CriticError E(std::string category, int severity, std::string location, std::string description) {
  return {std::move(category), severity, std::move(location), std::move(description)};
}

// An entry as a critic writes it for charts and SVG.
std::string entry(std::string_view category, std::string_view severity, std::string_view location = "a",
                  std::string_view description = "x") {
  return fmt::format(R"({{"category": "{}", "severity": {}, "location": "{}", "description": "{}"}})", category,
                     severity, location, description);
}

std::string errors_of(const std::vector<std::string>& entries) {
  std::string joined;
  for (const auto& e : entries) joined += (joined.empty() ? "" : ", ") + e;
  return fmt::format(R"({{"errors": [{}]}})", joined);
}

struct Case {
  std::string name;
  Task task;
  std::string text;
  ParseStatus status;
  std::vector<CriticError> errors;
  int dropped;
  int repairs;
  std::string message;  // exact when it does not start with '~'; else a substring that must occur
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

std::string case_name(const ::testing::TestParamInfo<Case>& param) {
  return param.param.name;
}

class ParseCase : public ::testing::TestWithParam<Case> {};

TEST_P(ParseCase, GivesTheExpectedErrorsAndReport) {
  const Case& c = GetParam();
  const ParsedCritique got = parse_critic_output(c.task, c.text);
  EXPECT_EQ(to_string(got.report.status), to_string(c.status)) << got.report.message;
  EXPECT_EQ(got.errors, c.errors);
  EXPECT_EQ(got.report.dropped, c.dropped) << got.report.message;
  EXPECT_EQ(got.report.repairs, c.repairs) << got.report.message;
  if (!c.message.empty() && c.message[0] == '~')
    EXPECT_NE(got.report.message.find(c.message.substr(1)), std::string::npos) << got.report.message;
  else
    EXPECT_EQ(got.report.message, c.message);
}

const std::string kData = entry("data_error", "2", "bar 3", "bar too short");
const CriticError kDataError = E("data_error", 2, "bar 3", "bar too short");

std::vector<Case> well_formed_cases() {
  return {
      {"chart_object_with_counts",
       Task::chart,
       R"({"errors": [{"category": "data_error", "severity": 2, "location": "bar 3", "description": "bar too short"}],)"
       R"( "counts": {"structure_error": 0, "data_error": 1, "text_error": 0, "style_error": 0}})",
       ParseStatus::ok,
       {kDataError},
       0,
       0,
       ""},
      {"table_uses_type_and_no_location",
       Task::table,
       R"({"errors": [{"type": "numeric_error", "severity": 3, "description": "145 reads 14.5"}]})",
       ParseStatus::ok,
       {E("numeric_error", 3, "", "145 reads 14.5")},
       0,
       0,
       ""},
      {"svg_categories",
       Task::svg,
       errors_of({entry("text_symbol_error", "1", "label", "a"), entry("other_error", "2", "", "b")}),
       ParseStatus::ok,
       {E("text_symbol_error", 1, "label", "a"), E("other_error", 2, "", "b")},
       0,
       0,
       ""},
      {"chart_with_type_key",
       Task::chart,
       R"({"errors": [{"type": "text_error", "severity": 1, "location": "title", "description": "typo"}]})",
       ParseStatus::ok,
       {E("text_error", 1, "title", "typo")},
       0,
       0,
       ""},
      {"category_wins_over_type",
       Task::chart,
       R"({"errors": [{"category": "data_error", "type": "bar", "severity": 2, "location": "bar 3", "description": "bar too short"}]})",
       ParseStatus::ok,
       {kDataError},
       0,
       0,
       ""},
      {"empty_list_means_no_discrepancy",
       Task::chart,
       R"({"errors": [], "counts": {"structure_error": 0, "data_error": 0, "text_error": 0, "style_error": 0}})",
       ParseStatus::ok,
       {},
       0,
       0,
       ""},
      {"bare_list_of_entries", Task::chart, "[" + kData + "]", ParseStatus::ok, {kDataError}, 0, 0, ""},
      {"whole_answer_is_an_empty_list", Task::chart, "  []\n", ParseStatus::ok, {}, 0, 0, ""},
      {"prose_around_bare_json",
       Task::chart,
       "Here are the differences: " + errors_of({kData}) + " Hope it helps.",
       ParseStatus::ok,
       {kDataError},
       0,
       0,
       ""},
      {"plain_fence",
       Task::chart,
       "Result:\n```\n" + errors_of({kData}) + "\n```\nDone.",
       ParseStatus::ok,
       {kDataError},
       0,
       0,
       ""},
      {"json_fence_preferred_over_earlier_bare_json",
       Task::chart,
       "For example " + errors_of({entry("style_error", "1")}) + ".\n```json\n" + errors_of({kData}) + "\n```",
       ParseStatus::ok,
       {kDataError},
       0,
       0,
       ""},
      {"json_fence_preferred_over_plain_fence",
       Task::chart,
       "```\n" + errors_of({entry("style_error", "1")}) + "\n```\n```JSON\n" + errors_of({kData}) + "\n```",
       ParseStatus::ok,
       {kDataError},
       0,
       0,
       ""},
      {"think_block_ignored",
       Task::chart,
       "<think>draft " + errors_of({entry("structure_error", "3")}) + "</think>\n" + errors_of({kData}),
       ParseStatus::ok,
       {kDataError},
       0,
       0,
       ""},
      {"closing_think_tag_only",
       Task::chart,
       "the model reasons {\"errors\": []} here</think>\n```json\n" + errors_of({kData}) + "\n```",
       ParseStatus::ok,
       {kDataError},
       0,
       0,
       ""},
      {"unclosed_think_block_after_the_answer",
       Task::chart,
       errors_of({kData}) + "<think>more " + errors_of({entry("style_error", "1")}),
       ParseStatus::ok,
       {kDataError},
       0,
       0,
       ""},
      {"first_candidate_without_list_skipped",
       Task::chart,
       "Scores: {\"overall\": 7}. Errors: " + errors_of({kData}),
       ParseStatus::ok,
       {kDataError},
       0,
       0,
       ""},
      {"nul_bytes_in_prose",
       Task::chart,
       std::string("\0\0 ok ", 6) + errors_of({kData}),
       ParseStatus::ok,
       {kDataError},
       0,
       0,
       ""},
      {"escaped_nul_in_text_becomes_space",
       Task::chart,
       errors_of({entry("data_error", "2", "bar 3", "a\\u0000b")}),
       ParseStatus::ok,
       {E("data_error", 2, "bar 3", "a b")},
       0,
       0,
       ""},
      {"escapes_decoded",
       Task::chart,
       errors_of({entry("text_error", "1", "title", R"(reads \"R\u00e9sum\u00e9\" \ud83d\ude00)")}),
       ParseStatus::ok,
       {E("text_error", 1, "title", "reads \"R\xC3\xA9sum\xC3\xA9\" \xF0\x9F\x98\x80")},
       0,
       0,
       ""},
  };
}

std::vector<Case> repair_cases() {
  return {
      {"think_block_used_when_nothing_else",
       Task::chart,
       "<think>" + errors_of({kData}) + "</think>\nI could not decide.",
       ParseStatus::repaired,
       {kDataError},
       0,
       1,
       "repaired: 1 error list read from the <think> block"},
      {"list_inside_invalid_json",
       Task::chart,
       R"({"errors": [{"category": "data_error", "severity": 2, "location": "bar 3", "description": "bar too short"}], "counts": {"data_error": 1 oops}})",
       ParseStatus::repaired,
       {kDataError},
       0,
       1,
       "repaired: 1 error list read from inside invalid JSON"},
      {"trailing_commas",
       Task::chart,
       R"({"errors": [{"category": "data_error", "severity": 2, "location": "bar 3", "description": "bar too short",},],})",
       ParseStatus::repaired,
       {kDataError},
       0,
       3,
       "repaired: 3 trailing comma"},
      {"single_quotes_with_apostrophe",
       Task::table,
       R"({'errors': [{'type': 'text_error', 'severity': 1, 'description': 'the title's font'}]})",
       ParseStatus::repaired,
       {E("text_error", 1, "", "the title's font")},
       0,
       6,
       "repaired: 6 single-quoted string"},
      {"python_literals",
       Task::chart,
       R"({"errors": [{"category": "data_error", "severity": 2, "location": "bar 3", "description": "bar too short", "certain": True, "note": None}], "done": False})",
       ParseStatus::repaired,
       {kDataError},
       0,
       3,
       "repaired: 3 Python literal"},
      {"comments",
       Task::chart,
       "{\"errors\": [ // the list\n {\"category\": \"data_error\", /* level */ \"severity\": 2, \"location\": \"bar "
       "3\", \"description\": \"bar too short\"}]}",
       ParseStatus::repaired,
       {kDataError},
       0,
       2,
       "repaired: 2 comment"},
      {"truncated_in_the_middle_of_an_entry",
       Task::chart,
       R"({"errors": [{"category": "data_error", "severity": 2, "location": "bar 3", "description": "bar too short"}, {"category": "text_error", "severity": 1, "descr)",
       ParseStatus::repaired,
       {kDataError},
       1,
       1,
       "1 entry dropped (entry cut off by the end of the output); repaired: 1 truncated output"},
      {"truncated_after_a_complete_entry",
       Task::chart,
       R"({"errors": [)" + kData,
       ParseStatus::repaired,
       {kDataError},
       0,
       1,
       "repaired: 1 truncated output"},
      {"truncated_right_after_the_list_opens",
       Task::chart,
       R"(```json
{"errors": [)",
       ParseStatus::failed,
       {},
       0,
       1,
       "no valid error entry (output cut off): repaired: 1 truncated output"},
      {"missing_comma_between_entries",
       Task::chart,
       "[" + kData + "\n" + entry("text_error", "1", "b", "y") + "]",
       ParseStatus::repaired,
       {kDataError, E("text_error", 1, "b", "y")},
       0,
       1,
       "repaired: 1 missing comma"},
      {"severity_words_and_strings",
       Task::chart,
       errors_of({entry("data_error", "\"2\""), entry("data_error", "2.0"), entry("data_error", "\"medium\""),
                  entry("data_error", "\"minor\""), entry("data_error", "\"severe\""), entry("data_error", "\"Major\""),
                  entry("data_error", "\"low\""), entry("data_error", "\"high\""),
                  entry("data_error", "\"Severity 3\""), entry("data_error", "\"3 (severe)\"")}),
       ParseStatus::repaired,
       {E("data_error", 2, "a", "x"), E("data_error", 2, "a", "x"), E("data_error", 2, "a", "x"),
        E("data_error", 1, "a", "x"), E("data_error", 3, "a", "x"), E("data_error", 3, "a", "x"),
        E("data_error", 1, "a", "x"), E("data_error", 3, "a", "x"), E("data_error", 3, "a", "x"),
        E("data_error", 3, "a", "x")},
       0,
       10,
       "repaired: 10 severity"},
      {"category_spellings",
       Task::chart,
       errors_of({entry("Data Error", "1"), entry("data-error", "1"), entry("Data", "1"), entry("TEXT_ERROR", "1"),
                  entry("StyleError", "1"), entry("structure_errors", "1"), entry(" data_error ", "1")}),
       ParseStatus::repaired,
       {E("data_error", 1, "a", "x"), E("data_error", 1, "a", "x"), E("data_error", 1, "a", "x"),
        E("text_error", 1, "a", "x"), E("style_error", 1, "a", "x"), E("structure_error", 1, "a", "x"),
        E("data_error", 1, "a", "x")},
       0,
       7,
       "repaired: 7 category spelling"},
      {"svg_category_spellings",
       Task::svg,
       errors_of({entry("text symbol", "1"), entry("Text/Symbol Error", "2"), entry("other", "3")}),
       ParseStatus::repaired,
       {E("text_symbol_error", 1, "a", "x"), E("text_symbol_error", 2, "a", "x"), E("other_error", 3, "a", "x")},
       0,
       3,
       "repaired: 3 category spelling"},
      {"key_synonyms_and_spellings",
       Task::chart,
       R"({"errors": [{"error_type": "data_error", "severity": 2, "location": "a", "desc": "x"},)"
       R"( {"Category": "text_error", "Severity": 1, "Location": "b", "details": "y"}]})",
       ParseStatus::repaired,
       {E("data_error", 2, "a", "x"), E("text_error", 1, "b", "y")},
       0,
       6,
       "repaired: 6 key name"},
      {"missing_description",
       Task::chart,
       R"({"errors": [{"category": "data_error", "severity": 2, "location": "bar 3"}]})",
       ParseStatus::repaired,
       {E("data_error", 2, "bar 3", "")},
       0,
       1,
       "repaired: 1 missing description"},
      {"non_string_location_and_description",
       Task::chart,
       R"({"errors": [{"category": "data_error", "severity": 2, "location": 3, "description": "a"},)"
       R"( {"category": "data_error", "severity": 2, "location": ["bar 1", "bar 2"], "description": "b"},)"
       R"( {"category": "data_error", "severity": 2, "location": {"x": 1}, "description": 42},)"
       R"( {"category": "data_error", "severity": 2, "location": null, "description": "d"}]})",
       ParseStatus::repaired,
       {E("data_error", 2, "3", "a"), E("data_error", 2, "bar 1, bar 2", "b"), E("data_error", 2, "{\"x\":1}", "42"),
        E("data_error", 2, "", "d")},
       0,
       4,
       "repaired: 3 location stringified, 1 description stringified"},
      {"list_under_discrepancies",
       Task::chart,
       R"({"discrepancies": [)" + kData + "]}",
       ParseStatus::repaired,
       {kDataError},
       0,
       1,
       "repaired: 1 error list key \"discrepancies\""},
      {"list_under_issues",
       Task::chart,
       R"({"issues": [)" + kData + "]}",
       ParseStatus::repaired,
       {kDataError},
       0,
       1,
       "~\"issues\""},
      {"list_under_error_list",
       Task::chart,
       R"({"error_list": [)" + kData + "]}",
       ParseStatus::repaired,
       {kDataError},
       0,
       1,
       "~\"error_list\""},
      {"list_key_capitalised",
       Task::chart,
       R"({"Errors": [)" + kData + "]}",
       ParseStatus::repaired,
       {kDataError},
       0,
       1,
       "~\"Errors\""},
      {"list_one_level_down",
       Task::chart,
       R"({"result": {"errors": [)" + kData + "]}}",
       ParseStatus::repaired,
       {kDataError},
       0,
       1,
       "repaired: 1 error list under \"result\""},
      {"zero_counts_without_list",
       Task::chart,
       R"({"counts": {"structure_error": 0, "data_error": 0, "text_error": 0, "style_error": 0}})",
       ParseStatus::repaired,
       {},
       0,
       1,
       "repaired: 1 zero counts without an error list"},
      {"long_description_cut_at_a_code_point",
       Task::chart,
       errors_of({entry("data_error", "2", "bar 3",
                        [] {
                          std::string s;
                          for (int i = 0; i < 1000; ++i) s += "\xE2\x82\xAC";  // 3000 bytes of euro signs
                          return s;
                        }())}),
       ParseStatus::repaired,
       {E("data_error", 2, "bar 3",
          [] {
            std::string s;
            for (int i = 0; i < 666; ++i) s += "\xE2\x82\xAC";  // 1998 bytes: 2000 would split a sign
            return s;
          }())},
       0,
       1,
       "repaired: 1 text truncated"},
      {"invalid_utf8_replaced",
       Task::chart,
       errors_of({entry("data_error", "2", "bar 3", "bad \xFF byte")}),
       ParseStatus::repaired,
       {E("data_error", 2, "bar 3", "bad \xEF\xBF\xBD byte")},
       0,
       1,
       "repaired: 1 invalid UTF-8"},
      {"raw_newline_in_string",
       Task::chart,
       errors_of({entry("data_error", "2", "bar 3", "line 1\nline 2")}),
       ParseStatus::repaired,
       {E("data_error", 2, "bar 3", "line 1\nline 2")},
       0,
       1,
       "repaired: 1 control character in string"},
  };
}

std::vector<Case> drop_cases() {
  return {
      {"spec_example_message",
       Task::chart,
       errors_of({entry("color_error", "1"), entry("data_error", "\"2\"", "bar 3", "bar too short"),
                  entry("color_error", "3")}),
       ParseStatus::repaired,
       {kDataError},
       2,
       1,
       "2 entries dropped (unknown category \"color_error\"); repaired: 1 severity"},
      {"severity_drops",
       Task::chart,
       errors_of({kData, entry("data_error", "0"), entry("data_error", "4"), entry("data_error", "2.5"),
                  entry("data_error", "null"), entry("data_error", "\"unknown\""), entry("data_error", "true"),
                  entry("data_error", "\"2.5\""), entry("data_error", "-1"), entry("data_error", "4")}),
       ParseStatus::repaired,
       {kDataError},
       9,
       0,
       "9 entries dropped (severity 0 outside 1..3, severity 4 outside 1..3 x2, severity 2.5 is not a whole number, "
       "severity is null, unknown severity \"unknown\", severity is a boolean, severity \"2.5\" is not a whole "
       "number, severity -1 outside 1..3)"},
      {"more_than_eight_reasons_grouped_as_other",
       Task::chart,
       errors_of({entry("a", "1"), entry("b", "1"), entry("c", "1"), entry("d", "1"), entry("e", "1"), entry("f", "1"),
                  entry("g", "1"), entry("h", "1"), entry("i", "1"), entry("j", "1")}),
       ParseStatus::failed,
       {},
       10,
       0,
       "~unknown category \"h\", other x2)"},
      {"no_severity",
       Task::chart,
       R"({"errors": [{"category": "data_error", "location": "a", "description": "x"}]})",
       ParseStatus::failed,
       {},
       1,
       0,
       "no valid error entry: 1 entry dropped (no severity)"},
      {"huge_severities",
       Task::chart,
       errors_of({entry("data_error", "1e400"), entry("data_error", "99999999999999999999")}),
       ParseStatus::failed,
       {},
       2,
       1,
       "no valid error entry: 2 entries dropped (severity is not a finite number, severity 1e+20 outside 1..3); repaired: 1 non-finite "
       "number"},
      {"nan_severity",
       Task::chart,
       errors_of({kData, entry("data_error", "NaN")}),
       ParseStatus::repaired,
       {kDataError},
       1,
       1,
       "1 entry dropped (severity is null); repaired: 1 non-finite number"},
      {"table_category_in_chart",
       Task::chart,
       errors_of({kData, entry("layout_error", "2")}),
       ParseStatus::repaired,
       {kDataError},
       1,
       0,
       "1 entry dropped (category \"layout_error\" not used for chart)"},
      {"chart_category_in_table",
       Task::table,
       R"({"errors": [{"type": "style_error", "severity": 1, "description": "font"}]})",
       ParseStatus::failed,
       {},
       1,
       0,
       "no valid error entry: 1 entry dropped (category \"style_error\" not used for table)"},
      {"chart_categories_in_svg",
       Task::svg,
       errors_of({entry("data_error", "1"), entry("Text", "1")}),
       ParseStatus::failed,
       {},
       2,
       0,
       "no valid error entry: 2 entries dropped (category \"data_error\" not used for svg, category \"Text\" not used for svg)"},
      {"no_category_and_non_string_category",
       Task::chart,
       R"({"errors": [{"severity": 1, "description": "x"}, {"category": 3, "severity": 1}]})",
       ParseStatus::failed,
       {},
       2,
       0,
       "no valid error entry: 2 entries dropped (no category, category is a number)"},
      {"entries_that_are_not_objects",
       Task::chart,
       R"({"errors": ["data_error: bar 3", 5, null, )" + kData + "]}",
       ParseStatus::repaired,
       {kDataError},
       3,
       0,
       "3 entries dropped (entry is a string, entry is a number, entry is null)"},
      {"list_of_numbers",
       Task::chart,
       R"({"errors": [1, 2]})",
       ParseStatus::failed,
       {},
       2,
       0,
       "no valid error entry: 2 entries dropped (entry is a number)"},
  };
}

std::vector<Case> failure_cases() {
  return {
      {"empty", Task::chart, "", ParseStatus::failed, {}, 0, 0, "empty output"},
      {"blank", Task::table, "  \n\t", ParseStatus::failed, {}, 0, 0, "empty output"},
      {"prose_only", Task::chart, "The charts look identical.", ParseStatus::failed, {}, 0, 0, "no JSON found"},
      {"bracketed_prose",
       Task::chart,
       "see [1] and [2], f() { return; }",
       ParseStatus::failed,
       {},
       0,
       0,
       "no JSON found"},
      {"fence_without_json_or_end", Task::svg, "```json\n", ParseStatus::failed, {}, 0, 0, "no JSON found"},
      {"object_without_list", Task::chart, R"({"score": 5})", ParseStatus::failed, {}, 0, 0, "JSON has no error list"},
      {"cut_object_without_list",
       Task::chart,
       R"({"note": "x)",
       ParseStatus::failed,
       {},
       0,
       0,
       "JSON has no error list (output cut off)"},
      {"errors_not_a_list",
       Task::chart,
       R"({"errors": "none"})",
       ParseStatus::failed,
       {},
       0,
       0,
       "\"errors\" is a string, not a list"},
      {"nonzero_counts_without_list",
       Task::chart,
       R"({"counts": {"structure_error": 0, "data_error": 2, "text_error": 0, "style_error": 0}})",
       ParseStatus::failed,
       {},
       0,
       0,
       "JSON has non-zero counts but no error list"},
      {"cut_counts_without_list",
       Task::chart,
       R"({"counts": {"structure_error": 0, "data_error": 0)",
       ParseStatus::failed,
       {},
       0,
       0,
       "JSON has no error list (output cut off)"},
      {"empty_list_inside_prose",
       Task::chart,
       "the list [] is empty",
       ParseStatus::failed,
       {},
       0,
       0,
       "JSON list holds no error objects"},
      {"invalid_json",
       Task::chart,
       R"(answer: {"a": })",
       ParseStatus::failed,
       {},
       0,
       0,
       "invalid JSON at byte 14: unexpected '}'"},
      {"too_deep",
       Task::chart,
       std::string(100, '[') + "{}" + std::string(100, ']'),
       ParseStatus::failed,
       {},
       0,
       0,
       "invalid JSON at byte 64: nested deeper than 64 levels"},
      {"think_only_without_list",
       Task::chart,
       "<think>{\"score\": 1}</think>no answer",
       ParseStatus::failed,
       {},
       0,
       0,
       "in the <think> block: JSON has no error list"},
  };
}

INSTANTIATE_TEST_SUITE_P(WellFormed, ParseCase, ::testing::ValuesIn(well_formed_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Repairs, ParseCase, ::testing::ValuesIn(repair_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Drops, ParseCase, ::testing::ValuesIn(drop_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(Failures, ParseCase, ::testing::ValuesIn(failure_cases()), case_name);

TEST(CriticParser, IsNoexcept) {
  static_assert(noexcept(parse_critic_output(Task::chart, std::string_view())));
}

TEST(CriticParser, KeepsAtMost256ErrorsAndCountsTheRest) {
  std::vector<std::string> entries(300, kData);
  const ParsedCritique got = parse_critic_output(Task::chart, errors_of(entries));
  EXPECT_EQ(got.report.status, ParseStatus::repaired);
  ASSERT_EQ(got.errors.size(), 256u);
  EXPECT_EQ(got.errors.back(), kDataError);
  EXPECT_EQ(got.report.dropped, 44);
  EXPECT_EQ(got.report.repairs, 0);
  EXPECT_EQ(got.report.message, "44 entries dropped (beyond the first 256 errors)");
}

// Real-looking answers of the three critics, kept as files.
std::string fixture(std::string_view name) {
  return test::read_file(test::source_dir() / "tests/reward/parser/fixtures" / name);
}

TEST(CriticParserFixtures, ChartFencedWithProse) {
  const ParsedCritique got = parse_critic_output(Task::chart, fixture("chart_fenced.txt"));
  EXPECT_EQ(got.report.status, ParseStatus::ok) << got.report.message;
  EXPECT_EQ(got.errors,
            (std::vector<CriticError>{E("data_error", 2, "bar 3 of the left subplot",
                                        "the bar is about half the height of the reference bar"),
                                      E("text_error", 1, "x-axis label", "reads \"Year\" instead of \"Years\""),
                                      E("style_error", 1, "legend", "the legend uses a serif font")}));
}

TEST(CriticParserFixtures, ChartThinkBlockDraftIgnored) {
  const ParsedCritique got = parse_critic_output(Task::chart, fixture("chart_think.txt"));
  EXPECT_EQ(got.report.status, ParseStatus::ok) << got.report.message;
  EXPECT_EQ(got.errors,
            (std::vector<CriticError>{E("style_error", 2, "line 2", "the second line is red instead of blue")}));
}

TEST(CriticParserFixtures, TableBare) {
  const ParsedCritique got = parse_critic_output(Task::table, fixture("table_bare.txt"));
  EXPECT_EQ(got.report.status, ParseStatus::ok) << got.report.message;
  EXPECT_EQ(got.errors,
            (std::vector<CriticError>{E("numeric_error", 2, "", "row 2, column 3 reads 14.5 instead of 145"),
                                      E("layout_error", 3, "", "the header row spans 2 columns instead of 3"),
                                      E("text_error", 1, "", "\"R\xC3\xA9sum\xC3\xA9\" is spelled \"Resume\"")}));
}

TEST(CriticParserFixtures, SvgInProse) {
  const ParsedCritique got = parse_critic_output(Task::svg, fixture("svg_prose.txt"));
  EXPECT_EQ(got.report.status, ParseStatus::ok) << got.report.message;
  EXPECT_EQ(got.errors,
            (std::vector<CriticError>{E("shape_error", 2, "top-left circle", "the circle is drawn as an ellipse"),
                                      E("text_symbol_error", 1, "label under the arrow", "the arrow head is missing"),
                                      E("other_error", 1, "background", "a thin grey border was added")}));
}

TEST(CriticParserFixtures, ChartTruncatedInsideTheFence) {
  // The third entry is cut inside its description, which holds the file's final newline.
  const ParsedCritique got = parse_critic_output(Task::chart, fixture("chart_truncated.txt"));
  EXPECT_EQ(got.report.status, ParseStatus::repaired);
  EXPECT_EQ(got.errors,
            (std::vector<CriticError>{E("data_error", 3, "line 1", "the trend goes down instead of up"),
                                      E("structure_error", 2, "subplot grid", "two subplots instead of three")}));
  EXPECT_EQ(got.report.dropped, 1);
  EXPECT_EQ(got.report.repairs, 2);
  EXPECT_EQ(got.report.message,
            "1 entry dropped (entry cut off by the end of the output); repaired: 1 control character in string, 1 "
            "truncated output");
}

TEST(CriticParserFixtures, TablePythonDict) {
  // 16 single-quoted strings (keys and values) and one True.
  const ParsedCritique got = parse_critic_output(Task::table, fixture("table_python.txt"));
  EXPECT_EQ(got.report.status, ParseStatus::repaired);
  EXPECT_EQ(got.errors, (std::vector<CriticError>{E("text_error", 1, "", "the cell's text \"N/A\" is empty"),
                                                  E("numeric_error", 2, "", "total reads 12 instead of 21")}));
  EXPECT_EQ(got.report.dropped, 0);
  EXPECT_EQ(got.report.repairs, 17);
  EXPECT_EQ(got.report.message, "repaired: 16 single-quoted string, 1 Python literal");
}

}  // namespace
}  // namespace visrl::reward
