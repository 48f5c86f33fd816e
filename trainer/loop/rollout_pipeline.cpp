#include "trainer/loop/rollout_pipeline.h"

#include <chrono>
#include <optional>

#include "core/error.h"
#include "core/random.h"
#include "policy/model/lora.h"
#include "render/extract.h"
#include "trainer/loop/critic_stage.h"

namespace visrl::trainer {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}
}  // namespace

RolloutOptions rollout_options(const Config& config, const policy::PolicyAssets& assets,
                               const policy::Qwen3VLConfig& model) {
  const auto& r = config.rollout;
  RolloutOptions ro;
  ro.generate.group_size = r.group_size;
  ro.generate.max_new_tokens = r.max_new_tokens;
  ro.generate.sampling.temperature = r.temperature;
  ro.generate.sampling.top_p = r.top_p;
  ro.generate.sampling.top_k = r.top_k;
  ro.generate.sampling.min_p = r.min_p;
  ro.generate.sampling.repetition_penalty = r.repetition_penalty;
  ro.generate.sampling.presence_penalty = r.presence_penalty;
  ro.generate.eos_token_ids = assets.eos_token_ids;
  ro.generate.stop_strings = r.stop;
  ro.generate.pad_token_id = assets.pad_token_id;
  ro.generate.suppress_token_ids = {model.image_token_id, model.video_token_id, model.vision_start_token_id,
                                    model.vision_end_token_id};
  ro.generate.decode_slots = r.batch_size;
  ro.generate.batch_invariant = r.batch_invariant;
  ro.seed = config.seed;
  ro.image_metrics = config.reward.extra_terms.count("ssim") > 0;
  return ro;
}

uint64_t step_seed(uint64_t seed, int64_t step) {
  return mix_seed(mix_seed(seed) ^ static_cast<uint64_t>(step));
}

std::vector<RolloutSample> run_rollouts(const RolloutDeps& deps, const RolloutOptions& options,
                                        const std::vector<const PreparedPrompt*>& prompts,
                                        const std::vector<int64_t>& slots, int64_t step, RolloutStats* stats) {
  if (prompts.size() != slots.size())
    fail(ErrorKind::runtime, "run_rollouts: {} prompts, {} slots", prompts.size(), slots.size());
  const auto start = Clock::now();
  const int64_t G = options.generate.group_size;
  const int64_t n = static_cast<int64_t>(prompts.size());
  std::vector<RolloutSample> samples(static_cast<size_t>(n * G));  // stable addresses for the stage
  CriticStage stage(deps.critic, options.image_metrics);
  RolloutStats local;
  // A LoRA policy generates with its adapters merged into the base (plain matmuls, full speed);
  // the base is put back bit for bit once every answer is in.
  std::optional<policy::LoraMerged> merged;
  if (policy::has_lora(deps.model)) {
    const auto t = Clock::now();
    merged.emplace(deps.model);
    local.lora_merge_s += seconds_since(t);
  }

  // Every prompt of this rank in one call, decoded rollout.batch_size answers at a time.
  std::vector<policy::PromptInput> inputs;
  for (int64_t i = 0; i < n; ++i) {
    inputs.push_back(prompts[i]->input);
    inputs.back().stream = slots[i];  // the prompt's random streams: the same on any rank
  }
  auto generate = options.generate;
  generate.seed = step_seed(options.seed, step);
  // Called inside generate as each answer completes: decode, extract, queue the render.
  generate.on_finished = [&](int64_t row, const policy::GeneratedSample& g) {
    const int64_t p = row / G;
    auto& s = samples[static_cast<size_t>(row)];  // row = p * G + sample, as the result
    const auto& item = *prompts[p]->item;
    s.prompt_slot = slots[p];
    s.sample = row % G;
    s.response_ids = g.token_ids;
    s.response_logprobs = g.logprobs;
    s.finish = g.finish_reason;
    // Ids past the tokenizer (a padded embedding table) decode to nothing, as in HF.
    std::vector<int32_t> ids;
    for (int64_t id : g.token_ids) {
      if (deps.tokenizer.has_id(static_cast<int32_t>(id))) ids.push_back(static_cast<int32_t>(id));
    }
    auto& rec = s.record;
    rec.step = step;
    rec.answer = deps.tokenizer.decode(ids, true);
    rec.sample.id = fmt::format("{}/{}", item.id, s.sample);
    rec.sample.group = item.id;
    rec.sample.task = item.task;
    rec.sample.response_len = static_cast<int64_t>(g.token_ids.size());
    rec.sample.max_len = options.generate.max_new_tokens;
    rec.sample.reference_code = item.ground_truth;
    auto code = render::extract_code(item.task, rec.answer);
    std::future<render::RenderResult> render;
    if (code) {
      rec.sample.answer_code = code->code;
      // The code, not the answer: the pool renders it without extracting it again.
      render = deps.pool.submit(render::make_request(deps.render_config, item.task, std::move(*code), rec.sample.id));
    }
    local.response_tokens += rec.sample.response_len;
    stage.add(&s, prompts[p]->reference, std::move(render));
  };
  const auto generate_start = Clock::now();
  policy::generate(deps.model, inputs, generate, &deps.tokenizer);
  local.generate_s += seconds_since(generate_start);
  if (merged) {
    const auto t = Clock::now();
    merged->unmerge();
    local.lora_merge_s += seconds_since(t);
  }
  const auto times = stage.finish();
  local.render_s = times.render_s;
  local.critic_s = times.critic_s;
  local.wall_s = seconds_since(start);
  if (stats != nullptr) *stats = local;
  return samples;
}

}  // namespace visrl::trainer
