#include <gtest/gtest.h>

#include "core/error.h"
#include "policy/image/image_processor.h"
#include "tests/policy/image/fixtures.h"

namespace visrl::policy {
namespace {

TEST(SmartResize, MatchesTransformersTable) {
  const auto rows = test::load_json("smart_resize.json");
  ASSERT_GT(rows.size(), 50u);
  for (const auto& row : rows) {
    const int64_t h = row["h"], w = row["w"], factor = row["factor"], lo = row["min"], hi = row["max"];
    SCOPED_TRACE(row.dump());
    if (row.contains("error")) {
      EXPECT_THROW(smart_resize(h, w, factor, lo, hi), Error);
    } else {
      const auto [rh, rw] = smart_resize(h, w, factor, lo, hi);
      EXPECT_EQ(rh, row["out"][0].get<int64_t>());
      EXPECT_EQ(rw, row["out"][1].get<int64_t>());
    }
  }
}

TEST(SmartResize, RoundsHalfToEven) {
  // 48 / 32 = 1.5 -> 2, 80 / 32 = 2.5 -> 2, 112 / 32 = 3.5 -> 4
  EXPECT_EQ(smart_resize(48, 48, 32, 1024, 1 << 24), std::make_pair(int64_t{64}, int64_t{64}));
  EXPECT_EQ(smart_resize(80, 80, 32, 1024, 1 << 24), std::make_pair(int64_t{64}, int64_t{64}));
  EXPECT_EQ(smart_resize(112, 112, 32, 1024, 1 << 24), std::make_pair(int64_t{128}, int64_t{128}));
}

TEST(SmartResize, RejectsExtremeAspectRatioAndEmptyImages) {
  EXPECT_NO_THROW(smart_resize(1, 200, 32, 1024, 1 << 24));
  try {
    smart_resize(1, 201, 32, 1024, 1 << 24);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("aspect ratio"), std::string::npos) << e.what();
  }
  EXPECT_THROW(smart_resize(201, 1, 32, 1024, 1 << 24), Error);
  EXPECT_THROW(smart_resize(0, 10, 32, 1024, 1 << 24), Error);
  EXPECT_THROW(smart_resize(10, 0, 32, 1024, 1 << 24), Error);
}

}  // namespace
}  // namespace visrl::policy
