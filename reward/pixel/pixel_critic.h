// `pixel`: the built-in visual critic for machines without a VLM. It compares the reference
// image and the render in visual space — layout of the foreground, colours, extents of marks
// and shapes, text-like regions, blank output — and reports the differences as CriticErrors
// in the schema of reward/critic.h, with severities from measured magnitudes and locations
// as named image regions. Deterministic and torch-free; a 640x480 pair takes ~10-20 ms.
//
// How (see README.md): both images go to a common analysis grid (the render is resampled to
// the reference size); the background is the dominant border colour; a consistent global
// shift is reported once and undone; pixels that differ beyond antialiasing (a neighbourhood
// envelope test) are grouped into blobs, and each blob is read as a text change (small dark
// glyph-like components, compared glyph by glyph), a colour change, a vanished/added element,
// a moved element or a changed extent. Tables with ruled grids are compared cell by cell
// (row and column counts, glyph sequences, digit-like cells -> numeric_error).
#pragma once

#include <vector>

#include "reward/critic.h"

namespace visrl::reward {

// Thresholds of the pixel critic. Fractions are of the analysis image unless said otherwise.
struct PixelCriticOptions {
  // Analysis grid: a reference whose longer side exceeds this is box-downscaled first.
  int max_side = 1024;
  // A pixel farther than this (largest channel difference) from the background is foreground.
  int foreground_threshold = 40;
  // Raw channel difference below which two pixels are equal without further tests.
  int diff_threshold = 32;
  // Envelope margin: a pixel whose channels lie within [min - m, max + m] of the other image's
  // pixel and its four neighbours is an antialiasing difference, not a change. Sub-pixel
  // moves that still pass are dropped later (glyphs alike, edges moved by <= 1.5 px).
  int envelope_margin = 8;
  // Difference components smaller than this many pixels are noise.
  int min_diff_pixels = 4;
  // Differences closer than this fraction of the image diagonal form one blob (one error).
  double group_radius = 0.012;
  // A render whose foreground covers less than this while the reference's covers more is blank.
  double blank_coverage = 0.001;
  // Two colours closer than this (largest channel difference) are the same colour.
  int colour_tolerance = 32;
  // Glyph-like components: at most this fraction of the shorter image side high, chroma
  // (max - min channel) at most glyph_max_chroma, and at least glyph_min_contrast from the
  // background. A blob whose differing pixels are mostly glyph-like is a text change.
  double glyph_max_height = 0.07;
  int glyph_max_chroma = 48;
  int glyph_min_contrast = 100;
  double text_share = 0.6;
  // An element keeping less than this fraction of its pixels (same place, same colour) in the
  // other image vanished (or, seen from the render, was added).
  double survival = 0.3;
  // Global shift: applied only when it removes at least this fraction of the foreground
  // disagreement, and only when it is at least this fraction of the image side.
  double shift_gain = 0.5;
  double min_shift = 0.01;
  // Severity thresholds {medium, severe} (the synthetic triples of reward/eval use the same
  // scales for their injected severities, see reward/eval/README.md):
  double shift_severity[2] = {0.03, 0.10};          // shift / image side
  double displacement_severity[2] = {0.045, 0.11};  // moved edge or element / image diagonal
  double size_severity[2] = {0.15, 0.35};           // shape bounding-box size change (svg)
  double element_severity[2] = {0.003, 0.03};       // vanished/added element box / image area
  int colour_severity = 90;                         // recolour distance for severity 2
  double recolour_area_severe = 0.5;                // recoloured share of the foreground for 3
  int text_edit_severity[2] = {3, 7};               // glyphs inserted, deleted or replaced
  int cell_edit_severity = 2;                       // table cell: glyph edits for severity 2
  double coverage_ratio = 2.5;                      // chart: mark colour coverage ratio -> structure
  double coverage_min_area = 0.004;                 // ... when the area changes by this much
  double solid_mark_area = 0.001;                   // chart: a bar or wedge covers at least this
  double solid_mark_thickness = 0.015;              // ... and is this thick on average (x shorter side)
};

// Errors of `rendered` against `reference` for `task`, in the schema of reward/critic.h:
// categories from task_categories(task), severity 1..3 from the measured magnitude, location a
// named region ("top left", "centre", "bottom edge", "whole image", ...), a description with
// the measured numbers. Identical images give no errors; antialiasing differences give none.
// An empty or malformed rendered image counts as blank (one severity-3 error). Throws
// visrl::Error when the reference image is empty or its pixel buffer does not match its size.
// Deterministic; a pure function.
std::vector<CriticError> pixel_compare(Task task, const render::RgbImage& reference, const render::RgbImage& rendered,
                                       const PixelCriticOptions& options = {});

// The Critic interface over pixel_compare. Items without a render come back not_scored (with
// a message); items whose reference is missing or malformed likewise, naming the item.
// Otherwise status scored, parse ok, attempts 1, latency measured per item.
class PixelCritic final : public Critic {
 public:
  explicit PixelCritic(PixelCriticOptions options = {}) : options_(options) {}
  std::string name() const override { return "pixel"; }
  std::vector<CriticResult> score(const std::vector<CriticItem>& items) override;

 private:
  PixelCriticOptions options_;
};

}  // namespace visrl::reward
