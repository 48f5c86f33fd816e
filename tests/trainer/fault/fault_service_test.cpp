// Faults of the services a step depends on, through build/bin/train with a tiny policy that was
// taught (build/bin/sft) to answer with an SVG, so that every answer is rendered and scored:
//   FaultCriticDown: the critic endpoint (a fake chat-completions server) stops listening after
//     step 2, with reward.openai.when_all_down: skip_step: the steps while it is down are skipped
//     and logged; once it listens again the run trains on and finishes.
//   FaultRenderWorkers: every render worker is SIGKILLed again and again during steps 2-4: the
//     steps finish (each within its render deadline), the pool replaces the workers, and the
//     steps after it render normally again.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/reward/openai/fake_chat_server.h"
#include "tests/support/multiprocess.h"
#include "tests/trainer/loop/svg_run.h"

namespace visrl::test {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

std::string output_of(const MultiProcessResult& r) {
  std::string all;
  for (const auto& rank : r.ranks) all += rank.out + rank.err;
  return all;
}

int64_t count_of(const nlohmann::json& m, const std::string& key) {
  return m.contains(key) ? m[key].get<int64_t>() : 0;
}

TEST(FaultCriticDown, StepsAreSkippedWhileTheEndpointIsDownThenTrainingGoesOn) {
  SvgRun run;
  // An SVG critique in the format of configs/prompts/svg.txt.
  const std::string critique =
      R"({"errors": [{"category": "shape_error", "severity": 2, "location": "the square", "description": "too small"}],)"
      R"( "counts": {"structure_error": 0, "shape_error": 1, "style_error": 0, "text_symbol_error": 0}})";
  FakeChatServer server([&](size_t, const RecordedRequest&) { return FakeReply::answer(critique); });
  const auto config = run.svg_config(fmt::format(R"(reward:
  critic: openai
  formula: released_chart_svg
  on_failure: {{no_code: formula}}
  openai:
    endpoints: [{}]
    when_all_down: skip_step
    max_retries: 1
    backoff_s: 0.05
    max_backoff_s: 0.2
    timeout_s: 10
)",
                                                 server.base_url()));
  const auto dir = run.dir / "run";
  const auto metrics = dir / "metrics.jsonl";
  // Down once step 2 is logged; up again once a skipped step is logged.
  enum { before, down, up } phase = before;
  size_t requests_when_down = 0;
  auto result = run_program_ranks(1, VISRL_TRAIN_BIN, {"--config", config.string(), "--run-dir", dir.string()},
                                  std::chrono::seconds(400), {}, [&] {
                                    const auto m = metric_lines(metrics);
                                    if (phase == before && m.size() >= 2) {
                                      server.stop_listening();
                                      requests_when_down = server.request_count();
                                      phase = down;
                                    } else if (phase == down && !m.empty() && m.back().contains("skipped")) {
                                      server.start_listening();
                                      phase = up;
                                    }
                                    return false;
                                  });
  ASSERT_TRUE(result.ok()) << result.summary();
  EXPECT_EQ(phase, up) << "no step was skipped while the endpoint was down";
  const auto m = metric_lines(metrics);
  ASSERT_EQ(m.size(), 6u);
  for (const auto& line : m)
    std::cout << fmt::format("step {}: {}\n", line["step"].dump(),
                             line.contains("skipped")
                                 ? "skipped (" + line["skipped"].get<std::string>() + ")"
                                 : fmt::format("{} answers scored", count_of(line, "critic/scored")));
  int skipped = 0;
  for (const auto& line : m) {
    if (line.contains("skipped")) {
      EXPECT_EQ(line["skipped"], "critic_unavailable");
      ++skipped;
    }
  }
  EXPECT_GE(skipped, 1);
  EXPECT_FALSE(m[0].contains("skipped"));
  // The last step was scored again (its answers all alike, it may have had nothing to update).
  EXPECT_FALSE(m[5].contains("skipped")) << "the last step was skipped too";
  EXPECT_EQ(count_of(m[5], "critic/scored"), 16) << m[5].dump();
  EXPECT_GT(server.request_count(), requests_when_down);
  EXPECT_THAT(output_of(result), HasSubstr("critic unavailable"));
  EXPECT_THAT(output_of(result), HasSubstr("the step is skipped"));
  EXPECT_TRUE(fs::exists(dir / "final/model.safetensors"));
}

// The render worker processes below this test process (the run's, in their sandboxes).
std::vector<pid_t> render_workers() {
  std::vector<pid_t> out;
  const pid_t self = ::getpid();
  for (const auto& e : fs::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(e.path() / "comm");
    std::string command;
    std::getline(comm, command);
    if (command.rfind("visrl-render", 0) != 0) continue;
    // Walk the parents up to this process.
    pid_t pid = std::stoi(name);
    for (int depth = 0; depth < 16 && pid > 1; ++depth) {
      std::ifstream stat(fs::path("/proc") / std::to_string(pid) / "stat");
      std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
      const auto close = text.rfind(')');
      if (close == std::string::npos) break;
      std::istringstream rest(text.substr(close + 2));
      char state;
      pid_t parent = 0;
      rest >> state >> parent;
      if (parent == self) {
        out.push_back(std::stoi(name));
        break;
      }
      pid = parent;
    }
  }
  return out;
}

TEST(FaultRenderWorkers, WorkersKilledAgainAndAgainDuringStepsThePoolRecovers) {
  SvgRun run;
  const auto config = run.svg_config(R"(render:
  workers: 2
  timeout_s: 5
)");
  const auto dir = run.dir / "run";
  const auto metrics = dir / "metrics.jsonl";
  int kills = 0;
  std::set<pid_t> killed;
  auto last_kill = Clock::now();
  auto result = run_program_ranks(
      1, VISRL_TRAIN_BIN, {"--config", config.string(), "--run-dir", dir.string()}, std::chrono::seconds(400), {}, [&] {
        const auto done = metric_lines(metrics).size();  // steps 2-4 are running while 1-3 are logged
        if (done < 1 || done > 3 || Clock::now() - last_kill < std::chrono::milliseconds(5)) return false;
        last_kill = Clock::now();
        for (pid_t pid : render_workers()) {
          if (::kill(pid, SIGKILL) == 0 && killed.insert(pid).second) ++kills;
        }
        return false;
      });
  ASSERT_TRUE(result.ok()) << result.summary();
  std::cout << fmt::format("{} render workers killed during steps 2-4\n", kills);
  EXPECT_GE(kills, 3);
  const auto m = metric_lines(metrics);
  ASSERT_EQ(m.size(), 6u);
  int64_t killed_renders = 0;
  for (const auto& line : m) {
    std::cout << fmt::format("step {}: {} rendered, {} cut short, {:.2f} s rendering, {} workers replaced so far\n",
                             line["step"].dump(), count_of(line, "render/ok"), count_of(line, "render/runtime_error"),
                             line["time_render_s"].get<double>(), count_of(line, "render_workers_replaced"));
    killed_renders += count_of(line, "render/runtime_error");
    // Each step's rendering ends within its deadline: 16 answers on 2 workers, 5 s each at worst.
    EXPECT_LT(line["time_render_s"].get<double>(), 16 / 2 * 5.0) << line.dump();
  }
  EXPECT_GT(killed_renders, 0) << "no render was cut short by a kill";
  EXPECT_GE(m[5]["render_workers_replaced"].get<int64_t>(), kills / 2) << m[5].dump();
  // The pool recovered: the last step renders as the first did.
  EXPECT_GT(count_of(m[5], "render/ok"), 0) << m[5].dump();
  EXPECT_EQ(count_of(m[5], "render/runtime_error"), count_of(m[0], "render/runtime_error")) << m[5].dump();
  EXPECT_TRUE(fs::exists(dir / "final/model.safetensors"));
}

}  // namespace
}  // namespace visrl::test
