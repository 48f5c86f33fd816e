// Hugging Face checkpoint directories: save_pretrained / load_pretrained round trips against
// the layout transformers writes (tests/fixtures/qwen3vl), the errors for bad checkpoints,
// and the tiny-model factory.
#include <fstream>
#include <functional>
#include <set>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/safetensors.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/tiny_model.h"
#include "tests/policy/model/model_fixture.h"

namespace visrl::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using policy::load_pretrained;
using policy::LoadOptions;
using policy::save_pretrained;
using policy::SaveOptions;
using ::testing::HasSubstr;

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

void write_json(const fs::path& path, const json& value) {
  std::ofstream(path) << value.dump(2);
}

void copy_dir(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}


struct TensorLayout {
  std::vector<int64_t> shape;
  std::string dtype;
  bool operator==(const TensorLayout&) const = default;
};

std::map<std::string, TensorLayout> layout_of(const fs::path& dir) {
  auto checkpoint = safetensors::Checkpoint::open(dir);
  std::map<std::string, TensorLayout> out;
  for (const auto& name : checkpoint.names()) {
    const auto& info = checkpoint.info(name);
    out[name] = {info.shape, std::string(safetensors::dtype_name(info.dtype))};
  }
  return out;
}

void PrintTo(const TensorLayout& t, std::ostream* os) {
  *os << fmt::format("{} {}", t.dtype, fmt::join(t.shape, "x"));
}

fs::path tiny_tokenizer_dir() {
  return source_dir() / "tests/fixtures/tokenizer/tiny";
}

// ---------------------------------------------------------------------------------------
// Round trips

class SaveRoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(SaveRoundTrip, ReloadGivesBitwiseEqualLogits) {
  Qwen3VLFixture fx(GetParam());
  TempDir tmp;
  auto model = load_pretrained(fx.model_dir);
  save_pretrained(*model, tmp.path());
  auto reloaded = load_pretrained(tmp.path());
  EXPECT_EQ(reloaded->dtype(), at::kFloat);
  torch::NoGradGuard no_grad;
  for (const char* prompt : kPrompts) {
    auto in = fx.inputs(prompt);
    EXPECT_TRUE(at::equal(model->forward(in), reloaded->forward(in))) << prompt;
  }
}

TEST_P(SaveRoundTrip, TensorLayoutIsTransformers) {
  // Names, shapes and dtypes of what we write equal those transformers wrote: for the tied
  // model that means no lm_head.weight.
  Qwen3VLFixture fx(GetParam());
  TempDir tmp;
  auto model = load_pretrained(fx.model_dir);
  SaveOptions options;
  if (fx.name == "untied") options.max_shard_bytes = 100'000;  // transformers' "100KB", as generate.py
  save_pretrained(*model, tmp.path(), options);
  const auto ours = layout_of(tmp.path());
  EXPECT_EQ(ours, layout_of(fx.model_dir));
  if (fx.name == "tied") {
    EXPECT_EQ(ours.count("lm_head.weight"), 0u);
    EXPECT_TRUE(fs::exists(tmp / "model.safetensors"));
    EXPECT_FALSE(fs::exists(tmp / "model.safetensors.index.json"));
  } else {
    EXPECT_EQ(ours.count("lm_head.weight"), 1u);
    ASSERT_TRUE(fs::exists(tmp / "model.safetensors.index.json"));
    EXPECT_FALSE(fs::exists(tmp / "model.safetensors"));
    const auto index = read_json(tmp / "model.safetensors.index.json");
    std::set<std::string> mapped, shards;
    for (const auto& [name, shard] : index.at("weight_map").items()) {
      mapped.insert(name);
      shards.insert(shard.get<std::string>());
    }
    std::set<std::string> expected;
    for (const auto& [name, layout] : layout_of(fx.model_dir)) expected.insert(name);
    EXPECT_EQ(mapped, expected);
    EXPECT_GT(shards.size(), 1u);
    for (const auto& shard : shards) EXPECT_TRUE(fs::exists(tmp / shard)) << shard;
  }
}

TEST_P(SaveRoundTrip, ConfigParsesAndHasBothRopeSpellings) {
  Qwen3VLFixture fx(GetParam());
  TempDir tmp;
  auto model = load_pretrained(fx.model_dir);
  save_pretrained(*model, tmp.path());
  const auto config = policy::Qwen3VLConfig::from_file(tmp / "config.json");
  const auto& original = model->config;
  EXPECT_EQ(config.text.hidden_size, original.text.hidden_size);
  EXPECT_EQ(config.text.num_hidden_layers, original.text.num_hidden_layers);
  EXPECT_EQ(config.text.head_dim, original.text.head_dim);
  EXPECT_EQ(config.text.mrope_section, original.text.mrope_section);
  EXPECT_EQ(config.text.rope_theta, original.text.rope_theta);
  EXPECT_EQ(config.vision.deepstack_visual_indexes, original.vision.deepstack_visual_indexes);
  EXPECT_EQ(config.vision.num_position_embeddings, original.vision.num_position_embeddings);
  EXPECT_EQ(config.tie_word_embeddings, original.tie_word_embeddings);
  EXPECT_EQ(config.image_token_id, original.image_token_id);
  const auto raw = read_json(tmp / "config.json");
  const auto& text = raw.at("text_config");
  ASSERT_TRUE(text.contains("rope_parameters"));
  ASSERT_TRUE(text.contains("rope_scaling"));
  EXPECT_EQ(text["rope_parameters"]["mrope_section"], json(original.text.mrope_section));
  EXPECT_EQ(text["rope_scaling"]["mrope_section"], json(original.text.mrope_section));
  EXPECT_EQ(text["rope_parameters"]["rope_theta"].get<double>(), original.text.rope_theta);
  EXPECT_EQ(raw.at("dtype"), "float32");
  EXPECT_EQ(raw.at("vision_config").at("model_type"), "qwen3_vl_vision");  // the spelling read is kept
}

TEST_P(SaveRoundTrip, Bfloat16SaveAndLoad) {
  Qwen3VLFixture fx(GetParam());
  TempDir tmp;
  auto model = load_pretrained(fx.model_dir);
  SaveOptions options;
  options.dtype = at::kBFloat16;
  save_pretrained(*model, tmp.path(), options);
  for (const auto& [name, layout] : layout_of(tmp.path())) EXPECT_EQ(layout.dtype, "BF16") << name;
  EXPECT_EQ(read_json(tmp / "config.json").at("dtype"), "bfloat16");
  EXPECT_EQ(read_json(tmp / "config.json").at("text_config").at("dtype"), "bfloat16");
  // The checkpoint's dtype is the default.
  auto reloaded = load_pretrained(tmp.path());
  for (const auto& item : reloaded->named_parameters())
    EXPECT_EQ(item.value().scalar_type(), at::kBFloat16) << item.key();
  // And its values are the float32 ones rounded.
  EXPECT_TRUE(at::equal(reloaded->language_model->embed_tokens->weight,
                        model->language_model->embed_tokens->weight.to(at::kBFloat16)));
  // LoadOptions.dtype overrides it both ways.
  LoadOptions as_float;
  as_float.dtype = at::kFloat;
  EXPECT_EQ(load_pretrained(tmp.path(), as_float)->dtype(), at::kFloat);
  LoadOptions as_bf16;
  as_bf16.dtype = at::kBFloat16;
  auto fixture_bf16 = load_pretrained(fx.model_dir, as_bf16);
  for (const auto& item : fixture_bf16->named_parameters()) {
    EXPECT_EQ(item.value().scalar_type(), at::kBFloat16) << item.key();
  }
  torch::NoGradGuard no_grad;
  auto logits = fixture_bf16->forward(fx.inputs("one_image"));
  EXPECT_EQ(logits.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(logits.isfinite().all().item<bool>());
}

TEST_P(SaveRoundTrip, CopiesTheAssets) {
  Qwen3VLFixture fx(GetParam());
  TempDir tmp;
  auto model = load_pretrained(fx.model_dir);
  SaveOptions options;
  options.copy_assets_from = fx.model_dir;
  save_pretrained(*model, tmp.path(), options);
  for (const auto& entry : fs::directory_iterator(fx.model_dir)) {
    const auto name = entry.path().filename().string();
    if (entry.path().extension() == ".safetensors" || name == "model.safetensors.index.json") continue;
    EXPECT_TRUE(fs::exists(tmp / name)) << name;
  }
  EXPECT_EQ(read_file(tmp / "tokenizer.json"), read_file(fx.model_dir / "tokenizer.json"));
}

TEST(SavePretrained, OverwritesADirectoryOfTheOtherLayout) {
  // A single-file save into a directory holding a sharded checkpoint (and back) must not leave
  // the old index or model.safetensors shadowing the new weights.
  TempDir tmp;
  auto tied = load_pretrained(Qwen3VLFixture("tied").model_dir);
  auto untied = load_pretrained(Qwen3VLFixture("untied").model_dir);
  SaveOptions sharded;
  sharded.max_shard_bytes = 100'000;
  save_pretrained(*untied, tmp.path(), sharded);
  save_pretrained(*tied, tmp.path());
  EXPECT_FALSE(fs::exists(tmp / "model.safetensors.index.json"));
  auto reloaded = load_pretrained(tmp.path());
  EXPECT_TRUE(reloaded->config.tie_word_embeddings);
  EXPECT_TRUE(at::equal(reloaded->language_model->embed_tokens->weight, tied->language_model->embed_tokens->weight));
  save_pretrained(*untied, tmp.path(), sharded);
  EXPECT_FALSE(fs::exists(tmp / "model.safetensors"));
  EXPECT_FALSE(load_pretrained(tmp.path())->config.tie_word_embeddings);
}

TEST(SavePretrained, MissingAssetsDirectoryIsNamed) {
  TempDir tmp;
  auto model = load_pretrained(Qwen3VLFixture("tied").model_dir);
  SaveOptions options;
  options.copy_assets_from = tmp / "no-assets-here";
  EXPECT_THAT(expected_error([&] { save_pretrained(*model, tmp / "out", options); }),
              HasSubstr((tmp / "no-assets-here").string()));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SaveRoundTrip, ::testing::ValuesIn(kConfigs),
                         [](const auto& param_info) { return std::string(param_info.param); });

TEST(LoadPretrained, TiedCheckpointMayCarryLmHead) {
  Qwen3VLFixture fx("tied");
  TempDir tmp;
  copy_dir(fx.model_dir, tmp.path());
  auto file = safetensors::File::open(fx.model_dir / "model.safetensors");
  safetensors::NamedTensors tensors;
  for (const auto& [name, info] : file->header().index) tensors.emplace_back(name, file->tensor(name));
  tensors.emplace_back("lm_head.weight", file->tensor("model.language_model.embed_tokens.weight"));
  safetensors::save_file(tmp / "model.safetensors", tensors, {{"format", "pt"}});
  auto model = load_pretrained(tmp.path());
  EXPECT_TRUE(model->config.tie_word_embeddings);
}

// ---------------------------------------------------------------------------------------
// Bad checkpoints: every error names the file, key or tensor.

class BadCheckpoint : public ::testing::Test {
 protected:
  // A copy of a fixture directory to break.
  fs::path copy(const char* config) {
    const auto dir = tmp_ / config;
    copy_dir(qwen3vl_fixture_dir() / config, dir);
    return dir;
  }
  void edit_config(const fs::path& dir, const std::function<void(json&)>& edit) {
    auto config = read_json(dir / "config.json");
    edit(config);
    write_json(dir / "config.json", config);
  }
  // Rewrites model.safetensors of `dir` through `edit`.
  void edit_tensors(const fs::path& dir, const std::function<void(safetensors::NamedTensors&)>& edit) {
    safetensors::NamedTensors tensors;
    {
      auto file = safetensors::File::open(dir / "model.safetensors");
      for (const auto& [name, info] : file->header().index) tensors.emplace_back(name, file->tensor(name).clone());
    }
    edit(tensors);
    safetensors::save_file(dir / "model.safetensors", tensors, {{"format", "pt"}});
  }
  TempDir tmp_;
};

TEST_F(BadCheckpoint, MissingDirectory) {
  const auto dir = tmp_ / "no-such-checkpoint";
  const auto message = expected_error([&] { load_pretrained(dir); });
  EXPECT_THAT(message, HasSubstr(dir.string()));
  EXPECT_THAT(message, HasSubstr("not a checkpoint directory"));
}

TEST_F(BadCheckpoint, MissingConfig) {
  const auto dir = copy("tied");
  fs::remove(dir / "config.json");
  EXPECT_THAT(expected_error([&] { load_pretrained(dir); }), HasSubstr((dir / "config.json").string()));
}

TEST_F(BadCheckpoint, ConfigNotJson) {
  const auto dir = copy("tied");
  std::ofstream(dir / "config.json") << "{\"model_type\": ";
  const auto message = expected_error([&] { load_pretrained(dir); });
  EXPECT_THAT(message, HasSubstr((dir / "config.json").string()));
  EXPECT_THAT(message, HasSubstr("not valid JSON"));
}

TEST_F(BadCheckpoint, UnknownArchitecture) {
  const auto dir = copy("tied");
  edit_config(dir, [](json& c) {
    c["model_type"] = "llama";
    c["architectures"] = {"LlamaForCausalLM"};
  });
  const auto message = expected_error([&] { load_pretrained(dir); });
  EXPECT_THAT(message, HasSubstr((dir / "config.json").string()));
  EXPECT_THAT(message, HasSubstr("model_type"));
  EXPECT_THAT(message, HasSubstr("llama"));
}

TEST_F(BadCheckpoint, UnknownArchitecturesEntry) {
  const auto dir = copy("tied");
  edit_config(dir, [](json& c) { c["architectures"] = {"Qwen2VLForConditionalGeneration"}; });
  const auto message = expected_error([&] { load_pretrained(dir); });
  EXPECT_THAT(message, HasSubstr((dir / "config.json").string()));
  EXPECT_THAT(message, HasSubstr("Qwen2VLForConditionalGeneration"));
}

TEST_F(BadCheckpoint, MropeSectionsMustSumToHalfTheHeadDim) {
  const auto dir = copy("tied");  // head_dim 16
  edit_config(dir, [](json& c) { c["text_config"]["rope_parameters"]["mrope_section"] = {4, 4, 4}; });
  const auto message = expected_error([&] { load_pretrained(dir); });
  EXPECT_THAT(message, HasSubstr((dir / "config.json").string()));
  EXPECT_THAT(message, HasSubstr("mrope_section"));
  EXPECT_THAT(message, HasSubstr("head_dim/2 = 8"));
}

TEST_F(BadCheckpoint, WrongTypeNamesTheKey) {
  const auto dir = copy("tied");
  edit_config(dir, [](json& c) { c["text_config"]["num_hidden_layers"] = "three"; });
  const auto message = expected_error([&] { load_pretrained(dir); });
  EXPECT_THAT(message, HasSubstr((dir / "config.json").string()));
  EXPECT_THAT(message, HasSubstr("text_config.num_hidden_layers"));
}

TEST_F(BadCheckpoint, HiddenSizeChangedListsWrongShapes) {
  const auto dir = copy("tied");
  edit_config(dir, [](json& c) {
    c["text_config"]["hidden_size"] = 48;
    c["vision_config"]["out_hidden_size"] = 48;
  });
  const auto message = expected_error([&] { load_pretrained(dir); });
  EXPECT_THAT(message, HasSubstr(dir.string()));
  EXPECT_THAT(message, HasSubstr("wrong shapes"));
  EXPECT_THAT(message,
              HasSubstr("model.language_model.embed_tokens.weight is [2048, 64] but the config needs [2048, 48]"));
  EXPECT_THAT(message, HasSubstr("in all)"));  // many, listed with a count
  EXPECT_THAT(message, ::testing::Not(HasSubstr("missing tensors")));
}

TEST_F(BadCheckpoint, MissingAndUnexpectedTensorsAreNamed) {
  const auto dir = copy("tied");
  const std::string removed = "model.language_model.layers.1.self_attn.k_norm.weight";
  edit_tensors(dir, [&](safetensors::NamedTensors& tensors) {
    std::erase_if(tensors, [&](const auto& t) { return t.first == removed; });
    tensors.emplace_back("model.visual.blocks.9.attn.qkv.weight", at::zeros({3, 3}));
  });
  const auto message = expected_error([&] { load_pretrained(dir); });
  EXPECT_THAT(message, HasSubstr(dir.string()));
  EXPECT_THAT(message, HasSubstr("missing tensors: " + removed));
  EXPECT_THAT(message, HasSubstr("unexpected tensors: model.visual.blocks.9.attn.qkv.weight"));
}

TEST_F(BadCheckpoint, UntiedCheckpointWithoutLmHead) {
  const auto dir = copy("tied");
  edit_config(dir, [](json& c) {
    c["tie_word_embeddings"] = false;
    c["text_config"]["tie_word_embeddings"] = false;
  });
  EXPECT_THAT(expected_error([&] { load_pretrained(dir); }), HasSubstr("missing tensors: lm_head.weight"));
}

TEST_F(BadCheckpoint, TruncatedSafetensors) {
  const auto dir = copy("tied");
  const auto file = dir / "model.safetensors";
  fs::resize_file(file, fs::file_size(file) / 2);
  EXPECT_THAT(expected_error([&] { load_pretrained(dir); }), HasSubstr(file.string()));
}

TEST_F(BadCheckpoint, CorruptSafetensorsHeader) {
  const auto dir = copy("tied");
  const auto file = dir / "model.safetensors";
  {
    std::fstream out(file, std::ios::in | std::ios::out | std::ios::binary);
    out.seekp(8);
    out << "not json at all";
  }
  EXPECT_THAT(expected_error([&] { load_pretrained(dir); }), HasSubstr(file.string()));
}

TEST_F(BadCheckpoint, NotSafetensorsAtAll) {
  const auto dir = copy("tied");
  const auto file = dir / "model.safetensors";
  std::ofstream(file, std::ios::binary | std::ios::trunc) << "tiny";
  EXPECT_THAT(expected_error([&] { load_pretrained(dir); }), HasSubstr(file.string()));
}

TEST_F(BadCheckpoint, NoWeights) {
  const auto dir = copy("tied");
  fs::remove(dir / "model.safetensors");
  EXPECT_THAT(expected_error([&] { load_pretrained(dir); }), HasSubstr(dir.string()));
}

TEST_F(BadCheckpoint, IndexPointsToAMissingShard) {
  const auto dir = copy("untied");
  const auto index = read_json(dir / "model.safetensors.index.json");
  const std::string shard = index.at("weight_map").at("lm_head.weight").get<std::string>();
  fs::remove(dir / shard);
  EXPECT_THAT(expected_error([&] { load_pretrained(dir); }), HasSubstr(shard));
}

TEST_F(BadCheckpoint, IndexNamesATensorItsShardLacks) {
  const auto dir = copy("untied");
  auto index = read_json(dir / "model.safetensors.index.json");
  index["weight_map"]["lm_head.weight"] = index["weight_map"]["model.visual.pos_embed.weight"];
  write_json(dir / "model.safetensors.index.json", index);
  EXPECT_THAT(expected_error([&] { load_pretrained(dir); }), HasSubstr("lm_head.weight"));
}

// ---------------------------------------------------------------------------------------
// The tiny-model factory

policy::TinyModelOptions tiny_options() {
  policy::TinyModelOptions options;
  options.tokenizer_dir = tiny_tokenizer_dir();
  return options;
}

TEST(TinyModel, ConfigTakesTheTokenizersIds) {
  const auto config = policy::tiny_config(tiny_options());
  const auto tokenizer = read_json(tiny_tokenizer_dir() / "tokenizer.json");
  std::map<std::string, int64_t> ids;
  for (const auto& token : tokenizer.at("added_tokens")) ids[token.at("content")] = token.at("id");
  EXPECT_EQ(config.image_token_id, ids.at("<|image_pad|>"));
  EXPECT_EQ(config.video_token_id, ids.at("<|video_pad|>"));
  EXPECT_EQ(config.vision_start_token_id, ids.at("<|vision_start|>"));
  EXPECT_EQ(config.vision_end_token_id, ids.at("<|vision_end|>"));
  EXPECT_EQ(config.text.vocab_size, 2048);  // 2021 tokens, rounded up to a multiple of 64
  EXPECT_EQ(config.text.vocab_size % 64, 0);
  EXPECT_EQ(config.text.hidden_size, 64);
  EXPECT_EQ(config.text.head_dim, 16);
  EXPECT_EQ(config.text.mrope_section, (std::vector<int64_t>{4, 2, 2}));
  EXPECT_EQ(config.vision.num_position_embeddings, 36);
  EXPECT_EQ(config.vision.deepstack_visual_indexes, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(config.vision.out_hidden_size, config.text.hidden_size);
  EXPECT_TRUE(config.tie_word_embeddings);
}

TEST(TinyModel, MissingVisionTokenNamesTheFile) {
  TempDir tmp;
  auto tokenizer = read_json(tiny_tokenizer_dir() / "tokenizer.json");
  auto& added = tokenizer["added_tokens"];
  for (auto it = added.begin(); it != added.end(); ++it) {
    if ((*it)["content"] == "<|video_pad|>") {
      added.erase(it);
      break;
    }
  }
  write_json(tmp / "tokenizer.json", tokenizer);
  auto options = tiny_options();
  options.tokenizer_dir = tmp.path();
  const auto message = expected_error([&] { policy::tiny_config(options); });
  EXPECT_THAT(message, HasSubstr((tmp / "tokenizer.json").string()));
  EXPECT_THAT(message, HasSubstr("<|video_pad|>"));
}

TEST(TinyModel, MissingTokenizerNamesTheFile) {
  TempDir tmp;
  auto options = tiny_options();
  options.tokenizer_dir = tmp / "nowhere";
  EXPECT_THAT(expected_error([&] { policy::tiny_config(options); }), HasSubstr((tmp / "nowhere/tokenizer.json").string()));
}

TEST(TinyModel, InitRandomIsDeterministicAndTransformersStyle) {
  const auto config = policy::tiny_config(tiny_options());
  at::manual_seed(123);
  const auto before = at::randn({4});
  at::manual_seed(123);
  auto a = policy::init_random(config, 7, at::kFloat);
  auto b = policy::init_random(config, 7, at::kFloat);
  auto c = policy::init_random(config, 8, at::kFloat);
  EXPECT_TRUE(at::equal(at::randn({4}), before)) << "init_random must not draw from the global RNG";
  const auto pa = a->named_parameters(), pb = b->named_parameters(), pc = c->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  bool any_differs = false;
  for (size_t i = 0; i < pa.size(); ++i) {
    const auto& name = pa[i].key();
    const auto& value = pa[i].value();
    ASSERT_EQ(name, pb[i].key());
    // bitwise: compare the bytes, not the values
    EXPECT_TRUE(at::equal(value.detach().view(at::kInt), pb[i].value().detach().view(at::kInt))) << name;
    if (!at::equal(value, pc[i].value())) any_differs = true;
    if (name.ends_with(".bias")) {
      EXPECT_EQ(value.abs().max().item<float>(), 0.0f) << name;
    } else if (name.find("norm") != std::string::npos) {
      EXPECT_TRUE(at::equal(value, at::ones_like(value))) << name;
    } else if (value.numel() >= 4096) {
      EXPECT_NEAR(value.std().item<double>(), 0.02, 0.002) << name;
      EXPECT_NEAR(value.mean().item<double>(), 0.0, 0.002) << name;
    }
  }
  EXPECT_TRUE(any_differs);
  EXPECT_EQ(policy::init_random(config, 7, at::kBFloat16)->dtype(), at::kBFloat16);
}

TEST(TinyModel, SavedDirectoryLoadsAndRuns) {
  TempDir tmp;
  auto options = tiny_options();
  options.seed = 3;
  policy::save_tiny_model(tmp.path(), options);
  for (const char* name : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                           "preprocessor_config.json", "generation_config.json"}) {
    EXPECT_TRUE(fs::exists(tmp / name)) << name;
  }
  EXPECT_EQ(read_file(tmp / "tokenizer.json"), read_file(tiny_tokenizer_dir() / "tokenizer.json"));
  EXPECT_EQ(read_file(tmp / "chat_template.jinja"),
            read_json(tiny_tokenizer_dir() / "tokenizer_config.json").at("chat_template").get<std::string>());
  auto model = load_pretrained(tmp.path());
  // The weights are init_random's.
  auto expected = policy::init_random(model->config, 3, at::kFloat);
  EXPECT_TRUE(at::equal(model->language_model->embed_tokens->weight, expected->language_model->embed_tokens->weight));
  // A forward with an image: the tiny tokenizer is the fixtures', so their prompts fit.
  Qwen3VLFixture fx("tied");
  torch::NoGradGuard no_grad;
  auto in = fx.inputs("one_image");
  auto logits = model->forward(in);
  ASSERT_EQ(logits.sizes().vec(), (std::vector<int64_t>{1, in.input_ids.size(1), 2048}));
  EXPECT_TRUE(logits.isfinite().all().item<bool>());
  EXPECT_GT(logits.std().item<double>(), 0.0);

  // The preprocessor config has the key set transformers writes for Qwen2VLImageProcessor.
  const auto preprocessor = read_json(tmp / "preprocessor_config.json");
  const auto transformers = read_json(fx.model_dir / "processor_config.json").at("image_processor");
  for (const auto& [key, value] : transformers.items()) EXPECT_TRUE(preprocessor.contains(key)) << key;
  EXPECT_EQ(preprocessor.at("size").at("longest_edge"), 65536);
  EXPECT_EQ(preprocessor.at("size").at("shortest_edge"), 1024);
  const auto generation = read_json(tmp / "generation_config.json");
  EXPECT_EQ(generation.at("eos_token_id"), json({2002, 2000}));  // <|im_end|>, <|endoftext|>
  EXPECT_EQ(generation.at("pad_token_id"), 2000);
}

TEST(TinyModel, OptionsChangeTheSizes) {
  TempDir tmp;
  auto options = tiny_options();
  options.num_layers = 3;
  options.hidden_size = 96;
  options.dtype = at::kBFloat16;
  policy::save_tiny_model(tmp.path(), options);
  auto model = load_pretrained(tmp.path());
  EXPECT_EQ(model->dtype(), at::kBFloat16);
  EXPECT_EQ(model->config.text.num_hidden_layers, 3);
  EXPECT_EQ(model->config.text.hidden_size, 96);
  EXPECT_EQ(read_json(tmp / "config.json").at("dtype"), "bfloat16");
}

}  // namespace
}  // namespace visrl::test
