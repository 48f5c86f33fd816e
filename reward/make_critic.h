// The critic a configuration asks for (reward.critic: pixel | visual_erm | openai).
#pragma once

#include <memory>

#include "core/config.h"
#include "reward/critic.h"

namespace visrl::reward {

// Throws visrl::Error for a critic that cannot be set up (a missing checkpoint, no
// endpoint, an unset API-key variable, unreadable prompt files).
std::unique_ptr<Critic> make_critic(const Config& config);

}  // namespace visrl::reward
