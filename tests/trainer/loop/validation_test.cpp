// Validation before and after training: the greedy settings, the files, the summary (unit), and
// build/bin/train with data.val on 1 and 2 ranks, stopped and resumed (end to end).
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/json_file.h"
#include "tests/support/multiprocess.h"
#include "tests/trainer/loop/tiny_run.h"
#include "trainer/eval/best_policy.h"
#include "trainer/eval/refine.h"
#include "trainer/loop/validation.h"

namespace visrl::test {
namespace {

using trainer::read_best_validation;
using trainer::read_validation;
using trainer::summary_entry;
using trainer::summary_table;
using trainer::ValidationOutcome;
using trainer::write_summary;
using trainer::write_validation;

TEST(Validation, OptionsAreGreedyOneAnswerPerPromptWithTheTrainingBatchWidth) {
  trainer::RolloutOptions training;
  training.generate.group_size = 8;
  training.generate.max_new_tokens = 512;
  training.generate.sampling.temperature = 0.7;
  training.generate.decode_slots = 32;  // 32 sequences decoded together
  ValidationConfig v;
  auto o = trainer::validation_options(training, v);
  EXPECT_EQ(o.generate.group_size, 1);
  EXPECT_TRUE(o.generate.sampling.greedy);
  EXPECT_TRUE(o.image_metrics);
  EXPECT_EQ(o.generate.decode_slots, 32);
  EXPECT_EQ(o.generate.max_new_tokens, 512);
  v.max_new_tokens = 100;
  EXPECT_EQ(trainer::validation_options(training, v).generate.max_new_tokens, 100);

  EXPECT_EQ(trainer::validation_size(32, v), 32u);
  v.max_items = 10;
  EXPECT_EQ(trainer::validation_size(32, v), 10u);
  EXPECT_EQ(trainer::validation_size(4, v), 4u);
}

TEST(Validation, FilesSummaryAndTable) {
  TempDir dir;
  ValidationOutcome outcome;
  outcome.metrics = {{"reward_mean", 0.25}, {"reward_std", 0.1}, {"render_ok_rate", 0.5},
                     {"ssim_mean", 0.4},    {"items", 4},        {"critic/scored", 2}};
  write_validation(dir.path(), 0, outcome);
  EXPECT_TRUE(std::filesystem::exists(dir / "validation/step_0.jsonl"));
  const auto back = read_validation(dir.path(), 0);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ((*back)["step"], 0);
  EXPECT_EQ((*back)["critic/scored"], 2);
  EXPECT_FALSE(read_validation(dir.path(), 7).has_value());

  const auto before = summary_entry(0, *back);
  EXPECT_EQ(before, (nlohmann::json{{"step", 0},
                                    {"items", 4},
                                    {"reward_mean", 0.25},
                                    {"reward_std", 0.1},
                                    {"render_ok_rate", 0.5},
                                    {"ssim_mean", 0.4}}));
  const auto after =
      summary_entry(40, {{"reward_mean", 1.5}, {"render_ok_rate", 0.75}, {"items", 4}, {"ssim_mean", 0.7}});
  const auto summary = write_summary(dir.path(), before, after);
  EXPECT_EQ(read_json_file(dir / "summary.json", "summary"), summary);
  EXPECT_EQ(summary["after"]["step"], 40);
  const auto table = summary_table(summary);
  ASSERT_EQ(table.size(), 5u);
  EXPECT_THAT(table[0], ::testing::HasSubstr("4 items"));
  EXPECT_THAT(table[1], ::testing::HasSubstr("step 40"));
  EXPECT_THAT(table[2], ::testing::MatchesRegex("reward_mean +0.250 +1.500"));
  EXPECT_THAT(table[3], ::testing::MatchesRegex("render_ok_rate +0.50 +0.75"));

  // Charts with ground truth add their rows.
  const auto charts = summary_table(write_summary(
      dir.path(), before,
      summary_entry(40, {{"items", 4}, {"chart/type_match", 0.75}, {"distinct_answer_rate", 0.5}, {"other", 1}})));
  ASSERT_EQ(charts.size(), 7u);
  EXPECT_THAT(charts[5], ::testing::MatchesRegex("chart/type_match +- +0.750"));
  EXPECT_THAT(charts[6], ::testing::MatchesRegex("distinct_answer_rate +- +0.500"));

  // A missing "before" (the run directory lost it) and a skipped validation print as "-".
  const auto partial = write_summary(dir.path(), std::nullopt, summary_entry(3, {{"skipped", "critic_unavailable"}}));
  EXPECT_TRUE(partial["before"].is_null());
  EXPECT_EQ(partial["after"]["skipped"], "critic_unavailable");
  EXPECT_THAT(summary_table(partial)[2], ::testing::MatchesRegex("reward_mean +- +-"));
}

std::vector<nlohmann::json> jsonl(const std::filesystem::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

// A held-out manifest of three items (other ids than the training ones), as a --set value.
std::string with_val(const TinyRun& run) {
  std::string manifest;
  const char* images[] = {"b", "c", "a"};
  for (int i = 0; i < 3; ++i) {
    manifest +=
        fmt::format(R"({{"id": "v{}", "task": "svg", "image": "{}", "ground_truth": "<svg/>"}})", i,
                    (source_dir() / "tests/fixtures/qwen3vl/images" / (std::string(images[i]) + ".png")).string());
    manifest += "\n";
  }
  run.dir.write("data/val.jsonl", manifest);
  return fmt::format("data.val=[{}]", (run.dir / "data/val.jsonl").string());
}

TEST(ValidationEndToEnd, BeforeAndAfterOnOneAndTwoRanksAndAcrossAResume) {
  TinyRun run;
  const auto config = run.write_config("config.yaml");
  const auto val = with_val(run);
  const auto one = run.dir / "one", two = run.dir / "two";
  auto r1 =
      run_program_ranks(1, VISRL_TRAIN_BIN, {"--config", config.string(), "--set", val, "--run-dir", one.string()},
                        std::chrono::seconds(240));
  ASSERT_TRUE(r1.ok()) << r1.summary();
  const auto summary = read_json_file(one / "summary.json", "summary");
  ASSERT_TRUE(summary["before"].is_object()) << summary.dump();
  ASSERT_TRUE(summary["after"].is_object()) << summary.dump();
  EXPECT_EQ(summary["before"]["step"], 0);
  EXPECT_EQ(summary["after"]["step"], 3);
  for (const char* when : {"before", "after"}) {
    EXPECT_EQ(summary[when]["items"], 3) << when;
    for (const char* key : {"reward_mean", "render_ok_rate", "ssim_mean"}) {
      EXPECT_TRUE(summary[when][key].is_number()) << when << " " << key;
    }
  }
  // One greedy answer per held-out item, scored with the run's formula.
  const auto before = jsonl(one / "validation/step_0.jsonl");
  ASSERT_EQ(before.size(), 3u);
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i]["id"], fmt::format("v{}/0", i));
    EXPECT_TRUE(before[i]["reward"].is_number());
  }

  // Two ranks each answer a share, and greedy decoding gives the same answers and numbers.
  // The run stops after step 2: no summary yet; the resumed run measures "after" and reuses the
  // "before" of the first process.
  auto r2 = run_program_ranks(
      2, VISRL_TRAIN_BIN, {"--config", config.string(), "--set", val, "--run-dir", two.string(), "--max-steps", "2"},
      std::chrono::seconds(240));
  ASSERT_TRUE(r2.ok()) << r2.summary();
  EXPECT_FALSE(std::filesystem::exists(two / "summary.json"));
  const auto before_two = jsonl(two / "validation/step_0.jsonl");
  ASSERT_EQ(before_two.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(before_two[i]["answer"], before[i]["answer"]) << i;
    EXPECT_EQ(before_two[i]["reward"], before[i]["reward"]) << i;
  }
  const auto step0_written = std::filesystem::last_write_time(two / "validation/step_0.json");
  auto r3 = run_program_ranks(
      1, VISRL_TRAIN_BIN, {"--config", config.string(), "--set", val, "--run-dir", two.string(), "--resume", "auto"},
      std::chrono::seconds(240));
  ASSERT_TRUE(r3.ok()) << r3.summary();
  EXPECT_EQ(std::filesystem::last_write_time(two / "validation/step_0.json"), step0_written);
  const auto resumed = read_json_file(two / "summary.json", "summary");
  EXPECT_EQ(resumed["before"], summary["before"]);
  EXPECT_EQ(resumed["after"]["step"], 3);

  // validation.before_and_after: false measures nothing.
  const auto off = run.dir / "off";
  auto r4 = run_program_ranks(1, VISRL_TRAIN_BIN,
                              {"--config", config.string(), "--set", val, "--run-dir", off.string(), "--set",
                               "validation.before_and_after=false"},
                              std::chrono::seconds(240));
  ASSERT_TRUE(r4.ok()) << r4.summary();
  EXPECT_FALSE(std::filesystem::exists(off / "summary.json"));
  EXPECT_FALSE(std::filesystem::exists(off / "validation"));
}

std::string output(const MultiProcessResult& r) {
  return r.ranks.at(0).out + r.ranks.at(0).err;
}

// The step of the best validation among validation/step_<N>.json: ties keep the earlier step.
std::pair<int64_t, double> best_of(const std::filesystem::path& run, const std::vector<int64_t>& steps,
                                   const std::string& metric, bool larger_is_better) {
  std::pair<int64_t, double> best{-1, 0};
  for (int64_t step : steps) {
    const auto m = read_json_file(run / fmt::format("validation/step_{}.json", step), "validation");
    const double v = m.at(metric).get<double>();
    if (best.first < 0 || (larger_is_better ? v > best.second : v < best.second)) best = {step, v};
  }
  return best;
}

TEST(ValidationEndToEnd, EveryNStepsKeepsTheBestPolicyAcrossAResume) {
  TinyRun run;
  const auto config = run.write_config("config.yaml", "checkpoint:\n  every_steps: 1\n");
  const auto val = with_val(run);
  const auto dir = run.dir / "periodic";
  auto r = run_program_ranks(
      1, VISRL_TRAIN_BIN,
      {"--config", config.string(), "--set", val, "--run-dir", dir.string(), "--set", "validation.every_steps=1",
       "--set", "validation.best_metric=ssim_mean", "--set", "validation.best_mode=min"},
      std::chrono::seconds(240));
  ASSERT_TRUE(r.ok()) << r.summary();
  for (int64_t step = 0; step <= 3; ++step) {
    const auto m = read_validation(dir, step);
    ASSERT_TRUE(m.has_value()) << step;
    EXPECT_EQ((*m)["items"], 3);
    EXPECT_TRUE((*m)["mse"].is_number()) << "SVG items get the pixel MSE";
    EXPECT_TRUE((*m)["svg/render_ok_rate"].is_number());
  }
  // Each step's metrics line carries that step's validation.
  const auto lines = jsonl(dir / "metrics.jsonl");
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["val/reward_mean"], (*read_validation(dir, static_cast<int64_t>(i) + 1))["reward_mean"]) << i;
  }
  const auto [step, value] = best_of(dir, {0, 1, 2, 3}, "ssim_mean", false);
  const auto best = read_best_validation(dir / "best");
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->metric, "ssim_mean");
  EXPECT_EQ(best->mode, "min");
  EXPECT_EQ(best->step, step);
  EXPECT_EQ(best->value, value);
  EXPECT_TRUE(std::filesystem::exists(dir / "best/model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir / "best/tokenizer.json"));
  // The final step's validation is the summary's "after": measured once.
  EXPECT_EQ(read_json_file(dir / "summary.json", "summary")["after"]["ssim_mean"],
            (*read_validation(dir, 3))["ssim_mean"]);

  // Resumed from step 1, a record of step 1 that nothing beats stays; one newer than the
  // checkpoint (a future the resume replaces) is set aside, not deleted.
  auto write_record = [&](int64_t s, double v) {
    std::ofstream(dir / "best" / trainer::kBestValidationFile)
        << trainer::to_json(trainer::BestValidation{"ssim_mean", "min", s, v}).dump();
  };
  write_record(1, -10.0);
  const std::vector<std::string> resume = {"--config",  config.string(),
                                           "--set",     val,
                                           "--run-dir", dir.string(),
                                           "--resume",  (dir / "checkpoints/step_1").string(),
                                           "--set",     "validation.every_steps=1",
                                           "--set",     "validation.best_metric=ssim_mean",
                                           "--set",     "validation.best_mode=min"};
  r = run_program_ranks(1, VISRL_TRAIN_BIN, resume, std::chrono::seconds(240));
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_EQ(read_best_validation(dir / "best")->value, -10.0);
  EXPECT_EQ(read_best_validation(dir / "best")->step, 1);

  write_record(3, -10.0);
  r = run_program_ranks(1, VISRL_TRAIN_BIN, resume, std::chrono::seconds(240));
  ASSERT_TRUE(r.ok()) << r.summary();
  ASSERT_TRUE(std::filesystem::exists(dir / "best.abandoned-step_3" / trainer::kBestValidationFile));
  const auto replaced = read_best_validation(dir / "best");
  ASSERT_TRUE(replaced.has_value());
  const auto [new_step, new_value] = best_of(dir, {2, 3}, "ssim_mean", false);
  EXPECT_EQ(replaced->step, new_step);
  EXPECT_EQ(replaced->value, new_value);

  // A metric the validation does not have (no table items here) keeps no best policy.
  const auto none = run.dir / "none";
  r = run_program_ranks(1, VISRL_TRAIN_BIN,
                        {"--config", config.string(), "--set", val, "--run-dir", none.string(), "--set",
                         "validation.best_metric=table/teds"},
                        std::chrono::seconds(240));
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_FALSE(std::filesystem::exists(none / "best"));
  EXPECT_THAT(output(r), ::testing::HasSubstr("\"table/teds\" is not among the validation metrics"));
}

// build/bin/eval answers as validation does: same answers and numbers for the same policy, data
// and settings; table items without images get references from their ground truth and TEDS.
TEST(EvalProgram, MatchesValidationAndMeasuresTables) {
  TinyRun run;
  const auto config = run.write_config("config.yaml");
  const auto val = with_val(run);
  const auto trained = run.dir / "trained";
  auto r =
      run_program_ranks(1, VISRL_TRAIN_BIN, {"--config", config.string(), "--set", val, "--run-dir", trained.string()},
                        std::chrono::seconds(240));
  ASSERT_TRUE(r.ok()) << r.summary();

  const auto out = run.dir / "eval";
  r = run_program_ranks(1, VISRL_EVAL_BIN,
                        {"--model", (run.dir / "model").string(), "--data", (run.dir / "data/val.jsonl").string(),
                         "--config", config.string(), "--out", out.string()},
                        std::chrono::seconds(240));
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_THAT(output(r), ::testing::HasSubstr("render"));
  const auto summary = read_json_file(out / "summary.json", "eval summary");
  const auto before = *read_validation(trained, 0);
  for (const char* key : {"reward_mean", "render_ok_rate", "ssim_mean", "mse"}) {
    EXPECT_EQ(summary["metrics"][key], before[key]) << key;
  }
  EXPECT_EQ(summary["items"], 3);
  EXPECT_EQ(summary["critic"], "pixel");
  const auto items = jsonl(out / "items.jsonl");
  const auto validated = jsonl(trained / "validation/step_0.jsonl");
  ASSERT_EQ(items.size(), 3u);
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i]["answer"], validated[i]["answer"]) << i;
    EXPECT_TRUE(items[i]["metrics"]["ssim"].is_number()) << i;
  }

  // The final policy from a checkpoint directory (its model/), on tables drawn from ground truth.
  run.dir.write(
      "data/tables.jsonl",
      "{\"id\": \"t0\", \"task\": \"table\", \"image\": \"t0.png\", \"ground_truth\": \"| a | b |\\n|---|---|\\n| 1 | "
      "2 |\\n\"}\n"
      "{\"id\": \"t1\", \"task\": \"table\", \"image\": \"t1.png\", \"ground_truth\": \"| x |\\n|---|\\n| 9 |\\n\"}\n");
  const auto tables = run.dir / "eval-tables";
  r = run_program_ranks(
      1, VISRL_EVAL_BIN,
      {"--model", (trained / "checkpoints/step_3").string(), "--data", (run.dir / "data/tables.jsonl").string(),
       "--config", config.string(), "--out", tables.string(), "--json"},
      std::chrono::seconds(240));
  ASSERT_TRUE(r.ok()) << r.summary();
  const auto printed = nlohmann::json::parse(r.ranks.at(0).out);
  EXPECT_EQ(printed["items"], 2);
  const auto& table = printed["tasks"]["table"];
  EXPECT_EQ(table["items"], 2);
  // The tiny random policy writes no table: TEDS 0 and edit distance 1, counted, not skipped.
  EXPECT_EQ(table["teds"], 0.0);
  EXPECT_EQ(table["teds_s"], 0.0);
  EXPECT_EQ(table["edit_distance"], 1.0);
  EXPECT_TRUE(std::filesystem::exists(tables / "references"));

  // Bad input names what is wrong.
  r = run_program_ranks(1, VISRL_EVAL_BIN,
                        {"--model", (run.dir / "model").string(), "--data", (run.dir / "missing.jsonl").string()},
                        std::chrono::seconds(60));
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(output(r), ::testing::HasSubstr("missing.jsonl"));
}

TEST(Refine, RevisionRequestsCarryTheFeedback) {
  reward::RolloutRecord r;
  r.answer = "```svg\n<svg/>\n```";
  r.sample.render_status = render::RenderStatus::ok;
  r.sample.critic_status = reward::CriticStatus::scored;
  r.sample.errors = {{"style_error", 1, "", "fill is a lighter shade"}, {"shape_error", 3, "top left", "circle moved"}};
  const auto text = trainer::revision_request(r);
  // Severe first, with the location.
  EXPECT_LT(text.find("[severity 3] shape_error (top left): circle moved"),
            text.find("[severity 1] style_error: fill is a lighter shade"));
  r.sample.render_status = render::RenderStatus::runtime_error;
  r.render_reason = "NameError: plt";
  EXPECT_THAT(trainer::revision_request(r), ::testing::HasSubstr("did not render (runtime_error: NameError: plt)"));
  r.sample.render_status = render::RenderStatus::no_code;
  EXPECT_THAT(trainer::revision_request(r), ::testing::HasSubstr("no code block"));

  trainer::RefinedItem item;
  item.id = "p0";
  EXPECT_EQ(trainer::revision_chat("Draw it.", item).size(), 1u);
  item.rounds.push_back({r});
  item.rounds.push_back({r});
  const auto chat = trainer::revision_chat("Draw it.", item);
  ASSERT_EQ(chat.size(), 5u);  // task, then (answer, feedback) per round
  EXPECT_EQ(chat[0].content[0].kind, policy::ContentPart::Kind::image);
  EXPECT_EQ(chat[0].content[1].text, "Draw it.");
  EXPECT_EQ(chat[1].role, "assistant");
  EXPECT_EQ(chat[1].content[0].text, r.answer);
  EXPECT_EQ(chat[4].role, "user");
  EXPECT_EQ(chat[4].content[0].text, trainer::revision_request(r));
}

// build/bin/refine: the draft is the policy's greedy answer (as eval gives it), each round is
// scored, and items stop at the round budget or the threshold.
TEST(RefineProgram, RoundsScoresAndStops) {
  TinyRun run;
  const auto config = run.write_config("config.yaml");
  with_val(run);
  const auto data = (run.dir / "data/val.jsonl").string();
  const auto out = run.dir / "refine";
  auto r = run_program_ranks(1, VISRL_REFINE_BIN,
                             {"--model", (run.dir / "model").string(), "--data", data, "--config", config.string(),
                              "--rounds", "2", "--out", out.string()},
                             std::chrono::seconds(240));
  ASSERT_TRUE(r.ok()) << r.summary();
  EXPECT_THAT(output(r), ::testing::HasSubstr("reward_mean"));
  const auto rounds = jsonl(out / "rounds.jsonl");
  const auto summary = read_json_file(out / "summary.json", "refine summary");
  // The tiny policy never draws a clean render: every item runs the draft and two revisions.
  ASSERT_EQ(rounds.size(), 9u);
  ASSERT_EQ(summary["rounds"].size(), 3u);
  double round1 = 0;
  for (const auto& line : rounds) {
    EXPECT_TRUE(line["reward"].is_number());
    if (line["round"] == 1) round1 += line["reward"].get<double>();
  }
  EXPECT_NEAR(summary["rounds"][1]["reward_mean"].get<double>(), round1 / 3, 1e-12);
  EXPECT_EQ(summary["max_rounds"], 2);

  const auto evaluated = run.dir / "eval";
  r = run_program_ranks(1, VISRL_EVAL_BIN,
                        {"--model", (run.dir / "model").string(), "--data", data, "--config", config.string(), "--out",
                         evaluated.string()},
                        std::chrono::seconds(240));
  ASSERT_TRUE(r.ok()) << r.summary();
  const auto drafts = jsonl(evaluated / "items.jsonl");
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(rounds[3 * i]["answer"], drafts[i]["answer"]) << i;

  // A threshold every draft reaches stops after round 0; one image works without a manifest.
  r = run_program_ranks(1, VISRL_REFINE_BIN,
                        {"--model", (run.dir / "model").string(), "--image",
                         (source_dir() / "tests/fixtures/qwen3vl/images/a.png").string(), "--task", "svg", "--config",
                         config.string(), "--threshold", "-1000", "--json"},
                        std::chrono::seconds(240));
  ASSERT_TRUE(r.ok()) << r.summary();
  const auto one = nlohmann::json::parse(r.ranks.at(0).out);
  EXPECT_EQ(one["rounds"].size(), 1u);
  EXPECT_EQ(one["final"]["items"], 1);
  r = run_program_ranks(1, VISRL_REFINE_BIN, {"--model", (run.dir / "model").string(), "--image", "x.png"},
                        std::chrono::seconds(60));
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(output(r), ::testing::HasSubstr("--task"));
}

}  // namespace
}  // namespace visrl::test
