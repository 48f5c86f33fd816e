// Small core pieces: edit distance, errors, logging patterns, run directories, devices.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/base64.h"
#include "core/config.h"
#include "core/device.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/run_dir.h"
#include "core/text.h"
#include "core/utf8.h"
#include "tests/test_util.h"

namespace visrl {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(Text, SplitKeepsInnerEmptyPiecesButNoTrailingOne) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(split("", ','), V{});
  EXPECT_EQ(split("a", ','), V{"a"});
  EXPECT_EQ(split("a,,b,", ','), (V{"a", "", "b"}));
  EXPECT_EQ(split(",a", ','), (V{"", "a"}));
  EXPECT_EQ(split("10.0.0.1 fd00::1", ' '), (V{"10.0.0.1", "fd00::1"}));
}

TEST(Text, EditDistanceCountsSwapsAsOneEdit) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("clip_ratio_hgih", "clip_ratio_high"), 1u);
  EXPECT_EQ(edit_distance("lr", "rl"), 1u);
}

TEST(Text, ClosestMatchOnlySuggestsLikelyTypos) {
  std::vector<std::string> keys = {"lr", "weight_decay", "schedule", "warmup_steps"};
  EXPECT_EQ(closest_match("schedul", keys), "schedule");
  EXPECT_EQ(closest_match("LR", keys), "lr");
  EXPECT_EQ(closest_match("wamrup_steps", keys), "warmup_steps");
  EXPECT_EQ(closest_match("learning_rate", keys), std::nullopt);
  EXPECT_EQ(closest_match("x", keys), std::nullopt);
}

TEST(Base64, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(base64_decode(base64_encode(all)), all);
}

TEST(Base64, DecodesForgivingly) {
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYg"), "foob");           // padding is optional
  EXPECT_EQ(base64_decode(" Zm9v\nYmFy\t"), "foobar");  // whitespace is skipped
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_FALSE(base64_decode("Zm9vY").has_value());  // one character past a group
  EXPECT_FALSE(base64_decode("Zm9v!").has_value());  // outside the alphabet
  EXPECT_FALSE(base64_decode("Zm=9v").has_value());  // padding in the middle
}

TEST(Utf8, SequenceLengthFollowsRfc3629) {
  EXPECT_EQ(utf8_sequence_length("a", 0), 1u);
  EXPECT_EQ(utf8_sequence_length("\xC3\xA9", 0), 2u);          // é
  EXPECT_EQ(utf8_sequence_length("\xE4\xB8\xAD", 0), 3u);      // 中
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x98\x80", 0), 4u);  // 😀
  EXPECT_EQ(utf8_sequence_length("\xC0\xAF", 0), 0u);          // overlong '/'
  EXPECT_EQ(utf8_sequence_length("\xE0\x80\xAF", 0), 0u);      // overlong, 3 bytes
  EXPECT_EQ(utf8_sequence_length("\xED\xA0\x80", 0), 0u);      // surrogate U+D800
  EXPECT_EQ(utf8_sequence_length("\xF4\x90\x80\x80", 0), 0u);  // above U+10FFFF
  EXPECT_EQ(utf8_sequence_length("\xE4\xB8", 0), 0u);          // cut short
  EXPECT_EQ(utf8_sequence_length("\x80", 0), 0u);              // stray continuation byte
}

TEST(Utf8, AppendEncodesAndReplacesWhatCannotBeEncoded) {
  std::string out;
  for (uint32_t cp : {0x41u, 0xE9u, 0x4E2Du, 0x1F600u}) append_utf8(out, cp);
  EXPECT_EQ(out, "A\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80");
  out.clear();
  append_utf8(out, 0xD800);
  append_utf8(out, 0x110000);
  EXPECT_EQ(out, "\xEF\xBF\xBD\xEF\xBF\xBD");
}

// Both durabilities replace the whole file and leave no temporary behind.
TEST(AtomicFile, ReplacesTheFileDurablyOrRenameOnly) {
  test::TempDir dir;
  for (const auto durability : {Durability::durable, Durability::rename_only}) {
    write_file_atomically(dir / "f.txt", "first, and longer", durability);
    write_file_atomically(dir / "f.txt", "second", durability);
    EXPECT_EQ(test::read_file(dir / "f.txt"), "second");
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
  }
}

TEST(Errors, KindDecidesTheExitCodeAndContextIsPrefixed) {
  EXPECT_EQ(Error(ErrorKind::usage, "u").exit_code(), 2);
  EXPECT_EQ(Error(ErrorKind::config, "c").exit_code(), 2);
  EXPECT_EQ(Error(ErrorKind::io, "i").exit_code(), 1);
  Error e = Error(ErrorKind::format, "bad dtype").with_context("model.safetensors");
  EXPECT_STREQ(e.what(), "model.safetensors: bad dtype");
  EXPECT_EQ(e.kind(), ErrorKind::format);
  try {
    fail(ErrorKind::io, "{}: {} bytes", "x.bin", 3);
  } catch (const Error& thrown) {
    EXPECT_STREQ(thrown.what(), "x.bin: 3 bytes");
  }
}

TEST(Logging, RankPrefixAndLevels) {
  EXPECT_THAT(logging::pattern_for_rank(3), HasSubstr("[rank 3] "));
  EXPECT_THAT(logging::pattern_for_rank(-1), ::testing::Not(HasSubstr("rank")));
  EXPECT_NO_THROW(logging::set_level("debug"));
  EXPECT_NO_THROW(logging::set_level("off"));
  EXPECT_THROW(logging::set_level("loud"), Error);
  logging::set_level("info");
}

TEST(Logging, FileSinkReceivesRankPrefixedLines) {
  test::TempDir dir;
  logging::set_rank(1);
  logging::add_file_sink(dir / "train.log");
  spdlog::info("hello from a test");
  spdlog::default_logger()->flush();
  spdlog::default_logger()->sinks().pop_back();
  logging::set_rank(-1);
  EXPECT_THAT(test::read_file(dir / "train.log"), HasSubstr("[rank 1] [info] hello from a test"));
}

TEST(RunDir, CreatesTheLayoutAndNeverLosesAnEarlierConfig) {
  test::TempDir dir;
  RunDir run(dir / "runs/exp1");
  EXPECT_TRUE(fs::is_directory(run.rollouts_dir()));
  EXPECT_TRUE(fs::is_directory(run.checkpoints_dir()));
  EXPECT_EQ(run.metrics_path(), dir / "runs/exp1/metrics.jsonl");

  run.write_config("seed: 1\n");
  run.write_config("seed: 1\n");  // same config: nothing to keep
  EXPECT_EQ(std::distance(fs::directory_iterator(run.root()), fs::directory_iterator()), 3);
  run.write_config("seed: 2\n");  // a different run in the same directory: keep the old one
  EXPECT_EQ(test::read_file(run.config_path()), "seed: 2\n");
  int kept = 0;
  for (const auto& e : fs::directory_iterator(run.root())) {
    if (e.path().filename().string().rfind("config.2", 0) == 0) {
      ++kept;
      EXPECT_EQ(test::read_file(e.path()), "seed: 1\n");
    }
  }
  EXPECT_EQ(kept, 1);

  test::TempDir other;
  other.write("file", "x");
  EXPECT_THROW(RunDir(other / "file/sub"), Error);
}

TEST(RunDir, ChoosesCommandLineThenConfigThenATimestampedDefault) {
  LoadedConfig loaded;
  loaded.source = "configs/chart2code.yaml";
  EXPECT_EQ(RunDir::choose("cli", loaded), "cli");
  loaded.config.logging.run_dir = "from-config";
  EXPECT_EQ(RunDir::choose("", loaded), "from-config");
  loaded.config.logging.run_dir.clear();
  EXPECT_THAT(RunDir::choose("", loaded).string(), ::testing::StartsWith("runs/chart2code-20"));
}

TEST(Device, CpuAlwaysResolvesAndAbsentGpusAreConfigErrors) {
  EXPECT_EQ(resolve_device("cpu", "model.device"), c10::Device(c10::kCPU));
  for (const char* bad : {"cuda:x", "cuda:", "cuda:-1", "cuda:99999999999999999999", "tpu"}) {
    try {
      resolve_device(bad, "model.device");
      ADD_FAILURE() << bad << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::config) << bad;
      EXPECT_THAT(e.what(), HasSubstr("model.device: unknown device")) << bad;
    }
  }
  if (resolve_device("auto", "model.device").is_cuda()) GTEST_SKIP() << "a GPU is visible";
  try {
    resolve_device("cuda:1", "model.device");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_THAT(e.what(), HasSubstr("model.device: cuda:1 requested, but"));
  }
  EXPECT_FALSE(describe_accelerators().empty());
}

}  // namespace
}  // namespace visrl
