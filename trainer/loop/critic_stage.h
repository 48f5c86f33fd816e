// The render -> critic half of the rollout pipeline, on its own thread: samples come in as
// soon as they are generated (with their render already queued in the pool), are scored in
// batches as their renders complete, and never wait for the rest of the generation.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "render/render_types.h"
#include "reward/critic.h"
#include "trainer/loop/rollout_sample.h"

namespace visrl::trainer {

struct StageTimes {
  double render_s = 0;  // span from the first render queued to the last one finished
  double critic_s = 0;  // time inside Critic::score (the critic's busy time)
};

class CriticStage {
 public:
  // image_metrics: log each render's SSIM (the formula's ssim term) and pixel MSE against its
  // reference.
  CriticStage(reward::Critic& critic, bool image_metrics);
  ~CriticStage();  // joins; unfinished work is dropped
  CriticStage(const CriticStage&) = delete;
  CriticStage& operator=(const CriticStage&) = delete;

  // `sample` must stay alive and untouched by the caller until finish(). No render (no
  // code in the answer): `render` is not valid and the sample is recorded as no_code.
  void add(RolloutSample* sample, std::shared_ptr<const render::RgbImage> reference,
           std::future<render::RenderResult> render);

  // Waits for every added sample; rethrows what the critic threw (e.g. CriticUnavailable).
  StageTimes finish();

 private:
  struct Pending {
    RolloutSample* sample;
    std::shared_ptr<const render::RgbImage> reference;
    std::future<render::RenderResult> render;
  };
  void run();
  void process(std::vector<Pending>& batch);

  reward::Critic& critic_;
  bool image_metrics_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Pending> queue_;
  bool closed_ = false;
  std::exception_ptr error_;
  StageTimes times_;
  bool any_render_ = false;
  std::chrono::steady_clock::time_point first_render_, last_render_;
  std::thread thread_;
};

}  // namespace visrl::trainer
