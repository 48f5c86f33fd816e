#include "trainer/loop/ppo_update.h"

#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "trainer/distributed/adamw.h"
#include "trainer/loop/apply_gradients.h"
#include "trainer/loop/cuda_autocast.h"

namespace visrl::trainer {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// [B, L] from per-sequence [L_i] tensors, zero-padded.
at::Tensor stack_padded(const std::vector<const UpdateSequence*>& seqs, at::Tensor UpdateSequence::*field, int64_t L,
                        const at::Device& device) {
  auto out = at::zeros({static_cast<int64_t>(seqs.size()), L}, at::kFloat);
  for (size_t b = 0; b < seqs.size(); ++b) {
    const auto& t = seqs[b]->*field;
    out[static_cast<int64_t>(b)].narrow(0, 0, t.numel()).copy_(t);
  }
  return out.to(device);
}
}  // namespace

std::vector<at::Tensor> response_logprobs(policy::Qwen3VLImpl& model, const std::vector<SequenceRef>& sequences,
                                          int64_t micro, double temperature, int64_t pad_token_id) {
  at::NoGradGuard no_grad;
  CudaAutocast autocast(model.device(), model.dtype());
  std::vector<at::Tensor> out;
  out.reserve(sequences.size());
  for (size_t first = 0; first < sequences.size(); first += static_cast<size_t>(micro)) {
    const auto last = std::min(sequences.size(), first + static_cast<size_t>(micro));
    std::vector<SequenceRef> chunk(sequences.begin() + static_cast<std::ptrdiff_t>(first),
                                   sequences.begin() + static_cast<std::ptrdiff_t>(last));
    auto batch = make_sequence_batch(chunk, pad_token_id);
    auto logp = response_values(policy::forward_logprobs(model, batch.batch, temperature).logprobs, batch).cpu();
    for (size_t b = 0; b < chunk.size(); ++b) {
      out.push_back(
          logp[static_cast<int64_t>(b)].narrow(0, 0, static_cast<int64_t>(chunk[b].response->size())).clone());
    }
  }
  return out;
}

UpdateStats ppo_update(policy::Qwen3VLImpl& model, ShardedAdamW& optimizer, GradientBuckets& gradients,
                       Communicator& comm, const std::vector<std::vector<const UpdateSequence*>>& minibatches,
                       const UpdateOptions& o, double lr) {
  if (o.micro_batch_size < 1) fail(ErrorKind::config, "algorithm.micro_batch_size must be >= 1");
  UpdateStats stats;
  const auto device = model.device();
  const auto params = optimizer.params();
  for (int64_t epoch = 0; epoch < o.ppo_epochs; ++epoch) {
    for (const auto& mb : minibatches) {
      auto t = Clock::now();
      // The global mini-batch's token and sequence counts normalise every rank's loss.
      double local_tokens = 0;
      for (const auto* s : mb) local_tokens += static_cast<double>(s->ref.response->size());
      const auto counts = comm.all_reduce_sum({local_tokens, static_cast<double>(mb.size())});
      AggOptions agg;
      agg.global_tokens = counts[0];
      agg.global_sequences = counts[1];
      agg.norm_constant = o.norm_constant;
      for (auto& p : params) p.mutable_grad() = at::Tensor();

      for (size_t first = 0; first < mb.size(); first += static_cast<size_t>(o.micro_batch_size)) {
        const auto last = std::min(mb.size(), first + static_cast<size_t>(o.micro_batch_size));
        std::vector<const UpdateSequence*> seqs(mb.begin() + static_cast<std::ptrdiff_t>(first),
                                                mb.begin() + static_cast<std::ptrdiff_t>(last));
        std::vector<SequenceRef> refs;
        for (const auto* s : seqs) refs.push_back(s->ref);
        auto batch = make_sequence_batch(refs, o.pad_token_id);
        const int64_t B = static_cast<int64_t>(seqs.size()), L = batch.response_mask.size(1);
        policy::TokenLogprobs out;
        {
          CudaAutocast autocast(device, model.dtype());
          out = policy::forward_logprobs(model, batch.batch, o.temperature);
        }
        auto logp = response_values(out.logprobs, batch);      // [B, L]
        auto entropy = response_values(out.entropies, batch);  // [B, L]
        auto mask = batch.response_mask.to(device);            // [B, L]
        auto old =
            seqs.front()->old_logp.defined() ? stack_padded(seqs, &UpdateSequence::old_logp, L, device) : logp.detach();
        std::vector<double> adv_values;
        for (const auto* s : seqs) adv_values.push_back(s->advantage);
        auto adv = at::tensor(adv_values, at::kDouble).to(at::kFloat).view({B, 1}).expand({B, L}).to(device);
        auto pl = o.policy_loss == "gspo" ? gspo_loss(logp, old, adv, mask, o.clip)
                                          : ppo_clip_loss(logp, old, adv, mask, o.clip);
        auto loss = aggregate_loss(pl.loss, mask, o.loss_agg, agg);
        const auto fmask = mask.to(at::kFloat);
        if (seqs.front()->ref_logp.defined()) {
          auto ref = stack_padded(seqs, &UpdateSequence::ref_logp, L, device);
          auto kl = kl_penalty(logp, ref, o.kl_estimator);
          if (o.kl_coef != 0) loss = loss + o.kl_coef * aggregate_loss(kl, mask, o.loss_agg, agg);
          stats.kl_sum += (kl.detach() * fmask).sum().item<double>();
        }
        if (o.entropy_coef != 0) loss = loss - o.entropy_coef * aggregate_loss(entropy, mask, o.loss_agg, agg);
        loss.backward();

        // Statistics of the first epoch describe the samples; later epochs are off-policy.
        if (epoch == 0) {
          stats.tokens += static_cast<double>(batch.tokens);
          stats.pg_loss_sum += (pl.loss.detach() * fmask).sum().item<double>();
          stats.entropy_sum += (entropy.detach() * fmask).sum().item<double>();
          stats.ppo_kl_sum += ((old - logp.detach()) * fmask).sum().item<double>();
          stats.clipped += (pl.clipped & mask).sum().item<double>();
          stats.dual_clipped += (pl.dual_clipped & mask).sum().item<double>();
        }
      }
      stats.forward_backward_s += seconds_since(t);

      t = Clock::now();
      stats.grad_norm = apply_gradients(gradients, optimizer, comm, o.grad_clip, lr);
      ++stats.optimizer_steps;
      stats.optimizer_s += seconds_since(t);
    }
  }
  return stats;
}

}  // namespace visrl::trainer
