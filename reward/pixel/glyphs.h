// Text compared without OCR: the ink of a region is cut into glyphs (connected components,
// with pieces stacked over each other — the dot of an i, the parts of a % — merged), ordered
// in reading order, and two glyph sequences are compared by edit distance on glyph shapes.
// A changed digit is one edit, a replaced word about its length, and text that only moved
// (a centred title that got longer) does not count as changed glyphs. Internal to reward/pixel.
#pragma once

#include <cstdint>
#include <vector>

#include "reward/pixel/pixel_image.h"

namespace visrl::reward::pixel {

struct Glyph {
  Box box;
  int line = 0;                 // reading-order line index
  int offset = 0;               // box.y0 minus the top of its line (tells ' from , and - from _)
  std::vector<uint8_t> bits;    // box.width() x box.height(), row-major: the binarised ink
  std::vector<uint8_t> levels;  // (width + 2) x (height + 2): darkness around and in the box
};

// Glyphs of the set pixels of `ink` inside `window`, in reading order (lines top to bottom,
// glyphs left to right). `levels` (one per pixel of `ink`) is the darkness of each pixel, its
// distance from the background; glyphs keep it for a one-pixel frame around their box. At
// most `max_glyphs` are kept.
std::vector<Glyph> glyph_sequence(const Mask& ink, const std::vector<uint8_t>& levels, const Box& window,
                                  int max_glyphs = 400);

// Same shape: sizes within 1 px, same offset within 1 px, and at the best placement within a
// pixel (in half-pixel steps, bilinear), (almost) no strongly inked pixel (3/5 of the peak
// darkness) of one glyph where the other has hardly any ink (below 1/5). Antialiasing moves ink by a fraction of
// a pixel and passes; another letter or digit has strokes where the other has none.
bool same_glyph(const Glyph& a, const Glyph& b);
// The count same_glyph judges: strong pixels without ink in the other glyph at the best
// placement; -1 when the sizes or offsets already differ.
int glyph_mismatch(const Glyph& a, const Glyph& b);

// All the ink of `window` as one glyph (its box shrunk to the ink): for comparing whole
// blocks of text whose letters touch differently in two renderings.
Glyph block_glyph(const Mask& ink, const std::vector<uint8_t>& levels, const Box& window);

// Levenshtein distance with same_glyph as equality; a glyph that is two or three touching
// neighbours of the other sequence (antialiasing joined them) costs nothing.
int glyph_edit_distance(const std::vector<Glyph>& a, const std::vector<Glyph>& b);

// True when the text reads like a number: every glyph taller than 40% of the tallest shares
// the top and the bottom of the others (lining digits and capitals), unlike lowercase words
// with their x-height letters, ascenders and descenders; and (when `cap_height` > 0) those
// glyphs are at least 85% of `cap_height` high, so that words of x-height letters ("cow")
// do not pass. False without such glyphs.
bool digit_like(const std::vector<Glyph>& glyphs, int cap_height = 0);

// The usual height of digits and capitals among `glyphs`: the median height of the glyphs at
// least 60% as high as the tallest; 0 without glyphs.
int cap_height(const std::vector<const Glyph*>& glyphs);

}  // namespace visrl::reward::pixel
