// Synthetic data sets for the three tasks, drawn through the real renderers:
//
//   <out>/<task>/train.jsonl, eval.jsonl   manifests {"id", "task", "image", "ground_truth"}
//   <out>/<task>/images/<id>.png           the reference render of each item's code
//
// Item i of a task depends only on (seed, task, i): growing a data set keeps its first items,
// and the eval items (indices after the training ones) never repeat a training item's seed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/config.h"
#include "render/render_pool.h"

namespace visrl::trainer::datagen {

struct SyntheticItem {
  std::string id;  // "<task>-<index>", e.g. "chart-000017"
  render::RenderKind task = render::RenderKind::chart;
  std::string code;  // matplotlib, Markdown / HTML table or SVG
};

SyntheticItem synthetic_item(render::RenderKind task, uint64_t seed, int64_t index);

struct DatasetOptions {
  std::filesystem::path out;
  std::vector<render::RenderKind> tasks = {render::RenderKind::chart, render::RenderKind::table,
                                           render::RenderKind::svg};
  int64_t train = 64;
  int64_t eval = 16;
  uint64_t seed = 0;
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
