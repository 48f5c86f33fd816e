// ImageProcessorConfig <-> preprocessor_config.json.
#include <string>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_file.h"
#include "policy/image/image_processor.h"

namespace visrl::policy {
namespace {

using nlohmann::json;

struct Reader {
  const std::filesystem::path& path;
  const json& root;

  [[noreturn]] void bad(const std::string& key, const char* expected, const json& got) const {
    fail(ErrorKind::config, "{}: {}: expected {}, got {}", path.string(), key, expected, got.dump());
  }

  void integer(const json& obj, const char* key, const std::string& name, int64_t& out, int64_t min) const {
    if (!obj.contains(key) || obj[key].is_null()) return;
    const json& v = obj[key];
    if (!v.is_number_integer() || v.get<int64_t>() < min) bad(name, min > 0 ? "an integer > 0" : "an integer >= 0", v);
    out = v.get<int64_t>();
  }
  void number(const char* key, double& out) const {
    if (!root.contains(key) || root[key].is_null()) return;
    const json& v = root[key];
    if (!v.is_number() || v.get<double>() <= 0) bad(key, "a number > 0", v);
    out = v.get<double>();
  }
  void boolean(const char* key, bool& out) const {
    if (!root.contains(key) || root[key].is_null()) return;
    if (!root[key].is_boolean()) bad(key, "true or false", root[key]);
    out = root[key].get<bool>();
  }
  void triple(const char* key, std::array<double, 3>& out) const {
    if (!root.contains(key) || root[key].is_null()) return;
    const json& v = root[key];
    if (v.is_number()) {  // HF accepts one float for all channels
      out.fill(v.get<double>());
      return;
    }
    if (!v.is_array() || v.size() != 3) bad(key, "a list of 3 numbers", v);
    for (size_t i = 0; i < 3; ++i) {
      if (!v[i].is_number()) bad(key, "a list of 3 numbers", v);
      out[i] = v[i].get<double>();
    }
  }
};

}  // namespace

ImageProcessorConfig ImageProcessorConfig::from_file(const std::filesystem::path& preprocessor_config_json) {
  const auto& path = preprocessor_config_json;
  json root = read_json_file(path, "the image processor configuration");
  if (!root.is_object()) fail(ErrorKind::format, "{}: expected a JSON object", path.string());
  // transformers 5 saves the processor as one processor_config.json with the image
  // processor's keys under "image_processor".
  if (auto nested = root.find("image_processor"); nested != root.end() && nested->is_object()) {
    json inner = *nested;
    root = std::move(inner);
  }

  ImageProcessorConfig cfg;
  const Reader r{path, root};
  r.integer(root, "patch_size", "patch_size", cfg.patch_size, 1);
  r.integer(root, "temporal_patch_size", "temporal_patch_size", cfg.temporal_patch_size, 1);
  r.integer(root, "merge_size", "merge_size", cfg.merge_size, 1);
  if (root.contains("size") && !root["size"].is_null()) {
    const json& size = root["size"];
    if (!size.is_object()) r.bad("size", R"(an object {"shortest_edge": ..., "longest_edge": ...})", size);
    r.integer(size, "shortest_edge", "size.shortest_edge", cfg.min_pixels, 0);
    r.integer(size, "longest_edge", "size.longest_edge", cfg.max_pixels, 1);
  }
  // transformers: min_pixels / max_pixels, when present, override "size".
  r.integer(root, "min_pixels", "min_pixels", cfg.min_pixels, 0);
  r.integer(root, "max_pixels", "max_pixels", cfg.max_pixels, 1);
  r.triple("image_mean", cfg.image_mean);
  r.triple("image_std", cfg.image_std);
  r.number("rescale_factor", cfg.rescale_factor);
  r.boolean("do_resize", cfg.do_resize);
  r.boolean("do_rescale", cfg.do_rescale);
  r.boolean("do_normalize", cfg.do_normalize);
  if (root.contains("resample") && !root["resample"].is_null() && root["resample"] != json(3)) {
    r.bad("resample", "3 (bicubic, the only resampling visrl implements)", root["resample"]);
  }
  if (cfg.min_pixels > cfg.max_pixels) {
    fail(ErrorKind::config, "{}: size: shortest_edge (min pixels) {} is above longest_edge (max pixels) {}",
         path.string(), cfg.min_pixels, cfg.max_pixels);
  }
  return cfg;
}

void ImageProcessorConfig::save(const std::filesystem::path& path) const {
  json root = {
      {"do_convert_rgb", true},
      {"do_normalize", do_normalize},
      {"do_rescale", do_rescale},
      {"do_resize", do_resize},
      {"image_mean", image_mean},
      {"image_processor_type", "Qwen2VLImageProcessorFast"},
      {"image_std", image_std},
      {"merge_size", merge_size},
      {"patch_size", patch_size},
      {"processor_class", "Qwen3VLProcessor"},
      {"resample", 3},
      {"rescale_factor", rescale_factor},
      {"size", {{"longest_edge", max_pixels}, {"shortest_edge", min_pixels}}},
      {"temporal_patch_size", temporal_patch_size},
  };
  write_file_atomically(path, root.dump(2) + "\n");
}

}  // namespace visrl::policy
