#include "core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "tests/test_util.h"

namespace visrl {
namespace {

using test::TempDir;
using ::testing::HasSubstr;

// The message of the config error `load` throws; fails the test when it does not throw.
template <typename F>
std::string config_error(F&& load) {
  try {
    load();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_EQ(e.exit_code(), 2);
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

TEST(Config, NoFileGivesTheDefaults) {
  LoadedConfig loaded = load_config("", {});
  EXPECT_EQ(to_yaml(loaded.config), to_yaml(Config{}));
  EXPECT_TRUE(loaded.origins.empty());
  EXPECT_EQ(loaded.config.rollout.group_size, 8);
  EXPECT_EQ(loaded.config.reward.critic, "pixel");
}

TEST(Config, FileValuesLandInTheStructsWithTheirOrigin) {
  TempDir dir;
  auto path = dir.write("run.yaml",
                        "seed: 7\n"
                        "model:\n"
                        "  path: /ckpt/qwen3-vl\n"
                        "  freeze_vision: yes\n"
                        "rollout:\n"
                        "  group_size: 4\n"
                        "  temperature: 0.7\n"
                        "  stop: [\"```\\n\", END]\n"
                        "render:\n"
                        "  svg: {width: 512}\n"
                        "reward:\n"
                        "  extra_terms: {ssim: 0.5}\n"
                        "algorithm:\n"
                        "  clip_ratio_high: 0.28\n");
  LoadedConfig loaded = load_config(path, {});
  const Config& c = loaded.config;
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.model.path, "/ckpt/qwen3-vl");
  EXPECT_TRUE(c.model.freeze_vision);
  EXPECT_EQ(c.rollout.group_size, 4);
  EXPECT_DOUBLE_EQ(c.rollout.temperature, 0.7);
  EXPECT_EQ(c.rollout.stop, (std::vector<std::string>{"```\n", "END"}));
  EXPECT_EQ(c.render.svg.width, 512);
  EXPECT_EQ(c.render.svg.height, 336);  // untouched siblings keep their defaults
  EXPECT_EQ(c.reward.extra_terms.at("ssim"), 0.5);
  EXPECT_DOUBLE_EQ(c.algorithm.clip_ratio_high, 0.28);
  EXPECT_EQ(loaded.origins.at("algorithm.clip_ratio_high"), path.string() + ":14");
  EXPECT_EQ(loaded.origins.at("render.svg.width"), path.string() + ":10");
}

TEST(Config, BadValueNamesFileLineAndKeyPath) {
  TempDir dir;
  auto path = dir.write("bad.yaml", "algorithm:\n  kl_coef: 0.01\n  clip_ratio_high: abc\n");
  EXPECT_EQ(config_error([&] { load_config(path, {}); }),
            path.string() + ":3: algorithm.clip_ratio_high: expected a number > 0, got \"abc\"");
}

TEST(Config, ValuesOfTheWrongShapeOrRangeAreRejected) {
  TempDir dir;
  auto path = dir.write("bad.yaml",
                        "rollout:\n"
                        "  group_size: 2.5\n"   // 2
                        "  top_p: 0\n"          // 3
                        "  temperature: [1]\n"  // 4
                        "  max_new_tokens:\n"   // 5
                        "model:\n"
                        "  freeze_vision: maybe\n"  // 7
                        "  device: tpu\n"           // 8
                        "algorithm:\n"
                        "  adv_estimator: ppo\n"    // 10
                        "  clip_ratio_low: -0.1\n"  // 11
                        "reward:\n"
                        "  on_failure: {no_code: lots}\n"  // 13
                        "  extra_terms: {sim: 1}\n");      // 14
  std::string msg = config_error([&] { load_config(path, {}); });
  const std::string f = path.string();
  EXPECT_THAT(msg, HasSubstr(f + ":2: rollout.group_size: expected an integer > 0, got \"2.5\""));
  EXPECT_THAT(msg, HasSubstr(f + ":3: rollout.top_p: expected a number in (0, 1], got 0"));
  EXPECT_THAT(msg, HasSubstr(f + ":4: rollout.temperature: expected a number > 0, got a list"));
  EXPECT_THAT(msg, HasSubstr("rollout.max_new_tokens: expected an integer > 0, got nothing"));
  EXPECT_THAT(msg, HasSubstr(f + ":7: model.freeze_vision: expected true or false, got \"maybe\""));
  EXPECT_THAT(msg, HasSubstr(f + ":8: model.device: expected auto, cpu, cuda or cuda:N, got \"tpu\""));
  EXPECT_THAT(msg, HasSubstr(f + ":10: algorithm.adv_estimator: expected one of grpo, dr_grpo, rloo, "
                                 "reinforce_pp, got \"ppo\""));
  EXPECT_THAT(msg, HasSubstr(f + ":11: algorithm.clip_ratio_low: expected a number in (0, 1), got -0.1"));
  EXPECT_THAT(
      msg, HasSubstr(f + ":13: reward.on_failure.no_code: expected a number, batch_mean, formula or \"\" (the formula "
                         "preset decides), got \"lots\""));
  EXPECT_THAT(msg, HasSubstr(f + ":14: reward.extra_terms: expected a mapping of names to numbers with names "
                                 "from code_similarity"));
}

TEST(Config, UnknownKeysSuggestTheClosestName) {
  TempDir dir;
  auto path = dir.write("typo.yaml",
                        "algoritm:\n"
                        "  kl_coef: 0.1\n"
                        "optim:\n"
                        "  learning_rate: 0.1\n"
                        "rollout:\n"
                        "  group_sise: 4\n");
  std::string msg = config_error([&] { load_config(path, {}); });
  const std::string f = path.string();
  EXPECT_THAT(msg, HasSubstr(f + ":1: algoritm: unknown key; did you mean \"algorithm\"?"));
  EXPECT_THAT(msg, HasSubstr(f + ":6: rollout.group_sise: unknown key; did you mean \"group_size\"?"));
  // Nothing close: the valid keys are listed instead.
  EXPECT_THAT(msg, HasSubstr(f + ":4: optim.learning_rate: unknown key; expected one of: lr, weight_decay"));
}

TEST(Config, DuplicateKeysAreErrors) {
  TempDir dir;
  auto path = dir.write("dup.yaml", "optim:\n  lr: 1e-5\n  lr: 2e-5\n");
  EXPECT_EQ(config_error([&] { load_config(path, {}); }),
            path.string() + ":3: optim.lr: duplicate key (first set on line 2)");
}

TEST(Config, YamlSyntaxErrorsNameTheLine) {
  TempDir dir;
  auto path = dir.write("broken.yaml", "optim:\n  lr: [1e-5\nseed: 3\n");
  EXPECT_THAT(config_error([&] { load_config(path, {}); }), HasSubstr(path.string() + ":"));
  EXPECT_THAT(config_error([&] { load_config(path, {}); }), HasSubstr("invalid YAML"));
  auto list_root = dir.write("list.yaml", "- a\n- b\n");
  EXPECT_THAT(config_error([&] { load_config(list_root, {}); }),
              HasSubstr("expected a mapping of sections at the top level"));
  EXPECT_THAT(config_error([&] { load_config(dir / "missing.yaml", {}); }),
              HasSubstr("missing.yaml: no such config file"));
  auto section_scalar = dir.write("scalar.yaml", "optim: 3\n");
  EXPECT_EQ(config_error([&] { load_config(section_scalar, {}); }),
            section_scalar.string() + ":1: optim: expected a mapping of keys, got \"3\"");
}

TEST(Config, EmptyFileAndEmptySectionChangeNothing) {
  TempDir dir;
  EXPECT_EQ(to_yaml(load_config(dir.write("empty.yaml", ""), {}).config), to_yaml(Config{}));
  EXPECT_EQ(to_yaml(load_config(dir.write("sec.yaml", "optim:\n"), {}).config), to_yaml(Config{}));
}

TEST(Config, ExtendsComposesFilesChildWinsListsReplace) {
  TempDir dir;
  dir.write("configs/base.yaml",
            "data:\n  train: [a.jsonl, b.jsonl]\n  epochs: 3\n"
            "optim:\n  lr: 1e-5\n  schedule: cosine\n");
  dir.write("configs/mid.yaml", "extends: base.yaml\noptim:\n  lr: 2e-5\n");
  auto child = dir.write("configs/exp/child.yaml",
                         "extends: ../mid.yaml\n"
                         "data:\n  train: [c.jsonl]\n");
  LoadedConfig loaded = load_config(child, {});
  const Config& c = loaded.config;
  EXPECT_EQ(c.data.train, std::vector<std::string>{"c.jsonl"});  // the list is replaced, not merged
  EXPECT_EQ(c.data.epochs, 3);                                   // from the base
  EXPECT_DOUBLE_EQ(c.optim.lr, 2e-5);                            // mid overrides base
  EXPECT_EQ(c.optim.schedule, "cosine");
  EXPECT_THAT(loaded.origins.at("optim.lr"), HasSubstr("mid.yaml:3"));
  EXPECT_THAT(loaded.origins.at("data.epochs"), HasSubstr("base.yaml:3"));
}

TEST(Config, ExtendsErrorsPointIntoTheRightFile) {
  TempDir dir;
  dir.write("base.yaml", "optim:\n  lr: fast\n");
  auto child = dir.write("child.yaml", "extends: base.yaml\nseed: 1\n");
  EXPECT_THAT(config_error([&] { load_config(child, {}); }),
              HasSubstr("base.yaml:2: optim.lr: expected a number > 0, got \"fast\""));

  dir.write("a.yaml", "extends: b.yaml\n");
  auto b = dir.write("b.yaml", "extends: a.yaml\n");
  EXPECT_THAT(config_error([&] { load_config(b, {}); }), HasSubstr("extends: cycle:"));

  auto orphan = dir.write("orphan.yaml", "extends: nowhere.yaml\n");
  EXPECT_THAT(config_error([&] { load_config(orphan, {}); }), HasSubstr("nowhere.yaml: no such config file"));
}

TEST(Config, SetOverridesAreTypeCheckedAndAppliedLast) {
  TempDir dir;
  auto path = dir.write("run.yaml", "optim:\n  lr: 1e-5\n");
  LoadedConfig loaded = load_config(
      path, {"optim.lr=3e-6", "data.train=[x.jsonl, y.jsonl]", "model.freeze_vision=true",
             "reward.formula=1 + clip(1 - S/50, 0, 1)", "render.svg={width: 64, height: 32}", "model.path="});
  const Config& c = loaded.config;
  EXPECT_DOUBLE_EQ(c.optim.lr, 3e-6);
  EXPECT_EQ(c.data.train, (std::vector<std::string>{"x.jsonl", "y.jsonl"}));
  EXPECT_TRUE(c.model.freeze_vision);
  EXPECT_EQ(c.reward.formula, "1 + clip(1 - S/50, 0, 1)");  // taken verbatim
  EXPECT_EQ(c.render.svg.width, 64);
  EXPECT_EQ(c.render.svg.height, 32);
  EXPECT_EQ(c.model.path, "");
  EXPECT_EQ(loaded.origins.at("optim.lr"), "--set");

  EXPECT_EQ(config_error([] { load_config("", {"algorithm.clip_ratio_high=abc"}); }),
            "--set: algorithm.clip_ratio_high: expected a number > 0, got \"abc\"");
  EXPECT_EQ(config_error([] { load_config("", {"algorithm.clip_ratio_hgih=0.3"}); }),
            "--set: algorithm.clip_ratio_hgih: unknown key; did you mean \"clip_ratio_high\"?");
  EXPECT_EQ(config_error([] { load_config("", {"optim"}); }), "--set: optim: expected key.path=value");
  EXPECT_EQ(config_error([] { load_config("", {"optim.lr.x=1"}); }),
            "--set: optim.lr.x: optim.lr is a value, not a section");
  EXPECT_THAT(config_error([] { load_config("", {"render.svg={widht: 3}"}); }),
              HasSubstr("--set: render.svg.widht: unknown key; did you mean \"width\"?"));
}

TEST(Config, RelationsBetweenKeysNameWhereTheKeyWasSet) {
  TempDir dir;
  auto path = dir.write("rel.yaml", "rollout:\n  prompts_per_step: 256\nalgorithm:\n  mini_batch_prompts: 100\n");
  EXPECT_EQ(config_error([&] { load_config(path, {}); }),
            path.string() + ":4: algorithm.mini_batch_prompts: must divide rollout.prompts_per_step (256), got 100");
  EXPECT_EQ(config_error([] { load_config("", {"rollout.group_size=1"}); }),
            "--set: rollout.group_size: grpo compares answers within a group: needs at least 2, got 1");
  EXPECT_EQ(config_error([] { load_config("", {"reward.critic=openai"}); }),
            "(default): reward.openai.endpoints: critic openai needs at least one endpoint");
  EXPECT_EQ(load_config("", {"rollout.group_size=1", "algorithm.adv_estimator=reinforce_pp"}).config.rollout.group_size,
            1);
}

// GSPO and SAPO are defined seq-mean-token-mean: auto (the default) gives it; an explicit other
// mode is an error naming the key and where it was set, not silently another objective.
TEST(Config, PolicyLossesDefinedWithAnAggregationRejectAnother) {
  TempDir dir;
  auto path = dir.write("gspo.yaml", "algorithm:\n  policy_loss: gspo\n  loss_agg_mode: token-mean\n");
  EXPECT_EQ(config_error([&] { load_config(path, {}); }),
            path.string() +
                ":3: algorithm.loss_agg_mode: policy loss gspo is defined with seq-mean-token-mean, got token-mean "
                "(leave it at auto, or set seq-mean-token-mean)");
  EXPECT_NE(config_error([] {
              load_config("", {"algorithm.policy_loss=sapo", "algorithm.loss_agg_mode=seq-mean-token-sum"});
            }).find("--set: algorithm.loss_agg_mode: policy loss sapo"),
            std::string::npos);
  EXPECT_EQ(load_config("", {"algorithm.policy_loss=gspo"}).config.algorithm.loss_agg_mode, "auto");
  EXPECT_EQ(load_config("", {"algorithm.policy_loss=gspo", "algorithm.loss_agg_mode=seq-mean-token-mean"})
                .config.algorithm.policy_loss,
            "gspo");
  EXPECT_EQ(load_config("", {"algorithm.policy_loss=cispo", "algorithm.loss_agg_mode=seq-mean-token-sum-norm"})
                .config.algorithm.policy_loss,
            "cispo");
}

TEST(Config, PrintedYamlLoadsBackToTheSameConfig) {
  TempDir dir;
  LoadedConfig first = load_config("", {"optim.lr=1.5e-7", "rollout.stop=[\"a: b\", '#x']", "model.path=/w s/ü",
                                        "reward.extra_terms={teds: 0.25, ssim: 2}", "seed=18446744073709551615",
                                        "reward.on_failure={no_code: \"-1\"}"});
  std::string yaml = to_yaml(first.config);
  LoadedConfig second = load_config(dir.write("printed.yaml", yaml), {});
  EXPECT_EQ(to_yaml(second.config), yaml);
  EXPECT_EQ(second.config.rollout.stop, (std::vector<std::string>{"a: b", "#x"}));
  EXPECT_EQ(second.config.model.path, "/w s/ü");
  EXPECT_EQ(second.config.seed, 18446744073709551615ull);
  EXPECT_DOUBLE_EQ(second.config.optim.lr, 1.5e-7);
  EXPECT_EQ(second.config.reward.on_failure.no_code, "-1");
}

TEST(Config, DescribeDocumentsEveryKey) {
  std::string text = describe_config();
  // Every key line is preceded by a comment line saying what it is.
  std::istringstream lines(text);
  std::string previous, line;
  int keys = 0;
  while (std::getline(lines, line)) {
    auto first = line.find_first_not_of(' ');
    if (first != std::string::npos && line[first] != '#' && line.find(':') != std::string::npos) {
      ++keys;
      EXPECT_NE(previous.find('#'), std::string::npos) << "undocumented: " << line;
    }
    previous = line;
  }
  EXPECT_GT(keys, 90);
  EXPECT_THAT(text, HasSubstr("# Ratio clip above: 1 + high. Expects a number > 0.\n  clip_ratio_high: 0.2\n"));
}

TEST(Config, ShippedConfigsLoad) {
  for (const char* name : {"configs/chart2code.yaml"}) {
    SCOPED_TRACE(name);
    LoadedConfig loaded = load_config(test::source_dir() / name, {});
    EXPECT_EQ(loaded.config.rollout.group_size, 8);
    EXPECT_EQ(loaded.config.rollout.prompts_per_step, 256);
    EXPECT_DOUBLE_EQ(loaded.config.optim.lr, 1e-6);
    EXPECT_DOUBLE_EQ(loaded.config.algorithm.kl_coef, 0.01);
    EXPECT_EQ(loaded.config.algorithm.kl_estimator, "k3");
  }
}

TEST(Config, CommittedDefaultsFileMatchesTheSchema) {
  // configs/defaults.yaml is generated by `train --describe-config`; regenerate it when this fails.
  EXPECT_EQ(test::read_file(test::source_dir() / "configs/defaults.yaml"), describe_config());
}

}  // namespace
}  // namespace visrl
