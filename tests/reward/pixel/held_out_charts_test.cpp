// The pixel critic must not prefer an answer that ignores the image. Over the quickstart's 32
// held-out charts (tests/fixtures/held_out_charts), rendered in the chart sandbox, the
// reference's own code with every value off by up to 15 % must cost less than one fixed
// "typical" bar chart, and empty axes must cost the most: otherwise GRPO with this critic
// teaches a policy to stop reading the chart.
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "render/render_pool.h"
#include "reward/pixel/pixel_critic.h"
#include "tests/test_util.h"

namespace visrl::reward {
namespace {

TEST(HeldOutCharts, ReadingTheChartBeatsATypicalChartAndEmptyAxesCostTheMost) {
  if (render::sandbox::probe_isolation() == render::sandbox::IsolationLevel::rlimits)
    GTEST_SKIP() << "no sandbox on this kernel: chart code is refused";
  const auto cases =
      nlohmann::json::parse(test::read_file(test::source_dir() / "tests/fixtures/held_out_charts/cases.json"));
  const auto& charts = cases.at("charts");
  ASSERT_EQ(charts.size(), 32u);

  render::RenderPoolOptions options;
  options.workers = 2;
  options.timeout_s = 60;  // correctness here, not speed
  options.cpu_s = 60;
  render::RenderPool pool(options);
  auto submit = [&](const std::string& code) {
    render::RenderRequest r;
    r.kind = render::RenderKind::chart;
    r.text = "```python\n" + code + "\n```";
    return pool.submit(std::move(r));
  };
  auto image = [](std::future<render::RenderResult> f, const std::string& what) {
    render::RenderResult r = f.get();
    EXPECT_TRUE(r.ok()) << what << ": " << r.reason;
    return r.image;
  };
  // The two image-independent answers render once.
  const render::RgbImage typical = image(submit(cases.at("typical")), "typical");
  const render::RgbImage empty = image(submit(cases.at("empty")), "empty");
  std::vector<std::future<render::RenderResult>> references, perturbed;
  for (const auto& c : charts) {
    references.push_back(submit(c.at("reference")));
    perturbed.push_back(submit(c.at("perturbed")));
  }

  double sum_perturbed = 0, sum_typical = 0, sum_empty = 0;
  int typical_worse_than_perturbed = 0, empty_worst = 0;
  for (size_t i = 0; i < charts.size(); ++i) {
    const std::string id = charts[i].at("id");
    const render::RgbImage reference = image(std::move(references[i]), id);
    const render::RgbImage near = image(std::move(perturbed[i]), id + " perturbed");
    ASSERT_FALSE(::testing::Test::HasFailure()) << "a chart did not render";
    const int s_perturbed = severity_sum(pixel_compare(Task::chart, reference, near));
    const int s_typical = severity_sum(pixel_compare(Task::chart, reference, typical));
    const int s_empty = severity_sum(pixel_compare(Task::chart, reference, empty));
    std::printf("%s  S perturbed %2d  typical %2d  empty %2d\n", id.c_str(), s_perturbed, s_typical, s_empty);
    sum_perturbed += s_perturbed;
    sum_typical += s_typical;
    sum_empty += s_empty;
    typical_worse_than_perturbed += s_typical > s_perturbed;
    empty_worst += s_empty > s_typical && s_empty > s_perturbed;
  }
  const double n = static_cast<double>(charts.size());
  std::printf(
      "mean S: perturbed %.2f  typical %.2f  empty %.2f; typical worse than perturbed on %d, empty worst "
      "on %d of %zu charts\n",
      sum_perturbed / n, sum_typical / n, sum_empty / n, typical_worse_than_perturbed, empty_worst, charts.size());
  // Severity sums: the reward formulas all fall as S rises.
  EXPECT_LT(sum_perturbed, sum_typical);
  EXPECT_LT(sum_typical, sum_empty);
}

}  // namespace
}  // namespace visrl::reward
