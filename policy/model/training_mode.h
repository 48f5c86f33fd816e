// A module in training mode while the guard lives, back in its previous mode after: the
// forwards that train (LoRA's dropout draws only there), while rollouts and scoring stay in
// eval mode.
#pragma once

#include <torch/nn/module.h>

namespace visrl::policy {

class TrainingMode {
 public:
  explicit TrainingMode(torch::nn::Module& module) : module_(module), was_training_(module.is_training()) {
    module_.train(true);
  }
  ~TrainingMode() { module_.train(was_training_); }
  TrainingMode(const TrainingMode&) = delete;
  TrainingMode& operator=(const TrainingMode&) = delete;

 private:
  torch::nn::Module& module_;
  bool was_training_;
};

}  // namespace visrl::policy
