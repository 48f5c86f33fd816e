// Synthetic data sets for the three tasks, drawn through the real renderers:
//
//   <out>/<task>/train.jsonl, eval.jsonl   manifests {"id", "task", "image", "ground_truth"}
//   <out>/<task>/images/<id>.png           the reference render of each item's code
//
// or, with DatasetFormat::parquet, <out>/<task>/train.parquet, eval.parquet in verl's RL layout,
// images embedded: data_source "visrl/<task>", prompt [{role: user, content: "<image>" + the
// task's built-in instruction}], images [{bytes: PNG, path: "<id>.png"}], ability <task>,
// reward_model {style: "rule", ground_truth: code}, extra_info {split, index, id}.
//
// Item i of a split depends only on (seed, task, split, i): growing the training set keeps its
// first items and leaves the eval items as they were. The eval items come from a stream of their
// own, so no training set of the same seed, of any size, contains them. (Until 2026-12-06 eval
// item j was item train + j of the one stream, so `--train 2048` trained on the held-out items of
// `--train 512`.)
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "render/render_pool.h"

namespace visrl::trainer::datagen {

enum class Split { train, eval };

struct SyntheticItem {
  std::string id;  // "<task>-<index>" for training items, "<task>-eval-<index>" for eval ones
  render::RenderKind task = render::RenderKind::chart;
  std::string code;  // matplotlib, Markdown / HTML table or SVG
};

SyntheticItem synthetic_item(render::RenderKind task, uint64_t seed, int64_t index, Split split = Split::train);

enum class DatasetFormat { jsonl, parquet };

struct DatasetOptions {
  std::filesystem::path out;
  std::vector<render::RenderKind> tasks = {render::RenderKind::chart, render::RenderKind::table,
                                           render::RenderKind::svg};
  int64_t train = 64;
  int64_t eval = 16;
  uint64_t seed = 0;
  DatasetFormat format = DatasetFormat::jsonl;
};

struct DatasetCounts {
  render::RenderKind task = render::RenderKind::chart;
  int64_t train = 0, eval = 0;
  double seconds = 0;
};

// Renders every item with `pool` (sizes from `render`) and writes images and manifests
// (atomically); nothing when train + eval is 0. Throws Error naming the items whose code
// failed to render (a generator bug).
std::vector<DatasetCounts> write_synthetic_dataset(const DatasetOptions& options, render::RenderPool& pool,
                                                   const RenderConfig& render);

}  // namespace visrl::trainer::datagen
