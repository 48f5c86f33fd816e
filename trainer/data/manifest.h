// Training and validation items from JSONL manifests, one object per line:
//   {"id": "c17", "task": "chart", "image": "images/c17.png",
//    "ground_truth": "import matplotlib...", "prompt": "..."}
// `image` is relative to the manifest's directory (or absolute); `ground_truth` (the code
// that drew the image) and `prompt` (overrides the task's instruction) are optional. An image
// that does not exist is allowed when the row has ground_truth: the reference is rendered from
// the code before training (trainer/data/reference_images.h).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "render/render_types.h"

namespace visrl::trainer {

// An image embedded in a Parquet cell, extracted into the reference cache before training
// (trainer/data/reference_images.h).
struct ImageCell {
  std::string file;    // the Parquet file
  int64_t row = 0;     // its row, from 0
  std::string column;  // the mapped image column's path ("images", "image", "meta.picture")
};

struct DataItem {
  std::string id;
  render::RenderKind task = render::RenderKind::chart;
  std::filesystem::path image;              // resolved path of the reference image
  bool image_missing = false;               // not on disk yet: render it from ground_truth
  std::optional<ImageCell> image_cell;      // not on disk yet: extract it from this Parquet cell
  std::optional<std::string> ground_truth;  // reference code
  std::optional<std::string> prompt;        // instruction text; unset = the task's default
  std::string where;                        // "file:line", for messages about this item
};

enum class InvalidRows { error, skip };
InvalidRows parse_invalid_rows(const std::string& value);  // "error" | "skip"

// Every valid row of the manifests, in file then line order. A malformed row (not JSON, a
// missing or mistyped key, an unknown task, a missing image file without ground_truth, a
// duplicate id) throws
// Error(format) "file:line: what" with `error`, or is logged and skipped with `skip`.
// An unreadable file, or no items at all, throws in both modes.
std::vector<DataItem> load_manifests(const std::vector<std::string>& paths, InvalidRows invalid);

}  // namespace visrl::trainer
