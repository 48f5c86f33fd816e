// load_pretrained fills uninitialised parameters straight from the files (no default init, no
// global RNG, values bit for bit, casts on the way) and save_pretrained streams the parameters
// into the shards (byte-identical to saving CPU copies of them).
#include <algorithm>
#include <map>
#include <mutex>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/safetensors.h"
#include "policy/model/hf_checkpoint.h"
#include "tests/policy/model/model_fixture.h"

namespace visrl::test {
namespace {

namespace fs = std::filesystem;
using policy::load_pretrained;
using policy::LoadOptions;
using policy::save_pretrained;
using policy::SaveOptions;

at::Tensor global_rng_state() {
  auto global = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(global.mutex());
  return global.get_state();
}

// Every parameter equals the file's tensor of its name, cast to `dtype`, bit for bit.
void expect_equals_file(policy::Qwen3VLImpl& model, const fs::path& dir, at::ScalarType dtype) {
  const auto checkpoint = safetensors::Checkpoint::open(dir);
  size_t compared = 0;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    SCOPED_TRACE(item.key());
    const at::Tensor expected = checkpoint.tensor(item.key()).to(dtype);
    ASSERT_EQ(item.value().scalar_type(), dtype);
    ASSERT_EQ(item.value().sizes(), expected.sizes());
    // Bytes, not values: NaN payloads and -0 count too.
    EXPECT_TRUE(at::equal(item.value().view(at::kByte), expected.view(at::kByte)));
    ++compared;
  }
  EXPECT_GT(compared, 10u);
}

std::map<std::string, std::string> files_in(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) out[entry.path().filename().string()] = read_file(entry.path());
  return out;
}

TEST(LoadPretrainedMemory, LeavesTheGlobalRngUntouched) {
  at::manual_seed(1234);
  const at::Tensor before = global_rng_state();
  for (const char* name : kConfigs) {
    auto model = load_pretrained(Qwen3VLFixture(name).model_dir);
    EXPECT_TRUE(at::equal(global_rng_state(), before)) << name;
  }
  at::manual_seed(1234);
  const at::Tensor expected = at::randn({8});
  at::manual_seed(1234);
  auto model = load_pretrained(Qwen3VLFixture("untied").model_dir);
  EXPECT_TRUE(at::equal(at::randn({8}), expected));
}

TEST(LoadPretrainedMemory, ParametersEqualTheFileBitForBitAlsoWhenCast) {
  for (const char* name : kConfigs) {
    SCOPED_TRACE(name);
    const Qwen3VLFixture fx(name);  // float32 files
    auto as_file = load_pretrained(fx.model_dir);
    expect_equals_file(*as_file, fx.model_dir, at::kFloat);
    LoadOptions bf16;
    bf16.dtype = at::kBFloat16;  // float32 file -> bfloat16 model: rounded as .to() rounds
    auto down = load_pretrained(fx.model_dir, bf16);
    expect_equals_file(*down, fx.model_dir, at::kBFloat16);

    TempDir tmp;  // a bfloat16 file -> float32 model
    SaveOptions save;
    save.dtype = at::kBFloat16;
    save.max_shard_bytes = 20'000;
    save_pretrained(*as_file, tmp.path(), save);
    LoadOptions f32;
    f32.dtype = at::kFloat;
    auto up = load_pretrained(tmp.path(), f32);
    expect_equals_file(*up, tmp.path(), at::kFloat);
    expect_equals_file(*load_pretrained(tmp.path()), tmp.path(), at::kBFloat16);
  }
}

TEST(SavePretrainedStreaming, ShardsAreByteIdenticalToSavingCpuCopiesAndRoundTrip) {
  for (const char* name : kConfigs) {
    SCOPED_TRACE(name);
    auto model = load_pretrained(Qwen3VLFixture(name).model_dir);
    for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
      SCOPED_TRACE(c10::toString(dtype));
      SaveOptions save;
      save.max_shard_bytes = 30'000;  // several shards
      save.dtype = dtype;
      TempDir streamed, copied;
      save_pretrained(*model, streamed.path(), save);
      // What save_pretrained wrote before streaming: CPU copies of every parameter, sorted.
      safetensors::NamedTensors tensors;
      for (const auto& item : model->named_parameters(/*recurse=*/true)) {
        tensors.emplace_back(item.key(), item.value().detach().to(at::kCPU, dtype).contiguous().clone());
      }
      std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      safetensors::save_sharded(copied.path(), tensors, save.max_shard_bytes, {{"format", "pt"}});
      auto got = files_in(streamed.path());
      ASSERT_GT(got.count("model.safetensors.index.json"), 0u);
      EXPECT_GT(got.size(), 4u);
      for (const auto& [file, content] : files_in(copied.path())) {
        SCOPED_TRACE(file);
        ASSERT_GT(got.count(file), 0u);
        EXPECT_TRUE(got.at(file) == content);
      }
      auto reloaded = load_pretrained(streamed.path());
      auto params = model->named_parameters(/*recurse=*/true);
      for (const auto& item : reloaded->named_parameters(/*recurse=*/true)) {
        EXPECT_TRUE(at::equal(item.value(), params[item.key()].to(dtype))) << item.key();
      }
    }
  }
}

}  // namespace
}  // namespace visrl::test
