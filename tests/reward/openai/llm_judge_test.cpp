// The VC-RewardBench LLM judge (reward/eval/llm_judge.h) against fake chat-completions servers:
// what it sends, retries after bad replies and HTTP errors, and the built-in matcher as the
// fallback when every attempt fails.
#include "reward/eval/llm_judge.h"

#include <atomic>
#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "fake_chat_server.h"

namespace visrl::reward::eval {
namespace {

using test::FakeChatServer;
using test::FakeReply;

std::vector<JudgeGroup> groups() {
  return {{"c1",
           "data_error",
           {{"data_error", 2, "", "bar March 40 instead 25"}, {"data_error", 1, "", "other"}},
           {{"data_error", 2, "bar March 40 instead 25", ""}}},
          {"c2", "text_error", {{"text_error", 1, "", "title typo"}}, {{"text_error", 1, "title misspelled", ""}}}};
}

JudgeOptions options(const FakeChatServer& server) {
  JudgeOptions o;
  o.endpoints = {server.base_url()};
  o.model = "judge-7b";
  o.timeout_s = 60;  // a hang guard: a local answer never takes that long
  o.max_retries = 2;
  o.max_concurrency = 1;  // requests in group order, so the script can tell them apart
  return o;
}

TEST(LlmJudge, SendsTheListsAndUsesTheVerdicts) {
  FakeChatServer server([](size_t, const test::RecordedRequest& request) {
    const auto body = nlohmann::json::parse(request.body);
    const std::string prompt = body["messages"][0]["content"];
    if (prompt.find("data_error") != std::string::npos)
      return FakeReply::answer(R"({"matches": [{"predicted": 2, "human": 1, "level": "partial"}]})");
    return FakeReply::answer(R"(```json
{"matches": [{"predicted": 1, "human": 1, "level": "yes"}]}
```)");
  });
  const auto out = judge_groups(groups(), options(server), {});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].judged);
  ASSERT_EQ(out[0].matches.size(), 1u);
  // The judge's choice, not the text similarity's (which would pick predicted 0).
  EXPECT_EQ(out[0].matches[0].predicted, 1u);
  EXPECT_EQ(out[0].matches[0].level, MatchLevel::partial);
  EXPECT_TRUE(out[1].judged);
  EXPECT_EQ(out[1].matches[0].level, MatchLevel::yes);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  const auto body = nlohmann::json::parse(requests[0].body);
  EXPECT_EQ(body["model"], "judge-7b");
  EXPECT_EQ(body["temperature"], 0);
  EXPECT_EQ(requests[0].path, "/v1/chat/completions");
}

TEST(LlmJudge, RetriesBadRepliesThenFallsBackToTheBuiltInMatcher) {
  // Group 0: a malformed reply, a 500, then a good one. Group 1: nothing usable, ever.
  auto data_attempts = std::make_shared<std::atomic<int>>(0);
  FakeChatServer server([data_attempts](size_t, const test::RecordedRequest& request) {
    const std::string prompt = nlohmann::json::parse(request.body)["messages"][0]["content"];
    if (prompt.find("data_error") == std::string::npos) return FakeReply::answer("I cannot tell.");
    switch ((*data_attempts)++) {
      case 0:
        return FakeReply::answer(R"({"matches": [{"predicted": 9, "human": 1, "level": "yes"}]})");
      case 1:
        return FakeReply::error(500, "overloaded");
      default:
        return FakeReply::answer(R"({"matches": []})");
    }
  });
  const auto out = judge_groups(groups(), options(server), {});
  EXPECT_TRUE(out[0].judged);
  EXPECT_TRUE(out[0].matches.empty());
  EXPECT_FALSE(out[1].judged);
  EXPECT_THAT(out[1].failure, ::testing::HasSubstr("unusable reply"));
  // The built-in matcher's verdict: {title, typo} vs {title, misspelled}: 0.5 -> yes.
  ASSERT_EQ(out[1].matches.size(), 1u);
  EXPECT_EQ(out[1].matches[0].level, MatchLevel::yes);
  EXPECT_EQ(server.request_count(), 3u + 3u);  // 1 + max_retries attempts each

  // An endpoint that refuses connections fails over to the fallback too; no endpoint is a
  // configuration error.
  JudgeOptions refused = options(server);
  refused.endpoints = {test::refused_url()};
  refused.max_retries = 0;
  const auto down = judge_groups(groups(), refused, {});
  EXPECT_FALSE(down[0].judged);
  EXPECT_EQ(down[0].matches.size(), 1u);
  refused.endpoints.clear();
  EXPECT_THROW(judge_groups(groups(), refused, {}), Error);
}

}  // namespace
}  // namespace visrl::reward::eval
