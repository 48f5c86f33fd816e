// The critic's instructions per task and the sampling settings of REFERENCE.md section 1.
//
// The built-in prompts are configs/prompts/{chart,table,svg}.txt, compiled into the library
// so a program finds them wherever it runs; `reward.prompt_dir` points at other files (for
// example the official Visual-ERM prompts). The critic sees one user turn: image 1 (the
// reference), image 2 (the render), then the task prompt.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "reward/critic.h"

namespace visrl::reward {

struct CriticPrompts {
  std::string chart;
  std::string table;
  std::string svg;

  const std::string& for_task(Task task) const;

  // The built-in prompts (configs/prompts at build time).
  static CriticPrompts builtin();
  // chart.txt, table.txt and svg.txt from `dir`; "" gives builtin(). Throws Error(io)
  // naming the missing or empty file.
  static CriticPrompts load(const std::filesystem::path& dir);
};

// How the released RL code samples Visual-ERM per task (REFERENCE.md section 1).
struct CriticSampling {
  double temperature = 0.7;  // 0 = greedy
  double top_p = 0.8;
  int64_t top_k = 20;
  double presence_penalty = 1.5;
  double repetition_penalty = 1.0;
  int64_t max_new_tokens = 4096;
  int64_t max_image_side = 1024;  // images are downscaled to this longest side
};

// chart, svg: temperature 0.7, top_p 0.8, top_k 20, presence penalty 1.5, side 1024;
// table: greedy, repetition penalty 1.05, side 768. `max_image_side` > 0 and
// `max_new_tokens` > 0 replace the task's values.
CriticSampling critic_sampling(Task task, int64_t max_image_side = 0, int64_t max_new_tokens = 0);

}  // namespace visrl::reward
