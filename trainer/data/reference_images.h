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

// Where the raster of a PDF reference (item.image ends in .pdf, as ChartMimic's do) goes:
// cache_dir/<task>/<id>-<hash of the file, its size and time, and dpi>.png.
bool is_pdf_reference(const DataItem& item);
std::filesystem::path pdf_raster_path(const DataItem& item, const std::filesystem::path& cache_dir, int64_t dpi);

// Rasterises every PDF reference not in `cache_dir` yet at `dpi` and points the items at the
// PNG files. Throws Error(format) naming the item (file) whose PDF does not render. Returns the
// number rasterised.
int64_t rasterize_pdf_references(std::vector<DataItem>& items, const std::filesystem::path& cache_dir, int64_t dpi);

// What `train`, `sft` and `eval` do, on every rank: rank 0 extracts the images embedded in
// Parquet files, rasterises PDF references at `pdf_dpi` (data.pdf_dpi) and renders the missing
// references into cache_dir (with `pool`, or with a pool of its own started only when some are
// missing); then every rank points its items at the files. A failure on rank 0 fails every rank.
void prepare_references(std::vector<DataItem>& items, Communicator& comm, const RenderConfig& render,
                        const std::filesystem::path& cache_dir, int64_t pdf_dpi, render::RenderPool* pool = nullptr);

}  // namespace visrl::trainer
