#include "trainer/loop/ppo_update.h"

#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "policy/model/training_mode.h"
#include "trainer/loop/apply_gradients.h"
#include "trainer/loop/cuda_autocast.h"
#include "trainer/loop/micro_batches.h"

namespace visrl::trainer {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// [B, L] from per-sequence [L_i] tensors, zero-padded; undefined unless every sequence has one.
at::Tensor stack_padded(const std::vector<const UpdateSequence*>& seqs, at::Tensor UpdateSequence::*field, int64_t L,
                        const at::Device& device) {
  for (const auto* s : seqs) {
    if (!(s->*field).defined()) return {};
  }
  auto out = at::zeros({static_cast<int64_t>(seqs.size()), L}, (seqs.front()->*field).scalar_type());
  for (size_t b = 0; b < seqs.size(); ++b) {
    const auto& t = seqs[b]->*field;
    out[static_cast<int64_t>(b)].narrow(0, 0, t.numel()).copy_(t);
  }
  return out.to(device);
}

// The first epoch's sums over this micro-batch's response tokens.
void add_stats(UpdateStats& stats, const GrpoLoss& terms, const at::Tensor& logp, const at::Tensor& entropy,
               const at::Tensor& old, const at::Tensor& rollout, const at::Tensor& mask) {
  const auto fmask = mask.to(at::kFloat);  // [B, L]
  stats.tokens += fmask.sum().item<double>();
  stats.pg_loss_sum += (terms.policy.loss.detach() * fmask).sum().item<double>();
  stats.entropy_sum += (entropy.detach() * fmask).sum().item<double>();
  stats.ppo_kl_sum += ((old - logp.detach()) * fmask).sum().item<double>();
  stats.clipped += terms.policy.clipped.sum().item<double>();
  stats.dual_clipped += terms.policy.dual_clipped.sum().item<double>();
  if (terms.kl.defined()) stats.kl_sum += (terms.kl * fmask).sum().item<double>();
  if (rollout.defined()) {
    const auto diff = at::where(mask, (rollout - old).abs(), at::zeros_like(old));  // [B, L]
    stats.rollout_tokens += fmask.sum().item<double>();
    stats.logprob_diff_sum += diff.sum().item<double>();
    stats.logprob_diff_max = std::max(stats.logprob_diff_max, diff.max().item<double>());
  }
  if (terms.is_weights.defined()) stats.is_weight_sum += (terms.is_weights * fmask).sum().item<double>();
}

// One micro-batch: forward, the loss, backward. Returns the loss's value.
double micro_batch_backward(policy::Qwen3VLImpl& model, const std::vector<const UpdateSequence*>& seqs,
                            const UpdateOptions& o, const AggOptions& agg, UpdateStats* stats) {
  const auto device = model.device();
  std::vector<SequenceRef> refs;
  std::vector<double> adv_values;
  for (const auto* s : seqs) {
    refs.push_back(s->ref);
    adv_values.push_back(s->advantage);
  }
  const auto batch = make_sequence_batch(refs, o.pad_token_id);
  const int64_t B = static_cast<int64_t>(seqs.size()), L = batch.response_mask.size(1);
  policy::TokenLogprobs out;
  {
    CudaAutocast autocast(device, model.dtype());
    policy::TrainingMode training(model);  // LoRA dropout, when configured, acts here only
    out = policy::forward_logprobs(model, batch.batch, o.temperature, o.logprob_chunk_tokens);
  }
  const auto logp = response_values(out.logprobs, batch);                             // [B, L], requires grad
  const auto entropy = response_values(out.entropies, batch);                         // [B, L]
  const auto mask = batch.response_mask.to(device);                                   // [B, L] bool
  auto old = stack_padded(seqs, &UpdateSequence::old_logp, L, device);                // [B, L]
  if (!old.defined()) old = logp.detach();                                            // on-policy
  const auto ref = stack_padded(seqs, &UpdateSequence::ref_logp, L, device);          // [B, L] or undefined
  const auto rollout = stack_padded(seqs, &UpdateSequence::rollout_logp, L, device);  // [B, L] or undefined
  const auto adv = at::tensor(adv_values, at::kDouble).to(logp.scalar_type()).view({B, 1}).expand({B, L}).to(device);
  auto terms = grpo_loss(logp, entropy, old, ref, rollout, adv, mask, o.loss, agg);
  if (o.inject_nan_loss) terms.loss = terms.loss * std::numeric_limits<double>::quiet_NaN();
  terms.loss.backward();
  if (stats) add_stats(*stats, terms, logp, entropy, old, rollout, mask);
  return terms.loss.item<double>();
}

}  // namespace

std::vector<int64_t> sequence_lengths(const std::vector<SequenceRef>& sequences) {
  std::vector<int64_t> lengths;
  lengths.reserve(sequences.size());
  for (const auto& s : sequences) {
    lengths.push_back(s.prompt->input_ids.numel() + static_cast<int64_t>(s.response->size()));
  }
  return lengths;
}

std::vector<at::Tensor> response_logprobs(policy::Qwen3VLImpl& model, const std::vector<SequenceRef>& sequences,
                                          int64_t micro, double temperature, int64_t pad_token_id, int64_t chunk_tokens,
                                          int64_t max_tokens) {
  at::NoGradGuard no_grad;
  CudaAutocast autocast(model.device(), model.dtype());
  std::vector<at::Tensor> out(sequences.size());
  for (const auto& indices : plan_micro_batches(sequence_lengths(sequences), micro, max_tokens).batches) {
    std::vector<SequenceRef> chunk;
    for (size_t i : indices) chunk.push_back(sequences[i]);
    auto batch = make_sequence_batch(chunk, pad_token_id);
    auto logp =
        response_values(policy::forward_logprobs(model, batch.batch, temperature, chunk_tokens).logprobs, batch).cpu();
    for (size_t b = 0; b < chunk.size(); ++b) {
      out[indices[b]] =
          logp[static_cast<int64_t>(b)].narrow(0, 0, static_cast<int64_t>(chunk[b].response->size())).clone();
    }
  }
  return out;
}

double minibatch_gradients(policy::Qwen3VLImpl& model, GradientBuckets& gradients, Communicator& comm,
                           const std::vector<const UpdateSequence*>& mb, const UpdateOptions& o, UpdateStats* stats) {
  // The global mini-batch's token and sequence counts normalise every rank's loss.
  double local_tokens = 0;
  for (const auto* s : mb) local_tokens += static_cast<double>(s->ref.response->size());
  const auto counts = comm.all_reduce_sum({local_tokens, static_cast<double>(mb.size())});
  AggOptions agg;
  agg.global_tokens = counts[0];
  agg.global_sequences = counts[1];
  agg.norm_constant = o.norm_constant;

  gradients.zero_grad();
  double loss = 0;
  std::vector<SequenceRef> refs;
  for (const auto* s : mb) refs.push_back(s->ref);
  const auto plan = plan_micro_batches(sequence_lengths(refs), o.micro_batch_size, o.max_tokens_per_micro_batch);
  for (const auto& indices : plan.batches) {
    std::vector<const UpdateSequence*> seqs;
    for (size_t i : indices) seqs.push_back(mb[i]);
    loss += micro_batch_backward(model, seqs, o, agg, stats);
    gradients.accumulate();
  }
  if (stats != nullptr) {
    stats->micro_batches += static_cast<double>(plan.batches.size());
    stats->sequence_tokens += static_cast<double>(plan.tokens);
    stats->padded_tokens += static_cast<double>(plan.padded_tokens);
  }
  // A NaN/inf loss here must stop the update on every rank, whatever its gradients hold.
  if (!std::isfinite(loss)) gradients.mark_nonfinite();
  return loss;
}

UpdateStats ppo_update(policy::Qwen3VLImpl& model, ShardedAdamW& optimizer, GradientBuckets& gradients,
                       Communicator& comm, const std::vector<std::vector<const UpdateSequence*>>& minibatches,
                       const UpdateOptions& o, double lr) {
  UpdateStats stats;
  for (int64_t epoch = 0; epoch < o.ppo_epochs; ++epoch) {
    for (const auto& mb : minibatches) {
      auto t = Clock::now();
      minibatch_gradients(model, gradients, comm, mb, o, epoch == 0 ? &stats : nullptr);
      stats.forward_backward_s += seconds_since(t);

      t = Clock::now();
      stats.grad_norm = apply_gradients(gradients, optimizer, comm, o.grad_clip, lr);
      ++stats.optimizer_steps;
      if (!std::isfinite(stats.grad_norm)) ++stats.skipped_steps;
      stats.optimizer_s += seconds_since(t);
    }
  }
  return stats;
}

}  // namespace visrl::trainer
