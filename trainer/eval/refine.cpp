#include "trainer/eval/refine.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "trainer/loop/batch_rewards.h"
#include "trainer/loop/prepared_prompt.h"

namespace visrl::trainer {

std::string revision_request(const reward::RolloutRecord& record) {
  const auto& s = record.sample;
  if (s.render_status == render::RenderStatus::no_code)
    return "Your answer has no code block of the required kind. Write the complete code in one code block.";
  if (s.render_status != render::RenderStatus::ok) {
    return fmt::format(
        "Your code did not render ({}{}). Fix it and write the complete corrected code in one code block.",
        render::to_string(s.render_status), record.render_reason.empty() ? "" : ": " + record.render_reason);
  }
  if (s.critic_status != reward::CriticStatus::scored)
    return "The rendered image could not be compared with the target. Check the code against the image and write "
           "the complete code again in one code block.";
  auto errors = s.errors;
  std::stable_sort(errors.begin(), errors.end(), [](const auto& a, const auto& b) { return a.severity > b.severity; });
  std::string list;
  for (const auto& e : errors) {
    list += fmt::format("- [severity {}] {}{}: {}\n", e.severity, e.category,
                        e.location.empty() ? "" : " (" + e.location + ")", e.description);
  }
  return fmt::format(
      "Your code renders, but the result differs from the target image (severity 1 minor, 3 severe):\n{}"
      "Revise the code to fix these differences and write the complete code in one code block.",
      list);
}

std::vector<policy::ChatMessage> revision_chat(const std::string& instruction, const RefinedItem& item) {
  using policy::ContentPart;
  std::vector<policy::ChatMessage> chat = {{"user", {ContentPart::image(), ContentPart::make_text(instruction)}}};
  for (const auto& round : item.rounds) {
    chat.push_back({"assistant", {ContentPart::make_text(round.record.answer)}});
    chat.push_back({"user", {ContentPart::make_text(revision_request(round.record))}});
  }
  return chat;
}

namespace {

bool clean(const reward::RolloutRecord& r) {
  return r.sample.render_status == render::RenderStatus::ok && r.sample.critic_status == reward::CriticStatus::scored &&
         r.sample.errors.empty();
}

policy::PromptInput revision_prompt(const policy::PolicyAssets& assets, const std::string& instruction,
                                    const at::Tensor& pixels, const RefinedItem& item) {
  return policy::build_prompt(assets, revision_chat(instruction, item), {pixels},
                              fmt::format("{}/round_{}", item.id, item.rounds.size()));
}

double reward_of(const RefineRound& r) {
  return r.record.reward.value_or(0.0);
}

}  // namespace

std::vector<RefinedItem> refine(const RolloutDeps& deps, const RolloutOptions& greedy,
                                const policy::PolicyAssets& assets, const TaskInstructions& instructions,
                                const std::vector<DataItem>& items, reward::RewardFormula& formula,
                                const AlgorithmConfig& algorithm, const RefineOptions& options) {
  if (options.rounds < 0) fail(ErrorKind::usage, "refine: rounds must be >= 0, got {}", options.rounds);
  std::vector<RefinedItem> out(items.size());
  std::vector<PreparedPrompt> prompts;
  std::vector<at::Tensor> pixels;  // [H, W, 3] uint8 views of the prepared references (read once)
  for (size_t i = 0; i < items.size(); ++i) {
    out[i].id = items[i].id;
    prompts.push_back(prepare_prompt(items[i], assets, instructions, /*max_prompt_tokens=*/0));
    const auto& ref = *prompts.back().reference;
    pixels.push_back(at::from_blob(const_cast<uint8_t*>(ref.rgb.data()), {ref.height, ref.width, 3}, at::kByte));
  }
  std::vector<size_t> active(items.size());
  for (size_t i = 0; i < items.size(); ++i) active[i] = i;
  AlgorithmConfig no_overlong = algorithm;
  no_overlong.overlong_buffer = 0;
  for (int64_t round = 0; round <= options.rounds && !active.empty(); ++round) {
    std::vector<PreparedPrompt> revised;  // this round's prompts (round 0: the task prompts)
    revised.reserve(active.size());
    for (size_t i : active) {
      if (round == 0) {
        revised.push_back(prompts[i]);
      } else {
        const auto& text = items[i].prompt ? *items[i].prompt : instructions.of(items[i].task);
        revised.push_back({&items[i], revision_prompt(assets, text, pixels[i], out[i]), prompts[i].reference});
      }
    }
    std::vector<const PreparedPrompt*> batch;
    std::vector<int64_t> slots;
    for (size_t k = 0; k < revised.size(); ++k) {
      batch.push_back(&revised[k]);
      slots.push_back(static_cast<int64_t>(k));
    }
    auto samples = run_rollouts(deps, greedy, batch, slots, round, nullptr);
    score_samples(formula, samples, no_overlong, greedy.generate.max_new_tokens);
    std::vector<size_t> still;
    for (size_t k = 0; k < active.size(); ++k) {
      auto& item = out[active[k]];
      samples[k].record.step = round;
      item.rounds.push_back({std::move(samples[k].record)});
      const auto& last = item.rounds.back();
      if (reward_of(last) > reward_of(item.rounds[item.best])) item.best = item.rounds.size() - 1;
      if (clean(last.record)) {
        item.stopped = "clean";
      } else if (options.threshold && reward_of(last) >= *options.threshold) {
        item.stopped = "threshold";
      } else if (round == options.rounds) {
        item.stopped = "rounds";
      } else {
        still.push_back(active[k]);
      }
    }
    spdlog::info("refine round {}: {} item(s) answered, {} go on", round, active.size(), still.size());
    active = std::move(still);
  }
  return out;
}

nlohmann::json refine_summary(const std::vector<RefinedItem>& items) {
  size_t last_round = 0;
  for (const auto& item : items) last_round = std::max(last_round, item.rounds.size());
  auto stats = [&](auto&& pick) {
    double reward = 0, rendered = 0, severity = 0;
    int64_t scored = 0;
    for (const auto& item : items) {
      const auto& r = pick(item).record;
      reward += r.reward.value_or(0.0);
      rendered += r.sample.render_status == render::RenderStatus::ok;
      if (r.sample.critic_status == reward::CriticStatus::scored) {
        severity += reward::severity_sum(r.sample.errors);
        ++scored;
      }
    }
    const double n = std::max<double>(1.0, static_cast<double>(items.size()));
    nlohmann::json j = {{"items", items.size()}, {"reward_mean", reward / n}, {"render_ok_rate", rendered / n}};
    j["severity_mean"] = scored > 0 ? nlohmann::json(severity / static_cast<double>(scored)) : nlohmann::json(nullptr);
    return j;
  };
  nlohmann::json rounds = nlohmann::json::array();
  for (size_t r = 0; r < last_round; ++r) {
    auto j = stats([&](const RefinedItem& item) -> const RefineRound& {
      return item.rounds[std::min(r, item.rounds.size() - 1)];
    });
    int64_t active = 0;
    for (const auto& item : items) active += item.rounds.size() > r;
    j["round"] = r;
    j["answered"] = active;
    rounds.push_back(j);
  }
  return {{"rounds", rounds},
          {"final", stats([](const RefinedItem& item) -> const RefineRound& { return item.rounds[item.best]; })}};
}

}  // namespace visrl::trainer
