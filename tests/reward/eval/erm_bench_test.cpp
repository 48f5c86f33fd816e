// VC-RewardBench scoring: the built-in matcher, the data loader's errors, F1h / F1s / Sc on the
// hand-made file with answers worked out by hand (tests/fixtures/erm_bench), the judge's reply
// parser, and build/bin/erm-bench on it and on synthetic triples scored by the pixel critic.
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "reward/eval/erm_bench.h"
#include "reward/eval/llm_judge.h"
#include "reward/eval/synthetic.h"
#include "tests/support/multiprocess.h"
#include "tests/test_util.h"

namespace visrl::reward::eval {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::filesystem::path fixtures() {
  return test::source_dir() / "tests/fixtures/erm_bench";
}

nlohmann::json expected() {
  return nlohmann::json::parse(test::read_file(fixtures() / "expected.json"));
}

TEST(ErrorMatcher, ContentWords) {
  EXPECT_THAT(content_words("A #D62728 shape is missing."), ElementsAre("#d62728", "shape", "missing"));
  EXPECT_THAT(content_words("value 1.5 vs 2, colour centre 45%"),
              ElementsAre("value", "1.5", "2", "color", "center", "45%"));
  EXPECT_THAT(content_words("the the THE"), ElementsAre());
  EXPECT_DOUBLE_EQ(text_similarity("red circle moved", "circle shifted"), 0.4);
  EXPECT_DOUBLE_EQ(text_similarity("", "circle"), 0.0);
  EXPECT_DOUBLE_EQ(text_similarity("Circle moved", "circle MOVED!"), 1.0);
  EXPECT_EQ(normalize_type("Data Error"), "data_error");
}

TEST(ErrorMatcher, OneToOneWithinTypeBestFirst) {
  const std::vector<CriticError> predicted = {{"data_error", 2, "", "bar March wrong"},
                                              {"data_error", 2, "", "bar March 40 instead 25"},
                                              {"text_error", 1, "", "bar March 40 instead 25"}};
  const std::vector<HumanError> human = {{"data_error", 2, "bar March 40 instead 25", ""}};
  const auto m = builtin_match(predicted, human, {});
  // The exact description wins the only human error; the text_error is another type.
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].predicted, 1u);
  EXPECT_EQ(m[0].level, MatchLevel::yes);

  // Thresholds decide the level, and below partial there is no match.
  MatcherOptions strict;
  strict.yes_threshold = 0.9;
  strict.partial_threshold = 0.3;
  const std::vector<CriticError> one = {{"data_error", 2, "", "bar March wrong"}};
  // {bar, march, wrong} vs {bar, march, 40, 25} ("instead" is a stop word): 2 x 2 / 7.
  const auto partial = builtin_match(one, human, strict);
  ASSERT_EQ(partial.size(), 1u);
  EXPECT_EQ(partial[0].level, MatchLevel::partial);
  EXPECT_DOUBLE_EQ(partial[0].score, 4.0 / 7.0);
  strict.partial_threshold = 0.6;
  EXPECT_TRUE(builtin_match(one, human, strict).empty());

  // A shared location lifts a partial description to yes; a different one lowers it.
  const std::vector<CriticError> located = {{"shape_error", 3, "top left", "circle shifted"}};
  std::vector<HumanError> target = {{"shape_error", 3, "red circle moved", "top left"}};
  EXPECT_EQ(builtin_match(located, target, {})[0].level, MatchLevel::yes);
  target[0].location = "bottom right";  // 0.75 x 0.4 + 0.25 x 0 = 0.3
  const auto elsewhere = builtin_match(located, target, {});
  ASSERT_EQ(elsewhere.size(), 1u);
  EXPECT_EQ(elsewhere[0].level, MatchLevel::partial);
  EXPECT_DOUBLE_EQ(elsewhere[0].score, 0.3);
}

TEST(ErmBench, HandMadeItemsGiveTheHandWorkedAnswers) {
  const auto items = load_bench(fixtures() / "handmade.jsonl");
  ASSERT_EQ(items.size(), 10u);
  const auto verdicts = load_predictions(fixtures() / "handmade_predictions.jsonl", items);
  const auto want = expected();
  BenchSummary summary;
  for (const auto& item : items) {
    SCOPED_TRACE(item.id);
    const auto& v = verdicts.at(item.id);
    const auto matches = builtin_match(v.errors, item.human, {});
    std::vector<nlohmann::json> got;
    for (const auto& m : matches) got.push_back({m.predicted, m.human, std::string(to_string(m.level))});
    EXPECT_EQ(nlohmann::json(got), want["matches"][item.id]);
    summary.add(item.category, score_item(v.errors, item.human, matches), v.scored);
  }
  const auto j = summary.to_json();
  auto check = [](const nlohmann::json& got, const nlohmann::json& answers) {
    for (const auto& [key, value] : answers.items()) {
      SCOPED_TRACE(key);
      if (value.is_number_float()) {
        EXPECT_NEAR(got.at(key).get<double>(), value.get<double>(), 1e-12);
      } else {
        EXPECT_EQ(got.at(key), value);
      }
    }
  };
  for (const auto& [category, values] : want["categories"].items()) {
    SCOPED_TRACE(category);
    check(j["categories"][category], values);
  }
  check(j["pooled"], want["pooled"]);
  EXPECT_EQ(j["types"]["svg/text_symbol_error"]["human"], 1);
  EXPECT_EQ(j["types"]["svg/text_symbol_error"]["predicted"], 0);
}

TEST(ErmBench, BadDataNamesTheLineAndTheKey) {
  test::TempDir dir;
  auto error_of = [&](const std::string& line) -> std::string {
    const auto path = dir.write("bench.jsonl", "\n" + line + "\n");
    try {
      load_bench(path);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::format);
      return e.what();
    }
    return "no error";
  };
  const std::string ok = R"("gt_img_path": "a.png", "pred_img_path": "b.png")";
  EXPECT_THAT(error_of("{not json"), HasSubstr("bench.jsonl:2: not JSON"));
  EXPECT_THAT(error_of("{" + ok + R"(, "category": "chart"})"), HasSubstr(":2: missing key \"human_errors\""));
  EXPECT_THAT(error_of("{" + ok + R"(, "category": "plot", "human_errors": []})"),
              HasSubstr("must be chart, table or svg"));
  EXPECT_THAT(
      error_of("{" + ok + R"(, "category": "table", "human_errors": [{"type": "shape_error", "severity": 1}]})"),
      HasSubstr("human_errors[0]: \"shape_error\" is not an error type of table items"));
  EXPECT_THAT(error_of("{" + ok + R"(, "category": "svg", "human_errors": [{"type": "Shape Error", "severity": 4}]})"),
              HasSubstr("\"severity\" must be 1, 2 or 3, got 4"));
  EXPECT_THAT(error_of(R"({"id": "x", )" + ok + R"(, "category": "svg", "human_errors": []})" + "\n" +
                       R"({"id": "x", )" + ok + R"(, "category": "svg", "human_errors": []})"),
              HasSubstr(":3: duplicate id \"x\""));
  // Image paths resolve against the file's directory; a type's spelling is normalised.
  const auto path = dir.write(
      "ok.jsonl", "{" + ok + R"(, "category": "svg", "human_errors": [{"type": "Shape Error", "severity": 2}]})");
  const auto items = load_bench(path);
  EXPECT_EQ(items[0].gt_image, dir.path() / "a.png");
  EXPECT_EQ(items[0].human[0].type, "shape_error");
  EXPECT_EQ(items[0].id, path.string() + ":1");

  // A prediction file must cover every item.
  const auto predictions = dir.write("p.jsonl", R"({"id": "other", "scored": true, "errors": []})");
  try {
    load_predictions(predictions, items);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no prediction for item"));
  }
  // Raw critic text goes through the tolerant parser.
  dir.write(
      "raw.jsonl",
      "{\"id\": \"" + items[0].id +
          "\", \"raw\": \"```json\\n{\\\"errors\\\": [{\\\"category\\\": \\\"Shape Error\\\", "
          "\\\"severity\\\": \\\"2\\\", \\\"location\\\": \\\"top\\\", \\\"description\\\": \\\"x\\\"}]}\\n```\"}");
  const auto raw = load_predictions(dir / "raw.jsonl", items);
  ASSERT_EQ(raw.at(items[0].id).errors.size(), 1u);
  EXPECT_TRUE(raw.at(items[0].id).scored);
  EXPECT_EQ(raw.at(items[0].id).errors[0].category, "shape_error");
}

TEST(LlmJudge, ReplyParserChecksEveryMatch) {
  std::string why;
  auto m = parse_judge_reply(
      "Sure.\n```json\n{\"matches\": [{\"predicted\": 2, \"human\": 1, \"level\": \"yes\"}, "
      "{\"predicted\": 1, \"human\": 2, \"level\": \"partial\"}]}\n```",
      2, 2, &why);
  ASSERT_TRUE(m.has_value()) << why;
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0].predicted, 1u);
  EXPECT_EQ((*m)[0].human, 0u);
  EXPECT_EQ((*m)[0].level, MatchLevel::yes);
  EXPECT_EQ((*m)[1].level, MatchLevel::partial);
  EXPECT_TRUE(parse_judge_reply(R"({"matches": []})", 1, 1, &why)->empty());
  EXPECT_FALSE(parse_judge_reply("no idea", 1, 1, &why));
  EXPECT_THAT(why, HasSubstr("no {\"matches\""));
  EXPECT_FALSE(parse_judge_reply(R"({"matches": [{"predicted": 3, "human": 1, "level": "yes"}]})", 2, 1, &why));
  EXPECT_THAT(why, HasSubstr("out of range"));
  EXPECT_FALSE(parse_judge_reply(
      R"({"matches": [{"predicted": 1, "human": 1, "level": "yes"}, {"predicted": 1, "human": 2, "level": "yes"}]})", 2,
      2, &why));
  EXPECT_THAT(why, HasSubstr("matched twice"));
  EXPECT_FALSE(parse_judge_reply(R"({"matches": [{"predicted": 1, "human": 1, "level": "maybe"}]})", 1, 1, &why));
  EXPECT_THAT(why, HasSubstr("level"));

  const JudgeGroup g{"c4",
                     "data_error",
                     {{"data_error", 1, "", "April value looks lower"}},
                     {{"data_error", 3, "the April bar is missing", "x axis"}}};
  const auto prompt = judge_prompt(g);
  EXPECT_THAT(prompt, HasSubstr("1. [severity 3] (x axis) the April bar is missing"));
  EXPECT_THAT(prompt, HasSubstr("1. [severity 1] April value looks lower"));
}

std::string output(const test::MultiProcessResult& r) {
  return r.ranks.at(0).out + r.ranks.at(0).err;
}

TEST(ErmBenchProgram, HandMadeFileThroughTheCommandLine) {
  test::TempDir dir;
  auto r = test::run_program_ranks(
      1, VISRL_ERM_BENCH_BIN,
      {"--data", (fixtures() / "handmade.jsonl").string(), "--predictions",
       (fixtures() / "handmade_predictions.jsonl").string(), "--json", "--out", (dir / "out").string()},
      std::chrono::seconds(60));
  ASSERT_TRUE(r.ok()) << r.summary();
  const auto j = nlohmann::json::parse(r.ranks[0].out);
  const auto want = expected();
  EXPECT_NEAR(j["pooled"]["f1_hard"].get<double>(), want["pooled"]["f1_hard"].get<double>(), 1e-12);
  EXPECT_NEAR(j["pooled"]["f1_soft"].get<double>(), want["pooled"]["f1_soft"].get<double>(), 1e-12);
  EXPECT_NEAR(j["pooled"]["sc"].get<double>(), want["pooled"]["sc"].get<double>(), 1e-12);
  EXPECT_NEAR(j["categories"]["table"]["f1_soft"].get<double>(), want["categories"]["table"]["f1_soft"].get<double>(),
              1e-12);
  // The written predictions re-score to the same numbers.
  r = test::run_program_ranks(1, VISRL_ERM_BENCH_BIN,
                              {"--data", (fixtures() / "handmade.jsonl").string(), "--predictions",
                               (dir / "out/predictions.jsonl").string(), "--json"},
                              std::chrono::seconds(60));
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_EQ(nlohmann::json::parse(r.ranks[0].out)["pooled"], j["pooled"]);

  // The table names every category; a bad file is a usage error naming it.
  r = test::run_program_ranks(1, VISRL_ERM_BENCH_BIN,
                              {"--data", (fixtures() / "handmade.jsonl").string(), "--predictions",
                               (fixtures() / "handmade_predictions.jsonl").string()},
                              std::chrono::seconds(60));
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_THAT(output(r), HasSubstr("pooled       10        1   47.6   57.1   66.1"));
  r = test::run_program_ranks(1, VISRL_ERM_BENCH_BIN, {"--data", (dir / "nope.jsonl").string()},
                              std::chrono::seconds(60));
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(output(r), HasSubstr("nope.jsonl"));
}

TEST(ErmBenchProgram, PixelCriticOnSyntheticTriples) {
  // The quickstart's triples (datagen --triples writes the same): reference, light and heavy
  // corruptions with injected errors.
  test::TempDir dir;
  TripleWriteOptions write;
  for (Task task : {Task::chart, Task::table, Task::svg}) {
    write_triples(dir / "bench", generate_triples(task, 4, 11), write);
    write.append = true;
  }
  auto r = test::run_program_ranks(1, VISRL_ERM_BENCH_BIN,
                                   {"--data", (dir / "bench/triples.jsonl").string(), "--critic", "pixel", "--json",
                                    "--out", (dir / "out").string()},
                                   std::chrono::seconds(120));
  ASSERT_TRUE(r.ok()) << r.summary();
  const auto j = nlohmann::json::parse(r.ranks[0].out);
  EXPECT_EQ(j["pooled"]["items"], 24);
  EXPECT_EQ(j["pooled"]["unscored"], 0);
  for (const char* category : {"chart", "table", "svg"}) {
    SCOPED_TRACE(category);
    const auto& c = j["categories"][category];
    EXPECT_EQ(c["items"], 8);
    EXPECT_LE(c["f1_hard"].get<double>(), c["f1_soft"].get<double>());
    // The pixel critic finds the injected errors' number and weight (pixel-critic-eval: Pearson
    // about 0.95); its descriptions are its own, so most matches are partial.
    EXPECT_GT(c["sc"].get<double>(), 0.6);
  }
  EXPECT_GT(j["pooled"]["f1_soft"].get<double>(), 0.1);
  EXPECT_GT(j["pooled"]["partial"].get<int64_t>(), 0);
  // Every line of predictions.jsonl has the critic's errors and the matches.
  std::ifstream in(dir / "out/predictions.jsonl");
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    const auto p = nlohmann::json::parse(line);
    EXPECT_TRUE(p["scored"].get<bool>());
    EXPECT_TRUE(p["matches"].is_array());
  }
  EXPECT_EQ(lines, 24);
}

}  // namespace
}  // namespace visrl::reward::eval
