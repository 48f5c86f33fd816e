#include "reward/visual_erm/visual_erm_critic.h"

#include <algorithm>
#include <chrono>
#include <map>

#include <spdlog/spdlog.h>

#include "core/device.h"
#include "core/error.h"
#include "policy/generate/engine.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/lora.h"
#include "policy/model/model_dtype.h"
#include "reward/image_ops.h"
#include "reward/parser/critic_parser.h"

namespace visrl::reward {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

const std::string& model_path(const VisualErmOptions& options) {
  if (options.model_path.empty())
    fail(ErrorKind::config, "reward.visual_erm.model_path: critic visual_erm needs a checkpoint directory");
  return options.model_path;
}

policy::Qwen3VL load_critic(const VisualErmOptions& options) {
  const std::string& path = model_path(options);
  policy::LoadOptions load;
  load.device = resolve_device(options.device, "reward.visual_erm.device");
  load.dtype = policy::model_dtype(options.dtype, load.device.is_cuda(), "reward.visual_erm.dtype");
  spdlog::info("visual_erm critic: loading {} ({}, {})", path, load.device.str(), policy::dtype_name(*load.dtype));
  policy::Qwen3VL model = policy::load_pretrained(path, load);
  policy::merge_lora_into_base(*model);  // a LoRA adapter directory: the critic never trains, so merged for good
  model->eval();
  return model;
}

// [H, W, 3] uint8 tensor owning a copy of the image's pixels.
at::Tensor image_tensor(const render::RgbImage& image) {
  return at::from_blob(const_cast<uint8_t*>(image.rgb.data()), {image.height, image.width, 3}, at::kByte).clone();
}

policy::SamplingParams engine_sampling(const CriticSampling& s) {
  policy::SamplingParams p;
  p.greedy = s.temperature <= 0.0;
  p.temperature = p.greedy ? 1.0 : s.temperature;
  p.top_k = s.top_k;
  p.top_p = s.top_p;
  p.presence_penalty = s.presence_penalty;
  p.repetition_penalty = s.repetition_penalty;
  return p;
}

}  // namespace

VisualErmCritic::VisualErmCritic(const VisualErmOptions& options)
    : VisualErmCritic(load_critic(options), policy::PolicyAssets::load(model_path(options)), options) {}

VisualErmCritic::VisualErmCritic(policy::Qwen3VL model, policy::PolicyAssets assets, const VisualErmOptions& options)
    : model_(std::move(model)), assets_(std::move(assets)), options_(options) {
  if (options_.batch_size <= 0) fail(ErrorKind::config, "reward.visual_erm.batch_size: expected > 0");
  if (options_.parse_retries <= 0) fail(ErrorKind::config, "reward.parse_retries: expected >= 1");
}

policy::PromptInput VisualErmCritic::build_prompt(const CriticItem& item) const {
  if (!item.reference || !item.rendered)
    fail(ErrorKind::runtime, "critic item {}: needs both the reference and the rendered image", item.id);
  const CriticSampling sampling = critic_sampling(item.task, options_.max_image_side, options_.max_new_tokens);
  std::vector<at::Tensor> images = {
      image_tensor(downscale_to_max_side(*item.reference, sampling.max_image_side)),
      image_tensor(downscale_to_max_side(*item.rendered, sampling.max_image_side)),
  };
  policy::ChatMessage user{"user",
                           {policy::ContentPart::image(), policy::ContentPart::image(),
                            policy::ContentPart::make_text(options_.prompts.for_task(item.task))}};
  return policy::build_prompt(assets_, {user}, images, item.id);
}

std::vector<CriticResult> VisualErmCritic::score(const std::vector<CriticItem>& items) {
  std::vector<CriticResult> results(items.size());
  std::vector<Clock::time_point> started(items.size(), Clock::now());
  // Items still waiting for a parseable answer, per task (sampling differs by task).
  std::map<Task, std::vector<size_t>> pending;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].rendered) {
      results[i].status = CriticStatus::not_scored;
      results[i].message = "the answer did not render";
      continue;
    }
    pending[items[i].task].push_back(i);
  }
  const uint64_t call = calls_++;
  at::NoGradGuard no_grad;
  for (auto& [task, todo] : pending) {
    const CriticSampling sampling = critic_sampling(task, options_.max_image_side, options_.max_new_tokens);
    policy::GenerateOptions gen;
    gen.group_size = 1;
    gen.max_new_tokens = sampling.max_new_tokens;
    gen.sampling = engine_sampling(sampling);
    gen.eos_token_ids = assets_.eos_token_ids;
    gen.pad_token_id = assets_.pad_token_id;
    // Greedy decoding gives the same text again: a retry would only cost time.
    const int64_t attempts = gen.sampling.greedy ? 1 : options_.parse_retries;
    for (int64_t attempt = 0; attempt < attempts && !todo.empty(); ++attempt) {
      std::vector<size_t> failed;
      for (size_t begin = 0; begin < todo.size(); begin += static_cast<size_t>(options_.batch_size)) {
        const size_t end = std::min(todo.size(), begin + static_cast<size_t>(options_.batch_size));
        std::vector<policy::PromptInput> prompts;
        for (size_t k = begin; k < end; ++k) prompts.push_back(build_prompt(items[todo[k]]));
        gen.seed = options_.seed ^ (call * 0x9E3779B97F4A7C15ull) ^ (static_cast<uint64_t>(attempt) << 48) ^ begin;
        auto samples = policy::generate(*model_, prompts, gen, &assets_.tokenizer);
        for (const auto& sample : samples) {
          const size_t i = todo[begin + static_cast<size_t>(sample.prompt_index)];
          CriticResult& r = results[i];
          const std::vector<int32_t> ids(sample.token_ids.begin(), sample.token_ids.end());
          r.raw_text = assets_.tokenizer.decode(ids, /*skip_special_tokens=*/true);
          r.attempts += 1;
          ParsedCritique parsed = parse_critic_output(task, r.raw_text);
          r.parse = parsed.report;
          if (parsed.report.status == ParseStatus::failed) {
            failed.push_back(i);
            continue;
          }
          r.status = CriticStatus::scored;
          r.errors = std::move(parsed.errors);
          r.latency_ms = ms_since(started[i]);
        }
      }
      todo = std::move(failed);
    }
    for (size_t i : todo) {
      results[i].status = CriticStatus::parse_failure;
      results[i].message = fmt::format("critic output not parseable after {} call(s): {}", results[i].attempts,
                                       results[i].parse.message);
      results[i].latency_ms = ms_since(started[i]);
    }
  }
  return results;
}

}  // namespace visrl::reward
