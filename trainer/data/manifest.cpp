#include "trainer/data/manifest.h"

#include <fstream>
#include <set>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace visrl::trainer {
namespace fs = std::filesystem;

InvalidRows parse_invalid_rows(const std::string& value) {
  if (value == "error") return InvalidRows::error;
  if (value == "skip") return InvalidRows::skip;
  fail(ErrorKind::config, "data.invalid_rows: expected error or skip, got \"{}\"", value);
}

namespace {

std::optional<std::string> optional_string(const nlohmann::json& row, const char* key) {
  if (!row.contains(key) || row[key].is_null()) return std::nullopt;
  if (!row[key].is_string()) throw std::invalid_argument(fmt::format("\"{}\" must be a string", key));
  return row[key].get<std::string>();
}

std::string required_string(const nlohmann::json& row, const char* key) {
  auto value = optional_string(row, key);
  if (!value || value->empty()) throw std::invalid_argument(fmt::format("missing \"{}\"", key));
  return *value;
}

DataItem parse_row(const std::string& line, const fs::path& base, const std::string& where) {
  nlohmann::json row;
  try {
    row = nlohmann::json::parse(line);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::invalid_argument(fmt::format("not valid JSON: {}", e.what()));
  }
  if (!row.is_object()) throw std::invalid_argument("a row must be a JSON object");
  DataItem item;
  item.where = where;
  item.id = required_string(row, "id");
  const auto task = required_string(row, "task");
  const auto kind = render::parse_render_kind(task);
  if (!kind) throw std::invalid_argument(fmt::format("\"task\": expected chart, table or svg, got \"{}\"", task));
  item.task = *kind;
  fs::path image = required_string(row, "image");
  item.image = image.is_absolute() ? image : base / image;
  item.ground_truth = optional_string(row, "ground_truth");
  if (!fs::is_regular_file(item.image)) {
    if (!item.ground_truth) {
      throw std::invalid_argument(
          fmt::format("\"image\": no such file {} (and no ground_truth to render it from)", item.image.string()));
    }
    item.image_missing = true;
  }
  item.prompt = optional_string(row, "prompt");
  return item;
}

}  // namespace

std::vector<DataItem> load_manifests(const std::vector<std::string>& paths, InvalidRows invalid) {
  std::vector<DataItem> items;
  std::set<std::string> ids;
  int64_t skipped = 0;
  for (const auto& path : paths) {
    std::ifstream in(path);
    if (!in) fail(ErrorKind::io, "{}: cannot read the data manifest", path);
    const auto base = fs::path(path).parent_path();
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const auto where = fmt::format("{}:{}", path, number);
      try {
        auto item = parse_row(line, base, where);
        if (!ids.insert(item.id).second) throw std::invalid_argument(fmt::format("duplicate id \"{}\"", item.id));
        items.push_back(std::move(item));
      } catch (const std::invalid_argument& e) {
        if (invalid == InvalidRows::error) {
          fail(ErrorKind::format, "{}: {} (data.invalid_rows: skip drops such rows)", where, e.what());
        }
        spdlog::warn("{}: {}; row skipped", where, e.what());
        ++skipped;
      }
    }
  }
  if (items.empty()) {
    fail(ErrorKind::format, "no valid items in the data manifests [{}]{}", fmt::join(paths, ", "),
         skipped > 0 ? fmt::format(" ({} rows skipped)", skipped) : "");
  }
  if (skipped > 0) spdlog::warn("{} malformed manifest rows skipped, {} items kept", skipped, items.size());
  return items;
}

}  // namespace visrl::trainer
