// The pieces of the openai critic that need no network: PNG encoding, the wire
// format, the retry delays, endpoint health and the option checks.
#include <cstdlib>
#include <ctime>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "openai_test_support.h"
#include "reward/image_ops.h"
#include "reward/openai/backoff.h"
#include "reward/openai/chat_protocol.h"
#include "reward/openai/endpoint_pool.h"
#include "reward/openai/openai_critic.h"

namespace visrl::reward {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

TEST(EncodePng, RoundTripsThroughThePngReader) {
  const render::RgbImage image = test::pattern_image(37, 21, 5);
  const std::string png = render::encode_png(image);
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  test::TempDir dir;
  const render::RgbImage back = render::read_png(dir.write("a.png", png));
  EXPECT_EQ(back.width, 37);
  EXPECT_EQ(back.height, 21);
  EXPECT_EQ(back.rgb, image.rgb);
}

TEST(EncodePng, RejectsAnImageWhosePixelsDoNotMatchItsSize) {
  render::RgbImage bad = test::pattern_image(4, 4);
  bad.rgb.resize(10);
  EXPECT_NE(test::expected_error([&] { render::encode_png(bad); }).find("4x4 with 10 bytes"), std::string::npos);
  EXPECT_NE(test::expected_error([&] { render::encode_png(render::RgbImage{}); }).find("0x0"), std::string::npos);
}

TEST(ChatProtocol, DataUrlHoldsTheDownscaledImage) {
  const render::RgbImage image = test::pattern_image(300, 120, 1);
  const render::RgbImage decoded = test::decode_png_data_url(png_data_url(image, 100));
  const render::RgbImage expected = downscale_to_max_side(image, 100);
  EXPECT_EQ(decoded.width, 100);
  EXPECT_EQ(decoded.height, 40);
  EXPECT_EQ(decoded.rgb, expected.rgb);
}

TEST(ChatProtocol, RequestBodyHasTheImagesInOrderThenThePrompt) {
  const json body =
      json::parse(chat_request_body("m", "data:ref", "data:render", "Compare.", critic_sampling(Task::chart)));
  EXPECT_EQ(body["model"], "m");
  ASSERT_EQ(body["messages"].size(), 1u);
  EXPECT_EQ(body["messages"][0]["role"], "user");
  const json& parts = body["messages"][0]["content"];
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0]["type"], "image_url");
  EXPECT_EQ(parts[0]["image_url"]["url"], "data:ref");
  EXPECT_EQ(parts[1]["image_url"]["url"], "data:render");
  EXPECT_EQ(parts[2]["type"], "text");
  EXPECT_EQ(parts[2]["text"], "Compare.");
}

TEST(ChatProtocol, SamplingFieldsFollowTheTask) {
  const json chart = json::parse(chat_request_body("m", "a", "b", "p", critic_sampling(Task::chart, 0, 512)));
  EXPECT_EQ(chart["max_tokens"], 512);
  EXPECT_DOUBLE_EQ(chart["temperature"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(chart["top_p"].get<double>(), 0.8);
  EXPECT_EQ(chart["top_k"], 20);
  EXPECT_DOUBLE_EQ(chart["presence_penalty"].get<double>(), 1.5);
  EXPECT_FALSE(chart.contains("repetition_penalty"));

  const json table = json::parse(chat_request_body("m", "a", "b", "p", critic_sampling(Task::table)));
  EXPECT_EQ(table["max_tokens"], 4096);
  EXPECT_DOUBLE_EQ(table["temperature"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(table["repetition_penalty"].get<double>(), 1.05);
  EXPECT_FALSE(table.contains("top_k"));
}

TEST(ChatProtocol, ReadsStringAndPartsContent) {
  ChatReply r = parse_chat_reply(R"({"choices": [{"message": {"role": "assistant", "content": "hello"}}]})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.content, "hello");
  r = parse_chat_reply(
      R"({"choices": [{"message": {"content": [{"type": "text", "text": "a"}, {"type": "image_url"}, {"type": "text", "text": "b"}]}}]})");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.content, "ab");
}

TEST(ChatProtocol, NamesWhatAnUnusableBodyLacks) {
  EXPECT_EQ(parse_chat_reply("<html>502</html>").error, "the response body is not JSON");
  EXPECT_EQ(parse_chat_reply(R"({"choices": []})").error, "the response has no choices");
  EXPECT_EQ(parse_chat_reply(R"({"object": "error"})").error, "the response has no choices");
  EXPECT_EQ(parse_chat_reply(R"({"choices": [{"text": "x"}]})").error, "choices[0] has no message");
  EXPECT_EQ(parse_chat_reply(R"({"choices": [{"message": {"content": null}}]})").error,
            "choices[0].message has no content");
  EXPECT_FALSE(parse_chat_reply(R"({"choices": [{"message": {"content": 3}}]})").ok);
}

TEST(ChatProtocol, ServerMessagesOfCommonServers) {
  EXPECT_EQ(server_message(R"({"error": {"message": "image too large", "code": 400}})"), "image too large");
  EXPECT_EQ(server_message(R"({"object": "error", "message": "The model `x` does not exist."})"),
            "The model `x` does not exist.");
  EXPECT_EQ(server_message(R"({"detail": "Not Found"})"), "Not Found");
  EXPECT_EQ(server_message("  Bad\n\n gateway \t "), "Bad gateway");
  EXPECT_EQ(server_message(std::string(1000, 'x'), 50), std::string(50, 'x'));
  // A cut inside a UTF-8 sequence leaves printable text.
  const std::string cut = server_message("ab\xc3\xa9", 3);
  EXPECT_EQ(cut.substr(0, 2), "ab");
  EXPECT_NE(cut, "ab\xc3");
}

TEST(ChatProtocol, RetryAfterSecondsAndDates) {
  EXPECT_EQ(parse_retry_after("3"), 3.0);
  EXPECT_EQ(parse_retry_after(" 12 \r\n"), 12.0);
  EXPECT_EQ(parse_retry_after("soon"), std::nullopt);
  EXPECT_EQ(parse_retry_after(""), std::nullopt);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), 0.0);  // in the past
  char future[64];
  const std::time_t before = std::time(nullptr);
  const std::time_t in_100s = before + 100;
  std::tm tm{};
  gmtime_r(&in_100s, &tm);
  std::strftime(future, sizeof future, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  const auto delta = parse_retry_after(future);
  const std::time_t after = std::time(nullptr);
  ASSERT_TRUE(delta.has_value()) << future;
  // 100 s less the whole seconds that passed while parsing (bounds, not a tolerance: the
  // machine may pause anywhere in between).
  EXPECT_LE(*delta, 100.0);
  EXPECT_GE(*delta, 100.0 - std::difftime(after, before));
}

TEST(Backoff, EqualJitterStaysWithinHalfAndFullDelayAndIsCapped) {
  Backoff b(0.5, 3.0, 7);
  for (int round = 0; round < 200; ++round)
    for (int retry = 0; retry < 6; ++retry) {
      const double d = std::min(3.0, 0.5 * (1 << retry));
      const double got = b.delay_s(retry);
      EXPECT_GE(got, d / 2);
      EXPECT_LE(got, d);
    }
  EXPECT_DOUBLE_EQ(b.capped(0), 0.5);
  EXPECT_DOUBLE_EQ(b.capped(2), 2.0);
  EXPECT_DOUBLE_EQ(b.capped(100), 3.0);
  EXPECT_DOUBLE_EQ(b.delay_s(0, 2.5), 2.5);   // Retry-After replaces the backoff
  EXPECT_DOUBLE_EQ(b.delay_s(0, 60.0), 3.0);  // but is capped
}

TEST(Backoff, SameSeedSameDelays) {
  Backoff a(1, 30, 42), b(1, 30, 42), c(1, 30, 43);
  bool differs = false;
  for (int i = 0; i < 10; ++i) {
    const double x = a.delay_s(3), y = b.delay_s(3), z = c.delay_s(3);
    EXPECT_EQ(x, y);
    differs |= x != z;
  }
  EXPECT_TRUE(differs);
}

EndpointPool three_endpoints(int64_t mark_down_after = 2) {
  return EndpointPool({"http://a", "http://b", "http://c"}, {mark_down_after, 1.0, 4.0});
}

TEST(EndpointPool, RoutesToThePreferredEndpointWhileHealthy) {
  EndpointPool pool = three_endpoints();
  const auto now = Clock::now();
  for (size_t i = 0; i < 6; ++i) {
    const auto pick = pool.pick(i % 3, now);
    ASSERT_TRUE(pick);
    EXPECT_EQ(pick->index, i % 3);
    EXPECT_FALSE(pick->probe);
  }
}

TEST(EndpointPool, DownAfterConsecutiveFailuresThenProbedAfterTheCooldown) {
  test::LogCapture log;
  EndpointPool pool = three_endpoints(2);
  const auto t0 = Clock::now();
  const EndpointPool::Pick b{1, false};
  pool.report(b, EndpointOutcome::connection_failure, "refused", t0);
  EXPECT_EQ(pool.pick(1, t0)->index, 1u);  // one failure: still routed
  pool.report(b, EndpointOutcome::alive, "", t0);
  pool.report(b, EndpointOutcome::connection_failure, "refused", t0);
  EXPECT_EQ(pool.pick(1, t0)->index, 1u);  // a success in between resets the count
  pool.report(b, EndpointOutcome::server_failure, "HTTP 500", t0);
  EXPECT_EQ(pool.health()[1].state, EndpointState::down);
  EXPECT_NE(log.text().find("http://b: down after 2 consecutive failures (HTTP 500)"), std::string::npos) << log.text();
  // Avoided during the cooldown: routed to the next endpoint.
  EXPECT_EQ(pool.pick(1, t0 + std::chrono::milliseconds(900))->index, 2u);
  // After it, one probe; a second request does not also probe.
  const auto t1 = t0 + std::chrono::milliseconds(1100);
  const auto probe = pool.pick(1, t1);
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->index, 1u);
  EXPECT_TRUE(probe->probe);
  EXPECT_EQ(pool.pick(1, t1)->index, 2u);
  // A failed probe doubles the cooldown.
  pool.report(*probe, EndpointOutcome::connection_failure, "refused", t1);
  EXPECT_EQ(pool.health()[1].cooldown_s, 2.0);
  EXPECT_EQ(pool.pick(1, t1 + std::chrono::milliseconds(1900))->index, 2u);
  const auto t2 = t1 + std::chrono::milliseconds(2100);
  const auto probe2 = pool.pick(1, t2);
  ASSERT_TRUE(probe2 && probe2->probe);
  pool.report(*probe2, EndpointOutcome::alive, "", t2);
  EXPECT_EQ(pool.health()[1].state, EndpointState::up);
  EXPECT_EQ(pool.health()[1].cooldown_s, 1.0);
  EXPECT_NE(log.text().find("http://b: back up"), std::string::npos);
}

TEST(EndpointPool, CooldownIsCappedAndAllDownIsReported) {
  EndpointPool pool({"http://a"}, {1, 1.0, 4.0});
  auto t = Clock::now();
  pool.report({0, false}, EndpointOutcome::connection_failure, "x", t);
  EXPECT_TRUE(pool.all_down());
  EXPECT_TRUE(pool.all_unreachable());
  EXPECT_FALSE(pool.pick(0, t));
  for (int i = 0; i < 5; ++i) {
    t = *pool.next_probe_at();
    const auto probe = pool.pick(0, t);
    ASSERT_TRUE(probe && probe->probe);
    EXPECT_TRUE(pool.probing());
    pool.report(*probe, EndpointOutcome::connection_failure, "x", t);
  }
  EXPECT_EQ(pool.health()[0].cooldown_s, 4.0);
  // A cancelled probe leaves the endpoint down but probe-able again.
  t = *pool.next_probe_at();
  const auto probe = pool.pick(0, t);
  pool.report(*probe, EndpointOutcome::cancelled, "", t);
  EXPECT_EQ(pool.health()[0].state, EndpointState::down);
  EXPECT_TRUE(pool.pick(0, t)->probe);
}

TEST(EndpointPool, UnreachableOnlyWhenEveryEndpointFailedToConnect) {
  EndpointPool pool({"http://a", "http://b"}, {5, 1.0, 4.0});
  const auto t = Clock::now();
  pool.report({0, false}, EndpointOutcome::connection_failure, "x", t);
  EXPECT_FALSE(pool.all_unreachable());
  pool.report({1, false}, EndpointOutcome::server_failure, "HTTP 500", t);
  EXPECT_FALSE(pool.all_unreachable());
  pool.report({1, false}, EndpointOutcome::connection_failure, "x", t);
  EXPECT_TRUE(pool.all_unreachable());
  EXPECT_FALSE(pool.all_down());
}

OpenAiCriticOptions options_for(std::vector<std::string> endpoints) {
  OpenAiCriticOptions o;
  o.endpoints = std::move(endpoints);
  return o;
}

TEST(OpenAiCriticOptions, BadOptionsNameTheKey) {
  EXPECT_NE(test::expected_error([] { OpenAiCritic c(options_for({})); }).find("reward.openai.endpoints"),
            std::string::npos);
  EXPECT_NE(test::expected_error([] {
              OpenAiCritic c(options_for({"localhost:8000/v1"}));
            }).find("reward.openai.endpoints[0]: 'localhost:8000/v1' is not an http"),
            std::string::npos);
  auto with = [](auto change) {
    OpenAiCriticOptions o = options_for({"http://127.0.0.1:1/v1"});
    change(o);
    return test::expected_error([&] { OpenAiCritic c(o); });
  };
  EXPECT_NE(with([](auto& o) { o.max_concurrency = 0; }).find("max_concurrency"), std::string::npos);
  EXPECT_NE(with([](auto& o) { o.timeout_s = 0; }).find("timeout_s"), std::string::npos);
  EXPECT_NE(with([](auto& o) { o.max_retries = -1; }).find("max_retries"), std::string::npos);
  EXPECT_NE(with([](auto& o) { o.parse_retries = 0; }).find("parse_retries"), std::string::npos);
  EXPECT_NE(with([](auto& o) { o.backoff_s = -1; }).find("backoff_s"), std::string::npos);
  EXPECT_NE(with([](auto& o) { o.prompt_dir = "/nonexistent-visrl-prompts"; }).find("chart.txt"), std::string::npos);
}

TEST(OpenAiCriticOptions, MissingKeyVariableIsNamed) {
  ::unsetenv("VISRL_TEST_UNSET_KEY");
  OpenAiCriticOptions o = options_for({"http://127.0.0.1:1/v1"});
  o.api_key_env = "VISRL_TEST_UNSET_KEY";
  const std::string message = test::expected_error([&] { OpenAiCritic c(o); });
  EXPECT_NE(message.find("environment variable VISRL_TEST_UNSET_KEY is not set"), std::string::npos) << message;
}

TEST(OpenAiCriticOptions, WhenAllDownNames) {
  for (WhenAllDown p : {WhenAllDown::wait, WhenAllDown::skip_step, WhenAllDown::fail_items})
    EXPECT_EQ(parse_when_all_down(to_string(p)), p);
  EXPECT_EQ(parse_when_all_down("retry"), std::nullopt);
}

}  // namespace
}  // namespace visrl::reward
