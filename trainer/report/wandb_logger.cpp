#include "trainer/report/wandb_logger.h"

#include <random>

#include <spdlog/spdlog.h>

#include "core/atomic_file.h"
#include "core/base64.h"
#include "core/text_file.h"

namespace visrl::trainer {

extern const char* const kWandbSidecarSource;  // wandb_sidecar.py, embedded by CMake

namespace {

constexpr int kSidecarPipeFd = 3;  // child_process.h

// One message line. Answers may hold invalid UTF-8 (a token cut inside a character): replaced.
std::string line(const nlohmann::json& message) {
  return message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string wandb_run_id(const std::filesystem::path& dir) {
  const auto path = dir / "visrl-run-id";
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::string id = read_text_file(path, "W&B run id");
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    if (!id.empty()) return id;
  }
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device device;
  std::uniform_int_distribution<size_t> pick(0, sizeof kAlphabet - 2);
  std::string id;
  for (int i = 0; i < 8; ++i) id += kAlphabet[pick(device)];
  std::filesystem::create_directories(dir);
  write_file_atomically(path, id + "\n");
  return id;
}

WandbLogger::WandbLogger(const WandbOptions& options, const std::filesystem::path& run_dir,
                         const std::string& config_yaml) {
  const auto dir = run_dir / "wandb";
  run_id_ = wandb_run_id(dir);
  const nlohmann::json init = {
      {"op", "init"},
      {"id", run_id_},
      {"project", options.project},
      {"entity", options.entity},
      {"name", options.name.empty() ? run_dir.filename().string() : options.name},
      {"group", options.group},
      {"tags", options.tags},
      {"mode", options.mode},
      {"dir", std::filesystem::absolute(run_dir).string()},  // wandb adds the wandb/ folder
      {"config_yaml", config_yaml},
  };
  SidecarOptions sidecar{
      .name = "W&B sidecar",
      .argv = {options.python, "-u", "-c", kWandbSidecarSource, std::to_string(kSidecarPipeFd)},
      .log_path = dir / "sidecar.log",
      .queue_bytes = options.queue_bytes,
      .max_restarts = options.max_restarts,
      .finish_wait = options.finish_wait,
  };
  const std::string hello = line(init);
  channel_ = std::make_unique<SidecarChannel>(std::move(sidecar), [hello](bool) { return hello; });
  spdlog::info("W&B: run {} (mode {}), files in {}", run_id_, options.mode, dir.string());
}

void WandbLogger::scalars(int64_t step, const nlohmann::json& metrics) {
  nlohmann::json values = nlohmann::json::object();
  for (const auto& [key, value] : numeric_metrics(metrics)) values[key] = value;
  if (values.empty()) return;
  channel_->send(line({{"op", "scalars"}, {"step", step}, {"values", std::move(values)}}));
}

void WandbLogger::histogram(int64_t step, const std::string& tag, const std::vector<double>& values) {
  if (values.empty()) return;
  channel_->send(line({{"op", "histogram"}, {"step", step}, {"tag", tag}, {"values", values}}));
}

void WandbLogger::image(int64_t step, const std::string& tag, const PngImage& image) {
  channel_->send(line({{"op", "image"}, {"step", step}, {"tag", tag}, {"png_base64", base64_encode(image.png)}}));
}

void WandbLogger::text(int64_t step, const std::string& tag, const std::string& markdown) {
  channel_->send(line({{"op", "text"}, {"step", step}, {"tag", tag}, {"markdown", markdown}}));
}

}  // namespace visrl::trainer
