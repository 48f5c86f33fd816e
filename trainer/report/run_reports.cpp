#include "trainer/report/run_reports.h"

#include <fmt/format.h>

#include "render/png_io.h"
#include "trainer/loop/step_metrics.h"
#include "trainer/report/gallery.h"
#include "trainer/report/training_curves.h"

namespace visrl::trainer {

void write_step_rollouts(const RunDir& run_dir, const LoggingConfig& logging, int64_t step,
                         const std::vector<RolloutSample>& samples) {
  if (logging.log_rollouts) write_rollout_log(run_dir.rollouts_dir() / fmt::format("step_{}.jsonl", step), samples);
  if (logging.images_every > 0 && step % logging.images_every == 0) {
    for (const auto& s : samples) {
      if (!s.rendered) continue;
      const auto path = rollout_image_path(run_dir.rollouts_dir(), step, s.record.sample.id);
      std::filesystem::create_directories(path.parent_path());
      render::write_png(path, *s.rendered);
    }
  }
}

void write_final_reports(const RunDir& run_dir, const LoggingConfig& logging,
                         const std::map<std::string, std::filesystem::path>& references) {
  if (std::filesystem::exists(run_dir.metrics_path())) write_training_curves(run_dir.root());
  if (logging.log_rollouts) write_gallery(run_dir.root(), references);
}

}  // namespace visrl::trainer
