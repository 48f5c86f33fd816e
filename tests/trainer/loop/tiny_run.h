// A complete tiny training setup in a temporary directory: a random tiny Qwen3-VL policy, a
// manifest of four SVG items (reference images from tests/fixtures) and a config for a
// 3-step GRPO run with the pixel critic.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "policy/model/tiny_model.h"
#include "tests/test_util.h"

namespace visrl::test {

// The lines of a run's metrics.jsonl (a line being written is skipped).
inline std::vector<nlohmann::json> metric_lines(const std::filesystem::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

// A step's metrics without the wall-clock ones.
inline nlohmann::json without_times(nlohmann::json m) {
  for (auto it = m.begin(); it != m.end();) {
    it = it.key().rfind("time_", 0) == 0 || it.key() == "tokens_per_s" ? m.erase(it) : std::next(it);
  }
  return m;
}

struct TinyRun {
  TempDir dir;

  TinyRun() {
    policy::TinyModelOptions model;
    model.tokenizer_dir = source_dir() / "tests/fixtures/tokenizer/tiny";
    model.seed = 3;
    policy::save_tiny_model(dir / "model", model);
    std::string manifest;
    const char* images[] = {"a", "b", "c", "a"};
    for (int i = 0; i < 4; ++i) {
      manifest +=
          fmt::format(R"({{"id": "p{}", "task": "svg", "image": "{}", "ground_truth": "<svg/>"}})", i,
                      (source_dir() / "tests/fixtures/qwen3vl/images" / (std::string(images[i]) + ".png")).string());
      manifest += "\n";
    }
    dir.write("data/train.jsonl", manifest);
  }

  // The YAML of a run: `extra` lines are appended (later keys win over earlier ones).
  std::string config_yaml(const std::string& extra = "") const {
    return fmt::format(R"(seed: 7
model:
  path: {}
data:
  train: [{}]
rollout:
  group_size: 4
  prompts_per_step: 4
  batch_size: 4
  batch_invariant: true  # the same answers on 1 and 2 ranks: runs compare across world sizes
  max_new_tokens: 12
  stop: ["e"]
reward:
  critic: pixel
  formula: "render_ok + response_len / max_len"
  on_failure: {{no_code: formula}}
algorithm:
  mini_batch_prompts: 4
  micro_batch_size: 4
  kl_coef: 0.01
optim:
  lr: 1.0e-3
  total_steps: 3
render:
  workers: 1
logging:
  progress_bar: "off"
{})",
                       (dir / "model").string(), (dir / "data/train.jsonl").string(), extra);
  }

  std::filesystem::path write_config(const std::string& name, const std::string& extra = "") const {
    return dir.write(name, config_yaml(extra));
  }
};

}  // namespace visrl::test
