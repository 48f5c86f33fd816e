// Training items from Parquet files: verl's RL layout, Hugging Face datasets saved as Parquet,
// or any table whose columns `data.columns` names. Without a mapping, the first column present
// of each list is used ("a.b" is field b of struct column a):
//
//   id            id, extra_info.id, extra_info.index   absent: "<file stem>-<row>"; a number
//                                                        n: "<file stem>-<n>"
//   task          task, ability, data_source            chart, table or svg; "chart:x.parquet"
//                                                        in data.train fixes it instead
//   image         images, image                         a {bytes, path} struct (Hugging Face's
//                                                        Image feature), bytes, a path (relative
//                                                        to the file), or a list of exactly one
//   ground_truth  ground_truth, reward_model.ground_truth, code            (optional)
//   prompt        prompt                                 text, or chat messages: the last user
//                                                        turn's text with "<image>" removed (optional)
//
// Reading streams the file in batches of rows and keeps no image bytes: an embedded image
// becomes DataItem::image_cell, which prepare_references extracts into the run's reference
// cache on the main rank (extract_cell_images below), decoding each to check it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "trainer/data/manifest.h"

namespace visrl::trainer {

bool is_parquet_path(const std::string& path);  // ends in .parquet

// `entry` is a path or "task:path". Bad rows (a missing or mistyped column, an image that is
// neither PNG nor JPEG, an unknown task, a duplicate id) throw Error(format) naming the file, row
// and column, or are logged and skipped with InvalidRows::skip. A file that is not Parquet, a
// mapped column the file lacks, or no image column at all throw in both modes.
std::vector<DataItem> load_parquet(const std::string& entry, const DataColumns& columns, InvalidRows invalid);

// Where the image of `item.image_cell` goes: cache_dir/<task>/<id>-<hash of file, size, time,
// row>.<png|jpg>.
std::filesystem::path cell_image_path(const DataItem& item, const std::filesystem::path& cache_dir);

// Writes the image of every item with an image_cell whose file is not in the cache yet, reading
// each Parquet file once in row order, and points the items at the files (image_cell cleared).
// An image that does not decode throws Error(format) naming file, row and column. Returns the
// number written.
int64_t extract_cell_images(std::vector<DataItem>& items, const std::filesystem::path& cache_dir);

}  // namespace visrl::trainer
