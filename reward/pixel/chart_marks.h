// What a chart draws, read from the elements of its image: how many bars and pie wedges, how
// many line or point series (by colour), and which kinds of marks (plotted lines, scatter
// points, bars or wedges). The scene comparison (scene_compare.cpp) reports another kind of
// chart and another number of bars, wedges or series.
// Internal to reward/pixel.
#pragma once

#include <cstddef>
#include <string>

#include "reward/pixel/image_analysis.h"

namespace visrl::reward::pixel {

constexpr unsigned kMarkLines = 1, kMarkPoints = 2, kMarkSolid = 4;

struct ChartMarks {
  size_t solid = 0;    // bars and pie wedges
  Box solid_box;       // where they are
  unsigned kinds = 0;  // kMarkLines | kMarkPoints | kMarkSolid
  size_t series = 0;   // colours that draw a line or a set of points (one per series when colours differ)
};

// `analysis` after describe_elements; width and height of its image.
ChartMarks read_chart_marks(const ImageAnalysis& analysis, int width, int height, const PixelCriticOptions& options);

// "lines and points", "bars or wedges", "no marks".
std::string describe_mark_kinds(unsigned kinds);

}  // namespace visrl::reward::pixel
