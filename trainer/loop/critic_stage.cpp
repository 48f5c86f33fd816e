#include "trainer/loop/critic_stage.h"

#include "reward/metrics/pixel_mse.h"
#include "reward/metrics/ssim.h"

namespace visrl::trainer {
namespace {
using Clock = std::chrono::steady_clock;
double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}
}  // namespace

CriticStage::CriticStage(reward::Critic& critic, bool image_metrics)
    : critic_(critic), image_metrics_(image_metrics), thread_([this] { run(); }) {}

CriticStage::~CriticStage() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CriticStage::add(RolloutSample* sample, std::shared_ptr<const render::RgbImage> reference,
                      std::future<render::RenderResult> render) {
  {
    std::lock_guard lock(mutex_);
    if (render.valid() && !any_render_) {
      any_render_ = true;
      first_render_ = Clock::now();
    }
    queue_.push_back({sample, std::move(reference), std::move(render)});
  }
  ready_.notify_one();
}

StageTimes CriticStage::finish() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(error_);
  if (any_render_) times_.render_s = seconds(last_render_ - first_render_);
  return times_;
}

void CriticStage::run() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [&] { return closed_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closed and drained
      while (!queue_.empty()) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (error_) continue;  // drain without scoring after a failure
    try {
      process(batch);
    } catch (...) {
      error_ = std::current_exception();
    }
  }
}

void CriticStage::process(std::vector<Pending>& batch) {
  // Wait for the renders (the pool finishes them in about the order they were queued), then
  // score everything that rendered in one critic call.
  std::vector<render::RenderResult> renders(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& rec = batch[i].sample->record;
    if (!batch[i].render.valid()) {
      rec.sample.render_status = render::RenderStatus::no_code;
      rec.render_reason = "no code block of the task's kind in the answer";
      continue;
    }
    renders[i] = batch[i].render.get();
    last_render_ = Clock::now();
    rec.sample.render_status = renders[i].status;
    rec.render_reason = renders[i].reason;
  }
  std::vector<reward::CriticItem> items;
  std::vector<size_t> scored;
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& s = *batch[i].sample;
    if (s.record.sample.render_status != render::RenderStatus::ok) {  // no code, failed or blank
      s.record.critic.status = reward::CriticStatus::not_scored;
      s.record.critic.message = "not rendered";
      s.record.sample.critic_status = reward::CriticStatus::not_scored;
      continue;
    }
    auto image = std::make_shared<render::RgbImage>(std::move(renders[i].image));
    s.rendered = image;
    items.push_back({s.record.sample.id, s.record.sample.task, batch[i].reference.get(), image.get(), s.record.answer});
    scored.push_back(i);
  }
  if (items.empty()) return;
  const auto start = Clock::now();
  auto results = critic_.score(items);
  times_.critic_s += seconds(Clock::now() - start);
  for (size_t k = 0; k < scored.size(); ++k) {
    auto& s = *batch[scored[k]].sample;
    s.record.sample.critic_status = results[k].status;
    s.record.sample.errors = results[k].errors;
    s.record.critic = std::move(results[k]);
    if (image_metrics_) {
      s.record.sample.ssim = reward::ssim(*s.rendered, *batch[scored[k]].reference);
      s.record.mse = reward::pixel_mse(*s.rendered, *batch[scored[k]].reference);
    }
  }
}

}  // namespace visrl::trainer
