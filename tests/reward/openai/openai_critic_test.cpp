// The openai critic against fake chat-completions servers: what it sends, how it retries,
// routes, bounds concurrency and behaves when endpoints go down. No assertion depends on the
// machine's speed: events are ordered by holding replies until a condition holds (the fake
// server's held_until), outcomes are checked by status, message and request counts, times are
// lower bounds that causality guarantees (a delay cannot end early), and the only upper
// bounds are hang guards (kHangGuardS) far above anything a loaded machine takes.
#include "reward/openai/openai_critic.h"

#include <atomic>
#include <cstdlib>
#include <future>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fake_chat_server.h"
#include "openai_test_support.h"
#include "reward/image_ops.h"
#include "reward/prompts/critic_prompts.h"

namespace visrl::reward {
namespace {

using nlohmann::json;
using test::FakeChatServer;
using test::FakeReply;
using Clock = std::chrono::steady_clock;

// An upper bound on a wait or a retry gap that only a hang (or a delay in the wrong unit, or
// an uncapped one) reaches: at least 10x anything configured in these tests. Every test
// that uses it names what the wrong behaviour would take instead (60 s or more).
constexpr double kHangGuardS = 30;
// A cooldown that outlasts every test: an endpoint marked down with it stays down.
constexpr double kLongCooldownS = 2 * kHangGuardS;

// The fake servers are local: a proxy configured in the environment must not be used.
const bool kNoProxy = ::setenv("no_proxy", "127.0.0.1", 1) == 0 && ::setenv("NO_PROXY", "127.0.0.1", 1) == 0;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double gap_s(const test::RecordedRequest& a, const test::RecordedRequest& b) {
  return std::chrono::duration<double>(b.received - a.received).count();
}

// Fast settings: small delays, one endpoint per server. The request timeout is a hang guard
// (a local answer never takes that long); the tests of timeouts set their own.
OpenAiCriticOptions fast_options(const std::vector<const FakeChatServer*>& servers) {
  OpenAiCriticOptions o;
  for (const auto* s : servers) o.endpoints.push_back(s->base_url());
  o.timeout_s = 60;
  o.max_retries = 2;
  o.max_concurrency = 8;
  o.backoff_s = 0.01;
  o.max_backoff_s = 0.05;
  o.cooldown_s = 0.1;
  o.when_all_down = WhenAllDown::fail_items;
  return o;
}

FakeChatServer::Script always(FakeReply reply) {
  return [reply](size_t, const test::RecordedRequest&) { return reply; };
}

// Owns the images the items point to.
struct Batch {
  std::vector<std::unique_ptr<render::RgbImage>> images;
  std::vector<CriticItem> items;

  const render::RgbImage* keep(render::RgbImage image) {
    images.push_back(std::make_unique<render::RgbImage>(std::move(image)));
    return images.back().get();
  }
  void add(Task task, render::RgbImage reference, std::optional<render::RgbImage> rendered) {
    CriticItem item;
    item.id = fmt::format("item{}", items.size());
    item.task = task;
    item.reference = keep(std::move(reference));
    if (rendered) item.rendered = keep(std::move(*rendered));
    items.push_back(std::move(item));
  }
};

// n chart items; the reference of item i is 10 + i pixels wide, so a server can tell them apart.
Batch chart_batch(size_t n) {
  Batch b;
  for (size_t i = 0; i < n; ++i)
    b.add(Task::chart, test::pattern_image(10 + static_cast<int>(i), 8, static_cast<int>(i)),
          test::pattern_image(9, 9));
  return b;
}

int reference_width(const test::RecordedRequest& request) {
  const json body = json::parse(request.body);
  return test::decode_png_data_url(body["messages"][0]["content"][0]["image_url"]["url"]).width;
}

TEST(OpenAiCritic, SendsBothImagesDownscaledThePromptAndTheTaskSampling) {
  ASSERT_TRUE(kNoProxy);
  FakeChatServer server([](size_t, const test::RecordedRequest& r) {
    return FakeReply::answer(r.body.find("\"repetition_penalty\"") != std::string::npos ? test::kTableCritique
                                                                                        : test::kChartCritique);
  });
  OpenAiCriticOptions o = fast_options({&server});
  o.model = "visual-erm-8b";
  o.max_concurrency = 1;  // requests arrive in item order
  OpenAiCritic critic(o);
  Batch b;
  b.add(Task::chart, test::pattern_image(1100, 550, 1), test::pattern_image(900, 900, 2));
  b.add(Task::table, test::pattern_image(1000, 500, 3), test::pattern_image(900, 900, 4));
  const auto results = critic.score(b.items);

  ASSERT_EQ(results.size(), 2u);
  ASSERT_EQ(results[0].status, CriticStatus::scored) << results[0].message;
  ASSERT_EQ(results[0].errors.size(), 1u);
  EXPECT_EQ(results[0].errors[0].category, "data_error");
  EXPECT_EQ(results[0].errors[0].severity, 2);
  EXPECT_EQ(results[0].raw_text, test::kChartCritique);
  EXPECT_EQ(results[0].attempts, 1);
  EXPECT_GT(results[0].latency_ms, 0.0);
  ASSERT_EQ(results[1].status, CriticStatus::scored) << results[1].message;
  ASSERT_EQ(results[1].errors.size(), 1u);
  EXPECT_EQ(results[1].errors[0].category, "numeric_error");

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  const CriticPrompts prompts = CriticPrompts::builtin();
  // {reference side, rendered side} per task: chart 1024, table 768.
  const int expect[2][4] = {{1024, 512, 900, 900}, {768, 384, 768, 768}};
  for (size_t i = 0; i < 2; ++i) {
    const auto& r = requests[i];
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/v1/chat/completions");
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    EXPECT_EQ(r.headers.count("authorization"), 0u);
    const json body = json::parse(r.body);
    EXPECT_EQ(body["model"], "visual-erm-8b");
    const json& parts = body["messages"][0]["content"];
    ASSERT_EQ(parts.size(), 3u);
    const render::RgbImage ref = test::decode_png_data_url(parts[0]["image_url"]["url"]);
    const render::RgbImage ren = test::decode_png_data_url(parts[1]["image_url"]["url"]);
    EXPECT_EQ(ref.width, expect[i][0]);
    EXPECT_EQ(ref.height, expect[i][1]);
    EXPECT_EQ(ren.width, expect[i][2]);
    EXPECT_EQ(ren.height, expect[i][3]);
    EXPECT_EQ(ref.rgb, downscale_to_max_side(*b.items[i].reference, expect[i][0]).rgb);
    EXPECT_EQ(ren.rgb, downscale_to_max_side(*b.items[i].rendered, expect[i][2]).rgb);
    EXPECT_EQ(parts[2]["text"], prompts.for_task(b.items[i].task));
    EXPECT_EQ(body["max_tokens"], 4096);
  }
  const json chart = json::parse(requests[0].body), table = json::parse(requests[1].body);
  EXPECT_DOUBLE_EQ(chart["temperature"].get<double>(), 0.7);
  EXPECT_DOUBLE_EQ(chart["top_p"].get<double>(), 0.8);
  EXPECT_EQ(chart["top_k"], 20);
  EXPECT_DOUBLE_EQ(chart["presence_penalty"].get<double>(), 1.5);
  EXPECT_FALSE(chart.contains("repetition_penalty"));
  EXPECT_DOUBLE_EQ(table["temperature"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(table["repetition_penalty"].get<double>(), 1.05);
  EXPECT_FALSE(table.contains("top_k"));
}

TEST(OpenAiCritic, ConfiguredImageSideAndAnswerLengthOverrideTheTask) {
  FakeChatServer server(always(FakeReply::answer(test::kNoErrors)));
  OpenAiCriticOptions o = fast_options({&server});
  o.max_image_side = 64;
  o.max_new_tokens = 300;
  o.endpoints[0] += "/";  // a trailing slash is tolerated
  OpenAiCritic critic(o);
  Batch b;
  b.add(Task::svg, test::pattern_image(200, 100), test::pattern_image(100, 200));
  ASSERT_EQ(critic.score(b.items)[0].status, CriticStatus::scored);
  const auto r = server.requests().at(0);
  EXPECT_EQ(r.path, "/v1/chat/completions");
  const json body = json::parse(r.body);
  EXPECT_EQ(body["max_tokens"], 300);
  const auto ref = test::decode_png_data_url(body["messages"][0]["content"][0]["image_url"]["url"]);
  const auto ren = test::decode_png_data_url(body["messages"][0]["content"][1]["image_url"]["url"]);
  EXPECT_EQ(std::make_pair(ref.width, ref.height), std::make_pair(64, 32));
  EXPECT_EQ(std::make_pair(ren.width, ren.height), std::make_pair(32, 64));
}

TEST(OpenAiCritic, SharedReferencesAreSentRightForEachItem) {
  FakeChatServer server(always(FakeReply::answer(test::kNoErrors)));
  OpenAiCritic critic(fast_options({&server}));
  // Items 0, 2 and 3 share one reference (3 is a table item: 768 px side, not 1024).
  const render::RgbImage shared = test::pattern_image(1000, 40, 1), other = test::pattern_image(30, 20, 2);
  std::vector<render::RgbImage> renders;
  for (int i = 0; i < 4; ++i) renders.push_back(test::pattern_image(5 + i, 5));
  const Task tasks[4] = {Task::chart, Task::chart, Task::chart, Task::table};
  const render::RgbImage* refs[4] = {&shared, &other, &shared, &shared};
  std::vector<CriticItem> items(4);
  for (int i = 0; i < 4; ++i) {
    items[i].id = fmt::format("item{}", i);
    items[i].task = tasks[i];
    items[i].reference = refs[i];
    items[i].rendered = &renders[i];
  }
  critic.score(items);
  ASSERT_EQ(server.request_count(), 4u);
  for (const auto& r : server.requests()) {
    const json parts = json::parse(r.body)["messages"][0]["content"];
    const int i = test::decode_png_data_url(parts[1]["image_url"]["url"]).width - 5;
    ASSERT_TRUE(i >= 0 && i < 4);
    const render::RgbImage ref = test::decode_png_data_url(parts[0]["image_url"]["url"]);
    const int side = tasks[i] == Task::table ? 768 : 1024;
    EXPECT_EQ(ref.rgb, downscale_to_max_side(*refs[i], side).rgb) << "item " << i;
  }
}

TEST(OpenAiCritic, ItemsWithoutARenderAreNotSentAndOrderIsKept) {
  // Two requests in flight at most: items 0 and 2 go out together, item 3 once one of them
  // has ended. Item 0's answer is held until item 3's request arrives (then 200 ms more), so
  // item 2 surely ends first: completion order differs from input order on any machine.
  auto item3_sent = std::make_shared<std::atomic<bool>>(false);
  FakeChatServer server([item3_sent](size_t, const test::RecordedRequest& r) {
    const int width = reference_width(r);
    if (width == 13) *item3_sent = true;
    return width == 10
               ? FakeReply::answer(test::kChartCritique, 200).held_until([item3_sent] { return item3_sent->load(); })
               : FakeReply::answer(R"({"errors": []})");
  });
  OpenAiCriticOptions o = fast_options({&server});
  o.max_concurrency = 2;
  OpenAiCritic critic(o);
  Batch b;
  b.add(Task::chart, test::pattern_image(10, 8), test::pattern_image(9, 9));
  b.add(Task::chart, test::pattern_image(11, 8), std::nullopt);
  b.add(Task::chart, test::pattern_image(12, 8), test::pattern_image(9, 9));
  b.add(Task::chart, test::pattern_image(13, 8), test::pattern_image(9, 9));
  const auto results = critic.score(b.items);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].status, CriticStatus::scored) << results[0].message;
  EXPECT_EQ(results[0].errors.size(), 1u);
  EXPECT_EQ(results[1].status, CriticStatus::not_scored);
  EXPECT_EQ(results[1].attempts, 0);
  EXPECT_EQ(results[2].status, CriticStatus::scored);
  EXPECT_TRUE(results[2].errors.empty());
  EXPECT_EQ(results[3].status, CriticStatus::scored);
  EXPECT_TRUE(results[3].errors.empty());
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_EQ(server.holds_expired(), 0u) << "item 3 was never sent while item 0 was in flight";
  // Latency runs from an item's first request to its end: item 0 was held at least 200 ms,
  // and items 0 and 2 went out together while item 2 ended before item 3 was even sent.
  EXPECT_GE(results[0].latency_ms, 200.0);
  EXPECT_LT(results[2].latency_ms, results[0].latency_ms);
  EXPECT_GT(results[3].latency_ms, 0.0);
  EXPECT_TRUE(critic.score({}).empty());
}

TEST(OpenAiCritic, MalformedImagesAreNotSent) {
  FakeChatServer server(always(FakeReply::answer(test::kChartCritique)));
  OpenAiCritic critic(fast_options({&server}));
  Batch b;
  b.add(Task::chart, test::pattern_image(10, 8), test::pattern_image(9, 9));
  b.images.back()->rgb.resize(5);
  const auto results = critic.score(b.items);
  EXPECT_EQ(results[0].status, CriticStatus::not_scored);
  EXPECT_NE(results[0].message.find("item0: the rendered image is 9x9 with 5 bytes"), std::string::npos);
  EXPECT_EQ(server.request_count(), 0u);
}

TEST(OpenAiCritic, AlwaysFailingServerGetsExactlyOnePlusMaxRetriesRequests) {
  FakeChatServer server(always(FakeReply::error(500, "CUDA out of memory")));
  OpenAiCriticOptions o = fast_options({&server});
  o.max_retries = 2;
  o.mark_down_after = 10;
  OpenAiCritic critic(o);
  Batch b = chart_batch(1);
  const auto r = critic.score(b.items).at(0);
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(r.status, CriticStatus::unavailable);
  EXPECT_NE(r.message.find("HTTP 500 from " + server.base_url() + "/chat/completions: CUDA out of memory"),
            std::string::npos)
      << r.message;
}

struct FaultCase {
  const char* name;
  FakeReply reply;
};

void PrintTo(const FaultCase& c, std::ostream* os) {
  *os << c.name;
}

class EveryRetryableFault : public ::testing::TestWithParam<FaultCase> {};

TEST_P(EveryRetryableFault, IsRetriedExactlyMaxRetriesTimes) {
  test::LogCapture log;
  FakeChatServer server(always(GetParam().reply));
  OpenAiCriticOptions o = fast_options({&server});
  o.max_retries = 1;
  o.mark_down_after = 10;
  OpenAiCritic critic(o);
  Batch b = chart_batch(1);
  const auto r = critic.score(b.items).at(0);
  EXPECT_EQ(server.request_count(), 2u);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(r.status, CriticStatus::unavailable);
  EXPECT_FALSE(r.message.empty());
  // Each request ended on the fault itself, not on the request timeout (60 s).
  EXPECT_EQ(log.text().find("no answer within"), std::string::npos) << log.text();
}

INSTANTIATE_TEST_SUITE_P(
    Faults, EveryRetryableFault,
    ::testing::Values(FaultCase{"http500", FakeReply::error(500, "boom")},
                      FaultCase{"http502", FakeReply::raw(502, "<html>Bad Gateway</html>")},
                      FaultCase{"http503", FakeReply::error(503, "overloaded")},
                      FaultCase{"http429", FakeReply::rate_limited(std::nullopt)},
                      FaultCase{"truncated", FakeReply::truncated()}, FaultCase{"dropped", FakeReply::drop()},
                      FaultCase{"not_json", FakeReply::raw(200, "<html>hello</html>")},
                      FaultCase{"no_choices", FakeReply::raw(200, R"({"object": "list", "data": []})")}),
    [](const ::testing::TestParamInfo<FaultCase>& p) { return std::string(p.param.name); });

TEST(OpenAiCritic, RecoversFromEachKindOfTransientFault) {
  const std::vector<FakeReply> script = {FakeReply::error(503, "loading"),
                                         FakeReply::truncated(),
                                         FakeReply::drop(),
                                         FakeReply::raw(200, "not json"),
                                         FakeReply::rate_limited(std::nullopt),
                                         FakeReply::answer_parts(test::kChartCritique)};
  FakeChatServer server(
      [&](size_t i, const test::RecordedRequest&) { return script.at(std::min(i, script.size() - 1)); });
  OpenAiCriticOptions o = fast_options({&server});
  o.max_retries = 5;
  o.mark_down_after = 10;
  OpenAiCritic critic(o);
  Batch b = chart_batch(1);
  const auto r = critic.score(b.items).at(0);
  ASSERT_EQ(r.status, CriticStatus::scored) << r.message;
  EXPECT_EQ(r.attempts, 6);
  EXPECT_EQ(server.request_count(), 6u);
  EXPECT_EQ(r.raw_text, test::kChartCritique);  // content given as a list of text parts
}

TEST(OpenAiCritic, BackoffDelaysAreRespected) {
  FakeChatServer server(always(FakeReply::error(500, "boom")));
  OpenAiCriticOptions o = fast_options({&server});
  o.max_retries = 3;
  o.backoff_s = 0.1;
  o.max_backoff_s = 0.3;  // delays d = 0.1, 0.2, 0.3 (capped), each jittered in [d/2, d]
  o.mark_down_after = 10;
  OpenAiCritic critic(o);
  Batch b = chart_batch(1);
  critic.score(b.items);
  const auto r = server.requests();
  ASSERT_EQ(r.size(), 4u);
  // Lower bounds: a retry cannot be sent before its delay has passed. The upper bound is a
  // hang guard only (a delay in the wrong unit would be 100 s or more).
  const double lower[3] = {0.05, 0.1, 0.15};
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_GE(gap_s(r[k], r[k + 1]), lower[k] - 0.005) << "retry " << k;
    EXPECT_LT(gap_s(r[k], r[k + 1]), kHangGuardS) << "retry " << k;
  }
}

// The gap between a 429 and the retry after `retry_after`, with max_backoff_s `cap`.
double retry_after_gap_s(const std::string& retry_after, double cap) {
  FakeChatServer server([retry_after](size_t i, const test::RecordedRequest&) {
    return i == 0 ? FakeReply::rate_limited(retry_after) : FakeReply::answer(test::kChartCritique);
  });
  OpenAiCriticOptions o = fast_options({&server});
  o.backoff_s = 0.01;
  o.max_backoff_s = cap;
  OpenAiCritic critic(o);
  Batch b = chart_batch(1);
  const auto r = critic.score(b.items).at(0);
  EXPECT_EQ(r.status, CriticStatus::scored) << r.message;
  const auto req = server.requests();
  EXPECT_EQ(req.size(), 2u);
  return req.size() == 2 ? gap_s(req[0], req[1]) : -1;
}

// The exact delays (Retry-After replaces the backoff, capped) are Backoff's unit test
// (openai_parts_test.cpp); here the critic waits them out. Lower bounds hold on any machine;
// each upper bound is the hang guard, far below what the wrong behaviour would wait.
TEST(OpenAiCritic, RetryAfterIsHonouredAndCapped) {
  // Retry-After: 1 replaces the 10 ms backoff, and the cap (60 s) is not waited instead.
  const double honoured = retry_after_gap_s("1", 2 * kHangGuardS);
  EXPECT_GE(honoured, 0.99);
  EXPECT_LT(honoured, kHangGuardS);
  // Retry-After: 3600 is capped at max_backoff_s (1.2 s), not waited for an hour.
  const double capped = retry_after_gap_s("3600", 1.2);
  EXPECT_GE(capped, 1.19);
  EXPECT_LT(capped, kHangGuardS);
}

TEST(OpenAiCritic, ClientErrorsAreNotRetried) {
  FakeChatServer server(always(FakeReply::error(400, "The model `Visual-ERM` does not exist.")));
  OpenAiCritic critic(fast_options({&server}));
  Batch b = chart_batch(1);
  const auto r = critic.score(b.items).at(0);
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_EQ(r.attempts, 1);
  EXPECT_EQ(r.status, CriticStatus::unavailable);
  EXPECT_NE(r.message.find("HTTP 400"), std::string::npos);
  EXPECT_NE(r.message.find("The model `Visual-ERM` does not exist."), std::string::npos) << r.message;
  EXPECT_EQ(critic.endpoint_health()[0].state, EndpointState::up);
}

TEST(OpenAiCritic, TimeoutIsHonoured) {
  // The answer is held until the client gives up on it: only the timeout can end the request.
  FakeChatServer server(always(FakeReply::answer(test::kChartCritique).held_forever()));
  OpenAiCriticOptions o = fast_options({&server});
  o.timeout_s = 0.3;
  o.max_retries = 0;
  OpenAiCritic critic(o);
  Batch b = chart_batch(1);
  const auto start = Clock::now();
  const auto r = critic.score(b.items).at(0);
  const double elapsed = seconds_since(start);
  EXPECT_EQ(r.status, CriticStatus::unavailable);
  EXPECT_NE(r.message.find("no answer within 0.3 s"), std::string::npos) << r.message;
  EXPECT_TRUE(test::wait_for([&] { return server.abandoned_count() == 1; }))
      << "the timed-out request's connection was not closed";
  EXPECT_EQ(server.holds_expired(), 0u);
  // Not before the timeout; the upper bound is a hang guard (100x the timeout; the held
  // answer would only have come after 60 s).
  EXPECT_GE(elapsed, 0.29);
  EXPECT_GE(r.latency_ms, 290.0);
  EXPECT_LT(elapsed, kHangGuardS);
}

TEST(OpenAiCritic, UnparseableAnswerIsAskedAgain) {
  FakeChatServer server([](size_t i, const test::RecordedRequest&) {
    return FakeReply::answer(i == 0 ? test::kNotACritique : test::kChartCritique);
  });
  OpenAiCritic critic(fast_options({&server}));
  Batch b = chart_batch(1);
  const auto r = critic.score(b.items).at(0);
  ASSERT_EQ(r.status, CriticStatus::scored) << r.message;
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(server.request_count(), 2u);
}

TEST(OpenAiCritic, ParseFailureAfterParseRetriesKeepsTheLastAnswer) {
  FakeChatServer server([](size_t i, const test::RecordedRequest&) {
    return FakeReply::answer(fmt::format("{} (try {})", test::kNotACritique, i));
  });
  OpenAiCriticOptions o = fast_options({&server});
  o.parse_retries = 3;
  OpenAiCritic critic(o);
  Batch b = chart_batch(1);
  const auto r = critic.score(b.items).at(0);
  EXPECT_EQ(r.status, CriticStatus::parse_failure);
  EXPECT_EQ(r.attempts, 3);
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_EQ(r.raw_text, fmt::format("{} (try 2)", test::kNotACritique));
  EXPECT_EQ(r.parse.status, ParseStatus::failed);
  EXPECT_TRUE(r.errors.empty());
  EXPECT_NE(r.message.find("3 calls"), std::string::npos) << r.message;
}

TEST(OpenAiCritic, RoutesItemIToEndpointIModN) {
  FakeChatServer s0(always(FakeReply::answer(test::kChartCritique))),
      s1(always(FakeReply::answer(test::kChartCritique))), s2(always(FakeReply::answer(test::kChartCritique)));
  OpenAiCritic critic(fast_options({&s0, &s1, &s2}));
  Batch b = chart_batch(7);
  for (const auto& r : critic.score(b.items)) EXPECT_EQ(r.status, CriticStatus::scored) << r.message;
  const FakeChatServer* servers[3] = {&s0, &s1, &s2};
  for (int k = 0; k < 3; ++k) {
    std::multiset<int> got, want;
    for (const auto& r : servers[k]->requests()) got.insert(reference_width(r) - 10);
    for (int i = k; i < 7; i += 3) want.insert(i);
    EXPECT_EQ(got, want) << "server " << k;
  }
}

TEST(OpenAiCritic, FailedRequestIsRetriedOnTheNextEndpoint) {
  FakeChatServer good(always(FakeReply::answer(test::kChartCritique))), bad(always(FakeReply::error(500, "boom")));
  OpenAiCriticOptions o = fast_options({&good, &bad});
  o.mark_down_after = 10;
  OpenAiCritic critic(o);
  Batch b = chart_batch(2);
  const auto results = critic.score(b.items);
  EXPECT_EQ(results[0].status, CriticStatus::scored);
  EXPECT_EQ(results[0].attempts, 1);
  EXPECT_EQ(results[1].status, CriticStatus::scored);
  EXPECT_EQ(results[1].attempts, 2);
  ASSERT_EQ(bad.request_count(), 1u);
  EXPECT_EQ(reference_width(bad.requests()[0]), 11);
  std::multiset<int> on_good;
  for (const auto& r : good.requests()) on_good.insert(reference_width(r));
  EXPECT_EQ(on_good, (std::multiset<int>{10, 11}));
}

TEST(OpenAiCritic, DownEndpointIsAvoidedThenProbedAgain) {
  test::LogCapture log;
  FakeChatServer a(always(FakeReply::answer(test::kChartCritique))), b(always(FakeReply::drop()));
  const auto options = [&](double cooldown_s) {
    OpenAiCriticOptions o = fast_options({&a, &b});
    o.mark_down_after = 2;
    o.cooldown_s = cooldown_s;
    o.max_backoff_s = 2;
    o.backoff_s = 0.01;
    return o;
  };
  Batch batch = chart_batch(4);
  const auto expect_all_scored = [](const std::vector<CriticResult>& results) {
    for (const auto& r : results) EXPECT_EQ(r.status, CriticStatus::scored) << r.message;
  };

  {
    // A cooldown that outlasts the test: whatever the machine's speed, the second step runs
    // while b is still down.
    OpenAiCritic critic(options(kLongCooldownS));
    // Items 1 and 3 go to b, fail there, b goes down, and they are retried on a.
    expect_all_scored(critic.score(batch.items));
    EXPECT_EQ(b.request_count(), 2u);
    EXPECT_EQ(a.request_count(), 4u);
    EXPECT_EQ(critic.endpoint_health()[1].state, EndpointState::down);
    // During the cooldown everything goes to a.
    expect_all_scored(critic.score(batch.items));
    EXPECT_EQ(b.request_count(), 2u);
    EXPECT_EQ(a.request_count(), 8u);
    EXPECT_EQ(critic.endpoint_health()[1].state, EndpointState::down);
  }

  // After its cooldown, b is probed by one real request; it works again and takes its share.
  constexpr double kCooldownS = 0.3;
  OpenAiCritic critic(options(kCooldownS));
  expect_all_scored(critic.score(batch.items));  // b fails items 1 and 3 and goes down again
  const auto marked_down = Clock::now();         // b went down before score() returned
  EXPECT_EQ(b.request_count(), 4u);
  ASSERT_EQ(critic.endpoint_health()[1].state, EndpointState::down);
  b.set_script(always(FakeReply::answer(test::kChartCritique)));
  // The cooldown is a span of time, nothing else to observe: it has surely run out once that
  // long has passed since score() returned (however slowly the machine got there).
  std::this_thread::sleep_until(marked_down + std::chrono::duration<double>(kCooldownS));
  expect_all_scored(critic.score(batch.items));
  EXPECT_EQ(b.request_count(), 5u);  // the probe (item 1); item 3 did not wait for it
  EXPECT_EQ(critic.endpoint_health()[1].state, EndpointState::up);
  critic.score(batch.items);
  EXPECT_EQ(b.request_count(), 7u);

  const std::string text = log.text();
  EXPECT_NE(text.find(b.base_url() + "/chat/completions: down after 2 consecutive failures"), std::string::npos)
      << text;
  EXPECT_NE(text.find(b.base_url() + "/chat/completions: back up"), std::string::npos) << text;
}

TEST(OpenAiCritic, AllDownFailItemsMarksTheRestUnavailable) {
  FakeChatServer server(always(FakeReply::drop()));
  OpenAiCriticOptions o = fast_options({&server});
  o.max_retries = 3;
  // The three first requests go out together (three slots); the first failure takes the only
  // endpoint down, for longer than the test, so that every retry finds it down whenever it
  // comes (with mark_down_after 2, a retry could beat the second failure on a slow machine).
  o.mark_down_after = 1;
  o.cooldown_s = kLongCooldownS;
  o.max_concurrency = 3;
  OpenAiCritic critic(o);
  Batch b = chart_batch(3);
  const auto start = Clock::now();
  auto results = critic.score(b.items);
  // A hang guard: fail_items does not wait for the endpoint's cooldown (60 s).
  EXPECT_LT(seconds_since(start), kHangGuardS);
  for (const auto& r : results) {
    EXPECT_EQ(r.status, CriticStatus::unavailable);
    EXPECT_NE(r.message.find("every critic endpoint is down (when_all_down: fail_items)"), std::string::npos)
        << r.message;
  }
  EXPECT_EQ(server.request_count(), 3u);  // the retries found every endpoint down
  // The next step fails at once, without a request, while the cooldown runs.
  results = critic.score(b.items);
  for (const auto& r : results) {
    EXPECT_EQ(r.status, CriticStatus::unavailable);
    EXPECT_EQ(r.attempts, 0);
  }
  EXPECT_EQ(server.request_count(), 3u);
}

TEST(OpenAiCritic, AllDownSkipStepThrowsAndStopsRequestsInFlight) {
  FakeChatServer server([](size_t i, const test::RecordedRequest&) {
    return i == 0 ? FakeReply::answer(test::kChartCritique).held_forever() : FakeReply::drop();
  });
  OpenAiCriticOptions o = fast_options({&server});
  o.when_all_down = WhenAllDown::skip_step;
  o.max_retries = 0;
  o.max_concurrency = 3;
  OpenAiCritic wide(o);
  Batch b = chart_batch(3);
  // The first request to arrive is held until the client gives up on it; the two others are
  // dropped, which leaves no endpoint that connects.
  const auto start = Clock::now();
  try {
    wide.score(b.items);
    ADD_FAILURE() << "expected CriticUnavailable";
  } catch (const CriticUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("every critic endpoint is unreachable"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("skip_step"), std::string::npos) << e.what();
  }
  // The held request was stopped (its connection closed), not waited for.
  EXPECT_TRUE(test::wait_for([&] { return server.abandoned_count() == 1; })) << "the request in flight was not stopped";
  EXPECT_EQ(server.holds_expired(), 0u);
  EXPECT_LT(seconds_since(start), kHangGuardS);  // a hang guard: the held answer would take 60 s
  // The critic is still usable afterwards: two failures did not take the endpoint down.
  EXPECT_EQ(wide.endpoint_health()[0].state, EndpointState::up);
  server.set_script(always(FakeReply::answer(test::kChartCritique)));
  for (const auto& r : wide.score(b.items)) EXPECT_EQ(r.status, CriticStatus::scored) << r.message;
}

TEST(OpenAiCritic, AllDownSkipStepThrowsWhenEveryEndpointIsMarkedDown) {
  OpenAiCriticOptions o;
  o.endpoints = {test::refused_url(), test::refused_url()};
  o.max_retries = 5;
  o.backoff_s = 0.01;
  o.max_backoff_s = 0.05;
  o.cooldown_s = kLongCooldownS;
  o.mark_down_after = 1;
  o.when_all_down = WhenAllDown::skip_step;
  OpenAiCritic critic(o);
  Batch b = chart_batch(4);
  const auto start = Clock::now();
  EXPECT_THROW(critic.score(b.items), CriticUnavailable);
  EXPECT_LT(seconds_since(start), kHangGuardS);  // a hang guard: no waiting out the 60 s cooldown
  EXPECT_EQ(critic.endpoint_health()[0].state, EndpointState::down);
  EXPECT_EQ(critic.endpoint_health()[1].state, EndpointState::down);
}

TEST(OpenAiCritic, WaitGivesUpAfterWaitMax) {
  test::LogCapture log;
  OpenAiCriticOptions o;
  o.endpoints = {test::refused_url()};
  o.max_retries = 1;
  o.backoff_s = 0.05;
  o.max_backoff_s = 0.2;
  o.cooldown_s = 0.1;
  o.mark_down_after = 2;
  o.when_all_down = WhenAllDown::wait;
  o.wait_max_s = 1.0;
  OpenAiCritic critic(o);
  Batch b = chart_batch(2);
  const auto start = Clock::now();
  std::string message;
  try {
    critic.score(b.items);
  } catch (const CriticUnavailable& e) {
    message = e.what();
  }
  const double elapsed = seconds_since(start);
  EXPECT_NE(message.find("wait_max_s: 1"), std::string::npos) << message;
  EXPECT_GE(elapsed, 1.0);  // not before wait_max_s
  // A hang guard: a critic that ignored wait_max_s would wait for ever.
  EXPECT_LT(elapsed, kHangGuardS);
  // A warning per round of waiting (the first, then one after each probe), not one per loop
  // turn, however many probes the machine's speed allowed.
  const std::string text = log.text();
  const size_t warnings = test::count_of(text, "is down; waiting");
  const size_t probes = test::count_of(text, "probing after a");
  EXPECT_GE(warnings, 1u) << text;
  EXPECT_LE(warnings, probes + 1) << text;
}

TEST(OpenAiCritic, WaitRecoversWhenTheServerComesBack) {
  test::LogCapture log;
  FakeChatServer server(always(FakeReply::answer(test::kChartCritique)));
  server.stop_listening();  // connections are refused until it listens again
  OpenAiCriticOptions o = fast_options({&server});
  o.max_retries = 1;
  o.backoff_s = 0.05;
  o.max_backoff_s = 0.2;
  o.cooldown_s = 0.1;
  o.mark_down_after = 2;
  o.when_all_down = WhenAllDown::wait;
  OpenAiCritic critic(o);
  Batch b = chart_batch(3);
  auto future = std::async(std::launch::async, [&] { return critic.score(b.items); });
  // However the test leaves, the server listens again so that the critic can finish.
  struct Relisten {
    FakeChatServer& server;
    ~Relisten() { server.start_listening(); }
  } relisten{server};
  // The critic says it waits, and waits through failed probes of the refused endpoint.
  EXPECT_TRUE(test::wait_for([&] {
    const std::string text = log.text();
    return test::count_of(text, "is down; waiting") >= 1 && test::count_of(text, "still down") >= 2;
  })) << "the critic did not wait through two failed probes:\n"
      << log.text();
  EXPECT_EQ(future.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout) << "gave up instead of waiting";
  server.start_listening();
  ASSERT_EQ(future.wait_for(test::kConditionWait), std::future_status::ready)
      << "did not recover within " << test::kConditionWait.count() << " s of the server listening again";
  const auto results = future.get();
  for (const auto& r : results) EXPECT_EQ(r.status, CriticStatus::scored) << r.message;
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_NE(log.text().find("is down; waiting"), std::string::npos);
  EXPECT_NE(log.text().find("back up"), std::string::npos);
}

TEST(OpenAiCritic, ConcurrencyIsBoundedAcrossEndpoints) {
  auto meter = std::make_shared<test::ConcurrencyMeter>();
  // Every answer waits until three requests have been in flight at once (which the critic
  // must reach, or the holds expire), then 150 ms more.
  const FakeReply reply =
      FakeReply::answer(test::kChartCritique, 150).held_until([meter] { return meter->max_seen.load() >= 3; });
  FakeChatServer a(always(reply), meter), b(always(reply), meter);
  OpenAiCriticOptions o = fast_options({&a, &b});
  o.max_concurrency = 3;
  OpenAiCritic critic(o);
  Batch batch = chart_batch(9);
  const auto start = Clock::now();
  for (const auto& r : critic.score(batch.items)) EXPECT_EQ(r.status, CriticStatus::scored) << r.message;
  EXPECT_EQ(a.request_count() + b.request_count(), 9u);
  EXPECT_EQ(a.holds_expired() + b.holds_expired(), 0u) << "three requests were never in flight at once";
  EXPECT_EQ(meter->max_seen.load(), 3);
  EXPECT_GE(seconds_since(start), 3 * 0.15 - 0.01);  // 9 requests, 3 at a time, 150 ms each: a lower bound
}

TEST(OpenAiCritic, ApiKeyGoesInTheHeaderAndNowhereElse) {
  const std::string key = "sk-visrl-test-8f3a1c";
  ::setenv("VISRL_TEST_CRITIC_KEY", key.c_str(), 1);
  test::LogCapture log;
  // The server echoes the key back in its error messages, as some proxies do.
  FakeChatServer server([&](size_t i, const test::RecordedRequest&) {
    if (i == 0) return FakeReply::error(500, "upstream rejected Bearer " + key);
    if (i == 1) return FakeReply::drop();
    if (i == 2) return FakeReply::answer(test::kChartCritique);
    return FakeReply::error(401, "invalid api key " + key);
  });
  OpenAiCriticOptions o = fast_options({&server});
  o.api_key_env = "VISRL_TEST_CRITIC_KEY";
  o.max_retries = 2;
  OpenAiCritic critic(o);
  ::unsetenv("VISRL_TEST_CRITIC_KEY");  // read once, at construction
  Batch b = chart_batch(1);
  const auto first = critic.score(b.items).at(0);   // 500, dropped, answered
  const auto second = critic.score(b.items).at(0);  // 401

  EXPECT_EQ(first.status, CriticStatus::scored) << first.message;
  EXPECT_EQ(first.attempts, 3);
  EXPECT_EQ(second.status, CriticStatus::unavailable);
  EXPECT_NE(second.message.find("invalid api key ***"), std::string::npos) << second.message;
  ASSERT_EQ(server.request_count(), 4u);
  for (const auto& r : server.requests()) EXPECT_EQ(r.headers.at("authorization"), "Bearer " + key);
  const std::string text = log.text();
  EXPECT_NE(text.find("upstream rejected Bearer ***"), std::string::npos) << text;  // the failure was logged
  EXPECT_EQ(text.find(key), std::string::npos) << text;
  EXPECT_EQ(first.message.find(key), std::string::npos);
  EXPECT_EQ(second.message.find(key), std::string::npos);
}

}  // namespace
}  // namespace visrl::reward
