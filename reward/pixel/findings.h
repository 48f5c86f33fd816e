// What the pixel critic found, before it is named in a task's categories. Internal.
#pragma once

#include <string>

#include "reward/critic.h"

namespace visrl::reward::pixel {

enum class Finding {
  blank,       // the render has no foreground
  shift,       // all content moved
  background,  // the page colour differs
  text,        // glyphs differ
  numeric,     // glyphs of a number differ (tables)
  style,       // same element, other colour
  extent,      // an element is larger, smaller or slightly displaced (bar heights, resized shapes)
  moved,       // an element left its place and appears elsewhere
  element,     // an element vanished or was added (legend, axes, a shape)
  coverage,    // a chart's marks of one colour lost or gained most of their area (type, series)
  count,       // a chart draws another number of bars or wedges, or of line or point series
  kind,        // a chart draws other kinds of marks (lines, points, bars or wedges)
  values,      // a chart drawn as another kind: none of its values is a mark of the reference's kind
  grid,        // a table has other rows or columns
};

// chart: structure / data / text / style; table: layout / text / numeric; svg: structure /
// shape / style / text_symbol.
std::string category_of(Task task, Finding finding);

CriticError make_error(Task task, Finding finding, int severity, std::string location, std::string description);

}  // namespace visrl::reward::pixel
