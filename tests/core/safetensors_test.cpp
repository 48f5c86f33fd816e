#include "core/safetensors.h"

#include <cstring>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tests/test_util.h"

namespace visrl::safetensors {
namespace {

namespace fs = std::filesystem;
using test::error_of;
using test::TempDir;
using ::testing::HasSubstr;

const fs::path kFixtures = test::source_dir() / "tests/fixtures/safetensors";

nlohmann::json expected() {
  std::ifstream in(kFixtures / "expected.json");
  return nlohmann::json::parse(in);
}

std::string hex_of(const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  const auto* p = static_cast<const uint8_t*>(c.data_ptr());
  std::string out;
  for (size_t i = 0; i < c.nbytes(); ++i) out += fmt::format("{:02x}", p[i]);
  return out;
}

// Every tensor of `ckpt` against the Python-made expectations: dtype, shape, bytes, values.
void expect_matches(const Checkpoint& ckpt, const nlohmann::json& tensors) {
  ASSERT_EQ(ckpt.names().size(), tensors.size());
  for (const auto& [name, exp] : tensors.items()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(ckpt.contains(name));
    at::Tensor t = ckpt.tensor(name);
    EXPECT_EQ(dtype_name(ckpt.info(name).dtype), exp["dtype"].get<std::string>());
    EXPECT_EQ(t.sizes().vec(), exp["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(hex_of(t), exp["hex"].get<std::string>());
    // Values through LibTorch's own conversion: catches a wrong dtype mapping (I16 vs U16, ...).
    const auto& values = exp["values"];
    at::Tensor flat = t.reshape({-1});
    ASSERT_EQ(flat.numel(), static_cast<int64_t>(values.size()));
    for (int64_t i = 0; i < flat.numel(); ++i) {
      if (values[i].is_number_float()) {
        EXPECT_EQ(flat[i].item<double>(), values[i].get<double>()) << "at " << i;
      } else if (t.scalar_type() == at::kUInt64) {
        // LibTorch has no item<uint64_t>; the bits of an int64 read are the same.
        EXPECT_EQ(static_cast<uint64_t>(flat[i].view(at::kLong).item<int64_t>()), values[i].get<uint64_t>())
            << "at " << i;
      } else {
        EXPECT_EQ(flat[i].item<int64_t>(), values[i].get<int64_t>()) << "at " << i;
      }
    }
  }
}

TEST(Safetensors, ReadsEveryDtypeWrittenByPython) {
  Checkpoint ckpt = Checkpoint::open(kFixtures / "all_dtypes.safetensors");
  nlohmann::json exp = expected();
  expect_matches(ckpt, exp["tensors"]);
  auto expected_metadata = exp["metadata"].get<std::map<std::string, std::string>>();
  EXPECT_EQ(ckpt.metadata(), expected_metadata);
}

TEST(Safetensors, ReadsAShardedCheckpointWrittenByPython) {
  nlohmann::json exp = expected();
  for (const fs::path& p : {kFixtures / "sharded", kFixtures / "sharded/model.safetensors.index.json"}) {
    SCOPED_TRACE(p.string());
    Checkpoint ckpt = Checkpoint::open(p);
    expect_matches(ckpt, exp["sharded"]);
    EXPECT_EQ(ckpt.metadata().at("total_size"), "288");  // 2 x 8x4 + 2 x 4 floats
  }
}

TEST(Safetensors, AlignedTensorsViewTheMappingAndStayCopyOnWrite) {
  TempDir dir;
  fs::path path = dir / "w.safetensors";
  save_file(path, {{"w", torch::arange(16, torch::kFloat32)}});
  auto file = File::open(path);
  at::Tensor a = file->tensor("w");
  at::Tensor b = file->tensor("w");
  EXPECT_EQ(a.data_ptr(), b.data_ptr());  // both view the one mapping: no copy was made
  a.mul_(2);                              // private pages: the file itself is unchanged
  EXPECT_EQ(b[3].item<float>(), 6.0f);
  file.reset();
  EXPECT_EQ(a[5].item<float>(), 10.0f);  // the tensor keeps the mapping alive
  EXPECT_EQ(Checkpoint::open(path).tensor("w")[3].item<float>(), 3.0f);
}

TEST(Safetensors, MisalignedDataIsCopiedNotViewed) {
  // A header of odd length leaves the data buffer at an odd file offset.
  std::string json = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_NE((8 + json.size()) % 4, 0u);
  uint64_t n = json.size();
  std::string bytes(reinterpret_cast<const char*>(&n), 8);
  float values[2] = {1.5f, -2.0f};
  bytes += json + std::string(reinterpret_cast<const char*>(values), 8);
  TempDir dir;
  Checkpoint ckpt = Checkpoint::open(dir.write("odd.safetensors", bytes));
  at::Tensor t = ckpt.tensor("x");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % 4, 0u);
  EXPECT_EQ(t[0].item<float>(), 1.5f);
  EXPECT_EQ(t[1].item<float>(), -2.0f);
}

TEST(Safetensors, WriteThenReadRoundTripsEveryDtype) {
  TempDir dir;
  torch::manual_seed(0);
  NamedTensors tensors = {
      {"f32.transposed", torch::randn({3, 5}).t()},  // non-contiguous input
      {"bf16", torch::randn({4, 4}).to(torch::kBFloat16)},
      {"f16", torch::randn({7}).to(torch::kHalf)},
      {"f64", torch::randn({2, 2}, torch::kFloat64)},
      {"i64", torch::randint(-1000, 1000, {5}, torch::kLong)},
      {"i32", torch::randint(-1000, 1000, {5}, torch::kInt)},
      {"i16", torch::randint(-1000, 1000, {5}, torch::kShort)},
      {"i8", torch::randint(-100, 100, {5}, torch::kChar)},
      {"u8", torch::randint(0, 255, {5}, torch::kByte)},
      {"bool", torch::rand({6}) > 0.5},
      {"f8", torch::randn({6}).to(torch::kFloat8_e4m3fn)},
      {"scalar", torch::tensor(3.25)},
      {"empty", torch::empty({0, 3})},
  };
  fs::path path = dir / "out.safetensors";
  save_file(path, tensors, {{"step", "12"}});
  Checkpoint ckpt = Checkpoint::open(path);
  EXPECT_EQ(ckpt.metadata().at("step"), "12");
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    at::Tensor back = ckpt.tensor(name);
    EXPECT_EQ(back.scalar_type(), t.scalar_type());
    EXPECT_EQ(back.sizes(), t.sizes());
    EXPECT_EQ(hex_of(back), hex_of(t));
  }
  uint64_t header_length = 0;  // the padded header puts the data buffer at an 8-byte offset
  std::memcpy(&header_length, test::read_file(path).data(), 8);
  EXPECT_EQ((8 + header_length) % 8, 0u);
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename(), "out.safetensors") << "left behind: " << entry.path();
  }
}

TEST(Safetensors, ShardedWriteSplitsByBytesAndReplacesTheOtherLayout) {
  TempDir dir;
  NamedTensors tensors;
  for (int i = 0; i < 5; ++i) tensors.push_back({fmt::format("layer.{}.w", i), torch::full({64}, float(i))});
  save_file(dir / "model.safetensors", {{"stale", torch::zeros({1})}});
  save_sharded(dir.path(), tensors, /*max_shard_bytes=*/600, {{"format", "pt"}});  // 256 B each: 2 per shard
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));  // would shadow the index in transformers
  EXPECT_TRUE(fs::exists(dir / "model-00003-of-00003.safetensors"));
  Checkpoint ckpt = Checkpoint::open(dir.path());
  ASSERT_EQ(ckpt.names().size(), 5u);
  EXPECT_EQ(ckpt.tensor("layer.4.w")[10].item<float>(), 4.0f);
  EXPECT_EQ(ckpt.metadata().at("total_size"), "1280");

  save_sharded(dir.path(), {{"only", torch::ones({2})}}, 1 << 20);  // one shard: model.safetensors
  EXPECT_FALSE(fs::exists(dir / "model.safetensors.index.json"));
  EXPECT_EQ(Checkpoint::open(dir.path()).names(), std::vector<std::string>{"only"});
}

TEST(Safetensors, WriterRejectsWhatItCannotStore) {
  TempDir dir;
  auto msg = [&](const NamedTensors& t) { return error_of([&] { save_file(dir / "x.safetensors", t); }); };
  EXPECT_THAT(msg({{"a", torch::ones({1})}, {"a", torch::ones({1})}}), HasSubstr("\"a\": duplicate"));
  EXPECT_THAT(msg({{"c", torch::ones({1}, torch::kComplexFloat)}}), HasSubstr("\"c\": dtype ComplexFloat"));
  EXPECT_THAT(msg({{"__metadata__", torch::ones({1})}}), HasSubstr("reserved name"));
  EXPECT_FALSE(fs::exists(dir / "x.safetensors"));
  EXPECT_THROW(save_file(dir / "no/such/dir/x.safetensors", {{"a", torch::ones({1})}}), Error);
}

// --- hostile and broken files ------------------------------------------------------------

std::string with_header(const std::string& json, const std::string& data = "", int64_t claimed = -1) {
  uint64_t n = claimed < 0 ? json.size() : static_cast<uint64_t>(claimed);
  return std::string(reinterpret_cast<const char*>(&n), 8) + json + data;
}

std::string parse_error(const std::string& bytes) {
  try {
    parse_header({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, "f.safetensors");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::format);
    return e.what();
  }
  return "no error";
}

TEST(SafetensorsValidation, RejectsBrokenFilesWithAClearMessage) {
  const std::string t = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string eight(8, '\1');
  struct Case {
    std::string bytes, message;
  };
  std::vector<Case> cases = {
      {"abc", "f.safetensors: file is 3 bytes, too short for a safetensors header"},
      {with_header("{}", "", 200'000'000), "header length 200000000 exceeds the limit"},
      {with_header("{}", "", 50), "header length 50 runs past the end of the file (10 bytes): truncated?"},
      {with_header("[1]"), "header must start with '{'"},
      {with_header("{\"t\":"), "header is not valid JSON"},
      {with_header("{" + t + "," + t + "}", eight + eight), "duplicate entry \"t\""},
      {with_header("{\"t\":5}"), "entry \"t\" must be an object, got the number 5"},
      {with_header(R"({"t":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", eight),
       "tensor \"t\": unknown dtype \"F33\""},
      {with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", eight), "unexpected field \"x\""},
      {with_header(R"({"t":{"dtype":"F32","shape":[2]}})"), "tensor \"t\": missing \"data_offsets\""},
      {with_header(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight), "the negative number -2"},
      {with_header(R"({"t":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", eight), "non-integer number 2"},
      {with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}})", eight), "exactly 2 values"},
      {with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", eight), "exactly 2 values"},
      {with_header(R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight),
       "tensor \"t\": shape [3] of F32 needs 12 bytes, data_offsets give 8"},
      {with_header(R"({"t":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", eight),
       "overflows"},
      {with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight), "reversed"},
      {with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", eight + eight),
       "data starts at byte 4 but the previous tensor ends at 0 (hole)"},
      {with_header(
           R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
           eight + eight),
       "data starts at byte 4 but the previous tensor ends at 8 (overlap)"},
      {with_header("{" + t + "}", eight + "x"), "tensors cover 8 bytes of data but the file holds 9 (trailing bytes)"},
      {with_header("{" + t + "}", "1234"), "tensors cover 8 bytes of data but the file holds 4 (truncated)"},
      {with_header(R"({"t":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})", "\x01\x02"),
       "BOOL values must be 0 or 1"},
      {with_header(R"({"__metadata__":{"a":1}})"), "__metadata__ \"a\" must be a string, got the number 1"},
      {with_header(R"({"__metadata__":{"a":"x","a":"y"}})"), "duplicate __metadata__ key \"a\""},
      {with_header("{\"t\":" + std::string(100000, '[') + "}"), "entry \"t\" must be an object, got a list"},
      {with_header(R"({"t":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,8]}})", eight), "too large"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    EXPECT_THAT(parse_error(c.bytes), HasSubstr(c.message));
  }
}

TEST(SafetensorsValidation, AcceptsEdgeCasesTheFormatAllows) {
  EXPECT_EQ(parse_error(with_header("{}")), "no error");  // no tensors at all
  EXPECT_EQ(parse_error(with_header(R"({"__metadata__":{}, "e":{"dtype":"I8","shape":[0],"data_offsets":[0,0]}})")),
            "no error");
  EXPECT_EQ(
      parse_error(with_header(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}    )", std::string(8, '\0'))),
      "no error");
}

TEST(SafetensorsValidation, CheckpointIndexProblemsNameTheIndex) {
  TempDir dir;
  fs::copy(kFixtures / "sharded", dir.path(), fs::copy_options::recursive);
  auto index_path = dir / "model.safetensors.index.json";
  auto rewrite = [&](const std::string& json) { dir.write("model.safetensors.index.json", json); };
  auto error = [&] { return error_of([&] { Checkpoint::open(dir.path()); }); };
  rewrite(R"({"weight_map": {"model.embed.weight": "../../etc/passwd"}})");
  EXPECT_THAT(error(), HasSubstr("is not a plain file name"));
  rewrite(R"({"weight_map": {"ghost": "model-00001-of-00002.safetensors"}})");
  EXPECT_THAT(
      error(),
      HasSubstr("tensor \"ghost\" is mapped to model-00001-of-00002.safetensors but that file does not hold it"));
  rewrite(R"({"weight_map": {"model.embed.weight": "model-00001-of-00002.safetensors"}})");
  EXPECT_THAT(error(), HasSubstr("holds tensor \"model.layers.0.norm.weight\" that the weight_map does not assign"));
  rewrite(R"({"weight_map": {"x": "missing.safetensors"}})");
  EXPECT_THAT(error(), HasSubstr("missing.safetensors: cannot open"));
  rewrite("not json");
  EXPECT_THAT(error(), HasSubstr("not a JSON object"));
  EXPECT_THAT(error(), HasSubstr(index_path.string()));
  EXPECT_THROW(Checkpoint::open(dir / "nothing-here"), Error);
}

// --- copy_into: filling existing tensors slice by slice ---------------------------------

NamedTensors dtype_zoo() {
  torch::manual_seed(1);
  return {
      {"f32", torch::randn({5, 7})},
      {"bf16", torch::randn({3, 11}).to(torch::kBFloat16)},
      {"f16", torch::randn({13}).to(torch::kHalf)},
      {"i64", torch::randint(-1000, 1000, {9}, torch::kLong)},
      {"u8", torch::randint(0, 255, {17}, torch::kByte)},
      {"bool", torch::rand({6}) > 0.5},
      {"scalar", torch::tensor(3.25)},
      {"empty", torch::empty({0, 3})},
  };
}

TEST(SafetensorsCopyInto, FillsEveryDtypeBitForBitWhateverTheSliceSize) {
  TempDir dir;
  const NamedTensors tensors = dtype_zoo();
  save_file(dir / "zoo.safetensors", tensors);
  const Checkpoint ckpt = Checkpoint::open(dir / "zoo.safetensors");
  // 1 byte: one element per read; 24 bytes: slices that end mid-tensor and mid-row.
  for (uint64_t slice : {uint64_t{1}, uint64_t{24}, CopyOptions{}.slice_bytes}) {
    SCOPED_TRACE(slice);
    for (const auto& [name, t] : tensors) {
      SCOPED_TRACE(name);
      at::Tensor dst = at::empty(t.sizes(), t.options());
      ckpt.copy_into(name, dst, {.slice_bytes = slice});
      EXPECT_EQ(hex_of(dst), hex_of(t));
    }
  }
}

TEST(SafetensorsCopyInto, CastsOnTheWayAndFillsStridedDestinations) {
  TempDir dir;
  torch::manual_seed(2);
  const at::Tensor f32 = torch::randn({6, 10});
  const at::Tensor bf16 = torch::randn({10, 6}).to(torch::kBFloat16);
  save_file(dir / "w.safetensors", {{"f32", f32}, {"bf16", bf16}});
  const Checkpoint ckpt = Checkpoint::open(dir / "w.safetensors");
  at::Tensor staging;  // reused by every copy below
  for (uint64_t slice : {uint64_t{8}, uint64_t{22}, CopyOptions{}.slice_bytes}) {
    SCOPED_TRACE(slice);
    const CopyOptions options{.slice_bytes = slice, .staging = &staging};
    at::Tensor down = at::empty({6, 10}, at::kBFloat16);  // fp32 file -> bf16 (round to nearest even)
    ckpt.copy_into("f32", down, options);
    EXPECT_EQ(hex_of(down), hex_of(f32.to(at::kBFloat16)));
    at::Tensor up = at::empty({10, 6}, at::kFloat);  // bf16 file -> fp32 (exact)
    ckpt.copy_into("bf16", up, options);
    EXPECT_EQ(hex_of(up), hex_of(bf16.to(at::kFloat)));
    at::Tensor strided = at::empty({10, 6}, at::kFloat).t();  // [6, 10], not contiguous
    ckpt.copy_into("f32", strided, options);
    EXPECT_TRUE(at::equal(strided, f32));
  }
  EXPECT_EQ(staging.nbytes(), 240u);  // grown to the largest slice asked for: all of "f32" (a default slice)
  // A parameter that requires grad is written without autograd complaining.
  at::Tensor param = at::empty({6, 10}).set_requires_grad(true);
  ckpt.copy_into("f32", param);
  EXPECT_TRUE(at::equal(param.detach(), f32));
}

TEST(SafetensorsCopyInto, ReadsMisalignedDataAndNamesWhatIsWrong) {
  std::string json = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";  // data at an odd offset
  uint64_t n = json.size();
  std::string bytes(reinterpret_cast<const char*>(&n), 8);
  float values[2] = {1.5f, -2.0f};
  bytes += json + std::string(reinterpret_cast<const char*>(values), 8);
  TempDir dir;
  const Checkpoint ckpt = Checkpoint::open(dir.write("odd.safetensors", bytes));
  at::Tensor x = at::empty({2});
  ckpt.copy_into("x", x, {.slice_bytes = 4});
  EXPECT_EQ(x[0].item<float>(), 1.5f);
  EXPECT_EQ(x[1].item<float>(), -2.0f);
  at::Tensor wrong = at::empty({3});
  EXPECT_THAT(error_of([&] { ckpt.copy_into("x", wrong); }), HasSubstr("\"x\" is [2] but the destination is [3]"));
  EXPECT_THAT(error_of([&] { ckpt.copy_into("y", x); }), HasSubstr("no tensor named \"y\""));
}

// kB of a /proc/self/status line ("RssFile", "VmRSS"), -1 where there is none.
int64_t status_kb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1));
  }
  return -1;
}

TEST(SafetensorsCopyInto, LeavesTheFilesPagesOutOfTheResidentSet) {
  TempDir dir;
  const at::Tensor big = torch::arange(int64_t{8} << 20, torch::kFloat);  // 32 MiB
  save_file(dir / "big.safetensors", {{"big", big}});
  const Checkpoint ckpt = Checkpoint::open(dir / "big.safetensors");
  at::Tensor dst = at::empty_like(big);
  at::Tensor half = at::empty(big.sizes(), at::kHalf);
  const int64_t before = status_kb("RssFile");
  if (before < 0) GTEST_SKIP() << "no RssFile in /proc/self/status";
  ckpt.copy_into("big", dst, {.slice_bytes = 1 << 20});
  ckpt.copy_into("big", half, {.slice_bytes = 1 << 20});
  EXPECT_LT(status_kb("RssFile") - before, 4 * 1024);  // reading through the mapping would add 32 MiB
  EXPECT_TRUE(at::equal(dst, big));
  EXPECT_TRUE(at::equal(half, big.to(at::kHalf)));
}

// --- streamed writing ----------------------------------------------------------------------

// What save_sharded wrote before it streamed, built here independently: every shard's header
// and bytes concatenated, and the index. File name -> content.
std::map<std::string, std::string> expected_shards(const NamedTensors& tensors, uint64_t max_shard_bytes,
                                                   const std::map<std::string, std::string>& metadata) {
  std::vector<std::vector<std::pair<std::string, at::Tensor>>> shards(1);
  uint64_t bytes = 0;
  for (const auto& [name, t] : tensors) {
    if (!shards.back().empty() && bytes + t.nbytes() > max_shard_bytes) {
      shards.emplace_back();
      bytes = 0;
    }
    shards.back().emplace_back(name, t.contiguous());
    bytes += t.nbytes();
  }
  std::map<std::string, std::string> files;
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  uint64_t total = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    std::vector<TensorBytes> parts;
    std::string data;
    for (const auto& [name, t] : shards[i]) {
      const auto* p = static_cast<const uint8_t*>(t.data_ptr());
      parts.push_back({name, dtype_of(t, name), t.sizes().vec(), {p, t.nbytes()}});
      data.append(reinterpret_cast<const char*>(p), t.nbytes());
    }
    const std::string file = shards.size() == 1
                                 ? std::string("model.safetensors")
                                 : fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
    files[file] = serialize_header(parts, metadata) + data;
    for (const auto& [name, t] : shards[i]) {
      weight_map[name] = file;
      total += t.nbytes();
    }
  }
  if (shards.size() > 1) {
    nlohmann::ordered_json index_metadata = {{"total_size", total}};
    for (const auto& [k, v] : metadata) index_metadata[k] = v;
    files["model.safetensors.index.json"] =
        nlohmann::ordered_json{{"metadata", index_metadata}, {"weight_map", weight_map}}.dump(2) + "\n";
  }
  return files;
}

std::map<std::string, std::string> files_in(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator(dir))
    out[entry.path().filename().string()] = test::read_file(entry.path());
  return out;
}

std::vector<TensorSpec> specs_of(const NamedTensors& tensors) {
  std::vector<TensorSpec> specs;
  for (const auto& [name, t] : tensors) specs.push_back({name, t.scalar_type(), t.sizes().vec()});
  return specs;
}

TEST(SafetensorsStreamed, ShardsAreByteIdenticalToTheInMemoryLayout) {
  NamedTensors tensors = dtype_zoo();
  tensors.emplace_back("big", torch::arange(300, torch::kFloat));  // larger than a shard: its own
  tensors.emplace_back("tail", torch::ones({3, 2}, torch::kBFloat16));
  const std::map<std::string, std::string> metadata = {{"format", "pt"}};
  for (uint64_t max_shard : {uint64_t{100}, uint64_t{1} << 20}) {
    SCOPED_TRACE(max_shard);
    const auto expected = expected_shards(tensors, max_shard, metadata);
    TempDir streamed, in_memory;
    save_sharded_streamed(
        streamed.path(), specs_of(tensors), [&](size_t i) { return tensors[i].second; }, max_shard, metadata);
    save_sharded(in_memory.path(), tensors, max_shard, metadata);
    const auto got = files_in(streamed.path());
    EXPECT_EQ(got.size(), max_shard == 100 ? 6u : 1u);  // 5 shards (one only "big") + the index
    for (const auto& [name, content] : expected) {
      SCOPED_TRACE(name);
      ASSERT_TRUE(got.count(name));
      EXPECT_TRUE(got.at(name) == content);
    }
    EXPECT_EQ(got.size(), expected.size());
    EXPECT_TRUE(files_in(in_memory.path()) == got);
  }
  TempDir single;
  save_file_streamed(
      single / "x.safetensors", specs_of(tensors), [&](size_t i) { return tensors[i].second; }, metadata);
  EXPECT_TRUE(test::read_file(single / "x.safetensors") ==
              expected_shards(tensors, 1 << 20, metadata).at("model.safetensors"));
}

TEST(SafetensorsStreamed, AsksForOneTensorAtATimeAndReleasesItBeforeTheNext) {
  std::vector<TensorSpec> specs;
  for (int i = 0; i < 6; ++i) specs.push_back({fmt::format("t{}", i), at::kBFloat16, {4, 8}});
  int live = 0, most_live = 0;
  std::vector<size_t> asked;
  auto produce = [&](size_t i) {
    EXPECT_EQ(live, 0) << "tensor " << i << " asked for while an earlier one is alive";
    asked.push_back(i);
    // A float32 tensor whose storage counts itself: the writer casts it to bf16 and must
    // drop both the cast and the original before asking for the next.
    auto* data = new float[32];
    for (int k = 0; k < 32; ++k) data[k] = static_cast<float>(i * 100 + k);
    ++live;
    most_live = std::max(most_live, live);
    return at::from_blob(
        data, {4, 8},
        [&live](void* p) {
          delete[] static_cast<float*>(p);
          --live;
        },
        at::kFloat);
  };
  TempDir dir;
  save_sharded_streamed(dir.path(), specs, produce, /*max_shard_bytes=*/150,
                        {{"format", "pt"}});  // 64 B each: 2 per shard
  EXPECT_EQ(live, 0);
  EXPECT_EQ(most_live, 1);
  EXPECT_EQ(asked, (std::vector<size_t>{0, 1, 2, 3, 4, 5}));
  const Checkpoint ckpt = Checkpoint::open(dir.path());
  EXPECT_TRUE(fs::exists(dir / "model-00003-of-00003.safetensors"));
  EXPECT_EQ(ckpt.info("t4").dtype, Dtype::BF16);
  EXPECT_EQ(ckpt.tensor("t4")[1][2].item<float>(), 410.0f);
  // A producer that gets the shape wrong is named, and no file is left behind.
  TempDir bad;
  EXPECT_THAT(error_of([&] {
                save_file_streamed(bad / "x.safetensors", specs, [](size_t) { return at::zeros({8, 4}); });
              }),
              HasSubstr("\"t0\": produced [8, 4] but the header says [4, 8]"));
  EXPECT_TRUE(fs::is_empty(bad.path()));
}

}  // namespace
}  // namespace visrl::safetensors
