#include "trainer/loop/console.h"

#include <unistd.h>

#include <cstdio>

#include <spdlog/spdlog.h>

#include "core/error.h"

namespace visrl::trainer {
namespace {
double number(const nlohmann::json& m, const char* key) {
  return m.contains(key) && m[key].is_number() ? m[key].get<double>() : 0.0;
}
}  // namespace

Console::Console(const std::string& mode, int64_t total_steps, bool main)
    : main_(main), total_(total_steps), start_(std::chrono::steady_clock::now()) {
  if (mode != "auto" && mode != "on" && mode != "off") {
    fail(ErrorKind::config, "logging.progress_bar: expected auto, on or off, got \"{}\"", mode);
  }
  bar_ = main && (mode == "on" || (mode == "auto" && isatty(STDERR_FILENO)));
}

std::string step_summary(const nlohmann::json& m, int64_t total_steps) {
  if (m.contains("skipped")) {
    return fmt::format("step {}/{} | skipped ({})", m.value("step", 0), total_steps, m["skipped"].get<std::string>());
  }
  std::string kl = m.contains("kl") && m["kl"].is_number() ? fmt::format(" | kl {:.4f}", m["kl"].get<double>()) : "";
  return fmt::format("step {}/{} | reward {:.3f} ± {:.3f} | render {:.2f}{} | entropy {:.3f} | grad {:.3f} | {:.1f} s",
                     m.value("step", 0), total_steps, number(m, "reward_mean"), number(m, "reward_std"),
                     number(m, "render_ok_rate"), kl, number(m, "entropy"), number(m, "grad_norm"),
                     number(m, "time_step_s"));
}

void Console::step(const nlohmann::json& m) {
  if (!main_) return;
  const auto summary = step_summary(m, total_);
  if (!bar_) {
    spdlog::info("{}", summary);
    return;
  }
  const int64_t done = m.value("step", int64_t{0});
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(total_ - done) : 0.0;
  constexpr int kWidth = 24;
  const int filled = total_ > 0 ? static_cast<int>(kWidth * done / total_) : 0;
  std::fprintf(stderr, "\r\033[K[%s%s] %s | eta %.0f s", std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(kWidth - filled), '.').c_str(), summary.c_str(), eta);
  std::fflush(stderr);
}

void Console::finish() {
  if (bar_) std::fprintf(stderr, "\n");
}

}  // namespace visrl::trainer
