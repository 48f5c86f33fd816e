// Glyph sequences on hand-drawn ink: reading order, stacked pieces, shape equality under
// sub-pixel moves, edit distance with merges, digit-likeness.
#include "reward/pixel/glyphs.h"

#include <gtest/gtest.h>

namespace visrl::reward::pixel {
namespace {

// A drawing board: ink with darkness levels (255 = full ink).
struct Board {
  Mask ink;
  std::vector<uint8_t> levels;
  Board(int w, int h) : ink(w, h), levels(static_cast<size_t>(w) * h, 0) {}
  void put(int x, int y, int level = 255) {
    levels[static_cast<size_t>(y) * ink.width + x] =
        static_cast<uint8_t>(std::max<int>(levels[static_cast<size_t>(y) * ink.width + x], level));
    ink.at(x, y) = levels[static_cast<size_t>(y) * ink.width + x] > 48;
  }
  void rect(int x, int y, int w, int h, int level = 255) {
    for (int j = y; j < y + h; ++j)
      for (int i = x; i < x + w; ++i) put(i, j, level);
  }
  std::vector<Glyph> glyphs() const { return glyph_sequence(ink, levels, Box{0, 0, ink.width - 1, ink.height - 1}); }
};

// Letter-like shapes, 7 wide and 10 high, drawn at (x, y).
void letter(Board& b, char c, int x, int y) {
  switch (c) {
    case 'L':
      b.rect(x, y, 2, 10), b.rect(x, y + 8, 7, 2);
      break;
    case 'T':
      b.rect(x, y, 7, 2), b.rect(x + 3, y, 2, 10);
      break;
    case 'H':
      b.rect(x, y, 2, 10), b.rect(x + 5, y, 2, 10), b.rect(x, y + 4, 7, 2);
      break;
    case 'O':
      b.rect(x, y, 7, 2), b.rect(x, y + 8, 7, 2), b.rect(x, y, 2, 10), b.rect(x + 5, y, 2, 10);
      break;
    case 'o':
      b.rect(x, y + 4, 7, 2), b.rect(x, y + 8, 7, 2), b.rect(x, y + 4, 2, 6), b.rect(x + 5, y + 4, 2, 6);
      break;
    case 'i':
      b.rect(x + 2, y, 2, 2), b.rect(x + 2, y + 4, 2, 6);
      break;
  }
}

Board word(const std::string& text, int gap = 3) {
  Board b(static_cast<int>(text.size()) * (7 + gap) + 4, 14);
  for (size_t k = 0; k < text.size(); ++k) letter(b, text[k], 2 + static_cast<int>(k) * (7 + gap), 2);
  return b;
}

TEST(Glyphs, ReadingOrderAndStackedPieces) {
  Board b(40, 30);
  letter(b, 'T', 20, 2);
  letter(b, 'i', 2, 2);   // dot and stem: one glyph
  letter(b, 'L', 5, 16);  // second line, close below the i: not stacked onto it
  const auto g = b.glyphs();
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].box.x0, 4);  // the i, first on line 0
  EXPECT_EQ(g[0].box.height(), 10);
  EXPECT_EQ(g[1].box.x0, 20);
  EXPECT_EQ(g[0].line, 0);
  EXPECT_EQ(g[1].line, 0);
  EXPECT_EQ(g[2].line, 1);
  EXPECT_EQ(g[2].offset, 0);
  EXPECT_EQ(g[2].levels.size(), static_cast<size_t>((7 + 2) * (10 + 2)));
}

TEST(Glyphs, SameShapeSurvivesSubPixelMovesButNotOtherLetters) {
  const auto l = word("L").glyphs();
  const auto t = word("T").glyphs();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_TRUE(same_glyph(l[0], l[0]));
  EXPECT_FALSE(same_glyph(l[0], t[0]));
  // The L half a pixel to the right: every column of ink split over two pixels.
  Board half(20, 14);
  for (int y = 2; y < 12; ++y) half.put(2, y, 128), half.put(3, y, 255), half.put(4, y, 128);
  for (int x = 2; x < 10; ++x)
    half.put(x, 10, x == 2 || x == 9 ? 128 : 255), half.put(x, 11, x == 2 || x == 9 ? 128 : 255);
  const auto moved = half.glyphs();
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_TRUE(same_glyph(l[0], moved[0]));
  EXPECT_TRUE(same_glyph(moved[0], l[0]));
  // O and H differ in a few strokes only, still different.
  EXPECT_FALSE(same_glyph(word("O").glyphs()[0], word("H").glyphs()[0]));
}

TEST(Glyphs, EditDistanceCountsGlyphsAndForgivesTouchingNeighbours) {
  const auto base = word("LOTH").glyphs();
  EXPECT_EQ(glyph_edit_distance(base, base), 0);
  EXPECT_EQ(glyph_edit_distance(base, word("LOHH").glyphs()), 1);
  EXPECT_EQ(glyph_edit_distance(base, word("LTH").glyphs()), 1);
  EXPECT_EQ(glyph_edit_distance(base, word("HOLT").glyphs()), 3);
  EXPECT_EQ(glyph_edit_distance(base, {}), 4);
  // O and T a pixel apart, then touching (antialiasing closed the gap): one piece.
  Board apart(60, 14), touching(60, 14);
  for (auto [board, t] : {std::pair{&apart, 20}, std::pair{&touching, 19}}) {
    letter(*board, 'L', 2, 2);
    letter(*board, 'O', 12, 2);
    letter(*board, 'T', t, 2);
    letter(*board, 'H', 30, 2);
  }
  const auto separate = apart.glyphs(), joined = touching.glyphs();
  ASSERT_EQ(separate.size(), 4u);
  ASSERT_EQ(joined.size(), 3u);
  EXPECT_EQ(glyph_edit_distance(separate, joined), 0);
  EXPECT_EQ(glyph_edit_distance(joined, separate), 0);
  EXPECT_EQ(glyph_edit_distance(joined, word("LOHH").glyphs()), 2);
}

TEST(Glyphs, DigitLikeTextHasOneTopAndBottom) {
  EXPECT_TRUE(digit_like(word("LOTH").glyphs()));
  EXPECT_FALSE(digit_like(word("Lio").glyphs()));  // x-height o: lower top
  EXPECT_FALSE(digit_like({}));
  // Only x-height letters: alike among themselves, but short for the table's capitals.
  const auto low = word("oo").glyphs();
  EXPECT_TRUE(digit_like(low));
  EXPECT_FALSE(digit_like(low, 10));
  EXPECT_TRUE(digit_like(word("LO").glyphs(), 10));
  const auto caps = word("LOTi").glyphs();
  std::vector<const Glyph*> all;
  for (const auto& g : caps) all.push_back(&g);
  EXPECT_EQ(cap_height(all), 10);
  EXPECT_EQ(cap_height({}), 0);
}

}  // namespace
}  // namespace visrl::reward::pixel
