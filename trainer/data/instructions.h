// What the policy is asked to do for each task: the user text that follows the image. The
// built-in texts are configs/instructions/{chart,table,svg}.txt, compiled in; data.prompt_dir
// points at other files of the same names; a manifest row's "prompt" overrides both.
#pragma once

#include <filesystem>
#include <string>

#include "render/render_types.h"

namespace visrl::trainer {

struct TaskInstructions {
  std::string chart, table, svg;

  const std::string& of(render::RenderKind task) const;

  static TaskInstructions builtin();
  // chart.txt, table.txt, svg.txt from `dir` ("" = builtin()); throws Error(io) naming a
  // missing or empty file.
  static TaskInstructions load(const std::filesystem::path& dir);
};

}  // namespace visrl::trainer
