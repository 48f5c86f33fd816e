#include "trainer/sft/sft_step.h"

#include <chrono>

#include "core/error.h"
#include "policy/generate/logprobs.h"
#include "policy/model/training_mode.h"
#include "trainer/loop/apply_gradients.h"
#include "trainer/loop/cuda_autocast.h"

namespace visrl::trainer {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}
}  // namespace

SftStepStats sft_step(policy::Qwen3VLImpl& model, ShardedAdamW& optimizer, GradientBuckets& gradients,
                      Communicator& comm, const std::vector<SequenceRef>& mine, const SftStepOptions& o, double lr) {
  if (o.micro_batch_size < 1) fail(ErrorKind::usage, "the SFT micro-batch size must be >= 1");
  SftStepStats stats;
  auto t = Clock::now();
  double local_tokens = 0;
  for (const auto& s : mine) local_tokens += static_cast<double>(s.response->size());
  const double global_tokens = std::max(1.0, comm.all_reduce_sum({local_tokens})[0]);
  gradients.zero_grad();
  const auto device = model.device();
  double nll_sum = 0;
  for (size_t first = 0; first < mine.size(); first += static_cast<size_t>(o.micro_batch_size)) {
    const auto last = std::min(mine.size(), first + static_cast<size_t>(o.micro_batch_size));
    const std::vector<SequenceRef> chunk(mine.begin() + static_cast<std::ptrdiff_t>(first),
                                         mine.begin() + static_cast<std::ptrdiff_t>(last));
    auto batch = make_sequence_batch(chunk, o.pad_token_id);
    policy::TokenLogprobs out;
    {
      CudaAutocast autocast(device, model.dtype());
      policy::TrainingMode training(model);  // LoRA dropout, when configured, acts here only
      out = policy::forward_logprobs(model, batch.batch, /*temperature=*/1.0, o.logprob_chunk_tokens);
    }
    auto logp = response_values(out.logprobs, batch);                 // [B, L]
    const auto mask = batch.response_mask.to(device).to(at::kFloat);  // [B, L]
    auto nll = -(logp * mask).sum();
    (nll / global_tokens).backward();
    gradients.accumulate();
    nll_sum += nll.item<double>();
  }
  stats.forward_backward_s = seconds_since(t);

  t = Clock::now();
  stats.grad_norm = apply_gradients(gradients, optimizer, comm, o.grad_clip, lr);
  stats.optimizer_s = seconds_since(t);
  stats.tokens = global_tokens;
  stats.loss = comm.all_reduce_sum({nll_sum})[0] / global_tokens;
  return stats;
}

}  // namespace visrl::trainer
