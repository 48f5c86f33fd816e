// Finding the code in a policy answer: fenced blocks first, then bare fallbacks.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "render/render_types.h"

namespace visrl::render {

struct ExtractedCode {
  std::string code;
  std::string source;  // how it was found, e.g. "```python block", "bare <svg> element"
};

// chart: a ```python / ```py block (the first that imports matplotlib or calls plt., else
//   the first),
//   else a bare ``` block, else the unfenced text from its first import line.
// svg: a block holding an <svg> element (```svg, ```xml, ```html, bare ```), else a bare
//   <svg ...>...</svg> in the text.
// table: a ```markdown / ```md / ```html / bare ``` block holding a table, else the whole
//   answer (the table renderer ignores the text around a table).
// nullopt when nothing of the kind is there (status no_code).
std::optional<ExtractedCode> extract_code(RenderKind kind, std::string_view answer);

}  // namespace visrl::render
