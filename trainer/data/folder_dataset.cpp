#include "trainer/data/folder_dataset.h"

#include <map>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/text_file.h"
#include "trainer/data/parquet_dataset.h"

namespace visrl::trainer {
namespace fs = std::filesystem;

namespace {

std::optional<render::RenderKind> task_of_code(const fs::path& file) {
  const auto ext = file.extension().string();
  if (ext == ".py") return render::RenderKind::chart;
  if (ext == ".md" || ext == ".html" || ext == ".htm") return render::RenderKind::table;
  if (ext == ".svg") return render::RenderKind::svg;
  return std::nullopt;
}

// Which image of a stem is the reference: a PNG, else a JPEG, else a PDF (ChartMimic ships its
// references as PDFs, rasterised before training: reference_images.h). 0 = not an image.
int image_rank(const fs::path& file) {
  const auto ext = file.extension().string();
  if (ext == ".png") return 3;
  if (ext == ".jpg" || ext == ".jpeg") return 2;
  if (ext == ".pdf") return 1;
  return 0;
}

}  // namespace

std::vector<DataItem> load_folder(const std::string& entry, InvalidRows invalid) {
  // "task:path" (a task prefix), else a plain path.
  std::optional<render::RenderKind> prefix;
  fs::path dir = entry;
  if (const auto colon = entry.find(':'); colon != std::string::npos) {
    if (const auto kind = render::parse_render_kind(entry.substr(0, colon))) {
      prefix = kind;
      dir = entry.substr(colon + 1);
    }
  }
  if (!fs::is_directory(dir)) fail(ErrorKind::io, "{}: not a directory of training items", dir.string());
  struct Files {
    std::optional<fs::path> code, image;
  };
  std::map<std::string, Files> by_stem;  // sorted: name order
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    auto& files = by_stem[e.path().stem().string()];
    if (task_of_code(e.path())) {
      if (files.code) {
        fail(ErrorKind::format, "{}: two code files for \"{}\": {} and {}", dir.string(), e.path().stem().string(),
             files.code->filename().string(), e.path().filename().string());
      }
      files.code = e.path();
    } else if (image_rank(e.path()) > 0) {
      if (!files.image || image_rank(e.path()) > image_rank(*files.image)) files.image = e.path();
    }
  }
  const auto name = dir.filename().empty() ? dir.parent_path().filename().string() : dir.filename().string();
  std::vector<DataItem> items;
  for (const auto& [stem, files] : by_stem) {
    if (!files.code && !files.image) continue;
    DataItem item;
    item.id = name + "/" + stem;
    item.where = (files.code ? *files.code : *files.image).string();
    try {
      if (files.code) {
        const auto task = *task_of_code(*files.code);
        if (prefix && *prefix != task) {
          throw std::invalid_argument(fmt::format("a {} file in a folder marked {}", files.code->extension().string(),
                                                  render::to_string(*prefix)));
        }
        item.task = task;
        item.ground_truth = read_text_file(*files.code, "ground-truth code");
      } else if (prefix) {
        item.task = *prefix;
      } else {
        fail(ErrorKind::format,
             "{}: images without code need their task: write \"chart:{}\", \"table:{}\" or \"svg:{}\" in data.train",
             dir.string(), dir.string(), dir.string(), dir.string());
      }
      if (files.image) {
        item.image = *files.image;
      } else {
        item.image = dir / (stem + ".png");  // where nothing is; rendered into the reference cache
        item.image_missing = true;
      }
    } catch (const std::invalid_argument& e) {
      if (invalid == InvalidRows::error)
        fail(ErrorKind::format, "{}: {} (data.invalid_rows: skip drops such items)", item.where, e.what());
      spdlog::warn("{}: {}; item skipped", item.where, e.what());
      continue;
    }
    items.push_back(std::move(item));
  }
  if (items.empty())
    fail(ErrorKind::format, "{}: no training items (code files .py/.md/.html/.svg or images)", dir.string());
  return items;
}

std::vector<DataItem> load_data(const std::vector<std::string>& entries, InvalidRows invalid,
                                const DataColumns& columns) {
  std::vector<DataItem> items;
  std::set<std::string> ids;
  for (const auto& entry : entries) {
    const auto colon = entry.find(':');
    const bool prefixed = colon != std::string::npos && render::parse_render_kind(entry.substr(0, colon));
    const auto path = prefixed ? entry.substr(colon + 1) : entry;
    auto part = is_parquet_path(path)                 ? load_parquet(entry, columns, invalid)
                : prefixed || fs::is_directory(entry) ? load_folder(entry, invalid)
                                                      : load_manifests({entry}, invalid);
    for (auto& item : part) {
      if (!ids.insert(item.id).second)
        fail(ErrorKind::format, "{}: duplicate id \"{}\" across data entries", item.where, item.id);
      items.push_back(std::move(item));
    }
  }
  if (items.empty()) fail(ErrorKind::format, "no training items in [{}]", fmt::join(entries, ", "));
  return items;
}

}  // namespace visrl::trainer
