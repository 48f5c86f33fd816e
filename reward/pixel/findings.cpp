#include "reward/pixel/findings.h"

#include <algorithm>

namespace visrl::reward::pixel {

std::string category_of(Task task, Finding finding) {
  switch (task) {
    case Task::table:
      if (finding == Finding::text) return "text_error";
      if (finding == Finding::numeric) return "numeric_error";
      return "layout_error";
    case Task::chart:
      if (finding == Finding::text || finding == Finding::numeric) return "text_error";
      if (finding == Finding::style || finding == Finding::background) return "style_error";
      if (finding == Finding::extent || finding == Finding::moved || finding == Finding::count ||
          finding == Finding::values)
        return "data_error";
      return "structure_error";
    case Task::svg:
      if (finding == Finding::text || finding == Finding::numeric) return "text_symbol_error";
      if (finding == Finding::style || finding == Finding::background) return "style_error";
      if (finding == Finding::extent || finding == Finding::moved || finding == Finding::values) return "shape_error";
      return "structure_error";
  }
  return "structure_error";
}

CriticError make_error(Task task, Finding finding, int severity, std::string location, std::string description) {
  CriticError e;
  e.category = category_of(task, finding);
  e.severity = std::clamp(severity, 1, 3);
  e.location = std::move(location);
  e.description = std::move(description);
  return e;
}

}  // namespace visrl::reward::pixel
