#include "trainer/data/parquet_dataset.h"

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/parquet_rows.h"
#include "policy/image/image_decode.h"
#include "render/png_io.h"
#include "trainer/data/cache_names.h"

namespace visrl::trainer {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int64_t kBatchRows = 64;  // rows decoded at a time: 64 embedded images in memory at most

// One item field's column: its path ("reward_model.ground_truth" -> {"reward_model",
// "ground_truth"}), or none.
struct ColumnPath {
  std::vector<std::string> parts;
  std::string text() const { return fmt::format("{}", fmt::join(parts, ".")); }
};

ColumnPath split_path(const std::string& text) {
  ColumnPath p;
  size_t start = 0;
  while (start <= text.size()) {
    const auto dot = text.find('.', start);
    p.parts.push_back(text.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return p;
}

// The value at `path` in `row`, or nullptr where a struct or the field is missing.
const json* at_path(const json& row, const ColumnPath& path) {
  const json* v = &row;
  for (const auto& part : path.parts) {
    if (!v->is_object() || !v->contains(part)) return nullptr;
    v = &(*v)[part];
  }
  return v->is_null() ? nullptr : v;
}

// The image of a row: its embedded bytes (returned) or a path (set in `item`).
struct RowImage {
  const std::vector<uint8_t>* bytes = nullptr;
  std::string column;  // the column path of the bytes
};

RowImage row_image(const json& value, const std::string& column, const fs::path& base, DataItem& item) {
  const json* v = &value;
  std::string where = column;
  if (v->is_array()) {
    if (v->size() != 1)
      throw std::invalid_argument(fmt::format("column {}: {} images; visrl takes one per item", column, v->size()));
    v = &(*v)[0];
    where += "[0]";
  }
  if (v->is_object()) {  // Hugging Face's Image feature: {bytes, path}
    if (v->contains("bytes") && (*v)["bytes"].is_binary()) return {&(*v)["bytes"].get_binary(), where + ".bytes"};
    if (v->contains("path") && (*v)["path"].is_string()) {
      v = &(*v)["path"];
      where += ".path";
    } else {
      throw std::invalid_argument(fmt::format("column {}: an image struct without bytes or a path", where));
    }
  }
  if (v->is_binary()) return {&v->get_binary(), where};
  if (v->is_string() && !v->get_ref<const std::string&>().empty()) {
    fs::path p = v->get<std::string>();
    item.image = p.is_absolute() ? p : base / p;
    std::error_code ec;  // a path from the data: never the throwing overload
    if (!fs::is_regular_file(item.image, ec))
      throw std::invalid_argument(fmt::format("column {}: no such image file {}", where, item.image.string()));
    return {};
  }
  throw std::invalid_argument(fmt::format("column {}: not an image (a {})", where, v->type_name()));
}

// A text field of a message object, or "" where it is missing, null or not text (struct fields
// of a Parquet file are nullable).
std::string text_field(const json& object, const char* key) {
  if (!object.is_object()) return "";
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// The text of a prompt cell: a string, or chat messages [{role, content}] whose last user turn
// is taken (content a string or a list of {type: text, text} parts), "<image>" removed.
std::optional<std::string> prompt_text(const json& value, const std::string& column) {
  std::string text;
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_array()) {
    const json* user = nullptr;
    for (const auto& m : value) {
      if (text_field(m, "role") == "user") user = &m;
    }
    if (user == nullptr) throw std::invalid_argument(fmt::format("column {}: no user message", column));
    const auto content = user->find("content");
    if (content != user->end() && content->is_string()) {
      text = content->get<std::string>();
    } else if (content != user->end() && content->is_array()) {
      for (const auto& part : *content) {
        if (text_field(part, "type") == "text") text += text_field(part, "text");
      }
    } else {
      throw std::invalid_argument(fmt::format("column {}: the user message has no text content", column));
    }
  } else {
    throw std::invalid_argument(
        fmt::format("column {}: expected text or chat messages, got a {}", column, value.type_name()));
  }
  for (size_t at; (at = text.find("<image>")) != std::string::npos;) text.erase(at, 7);
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::nullopt;  // only the image: the task's instruction
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

// The value of a field from the first of `paths` present in the row.
const json* first_at(const json& row, const std::vector<ColumnPath>& paths, std::string* column) {
  for (const auto& p : paths) {
    if (const json* v = at_path(row, p)) {
      *column = p.text();
      return v;
    }
  }
  return nullptr;
}

// The columns of one field: the configured one (which the file must have), else every default
// whose top-level column exists, in order (the first one present in a row wins: nested defaults
// are checked per row); none for "none". A required field without any throws.
std::vector<ColumnPath> field_paths(const std::string& configured, std::initializer_list<const char*> defaults,
                                    const std::vector<std::string>& file_columns, const std::string& file,
                                    const char* field, bool required) {
  auto has = [&](const std::string& top) {
    return std::find(file_columns.begin(), file_columns.end(), top) != file_columns.end();
  };
  if (configured == "none") return {};
  if (!configured.empty()) {
    auto p = split_path(configured);
    if (!has(p.parts.front())) {
      fail(ErrorKind::format, "{}: data.columns.{} is \"{}\", but the file has no column \"{}\" (it has: {})", file,
           field, configured, p.parts.front(), fmt::join(file_columns, ", "));
    }
    return {p};
  }
  std::vector<ColumnPath> out;
  for (const char* d : defaults) {
    auto p = split_path(d);
    if (has(p.parts.front())) out.push_back(std::move(p));
  }
  if (out.empty() && required) {
    fail(ErrorKind::format, "{}: no {} column (looked for {}; the file has: {}); name it in data.columns.{}", file,
         field, fmt::join(defaults, ", "), fmt::join(file_columns, ", "), field);
  }
  return out;
}

}  // namespace

bool is_parquet_path(const std::string& path) {
  return path.size() > 8 && path.compare(path.size() - 8, 8, ".parquet") == 0;
}

std::vector<DataItem> load_parquet(const std::string& entry, const DataColumns& columns, InvalidRows invalid) {
  std::optional<render::RenderKind> fixed_task;
  std::string file = entry;
  if (const auto colon = entry.find(':'); colon != std::string::npos) {
    if (const auto kind = render::parse_render_kind(entry.substr(0, colon))) {
      fixed_task = kind;
      file = entry.substr(colon + 1);
    }
  }
  auto reader = parquet::RowReader::open_file(file);
  const auto names = reader->columns();
  const auto id_paths = field_paths(columns.id, {"id", "extra_info.id", "extra_info.index"}, names, file, "id", false);
  const auto task_paths =
      fixed_task ? std::vector<ColumnPath>{}
                 : field_paths(columns.task, {"task", "ability", "data_source"}, names, file, "task", true);
  if (columns.image == "none") fail(ErrorKind::config, "data.columns.image: every item needs an image column");
  // The first image column present (required: never empty).
  const auto image_path = field_paths(columns.image, {"images", "image"}, names, file, "image", true).front();
  const auto truth_paths = field_paths(columns.ground_truth, {"ground_truth", "reward_model.ground_truth", "code"},
                                       names, file, "ground_truth", false);
  const auto prompt_paths = field_paths(columns.prompt, {"prompt"}, names, file, "prompt", false);
  std::set<std::string> tops;  // the top-level columns to decode
  for (const auto* list : {&id_paths, &task_paths, &truth_paths, &prompt_paths}) {
    for (const auto& p : *list) tops.insert(p.parts.front());
  }
  tops.insert(image_path.parts.front());

  const fs::path base = fs::path(file).parent_path();
  const auto stem = fs::path(file).stem().string();
  std::vector<DataItem> items;
  std::set<std::string> ids;
  int64_t skipped = 0;
  reader->scan({tops.begin(), tops.end()}, kBatchRows, [&](int64_t first, std::vector<json>& rows) {
    for (size_t r = 0; r < rows.size(); ++r) {
      const int64_t row = first + static_cast<int64_t>(r);
      DataItem item;
      item.where = fmt::format("{}: row {}", file, row);
      try {
        std::string column;
        if (const json* id = first_at(rows[r], id_paths, &column)) {
          if (id->is_string() && !id->get_ref<const std::string&>().empty()) {
            item.id = id->get<std::string>();
          } else if (id->is_number_integer()) {
            item.id = fmt::format("{}-{}", stem, id->get<int64_t>());
          } else {
            throw std::invalid_argument(fmt::format("column {}: an id must be text or an integer", column));
          }
        } else {
          item.id = fmt::format("{}-{}", stem, row);
        }
        if (fixed_task) {
          item.task = *fixed_task;
        } else {
          const json* task = first_at(rows[r], task_paths, &column);
          if (task == nullptr) throw std::invalid_argument("no task (set data.columns.task, or write chart:<file>)");
          const auto text = task->is_string() ? task->get<std::string>() : task->dump();
          const auto kind = render::parse_render_kind(text);
          if (!kind) {
            throw std::invalid_argument(fmt::format(
                "column {}: task \"{}\" is not chart, table or svg (set data.columns.task, or write chart:<file>)",
                column, text));
          }
          item.task = *kind;
        }
        if (const json* truth = first_at(rows[r], truth_paths, &column)) {
          if (!truth->is_string()) throw std::invalid_argument(fmt::format("column {}: code must be text", column));
          item.ground_truth = truth->get<std::string>();
        }
        if (const json* prompt = first_at(rows[r], prompt_paths, &column)) item.prompt = prompt_text(*prompt, column);
        const json* image = at_path(rows[r], image_path);
        if (image == nullptr) {
          if (!item.ground_truth)
            throw std::invalid_argument(
                fmt::format("column {}: no image (and no ground truth to render)", image_path.text()));
          item.image = base / (item.id + ".png");  // where nothing is: rendered into the reference cache
          item.image_missing = true;
        } else if (const auto found = row_image(*image, image_path.text(), base, item); found.bytes != nullptr) {
          if (policy::detail::image_format(*found.bytes) == policy::detail::ImageFormat::unknown) {
            throw std::invalid_argument(fmt::format("column {}: {} bytes that are neither a PNG nor a JPEG image",
                                                    found.column, found.bytes->size()));
          }
          item.image_cell = ImageCell{file, row, image_path.text()};
        }
        if (!ids.insert(item.id).second) throw std::invalid_argument(fmt::format("duplicate id \"{}\"", item.id));
      } catch (const std::exception& e) {  // invalid_argument from here, a type error from nlohmann
        if (dynamic_cast<const Error*>(&e) != nullptr) throw;
        if (invalid == InvalidRows::error)
          fail(ErrorKind::format, "{}: {} (data.invalid_rows: skip drops such rows)", item.where, e.what());
        spdlog::warn("{}: {}; row skipped", item.where, e.what());
        ++skipped;
        continue;
      }
      items.push_back(std::move(item));
    }
  });
  if (items.empty()) {
    fail(ErrorKind::format, "{}: no valid items{}", file,
         skipped > 0 ? fmt::format(" ({} rows skipped)", skipped) : "");
  }
  if (skipped > 0) spdlog::warn("{}: {} malformed rows skipped, {} items kept", file, skipped, items.size());
  return items;
}

fs::path cell_image_path(const DataItem& item, const fs::path& cache_dir) {
  const auto& cell = *item.image_cell;
  const auto key = fmt::format("{}|{}|{}", file_identity(cell.file), cell.row, cell.column);
  return cache_dir / std::string(render::to_string(item.task)) /
         fmt::format("{}-{:016x}.png", cache_file_stem(item.id), std::hash<std::string>{}(key));
}

int64_t extract_cell_images(std::vector<DataItem>& items, const fs::path& cache_dir) {
  std::map<std::string, std::map<int64_t, size_t>> todo;  // file -> row -> item
  for (size_t i = 0; i < items.size(); ++i) {
    auto& item = items[i];
    if (!item.image_cell) continue;
    const auto path = cell_image_path(item, cache_dir);
    if (fs::exists(path)) {  // extracted by an earlier run
      item.image = path;
      item.image_cell.reset();
      continue;
    }
    todo[item.image_cell->file][item.image_cell->row] = i;
  }
  int64_t written = 0;
  for (auto& [file, rows] : todo) {
    auto reader = parquet::RowReader::open_file(file);
    const auto image_path = split_path(items[rows.begin()->second].image_cell->column);
    const auto& image_top = image_path.parts.front();
    spdlog::info("{}: extracting {} embedded images into {}", file, rows.size(), cache_dir.string());
    reader->scan({image_top}, kBatchRows, [&](int64_t first, std::vector<json>& batch) {
      // The rows of this batch that are wanted, checked and written on every core: decoding
      // (the check that the image is whole) is most of the cost.
      std::vector<std::pair<int64_t, size_t>> wanted;  // (row, item index)
      for (auto it = rows.lower_bound(first); it != rows.end() && it->first < first + std::ssize(batch); ++it)
        wanted.emplace_back(it->first, it->second);
      std::atomic<size_t> next{0};
      auto work = [&] {
        for (size_t k; (k = next++) < wanted.size();) {
          const auto [row, index] = wanted[k];
          auto& item = items[index];
          DataItem scratch;
          const json* cell = at_path(batch[static_cast<size_t>(row - first)], image_path);
          RowImage found;
          try {
            if (cell != nullptr) found = row_image(*cell, image_path.text(), fs::path(file).parent_path(), scratch);
          } catch (const std::invalid_argument& e) {
            fail(ErrorKind::format, "{}: row {}: {}", file, row, e.what());
          }
          if (found.bytes == nullptr)
            fail(ErrorKind::format, "{}: row {}: column {}: the image changed since the file was read", file, row,
                 image_path.text());
          const auto where = fmt::format("{}: row {}: column {}", file, row, found.column);
          const auto format = policy::detail::image_format(*found.bytes);
          std::string png;  // what the cache holds: PNG bytes as they are, a JPEG's pixels as PNG
          if (format == policy::detail::ImageFormat::png) {
            policy::detail::decode_png(*found.bytes, where);  // throws Error(format) naming `where`
            png.assign(found.bytes->begin(), found.bytes->end());
          } else if (format == policy::detail::ImageFormat::jpeg) {
            auto decoded = policy::detail::decode_jpeg(*found.bytes, where);  // always RGB
            png = render::encode_png(
                {static_cast<int>(decoded.width), static_cast<int>(decoded.height), std::move(decoded.pixels)});
          } else {
            fail(ErrorKind::format, "{}: neither a PNG nor a JPEG image", where);
          }
          const auto path = cell_image_path(item, cache_dir);
          fs::create_directories(path.parent_path());
          // Not fsynced: the cache is derived data, and two fsyncs per image were a third of
          // the extraction. The temporary name is per process, the path per item.
          write_file_atomically(path, png, Durability::rename_only);
          item.image = path;
        }
      };
      const size_t threads = std::min<size_t>(wanted.size(), std::max(1u, std::thread::hardware_concurrency()));
      std::vector<std::future<void>> running;
      for (size_t t = 1; t < threads; ++t) running.push_back(std::async(std::launch::async, work));
      std::exception_ptr error;
      try {
        work();
      } catch (...) {
        error = std::current_exception();
        next = wanted.size();  // the others stop after their current image
      }
      for (auto& r : running) {
        try {
          r.get();
        } catch (...) {
          if (!error) error = std::current_exception();
        }
      }
      if (error) std::rethrow_exception(error);
      for (const auto& [row, index] : wanted) items[index].image_cell.reset();
      written += static_cast<int64_t>(wanted.size());
    });
  }
  return written;
}

}  // namespace visrl::trainer
