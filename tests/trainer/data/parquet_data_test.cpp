// Parquet training data: files written by pyarrow in verl's layout and by Hugging Face datasets
// (tests/fixtures/parquet/generate.py) load as the same items as their JSONL manifests, pixels
// included; write_rows reads back as written; and every kind of bad data gets an error naming
// file, row and column, or is skipped and counted with data.invalid_rows: skip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "core/error.h"
#include "core/parquet_rows.h"
#include "policy/image/image_processor.h"
#include "render/png_io.h"
#include "tests/test_util.h"
#include "trainer/data/folder_dataset.h"
#include "trainer/data/parquet_dataset.h"

namespace visrl::trainer {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;
using visrl::test::error_of;
using visrl::test::TempDir;

const fs::path kFixtures = visrl::test::source_dir() / "tests/fixtures/parquet";

// Loads `parquet` and `jsonl` and checks that they hold the same items: ids, tasks, ground truth,
// prompts and the pixels of every image (the Parquet ones extracted into `cache`).
void expect_same_items(const std::string& parquet, const std::string& jsonl, const fs::path& cache) {
  auto from_parquet = load_data({parquet}, InvalidRows::error);
  const auto from_jsonl = load_data({jsonl}, InvalidRows::error);
  ASSERT_EQ(from_parquet.size(), from_jsonl.size());
  const auto written = extract_cell_images(from_parquet, cache);
  EXPECT_EQ(written, static_cast<int64_t>(from_parquet.size()));
  for (size_t i = 0; i < from_jsonl.size(); ++i) {
    SCOPED_TRACE(from_jsonl[i].id);
    const auto& p = from_parquet[i];
    const auto& j = from_jsonl[i];
    EXPECT_EQ(p.id, j.id);
    EXPECT_EQ(p.task, j.task);
    EXPECT_EQ(p.ground_truth, j.ground_truth);
    EXPECT_EQ(p.prompt, j.prompt);
    EXPECT_FALSE(p.image_cell);
    EXPECT_EQ(p.image.parent_path().parent_path(), cache);
    EXPECT_TRUE(policy::read_image(p.image).equal(policy::read_image(j.image)));  // [H, W, 3] uint8
  }
}

TEST(ParquetData, VerlLayoutWrittenByPyarrowLoadsAsItsJsonl) {
  TempDir dir;
  expect_same_items((kFixtures / "verl.parquet").string(), (kFixtures / "verl.jsonl").string(), dir / "cache");
}

TEST(ParquetData, HuggingFaceImageDatasetLoadsAsItsJsonl) {
  TempDir dir;
  expect_same_items("chart:" + (kFixtures / "hf.parquet").string(), (kFixtures / "hf.jsonl").string(), dir / "cache");
}

TEST(ParquetData, ExtractedImagesAreReusedAndTheItemsPointAtThem) {
  TempDir dir;
  auto first = load_data({(kFixtures / "verl.parquet").string()}, InvalidRows::error);
  EXPECT_TRUE(first[0].image_cell);
  EXPECT_EQ(first[0].image_cell->column, "images");
  EXPECT_EQ(first[0].image_cell->row, 0);
  EXPECT_EQ(extract_cell_images(first, dir / "cache"), 4);
  auto second = load_data({(kFixtures / "verl.parquet").string()}, InvalidRows::error);
  EXPECT_EQ(extract_cell_images(second, dir / "cache"), 0);  // all there from the first run
  for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(first[i].image, second[i].image);
}

TEST(ParquetData, ColumnsMapAnyLayout) {
  TempDir dir;
  const auto png = render::encode_png({2, 2, std::vector<uint8_t>(12, 200)});
  std::vector<json> rows;
  for (int i = 0; i < 3; ++i) {
    rows.push_back({{"key", fmt::format("k{}", i)},
                    {"meta", {{"kind", "svg"}, {"source", "<svg/>"}}},
                    {"media", {{"picture", json::binary(std::vector<uint8_t>(png.begin(), png.end()))}}},
                    {"question", "Draw it."}});
  }
  parquet::write_rows((dir / "custom.parquet").string(), rows, 2);
  DataColumns columns;
  columns.id = "key";
  columns.task = "meta.kind";
  columns.image = "media.picture";
  columns.ground_truth = "meta.source";
  columns.prompt = "none";
  const auto items = load_data({(dir / "custom.parquet").string()}, InvalidRows::error, columns);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2].id, "k2");
  EXPECT_EQ(items[2].task, render::RenderKind::svg);
  EXPECT_EQ(items[2].ground_truth, "<svg/>");
  EXPECT_FALSE(items[2].prompt);  // "none": the task's instruction
  EXPECT_EQ(items[2].image_cell->column, "media.picture");
  auto extracted = items;
  EXPECT_EQ(extract_cell_images(extracted, dir / "cache"), 3);  // through the struct column
  EXPECT_EQ(policy::read_image(extracted[2].image).sizes(), (std::vector<int64_t>{2, 2, 3}));
  columns.image = "none";
  EXPECT_THAT(error_of([&] { load_data({(dir / "custom.parquet").string()}, InvalidRows::error, columns); }),
              HasSubstr("data.columns.image"));
}

TEST(ParquetData, WriteRowsReadsBackAsWritten) {
  TempDir dir;
  std::vector<json> rows;
  for (int i = 0; i < 10; ++i) {
    rows.push_back({{"s", fmt::format("row {}", i)},
                    {"n", i * 7},
                    {"x", i * 0.5},
                    {"flag", i % 2 == 0},
                    {"blob", json::binary(std::vector<uint8_t>(static_cast<size_t>(i), static_cast<uint8_t>(i)))},
                    {"nested", {{"a", i}, {"list", {fmt::format("{}", i), "z"}}}},
                    {"maybe", i % 3 == 0 ? json(nullptr) : json(fmt::format("m{}", i))}});
  }
  parquet::write_rows((dir / "all.parquet").string(), rows, 4);
  auto reader = parquet::RowReader::open_file((dir / "all.parquet").string());
  EXPECT_EQ(reader->num_rows(), 10);
  EXPECT_THAT(reader->columns(), ::testing::ElementsAre("blob", "flag", "maybe", "n", "nested", "s", "x"));
  std::vector<json> back;
  reader->scan(reader->columns(), 3, [&](int64_t first, std::vector<json>& batch) {
    EXPECT_EQ(first, static_cast<int64_t>(back.size()));
    EXPECT_LE(batch.size(), 3u);
    back.insert(back.end(), batch.begin(), batch.end());
  });
  ASSERT_EQ(back.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(back[i], rows[i]) << back[i].dump();
}

// A one-row-per-case file in verl's layout with one thing wrong in row 1.
std::string verl_file(const fs::path& dir, const std::string& name, const std::function<void(json&)>& spoil) {
  const auto png = render::encode_png({2, 2, std::vector<uint8_t>(12, 90)});
  std::vector<json> rows;
  for (int i = 0; i < 3; ++i) {
    json row = {
        {"prompt", json::array({{{"role", "user"}, {"content", "<image>Draw."}}})},
        {"images",
         json::array({{{"bytes", json::binary(std::vector<uint8_t>(png.begin(), png.end()))}, {"path", "x.png"}}})},
        {"ability", "chart"},
        {"reward_model", {{"style", "rule"}, {"ground_truth", "import matplotlib"}}},
        {"extra_info", {{"index", i}}}};
    if (i == 1) spoil(row);
    rows.push_back(row);
  }
  const auto path = (dir / name).string();
  parquet::write_rows(path, rows);
  return path;
}

TEST(ParquetData, BadRowsAreNamedByFileRowAndColumnOrSkipped) {
  TempDir dir;
  const auto task = verl_file(dir.path(), "task.parquet", [](json& r) { r["ability"] = "math"; });
  EXPECT_THAT(error_of([&] { load_data({task}, InvalidRows::error); }),
              AllOf(HasSubstr("task.parquet: row 1"), HasSubstr("column ability"), HasSubstr("\"math\""),
                    HasSubstr("data.invalid_rows: skip")));
  const auto skipped = load_data({task}, InvalidRows::skip);
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_EQ(skipped[1].id, "task-2");

  const auto bytes = verl_file(dir.path(), "bytes.parquet", [](json& r) {
    r["images"][0]["bytes"] = json::binary(std::vector<uint8_t>{'G', 'I', 'F', '8', '9', 'a'});
  });
  EXPECT_THAT(error_of([&] { load_data({bytes}, InvalidRows::error); }),
              AllOf(HasSubstr("bytes.parquet: row 1"), HasSubstr("column images[0].bytes"),
                    HasSubstr("neither a PNG nor a JPEG")));
  EXPECT_EQ(load_data({bytes}, InvalidRows::skip).size(), 2u);

  const auto two = verl_file(dir.path(), "two.parquet", [](json& r) { r["images"].push_back(r["images"][0]); });
  EXPECT_THAT(error_of([&] { load_data({two}, InvalidRows::error); }),
              AllOf(HasSubstr("two.parquet: row 1"), HasSubstr("2 images")));

  // Struct fields are nullable: a user turn without text, a message without a role.
  const auto prompt = verl_file(dir.path(), "prompt.parquet", [](json& r) { r["prompt"][0]["content"] = nullptr; });
  EXPECT_THAT(error_of([&] { load_data({prompt}, InvalidRows::error); }),
              AllOf(HasSubstr("prompt.parquet: row 1"), HasSubstr("column prompt: the user message has no text")));
  EXPECT_EQ(load_data({prompt}, InvalidRows::skip).size(), 2u);
  const auto role = verl_file(dir.path(), "role.parquet", [](json& r) { r["prompt"][0]["role"] = nullptr; });
  EXPECT_THAT(error_of([&] { load_data({role}, InvalidRows::error); }),
              AllOf(HasSubstr("role.parquet: row 1"), HasSubstr("no user message")));

  const auto code = verl_file(dir.path(), "code.parquet", [](json& r) { r["reward_model"]["ground_truth"] = nullptr; });
  const auto no_code = load_data({code}, InvalidRows::error);  // ground truth is optional
  EXPECT_FALSE(no_code[1].ground_truth);
  EXPECT_TRUE(no_code[0].ground_truth);
}

TEST(ParquetData, AnImageThatDoesNotDecodeIsNamedWhenExtracted) {
  TempDir dir;
  const auto truncated = verl_file(dir.path(), "truncated.parquet", [](json& r) {
    auto bytes = r["images"][0]["bytes"].get_binary();
    bytes.resize(bytes.size() / 2);  // a PNG signature, then the data breaks off
    r["images"][0]["bytes"] = json::binary(bytes);
  });
  auto items = load_data({truncated}, InvalidRows::error);  // the signature is right
  EXPECT_THAT(error_of([&] { extract_cell_images(items, dir / "cache"); }),
              AllOf(HasSubstr("truncated.parquet: row 1: column images[0].bytes")));
}

TEST(ParquetData, MissingColumnsAndFilesThatAreNotParquetAreNamed) {
  TempDir dir;
  const auto good = verl_file(dir.path(), "good.parquet", [](json&) {});
  DataColumns columns;
  columns.ground_truth = "solution";
  EXPECT_THAT(error_of([&] { load_data({good}, InvalidRows::skip, columns); }),
              AllOf(HasSubstr("good.parquet"), HasSubstr("data.columns.ground_truth is \"solution\""),
                    HasSubstr("no column \"solution\""), HasSubstr("reward_model")));

  parquet::write_rows((dir / "noimage.parquet").string(), {json{{"ability", "chart"}, {"text", "x"}}});
  EXPECT_THAT(error_of([&] { load_data({(dir / "noimage.parquet").string()}, InvalidRows::skip); }),
              AllOf(HasSubstr("noimage.parquet: no image column"), HasSubstr("images, image"),
                    HasSubstr("data.columns.image")));

  dir.write("fake.parquet", "PAR1 this is not a parquet file PAR1");
  EXPECT_THAT(error_of([&] { load_data({(dir / "fake.parquet").string()}, InvalidRows::skip); }),
              AllOf(HasSubstr("fake.parquet"), HasSubstr("not a readable Parquet file")));
  EXPECT_THAT(error_of([&] { load_data({(dir / "absent.parquet").string()}, InvalidRows::skip); }),
              HasSubstr("absent.parquet: cannot open"));
}

}  // namespace
}  // namespace visrl::trainer
