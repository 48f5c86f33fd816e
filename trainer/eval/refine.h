// Test-time reflection (REFERENCE.md section 5): draft, render, critic, revise with the
// structured feedback. Round 0 answers the task prompt; each further round shows the policy
// its previous answer and the critic's errors (or the render failure) and asks for the whole
// code again. An item stops after `rounds` revisions, when the critic finds nothing, or when
// its reward reaches `threshold`. Greedy decoding; any policy checkpoint, any critic backend.
// Items are revised together: each round is one rollout over the items still going.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reward/formula/reward_formula.h"
#include "trainer/data/instructions.h"
#include "trainer/data/manifest.h"
#include "trainer/loop/rollout_pipeline.h"

namespace visrl::trainer {

struct RefineOptions {
  int64_t rounds = 3;               // revisions after the draft (the paper's T; 4 was slightly worse)
  std::optional<double> threshold;  // stop once the reward reaches it; unset = only a clean critique stops
};

struct RefineRound {
  reward::RolloutRecord record;  // answer, render, critic verdict, reward
};

struct RefinedItem {
  std::string id;
  std::vector<RefineRound> rounds;  // draft first
  size_t best = 0;                  // the round with the highest reward (the earliest on ties)
  std::string stopped;              // "clean", "threshold" or "rounds"
};

// The user turn that asks for a revision of `record`'s answer: its render failure, or the
// critic's errors by decreasing severity with their locations, or that the critic could not
// judge it.
std::string revision_request(const reward::RolloutRecord& record);

// The chat of an item's next round: the image and instruction, then each earlier answer (as the
// assistant) followed by its revision request (as the user).
std::vector<policy::ChatMessage> revision_chat(const std::string& instruction, const RefinedItem& item);

std::vector<RefinedItem> refine(const RolloutDeps& deps, const RolloutOptions& greedy,
                                const policy::PolicyAssets& assets, const TaskInstructions& instructions,
                                const std::vector<DataItem>& items, reward::RewardFormula& formula,
                                const AlgorithmConfig& algorithm, const RefineOptions& options);

// {"rounds": [{"round", "items", "reward_mean", "render_ok_rate", "severity_mean", "active"}],
//  "final": {...}}: round r counts every item at its round min(r, last) (a stopped item keeps
// its last answer); "final" uses each item's best round.
nlohmann::json refine_summary(const std::vector<RefinedItem>& items);

}  // namespace visrl::trainer
