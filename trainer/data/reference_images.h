// Reference images drawn from ground-truth code, for items that come without one (a ChartMimic
// script without its PNG, a manifest row whose image does not exist yet).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "core/config.h"
#include "render/render_pool.h"
#include "trainer/data/manifest.h"
#include "trainer/distributed/communicator.h"

namespace visrl::trainer {

// Where the rendered reference of `item` goes: cache_dir/<task>/<id>-<hash of the code>.png
// (the same on every rank; a changed ground truth gets a new file).
std::filesystem::path reference_path(const DataItem& item, const std::filesystem::path& cache_dir);

// Renders every item with image_missing whose file is not in `cache_dir` yet (sizes from
// `render`), writes it there, and points the item at it (image_missing cleared). Returns the
// number rendered. Throws Error(format) naming each item (file:line or file) whose code did not
// render, with the renderer's status and reason.
int64_t render_missing_references(std::vector<DataItem>& items, render::RenderPool& pool, const RenderConfig& render,
                                  const std::filesystem::path& cache_dir);

// Points the items with image_missing at their reference_path without rendering (ranks other
// than the one that rendered). Throws Error(io) when a file is not there.
void use_rendered_references(std::vector<DataItem>& items, const std::filesystem::path& cache_dir);

// What `train` and `sft` do, on every rank: rank 0 renders the missing references into
// cache_dir (with `pool`, or with a pool of its own started only when some are missing), then
// every rank points its items at the files. A failure on rank 0 fails every rank.
void prepare_references(std::vector<DataItem>& items, Communicator& comm, const RenderConfig& render,
                        const std::filesystem::path& cache_dir, render::RenderPool* pool = nullptr);

}  // namespace visrl::trainer
