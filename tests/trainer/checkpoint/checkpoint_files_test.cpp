// Checkpoints on disk: the trainer state, saving and reading back bitwise (weights and the
// optimizer state by name, also across world sizes), and every kind of damage caught with a
// message naming the checkpoint and the file: truncation, flipped bytes, missing files, an
// interrupted save. Plus pruning, `latest`, the metrics rewind and resume differences.
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/tiny_model.h"
#include "tests/support/multiprocess.h"
#include "tests/test_util.h"
#include "tests/trainer/distributed/dist_test_util.h"
#include "trainer/checkpoint/checkpoint_dir.h"
#include "trainer/checkpoint/checkpoint_io.h"
#include "trainer/checkpoint/resume.h"
#include "trainer/checkpoint/trainer_state.h"

namespace visrl::trainer {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using visrl::test::error_of;
using visrl::test::TempDir;

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

TrainerState sample_state(int64_t step) {
  TrainerState s;
  s.step = step;
  s.seed = 7;
  s.sampler = {2, 3};
  s.num_items = 10;
  s.schedule.kind = "cosine";
  s.schedule.lr = 1e-6;
  s.schedule.warmup_steps = 2;
  s.schedule.total_steps = 50;
  s.metrics_offset = 1234;
  s.world_size = 2;
  s.formula = {{"formula", "1 - S"}};
  return s;
}

// A tiny policy and an AdamW that has taken `steps` steps on it (bf16 parameters get masters).
struct TinyPolicy {
  TempDir dir;
  policy::Qwen3VL model{nullptr};
  std::vector<std::pair<std::string, at::Tensor>> named;

  explicit TinyPolicy(at::ScalarType dtype = at::kFloat) {
    policy::TinyModelOptions options;
    options.tokenizer_dir = visrl::test::source_dir() / "tests/fixtures/tokenizer/tiny";
    options.seed = 5;
    policy::save_tiny_model(dir / "model", options);
    policy::LoadOptions load;
    load.dtype = dtype;
    model = policy::load_pretrained(dir / "model", load);
    for (auto& p : model->named_parameters()) named.emplace_back(p.key(), p.value());
  }

  void train(ShardedAdamW& opt, int steps) {
    for (int s = 1; s <= steps; ++s) {
      int i = 0;
      for (auto& [name, p] : named) {
        p.mutable_grad() = testing::wave(p.sizes(), s + i++, p.scalar_type());
      }
      opt.step(1e-2);
    }
  }

  CheckpointContents contents(const ShardedAdamW* opt, int64_t step) {
    CheckpointContents c;
    c.policy = model.get();
    c.optimizer = opt;
    c.state = sample_state(step);
    c.config_yaml = "seed: 7\n";
    c.assets_from = dir / "model";
    return c;
  }
};

TEST(TrainerState, RoundTripsAndNamesTheBadKey) {
  const auto s = sample_state(12);
  const auto back = trainer_state_from_json(to_json(s), "x.json");
  EXPECT_EQ(to_json(back), to_json(s));
  EXPECT_EQ(back.sampler.epoch, 2);
  EXPECT_EQ(back.schedule.kind, "cosine");
  auto j = to_json(s);
  j["sampler"].erase("cursor");
  EXPECT_THAT(error_of([&] { trainer_state_from_json(j, "ck/trainer_state.json"); }),
              HasSubstr("ck/trainer_state.json: sampler: missing key \"cursor\""));
  j = to_json(s);
  j["step"] = "three";
  EXPECT_THAT(error_of([&] { trainer_state_from_json(j, "t.json"); }), HasSubstr("\"step\" has the wrong type"));
  j = to_json(s);
  j["step"] = -1;
  EXPECT_THAT(error_of([&] { trainer_state_from_json(j, "t.json"); }), HasSubstr("negative step"));
}

TEST(CheckpointDir, NamesAndListing) {
  EXPECT_EQ(checkpoint_step("runs/a/checkpoints/step_12"), 12);
  EXPECT_FALSE(checkpoint_step("step_12.tmp"));
  EXPECT_FALSE(checkpoint_step("step_"));
  EXPECT_FALSE(checkpoint_step("latest"));
  TempDir d;
  for (const char* name : {"step_10", "step_9", "step_2.tmp", "abandoned-1"}) fs::create_directories(d / name);
  const auto all = list_checkpoints(d.path());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first, 9);
  EXPECT_EQ(all[1].first, 10);
}

TEST(Checkpoint, SavesAndReadsBackBitwiseWithLatestAndAHuggingFaceModelDir) {
  TinyPolicy s;
  auto comm = testing::single_communicator();
  ShardedAdamW opt(s.named, AdamWOptions{}, *comm, /*shard=*/false);
  s.train(opt, 2);
  TempDir out;
  const auto dir = save_checkpoint(out.path(), s.contents(&opt, 4), *comm);
  EXPECT_EQ(dir, out / "step_4");
  EXPECT_EQ(read(out / "latest"), "step_4\n");
  EXPECT_FALSE(fs::exists(out / "step_4.tmp"));
  for (const char* f :
       {"model/config.json", "model/model.safetensors", "model/tokenizer.json", "model/generation_config.json",
        "optimizer/optimizer.safetensors.index.json", "optimizer/optimizer-00001-of-00001.safetensors",
        "trainer_state.json", "config.yaml", "checkpoint.json"}) {
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  }

  const auto opened = open_checkpoint(dir);
  EXPECT_EQ(to_json(opened.state), to_json(sample_state(4)));
  EXPECT_EQ(opened.config_yaml, "seed: 7\n");
  auto loaded = policy::load_pretrained(opened.model_dir());
  for (auto& p : loaded->named_parameters()) {
    EXPECT_TRUE(at::equal(p.value(), s.model->named_parameters()[p.key()])) << p.key();
  }
  TinyPolicy fresh;
  ShardedAdamW restored(fresh.named, AdamWOptions{}, *comm, /*shard=*/false);
  load_optimizer_state(dir, restored);
  for (const auto& name : opt.held_names()) {
    EXPECT_EQ(restored.state(name).step, 2) << name;
    EXPECT_TRUE(at::equal(restored.state(name).exp_avg, opt.state(name).exp_avg)) << name;
    EXPECT_TRUE(at::equal(restored.state(name).exp_avg_sq, opt.state(name).exp_avg_sq)) << name;
  }
}

TEST(Checkpoint, Bf16ParametersKeepTheirFloat32MasterWeights) {
  TinyPolicy s(at::kBFloat16);
  auto comm = testing::single_communicator();
  ShardedAdamW opt(s.named, AdamWOptions{}, *comm, /*shard=*/false);
  s.train(opt, 1);
  TempDir out;
  const auto dir = save_checkpoint(out.path(), s.contents(&opt, 1), *comm);
  TinyPolicy fresh(at::kBFloat16);
  ShardedAdamW restored(fresh.named, AdamWOptions{}, *comm, /*shard=*/false);
  load_optimizer_state(dir, restored);
  const auto name = opt.held_names().front();
  ASSERT_TRUE(opt.state(name).master.defined());
  EXPECT_EQ(restored.state(name).master.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(restored.state(name).master, opt.state(name).master));
}

TEST(Checkpoint, ModelOnlyHasNoOptimizerAndSayingSoOnLoad) {
  TinyPolicy s;
  auto comm = testing::single_communicator();
  TempDir out;
  auto c = s.contents(nullptr, 3);
  c.state.has_optimizer = false;
  const auto dir = save_checkpoint(out.path(), c, *comm);
  EXPECT_FALSE(fs::exists(dir / "optimizer"));
  EXPECT_NO_THROW(verify_checkpoint(dir));
  ShardedAdamW opt(s.named, AdamWOptions{}, *comm, /*shard=*/false);
  EXPECT_THAT(error_of([&] { load_optimizer_state(dir, opt); }), HasSubstr("no optimizer state"));
}

TEST(Checkpoint, AMissingParameterStateNamesTheParameter) {
  TinyPolicy s;
  auto comm = testing::single_communicator();
  auto half = s.named;
  half.resize(half.size() / 2);
  ShardedAdamW small(half, AdamWOptions{}, *comm, /*shard=*/false);
  TempDir out;
  const auto dir = save_checkpoint(out.path(), s.contents(&small, 1), *comm);
  ShardedAdamW all(s.named, AdamWOptions{}, *comm, /*shard=*/false);
  std::string first_missing;  // in name order, as the optimizer holds them
  for (const auto& name : all.held_names()) {
    const auto held = small.held_names();
    if (std::find(held.begin(), held.end(), name) == held.end()) {
      first_missing = name;
      break;
    }
  }
  ASSERT_FALSE(first_missing.empty());
  EXPECT_THAT(error_of([&] { load_optimizer_state(dir, all); }),
              HasSubstr("no optimizer state for the trainable parameter " + first_missing + " (did the trainable"));
}

// (d): damage of every kind is caught by verify_checkpoint with the checkpoint and file named,
// and --resume auto's search passes over the damaged checkpoint to the one before.
class DamagedCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    auto comm = testing::single_communicator();
    ShardedAdamW opt(s.named, AdamWOptions{}, *comm, /*shard=*/false);
    s.train(opt, 1);
    save_checkpoint(out.path(), s.contents(&opt, 1), *comm);
    newest = save_checkpoint(out.path(), s.contents(&opt, 2), *comm);
  }
  std::string verify_error() {
    return error_of([&] { verify_checkpoint(newest); });
  }
  void expect_skipped_to_step_1(const std::string& why) {
    std::vector<std::string> skipped;
    const auto found = newest_complete_checkpoint(out.path(), &skipped);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->filename(), "step_1");
    ASSERT_EQ(skipped.size(), 1u);
    EXPECT_THAT(skipped[0], HasSubstr(why));
    EXPECT_THAT(error_of([&] { resolve_checkpoint(newest); }), HasSubstr(why));
    EXPECT_EQ(resolve_checkpoint(out.path()).filename(), "step_1");
  }
  TinyPolicy s;
  TempDir out;
  fs::path newest;
};

TEST_F(DamagedCheckpoint, TruncatedWeights) {
  const auto file = newest / "model/model.safetensors";
  fs::resize_file(file, fs::file_size(file) / 2);
  EXPECT_THAT(verify_error(), HasSubstr("model/model.safetensors has"));
  EXPECT_THAT(verify_error(), HasSubstr("(truncated)"));
  EXPECT_THAT(verify_error(), HasSubstr("checkpoint " + newest.string()));
  expect_skipped_to_step_1("truncated");
}

TEST_F(DamagedCheckpoint, AFlippedByteInTheOptimizerState) {
  const auto file = newest / "optimizer/optimizer-00001-of-00001.safetensors";
  auto bytes = read(file);
  bytes[bytes.size() - 3] = static_cast<char>(bytes[bytes.size() - 3] ^ 0x10);
  write(file, bytes);
  EXPECT_THAT(verify_error(), HasSubstr("optimizer/optimizer-00001-of-00001.safetensors is corrupted: its CRC-32"));
  expect_skipped_to_step_1("is corrupted");
}

TEST_F(DamagedCheckpoint, ACorruptedTrainerState) {
  // Same size, one digit changed: only the checksum can tell.
  auto text = read(newest / "trainer_state.json");
  const auto at = text.find("\"step\": 2");
  ASSERT_NE(at, std::string::npos);
  text[at + 8] = '5';
  write(newest / "trainer_state.json", text);
  EXPECT_THAT(verify_error(), HasSubstr("trainer_state.json is corrupted: its CRC-32"));
  expect_skipped_to_step_1("trainer_state.json is corrupted");
}

TEST_F(DamagedCheckpoint, ATruncatedTrainerState) {
  write(newest / "trainer_state.json", "{\"step\": 2, \"garbage");
  EXPECT_THAT(verify_error(), HasSubstr("trainer_state.json has"));
  expect_skipped_to_step_1("trainer_state.json");
}

TEST_F(DamagedCheckpoint, AMissingFile) {
  fs::remove(newest / "model/config.json");
  EXPECT_THAT(verify_error(), HasSubstr("model/config.json is missing"));
  expect_skipped_to_step_1("is missing");
}

TEST_F(DamagedCheckpoint, AnInterruptedSaveHasNoManifest) {
  fs::remove(newest / "checkpoint.json");
  EXPECT_THAT(verify_error(), HasSubstr("no checkpoint.json: the save did not finish"));
  expect_skipped_to_step_1("did not finish");
  // Named with a trailing slash, it is still that checkpoint (not a directory to search).
  EXPECT_THAT(error_of([&] { resolve_checkpoint(newest.string() + "/"); }), HasSubstr("did not finish"));
}

TEST_F(DamagedCheckpoint, AGarbledManifest) {
  write(newest / "checkpoint.json", "not json");
  EXPECT_THAT(verify_error(), HasSubstr("checkpoint.json is not valid JSON"));
  expect_skipped_to_step_1("not valid JSON");
}

TEST_F(DamagedCheckpoint, EverythingDamagedIsAnErrorListingTheCount) {
  fs::remove(newest / "checkpoint.json");
  fs::remove(out / "step_1/checkpoint.json");
  EXPECT_THAT(error_of([&] { resolve_checkpoint(out.path()); }),
              HasSubstr("no complete checkpoint (2 damaged ones skipped)"));
  EXPECT_THAT(error_of([&] { resolve_checkpoint(out / "step_9"); }), HasSubstr("no such checkpoint"));
}

TEST(CheckpointDir, PruneKeepsTheLastKAndMilestonesAndClearsLeftovers) {
  TempDir d;
  for (int s = 1; s <= 9; ++s) fs::create_directories(d / fmt::format("step_{}", s) / "model");
  fs::create_directories(d / "step_10.tmp");
  fs::create_directories(d / "step_3.deleting");
  prune_checkpoints(d.path(), 2, 4);
  std::vector<int64_t> left;
  for (const auto& [step, dir] : list_checkpoints(d.path())) left.push_back(step);
  EXPECT_EQ(left, (std::vector<int64_t>{4, 8, 9}));
  EXPECT_FALSE(fs::exists(d / "step_10.tmp"));
  EXPECT_FALSE(fs::exists(d / "step_3.deleting"));
  prune_checkpoints(d.path(), 1, 0);
  left.clear();
  for (const auto& [step, dir] : list_checkpoints(d.path())) left.push_back(step);
  EXPECT_EQ(left, (std::vector<int64_t>{9}));
}

TEST(CheckpointDir, NewerCheckpointsAreSetAsideNotDeleted) {
  TempDir d;
  for (int s = 1; s <= 3; ++s) fs::create_directories(d / fmt::format("step_{}", s));
  const auto moved = set_aside_newer_checkpoints(d.path(), 1);
  ASSERT_EQ(moved.size(), 2u);
  EXPECT_TRUE(fs::is_directory(moved[0]));
  EXPECT_THAT(moved[0].parent_path().filename().string(), HasSubstr("abandoned-"));
  EXPECT_EQ(list_checkpoints(d.path()).size(), 1u);
  // The same step set aside again within the same second goes to a second directory.
  fs::create_directories(d / "step_2");
  const auto again = set_aside_newer_checkpoints(d.path(), 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_NE(again[0].parent_path(), moved[0].parent_path());
  EXPECT_TRUE(fs::is_directory(moved[0]));
}

TEST(Resume, MetricsAreRewoundByStepAndTheCutLinesKept) {
  TempDir d;
  // Step 4's line was being written when the run was killed.
  const auto metrics = d.write("metrics.jsonl", "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n{\"step\":4,\"rew");
  const auto discarded = rewind_metrics(metrics, 2);
  EXPECT_EQ(read(metrics), "{\"step\":1}\n{\"step\":2}\n");
  EXPECT_EQ(read(discarded), "{\"step\":3}\n{\"step\":4,\"rew\n");
  EXPECT_TRUE(rewind_metrics(metrics, 2).empty());  // nothing later: untouched
  EXPECT_EQ(read(metrics), "{\"step\":1}\n{\"step\":2}\n");
  // A second rewind in the same second keeps the first file's lines.
  d.write("metrics.jsonl", "{\"step\":1}\n{\"step\":5}\n");
  const auto second = rewind_metrics(metrics, 1);
  EXPECT_NE(second, discarded);
  EXPECT_EQ(read(second), "{\"step\":5}\n");
  EXPECT_EQ(read(discarded), "{\"step\":3}\n{\"step\":4,\"rew\n");
  EXPECT_TRUE(rewind_metrics(d / "absent.jsonl", 10).empty());
}

TEST(Resume, DifferencesNameWhatChanged) {
  const auto a = sample_state(3);
  EXPECT_TRUE(resume_differences(a, a, "seed: 7\nlr: 1\n", "seed: 7\nlr: 1\n").empty());
  auto b = a;
  b.seed = 8;
  b.schedule.total_steps = 60;
  b.formula = {{"formula", "S"}};
  const auto d = resume_differences(a, b, "optim:\n  lr: 1\n", "optim:\n  lr: 2\n");
  ASSERT_EQ(d.size(), 5u);
  EXPECT_THAT(d[0], HasSubstr("seed 7 -> 8"));
  EXPECT_THAT(d[1], HasSubstr("LR schedule cosine"));
  EXPECT_THAT(d[1], HasSubstr("total 60"));
  EXPECT_THAT(d[2], HasSubstr("reward formula"));
  EXPECT_THAT(d[3], HasSubstr("now `  lr: 2`"));
  EXPECT_THAT(d[4], HasSubstr("was `  lr: 1`"));
}

// Optimizer state written by 2 sharded ranks loads on 1 rank (and on 3) with every
// parameter's state, bitwise equal to an unsharded optimizer that took the same steps.
TEST(Checkpoint, OptimizerStateWrittenByTwoShardedRanksLoadsOnOneAndOnThree) {
  const char* dir_var = std::getenv("VISRL_TEST_CKPT_DIR");
  if (visrl::test::in_scenario("save2") || visrl::test::in_scenario("load3")) {
    auto comm = testing::rank_communicator();
    TinyPolicy s;
    ShardedAdamW opt(s.named, AdamWOptions{}, *comm, /*shard=*/true);
    if (visrl::test::in_scenario("save2")) {
      s.train(opt, 2);
      save_checkpoint(dir_var, s.contents(&opt, 2), *comm);
      return;
    }
    auto single = testing::single_communicator();
    TinyPolicy r;
    ShardedAdamW reference(r.named, AdamWOptions{}, *single, /*shard=*/false);
    r.train(reference, 2);
    load_optimizer_state(fs::path(dir_var) / "step_2", opt);
    EXPECT_FALSE(opt.held_names().empty());
    for (const auto& name : opt.held_names()) {
      EXPECT_EQ(opt.state(name).step, 2) << name;
      EXPECT_TRUE(at::equal(opt.state(name).exp_avg, reference.state(name).exp_avg)) << name;
      EXPECT_TRUE(at::equal(opt.state(name).exp_avg_sq, reference.state(name).exp_avg_sq)) << name;
    }
    return;
  }
  TempDir out;
  const std::map<std::string, std::string> env = {{"VISRL_TEST_CKPT_DIR", out.path().string()}};
  auto saved = visrl::test::run_ranks(2, "save2", std::chrono::seconds(120), env);
  ASSERT_TRUE(saved.ok()) << saved.summary();
  const auto dir = out / "step_2";
  EXPECT_TRUE(fs::exists(dir / "optimizer/optimizer-00001-of-00002.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "optimizer/optimizer-00002-of-00002.safetensors"));
  EXPECT_NO_THROW(verify_checkpoint(dir));

  auto comm = testing::single_communicator();
  TinyPolicy r;
  ShardedAdamW reference(r.named, AdamWOptions{}, *comm, /*shard=*/false);
  r.train(reference, 2);
  TinyPolicy fresh;
  ShardedAdamW restored(fresh.named, AdamWOptions{}, *comm, /*shard=*/false);
  load_optimizer_state(dir, restored);
  for (const auto& name : reference.held_names()) {
    EXPECT_EQ(restored.state(name).step, 2) << name;
    EXPECT_TRUE(at::equal(restored.state(name).exp_avg, reference.state(name).exp_avg)) << name;
    EXPECT_TRUE(at::equal(restored.state(name).exp_avg_sq, reference.state(name).exp_avg_sq)) << name;
  }
  auto three = visrl::test::run_ranks(3, "load3", std::chrono::seconds(120), env);
  EXPECT_TRUE(three.ok()) << three.summary();
}

}  // namespace
}  // namespace visrl::trainer
