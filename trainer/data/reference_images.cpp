#include "trainer/data/reference_images.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "render/pdf_raster.h"
#include "render/png_io.h"
#include "trainer/data/cache_names.h"
#include "trainer/data/parquet_dataset.h"
#include "trainer/distributed/rank_errors.h"

namespace visrl::trainer {
namespace fs = std::filesystem;

fs::path reference_path(const DataItem& item, const fs::path& cache_dir) {
  const auto hash = std::hash<std::string>{}(item.ground_truth.value_or(""));
  return cache_dir / std::string(render::to_string(item.task)) /
         fmt::format("{}-{:016x}.png", cache_file_stem(item.id), hash);
}

int64_t render_missing_references(std::vector<DataItem>& items, render::RenderPool& pool, const RenderConfig& render,
                                  const fs::path& cache_dir) {
  std::vector<size_t> todo;
  std::vector<render::RenderRequest> requests;
  for (size_t i = 0; i < items.size(); ++i) {
    auto& item = items[i];
    if (!item.image_missing) continue;
    const auto path = reference_path(item, cache_dir);
    if (fs::exists(path)) {  // rendered by an earlier run
      item.image = path;
      item.image_missing = false;
      continue;
    }
    todo.push_back(i);
    requests.push_back(render::make_request(render, item.task, *item.ground_truth, item.id));
  }
  if (todo.empty()) return 0;
  spdlog::info("rendering {} reference images from ground-truth code into {}", todo.size(), cache_dir.string());
  auto futures = pool.submit_batch(std::move(requests));
  std::string failures;
  int64_t failed = 0;
  for (size_t k = 0; k < todo.size(); ++k) {
    auto& item = items[todo[k]];
    const auto result = futures[k].get();
    if (!result.ok()) {
      if (++failed <= 10) {
        failures +=
            fmt::format("\n  {} ({}): {}: {}", item.where, item.id, render::to_string(result.status), result.reason);
      }
      continue;
    }
    const auto path = reference_path(item, cache_dir);
    fs::create_directories(path.parent_path());
    write_file_atomically(path, render::encode_png(result.image));  // a killed run leaves no half image
    item.image = path;
    item.image_missing = false;
  }
  if (failed > 0) {
    fail(ErrorKind::format, "{} of {} items have no image and their ground truth did not render:{}", failed,
         todo.size(), failures);
  }
  return static_cast<int64_t>(todo.size());
}

bool is_pdf_reference(const DataItem& item) {
  auto ext = item.image.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return !item.image_missing && !item.image_cell && ext == ".pdf";
}

fs::path pdf_raster_path(const DataItem& item, const fs::path& cache_dir, int64_t dpi) {
  const auto key = fmt::format("{}|{}", file_identity(item.image), dpi);
  return cache_dir / std::string(render::to_string(item.task)) /
         fmt::format("{}-pdf-{:016x}.png", cache_file_stem(item.id), std::hash<std::string>{}(key));
}

int64_t rasterize_pdf_references(std::vector<DataItem>& items, const fs::path& cache_dir, int64_t dpi) {
  int64_t done = 0;
  for (auto& item : items) {
    if (!is_pdf_reference(item)) continue;
    const auto path = pdf_raster_path(item, cache_dir, dpi);
    if (!fs::exists(path)) {
      if (done == 0) spdlog::info("rasterising PDF reference images at {} dpi into {}", dpi, cache_dir.string());
      render::RgbImage image;
      try {
        image = render::rasterize_pdf(item.image, static_cast<double>(dpi));
      } catch (const Error& e) {
        throw e.with_context(fmt::format("{} ({})", item.where, item.id));
      }
      fs::create_directories(path.parent_path());
      write_file_atomically(path, render::encode_png(image));
      ++done;
    }
    item.image = path;
  }
  return done;
}

void prepare_references(std::vector<DataItem>& items, Communicator& comm, const RenderConfig& render,
                        const fs::path& cache_dir, int64_t pdf_dpi, render::RenderPool* pool) {
  on_every_rank(
      comm, "rendering reference images",
      [&] {
        if (!comm.is_main()) return;
        extract_cell_images(items, cache_dir);  // images embedded in Parquet files
        rasterize_pdf_references(items, cache_dir, pdf_dpi);
        const bool missing = std::any_of(items.begin(), items.end(), [](const auto& i) { return i.image_missing; });
        if (!missing) return;
        if (pool != nullptr) {
          render_missing_references(items, *pool, render, cache_dir);
          return;
        }
        render::RenderPool own(render::pool_options_from(render));
        render_missing_references(items, own, render, cache_dir);
        own.shutdown();
      },
      ErrorKind::format);
  for (auto& item : items) {  // rasterised by the main rank
    if (!is_pdf_reference(item)) continue;
    item.image = pdf_raster_path(item, cache_dir, pdf_dpi);
    if (!fs::exists(item.image))
      fail(ErrorKind::io, "{}: the rasterised PDF reference {} is missing", item.where, item.image.string());
  }
  use_rendered_references(items, cache_dir);
}

void use_rendered_references(std::vector<DataItem>& items, const fs::path& cache_dir) {
  for (auto& item : items) {
    if (item.image_cell) {  // extracted by the main rank
      item.image = cell_image_path(item, cache_dir);
      if (!fs::exists(item.image))
        fail(ErrorKind::io, "{}: the extracted image {} is missing", item.where, item.image.string());
      item.image_cell.reset();
    }
    if (!item.image_missing) continue;
    item.image = reference_path(item, cache_dir);
    if (!fs::exists(item.image))
      fail(ErrorKind::io, "{}: the rendered reference {} is missing", item.where, item.image.string());
    item.image_missing = false;
  }
}

}  // namespace visrl::trainer
