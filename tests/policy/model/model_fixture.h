// The transformers reference outputs of tests/fixtures/qwen3vl (see generate.py there).
#pragma once

#include <string>

#include <ATen/ATen.h>

#include "core/safetensors.h"
#include "policy/model/qwen3vl.h"
#include "tests/test_util.h"

namespace visrl::test {

inline std::filesystem::path qwen3vl_fixture_dir() { return source_dir() / "tests/fixtures/qwen3vl"; }

struct Qwen3VLFixture {
  explicit Qwen3VLFixture(const std::string& config_name)
      : name(config_name),
        model_dir(qwen3vl_fixture_dir() / config_name),
        file(safetensors::File::open(qwen3vl_fixture_dir() / (config_name + ".safetensors"))) {}

  bool has(const std::string& key) const { return file->header().index.count(key) > 0; }
  at::Tensor get(const std::string& key) const { return file->tensor(key).clone(); }

  // The model inputs of one prompt ("text", "one_image", "two_images").
  policy::ModelInputs inputs(const std::string& prompt) const {
    policy::ModelInputs in;
    in.input_ids = get(prompt + ".input_ids");
    in.position_ids = get(prompt + ".position_ids");
    if (has(prompt + ".pixel_values")) {
      in.pixel_values = get(prompt + ".pixel_values");
      in.image_grid_thw = get(prompt + ".image_grid_thw");
    }
    return in;
  }

  std::string name;
  std::filesystem::path model_dir;
  std::shared_ptr<const safetensors::File> file;
};

inline const char* kPrompts[] = {"text", "one_image", "two_images"};
inline const char* kConfigs[] = {"tied", "untied"};

}  // namespace visrl::test
