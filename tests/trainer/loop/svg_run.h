// TinyRun's policy taught (build/bin/sft, 60 steps, ~12 s) to answer every prompt with one small
// SVG, so that a run through build/bin/train renders and scores every answer: for tests of what
// happens to renders and critic verdicts (faults, TensorBoard images). Needs VISRL_SFT_BIN.
#pragma once

#include <stdexcept>
#include <string>

#include "tests/support/multiprocess.h"
#include "tests/trainer/loop/tiny_run.h"

namespace visrl::test {

inline constexpr const char* kSvg =
    R"(<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\"><rect x=\"8\" y=\"8\" width=\"32\" height=\"32\" fill=\"red\"/></svg>)";

struct SvgRun : TinyRun {
  SvgRun() {
    std::string manifest;
    for (int i = 0; i < 4; ++i) {
      manifest += fmt::format(R"({{"id": "p{}", "task": "svg", "image": "{}", "ground_truth": "{}"}})", i,
                              (source_dir() / "tests/fixtures/qwen3vl/images/a.png").string(), kSvg);
      manifest += "\n";
    }
    dir.write("data/train.jsonl", manifest);
    const auto sft_config =
        dir.write("sft.yaml", fmt::format(R"(seed: 1
model:
  path: {}
data:
  train: [{}]
  epochs: 1000
optim:
  lr: 1.0e-2
  weight_decay: 0.0
  total_steps: 60
checkpoint:
  every_steps: 0
logging:
  progress_bar: "off"
)",
                                          (dir / "model").string(), (dir / "data/train.jsonl").string()));
    auto sft = run_program_ranks(
        1, VISRL_SFT_BIN, {"--config", sft_config.string(), "--run-dir", (dir / "sft").string(), "--batch-size", "4"},
        std::chrono::seconds(300));
    if (!sft.ok()) throw std::runtime_error("sft of the SVG policy failed: " + sft.summary());
  }

  // The SFT-ed policy's run config with `extra` sections (TinyRun's base.yaml, extended).
  std::filesystem::path svg_config(const std::string& extra) {
    write_config("base.yaml");
    return dir.write("config.yaml", fmt::format(R"(extends: base.yaml
model:
  path: {}
rollout:
  group_size: 4
  prompts_per_step: 4
  batch_size: 16
  max_new_tokens: 96
  stop: []
  temperature: 0.3
optim:
  lr: 1.0e-4
  total_steps: 6
{})",
                                                (dir / "sft/final").string(), extra));
  }
};

}  // namespace visrl::test
