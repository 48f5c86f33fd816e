#include "reward/critic.h"

#include <gtest/gtest.h>

namespace visrl::reward {
namespace {

TEST(RewardCritic, CategoriesFollowTheReference) {
  EXPECT_EQ(task_categories(Task::chart),
            (std::vector<std::string>{"structure_error", "data_error", "text_error", "style_error"}));
  EXPECT_EQ(task_categories(Task::table), (std::vector<std::string>{"layout_error", "text_error", "numeric_error"}));
  EXPECT_TRUE(is_category(Task::svg, "text_symbol_error"));
  EXPECT_TRUE(is_category(Task::svg, "other_error"));
  EXPECT_FALSE(is_category(Task::table, "data_error"));
  EXPECT_EQ(all_categories().size(), 9u);
}

TEST(RewardCritic, StatusNamesRoundTrip) {
  for (CriticStatus s :
       {CriticStatus::scored, CriticStatus::parse_failure, CriticStatus::unavailable, CriticStatus::not_scored})
    EXPECT_EQ(parse_critic_status(to_string(s)), s);
  for (ParseStatus s : {ParseStatus::ok, ParseStatus::repaired, ParseStatus::failed})
    EXPECT_EQ(parse_parse_status(to_string(s)), s);
  EXPECT_FALSE(parse_critic_status("scoredd").has_value());
}

TEST(RewardCritic, SeveritySumIsS) {
  std::vector<CriticError> errors = {{"data_error", 3, "", ""}, {"text_error", 1, "", ""}, {"style_error", 2, "", ""}};
  EXPECT_EQ(severity_sum(errors), 6);
  EXPECT_EQ(severity_sum({}), 0);
}

}  // namespace
}  // namespace visrl::reward
