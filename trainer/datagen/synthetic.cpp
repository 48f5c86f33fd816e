#include "trainer/datagen/synthetic.h"

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/parquet_rows.h"
#include "render/png_io.h"
#include "trainer/data/instructions.h"
#include "trainer/datagen/chart_gen.h"
#include "trainer/datagen/svg_gen.h"
#include "trainer/datagen/table_gen.h"

namespace visrl::trainer::datagen {
namespace fs = std::filesystem;

SyntheticItem synthetic_item(render::RenderKind task, uint64_t seed, int64_t index, Split split) {
  // The eval stream's salt changes the stream's seed, so its items are not those of any training index.
  const uint64_t salt = split == Split::eval ? 0xE7A1'5EEDull : 0;
  Random rng(mix_seed(mix_seed((seed ^ (static_cast<uint64_t>(task) + 1) * 0x51ED27ull) + salt) +
                      static_cast<uint64_t>(index)));
  SyntheticItem item;
  item.task = task;
  item.id = split == Split::eval ? fmt::format("{}-eval-{:06d}", render::to_string(task), index)
                                 : fmt::format("{}-{:06d}", render::to_string(task), index);
  switch (task) {
    case render::RenderKind::chart:
      item.code = chart_code(random_chart(rng));
      break;
    case render::RenderKind::table:
      item.code = table_code(random_table(rng));
      break;
    case render::RenderKind::svg:
      item.code = svg_code(random_svg(rng));
      break;
  }
  return item;
}

namespace {

// One item in verl's RL layout (see synthetic.h).
nlohmann::json verl_row(const SyntheticItem& item, const std::string& png, bool train, int64_t index) {
  const auto task = std::string(render::to_string(item.task));
  return {{"data_source", "visrl/" + task},
          {"prompt", nlohmann::json::array(
                         {{{"role", "user"}, {"content", "<image>" + TaskInstructions::builtin().of(item.task)}}})},
          {"images",
           nlohmann::json::array({{{"bytes", nlohmann::json::binary(std::vector<uint8_t>(png.begin(), png.end()))},
                                   {"path", item.id + ".png"}}})},
          {"ability", task},
          {"reward_model", {{"style", "rule"}, {"ground_truth", item.code}}},
          {"extra_info", {{"split", train ? "train" : "eval"}, {"index", index}, {"id", item.id}}}};
}

}  // namespace

std::vector<DatasetCounts> write_synthetic_dataset(const DatasetOptions& options, render::RenderPool& pool,
                                                   const RenderConfig& render) {
  std::vector<DatasetCounts> out;
  for (const auto task : options.tasks) {
    if (options.train + options.eval == 0) break;  // e.g. only critic triples are wanted
    const auto start = std::chrono::steady_clock::now();
    const auto dir = options.out / std::string(render::to_string(task));
    const bool parquet = options.format == DatasetFormat::parquet;
    fs::create_directories(parquet ? dir : dir / "images");
    std::vector<SyntheticItem> items;
    std::vector<render::RenderRequest> requests;
    for (int64_t i = 0; i < options.train + options.eval; ++i) {
      items.push_back(i < options.train ? synthetic_item(task, options.seed, i)
                                        : synthetic_item(task, options.seed, i - options.train, Split::eval));
      requests.push_back(render::make_request(render, task, items.back().code, items.back().id));
    }
    auto futures = pool.submit_batch(std::move(requests));
    std::string train, eval, failures;
    std::vector<nlohmann::json> train_rows, eval_rows;  // DatasetFormat::parquet
    int64_t failed = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      const auto result = futures[i].get();
      const auto& item = items[i];
      if (result.status != render::RenderStatus::ok) {
        if (++failed <= 5)
          failures += fmt::format("\n  {}: {}: {}", item.id, render::to_string(result.status), result.reason);
        continue;
      }
      const bool is_train = static_cast<int64_t>(i) < options.train;
      if (parquet) {
        (is_train ? train_rows : eval_rows)
            .push_back(verl_row(item, render::encode_png(result.image), is_train,
                                is_train ? static_cast<int64_t>(i) : static_cast<int64_t>(i) - options.train));
        continue;
      }
      const auto image = fs::path("images") / (item.id + ".png");
      render::write_png(dir / image, result.image);
      const nlohmann::json row = {
          {"id", item.id}, {"task", render::to_string(task)}, {"image", image.string()}, {"ground_truth", item.code}};
      (is_train ? train : eval) += row.dump() + "\n";
    }
    if (failed > 0) {
      fail(ErrorKind::runtime, "datagen: {} of {} {} items did not render:{}", failed, items.size(),
           render::to_string(task), failures);
    }
    if (parquet) {  // row groups of 256 images; an empty split gets no file
      if (!train_rows.empty()) parquet::write_rows((dir / "train.parquet").string(), train_rows, 256);
      if (!eval_rows.empty()) parquet::write_rows((dir / "eval.parquet").string(), eval_rows, 256);
    } else {
      write_file_atomically(dir / "train.jsonl", train);
      write_file_atomically(dir / "eval.jsonl", eval);
    }
    DatasetCounts counts;
    counts.task = task;
    counts.train = options.train;
    counts.eval = options.eval;
    counts.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out.push_back(counts);
  }
  return out;
}

}  // namespace visrl::trainer::datagen
