#include "reward/prompts/critic_prompts.h"

#include "core/error.h"
#include "core/text_file.h"

namespace visrl::reward {

// Defined in the generated builtin_prompts.cpp (configs/prompts/*.txt).
extern const char* const kBuiltinChartPrompt;
extern const char* const kBuiltinTablePrompt;
extern const char* const kBuiltinSvgPrompt;

const std::string& CriticPrompts::for_task(Task task) const {
  switch (task) {
    case Task::chart:
      return chart;
    case Task::table:
      return table;
    case Task::svg:
      return svg;
  }
  return chart;
}

CriticPrompts CriticPrompts::builtin() {
  return {kBuiltinChartPrompt, kBuiltinTablePrompt, kBuiltinSvgPrompt};
}

namespace {

std::string read_prompt(const std::filesystem::path& path) {
  std::string s = read_text_file(path, "the critic prompt (reward.prompt_dir needs chart.txt, table.txt and svg.txt)");
  if (s.find_first_not_of(" \t\r\n") == std::string::npos)
    fail(ErrorKind::io, "critic prompt {}: empty", path.string());
  // A trailing newline of the file is not part of the prompt.
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

CriticPrompts CriticPrompts::load(const std::filesystem::path& dir) {
  if (dir.empty()) return builtin();
  return {read_prompt(dir / "chart.txt"), read_prompt(dir / "table.txt"), read_prompt(dir / "svg.txt")};
}

CriticSampling critic_sampling(Task task, int64_t max_image_side, int64_t max_new_tokens) {
  CriticSampling s;
  if (task == Task::table) {
    s.temperature = 0.0;
    s.top_p = 1.0;
    s.top_k = 0;
    s.presence_penalty = 0.0;
    s.repetition_penalty = 1.05;
    s.max_image_side = 768;
  }
  if (max_image_side > 0) s.max_image_side = max_image_side;
  if (max_new_tokens > 0) s.max_new_tokens = max_new_tokens;
  return s;
}

}  // namespace visrl::reward
