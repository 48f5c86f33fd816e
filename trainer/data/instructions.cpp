#include "trainer/data/instructions.h"

#include "core/error.h"
#include "core/text_file.h"

namespace visrl::trainer {

extern const char* const kBuiltinChartInstruction;
extern const char* const kBuiltinTableInstruction;
extern const char* const kBuiltinSvgInstruction;

const std::string& TaskInstructions::of(render::RenderKind task) const {
  switch (task) {
    case render::RenderKind::chart:
      return chart;
    case render::RenderKind::table:
      return table;
    case render::RenderKind::svg:
      return svg;
  }
  return chart;
}

TaskInstructions TaskInstructions::builtin() {
  return {kBuiltinChartInstruction, kBuiltinTableInstruction, kBuiltinSvgInstruction};
}

TaskInstructions TaskInstructions::load(const std::filesystem::path& dir) {
  if (dir.empty()) return builtin();
  auto read = [&](const char* name) {
    auto text = read_text_file(dir / name, "task instruction (data.prompt_dir)");
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.empty()) fail(ErrorKind::io, "{}: the task instruction is empty (data.prompt_dir)", (dir / name).string());
    return text;
  };
  return {read("chart.txt"), read("table.txt"), read("svg.txt")};
}

}  // namespace visrl::trainer
